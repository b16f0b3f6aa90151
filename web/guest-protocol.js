// Host worker <-> guest worker messages. The Python half is
// app/edgebox/_guest_protocol.py; tests/app/test_protocol.py keeps them identical.
//
//   host -> guest  {op: "load", id, name, abi, module: WebAssembly.Module, grant, watch}   (grant: Policy.grant();
//                                   watch: Int32Array [busy, calls] the host's watchdog reads, or null)
//                  {op: "call", id, fn, args}
//                  {op: "connect", id, shared: SharedArrayBuffer}   page <-> guest channel (channel.js); on it,
//                                   the page sends {op: "call", id, fn, args} and gets {op: "reply", ...} back
//                  {op: "fetched", fid, ok, status, statusText, headers, body} | {op: "fetched", fid, ok: false, error}
//   guest -> host  {op: "reply", id, ok: true, value}      (value of a load: the exported names)
//                  {op: "reply", id, ok: false, crashed, error: {code, message, stack}}
//                  {op: "fetch", fid, url, method, headers: [[name, value]], body: Uint8Array | null}
//                  {op: "audit", capability, detail, code}
//                  {op: "log", fd, text}
//                  {op: "limit", what, detail}     (the guest went over a limit: replace it)
//                  {op: "died", code, message}     (it exited during a call the page made directly)

// The wasip1 call ABI (modules/sdk): the guest exports edgebox_alloc(size) -> ptr,
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

export const GuestOp = Object.freeze({
  LOAD: "load",
  CALL: "call",
  FETCHED: "fetched",
  CONNECT: "connect",
  REPLY: "reply",
  FETCH: "fetch",
  AUDIT: "audit",
  LOG: "log",
  LIMIT: "limit",
  DIED: "died",
});
