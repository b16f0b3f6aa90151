// A guest worker: one Go module instance in a realm of its own, driven by the
// Python host over guest-protocol.js. It never talks to the page.
//
// Three walls, any one of which keeps the host safe:
// 1. The realm: this worker shares no objects with the host worker or the
//    page; all it can do is post messages to the host, which trusts none.
// 2. The membrane (membrane.js): Go's js.Global() is not this worker's global
//    but a proxy over a fresh object holding only what the policy grants.
// 3. The hardened realm: intrinsics are frozen (no prototype pollution), the
//    CSP forbids eval/Function, and network, storage and channel globals are
//    deleted from this worker before guest code runs.
import "./wasm_exec.js";
import { SharedChannel } from "./channel.js";
import { Envelope, GuestOp, HTTP_EXPORT } from "./guest-protocol.js";
import { createMembrane } from "./membrane.js";
import { makeWasi, WasiExit } from "./wasi.js";

// Primordials, taken before any guest code exists.
const { apply, get, set, has, ownKeys, getOwnPropertyDescriptor, deleteProperty, getPrototypeOf } = Reflect;
const { freeze, defineProperty, getOwnPropertyNames, create } = Object;
const post = self.postMessage.bind(self);
const listen = self.addEventListener.bind(self);
const realCrypto = self.crypto;
const getRandomValues = crypto.getRandomValues.bind(crypto);
const subtle = crypto.subtle;
const RealResponse = Response;
const RealError = Error;
const RealUint8Array = Uint8Array;
const decoder = new TextDecoder();
const isView = ArrayBuffer.isView;
const encoder = new TextEncoder();
// A private cell to block on: how a wasip1 guest sleeps in this worker.
const sleepCell = typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(4)) : null;
const atomicsWait = typeof Atomics === "object" ? Atomics.wait : null;

let grant = null;
let calling = false;
let instance = null; // {names, invoke(fn, args), exited(), exitCode()}

// ------------------------------------------------------------------ messages

const atomicStore = Atomics.store;
const atomicAdd = Atomics.add;
// Answers go back the way the request came: to the host, or straight to the
// page over a direct channel the host set up.
const toHost = (message) => post(message);
const reply = (id, value, send = toHost) => send({ op: GuestOp.REPLY, id, ok: true, value });
const fail = (id, code, message, stack = "", crashed = false, send = toHost) =>
  send({ op: GuestOp.REPLY, id, ok: false, crashed, error: { code, message, stack } });
let watch = null; // Int32Array [busy, call count], shared with the host's watchdog
const audit = (capability, detail, code = "E_DENIED") => post({ op: GuestOp.AUDIT, capability, detail, code });
const { own, guestFunction } = createMembrane(audit);

// ------------------------------------------------------------------ the log

const STDERR_TAIL = 16 * 1024;
let stderrTail = "";
let logged = 0;
const lines = ["", "", ""];

function writeLog(fd, bytes) {
  const text = decoder.decode(bytes);
  if (fd === 2) stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
  logged += bytes.length;
  if (logged > grant.logBytes) {
    if (logged - bytes.length <= grant.logBytes) {
      audit("log", `more than ${grant.logBytes} bytes of output in one call`, "E_LIMIT");
      post({ op: GuestOp.LIMIT, what: "log_kb", detail: `output exceeded ${grant.logBytes} bytes` });
    }
    return bytes.length;
  }
  lines[fd] += text;
  const nl = lines[fd].lastIndexOf("\n");
  if (nl !== -1) {
    post({ op: GuestOp.LOG, fd, text: lines[fd].slice(0, nl) });
    lines[fd] = lines[fd].slice(nl + 1);
  }
  return bytes.length;
}

// ------------------------------------------------------------------ fs, process, crypto, fetch

const errno = (code, message) => {
  const error = new RealError(message ?? code);
  error.code = code;
  return error;
};
const S_IFREG = 0o100000;
const openFiles = new Map();
let nextFd = 10;

