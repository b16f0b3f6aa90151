// Host worker <-> guest worker messages. The Python half is
// app/edgebox/_guest_protocol.py; tests/app/test_protocol.py keeps them identical.
//
//   host -> guest  {op: "load", id, name, module: WebAssembly.Module, grant}   (grant: Policy.grant())
//                  {op: "call", id, fn, args}
//                  {op: "fetched", fid, ok, status, statusText, headers, body} | {op: "fetched", fid, ok: false, error}
//   guest -> host  {op: "reply", id, ok: true, value}      (value of a load: the exported names)
//                  {op: "reply", id, ok: false, crashed, error: {code, message, stack}}
//                  {op: "fetch", fid, url, method, headers: [[name, value]], body: Uint8Array | null}
//                  {op: "audit", capability, detail, code}
//                  {op: "log", fd, text}
//                  {op: "limit", what, detail}     (the guest went over a limit: replace it)

export const GuestOp = Object.freeze({
  LOAD: "load",
  CALL: "call",
  FETCHED: "fetched",
  REPLY: "reply",
  FETCH: "fetch",
  AUDIT: "audit",
  LOG: "log",
  LIMIT: "limit",
});
