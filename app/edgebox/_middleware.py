"""Middleware for box.fetch, as small composable callables (in Starlette's
manner): ``await middleware(request, call_next) -> EdgeResponse``.

- ``Logger``: one structured JSON line per request.
- ``Tracer``: W3C Trace Context; continues an incoming ``traceparent`` or starts a trace.
- ``Cors``: policy-driven; answers preflights without calling the guest.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import deque
from typing import Any, Awaitable, Callable, Mapping

from ._errors import ConfigError
from ._exchange import EdgeRequest, EdgeResponse

__all__ = ["Cors", "Logger", "Tracer", "build_middleware"]

Handler = Callable[[EdgeRequest], Awaitable[EdgeResponse]]

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class Logger:
    def __init__(self, lines: deque[dict[str, Any]], emit: Callable[[str], None]) -> None:
        self._lines, self._emit = lines, emit

    async def __call__(self, request: EdgeRequest, call_next: Handler) -> EdgeResponse:
        started = time.monotonic()
        response = await call_next(request)
        line = {
            "time": time.time(), "module": request.state.get("module"), "version": request.state.get("version"),
            "method": request.method, "path": request.path, "status": response.status,
            "duration_ms": round((time.monotonic() - started) * 1000, 3), "trace_id": request.state.get("trace_id"),
        }
        self._lines.append(line)
        self._emit(json.dumps(line))
        return response


class Tracer:
    """A span per request. The guest sees the ``traceparent`` of EdgeBox's span,
    and so does the page, in the response, to correlate."""

    def __init__(self, spans: deque[dict[str, Any]]) -> None:
        self._spans = spans

    async def __call__(self, request: EdgeRequest, call_next: Handler) -> EdgeResponse:
        parent = _TRACEPARENT.match(request.header("traceparent") or "")
        if parent and parent[1] != "ff" and parent[2] != "0" * 32 and parent[3] != "0" * 16:
            trace_id, parent_id, flags = parent[2], parent[3], parent[4]
        else:
            trace_id, parent_id, flags = secrets.token_hex(16), None, "01"
        span_id = secrets.token_hex(8)
        traceparent = f"00-{trace_id}-{span_id}-{flags}"
        request.set_header("traceparent", traceparent)
        request.state["trace_id"] = trace_id
        started = time.time()
        response = await call_next(request)
        response.set_header("traceparent", traceparent)
        self._spans.append({
            "trace_id": trace_id, "span_id": span_id, "parent_id": parent_id, "name": f"{request.method} {request.path}",
            "start": started, "end": time.time(), "status": response.status,
            "module": request.state.get("module"), "version": request.state.get("version"),
        })
        return response


class Cors:
    def __init__(self, options: Mapping[str, Any], where: str) -> None:
        unknown = set(options) - {"origins", "methods", "headers", "expose", "max_age", "credentials"}
        if unknown:
            raise ConfigError(f"{where}.cors: unknown option(s) {sorted(unknown)}")
        self.origins = [str(o) for o in options.get("origins", [])]
        self.methods = [str(m).upper() for m in options.get("methods", ["GET", "HEAD", "POST"])]
        self.headers = [str(h).lower() for h in options.get("headers", [])]
        self.expose = [str(h) for h in options.get("expose", ["traceparent", "x-edgebox-version"])]
        self.max_age = int(options.get("max_age", 600))
        self.credentials = bool(options.get("credentials", False))

    def _allow_origin(self, origin: str) -> str | None:
        if "*" in self.origins:
            return origin if self.credentials else "*"
        return origin if origin in self.origins else None

    async def __call__(self, request: EdgeRequest, call_next: Handler) -> EdgeResponse:
        origin = request.header("origin")
        wanted = request.header("access-control-request-method")
        if request.method == "OPTIONS" and origin and wanted:
            allowed = self._allow_origin(origin)
            asked = [h.strip().lower() for h in (request.header("access-control-request-headers") or "").split(",") if h.strip()]
            headers_ok = not self.headers or all(h in self.headers for h in asked)
            if not allowed or wanted.upper() not in self.methods or not headers_ok:
                return EdgeResponse(403, [("vary", "Origin")], b"")
            headers = [("access-control-allow-origin", allowed), ("access-control-allow-methods", ", ".join(self.methods)),
                       ("access-control-max-age", str(self.max_age)), ("vary", "Origin")]
            if asked:
                headers.append(("access-control-allow-headers", ", ".join(asked)))
            if self.credentials:
                headers.append(("access-control-allow-credentials", "true"))
            return EdgeResponse(204, headers, b"")
        response = await call_next(request)
        allowed = self._allow_origin(origin) if origin else None
        if allowed:
            response.set_header("access-control-allow-origin", allowed)
            response.set_header("access-control-expose-headers", ", ".join(self.expose))
            response.headers.append(("vary", "Origin"))
            if self.credentials:
                response.set_header("access-control-allow-credentials", "true")
        return response


def build_middleware(name: str, options: Mapping[str, Any], *, where: str, lines: deque, spans: deque,
                     emit: Callable[[str], None]) -> Callable[[EdgeRequest, Handler], Awaitable[EdgeResponse]]:
    if name == "logger":
        return Logger(lines, emit)
    if name == "tracer":
        return Tracer(spans)
    return Cors(options, where)