function makeFs() {
  const deny = (what) => (...args) => {
    audit("fs", `${what} ${args[0]}`);
    args[args.length - 1](errno("EACCES", `${what}: permission denied`));
  };
  const statOf = (data) => ({
    dev: 0, ino: 0, mode: S_IFREG | 0o444, nlink: 1, uid: 0, gid: 0, rdev: 0, size: data.length,
    blksize: 4096, blocks: Math.ceil(data.length / 512), atimeMs: 0, mtimeMs: 0, ctimeMs: 0,
    isDirectory: () => false,
  });
  const fs = {
    constants: { O_WRONLY: -1, O_RDWR: -1, O_CREAT: -1, O_TRUNC: -1, O_APPEND: -1, O_EXCL: -1, O_DIRECTORY: -1 },
    writeSync(fd, buf) {
      if (fd !== 1 && fd !== 2) throw errno("EBADF");
      return writeLog(fd, buf);
    },
    write(fd, buf, offset, length, position, callback) {
      if ((fd !== 1 && fd !== 2) || position !== null) return callback(errno("EBADF"));
      callback(null, writeLog(fd, buf.subarray(offset, offset + length)));
    },
    open(path, flags, mode, callback) {
      const data = grant.files[path];
      if (data === undefined || flags !== 0) {
        audit("fs", `open ${path}${flags !== 0 ? " for writing" : ""}`);
        return callback(errno(data === undefined ? "ENOENT" : "EROFS", `open ${path}: not granted`));
      }
      const fd = nextFd++;
      openFiles.set(fd, { data, position: 0 });
      callback(null, fd);
    },
    fstat(fd, callback) {
      const file = openFiles.get(fd);
      return file ? callback(null, statOf(file.data)) : callback(errno("EBADF"));
    },
    stat(path, callback) {
      const data = grant.files[path];
      return data ? callback(null, statOf(data)) : callback(errno("ENOENT"));
    },
    read(fd, buffer, offset, length, position, callback) {
      const file = openFiles.get(fd);
      if (!file) return callback(errno("EBADF"));
      const start = position ?? file.position;
      const chunk = file.data.subarray(start, start + length);
      buffer.set(chunk, offset);
      if (position === null) file.position = start + chunk.length;
      callback(null, chunk.length);
    },
    close(fd, callback) {
      callback(openFiles.delete(fd) ? null : errno("EBADF"));
    },
    fsync(fd, callback) { callback(null); },
  };
  fs.lstat = fs.stat;
  for (const name of ["chmod", "chown", "fchmod", "fchown", "ftruncate", "lchown", "link", "mkdir", "readdir",
    "readlink", "rename", "rmdir", "symlink", "truncate", "unlink", "utimes"]) {
    fs[name] = deny(name);
  }
  freeze(fs.constants);
  return freeze(fs);
}

function makeProcess() {
  const enosys = () => { throw errno("ENOSYS"); };
  return freeze({
    getuid: () => -1, getgid: () => -1, geteuid: () => -1, getegid: () => -1,
    getgroups: enosys, pid: -1, ppid: -1, umask: enosys, cwd: () => "/", chdir: enosys,
  });
}

function makeCrypto() {
  const granted = new Set(grant.cryptoSubtle);
  const algorithmName = (algorithm) => String(typeof algorithm === "string" ? algorithm : algorithm?.name ?? "");
  const guard = (method, position) => (...args) => {
    const names = [algorithmName(args[position])];
    const hash = typeof args[position] === "object" ? args[position]?.hash : undefined;
    if (hash !== undefined) names.push(algorithmName(hash));
    const refused = names.find((name) => !granted.has(name.toUpperCase()) && !granted.has(name));
    if (refused !== undefined) {
      audit("crypto", `subtle.${method} ${refused}`);
      return Promise.reject(errno("E_DENIED", `E_DENIED: crypto.subtle.${method}(${refused}) is not granted`));
    }
    return apply(subtle[method], subtle, args);
  };
  const api = {};
  if (grant.cryptoRandom) {
    api.getRandomValues = (array) => getRandomValues(array);
    api.randomUUID = () => realCrypto.randomUUID();
  }
  if (granted.size > 0) {
    api.subtle = freeze({
      digest: guard("digest", 0), importKey: guard("importKey", 2), generateKey: guard("generateKey", 0),
      sign: guard("sign", 0), verify: guard("verify", 0), encrypt: guard("encrypt", 0),
      decrypt: guard("decrypt", 0), deriveBits: guard("deriveBits", 0), exportKey: (...a) => apply(subtle.exportKey, subtle, a),
    });
  }
  return freeze(api);
}

