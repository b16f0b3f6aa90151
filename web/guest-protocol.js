// Host worker <-> guest worker messages. The Python half is
// app/edgebox/_guest_protocol.py; tests/test_parity.py keeps them identical.
//
//   host -> guest  {op: "load", id, name, abi, module: WebAssembly.Module, grant, watch, maxMessageBytes}
//                                   grant: Policy.grant(); watch: the Watch region (below), or null
//                  {op: "call", id, fn, args, parts?}   parts: true when the host reads an HTTP answer's
//                                   parts (box.fetch); otherwise the answer comes whole
//                  {op: "connect", id, shared: SharedArrayBuffer}   page <-> guest channel (channel.js); on it,
//                                   the page sends {op: "call", id, fn, args} and gets {op: "reply", ...} back
//                  {op: "fetched", fid, ok, status, statusText, headers, body} | {op: "fetched", fid, ok: false, error}
//                                   body: the response's ReadableStream, transferred (cancelling it
//                                   cancels the request), or null
//   guest -> host  {op: "reply", id, ok: true, value}      (value of a load: the exported names)
//                  {op: "reply", id, ok: false, error: {code, message, stack}}   code: one of REPLY_CODES
//                  {op: "reply", id, ok: false, gone: true}   the instance had exited before the call
//                                   reached it: the call never ran (also on a direct channel)
//                  {op: "part", id, bytes: Uint8Array}   a piece of the HTTP answer of host call id (parts: true), sent
//                                   while its handler still runs (it flushed, then waits); the reply's
//                                   value is the rest. At most one per PART_MS, all before the reply
//                  {op: "fetch", fid, url, method, headers: [[name, value]], body: Uint8Array | null}
//                  {op: "fetch-abort", fid}   the guest's AbortSignal ended the request before its answer
//                  {op: "audit", events: [{capability, detail, code, count}]}   batched, floods summarised
//                  {op: "log", lines: [[fd, text]], dropped}                    batched, floods summarised
//                  {op: "died", kind, detail, exitCode, culprit, watch, trace}
//                                   the instance ended itself (kind "exit": detail is what it wrote to
//                                   stderr since the call began, which the host reads as a panic, out of
//                                   memory or exit) or went over a limit (kind "limit", what in detail);
//                                   culprit: {via, id} of the call whose Go code ran at that moment, or
//                                   null; watch: the Watch slots then; trace: a trap's JavaScript
//                                   stack (wasm offsets), for the host to give it Go frames
//                                   kind "panic": the function the SDK ran for a call panicked in the
//                                   SDK's goroutine (GOOS=js), which rejected that call with
//                                   {code: HANDLER_PANICKED, message: the panic and its stack}
//                  {op: "beat", watch}   without shared memory only: the Watch slots, every BEAT_MS
//
// The host alone decides what a death is and which call it costs (app/edgebox/_lifecycle.py).

// The Watch region: Int32 slots the guest writes and the host's watchdog reads
// (a SharedArrayBuffer when the page is cross-origin isolated; else posted in "beat").
export const Watch = Object.freeze({
  BEAT: 0, // bumped by the guest's event loop every BEAT_MS and on every message: it still turns
  RUNNING: 1, // calls running in the guest now
  OLDEST: 2, // the guest's own number of the oldest running call (0: none)
  OLDEST_ID: 3, // that call's id
  OLDEST_VIA: 4, // and where it came from (Via)
  TAKEN_HOST: 5, // highest id of a host call the guest has started (ids rise; later ones never ran)
  TAKEN_PAGE: 6, // the same for calls over the direct channel
  CURRENT_ID: 7, // the call whose Go code runs on the thread now (0: none, or a goroutine of no call)
  CURRENT_VIA: 8, // and where it came from (Via)
  LENGTH: 10,
  BEAT_MS: 25,
});

export const Via = Object.freeze({ HOST: 1, PAGE: 2 });

