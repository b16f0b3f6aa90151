// A guest worker: one Go module instance in a realm of its own, driven by the
// Python host over guest-protocol.js. It never talks to the page, except over
// a direct channel the host sets up for the page's calls.
//
// Three walls, any one of which keeps the host safe:
// 1. The realm: this worker shares no objects with the host worker or the
//    page; all it can do is post messages to the host, which trusts none.
// 2. The membrane (membrane.js): Go's js.Global() is not this worker's global
//    but a proxy over a fresh object holding only what the policy grants.
// 3. The hardened realm (harden.js): intrinsics frozen, eval refused by the
//    CSP, network, storage and channel globals deleted before guest code runs.
//
// This file keeps the instance's watch slots current (guest-protocol.js's
// Watch): the host's watchdog decides from them when a call or the whole
// instance has run out of time, and the host alone decides what a death costs.
import { SharedChannel } from "./channel.js";
import { AUDIT_CODES, GUEST_CODES, GuestOp, HANDLER_PANICKED, HTTP_EXPORT, MAX_ARGS, PART_MS, Via, Watch } from "./guest-protocol.js";
import { toData } from "./data.js";
import { wireError } from "./errors.js";
import { errno } from "./gojs.js";
import { startJs } from "./instance-js.js";
import { startWasi } from "./instance-wasip1.js";

// Primordials, taken before any guest code exists.
const post = self.postMessage.bind(self);
const listen = self.addEventListener.bind(self);
const { load: atomicLoad, store, add } = Atomics;
const RealError = Error;
const RealRangeError = RangeError;
const RealUint8Array = Uint8Array;
const RealMap = Map;
const { apply, getOwnPropertyDescriptor, getPrototypeOf } = Reflect;
const TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
const typedArrayLength = getOwnPropertyDescriptor(TypedArrayPrototype, "length").get;
const typedArraySet = TypedArrayPrototype.set;
const now = performance.now.bind(performance);
const cancel = clearTimeout;
const RealPromise = Promise;
const isArray = Array.isArray;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const later = setTimeout;
const every = setInterval;
const guestCodes = new Set(GUEST_CODES);
const auditCodes = new Set(AUDIT_CODES);

const STDERR_TAIL = 16 * 1024;
const FLUSH_MS = 50;
const MAX_LINES = 100; // log lines per flush; the rest are counted, not sent
const MAX_LINE_BYTES = 4096;
const MAX_AUDITS = 20; // audit events per flush with their detail; the rest are counted per capability

let grant = null;
let instance = null; // {names, has(fn), invoke(fn, args), exited()}
let maxMessageBytes = Infinity;
let dead = false; // the program ended or went over a limit: the host takes it from here

// ------------------------------------------------------------------ the watch

let slots = new Int32Array(Watch.LENGTH); // shared with the host's watchdog once loaded
let shared = false;
const running = new RealMap(); // call number -> {via, id}, oldest first
let callNumber = 0;
let current = null; // {via, id} of the call whose synchronous part runs now

function publish() {
  const oldest = running.entries().next().value;
  store(slots, Watch.RUNNING, running.size);
  store(slots, Watch.OLDEST_ID, oldest ? oldest[1].id : 0);
  store(slots, Watch.OLDEST_VIA, oldest ? oldest[1].via : 0);
  store(slots, Watch.OLDEST, oldest ? oldest[0] : 0);
}

// A call the instance has taken up (Go read it; a wasip1 export was entered):
// from now on its id counts as started, and it may be the watchdog's culprit.
function taken(number, via, id) {
  running.set(number, { via, id });
  store(slots, via === Via.HOST ? Watch.TAKEN_HOST : Watch.TAKEN_PAGE, id);
  publish();
  // Without shared memory the host knows only what was posted: a call that never
  // gives the thread back must be known as taken (and running) before it starts.
  if (!shared) post({ op: GuestOp.BEAT, watch: [...slots] });
}

function ended(number) {
  if (running.delete(number)) publish();
  if (running.size === 0) instance?.idle?.();
}

// The event loop still turns: the watchdog replaces an instance whose beat stops.
every(() => {
  add(slots, Watch.BEAT, 1);
  if (!shared && grant) post({ op: GuestOp.BEAT, watch: [...slots] });
}, Watch.BEAT_MS);

