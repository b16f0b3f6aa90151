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
  assert.throws(() => channel.send({ args: [new Map([[1, 2]])] }), /args\[0\]: a Map cannot be sent/);
  channel.send({ args: [new Uint16Array([1, 2])] });
  assert.ok(sent[0].args[0] instanceof Uint16Array);
  assert.deepEqual([...sent[0].args[0]], [1, 2]);
});

test("every binary kind arrives as its own kind and value, aligned whatever its offset", () => {
  const buffer = new ArrayBuffer(64);
  new Uint8Array(buffer).forEach((_, i, a) => { a[i] = i * 7; });
  const values = [
    new Int8Array([-1, 2]), new Uint8ClampedArray([0, 255]), new Int16Array([-300, 300]), new Uint16Array([65535]),
    new Int32Array([-1e9]), new Uint32Array([4e9]), new Float32Array([1.5, 2.25, 4]), new Float64Array([Math.PI, -0, NaN]),
    new BigInt64Array([-(2n ** 63n)]), new BigUint64Array([2n ** 64n - 1n]), new DataView(buffer, 3, 5), buffer.slice(1, 9),
    new Uint8Array([1, 2, 3]),
  ];
  const decoded = decode(encode({ pad: "x", values })).values;  // "x" leaves the payload unaligned
  values.forEach((value, i) => {
    const got = decoded[i];
    assert.equal(Object.prototype.toString.call(got), Object.prototype.toString.call(value), `kind ${i}`);
    const bytes = (v) => [...new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer, v.byteOffset ?? 0, v.byteLength)];
    assert.deepEqual(bytes(got), bytes(value), `bytes ${i}`);
  });
});

test("numbers keep -0, NaN and the infinities; undefined stays inside arrays and objects", () => {
  const decoded = decode(encode([-0, NaN, Infinity, -Infinity, 2 ** 53 + 2, [undefined, 1], { a: undefined }]));
  assert.ok(Object.is(decoded[0], -0));
  assert.ok(Number.isNaN(decoded[1]));
  assert.deepEqual(decoded.slice(2), [Infinity, -Infinity, 2 ** 53 + 2, [undefined, 1], { a: undefined }]);
  assert.ok("a" in decoded[6]);
});

test("what does not cross is refused where it sits", () => {
  const refused = (value) => { try { encode({ args: value }); } catch (error) { return [error.constructor.name, error.message]; } return null; };
  assert.deepEqual(refused([{ items: [1, 2, 3, new Date(0)] }]), ["TypeError", "args[0].items[3]: a Date cannot be sent: only undefined, null, booleans, numbers, well-formed strings, plain objects, arrays and binary data cross"]);
  assert.match(refused([new Set()])[1], /^args\[0\]: a Set cannot be sent/);
  assert.match(refused([/x/])[1], /^args\[0\]: a RegExp cannot be sent/);
  assert.match(refused([new (class Order {})()])[1], /^args\[0\]: a Order cannot be sent/);
  assert.match(refused([{ "odd key": 1n }])[1], /^args\[0\]\["odd key"\]: a BigInt cannot be sent/);
  assert.match(refused(["ok", "lone \ud800"])[1], /^args\[1\]: a string with a lone surrogate/);
  assert.match(refused([{ ["\udc00"]: 1 }])[1], /^args\[0\]\["\\udc00"\]: a string with a lone surrogate/);
  assert.match(refused([() => 1])[1], /^args\[0\]: a function cannot be sent/);
  assert.equal(refused(["\ud83d\ude00", { "\u00e9": "\u00e9" }]), null);
  const cycle = { name: "loop" };
  cycle.self = cycle;
  assert.match(refused([cycle])[1], /^args\[0\](\.self)+: a value nested deeper than 64 levels \(or a cycle\)/);
  let deep = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.match(refused(deep)[1], /nested deeper than 64 levels/);
});

