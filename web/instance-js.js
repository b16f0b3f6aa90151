// One GOOS=js instance: wasm_exec.js's Go class, with the membrane as its
// js.Global(), and the JavaScript it makes through that global charged to its
// memory_mb.
import "./wasm_exec.js";
import { createMembrane } from "./membrane.js";
import { errno, makeGlobal } from "./gojs.js";
import { hardenRealm } from "./harden.js";
import { JsMemory } from "./js-memory.js";
import { SDK_GLOBALS } from "./guest-protocol.js";
import { answerOf, callEnvelope, exportedNames } from "./sdk-envelope.js";

const { apply, get, set, has, ownKeys, getOwnPropertyDescriptor, deleteProperty } = Reflect;
const { defineProperty, create, getOwnPropertyNames } = Object;
const RealMap = Map;
const RealSet = Set;
const RealPromise = Promise;
const promiseThen = Promise.prototype.then;
const Go = globalThis.Go;

/**
 * env: what makeGlobal needs, plus audit, memoryBytes (the memory_mb cap),
 * overLimit(what, detail), onExit(code, error), told once when the program ends (error: a trap's),
 * onTaken(), told when Go takes up the call being invoked (before that, the
 * call has not reached the guest: a goroutine that never yields can keep Go
 * from ever taking it), and onResult(value), told as soon as Go's function
 * has returned its value (it may be a while before Go gives the thread back).
 * Resolves to {names, has(fn), invoke(fn, args, answerParts), exited()}.
 */
