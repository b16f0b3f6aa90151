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
  const at = (path) => {
    const bytes = new TextEncoder().encode(path);
    new Uint8Array(memory.buffer).set(bytes, 1024);
    return [1024, bytes.length];
  };
  return { open, audits, at, calls: wasi.imports.wasi_snapshot_preview1 };
}

test("names of Object.prototype's members are not files", () => {
  const { open, audits } = opener(new Map([["/etc/granted.txt", new Uint8Array([1])]]));
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) assert.equal(open(name), ERRNO_NOENT, name);
  assert.equal(open("/etc/granted.txt"), 0);
  assert.equal(audits.length, 4);
});

test("the files are read-only: unlink and rmdir are refused and audited, nothing is a link", () => {
  const { audits, at, calls } = opener(new Map([["/etc/granted.txt", new Uint8Array([1])]]));
  const ERRNO_ROFS = 69, ERRNO_INVAL = 28, ERRNO_NOTSUP = 58;
  assert.equal(calls.path_unlink_file(3, ...at("/etc/granted.txt")), ERRNO_ROFS);
  assert.equal(calls.path_remove_directory(3, ...at("/etc")), ERRNO_ROFS);
  assert.deepEqual(audits.map((a) => a.slice(0, 2)), [["fs", "unlink /etc/granted.txt"], ["fs", "rmdir /etc"]]);
  assert.equal(calls.path_readlink(3, ...at("/etc/granted.txt"), 2048, 64, 4096), ERRNO_INVAL);
  assert.equal(calls.path_readlink(3, ...at("/etc/none"), 2048, 64, 4096), ERRNO_NOENT);
  assert.equal(calls.fd_readdir(3, 2048, 256, 0n, 4096), ERRNO_NOTSUP);
});

test("a guest has no sockets: the calls Go's net links are refused", () => {
  const { calls } = opener(new Map());
  const ERRNO_NOTSUP = 58;
  assert.equal(calls.sock_accept(3, 0, 2048), ERRNO_NOTSUP);
  assert.equal(calls.sock_shutdown(3, 1), ERRNO_NOTSUP);
});