test("messages encoded straight into the ring arrive whole and in order, across its end and beside chunked ones", async () => {
  const { SharedChannel } = await import("../../web/channel.js");
  const region = SharedChannel.create(16384); // rings of about 8 KiB: the sizes below wrap them many times
  const page = new SharedChannel(region, "page");
  const worker = new SharedChannel(region, "worker");
  const got = [];
  const all = new Promise((resolve) => {
    worker.onmessage = (message) => { got.push(message); if (got.length === 300) resolve(); };
  });
  const sent = [];
  for (let i = 0; i < 300; i++) {
    // Mostly one frame (written in place, padding the ring's end when only its start has room),
    // now and then more than half a ring (chunks, queued behind nothing or behind the others).
    const size = i % 37 === 0 ? 9000 : (i * 997) % 3000;
    const message = { i, bytes: new Uint8Array(size).fill(i & 255) };
    sent.push(message);
    page.send(message);
  }
  await all;
  assert.deepEqual(got.map((m) => m.i), sent.map((m) => m.i));
  for (const [k, message] of got.entries()) assert.deepEqual(message.bytes, sent[k].bytes);
  page.close();
  worker.close();
});

test("a page polls for the reply to a lone call, and stops polling a peer that answers late", async () => {
  const { SharedChannel } = await import("../../web/channel.js");
  const region = SharedChannel.create(16384);
  const page = new SharedChannel(region, "page");
  const worker = new SharedChannel(region, "worker"); // on this same thread: it cannot answer while the page polls
  worker.onmessage = (message) => worker.send({ reply: message.n });
  const replies = [];
  page.onmessage = (message) => replies.push(message.reply);
  for (let n = 0; n < 6; n++) {
    page.send({ n }, true);
    while (replies.length <= n) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  // Each poll found nothing: 1, then skip 1, poll, skip 2, poll... so 3 polls for 6 calls.
  assert.equal(page.spins.found, 0);
  assert.equal(page.spins.polls, 3);
  assert.ok(page.spins.ms > 0 && page.spins.ms < 3 * 5);
  assert.deepEqual(replies, [0, 1, 2, 3, 4, 5]);
  page.close();
  worker.close();
});

test("strings and keys go as UTF-8 whatever their length or script, the short ASCII ones written by hand alike", () => {
  const texts = ["", "a", "op", "x".repeat(63), "y".repeat(64), "z".repeat(65), "é", `${"a".repeat(63)}é`, "日本語",
    "emoji 🎉 at the end", "\u007f\u0080", "a\u0000b", "k".repeat(5000)];
  for (const text of texts) {
    const utf8 = new TextEncoder().encode(text);
    const wire = encode(text);
    assert.equal(new DataView(wire.buffer, wire.byteOffset).getUint32(1, true), utf8.length, JSON.stringify(text));
    assert.deepEqual([...wire.subarray(5)], [...utf8], JSON.stringify(text));
    assert.equal(decode(wire), text);
    const keyed = decode(encode({ [text]: text, after: 1 }));
    assert.deepEqual(Object.entries(keyed), [[text, text], ["after", 1]]);
  }
  assert.throws(() => encode({ value: "lone \ud800" }), /lone surrogate|well-formed/);
  assert.throws(() => encode({ ["\udc00"]: 1 }), TypeError);
});

test("bytes that are not UTF-8 decode as TextDecoder reads them, short or long", () => {
  for (const bytes of [[0xff], [0x61, 0xc3], [0x80, 0x61], new Array(70).fill(0xfe)]) {
    const wire = new Uint8Array(5 + bytes.length);
    wire[0] = encode("").at(0); // the string tag
    new DataView(wire.buffer).setUint32(1, bytes.length, true);
    wire.set(bytes, 5);
    assert.equal(decode(wire), new TextDecoder().decode(new Uint8Array(bytes)));
  }
});

test("a string or key that starts with U+FEFF keeps it", () => {
  for (const text of ["\ufeff", "\ufeffabc", `\ufeff${"é".repeat(80)}`, "a\ufeff"]) {
    assert.equal(decode(encode(text)), text);
    assert.deepEqual(Object.keys(decode(encode({ [text]: 1, k: text }))), [text, "k"]);
  }
});
