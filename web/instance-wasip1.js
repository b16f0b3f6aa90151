// One GOOS=wasip1 instance built with the Go SDK (sdk/): WASI imports from the
// policy (wasi.js), calls through the edgebox_* exports and byte envelopes.
import { SDK_EXPORTS, SDK_IMPORTS } from "./guest-protocol.js";
import { hardenRealm } from "./harden.js";
import { makeWasi, WasiExit } from "./wasi.js";
import { errno } from "./gojs.js";
import { answerOf, callEnvelopeParts, exportedNames } from "./sdk-envelope.js";

const RealUint8Array = Uint8Array;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
// A private cell to block on: how a wasip1 guest sleeps in this worker.
const sleepCell = typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(4)) : null;
const atomicsWait = typeof Atomics === "object" ? Atomics.wait : null;
const getRandomValues = crypto.getRandomValues.bind(crypto);

/**
 * env: {grant, files: Map, writeLog, audit, onExit(code, error), onTaken()}.
 * Resolves to {names, has(fn), invoke(fn, args, answerParts), exited()}; invoke returns the
 * guest's value, or throws an error whose code the guest chose.
 */
export async function startWasi(name, module, env) {
  let exitCode = null;
  let parts = null; // the parts of the answer of the call running now (guest.js answerParts), or null
  const wasi = makeWasi({
    args: [name, ...env.grant.args], env: env.grant.env, files: env.files, writeLog: env.writeLog, audit: env.audit,
    randomFill: getRandomValues,
    sleepMs: (ms) => {
      parts?.out(); // the guest waits: what it handed on leaves now, not after the wait
      if (sleepCell && atomicsWait) atomicsWait(sleepCell, 0, 0, ms);
      else for (const until = performance.now() + ms; performance.now() < until;);
    },
  });
  const sdkImports = {
    [SDK_IMPORTS.HTTP_PART]: (ptr, len) => {
      // Out of the module's memory: a RangeError into Go, which ends the instance (its own fault).
      parts?.take(new RealUint8Array(ex.memory.buffer, ptr >>> 0, len >>> 0));
    },
  };
  let ex = null;
  const wasm = await WebAssembly.instantiate(module, { ...wasi.imports, [SDK_IMPORTS.MODULE]: sdkImports });
  hardenRealm();
  ex = wasm.exports;
  wasi.setMemory(ex.memory);
  // Whatever leaves the module by a throw (proc_exit, a trap, a stack overflow)
  // leaves the Go runtime half-way: the instance is done.
  const run = (work) => {
    if (exitCode !== null) throw errno("EXIT", `exited (${exitCode})`);
    try {
      return work();
    } catch (error) {
      exitCode = error instanceof WasiExit ? error.code : `trap: ${String(error?.message ?? error)}`;
      env.onExit(exitCode, error instanceof WasiExit ? undefined : error);
      throw errno("EXIT", `exit ${exitCode}`);
    }
  };
  // bytes into the module's memory, after a tag byte when one is given (an envelope, written in place).
  const put = (bytes, tag = null) => {
    const head = tag === null ? 0 : 1;
    const ptr = run(() => ex.edgebox_alloc(bytes.length + head));
    const memory = new RealUint8Array(ex.memory.buffer, ptr, bytes.length + head);
    if (tag !== null) memory[0] = tag;
    memory.set(bytes, head);
    return ptr;
  };
  const take = (packed) => {
    const ptr = Number(packed >> 32n);
    const out = new RealUint8Array(ex.memory.buffer, ptr, Number(packed & 0xffffffffn)).slice();
    run(() => ex.edgebox_free(ptr));
    return out;
  };
  try {
    if (typeof ex._initialize === "function") run(() => ex._initialize());
  } catch (error) {
    if (exitCode === null) throw error;
  }
  const hasSdk = SDK_EXPORTS.every((f) => typeof ex[f] === "function");
  if (exitCode === null && !hasSdk) throw errno("E_LOAD", `module ${name} does not use the EdgeBox SDK (edgebox_* exports missing)`);
  const names = exitCode === null ? exportedNames(decoder.decode(take(run(() => ex.edgebox_exports())))) : [];
  return {
    names,
    has: (fn) => names.includes(fn),
    // answerParts: where the pieces of an HTTP answer go (guest.js), or null.
    invoke(fn, args, answerParts = null) {
      const [tag, payload] = callEnvelopeParts(fn, args); // refused before Go sees it: the instance is intact
      env.onTaken(); // synchronous from here on: the guest has the call
      const nameBytes = encoder.encode(fn);
      const namePtr = put(nameBytes);
      const inPtr = put(payload, tag);
      parts = answerParts;
      try {
        const out = take(run(() => ex.edgebox_call(namePtr, nameBytes.length, inPtr, payload.length + 1)));
        run(() => { ex.edgebox_free(namePtr); ex.edgebox_free(inPtr); });
        return answerOf(out);
      } finally {
        parts = null;
      }
    },
    exited: () => exitCode !== null,
  };
}
