// A guest worker: one Go module instance in a realm of its own, driven by the
// Python host over guest-protocol.js. It never talks to the page.
import "./wasm_exec.js";
import { GuestOp } from "./guest-protocol.js";

let go = null;
const exported = new Map();

const ok = (id, value) => self.postMessage({ op: GuestOp.REPLY, id, ok: true, value });
const fail = (id, code, message, stack = "") =>
  self.postMessage({ op: GuestOp.REPLY, id, ok: false, crashed: Boolean(go?.exited), error: { code, message, stack } });

async function load({ id, name, module, env, args }) {
  go = new Go();
  go.env = env;
  go.argv = [name, ...args];
  const instance = await WebAssembly.instantiate(module, go.importObject);
  // What Go main adds to the global while it runs to its first block is what
  // the guest exports; nothing that was here before is callable by name.
  const before = new Set(Reflect.ownKeys(globalThis));
  go.run(instance);
  if (go.exited) return fail(id, "E_LOAD", `module ${name} exited during start-up (code ${go.exitCode ?? "?"})`);
  for (const key of Reflect.ownKeys(globalThis)) {
    if (!before.has(key) && typeof key === "string" && typeof globalThis[key] === "function") {
      exported.set(key, globalThis[key]);
    }
  }
  ok(id, [...exported.keys()]);
}

async function call({ id, fn, args }) {
  const target = exported.get(fn);
  if (!target) return fail(id, "E_NOT_FOUND", `no exported function ${fn}`);
  try {
    const value = await target(...args);
    if (value instanceof Error) return fail(id, typeof value.code === "string" ? value.code : "E_GUEST", value.message);
    ok(id, value);
  } catch (error) {
    fail(id, "E_GUEST", String(error?.message ?? error), String(error?.stack ?? ""));
  }
}

self.onmessage = ({ data }) => {
  const handler = data.op === GuestOp.LOAD ? load : data.op === GuestOp.CALL ? call : null;
  if (!handler) return fail(data.id, "E_BAD_REQUEST", `unknown op ${data.op}`);
  handler(data).catch((error) => fail(data.id, "E_LOAD", String(error?.message ?? error), String(error?.stack ?? "")));
};
