// memory_mb for what a GOOS=js instance holds in JavaScript, next to its
// linear memory: the membrane's meter and Go's value table report here.

// Primordials, taken before any guest code exists.
const isView = ArrayBuffer.isView;
const isArray = Array.isArray;
const RealArrayBuffer = ArrayBuffer;
const RealFinalizationRegistry = FinalizationRegistry;
const RealRangeError = RangeError;
const RealWeakMap = WeakMap;

// Byte estimates, on the high side: V8's two-byte strings, 16 bytes an array element.
const bytesOf = (value) => {
  if (typeof value === "string") return 2 * value.length;
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return 0;
  if (value instanceof RealArrayBuffer || isView(value)) return value.byteLength;
  if (isArray(value)) return 64 + 16 * value.length;
  return 64;
};
const argumentBytes = (args) => args.reduce((n, arg) => n + (typeof arg === "string" ? 2 * arg.length : 16), 0);
// What an intrinsic makes from its inputs can hold far more than a plain object
// shows (JSON.parse's graph, Promise.all's reactions): a new object counts as
// this many times the bytes it was made from, unless its own size is larger.
const DERIVED = 8;
const LARGE_INPUT = 64 * 1024;
const inputBytes = (target, args) => args.reduce((n, arg) => n + bytesOf(arg), target === null ? 0 : bytesOf(target));

/**
 * What an instance holds in JavaScript, against its memory_mb: strings in Go's
 * value table (until Go lets go of them), and every object, array and buffer it
 * makes through its global (until the garbage collector takes it), including
 * what it adds to them. Strings made by a call count while calls run.
 */
export class JsMemory {
  #live = 0;
  #transient = 0;
  #costs = new RealWeakMap(); // object -> {bytes}, refunded when it is collected
  #registry = new RealFinalizationRegistry((cost) => { this.#live -= cost.bytes; });

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
      made: (value, target = null, args = []) => {
        if (typeof value === "string") {
          this.#transient += 2 * value.length;
          this.#check();
        } else if (value !== null && typeof value === "object") {
          if (!this.#costs.has(value)) {
            this.#charge(value, Math.max(bytesOf(value), DERIVED * inputBytes(target, args)));
          } else {
            // An object it already had, handed back by a call with large inputs
            // (Object.assign(o, bytes)): what it took in, it may now hold.
            const taken = inputBytes(null, args);
            if (taken > LARGE_INPUT) this.#charge(value, DERIVED * taken);
          }
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

