// Page <-> host worker messages. The Python half is app/edgebox/_protocol.py;
// tests/test_parity.py keeps the two identical.
//
//   page -> worker  {op: "init", manifestURL, modulesJSON, routesJSON, warm: [module names], lockName, shared?: SharedArrayBuffer,
//                    flags, userId, userAgent, trustJSON}
//                   {op: "ping", id}                        -> {op: "pong", id}, answered by the worker's JS
//                   {op: "connect", id, module, shared}     by postMessage: a page <-> guest channel for
//                                                           module's calls (channel.js, guest-protocol.js)
//                   {op: "call", id, module, fn, args, waitedMs?}  waitedMs: how long the call already waited
//                                                           on a direct channel whose instance died
//                   {op: "stats", id}                       -> value: {counters, running, log, audit, requests, spans}
//                   {op: "fetch", id, head: {method, url, headers}, body}  -> value: {status, statusText, headers, body,
//                                                           stream}; stream true: body is null and comes in body events
//                   {op: "flags", id, flags}                -> value: the flags now in force
//                   {op: "metrics", id}                     -> value: Prometheus text exposition
//                   {op: "update", id}                      -> value: [{module, from, to, ok, reason}] (a refused
//                                                           manifest: an error, E_SIGNATURE say)
//                   {op: "rollback", id, module}            -> value: {module, from, to, reason}
//   worker -> page  {op: "progress", phase, loaded, total}
//                   {op: "ready"} | {op: "reply", id: null, ok: false, error}   (boot result)
//                   {op: "reply", id, ok: true, value} | {op: "reply", id, ok: false, error}
//                   {op: "audit", event: {time, module, capability, detail, code}}
//                   {op: "detach", module, error}          that module's instance is gone: its direct
//                                                           calls fail with error; connect again
//                   {op: "body", id, chunk} | {op: "body", id, end: true} | {op: "body", id, error}
//                                                           the body of fetch id whose reply said stream: true, in
//                                                           order (chunk: Uint8Array); it ends with end or error
//                   {op: "switched", module, kind, detail}  module's calls go to another instance from now on
//                                                           (kind "update" or "rollback"); calls in flight finish
//                                                           where they are; connect again
//
// error is always {code, message, stack} (see errors.js).

export const Op = Object.freeze({
  INIT: "init",
  CALL: "call",
  STATS: "stats",
  FETCH: "fetch",
  FLAGS: "flags",
  METRICS: "metrics",
  PING: "ping",
  CONNECT: "connect",
  UPDATE: "update",
  ROLLBACK: "rollback",
  READY: "ready",
  REPLY: "reply",
  PROGRESS: "progress",
  AUDIT: "audit",
  PONG: "pong",
  DETACH: "detach",
  SWITCHED: "switched",
  BODY: "body",
});

// What Python reads of INIT (app/edgebox/_protocol.py parse_init): the page's
// fields but lockName and shared, which the worker keeps, and manifest, the
// worker's {status, statusText, text, signature} of manifestURL (signature: the
// text of manifestURL + ".jws" when the page trusts keys, else undefined).
export const INIT_FIELDS = Object.freeze([
  "manifestURL", "manifest", "modulesJSON", "routesJSON", "warm", "flags", "userId", "userAgent", "maxMessageBytes",
  "trustJSON",
]);

// Fetch: the statuses whose Response has no body (the constructor refuses one).
// The page's box.fetch and a guest's fetch both build Responses; the host's
// reading of an answer agrees (app/edgebox/_http_answer.py NULL_BODY_STATUSES).
export const NULL_BODY_STATUSES = Object.freeze([101, 103, 204, 205, 304]);

// After init, with a SharedArrayBuffer, every message above travels through
// channel.js's rings instead of postMessage. The region is two rings (page ->
// worker first), each CONTROL_INTS Int32 slots then the ring's bytes:
export const Channel = Object.freeze({
  CONTROL_INTS: 4,
  HEAD: 0, // next byte the writer will write
  TAIL: 1, // next byte the reader will read (the writer waits on it when full)
  SEQ: 2, // bumped after every frame; the reader waits on it
  ALONE: 3, // 1 while the writer's last message is a call alone in flight (the page polls for its
  //           reply, and its next call is likely to follow at once): only then may the reader block for it
});

// A frame: u32 payload length, u8 kind, payload. A message too big for half a
// ring is split into FIRST, MIDDLE..., LAST frames, written back to back. PAD
// fills the ring's end (its payload is skipped) when a message encoded straight
// into the ring fits only at the ring's start.
export const Frame = Object.freeze({ HEADER: 5, WHOLE: 0, FIRST: 1, MIDDLE: 2, LAST: 3, PAD: 4 });

// The payload: one value, tag byte first. Uint8Array is raw bytes; VIEW is the
// other binary kinds (one byte, the index of its kind in values.js VIEW_KINDS,
// then the raw bytes); strings UTF-8; numbers int32 or float64; arrays and
// objects carry their count. What is encoded at all is values.js's rule.
export const Tag = Object.freeze({
  UNDEFINED: 0, NULL: 1, FALSE: 2, TRUE: 3, INT32: 4, FLOAT64: 5, STRING: 6, BYTES: 7, ARRAY: 8, OBJECT: 9, VIEW: 10,
});
