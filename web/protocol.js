// Page <-> host worker messages. The Python half is app/edgebox/_protocol.py;
// tests/app/test_protocol.py keeps the two identical.
//
//   page -> worker  {op: "init", manifestURL, modulesJSON, warm: [module names]}
//                   {op: "call", id, module, fn, args}
//                   {op: "stats", id}                       -> value: {counters, running, log, audit}
//   worker -> page  {op: "progress", phase, loaded, total}
//                   {op: "ready"} | {op: "reply", id: null, ok: false, error}   (boot result)
//                   {op: "reply", id, ok: true, value} | {op: "reply", id, ok: false, error}
//                   {op: "audit", event: {time, module, capability, detail, code}}
//
// error is always {code, message, stack} (see errors.js).

export const Op = Object.freeze({
  INIT: "init",
  CALL: "call",
  STATS: "stats",
  READY: "ready",
  REPLY: "reply",
  PROGRESS: "progress",
  AUDIT: "audit",
});
