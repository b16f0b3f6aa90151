// What may cross from a guest to the host or the page: plain data, and nothing
// that could carry behaviour or a prototype with it.
//
// toData(value, maxBytes) returns a fresh copy made of what values.js lets
// cross: null, undefined, booleans, numbers, well-formed strings, binary data
// (a fresh view of the same kind, made with the real constructor), dense
// arrays and plain objects whose keys are own data properties (a key named
// "__proto__" stays a key). It throws GuestError (errors.js) for what values.js
// refuses, a cycle, nesting deeper than MAX_DEPTH, an accessor property,
// and TooLargeError when the value holds more than MAX_VALUES values
// or would occupy more than maxBytes on the wire, counted before anything is
// copied (a sparse array of 2^32-1 holes costs 2^32-1 bytes, not nothing).
import { GuestError, TooLargeError } from "./errors.js";
import { MAX_DEPTH, MAX_VALUES } from "./guest-protocol.js";
import { VIEW_CONSTRUCTORS, VIEW_KINDS, binaryKind, isPlain, refuseObject, refusePrimitive } from "./values.js";

// Primordials: taken at import, before any guest code exists.
const { getPrototypeOf, ownKeys, getOwnPropertyDescriptor, defineProperty } = Reflect;
const isArray = Array.isArray;
const ArrayPrototype = Array.prototype;
const RealUint8Array = Uint8Array;
const RealDataView = DataView;
const indexOf = (kind) => VIEW_KINDS.indexOf(kind);

export function toData(value, maxBytes = Infinity) {
  // The common answer, bytes alone, without the walk's bookkeeping (counted as the walk counts it).
  const kind = value !== null && typeof value === "object" ? binaryKind(value) : null;
  if (kind !== null) {
    if (1 + 5 + value.byteLength > maxBytes) throw new TooLargeError(`the value is over maxMessageBytes (${maxBytes} bytes) at the value`);
    return freshBinary(value, kind);
  }
  let bytes = 0;
  let values = 0;
  const ancestors = new Set();
  const spend = (n, where) => {
    bytes += n;
    if (bytes > maxBytes) throw new TooLargeError(`the value is over maxMessageBytes (${maxBytes} bytes) at ${where}`);
  };

  // What channel.js's encoding takes at the least: a tag byte, then 4-byte
  // lengths and counts, at least a byte a character, up to 8 for a number.
  function copy(v, depth, where) {
    spend(1, where);
    if (++values > MAX_VALUES) throw new TooLargeError(`the value holds more than ${MAX_VALUES} values (at ${where})`);
    switch (typeof v) {
      case "undefined": case "boolean": return v;
      case "number": spend(8, where); return v;
      default: break;
    }
    const refused = refusePrimitive(v);
    if (refused) throw new GuestError(`${refused.what} (at ${where})`);
    if (typeof v === "string") return spend(4 + v.length, where), v;
    if (v === null) return null;
    const kind = binaryKind(v);
    if (kind !== null) {
      spend(5 + v.byteLength, where);
      return freshBinary(v, kind);
    }
    if (depth >= MAX_DEPTH) throw new GuestError(`the value is nested deeper than ${MAX_DEPTH} levels (at ${where})`);
    if (ancestors.has(v)) throw new GuestError(`the value contains a cycle (at ${where})`);
    const proto = getPrototypeOf(v);
    ancestors.add(v);
    try {
      if (isArray(v)) {
        if (proto !== ArrayPrototype) throw new GuestError(`an array with a foreign prototype cannot be sent (at ${where})`);
        const length = v.length;
        spend(4 + length, where); // every element is at least a tag, holes included: refused before a walk
        if (values + length > MAX_VALUES) throw new TooLargeError(`the value holds more than ${MAX_VALUES} values (at ${where})`);
        const out = new Array(length);
        for (let i = 0; i < length; i++) out[i] = copy(own(v, String(i), where), depth + 1, `${where}[${i}]`);
        return out;
      }
      if (!isPlain(v)) throw new GuestError(`${refuseObject(v).what} (at ${where})`);
      const out = {};
      for (const key of ownKeys(v)) {
        if (typeof key !== "string") continue; // symbol keys are not data
        const found = getOwnPropertyDescriptor(v, key);
        if (!found.enumerable) continue;
        if (refusePrimitive(key)) throw new GuestError(`a key with a lone surrogate cannot be sent (at ${where})`);
        spend(4 + key.length, where);
        defineProperty(out, key, { value: copy(own(v, key, where), depth + 1, `${where}.${key}`), writable: true, enumerable: true, configurable: true });
      }
      return out;
    } finally {
      ancestors.delete(v);
    }
  }

  return copy(value, 0, "the value");
}

// A fresh view of its kind, not a copy: the value is encoded or cloned as it is sent, before any guest code runs.
function freshBinary(v, kind) {
  if (kind === "ArrayBuffer") return new RealUint8Array(v).slice().buffer; // no view to take: a copy
  if (kind === "DataView") return new RealDataView(v.buffer, v.byteOffset, v.byteLength);
  const View = kind === "Uint8Array" ? RealUint8Array : VIEW_CONSTRUCTORS[indexOf(kind)];
  return new View(v.buffer, v.byteOffset, v.byteLength / View.BYTES_PER_ELEMENT);
}

// An own data property's value (a hole reads as undefined); a getter is refused,
// so nothing runs while a value is copied.
function own(object, key, where) {
  const found = getOwnPropertyDescriptor(object, key);
  if (found === undefined) return undefined;
  if (!("value" in found)) throw new GuestError(`a getter cannot be sent (at ${where}.${key})`);
  return found.value;
}