// fetch asks the host, which checks the policy and does the request itself.
const fetches = new Map();
let nextFetch = 1;

async function hostFetch(input, init = {}) {
  const url = String(typeof input === "string" ? input : input?.url ?? input);
  const method = String(init.method ?? "GET").toUpperCase();
  const headers = [];
  if (init.headers) {
    const source = typeof init.headers.entries === "function" ? init.headers.entries() : Object.entries(init.headers);
    for (const [name, value] of source) headers.push([String(name), String(value)]);
  }
  let body = null;
  if (init.body !== undefined && init.body !== null) {
    body = isView(init.body) ? new RealUint8Array(init.body.buffer, init.body.byteOffset, init.body.byteLength).slice()
      : new TextEncoder().encode(String(init.body));
  }
  const fid = nextFetch++;
  const answer = await new Promise((resolve) => {
    fetches.set(fid, resolve);
    post({ op: GuestOp.FETCH, fid, url, method, headers, body });
  });
  if (!answer.ok) throw new TypeError(`fetch ${url}: ${answer.error.code}: ${answer.error.message}`);
  return new RealResponse(answer.status === 204 || answer.status === 304 ? null : answer.body,
    { status: answer.status, statusText: answer.statusText, headers: answer.headers });
}

// What every guest's global holds, and what a network grant adds.
const ALWAYS = ["Object", "Array", "Uint8Array", "Uint8ClampedArray", "Error", "TypeError", "RangeError", "Date",
  "Promise", "JSON", "Math", "Number", "String", "Boolean", "ArrayBuffer", "DataView", "TextEncoder", "TextDecoder"];
const NET = ["Headers", "AbortController", "AbortSignal", "Response", "Request", "ReadableStream"];

function makeSandboxGlobal() {
  const sandbox = create(null);
  for (const name of ALWAYS) sandbox[name] = self[name];
  sandbox.fs = makeFs();
  sandbox.process = makeProcess();
  sandbox.path = freeze({ resolve: (...segments) => segments.join("/") });
  if (grant.net) {
    for (const name of NET) sandbox[name] = self[name];
    sandbox.fetch = hostFetch;
  }
  if (grant.cryptoRandom || grant.cryptoSubtle.length) sandbox.crypto = makeCrypto();
  return { sandbox, proxy: own(sandbox) };
}

// What the guest reads but was not granted: audited once the program is running
// (package initialisers probe globals such as fetch; that is not an attempt).
function auditMisses(sandbox, proxy) {
  return new Proxy(create(null), {
    get: (_, key) => {
      if (typeof key === "string" && !(key in sandbox) && calling) audit("global", key);
      return get(proxy, key);
    },
    set: (_, key, v) => set(proxy, key, v),
    has: (_, key) => has(proxy, key),
    ownKeys: () => ownKeys(proxy),
    getOwnPropertyDescriptor: (_, key) => {
      const found = getOwnPropertyDescriptor(proxy, key);
      return found && { ...found, configurable: true };
    },
    deleteProperty: (_, key) => deleteProperty(proxy, key),
    defineProperty: () => false,
  });
}

// ------------------------------------------------------------------ hardening