// ------------------------------------------------------------------ the outbox
// Log lines and audit events leave in batches, and a flood leaves as a count,
// so that neither the host nor the page drowns in one guest's output.

let lines = [];
let droppedLines = 0;
let audits = [];
let summarised = new RealMap(); // "capability code" -> {capability, detail, code, count}
let flushTimer = null;

function flush() {
  if (flushTimer === null) return; // nothing was queued: anything queued sets the timer
  clearTimeout(flushTimer);
  flushTimer = null;
  if (lines.length || droppedLines) post({ op: GuestOp.LOG, lines, dropped: droppedLines });
  const events = [...audits, ...summarised.values()];
  if (events.length) post({ op: GuestOp.AUDIT, events });
  lines = [];
  droppedLines = 0;
  audits = [];
  summarised = new RealMap();
}

const soon = () => { flushTimer ??= later(flush, FLUSH_MS); };

function audit(capability, detail, code = "E_DENIED") {
  const safe = auditCodes.has(code) ? code : "E_DENIED";
  if (audits.length < MAX_AUDITS) {
    audits.push({ capability, detail: String(detail).slice(0, 500), code: safe, count: 1 });
  } else {
    const key = `${capability} ${safe}`;
    const entry = summarised.get(key);
    if (entry) entry.count++;
    else summarised.set(key, { capability, detail: `more ${capability} events in ${FLUSH_MS} ms (flood summarised)`, code: safe, count: 1 });
  }
  soon();
}

// ------------------------------------------------------------------ the log

let stderrTail = "";
let logged = 0;
const partial = ["", "", ""];

function writeLog(fd, bytes) {
  logged += bytes.length;
  if (logged > grant.logBytes) {
    // Counted before it is decoded: a 100 MB write costs nothing to refuse.
    if (fd === 2) stderrTail = (stderrTail + decoder.decode(bytes.subarray(0, STDERR_TAIL))).slice(-STDERR_TAIL);
    if (logged - bytes.length <= grant.logBytes) overLimit("log_kb", `more than ${grant.logBytes} bytes of output in one call`);
    // Thrown into Go: the instance is over, and this gets the thread back at once.
    throw new RealRangeError(`output over log_kb (${grant.logBytes} bytes)`);
  }
  const text = decoder.decode(bytes);
  if (fd === 2) stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
  partial[fd] += text;
  const nl = partial[fd].lastIndexOf("\n");
  if (nl !== -1) {
    for (const line of partial[fd].slice(0, nl).split("\n")) {
      if (lines.length < MAX_LINES) lines.push([fd, line.slice(0, MAX_LINE_BYTES)]);
      else droppedLines++;
    }
    partial[fd] = partial[fd].slice(nl + 1);
    soon();
  }
  return bytes.length;
}

// ------------------------------------------------------------------ deaths

function die(kind, detail, exitCode = null, trace = "") {
  if (dead) return;
  dead = true;
  if (instance === null) return; // during start-up: the load's own reply tells why
  flush();
  // Only the call whose Go code ran at that moment can have caused it; a goroutine
  // that runs between calls is nobody's (the host narrows this down further).
  const culprit = current?.taken ? { via: current.via, id: current.id } : null;
  const message = { op: GuestOp.DIED, kind, detail, exitCode, culprit, watch: [...slots], trace };
  // Answers already given may still wait in a direct channel's queue (a full
  // ring): let them out first, for a bounded time, since the host ends this worker.
  const queued = channels.filter((channel) => channel.pumping);
  if (queued.length === 0) return post(message);
  const written = queued.map((channel) => channel.send({ op: GuestOp.DIED }).catch(() => {}));
  RealPromise.race([RealPromise.all(written), new RealPromise((resolve) => later(resolve, FLUSH_MS))]).then(() => post(message));
}

function overLimit(what, detail) {
  audit(what === "log_kb" ? "log" : "memory", detail, "E_LIMIT");
  die("limit", `${detail} (${what})`);
}

