// Which values cross a boundary (page <-> host <-> guest, both transports,
// arguments and answers), defined once. Every path carries exactly these, as
// the same kind and value: undefined, null, booleans, numbers (NaN, the
// infinities and -0 included), strings that are well-formed Unicode, plain
// objects and arrays of these, Uint8Array, the other typed arrays, DataView
// and ArrayBuffer. Anything else (a BigInt, Symbol or function, a Date, Map,
// Set, RegExp, Error or class instance, a string with a lone surrogate) is
// refused on every path, naming where it sits (args[0].items[3]); so is a
// value nested deeper than MAX_DEPTH (64) levels, a cycle included.
//
// A wasip1 module's Export takes JSON, which carries less; jsonArgs refuses
// what JSON would change (undefined, NaN, the infinities, binary data but one
// Uint8Array argument) instead of letting JSON.stringify turn it into null.

const { getPrototypeOf, getOwnPropertyDescriptor, apply } = Reflect;
const isArray = Array.isArray;
const isView = ArrayBuffer.isView;
const ObjectPrototype = Object.prototype;
const ArrayPrototype = Array.prototype;
const stringIsWellFormed = String.prototype.isWellFormed;
// Brand checks: they work across realms and cannot be faked by a prototype.
const typedArrayName = getOwnPropertyDescriptor(getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
const arrayBufferLength = getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;

// The binary kinds besides Uint8Array, in their wire order (channel.js Tag.VIEW).
export const VIEW_KINDS = Object.freeze([
  "Int8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array",
  "Float64Array", "BigInt64Array", "BigUint64Array", "DataView", "ArrayBuffer",
]);

// Their constructors, taken at import (before any guest code runs).
export const VIEW_CONSTRUCTORS = Object.freeze(VIEW_KINDS.map((kind) => globalThis[kind]));

/** The kind of binary value `v` is ("Uint8Array", a VIEW_KINDS name), or null. */
export function binaryKind(v) {
  if (v === null || typeof v !== "object") return null;
  if (isView(v)) return apply(typedArrayName, v, []) ?? "DataView";
  // Plain objects and arrays, the common case on the call path, without a thrown brand check.
  const proto = getPrototypeOf(v);
  if (proto === ObjectPrototype || proto === ArrayPrototype || proto === null) return null;
  try {
    apply(arrayBufferLength, v, []);
    return "ArrayBuffer";
  } catch {
    return null; // not an ArrayBuffer (a SharedArrayBuffer is not one either)
  }
}

/** A value refused where it sits: `segments` is its path, outermost first. */
export class Refusal extends TypeError {
  constructor(what) {
    super(what);
    this.what = what;
    this.segments = [];
  }

  /** "args[0].items[3]: what" */
  explain(root = "") {
    let path = root;
    for (const segment of this.segments) {
      path += typeof segment === "number" ? `[${segment}]`
        : /^[A-Za-z_$][\w$]*$/.test(segment) ? (path ? `.${segment}` : segment) : `[${JSON.stringify(segment)}]`;
    }
    return path ? `${path}: ${this.what}` : this.what;
  }
}

const ACCEPTED = "only undefined, null, booleans, numbers, well-formed strings, plain objects, arrays and binary data cross";

/** Why a value that is not a primitive, array, plain object or binary data is refused. */
export function refuseObject(v) {
  const proto = getPrototypeOf(v);
  const name = typeof proto?.constructor === "function" ? proto.constructor.name : "";
  return new Refusal(`${name ? `a ${name}` : "an object that is not plain"} cannot be sent: ${ACCEPTED}`);
}

/** Refusal for a primitive that does not cross, or null for one that does. */
export function refusePrimitive(v) {
  switch (typeof v) {
    case "string": return apply(stringIsWellFormed, v, []) ? null : new Refusal("a string with a lone surrogate (not well-formed Unicode) cannot be sent");
    case "bigint": return new Refusal("a BigInt cannot be sent; convert it to a string or a number");
    case "symbol": return new Refusal("a Symbol cannot be sent");
    case "function": return new Refusal("a function cannot be sent");
    default: return null;
  }
}

/** Is `v` a plain object (its prototype Object.prototype, or null)? */
export function isPlain(v) {
  const proto = getPrototypeOf(v);
  return proto === ObjectPrototype || proto === null;
}

/**
 * The JSON text of a wasip1 Export's arguments: exactly the values JSON
 * carries, -0 as -0. Throws Refusal (explain("args")) for anything JSON would
 * change or drop.
 */
export function jsonArgs(args) {
  const walk = (v) => {
    const refused = refusePrimitive(v);
    if (refused) throw refused;
    switch (typeof v) {
      case "undefined": throw new Refusal("undefined cannot be sent to a wasip1 module (JSON has no undefined)");
      case "boolean": return v ? "true" : "false";
      case "number":
        if (!Number.isFinite(v)) throw new Refusal(`${v} cannot be sent to a wasip1 module (JSON has no NaN or Infinity)`);
        return Object.is(v, -0) ? "-0" : JSON.stringify(v);
      case "string": return JSON.stringify(v);
      default: break;
    }
    if (v === null) return "null";
    if (binaryKind(v) !== null) throw new Refusal(`a ${binaryKind(v)} cannot be sent to a wasip1 module in JSON (a single Uint8Array argument is sent as bytes)`);
    const parts = [];
    if (isArray(v)) {
      for (let i = 0; i < v.length; i++) parts.push(within(i, () => walk(v[i])));
      return `[${parts.join(",")}]`;
    }
    if (!isPlain(v)) throw refuseObject(v);
    for (const key of Object.keys(v)) {
      if (!apply(stringIsWellFormed, key, [])) throw new Refusal("a key with a lone surrogate cannot be sent");
      parts.push(`${JSON.stringify(key)}:${within(key, () => walk(v[key]))}`);
    }
    return `{${parts.join(",")}}`;
  };
  return walk(args);
}

/** Run `step` for the member at `segment`, so that a refusal names where it sits. */
export function within(segment, step) {
  try {
    return step();
  } catch (error) {
    throw at(error, segment);
  }
}

/** `error`, which a member at `segment` raised: a refusal learns where it sits. */
export function at(error, segment) {
  if (error instanceof Refusal) error.segments.unshift(segment);
  return error;
}