const STRIP = ["fetch", "XMLHttpRequest", "WebSocket", "WebSocketStream", "WebTransport", "EventSource",
  "importScripts", "BroadcastChannel", "Worker", "SharedWorker", "indexedDB", "caches", "CacheStorage",
  "postMessage", "close", "navigator", "location", "SharedArrayBuffer", "Atomics", "Notification",
  "FileSystemHandle", "storageManager", "cookieStore", "onmessage", "addEventListener", "removeEventListener",
  "dispatchEvent", "fetchLater", "webkitRequestFileSystem", "webkitRequestFileSystemSync", "requestFileSystem"];

function hardenRealm() {
  for (let scope = self; scope && scope !== Object.prototype; scope = getPrototypeOf(scope)) {
    for (const name of STRIP) {
      try { deleteProperty(scope, name); } catch { /* not configurable: left, but unreachable through the membrane */ }
    }
  }
  for (const name of getOwnPropertyNames(self)) {
    const value = self[name];
    if (typeof value === "function" && /^[A-Z]/.test(name)) {
      try { freeze(value.prototype); freeze(value); } catch { /* some host objects refuse; harmless */ }
    } else if (["Math", "JSON", "Reflect", "Atomics", "WebAssembly", "Intl"].includes(name)) {
      try { freeze(value); } catch { /* ignore */ }
    }
  }
  freeze(Object.getPrototypeOf(function* () {}));
  freeze(Object.getPrototypeOf(async function () {}));
}

// ------------------------------------------------------------------ load and call

function exitError() {
  const tail = stderrTail.trim();
  if (/fatal error: out of memory|runtime: out of memory/.test(tail)) return ["E_LIMIT", `out of memory (memory_mb): ${tail.slice(-2000)}`];
  if (/^panic: |\npanic: |fatal error: /.test(tail)) return ["E_PANIC", tail.slice(tail.search(/panic: |fatal error: /))];
  return ["E_CRASHED", `the Go program exited (code ${instance?.exitCode() ?? "?"})${tail ? `: ${tail.slice(-2000)}` : ""}`];
}

// A GOOS=js guest: wasm_exec.js, with the membrane as its global.
async function startJs(name, module) {
  const { sandbox, proxy } = makeSandboxGlobal();
  const visible = auditMisses(sandbox, proxy);
  globalThis.fs = sandbox.fs; // the runtime's own writes (panics, println) go through fs.writeSync
  const go = new Go();
  go.env = grant.env;
  go.argv = [name, ...grant.args];
  go.exit = (code) => { go.exitCode = code; };
  // wasm_exec puts the real global at value id 5; the guest gets the membrane instead.
  for (const [field, patch] of [["_values", (v) => { v[5] = visible; }], ["_ids", (m) => { m.delete(globalThis); m.set(visible, 5); }]]) {
    defineProperty(go, field, { configurable: true, set(v) { patch(v); defineProperty(this, field, { value: v, writable: true, configurable: true }); } });
  }
  // Go's own functions (js.FuncOf) are wrapped too, so their .constructor is blocked as well.
  const makeFuncWrapper = go._makeFuncWrapper.bind(go);
  go._makeFuncWrapper = (id) => guestFunction(makeFuncWrapper(id));
  const wasm = await WebAssembly.instantiate(module, go.importObject);
  hardenRealm();
  // What Go main sets on its global while it runs to its first block is what it
  // exports (a granted name it replaces included); nothing else is callable by name.
  const granted = new Map(ownKeys(sandbox).map((key) => [key, sandbox[key]]));
  go.run(wasm).catch(() => {});
  const exported = new Map();
  for (const key of ownKeys(sandbox)) {
    if (typeof key === "string" && typeof sandbox[key] === "function" && granted.get(key) !== sandbox[key]) {
      exported.set(key, sandbox[key]); // set through the membrane: already host-callable
    }
  }
  return {
    names: [...exported.keys()],
    has: (fn) => exported.has(fn),
    invoke: (fn, args) => apply(exported.get(fn), undefined, args),
    exited: () => go.exited,
    exitCode: () => go.exitCode,
  };
}

