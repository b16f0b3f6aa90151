// web/wasi.js under Node: only granted files open, whatever their name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeWasi } from "../../web/wasi.js";

const ERRNO_NOENT = 44;

function opener(files) {
  const audits = [];
  const wasi = makeWasi({ args: ["m"], env: {}, files, writeLog: () => 0, audit: (...a) => audits.push(a), randomFill: () => {}, sleepMs: () => {} });
  const memory = new WebAssembly.Memory({ initial: 1 });
  wasi.setMemory(memory);
  const open = (path) => {
    const bytes = new TextEncoder().encode(path);
    new Uint8Array(memory.buffer).set(bytes, 1024);
    return wasi.imports.wasi_snapshot_preview1.path_open(3, 0, 1024, bytes.length, 0, 0n, 0n, 0, 2048);
  };
  return { open, audits };
}

test("names of Object.prototype's members are not files", () => {
  const { open, audits } = opener(new Map([["/etc/granted.txt", new Uint8Array([1])]]));
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) assert.equal(open(name), ERRNO_NOENT, name);
  assert.equal(open("/etc/granted.txt"), 0);
  assert.equal(audits.length, 4);
});
