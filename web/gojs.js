// The GOOS=js environment: what wasm_exec.js and a Go program find on their
// js.Global(), built from the policy (the twin of wasi.js for wasip1 guests).
//
// Every name the guest looks up in a grant is an own entry of a Map; every
// argument a guest hands to a capability (an algorithm, a URL, a request init)
// is copied once, then checked and used as that copy, so a getter that answers
// differently the second time changes nothing.

import { NULL_BODY_STATUSES } from "./protocol.js";

// Primordials, taken before any guest code exists.
const { apply } = Reflect;
const { freeze, create, entries } = Object;
const realCrypto = self.crypto;
const getRandomValues = realCrypto.getRandomValues.bind(realCrypto);
const randomUUID = realCrypto.randomUUID.bind(realCrypto);
const subtle = realCrypto.subtle;
const RealResponse = Response;
const RealReadableStream = ReadableStream;
const RealAbortSignal = AbortSignal;
const { addEventListener, removeEventListener } = EventTarget.prototype;
const abortedOf = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted").get;
const reasonOf = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "reason").get;
const getReader = ReadableStream.prototype.getReader;
const { read: readChunk, cancel: cancelReader } = ReadableStreamDefaultReader.prototype;
const RealError = Error;
const RealTypeError = TypeError;
const RealUint8Array = Uint8Array;
const RealPromise = Promise;
const isView = ArrayBuffer.isView;
const isArray = Array.isArray;
const encoder = new TextEncoder();
const S_IFREG = 0o100000;
const MAX_FETCHES = 16; // network requests one instance may have in flight: a flood costs it, not the host

// What every guest's global holds, and what a network grant adds.
const ALWAYS = ["Object", "Array", "Uint8Array", "Uint8ClampedArray", "Error", "TypeError", "RangeError", "Date",
  "Promise", "JSON", "Math", "Number", "String", "Boolean", "ArrayBuffer", "DataView", "TextEncoder", "TextDecoder"];
const NET = ["Headers", "AbortController", "AbortSignal", "Response", "Request", "ReadableStream"];
// Algorithm members that name another algorithm, and those that carry bytes or keys.
const NESTED_ALGORITHMS = ["hash"];

export const errno = (code, message) => {
  const error = new RealError(message ?? code);
  error.code = code;
  return error;
};

/**
 * The guest's global object. env: {grant, files: Map, audit, writeLog, inCall, requestFetch}.
 * requestFetch({url, method, headers, body}) returns {answer, abort()}: answer resolves to
 * the host's answer ({ok, status, statusText, headers, body: a ReadableStream or null} or
 * {ok: false, error}); abort() tells the host to give the request up.
 */
export function makeGlobal(env) {
  const sandbox = create(null);
  for (const name of ALWAYS) sandbox[name] = self[name];
  sandbox.fs = makeFs(env);
  sandbox.process = makeProcess();
  sandbox.path = freeze({ resolve: (...segments) => segments.join("/") });
  if (env.grant.net) {
    for (const name of NET) sandbox[name] = self[name];
    sandbox.fetch = makeFetch(env);
  }
  if (env.grant.cryptoRandom || env.grant.cryptoSubtle.length) sandbox.crypto = makeCrypto(env);
  return sandbox;
}

