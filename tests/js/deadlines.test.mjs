// The page's request deadlines (web/deadlines.js) under Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines } from "../../web/deadlines.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("each deadline ends its key once, in deadline order, an earlier one set after a later one included", async () => {
  const deadlines = new Deadlines();
  const ended = [];
  const started = performance.now();
  const late = (key) => ended.push([key, performance.now() - started]);
  deadlines.set("slow", 120, late);
  deadlines.set("quick", 20, late);
  deadlines.set("middle", 60, late);
  await sleep(200);
  assert.deepEqual(ended.map(([key]) => key), ["quick", "middle", "slow"]);
  for (const [key, ms] of ended) assert.ok(ms >= { quick: 19, middle: 59, slow: 119 }[key], `${key} ended early: ${ms} ms`);
});

test("a cancelled key never ends, and a key set again ends at its new deadline only", async () => {
  const deadlines = new Deadlines();
  const ended = [];
  deadlines.set(1, 10, (key) => ended.push(key));
  deadlines.set(2, 10, (key) => ended.push(key));
  deadlines.cancel(1);
  deadlines.set(2, 50, (key) => ended.push(`again ${key}`));
  await sleep(30);
  assert.deepEqual(ended, []);
  await sleep(60);
  assert.deepEqual(ended, ["again 2"]);
});

test("many requests with one bound cost one timer, not one each", async () => {
  const real = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = (...args) => { timers++; return real(...args); };
  try {
    const deadlines = new Deadlines();
    let ended = 0;
    for (let i = 0; i < 1000; i++) deadlines.set(i, 30, () => { ended++; });
    assert.equal(timers, 1);
    for (let i = 0; i < 500; i++) deadlines.cancel(i);
    await new Promise((resolve) => real(resolve, 80));
    assert.equal(ended, 500);
  } finally {
    globalThis.setTimeout = real;
  }
});

test("a deadline set while others end is kept", async () => {
  const deadlines = new Deadlines();
  const ended = [];
  deadlines.set("first", 10, (key) => { ended.push(key); deadlines.set("follow-up", 10, (k) => ended.push(k)); });
  await sleep(60);
  assert.deepEqual(ended, ["first", "follow-up"]);
});

test("what runs before deadlines end keys runs once per firing, and a key it cancels is not ended", async () => {
  let before = 0;
  const ended = [];
  const deadlines = new Deadlines(() => { before++; deadlines.cancel("answered meanwhile"); });
  deadlines.set("answered meanwhile", 10, (key) => ended.push(key));
  deadlines.set("late", 10, (key) => ended.push(key));
  deadlines.set("later", 200, (key) => ended.push(key));
  await sleep(60);
  assert.deepEqual(ended, ["late"]);
  assert.equal(before, 1);
  deadlines.cancel("later");
});
