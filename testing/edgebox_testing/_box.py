"""A box running in a Chromium page, driven from Python: every method is one
``page.evaluate`` of the page's own ``EdgeBox`` (web/edgebox.js), nothing mocked.

Values cross as Playwright carries them (JSON-like, NaN and the infinities
included); ``bytes`` cross as ``Uint8Array`` both ways (base64 on the way)."""

from __future__ import annotations

import base64
import json as jsonlib
from dataclasses import dataclass
from typing import Any, Callable

from ._metrics import Metrics

# Installed once per page: the boxes a test started, their audit events as the
# page's "audit" listener caught them, and the operations Python asks for.
HELPERS = """() => {
  if (globalThis.__edgeboxTesting) return;
  const toB64 = (bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  const walk = (value, leaf) => {
    const done = leaf(value);
    if (done !== undefined) return done;
    if (Array.isArray(value)) return value.map((item) => walk(item, leaf));
    if (value !== null && typeof value === "object") {
      const out = {};
      for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: walk(item, leaf), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return value;
  };
  const fromPython = (value) => walk(value, (v) => v !== null && typeof v === "object" && !Array.isArray(v)
    && Object.keys(v).length === 1 && typeof v.$bytes === "string" ? Uint8Array.from(atob(v.$bytes), (c) => c.charCodeAt(0)) : undefined);
  const toPython = (value) => walk(value, (v) => (v instanceof Uint8Array ? { $bytes: toB64(v) } : undefined));
  const wire = (error) => ({ code: error?.code ?? null, name: error?.name ?? typeof error, message: String(error?.message ?? error),
                             stack: error?.stack ?? "", frames: error?.frames ?? [] });
  const t = globalThis.__edgeboxTesting = { boxes: {}, audit: {}, next: 1 };
  // One settle of what the host has: a round trip to it (its audit events reach the page
  // before its answer), then, while `until` is not met, a few more 20 ms apart (a guest's
  // own events reach the host in 50 ms batches: web/guest.js FLUSH_MS).
  const settle = async (box, id, start, until) => {
    for (let i = 0; i < 10; i++) {
      await box.stats();
      if (!until || t.audit[id].slice(start).some(until)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return t.audit[id].slice(start);
  };
  t.ops = {
    call: (box, id, module, fn, args) => box.call(module, fn, ...args),
    fetch: async (box, id, url, init) => {
      const response = await box.fetch(url, init);
      return { status: response.status, statusText: response.statusText, headers: [...response.headers],
               body: new Uint8Array(await response.arrayBuffer()) };
    },
    metrics: (box) => box.metrics(),
    stats: (box) => box.stats(),
    setFlags: (box, id, flags) => box.setFlags(flags),
    close: (box) => box.close(),
    auditCount: (box, id) => t.audit[id].length,
    audit: (box, id, start, code) => settle(box, id, start, code === undefined ? null : (event) => code === null || event.code === code),
  };
  t.start = async (options) => {
    const { EdgeBox } = await import("/edgebox/edgebox.js");
    try {
      const box = await EdgeBox.start(fromPython(options));
      const id = t.next++;
      t.boxes[id] = box;
      t.audit[id] = [];
      box.addEventListener("audit", (event) => t.audit[id].push(event.detail));
      return { ok: true, value: { id, transport: box.transport } };
    } catch (error) {
      return { ok: false, error: wire(error) };
    }
  };
  t.act = async (id, op, args) => {
    try {
      return { ok: true, value: toPython(await t.ops[op](t.boxes[id], id, ...fromPython(args))) };
    } catch (error) {
      return { ok: false, error: wire(error) };
    }
  };
}"""

START = "(options) => globalThis.__edgeboxTesting.start(options)"
ACT = "([id, op, args]) => globalThis.__edgeboxTesting.act(id, op, args)"


def to_page(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (list, tuple)):
        return [to_page(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_page(item) for key, item in value.items()}
    return value


def from_page(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$bytes"), str):
            return base64.b64decode(value["$bytes"])
        return {key: from_page(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_page(item) for item in value]
    return value


@dataclass
class Response:
    """What ``box.fetch`` resolved to: ``status``, ``status_text``, ``headers``
    (lower-case names; repeated headers joined with ", " as fetch's Headers does), ``body`` bytes."""

    status: int
    status_text: str
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class Box:
    """One ``EdgeBox.start(...)`` in a page. Failures raise the project's error tree
    (``edgebox.EdgeBoxError`` subclasses: ``.code``, ``.message``, ``.frames``)."""

    def __init__(self, page, box_id: int, transport: str, errors, on_use: Callable[["Box"], None]) -> None:
        self.page = page
        self.id = box_id
        self.transport = transport  # "sab" (cross-origin isolated) or "message"
        self._errors = errors
        self._on_use = on_use
        self.closed = False
        self.last_stats: dict | None = None  # kept for the failure report of a box that is gone

    def _act(self, op: str, *args: Any) -> Any:
        self._on_use(self)
        got = self.page.evaluate(ACT, [self.id, op, to_page(list(args))])
        if not got["ok"]:
            raise self._errors.EdgeBoxError.from_wire(got["error"])
        return from_page(got["value"])

    def call(self, module: str, fn: str, *args: Any) -> Any:
        """``box.call(module, fn, ...args)``: the guest's answer."""
        return self._act("call", module, fn, list(args))

    def fetch(self, url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
              body: str | bytes | None = None, json: Any = None) -> Response:
        """``box.fetch(url, {method, headers, body})``; ``json`` sends a JSON body with its content-type."""
        headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json)
            headers.setdefault("content-type", "application/json")
        init = {"method": method, "headers": headers, **({"body": body} if body is not None else {})}
        got = self._act("fetch", url, init)
        joined: dict[str, str] = {}
        for name, value in got["headers"]:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return Response(got["status"], got["statusText"], joined, got["body"])

    def metrics(self) -> Metrics:
        """``box.metrics()``, parsed by prometheus_client."""
        return Metrics(self._act("metrics"))

    def stats(self) -> dict:
        """``box.stats()``: ``counters``, ``running``, ``log``, ``audit`` (the host's recent ones)."""
        self.last_stats = self._act("stats")
        return self.last_stats

    def set_flags(self, flags: dict) -> None:
        self._act("setFlags", flags)

    @property
    def audit(self) -> list[dict]:
        """Every audit event of this box so far (``{time, module, capability, detail, code, count?}``),
        after what the host and guests had sent has reached the page."""
        return self._act("audit", 0, None)

    @property
    def log(self) -> list[dict]:
        """The guest log lines the host keeps (the last 200: ``{time, module, stream, text}``)."""
        return self.stats()["log"]

    def close(self) -> None:
        """``box.close()``, keeping its last stats for a failure report that comes later."""
        if not self.closed:
            try:
                self.stats()
            except self._errors.EdgeBoxError:
                pass  # a box that can no longer answer is closed all the same
            self.closed = True
            self._act("close")

    def __repr__(self) -> str:
        return f"<edgebox Box {self.id} {self.transport}{' closed' if self.closed else ''}>"
