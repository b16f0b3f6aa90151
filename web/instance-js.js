// One GOOS=js instance: wasm_exec.js's Go class, with the membrane as its
// js.Global(), and the JavaScript it makes through that global charged to its
// memory_mb.
import "./wasm_exec.js";
import { createMembrane } from "./membrane.js";
import { makeGlobal } from "./gojs.js";
import { hardenRealm } from "./harden.js";

const { apply, get, set, has, ownKeys, getOwnPropertyDescriptor, deleteProperty } = Reflect;
const { defineProperty, create, getOwnPropertyNames } = Object;
const isView = ArrayBuffer.isView;
const RealMap = Map;
const RealArrayBuffer = ArrayBuffer;
const FinalizationRegistry = globalThis.FinalizationRegistry;
const isArray = Array.isArray;
const RealRangeError = RangeError;
const Go = globalThis.Go;

// Byte estimates, on the high side: V8's two-byte strings, 16 bytes an array element.
const bytesOf = (value) => {
  if (typeof value === "string") return 2 * value.length;
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return 0;
  if (value instanceof RealArrayBuffer || isView(value)) return value.byteLength;
  if (isArray(value)) return 64 + 16 * value.length;
  return 64;
};
const argumentBytes = (args) => args.reduce((n, arg) => n + (typeof arg === "string" ? 2 * arg.length : 16), 0);

/**
 * What an instance holds in JavaScript, against its memory_mb: strings in Go's
 * value table (until Go lets go of them), and every object, array and buffer it
 * makes through its global (until the garbage collector takes it), including
 * what it adds to them. Strings made by a call count while calls run.
 */
class JsMemory {
  #live = 0;
  #transient = 0;
  #costs = new WeakMap(); // object -> {bytes}, refunded when it is collected
  #registry = new FinalizationRegistry((cost) => { this.#live -= cost.bytes; });

  constructor(limit, linear, overLimit) {
    this.limit = limit;
    this.linear = linear; // () => bytes of linear memory
    this.overLimit = overLimit;
  }

  #check() {
    if (this.#live + this.#transient + this.linear() <= this.limit) return;
    this.overLimit("memory_mb", `the instance holds more than ${this.limit} bytes (linear memory and JavaScript values)`);
    throw new RealRangeError("out of memory (memory_mb)");
  }

  #charge(object, bytes) {
    let cost = this.#costs.get(object);
    if (cost === undefined) {
      cost = { bytes: 0 };
      this.#costs.set(object, cost);
      this.#registry.register(object, cost);
    }
    cost.bytes += bytes;
    this.#live += bytes;
    this.#check();
  }

  /** The membrane's meter. */
  meter() {
    return {
      made: (value) => {
        if (typeof value === "string") {
          this.#transient += 2 * value.length;
          this.#check();
        } else if (value !== null && typeof value === "object" && !this.#costs.has(value)) {
          this.#charge(value, bytesOf(value));
        }
      },
      grew: (target, before, args) => {
        if (target.length > before) this.#charge(target, 16 * (target.length - before) + argumentBytes(args));
      },
      wrote: (target, value) => this.#charge(target, 16 + (typeof value === "string" ? 2 * value.length : 0)),
    };
  }

  /** Go's value table took or dropped a value: strings, and buffers nothing metered yet. */
  held(value, sign) {
    const bytes = typeof value === "string" ? 2 * value.length
      : (value instanceof RealArrayBuffer || isView(value)) && !this.#costs.has(value) ? value.byteLength : 0;
    if (bytes === 0) return;
    this.#live += sign * bytes;
    if (sign > 0) this.#check();
  }

  /** No call runs: strings made by calls are garbage or held elsewhere (and counted there). */
  settle() {
    this.#transient = 0;
  }
}

/**
 * env: what makeGlobal needs, plus audit, memoryBytes (the memory_mb cap),
 * overLimit(what, detail), onExit(code), told once when the program ends,
 * onTaken(), told when Go takes up the call being invoked (before that, the
 * call has not reached the guest: a goroutine that never yields can keep Go
 * from ever taking it), and onResult(value), told as soon as Go's function
 * has returned its value (it may be a while before Go gives the thread back).
 * Resolves to {names, has(fn), invoke(fn, args), exited()}.
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
  go.run(wasm).catch(() => {});
  const exported = new RealMap();
  for (const key of ownKeys(sandbox)) {
    if (typeof key === "string" && typeof sandbox[key] === "function" && granted.get(key) !== sandbox[key]) {
      exported.set(key, sandbox[key]); // set through the membrane: already host-callable
    }
  }
  return {
    names: [...exported.keys()],
    has: (fn) => exported.has(fn),
    invoke(fn, args) {
      awaitingTop = true;
      try {
        return apply(exported.get(fn), undefined, args);
      } catch (error) {
        // Anything thrown out of Go's resume leaves its runtime half-way: the instance is done.
        if (exitCode === null) {
          exitCode = "trap";
          env.onExit(`trap: ${String(error?.message ?? error)}`);
        }
        throw error;
      } finally {
        awaitingTop = false;
        top = null;
      }
    },
    exited: () => exitCode !== null,
    idle: () => memory.settle(),
    linearBytes: () => wasm.exports.mem.buffer.byteLength,
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