// A GOOS=wasip1 guest built with modules/sdk: WASI imports from the policy,
// calls through the edgebox_* exports and byte envelopes.
async function startWasi(name, module) {
  let exitCode = null;
  const wasi = makeWasi({
    args: [name, ...grant.args], env: grant.env, files: grant.files, writeLog, audit,
    randomFill: getRandomValues,
    sleepMs: (ms) => {
      if (sleepCell && atomicsWait) atomicsWait(sleepCell, 0, 0, ms);
      else for (const until = performance.now() + ms; performance.now() < until;);
    },
  });
  const wasm = await WebAssembly.instantiate(module, wasi.imports);
  hardenRealm();
  const ex = wasm.exports;
  wasi.setMemory(ex.memory);
  const run = (work) => {
    try {
      return work();
    } catch (error) {
      if (error instanceof WasiExit || error instanceof WebAssembly.RuntimeError) {
        // proc_exit, or a trap (how the runtime aborts on a fatal error): the instance is done.
        exitCode = error instanceof WasiExit ? error.code : `trap: ${error.message}`;
        throw errno("EXIT", `exit ${exitCode}`);
      }
      throw error;
    }
  };
  const put = (bytes) => {
    const ptr = run(() => ex.edgebox_alloc(bytes.length));
    new RealUint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  };
  const take = (packed) => {
    const ptr = Number(packed >> 32n);
    const out = new RealUint8Array(ex.memory.buffer, ptr, Number(packed & 0xffffffffn)).slice();
    run(() => ex.edgebox_free(ptr));
    return out;
  };
  try {
    if (typeof ex._initialize === "function") run(() => ex._initialize());
  } catch (error) {
    if (exitCode === null) throw error;
  }
  const hasSdk = ["edgebox_alloc", "edgebox_free", "edgebox_call", "edgebox_exports"].every((f) => typeof ex[f] === "function");
  const names = exitCode === null && hasSdk ? JSON.parse(decoder.decode(take(run(() => ex.edgebox_exports())))) : [];
  if (exitCode === null && !hasSdk) throw errno("E_LOAD", `module ${name} does not use the EdgeBox SDK (edgebox_* exports missing)`);
  return {
    names,
    has: (fn) => names.includes(fn),
    invoke(fn, args) {
      const nameBytes = encoder.encode(fn);
      const bytesIn = args.length === 1 && args[0] instanceof RealUint8Array;
      const payload = bytesIn ? args[0] : encoder.encode(JSON.stringify(args));
      const envelope = new RealUint8Array(payload.length + 1);
      envelope[0] = bytesIn ? Envelope.BYTES : Envelope.JSON;
      envelope.set(payload, 1);
      const namePtr = put(nameBytes);
      const inPtr = put(envelope);
      const out = take(run(() => ex.edgebox_call(namePtr, nameBytes.length, inPtr, envelope.length)));
      run(() => { ex.edgebox_free(namePtr); ex.edgebox_free(inPtr); });
      const body = out.subarray(1);
      if (out[0] === Envelope.BYTES) return body;
      const value = body.length ? JSON.parse(decoder.decode(body)) : null;
      if (out[0] === Envelope.ERROR) throw errno(String(value?.code ?? "E_GUEST"), String(value?.message ?? ""));
      return value;
    },
    exited: () => exitCode !== null,
    exitCode: () => exitCode,
  };
}

async function load({ id, name, abi, module, grant: granted, watch: shared }) {
  grant = granted;
  watch = shared ?? null;
  instance = await (abi === "wasip1" ? startWasi : startJs)(name, module);
  if (instance.exited()) {
    const [code, message] = exitError();
    return fail(id, code === "E_CRASHED" ? "E_LOAD" : code, `module ${name} exited during start-up: ${message}`, "", true);
  }
  reply(id, instance.names);
}

