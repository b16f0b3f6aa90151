// Host worker <-> guest worker messages. The Python half is
// app/edgebox/_guest_protocol.py; tests/app/test_protocol.py keeps them identical.
//
//   host -> guest  {op: "load", id, name, module: WebAssembly.Module, env, args}
//                  {op: "call", id, fn, args}
//   guest -> host  {op: "reply", id, ok: true, value}      (value of a load: the exported names)
//                  {op: "reply", id, ok: false, crashed, error: {code, message, stack}}

export const GuestOp = Object.freeze({
  LOAD: "load",
  CALL: "call",
  LOADED: "loaded",
  REPLY: "reply",
});
