// web/js-memory.js under Node: what a GOOS=js instance makes counts against memory_mb.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JsMemory } from "../../web/js-memory.js";

const MiB = 1024 * 1024;

function memory(limit = 64 * MiB, linear = 16 * MiB) {
  const over = [];
  const meter = new JsMemory(limit, () => linear, (what, detail) => over.push([what, detail]));
  return { meter, over };
}

test("an array counts by its length, holes included, before it is filled", () => {
  const { meter, over } = memory();
  assert.throws(() => meter.meter().made(new Array(100_000_000)), RangeError);
  assert.equal(over.length, 1);
  assert.equal(over[0][0], "memory_mb");
});

test("growth and writes count; strings a call made count until no call runs", () => {
  const { meter, over } = memory(64 * MiB, 0);
  const m = meter.meter();
  const target = [];
  m.made(target);
  target.length = 1_000_000;
  m.grew(target, 0, []);
  m.made("x".repeat(8 * MiB)); // 16 MiB at two bytes a character
  meter.settle();
  m.made("x".repeat(8 * MiB));
  assert.equal(over.length, 0);
  assert.throws(() => m.made("x".repeat(20 * MiB)), RangeError);
  assert.equal(over.length, 1);
});

test("strings Go holds count until Go lets go of them", () => {
  const { meter } = memory(64 * MiB, 0);
  const big = "y".repeat(20 * MiB);
  meter.held(big, 1);
  meter.held(big, -1);
  meter.held(big, 1); // 40 MiB held, not 80: what was let go is given back
  assert.throws(() => meter.held("z".repeat(20 * MiB), 1), RangeError);
});

test("what an intrinsic makes from a large input counts as its input, several times over", () => {
  const { meter, over } = memory(256 * MiB, 0);
  const input = new Array(1_000_000);
  meter.meter().made(input); // 16 MB
  // Promise.all(input), JSON.parse(text): one small object holding a large graph.
  assert.throws(() => { for (let i = 0; i < 4; i++) meter.meter().made({}, Promise, [input]); }, RangeError);
  assert.equal(over.length, 1);
});

test("an object it already had counts what a call with large inputs put into it", () => {
  const { meter, over } = memory(256 * MiB, 0);
  const target = {};
  meter.meter().made(target);
  const bytes = new Uint8Array(10 * MiB);
  // Object.assign(target, bytes): the same object back, ten million keys later.
  assert.throws(() => { for (let i = 0; i < 4; i++) meter.meter().made(target, Object, [target, bytes]); }, RangeError);
  assert.equal(over.length, 1);
});