export async function startJs(name, module, env) {
  let wasm = null;
  const memory = new JsMemory(env.memoryBytes, () => (wasm ? wasm.exports.mem.buffer.byteLength : 0), env.overLimit);
  const { own, guestFunction, unwrap, get: reach } = createMembrane(env.audit, memory.meter());
  // wasm_exec.js looks Reflect up on the global at every call: its get is the membrane's.
  const reflect = create(null);
  for (const name of getOwnPropertyNames(Reflect)) reflect[name] = Reflect[name];
  reflect.get = reach;
  globalThis.Reflect = reflect;
  const sandbox = makeGlobal(env);
  const visible = auditMisses(sandbox, own(sandbox), env);
  globalThis.fs = sandbox.fs; // the runtime's own writes (panics, println) go through fs.writeSync
  const go = new Go();
  go.env = env.grant.env;
  go.argv = [name, ...env.grant.args];
  let exitCode = null;
  go.exit = (code) => {
    exitCode = code;
    env.onExit(code);
  };
  // Every JavaScript value Go holds sits in its value table (wasm_exec's _ids) until Go lets go of it.
  class Accounted extends RealMap {
    set(value, id) {
      memory.held(value, 1);
      return super.set(value, id);
    }
    delete(value) {
      if (super.has(value)) memory.held(value, -1);
      return super.delete(value);
    }
  }
  // wasm_exec puts the real global at value id 5; the guest gets the membrane instead.
  const patches = [
    ["_values", (values) => { values[5] = visible; return values; }],
    ["_ids", (ids) => { const accounted = new Accounted(ids); accounted.delete(globalThis); accounted.set(visible, 5); return accounted; }],
  ];
  for (const [field, patch] of patches) {
    defineProperty(go, field, {
      configurable: true,
      set(v) { defineProperty(this, field, { value: patch(v), writable: true, configurable: true }); },
    });
  }
  // The event of the call being invoked: Go reads it when it takes the call up
  // and writes its result when the function returns (wasm_exec's _makeFuncWrapper).
  let awaitingTop = false;
  let entered = false; // the call being invoked has reached Go
  let top = null;
  let pendingEvent = null;
  defineProperty(go, "_pendingEvent", {
    configurable: true,
    get() {
      if (pendingEvent !== null && pendingEvent === top) {
        top = null;
        env.onTaken();
      }
      return pendingEvent;
    },
    set(event) {
      pendingEvent = event;
      if (event === null || !awaitingTop) return;
      awaitingTop = false;
      entered = true;
      top = event;
      let result;
      defineProperty(event, "result", {
        configurable: true,
        enumerable: true,
        get: () => result,
        set(value) {
          result = value;
          env.onResult(unwrap(value));
        },
      });
    },
  });
  // Go's own functions (js.FuncOf) are wrapped too, so their .constructor is blocked as well.
  const makeFuncWrapper = go._makeFuncWrapper.bind(go);
  go._makeFuncWrapper = (id) => guestFunction(makeFuncWrapper(id));
  wasm = await WebAssembly.instantiate(module, go.importObject);
  hardenRealm();
  // What Go main sets on its global while it runs to its first block is what it
  // exports (a granted name it replaces included); nothing else is callable by name.
  const granted = new RealMap(ownKeys(sandbox).map((key) => [key, sandbox[key]]));
  let runError = null;
  go.run(wasm).catch((error) => { runError = error; });
  await null; // a refusal to start (wasm_exec's limit on args and env, say) has settled by now
  if (runError !== null && exitCode === null) throw errno("E_LOAD", `the Go program could not start: ${String(runError?.message ?? runError)}`);
  const exported = new RealMap();
  for (const key of ownKeys(sandbox)) {
    if (typeof key === "string" && typeof sandbox[key] === "function" && granted.get(key) !== sandbox[key]) {
      exported.set(key, sandbox[key]); // set through the membrane: already host-callable
    }
  }
  // A module built with the SDK lists its functions through the SDK's globals and is
  // called through them, with the envelopes a wasip1 module takes (sdk-envelope.js).
  const sdkCall = exported.get(SDK_GLOBALS.CALL);
  const sdkExports = exported.get(SDK_GLOBALS.EXPORTS);
  let sdkNames = new RealSet();
  if (sdkCall !== undefined && sdkExports !== undefined && exitCode === null) {
    exported.delete(SDK_GLOBALS.CALL);
    exported.delete(SDK_GLOBALS.EXPORTS);
    sdkNames = new RealSet(exportedNames(apply(sdkExports, undefined, [])));
  }
  const sdkAnswer = (out) => (out instanceof RealPromise ? apply(promiseThen, out, [answerOf]) : answerOf(out));
  return {
    names: [...new RealSet([...exported.keys(), ...sdkNames])],
    has: (fn) => exported.has(fn) || sdkNames.has(fn),
    // answerParts: where the pieces of an HTTP answer go (guest.js), or null.
    invoke(fn, args, answerParts = null) {
      const sdk = sdkNames.has(fn);
      const take = answerParts === null ? undefined : (bytes) => { answerParts.take(bytes); };
      const callArgs = sdk ? [fn, callEnvelope(fn, args), take] : args; // refused before Go sees it: the instance is intact
      awaitingTop = true;
      entered = false;
      try {
        return sdk ? sdkAnswer(apply(sdkCall, undefined, callArgs)) : apply(exported.get(fn), undefined, callArgs);
      } catch (error) {
        // Refused before Go saw it (the arguments themselves): the call's fault, the instance is intact.
        if (!entered && exitCode === null) throw errno("E_BAD_REQUEST", `${fn}: ${String(error?.message ?? error)}`);
        // Anything thrown out of Go's resume leaves its runtime half-way: the instance is done.
        if (exitCode === null) {
          exitCode = "trap";
          env.onExit(`trap: ${String(error?.message ?? error)}`, error);
        }
        throw error;
      } finally {
        awaitingTop = false;
        top = null;
      }
    },
    exited: () => exitCode !== null,
    idle: () => memory.settle(),
  };
}

// What the guest reads but was not granted: audited once the program is running
// (package initialisers probe globals such as fetch; that is not an attempt).
function auditMisses(sandbox, proxy, env) {
  return new Proxy(create(null), {
    get: (_, key) => {
      if (typeof key === "string" && !(key in sandbox) && env.inCall()) env.audit("global", key);
      return get(proxy, key);
    },
    set: (_, key, v) => set(proxy, key, v),
    has: (_, key) => has(proxy, key),
    ownKeys: () => ownKeys(proxy),
    getOwnPropertyDescriptor: (_, key) => {
      const found = getOwnPropertyDescriptor(proxy, key);
      return found && { ...found, configurable: true };
    },
    deleteProperty: (_, key) => deleteProperty(proxy, key),
    defineProperty: () => false,
  });
}
