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

test("any region size lays out rings whose control words are aligned", async () => {
  const { SharedChannel } = await import("../../web/channel.js");
  for (const bytes of [16384, 16390, 20002, 65537]) {
    const region = SharedChannel.create(bytes);
    const page = new SharedChannel(region, "page");
    page.close();
  }
});

test("postMessage carries what the rings carry, no more", async () => {
  const { MessagePortChannel } = await import("../../web/channel.js");
  const sent = [];
  const port = { postMessage: (m) => sent.push(m), addEventListener() {} };
  const channel = new MessagePortChannel(port, { maxMessageBytes: 1000 });
  assert.throws(() => channel.send({ args: [1n] }), TypeError);
  assert.throws(() => channel.send({ args: [new Uint8Array(2000)] }), RangeError);
  channel.send({ args: [new Map([[1, 2]]), new Uint16Array([1, 2])] });
  assert.deepEqual(sent[0].args[0], {});
  assert.ok(sent[0].args[1] instanceof Uint8Array && sent[0].args[1].length === 4);
});