function makeFs({ files, audit, writeLog }) {
  const deny = (what) => (...args) => {
    audit("fs", `${what} ${String(args[0])}`);
    args[args.length - 1](errno("EACCES", `${what}: permission denied`));
  };
  const statOf = (data) => ({
    dev: 0, ino: 0, mode: S_IFREG | 0o444, nlink: 1, uid: 0, gid: 0, rdev: 0, size: data.length,
    blksize: 4096, blocks: Math.ceil(data.length / 512), atimeMs: 0, mtimeMs: 0, ctimeMs: 0,
    isDirectory: () => false,
  });
  const openFiles = new Map();
  let nextFd = 10;
  const fs = {
    constants: { O_WRONLY: -1, O_RDWR: -1, O_CREAT: -1, O_TRUNC: -1, O_APPEND: -1, O_EXCL: -1, O_DIRECTORY: -1 },
    writeSync(fd, buf) {
      if ((fd !== 1 && fd !== 2) || !isView(buf)) throw errno("EBADF");
      return writeLog(fd, buf);
    },
    write(fd, buf, offset, length, position, callback) {
      if ((fd !== 1 && fd !== 2) || position !== null || !isView(buf)) return callback(errno("EBADF"));
      callback(null, writeLog(fd, buf.subarray(offset, offset + length)));
    },
    open(path, flags, mode, callback) {
      const name = String(path);
      const data = files.get(name);
      if (data === undefined || flags !== 0) {
        audit("fs", `open ${name}${flags !== 0 ? " for writing" : ""}`);
        return callback(errno(data === undefined ? "ENOENT" : "EROFS", `open ${name}: not granted`));
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
      const data = files.get(String(path));
      return data ? callback(null, statOf(data)) : callback(errno("ENOENT"));
    },
    read(fd, buffer, offset, length, position, callback) {
      const file = openFiles.get(fd);
      if (!file || !isView(buffer)) return callback(errno("EBADF"));
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

// A WebCrypto algorithm as the guest gave it, copied once: a name, or an
// object of its own enumerable members (nested algorithms copied the same way).
function copyAlgorithm(algorithm, depth = 0) {
  if (typeof algorithm === "string") return algorithm;
  if (algorithm === null || typeof algorithm !== "object" || depth > 2) return String(algorithm);
  const copy = {};
  for (const [key, value] of entries(algorithm)) {
    copy[key] = NESTED_ALGORITHMS.includes(key) ? copyAlgorithm(value, depth + 1) : value;
  }
  copy.name = String(copy.name ?? "");
  return copy;
}

function makeCrypto({ grant, audit, inCall }) {
  const granted = new Set(grant.cryptoSubtle.map((name) => name.toUpperCase()));
  const nameOf = (algorithm) => (typeof algorithm === "string" ? algorithm : algorithm.name);
  const guard = (method, position) => (...given) => {
    if (!inCall()) {
      audit("crypto", `subtle.${method} outside any call`);
      return RealPromise.reject(errno("E_DENIED", `E_DENIED: crypto.subtle.${method} is granted only while a call runs`));
    }
    const args = [...given];
    const algorithm = copyAlgorithm(args[position]);
    args[position] = algorithm;
    const names = [nameOf(algorithm)];
    if (typeof algorithm === "object" && algorithm.hash !== undefined) names.push(nameOf(algorithm.hash));
    const refused = names.find((name) => !granted.has(String(name).toUpperCase()));
    if (refused !== undefined) {
      audit("crypto", `subtle.${method} ${refused}`);
      return RealPromise.reject(errno("E_DENIED", `E_DENIED: crypto.subtle.${method}(${refused}) is not granted`));
    }
    return apply(subtle[method], subtle, args);
  };
  const api = {};
  if (grant.cryptoRandom) {
    api.getRandomValues = (array) => getRandomValues(array);
    api.randomUUID = () => randomUUID();
  }
  if (granted.size > 0) {
    api.subtle = freeze({
      digest: guard("digest", 0), importKey: guard("importKey", 2), generateKey: guard("generateKey", 0),
      sign: guard("sign", 0), verify: guard("verify", 0), encrypt: guard("encrypt", 0),
      decrypt: guard("decrypt", 0), deriveBits: guard("deriveBits", 0),
      exportKey: (...a) => (inCall() ? apply(subtle.exportKey, subtle, a) : RealPromise.reject(errno("E_DENIED", "E_DENIED: crypto.subtle.exportKey is granted only while a call runs"))),
    });
  }
  return freeze(api);
}

// A request as the guest described it, read once into plain values.
function copyRequest(input, init) {
  const url = String(typeof input === "string" ? input : input?.url ?? input);
  const options = init ?? {};
  const method = String(options.method ?? "GET").toUpperCase();
  const headers = [];
  const given = options.headers;
  if (given !== undefined && given !== null) {
    const source = typeof given.entries === "function" ? given.entries() : isArray(given) ? given : entries(given);
    for (const pair of source) headers.push([String(pair[0]), String(pair[1])]);
  }
  const raw = options.body;
  let body = null;
  if (raw !== undefined && raw !== null) {
    body = isView(raw) ? new RealUint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice() : encoder.encode(String(raw));
  }
  const signal = options.signal instanceof RealAbortSignal ? options.signal : null;
  return { url, method, headers, body, signal };
}

// fetch asks the host, which checks the policy and performs the request itself;
// only a call that is running may ask (work left behind by a call may not). As
// the browser's fetch: the request's AbortSignal ends it before its head (the
// promise rejects with the signal's reason) and while its body is read (the
// body errors), and the body streams as it arrives.
function makeFetch({ audit, inCall, requestFetch }) {
  let inFlight = 0;
  return async (input, init) => {
    const { signal, ...request } = copyRequest(input, init);
    if (!inCall()) {
      audit("net", `${request.method} ${request.url} outside any call`);
      throw new RealTypeError(`fetch ${request.url}: E_DENIED: a guest may use the network only while one of its calls runs`);
    }
    if (signal !== null && apply(abortedOf, signal, [])) throw apply(reasonOf, signal, []);
    if (inFlight >= MAX_FETCHES) {
      audit("net", `${request.method} ${request.url}: more than ${MAX_FETCHES} requests in flight`, "E_LIMIT");
      throw new RealTypeError(`fetch ${request.url}: E_LIMIT: at most ${MAX_FETCHES} requests in flight`);
    }
    inFlight++;
    const { answer: answered, abort } = requestFetch(request);
    let onAbort = null;
    const aborted = signal === null ? null : new RealPromise((_, reject) => {
      onAbort = () => { abort(); reject(apply(reasonOf, signal, [])); };
      apply(addEventListener, signal, ["abort", onAbort]);
    });
    let answer;
    try {
      answer = aborted === null ? await answered : await RealPromise.race([answered, aborted]);
    } finally {
      inFlight--;
      if (onAbort !== null) apply(removeEventListener, signal, ["abort", onAbort]);
    }
    if (!answer.ok) throw new RealTypeError(`fetch ${request.url}: ${answer.error.code}: ${answer.error.message}`);
    const body = NULL_BODY_STATUSES.includes(answer.status) || !(answer.body instanceof RealReadableStream) ? null : readable(answer.body, signal);
    return new RealResponse(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
  };
}

// The host's body stream, read as the guest reads it; an abort errors it, as in fetch.
function readable(source, signal) {
  const reader = apply(getReader, source, []);
  let onAbort = null;
  let ended = false;
  const stop = () => signal !== null && onAbort !== null && apply(removeEventListener, signal, ["abort", onAbort]);
  return new RealReadableStream({
    start(controller) {
      if (signal === null) return;
      onAbort = () => {
        ended = true;
        controller.error(apply(reasonOf, signal, []));
        apply(cancelReader, reader, []).catch(() => {});
      };
      apply(addEventListener, signal, ["abort", onAbort]);
    },
    async pull(controller) {
      let chunk;
      try {
        chunk = await apply(readChunk, reader, []);
      } catch (error) {
        stop();
        throw error;
      }
      if (ended) return;
      if (chunk.done) {
        stop();
        controller.close();
      } else {
        controller.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      stop();
      return apply(cancelReader, reader, [reason]);
    },
  });
}
