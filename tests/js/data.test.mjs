// web/data.js under Node: what may cross from a guest is plain data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toData } from "../../web/data.js";

const refused = (value, code, words, max) => {
  assert.throws(() => toData(value, max), (error) => error.code === code && error.message.includes(words));
};

test("plain data is copied, not shared", () => {
  const value = { a: [1, "two", null, true, { b: 2.5 }], c: new Uint8Array([1, 2, 3]) };
  const copy = toData(value);
  assert.deepEqual(copy, value);
  assert.notEqual(copy, value);
  assert.notEqual(copy.a, value.a);
  assert.ok(copy.c instanceof Uint8Array && copy.c !== value.c && copy.c.buffer === value.c.buffer);
});

test("a key named __proto__ stays a key and sets no prototype", () => {
  const value = JSON.parse('{"__proto__": {"polluted": true}}');
  const copy = toData(value);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.deepEqual(Object.keys(copy), ["__proto__"]);
  assert.equal(copy.polluted, undefined);
  assert.equal({}.polluted, undefined);
});

test("what the wire cannot carry is refused by name", () => {
  refused(1n, "E_GUEST", "BigInt");
  refused({ a: Symbol("s") }, "E_GUEST", "Symbol");
  refused([() => 1], "E_GUEST", "function");
  const cycle = {};
  cycle.self = cycle;
  refused(cycle, "E_GUEST", "cycle");
  refused(Object.defineProperty({}, "x", { get: () => 1, enumerable: true }), "E_GUEST", "getter");
  refused(new Map(), "E_GUEST", "a Map cannot be sent");
  refused({ when: new Date(0) }, "E_GUEST", "a Date cannot be sent: only undefined, null, booleans, numbers, well-formed strings, plain objects, arrays and binary data cross (at the value.when)");
  refused(["\ud800"], "E_GUEST", "lone surrogate (not well-formed Unicode) cannot be sent (at the value[0])");
  let deep = [];
  for (let i = 0; i < 65; i++) deep = [deep];
  refused(deep, "E_GUEST", "deeper than 64");
});

test("binary data keeps its kind: a fresh view over the same bytes, made by the real constructor", () => {
  const buffer = new ArrayBuffer(16);
  const values = [new Float32Array(buffer, 4, 2), new Int16Array([1, -2]), new DataView(buffer, 2, 6), new BigUint64Array([5n]), buffer];
  const copy = toData(values);
  values.forEach((value, i) => {
    assert.equal(Object.prototype.toString.call(copy[i]), Object.prototype.toString.call(value));
    assert.notEqual(copy[i], value);
  });
  assert.equal(copy[0].buffer, buffer);
  assert.equal(copy[0].byteOffset, 4);
  assert.equal(copy[0].length, 2);
  assert.deepEqual([...copy[1]], [1, -2]);
  assert.equal(copy[4].byteLength, 16);
});

test("a shared reference is not a cycle", () => {
  const shared = { x: 1 };
  assert.deepEqual(toData([shared, shared]), [{ x: 1 }, { x: 1 }]);
});

test("size is counted before anything is walked: holes cost", () => {
  const started = performance.now();
  refused(new Array(2 ** 32 - 1), "E_TOO_LARGE", "maxMessageBytes", 64 * 1024 * 1024);
  assert.ok(performance.now() - started < 1000);
  refused("x".repeat(1000), "E_TOO_LARGE", "maxMessageBytes", 100);
  refused(new Uint8Array(200), "E_TOO_LARGE", "maxMessageBytes", 100);
});

test("its errors are the box's own classes, even in a realm whose Error.prototype is frozen", async () => {
  // In a process of its own: freezing Error.prototype here would break the test runner.
  const { spawnSync } = await import("node:child_process");
  const web = new URL("../../web/", import.meta.url).href;
  const script = `
    const { toData } = await import("${web}data.js");
    const { GuestError, TooLargeError } = await import("${web}errors.js");
    Object.freeze(Error.prototype);
    const got = [];
    for (const [value, max] of [[1n, Infinity], ["x".repeat(100), 10]]) {
      try { toData(value, max); } catch (error) { got.push([error.constructor.name, error.name, error.code]); }
    }
    console.log(JSON.stringify(got));`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [["GuestError", "GuestError", "E_GUEST"], ["TooLargeError", "TooLargeError", "E_TOO_LARGE"]]);
});