// The wasip1 call ABI (sdk/internal/abi/wasip1.go): the guest exports edgebox_alloc(size) -> ptr,
// edgebox_free(ptr), edgebox_exports() and edgebox_call(namePtr, nameLen, inPtr, inLen),
// both returning (ptr << 32 | len) of an envelope: one tag byte, then the payload.
export const Envelope = Object.freeze({
  JSON: 0x4a, // "J": UTF-8 JSON (arguments: a JSON array)
  BYTES: 0x42, // "B": raw bytes (a call with one Uint8Array argument; a bytes result)
  ERROR: 0x45, // "E": JSON {code, message}
});

// The function edgebox.Serve registers: box.fetch calls it with (head JSON,
// body bytes) and gets {head, body} back (app/edgebox/_http.py).
export const HTTP_EXPORT = "__edgebox_http";
// How a handler hands on the pieces of its answer (sdk/internal/abi HTTPPart): a wasip1 module
// imports MODULE.HTTP_PART(ptr, len); a GOOS=js one gets a function as the SDK call's third argument.
export const SDK_IMPORTS = Object.freeze({ MODULE: "edgebox", HTTP_PART: "http_part" });
// The parts of one answer leave at most one per PART_MS (a flood of flushes is one message
// per PART_MS); what comes sooner leaves then, when the guest next waits, or with the reply.
export const PART_MS = 10;
// How the SDK reports, as that request's rejection, a panic of the function it ran for a call (sdk/internal/abi/js.go).
export const HANDLER_PANICKED = "E_PANIC";

// Codes a guest may give its own failures; anything else it claims becomes
// E_GUEST (the claim kept in the message), so it cannot pose as the host.
export const GUEST_CODES = Object.freeze(["E_BAD_REQUEST", "E_CONFIG", "E_GUEST", "E_NOT_FOUND"]);
// What a guest worker's reply may carry: the guest's codes, and the worker's own
// refusal of a value too large for the wire; a load's reply, also E_LOAD.
export const REPLY_CODES = Object.freeze([...GUEST_CODES, "E_TOO_LARGE"]);
export const LOAD_CODES = Object.freeze([...REPLY_CODES, "E_LOAD"]);
// Codes the guest worker's own enforcement may put on an audit event.
export const AUDIT_CODES = Object.freeze(["E_DENIED", "E_LIMIT"]);

// What a load's grant holds (app/edgebox/_policy.py Policy.grant), read by the guest worker.
export const GRANT_KEYS = Object.freeze(["args", "cryptoRandom", "cryptoSubtle", "env", "files", "logBytes", "memoryBytes", "net"]);

// The wasip1 module's exports the SDK provides (sdk/internal/abi/wasip1.go).
export const SDK_EXPORTS = Object.freeze(["edgebox_alloc", "edgebox_call", "edgebox_exports", "edgebox_free"]);
// The globals a GOOS=js module that uses the SDK sets (sdk/internal/abi/abi.go JSCall, JSExports):
// the worker calls the SDK's functions through them, with the wasip1 envelopes (sdk-envelope.js).
export const SDK_GLOBALS = Object.freeze({ CALL: "edgebox_call", EXPORTS: "edgebox_exports" });

// Values that cross from a guest are plain data (web/data.js): at most this deep,
// and at most this many values in all (each costs the page time to rebuild).
export const MAX_DEPTH = 64;
export const MAX_VALUES = 1_000_000;
// A call takes at most this many arguments (box.call refuses more: E_BAD_REQUEST).
export const MAX_ARGS = 1024;

export const GuestOp = Object.freeze({
  LOAD: "load",
  CALL: "call",
  FETCHED: "fetched",
  CONNECT: "connect",
  REPLY: "reply",
  PART: "part",
  FETCH: "fetch",
  FETCH_ABORT: "fetch-abort",
  AUDIT: "audit",
  LOG: "log",
  DIED: "died",
  BEAT: "beat",
});