// box.fetch reaches a guest as (head JSON, body bytes) and leaves it the same
// way; in between, the SDK's net/http glue takes one envelope:
// u32 head length, head, body (modules/sdk/http.go).
function packHttp(head, body) {
  const headBytes = encoder.encode(head);
  const bytes = body instanceof RealUint8Array ? body : new RealUint8Array(0);
  const envelope = new RealUint8Array(4 + headBytes.length + bytes.length);
  new DataView(envelope.buffer).setUint32(0, headBytes.length, true);
  envelope.set(headBytes, 4);
  envelope.set(bytes, 4 + headBytes.length);
  return envelope;
}

function unpackHttp(envelope) {
  if (!(envelope instanceof RealUint8Array) || envelope.length < 4) throw errno("E_GUEST", "the guest's HTTP answer is not an envelope");
  const headLength = new DataView(envelope.buffer, envelope.byteOffset, 4).getUint32(0, true);
  return { head: decoder.decode(envelope.subarray(4, 4 + headLength)), body: envelope.slice(4 + headLength) };
}

async function call({ id, fn, args }, send = toHost) {
  if (instance.exited()) {
    // Never ran: the host may give this call to a fresh instance.
    return send({ op: GuestOp.REPLY, id, ok: false, crashed: true, stale: true, error: { code: "E_CRASHED", message: "exited", stack: "" } });
  }
  if (!instance.has(fn)) return fail(id, "E_NOT_FOUND", `no exported function ${fn}`, "", false, send);
  logged = 0;
  calling = true;
  if (watch) {
    atomicAdd(watch, 1, 1);
    atomicStore(watch, 0, 1);
  }
  const died = () => {
    const [code, message] = exitError();
    fail(id, code, message, "", true, send);
    if (send !== toHost) post({ op: GuestOp.DIED, code, message }); // the host still has to know
  };
  try {
    const http = fn === HTTP_EXPORT;
    let value = await instance.invoke(fn, http ? [packHttp(args[0], args[1])] : args);
    if (instance.exited()) return died();
    if (http && !(value instanceof RealError)) value = unpackHttp(value);
    if (value instanceof RealError) {
      // The code is the guest's claim; the host and the page believe only guest codes.
      return fail(id, typeof value.code === "string" ? value.code : "E_GUEST", String(value.message), "", false, send);
    }
    reply(id, value, send);
  } catch (error) {
    if (instance.exited()) return died();
    fail(id, typeof error?.code === "string" ? error.code : "E_GUEST", String(error?.message ?? error), String(error?.stack ?? ""), false, send);
  } finally {
    calling = false;
    if (watch) atomicStore(watch, 0, 0);
  }
}

// The host hands over one end of a page <-> guest channel: from now on the
// page's calls to this module come here directly, without a hop through Python.
function connect({ id, shared }) {
  const channel = new SharedChannel(shared, "worker");
  const send = (message) => { channel.send(message).catch(() => {}); };
  channel.onmessage = (message) => {
    if (message.op === GuestOp.CALL) call(message, send);
  };
  reply(id, true);
}

function fetched({ fid, ...answer }) {
  const resolve = fetches.get(fid);
  fetches.delete(fid);
  resolve?.(answer);
}

const handlers = { [GuestOp.LOAD]: load, [GuestOp.CALL]: (data) => call(data), [GuestOp.FETCHED]: fetched, [GuestOp.CONNECT]: connect };

// eval and Function are refused by the worker's CSP; say so in the audit.
listen("securitypolicyviolation", (event) => audit("eval", `${event.violatedDirective} blocked ${event.blockedURI || "code"}`));

listen("message", ({ data }) => {
  const handler = handlers[data.op];
  if (!handler) return fail(data.id, "E_BAD_REQUEST", `unknown op ${data.op}`);
  Promise.resolve(handler(data)).catch((error) =>
    fail(data.id, "E_LOAD", String(error?.message ?? error), String(error?.stack ?? ""), Boolean(instance?.exited())));
});