// A trap's JavaScript stack (V8's, with wasm offsets) goes to the host, which gives it Go frames.
const traceOf = (error) => {
  try {
    const stack = error?.stack;
    return typeof stack === "string" ? stack.slice(0, 8000) : "";
  } catch {
    return "";
  }
};
const onExit = (code, error) => die("exit", stderrTail, code === null || code === undefined ? null : String(code), traceOf(error));

// ------------------------------------------------------------------ fetch through the host

const fetches = new RealMap();
let nextFetch = 1;

function requestFetch({ url, method, headers, body }) {
  const fid = nextFetch++;
  const answer = new RealPromise((resolve) => {
    fetches.set(fid, resolve);
    post({ op: GuestOp.FETCH, fid, url, method, headers, body });
  });
  const abort = () => {
    if (!fetches.delete(fid)) return; // answered already: its body stream carries a cancel back
    post({ op: GuestOp.FETCH_ABORT, fid });
  };
  return { answer, abort };
}

function fetched({ fid, ...answer }) {
  const resolve = fetches.get(fid);
  fetches.delete(fid);
  resolve?.(answer);
}

// ------------------------------------------------------------------ load and call

async function load({ id, name, abi, module, grant: granted, watch, maxMessageBytes: max }) {
  grant = granted;
  maxMessageBytes = max ?? Infinity;
  if (watch) {
    watch.set(slots);
    slots = watch;
    shared = true;
  }
  const env = {
    grant,
    files: new RealMap(Object.entries(grant.files)),
    audit,
    writeLog,
    inCall: () => running.size > 0 || instance === null, // start-up counts as a call: it has startup_ms
    requestFetch,
    memoryBytes: grant.memoryBytes,
    overLimit,
    onExit,
    onTaken: () => current?.take(),
    onResult: (value) => current?.early(value),
  };
  instance = await (abi === "wasip1" ? startWasi : startJs)(name, module, env);
  if (instance.exited()) {
    dead = true; // a death during start-up is the load's failure, not a death to report
    const tail = stderrTail.trim().slice(-4000);
    return fail(id, "E_LOAD", `module ${name} exited during start-up${tail ? `: ${tail}` : ""}`);
  }
  reply(id, instance.names);
}

const reply = (id, value, send = post) => send({ op: GuestOp.REPLY, id, ok: true, value });
const fail = (id, code, message, stack = "", send = post) =>
  send({ op: GuestOp.REPLY, id, ok: false, error: wireError(code, message, stack) });

// The guest's own failure: only a guest code is kept; any other claim becomes
// E_GUEST, the claim kept in the message.
function guestFailure(error) {
  // Read as data only: a getter would run guest code, here, outside any call's time.
  const code = dataOf(error, "code");
  const text = error !== null && typeof error === "object" ? dataOf(error, "message") : error;
  const message = typeof text === "string" ? text
    : text === undefined || typeof text === "object" || typeof text === "function" ? "the guest failed (no message)" : String(text);
  if (typeof code !== "string") return ["E_GUEST", message];
  return guestCodes.has(code) ? [code, message] : ["E_GUEST", `${code === "E_GUEST" ? "" : `(claimed ${code.slice(0, 40)}) `}${message}`];
}

// An own data property's value, or undefined (for a getter, or anything odd).
function dataOf(object, key) {
  if (object === null || (typeof object !== "object" && typeof object !== "function")) return undefined;
  try {
    const found = getOwnPropertyDescriptor(object, key);
    return found && "value" in found ? found.value : undefined;
  } catch {
    return undefined;
  }
}

// box.fetch reaches a guest as (head JSON, body bytes); the SDK's net/http glue
// takes one envelope: u32 head length, head, body (sdk/internal/abi/abi.go
// SplitHTTP). It answers with the HTTP/1.1 response bytes Go's server wrote,
// which the host reads (app/edgebox/_http_answer.py).
function packHttp(head, body) {
  const headBytes = encoder.encode(String(head));
  const bytes = body instanceof RealUint8Array ? body : new RealUint8Array(0);
  const envelope = new RealUint8Array(4 + headBytes.length + bytes.length);
  new DataView(envelope.buffer).setUint32(0, headBytes.length, true);
  envelope.set(headBytes, 4);
  envelope.set(bytes, 4 + headBytes.length);
  return envelope;
}


