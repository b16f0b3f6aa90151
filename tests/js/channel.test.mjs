// The page <-> worker codec (web/channel.js) under Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode } from "../../web/channel.js";

test("values round-trip, bytes as bytes", () => {
  const value = { op: "reply", id: 7, value: [null, undefined, true, -1, 2 ** 40, 1.5, "é", new Uint8Array([9, 8])] };
  assert.deepEqual(decode(encode(value)), value);
});

test("a key named __proto__ decodes as a key", () => {
  const decoded = decode(encode(JSON.parse('{"__proto__": {"polluted": 1}}')));
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.deepEqual(decoded.__proto__, { polluted: 1 }); // the own property, not the prototype
  assert.equal({}.polluted, undefined);
});

test("over maxBytes is refused before a huge array is walked", () => {
  assert.throws(() => encode({ value: new Array(2 ** 32 - 1) }, 1024), RangeError);
  assert.throws(() => encode({ value: "x".repeat(2000) }, 1024), RangeError);
  assert.ok(encode({ value: "x".repeat(100) }, 1024).length < 1024);
});
