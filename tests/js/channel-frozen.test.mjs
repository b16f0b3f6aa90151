// The codec in a realm whose intrinsics are frozen, as a guest worker's are (web/harden.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode } from "../../web/channel.js";

Object.freeze(Object.prototype);
Object.freeze(Array.prototype);

test("keys the prototype has decode as own keys where Object.prototype is frozen", () => {
  const value = { toString: 1, constructor: { valueOf: "x" }, hasOwnProperty: [{ __defineGetter__: true }], isPrototypeOf: null };
  const decoded = decode(encode(value));
  assert.deepEqual(decoded, value);
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.ok(Object.hasOwn(decoded, "toString") && Object.hasOwn(decoded.constructor, "valueOf"));
});