// ------------------------------------------------------------------ streamed HTTP answers
// A handler that flushed and then waits hands on what it wrote so far (sdk/http.go
// serve): it goes to the host as a part of the answer, so the page reads the body
// while the handler still writes. Parts leave at most one per PART_MS, so that a
// flood of flushes costs the host one message per PART_MS; the rest of the
// answer is the reply's value, after every part. The host counts what arrives.

// Whether value is a real Uint8Array, by its internal slot: a guest's look-alike or proxy is not.
function isBytes(value) {
  try {
    return apply(typedArrayTag, value, []) === "Uint8Array";
  } catch {
    return false;
  }
}

// send: where parts go (the host asked for them), or null: then they are kept and
// the answer is given whole (whole), as to a page that calls the HTTP export itself.
function answerParts(id, send) {
  let pending = [];
  let size = 0;
  let total = 0;
  let last = -Infinity;
  let timer = null;
  let open = true;
  const joined = (rest = new RealUint8Array(0)) => {
    const bytes = new RealUint8Array(size + rest.length);
    let at = 0;
    for (const piece of pending) {
      bytes.set(piece, at);
      at += piece.length;
    }
    bytes.set(rest, at);
    return bytes;
  };
  const out = () => {
    if (timer !== null) cancel(timer);
    timer = null;
    if (send === null || size === 0) return;
    const bytes = joined();
    pending = [];
    size = 0;
    last = now();
    send({ op: GuestOp.PART, id, bytes });
  };
  return {
    over: false, // more than maxMessageBytes in all: the answer is refused (E_TOO_LARGE)
    // A part from Go (its own Uint8Array, or the bytes of a wasip1 module's memory): copied now.
    take(value) {
      if (!open || !isBytes(value)) return;
      const length = apply(typedArrayLength, value, []);
      total += length;
      if (total > maxMessageBytes) {
        this.over = true;
        open = false;
        return;
      }
      const copy = new RealUint8Array(length);
      apply(typedArraySet, copy, [value]);
      pending.push(copy);
      size += length;
      if (send === null) return;
      if (now() - last >= PART_MS) out();
      else timer ??= later(out, PART_MS);
    },
    out,
    close() {
      if (open) out();
      open = false;
    },
    // The answer's bytes with the parts kept before them (none when they were sent).
    whole: (rest) => (size === 0 || !(rest instanceof RealUint8Array) ? rest : joined(rest)),
  };
}

// Calls begun and not yet settled (taken or not): while there are none, a direct
// channel may block this worker a moment for the next call (channel.js linger).
let busy = 0;
const LINGER_MS = 1;

