"""Page <-> host worker messages, as the Python host sees them.

The JavaScript half of this boundary is ``web/protocol.js``; the two are kept
identical by ``tests/test_parity.py``. Requests carry an ``id``; every reply
names that id and is either ``{id, ok: true, value}`` or
``{id, ok: false, error: {code, message, stack}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from ._errors import BadRequestError, ConfigError, EdgeBoxError, LoadError
from ._manifest import Manifest
from ._manifest_trust import TrustedKeys, Verifier

__all__ = ["INIT_FIELDS", "Init", "Op", "Request", "open_init", "parse_init", "parse_request", "reply_ok", "reply_error", "progress_event", "body_event"]


class Op:
    # page -> worker
    INIT = "init"
    CALL = "call"
    STATS = "stats"
    FETCH = "fetch"
    FLAGS = "flags"
    METRICS = "metrics"
    PING = "ping"  # answered by worker.js itself: proof that the worker's event loop runs
    CONNECT = "connect"  # sent by postMessage (it carries a SharedArrayBuffer), answered on the channel
    UPDATE = "update"  # fetch, verify and apply the manifest again (_update.py)
    ROLLBACK = "rollback"  # a module back to its version before
    # worker -> page
    READY = "ready"
    REPLY = "reply"
    PROGRESS = "progress"
    AUDIT = "audit"
    PONG = "pong"
    DETACH = "detach"
    SWITCHED = "switched"  # a module's calls go to another instance now: connect again
    BODY = "body"  # the body of a fetch whose reply said stream: true, in pieces (body_event)


@dataclass(frozen=True)
class Request:
    id: int
    op: str
    module: str = ""
    fn: str = ""
    args: Any = None  # passed through untouched: the host never needs to look inside
    shared: Any = None  # CONNECT: the page <-> guest region
    head: Any = None  # FETCH: {method, url, headers: [[name, value]]}
    body: Any = None  # FETCH: bytes or None, passed through untouched
    flags: Any = None  # FLAGS: {name: value}
    waited_ms: float = 0  # CALL: time it already waited on a direct channel whose instance died


def parse_request(get: Callable[[str], Any]) -> Request:
    """Build a request from a message's fields; ``get`` reads one field, so the
    message may be a dict or a JavaScript object without converting ``args``."""
    op, request_id = get("op"), get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise BadRequestError(f"request id must be an integer, got {request_id!r}")
    if op in (Op.STATS, Op.METRICS, Op.UPDATE):
        return Request(id=request_id, op=op)
    if op == Op.ROLLBACK:
        if not isinstance(get("module"), str):
            raise BadRequestError("box.rollback(module): module must be a string")
        return Request(id=request_id, op=op, module=get("module"))
    if op == Op.FLAGS:
        return Request(id=request_id, op=op, flags=get("flags"))
    if op == Op.FETCH:
        head = get("head")
        if head is None:
            raise BadRequestError("fetch needs a request head")
        return Request(id=request_id, op=op, head=head, body=get("body"))
    if op == Op.CONNECT:
        if not isinstance(get("module"), str) or get("shared") is None:
            raise BadRequestError("connect needs a module name and a shared region")
        return Request(id=request_id, op=op, module=get("module"), shared=get("shared"))
    if op != Op.CALL:
        raise BadRequestError(f"unknown op {op!r}")
    module, fn = get("module"), get("fn")
    if not isinstance(module, str) or not isinstance(fn, str):
        raise BadRequestError("call(module, fn, ...args): module and fn must be strings")
    waited = get("waitedMs")
    waited_ms = float(waited) if isinstance(waited, (int, float)) and not isinstance(waited, bool) and waited > 0 else 0
    return Request(id=request_id, op=op, module=module, fn=fn, args=get("args"), waited_ms=waited_ms)


@dataclass(frozen=True)
class Init:
    """What the host takes from the page's INIT message (and the manifest the worker fetched)."""

    manifest: Manifest
    warm: tuple[str, ...]
    user_id: str
    user_agent: str
    flags: dict[str, Any]
    max_message_bytes: int
    trust: TrustedKeys | None = None
    overrides: dict[str, Any] | None = None  # the page's modules, applied again to each manifest an update fetches
    routes: list[Any] | None = None  # the page's routes, likewise


