"""The edge as an ASGI application: the manifest's routes through the same
``EdgeHttp`` (middleware chain, gray release, checked answers, metrics) that
serves ``box.fetch`` in the browser, with the request's own release inputs.

    GET  /healthz        200 {"ok": true, "modules": [...running], "refused": {...}}
    GET  /metrics        Prometheus text exposition (edgebox._metrics names)
    *    <route prefix>  the route's module; 404 {"error": ...} for no route

Release inputs come from each request: flags from ``x-edgebox-flags`` (a JSON
object, or ``name`` / ``name=value`` separated by commas; a bare name is
true), the user id from ``x-edgebox-user`` or the ``edgebox_user`` cookie
(sticky percentages; without one the request gets a random id), the
User-Agent from its header. These headers are EdgeBox's, consumed here: the
guest never sees them, and a route's CORS always allows them. Every response
carries ``x-edgebox-where: edge``.

Each worker process holds its own instances (a module's memory is per
instance: a stateful rule such as velocity counts per process); everything
else is the same in every worker, so workers and nodes scale out behind any
load balancer.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Awaitable, Callable

from edgebox._errors import EdgeBoxError, TooLargeError
from edgebox._exchange import BodyStream, EdgeRequest, EdgeResponse
from edgebox._host import Host
from edgebox._http import EdgeHttp, json_response
from edgebox._manifest import Manifest
from edgebox._wasm import limit_memory

from ._platform import WasmtimePlatform

__all__ = ["EdgeApp", "parse_flags"]

FLAGS_HEADER = "x-edgebox-flags"
USER_HEADER = "x-edgebox-user"
USER_COOKIE = "edgebox_user"
WHERE = ("x-edgebox-where", "edge")
MAX_BODY = 64 * 1024 * 1024  # the browser's maxMessageBytes default
Send = Callable[[dict[str, Any]], Awaitable[None]]


def parse_flags(value: str | None) -> dict[str, Any]:
    """``x-edgebox-flags``: a JSON object, or ``a, b=false, c=2``; a bare name is true."""
    value = (value or "").strip()
    if not value:
        return {}
    if value.startswith("{"):
        try:
            flags = json.loads(value)
        except ValueError:
            return {}
        return flags if isinstance(flags, dict) else {}
    flags: dict[str, Any] = {}
    for part in value.split(","):
        name, sep, raw = part.strip().partition("=")
        if not name:
            continue
        try:
            flags[name] = json.loads(raw) if sep else True
        except ValueError:
            flags[name] = raw
    return flags


def _user_id(request: EdgeRequest) -> str:
    user = request.header(USER_HEADER)
    if not user and (cookie := request.header("cookie")):
        try:
            jar = SimpleCookie(cookie)
        except Exception:  # noqa: BLE001 - a malformed cookie header is no user id
            jar = SimpleCookie()
        user = jar[USER_COOKIE].value if USER_COOKIE in jar else None
    return user or secrets.token_hex(8)


def _line(out: Any, **fields: Any) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


# The connection's own headers (RFC 9110 section 7.6.1) and the message's framing:
# a guest's say on them ends here, as at any proxy; the server frames what it sends.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                         "upgrade", "content-length"})


class EdgeApp:
    """ASGI 3 app over one manifest. ``routes`` (dicts as in routes.json) replace or
    add to the manifest's; ``origin`` is this server's, which a policy's relative
    ``net.allow`` prefixes resolve against."""

    def __init__(self, manifest_path: Path, *, routes: list[dict[str, Any]] | None = None,
                 origin: str = "http://127.0.0.1:8080", cache_dir: Path | None = None,
                 stdout: Any = None, stderr: Any = None) -> None:
        self.manifest_path = Path(manifest_path).resolve()
        self.extra_routes = routes or []
        self.origin = origin
        self.platform = WasmtimePlatform(cache_dir)
        self._out, self._err = stdout or sys.stdout, stderr or sys.stderr
        self.host: Host | None = None
        self.http: EdgeHttp | None = None
        self.refused: dict[str, str] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._flush_soon = False

    async def startup(self) -> None:
        """Read the manifest, log what is served and refused, start every wasip1 module."""
        manifest = Manifest.parse(json.loads(self.manifest_path.read_text()), url=self.manifest_path.as_uri(),
                                  routes=self.extra_routes)
        self.host = Host(manifest, self.platform, origin=self.origin, gojs_imports=frozenset(),
                         on_audit=lambda event: _line(self._err, audit=event.to_wire()),
                         on_log=lambda module, fd, text: _line(self._err, module=module,
                                                               stream="stderr" if fd == 2 else "stdout", text=text))
        self.http = EdgeHttp(self.host, manifest.routes, user_id="", user_agent="", flags={}, emit=self._request_line)
        self._tasks.append(asyncio.ensure_future(self.host.watch()))
        for spec in manifest.modules.values():
            if spec.abi not in self.platform.abis:
                self.refused[spec.name] = f"GOOS={spec.abi}: needs a JavaScript engine (E_LOAD on use)"
                continue
            try:
                # Compiled before its start-up clock runs (the disk cache makes this quick the second time).
                data = await self.platform.fetch_bytes(spec.url, lambda loaded, total: None)
                await self.platform.compile(limit_memory(data, spec.policy.limits.memory_mb))
                await self.host.guest(spec.name)
            except EdgeBoxError as error:
                self.refused[spec.name] = f"{error.code}: {error.message}"
        _line(self._err, edge="started", manifest=str(self.manifest_path),
              routes=[{"prefix": r.prefix, "module": r.module} for r in manifest.routes],
              serving=sorted(set(manifest.modules) - set(self.refused)), refused=self.refused)

    def _request_line(self, line: str) -> None:
        """The logger's JSON line, to stdout; flushed within 100 ms rather than per request."""
        self._out.write(line + "\n")
        if not self._flush_soon:
            self._flush_soon = True
            asyncio.get_running_loop().call_later(0.1, self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        self._out.flush()

    async def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.host is not None:
            self.host.close()
        await self.platform.aclose()
        self._out.flush()

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            response = await self._answer(scope, receive)
            headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
                       if name.lower() not in _HOP_BY_HOP and name.lower() != WHERE[0]]
            headers.append((WHERE[0].encode(), WHERE[1].encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            if isinstance(response.body, BodyStream):
                # Each piece as the handler flushes it. One cut short (its time limit, say) is left
                # incomplete: the server drops the connection, as a server that fails mid-body does
                # (the cause is in the audit and the metrics, as for a whole answer).
                try:
                    async for chunk in response.body:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except EdgeBoxError:
                    return
                await send({"type": "http.response.body", "body": b""})
            else:
                await send({"type": "http.response.body", "body": bytes(response.body or b"")})

    async def _lifespan(self, receive: Callable[[], Awaitable[dict[str, Any]]], send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:  # noqa: BLE001 - uvicorn reports it and exits
                    await send({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]]) -> EdgeResponse:
        if self.http is None or self.host is None:
            return json_response(503, {"error": {"code": "E_BOOT", "message": "the edge is starting"}})
        path = scope["path"]
        if path == "/healthz":
            return json_response(200, {"ok": True, "running": self.host.stats()["running"], "refused": self.refused})
        if path == "/metrics":
            return EdgeResponse(200, [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                                self.host.metrics.render().encode())
        try:
            body = await _read_body(receive)
        except TooLargeError as error:
            return json_response(413, {"error": {"code": error.code, "message": error.message}})
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        host = next((value for name, value in headers if name.lower() == "host"), "edge")
        query = scope.get("query_string", b"").decode("latin-1")
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{raw_path}" + (f"?{query}" if query else "")
        own = {FLAGS_HEADER, USER_HEADER}
        request = EdgeRequest(scope["method"], url, [(n, v) for n, v in headers if n.lower() not in own], body)
        control = EdgeRequest(scope["method"], url, headers)
        _allow_own_headers(request, own)
        response = await self.http.handle(request, flags=parse_flags(control.header(FLAGS_HEADER)),
                                          user_id=_user_id(control))
        if request.state.get("own_headers") and response.header("access-control-allow-origin"):
            asked = response.header("access-control-allow-headers")
            response.set_header("access-control-allow-headers", ", ".join(filter(None, [asked, *request.state["own_headers"]])))
        return response


def _allow_own_headers(request: EdgeRequest, own: set[str]) -> None:
    """A preflight asking for EdgeBox's own headers: the route's CORS judges the rest."""
    asked = request.header("access-control-request-headers")
    if request.method != "OPTIONS" or not asked:
        return
    names = [h.strip() for h in asked.split(",") if h.strip()]
    mine = [h for h in names if h.lower() in own]
    if mine:
        request.state["own_headers"] = mine
        request.set_header("access-control-request-headers", ", ".join(h for h in names if h.lower() not in own))


async def _read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLargeError(f"a request body over {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks) if size else None