async function call({ id, fn, args, parts: streamed }, via, send) {
  busy++;
  try {
    if (dead || instance.exited()) return send({ op: GuestOp.REPLY, id, ok: false, gone: true });
    if (typeof fn !== "string" || !instance.has(fn)) return fail(id, "E_NOT_FOUND", `no exported function ${String(fn)}`, "", send);
    if (!isArray(args) || args.length > MAX_ARGS) return fail(id, "E_BAD_REQUEST", `${fn}: at most ${MAX_ARGS} arguments`, "", send);
    if (running.size === 0) logged = 0;
    const number = ++callNumber;
    const http = fn === HTTP_EXPORT;
    // Parts go out only when the host asked (box.fetch); otherwise the answer is given whole.
    const parts = http ? answerParts(id, streamed === true && via === Via.HOST ? send : null) : null;
    let answered = false;
    // The guest's answer, once it is a value (not a promise): sent as data, or refused.
    const answer = (value) => {
      if (answered || dead) return;
      answered = true;
      ended(number);
      flush(); // what the call logged and was denied is known before its answer
      parts?.close();
      if (value instanceof RealError) return fail(id, ...guestFailure(value), "", send);
      if (parts?.over) return fail(id, "E_TOO_LARGE", `${fn}: the answer is over ${maxMessageBytes} bytes`, "", send);
      if (parts) value = parts.whole(value);
      // Copying and sending a large answer is this call's own time: it holds the thread.
      const holding = atomicLoad(slots, Watch.CURRENT_ID) === 0;
      if (holding) {
        store(slots, Watch.CURRENT_VIA, via);
        store(slots, Watch.CURRENT_ID, id);
      }
      try {
        send({ op: GuestOp.REPLY, id, ok: true, value: toData(value, maxMessageBytes) });
      } catch (error) {
        const code = error?.code === "E_TOO_LARGE" || error instanceof RangeError ? "E_TOO_LARGE" : "E_GUEST";
        fail(id, code, `${fn}: ${String(error?.message ?? error)}`, "", send);
      } finally {
        if (holding) store(slots, Watch.CURRENT_ID, 0);
      }
    };
    if (running.size === 0) stderrTail = ""; // what the host reads a death from is what came since
    current = {
      via, id, taken: false,
      take() { this.taken = true; taken(number, via, id); },
      // Go's function has returned: answer now, even if a goroutine keeps the thread a while longer.
      early: (value) => { if (!(value instanceof RealPromise) && !(value instanceof RealError)) answer(value); },
    };
    try {
      let pending;
      store(slots, Watch.CURRENT_VIA, via);
      store(slots, Watch.CURRENT_ID, id);
      try {
        pending = instance.invoke(fn, http ? [packHttp(args[0], args[1])] : args, parts);
      } finally {
        current = null;
        store(slots, Watch.CURRENT_ID, 0);
        // Without shared memory the host must hear that this call let go of the thread,
        // or a goroutine that takes it next would be blamed on this call.
        if (!shared) post({ op: GuestOp.BEAT, watch: [...slots] });
      }
      const value = pending instanceof RealPromise ? await pending : pending;
      answer(value);
    } catch (error) {
      parts?.close();
      if (dead || answered) return;
      answered = true;
      if (error instanceof RealError && dataOf(error, "code") === HANDLER_PANICKED) {
        // The SDK's report of a panic in the function it ran for this call: the instance ends in its name.
        current = { via, id, taken: true };
        die("panic", String(error.message).slice(0, STDERR_TAIL));
        current = null;
        return;
      }
      fail(id, ...guestFailure(error), "", send);
    } finally {
      ended(number);
    }
  } finally {
    busy--; // synchronously, when the call ended without waiting: before the channel decides to linger
  }
}

// The host hands over one end of a page <-> guest channel: from now on the
// page's calls to this module come here directly, without a hop through Python.
const channels = []; // the direct channels this instance answers on

function connect({ id, shared: region }) {
  const linger = () => (busy === 0 && !dead && channels.length === 1 ? LINGER_MS : 0);
  const channel = new SharedChannel(region, "worker", { maxMessageBytes, linger });
  channels.push(channel);
  // A reply the channel refuses (over maxMessageBytes) throws here, inside call's catch.
  const send = (message) => { channel.send(message).catch(() => {}); };
  channel.onmessage = (message) => {
    add(slots, Watch.BEAT, 1);
    if (message.op === GuestOp.CALL) call(message, Via.PAGE, send);
  };
  reply(id, true);
}

const handlers = {
  [GuestOp.LOAD]: load,
  [GuestOp.CALL]: (data) => call(data, Via.HOST, post),
  [GuestOp.FETCHED]: fetched,
  [GuestOp.CONNECT]: connect,
};

// A promise the guest dropped is the guest's own affair, not an error of the host or the page;
// so is whatever its runtime throws once it has ended (Go's timers firing into an exited program).
listen("unhandledrejection", (event) => event.preventDefault());
listen("error", (event) => { if (dead) event.preventDefault(); });

// eval and Function are refused by the worker's CSP; say so in the audit.
listen("securitypolicyviolation", (event) => audit("eval", `${event.violatedDirective} blocked ${event.blockedURI || "code"}`));

listen("message", ({ data }) => {
  add(slots, Watch.BEAT, 1);
  const handler = handlers[data.op];
  if (!handler) return fail(data.id, "E_BAD_REQUEST", `unknown op ${data.op}`);
  Promise.resolve(handler(data)).catch((error) => {
    if (data.op === GuestOp.LOAD) fail(data.id, "E_LOAD", String(error?.message ?? error), String(error?.stack ?? ""));
  });
});