# What parse_init reads of INIT (web/protocol.js INIT_FIELDS).
INIT_FIELDS = ("manifestURL", "manifest", "modulesJSON", "routesJSON", "warm", "flags", "userId", "userAgent", "maxMessageBytes",
               "trustJSON")


def parse_init(get: Callable[[str], Any]) -> Init:
    """The INIT message, checked: ``get`` reads one field as a Python value
    (``manifest`` is the worker's ``{status, statusText, text}`` of the manifest
    URL). A manifest that did not load is ``LoadError``; one that is not JSON,
    a bad override, route or warm name, ``ConfigError``."""
    url, response = str(get("manifestURL")), get("manifest") or {}
    if response.get("status") != 200:
        raise LoadError(f"manifest {url} answered {response.get('status')} {response.get('statusText', '')}")
    try:
        trust = TrustedKeys.parse(json.loads(get("trustJSON")) if get("trustJSON") else None)
        data = json.loads(response.get("text", ""))
        overrides = json.loads(get("modulesJSON")) if get("modulesJSON") else None
        routes = json.loads(get("routesJSON")) if get("routesJSON") else None
    except ValueError as error:
        raise ConfigError(f"manifest {url}, modules, routes or trust: not JSON: {error}") from None
    manifest = Manifest.parse(data, url=url, overrides=overrides, routes=routes)
    warm = get("warm") or []
    if not isinstance(warm, list) or not all(isinstance(name, str) for name in warm):
        raise ConfigError("warm: expected a list of module names")
    unknown = [name for name in warm if manifest.get(name) is None]
    if unknown:
        raise ConfigError(f"warm: no module {unknown[0]!r}; the manifest has {sorted(manifest.modules)}")
    flags = get("flags") or {}
    if not isinstance(flags, dict):
        raise ConfigError("flags: expected an object of flag names to values")
    max_bytes = get("maxMessageBytes")
    return Init(manifest=manifest, warm=tuple(warm), user_id=str(get("userId") or ""), user_agent=str(get("userAgent") or ""),
                flags=flags, max_message_bytes=int(max_bytes) if isinstance(max_bytes, (int, float)) and max_bytes > 0 else 64 << 20,
                trust=trust, overrides=overrides, routes=routes)


async def open_init(get: Callable[[str], Any], verifier: Verifier) -> Init:
    """``parse_init``, after the manifest's signature is verified when the page
    trusts keys (``trustJSON``): not one of its fields is read before. The
    worker adds the text of ``manifestURL + ".jws"`` (None if there is none) to
    its manifest answer as ``signature``. Raises ``SignatureError`` (the caller audits it)."""
    url, response = str(get("manifestURL")), get("manifest") or {}
    raw_trust = get("trustJSON")
    if raw_trust and response.get("status") == 200:
        try:
            trust = TrustedKeys.parse(json.loads(raw_trust))
        except ValueError as error:
            raise ConfigError(f"trust: not JSON: {error}") from None
        await trust.verify(str(response.get("text", "")).encode("utf-8"), response.get("signature"), verifier, url=url)
    return parse_init(get)


def reply_ok(request_id: int, value: Any) -> dict[str, Any]:
    return {"op": Op.REPLY, "id": request_id, "ok": True, "value": value}


def reply_error(request_id: int | None, error: EdgeBoxError) -> dict[str, Any]:
    return {"op": Op.REPLY, "id": request_id, "ok": False, "error": error.to_wire()}


def progress_event(phase: str, loaded: int, total: int | None) -> dict[str, Any]:
    return {"op": Op.PROGRESS, "phase": phase, "loaded": loaded, "total": total}


def body_event(request_id: int, *, chunk: Any = None, end: bool = False, error: EdgeBoxError | None = None) -> dict[str, Any]:
    """A piece of a streamed fetch body (``chunk``: bytes), its end, or the ``error`` that cut it short."""
    if error is not None:
        return {"op": Op.BODY, "id": request_id, "error": error.to_wire()}
    return {"op": Op.BODY, "id": request_id, "end": True} if end else {"op": Op.BODY, "id": request_id, "chunk": chunk}
