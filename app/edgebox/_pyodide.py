"""The browser side of the host: JavaScript fetch, guest workers, the page channel.

Only this module imports ``js``/``pyodide``; it is the one seam where
JavaScript errors become ``EdgeBoxError``s. ``worker.js`` calls ``start`` once
Python is up and feeds every page message to the dispatcher it returns.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from itertools import count
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy, to_js

from ._errors import (
    ERROR_CLASSES,
    ClosedError,
    ConfigError,
    CrashedError,
    DeniedError,
    EdgeBoxError,
    GuestError,
    GuestGone,
    LimitError,
    LoadError,
    NetworkError,
    NotFoundError,
)
from ._guest_protocol import GUEST_AUDIT_CODES, GUEST_DEATH_CODES, GUEST_ERROR_CODES, GuestOp
from ._exchange import EdgeRequest
from ._host import Host, GuestServices
from ._http import EdgeHttp
from ._manifest import Manifest, ModuleSpec
from ._platform import HttpRequest, HttpResponse, Progress
from ._protocol import Op, Request, parse_request, progress_event, reply_error, reply_ok

__all__ = ["start"]


def _js(value: Any) -> Any:
    return to_js(value, dict_converter=js.Object.fromEntries)


def _translate(error: BaseException, what: str) -> EdgeBoxError:
    if isinstance(error, EdgeBoxError):
        return error
    if isinstance(error, JsException):
        return EdgeBoxError(f"{what}: {error}")
    return EdgeBoxError(f"{what}: {type(error).__name__}: {error}", stack=traceback.format_exc())


class BrowserPlatform:
    def __init__(self, guest_script_url: str, spare_worker: Any = None, prefetched: dict[str, Any] | None = None) -> None:
        self._guest_script_url = guest_script_url
        self._spare = spare_worker or self._new_worker()
        # url -> promise of {bytes, module}: fetched and compiled while Python booted.
        self._prefetched = dict(prefetched or {})
        self._compiled: dict[str, tuple[bytes, Any]] = {}  # url -> (the bytes, their compiled module)

    async def fetch_bytes(self, url: str, progress: Progress) -> bytes:
        early = self._prefetched.pop(url, None)
        if early is not None and (found := await early) is not None:
            data = found.bytes.to_bytes()
            self._compiled[url] = (data, found.module)
            progress(len(data), len(data))
            return data
        try:
            response = await js.fetch(url)
        except JsException as error:
            raise LoadError(f"could not fetch {url}: {error}") from None
        if not response.ok:
            cls = NotFoundError if response.status == 404 else LoadError
            raise cls(f"GET {url} answered {response.status} {response.statusText}")
        total = int(response.headers.get("content-length") or 0) or None
        progress(0, total)
        # One read and one copy into Python: reading chunk by chunk through
        # the FFI costs more than it reports.
        data = (await response.arrayBuffer()).to_bytes()
        progress(len(data), len(data))
        return data

    async def sha256_hex(self, data: bytes) -> str:
        digest = await js.crypto.subtle.digest("SHA-256", to_js(data))
        return js.Uint8Array.new(digest).to_bytes().hex()

    def _new_worker(self) -> Any:
        return js.Worker.new(self._guest_script_url, _js({"type": "module", "name": "edgebox-guest"}))

    def _take_worker(self) -> Any:
        """A guest worker with its scripts loaded and nothing in it yet. One is
        kept ready, so that starting a guest never waits for a worker to boot."""
        worker, self._spare = self._spare, self._new_worker()
        return worker

    async def start_guest(self, spec: ModuleSpec, data: bytes, services: GuestServices) -> "WorkerGuest":
        worker = self._take_worker()
        early = self._compiled.pop(spec.url, None)
        try:
            # Compiled ahead only if these are the very bytes that were verified (nothing rewrote them).
            module = await (early[1] if early is not None and early[0] is data else js.WebAssembly.compile(to_js(data)))
        except JsException as error:
            worker.terminate()
            raise LoadError(f"module {spec.name!r}: not a valid WebAssembly module: {error}") from None
        guest = WorkerGuest(spec.name, worker, services)
        try:
            grant = spec.policy.grant()
            grant["files"] = {path: to_js(content) for path, content in grant["files"].items()}
            exports = await guest.request({"op": GuestOp.LOAD, "name": spec.name, "abi": spec.abi, "module": module,
                                           "grant": grant, "watch": guest.watch})
        except BaseException:
            guest.close()
            raise
        guest.exports = frozenset(str(name) for name in exports)
        return guest

    async def http(self, request: HttpRequest, *, credentials: str) -> HttpResponse:
        init = {"method": request.method, "headers": [list(pair) for pair in request.headers],
                "redirect": "manual", "credentials": credentials}
        if request.body is not None:
            init["body"] = request.body
        try:
            response = await js.fetch(request.url, _js(init))
            if response.type == "opaqueredirect":
                raise DeniedError(f"{request.method} {request.url} answered with a redirect; "
                                  "EdgeBox does not follow a redirect whose target it cannot check")
            body = await response.arrayBuffer()
        except JsException as error:
            raise NetworkError(f"{request.method} {request.url}: {error}") from None
        headers = [(str(name), str(value)) for name, value in response.headers.entries()]
        return HttpResponse(status=int(response.status), status_text=str(response.statusText), headers=headers, body=body)


class WorkerGuest:
    """One guest instance in its own worker (its own realm), replies matched by id."""

    def __init__(self, name: str, worker: Any, services: GuestServices) -> None:
        self.name = name
        self.exports: frozenset[str] = frozenset()
        self._worker = worker
        self._services = services
        self._ids = count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dead: EdgeBoxError | None = None
        # [busy, call count], written by the guest around every call, read by the host's watchdog.
        self.watch = js.Int32Array.new(js.SharedArrayBuffer.new(8)) if hasattr(js, "SharedArrayBuffer") else None
        self._proxies = [create_proxy(self._on_message), create_proxy(self._on_error)]
        worker.onmessage, worker.onerror = self._proxies
        self._handlers = {
            GuestOp.REPLY: self._on_reply, GuestOp.FETCH: self._on_fetch, GuestOp.AUDIT: self._on_audit,
            GuestOp.LOG: self._on_log, GuestOp.LIMIT: self._on_limit, GuestOp.DIED: self._on_died,
        }

    def request(self, message: dict[str, Any]) -> asyncio.Future[Any]:
        future = asyncio.get_event_loop().create_future()
        if self._dead is not None:
            future.set_exception(self._dead)
            return future
        request_id = next(self._ids)
        self._pending[request_id] = future
        self._worker.postMessage(_js({**message, "id": request_id}))
        return future

    async def call(self, fn: str, args: Any) -> Any:
        return await self.request({"op": GuestOp.CALL, "fn": fn, "args": args})

    async def connect(self, shared: Any) -> None:
        await self.request({"op": GuestOp.CONNECT, "shared": shared})

    def busy(self) -> int | None:
        if self.watch is None or not js.Atomics.load(self.watch, 0):
            return None
        return int(js.Atomics.load(self.watch, 1))

    def _on_message(self, event: Any) -> None:
        data = event.data
        handler = self._handlers.get(getattr(data, "op", None))
        if handler is not None:
            handler(data)

    def _on_reply(self, data: Any) -> None:
        future = self._pending.pop(data.id, None)
        if future is None or future.done():
            return
        if data.ok:
            future.set_result(data.value)
            return
        wire = data.error.to_py()
        if data.crashed and getattr(data, "stale", False):
            future.set_exception(GuestGone(f"module {self.name!r} had already exited"))
            self._die(CrashedError(f"module {self.name!r} exited: {wire.get('message', '')}"))
            return
        if data.crashed:
            error = self._death(wire.get("code"), wire.get("message", ""), wire.get("stack"))
            self._die(error)
            future.set_exception(error)
            return
        code = wire.get("code") if wire.get("code") in GUEST_ERROR_CODES else GuestError.code
        future.set_exception(EdgeBoxError.from_wire({**wire, "code": code}))

    def _on_fetch(self, data: Any) -> None:
        request = HttpRequest(url=str(data.url), method=str(data.method), headers=[tuple(h) for h in data.headers.to_py()],
                              body=data.body)
        task = asyncio.ensure_future(self._answer_fetch(int(data.fid), request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_fetch(self, fid: int, request: HttpRequest) -> None:
        try:
            response = await self._services.fetch(request)
            answer = {"ok": True, "status": response.status, "statusText": response.status_text,
                      "headers": [list(pair) for pair in response.headers], "body": response.body}
        except BaseException as error:
            answer = {"ok": False, "error": _translate(error, f"fetch {request.url}").to_wire()}
        if self._dead is None:
            self._worker.postMessage(_js({"op": GuestOp.FETCHED, "fid": fid, **answer}))

    def _on_audit(self, data: Any) -> None:
        code = str(data.code) if data.code in GUEST_AUDIT_CODES else DeniedError.code
        self._services.audit(str(data.capability)[:100], str(data.detail)[:500], code)

    def _on_log(self, data: Any) -> None:
        self._services.log(int(data.fd), str(data.text))

    def _on_died(self, data: Any) -> None:
        self._die(self._death(str(data.code), str(data.message)))

    def _death(self, code: Any, message: str, stack: Any = None) -> EdgeBoxError:
        """The error for this instance's death, as the guest reported it (only a death's codes are believed)."""
        cls = ERROR_CLASSES[code] if code in GUEST_DEATH_CODES else CrashedError
        return cls(f"module {self.name!r}: {str(message)[:4000]}", stack=str(stack) if stack else None)

    def _on_limit(self, data: Any) -> None:
        self._die(LimitError(f"module {self.name!r}: {str(data.detail)[:500]} ({data.what}); the instance was replaced"))

    def _on_error(self, event: Any) -> None:
        event.preventDefault()
        self._die(CrashedError(f"module {self.name!r} crashed: {getattr(event, 'message', 'worker error')}"))

    def _die(self, error: EdgeBoxError) -> None:
        """This instance can answer no more: fail what waits, and have the host replace it."""
        if self._dead is None:
            self._dead = error
            self._worker.terminate()
            self._services.retire(self, error)
        self._fail_all(error)

    def _fail_all(self, error: EdgeBoxError) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        if self._dead is None:
            self._dead = ClosedError(f"module {self.name!r} was unloaded")
            self._worker.terminate()
        self._fail_all(self._dead)
        # Later, not now: close may run inside this guest's own message handler.
        proxies, self._proxies = self._proxies, []
        asyncio.get_event_loop().call_soon(lambda: [proxy.destroy() for proxy in proxies])


class Dispatcher:
    """The one dispatch point for page messages; every request gets exactly one reply."""

    def __init__(self, host: Host, http: EdgeHttp, post: Any) -> None:
        self._host = host
        self._http = http
        self._post = post
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, message: Any) -> None:
        try:
            request = parse_request(lambda name: getattr(message, name, None))
        except EdgeBoxError as error:
            self._post(_js(reply_error(getattr(message, "id", None), error)))
            return
        task = asyncio.ensure_future(self._serve(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: Request) -> None:
        try:
            if request.op == Op.STATS:
                value = _js({**self._host.stats(), "requests": list(self._http.requests), "spans": list(self._http.spans)})
            elif request.op == Op.METRICS:
                value = self._host.metrics.render()
            elif request.op == Op.FLAGS:
                self._http.flags = dict(request.flags.to_py()) if request.flags else {}
                value = _js(self._http.flags)
            elif request.op == Op.FETCH:
                value = await self._fetch(request)
            elif request.op == Op.CONNECT:
                value = await self._host.connect(request.module, request.shared)
            else:
                value = await self._host.call(request.module, request.fn, request.args)
            reply = reply_ok(request.id, value)
        except BaseException as error:  # every request is answered, whatever went wrong
            reply = reply_error(request.id, _translate(error, f"{request.op} {request.module}.{request.fn}"))
        self._post(_js(reply))

    async def _fetch(self, request: Request) -> Any:
        head = request.head
        edge = EdgeRequest(method=str(head.method).upper(), url=str(head.url),
                           headers=[(str(k), str(v)) for k, v in head.headers.to_py()], body=request.body)
        response = await self._http.handle(edge)
        body = to_js(response.body) if isinstance(response.body, bytes) else response.body
        return _js({"status": response.status, "headers": [list(h) for h in response.headers], "body": body})


async def start(init: Any, post: Any) -> Any:
    """Read and validate the manifest, then return the page-message dispatcher.

    A failure is posted to the page as the boot reply and ``None`` returned.
    """
    try:
        manifest = _read_manifest(str(init.manifestURL), init.manifest.to_py(), init.modulesJSON, init.routesJSON)
        warm = list(init.warm.to_py()) if init.warm else []
        unknown = [name for name in warm if manifest.get(name) is None]
        if unknown:
            raise ConfigError(f"warm: no module {unknown[0]!r}; the manifest has {sorted(manifest.modules)}")
    except BaseException as error:
        post(_js(reply_error(None, _translate(error, "reading the manifest"))))
        return None

    def on_progress(phase: str, loaded: int, total: int | None) -> None:
        post(_js(progress_event(phase, loaded, total)))

    def on_audit(event) -> None:
        js.console.warn(f"EdgeBox audit: {event.module} {event.capability} {event.code}: {event.detail}")
        post(_js({"op": Op.AUDIT, "event": event.to_wire()}))

    def on_log(module: str, fd: int, text: str) -> None:
        (js.console.warn if fd == 2 else js.console.log)(f"[{module}] {text}")

    def on_detach(module: str, error: EdgeBoxError) -> None:
        post(_js({"op": Op.DETACH, "module": module, "error": error.to_wire()}))

    host = Host(
        manifest,
        BrowserPlatform(str(init.guestURL), init.spareWorker, init.prefetched.to_py(depth=1) if init.prefetched else None),
        origin=str(js.location.origin),
        gojs_imports=frozenset(init.gojsImports.to_py()),
        on_progress=on_progress,
        on_audit=on_audit,
        on_log=on_log,
        on_detach=on_detach,
    )
    asyncio.ensure_future(host.watch())
    for name in warm:
        # Started now, answered later: the first call finds it running. A failure
        # here is forgotten and reported by that first call.
        asyncio.ensure_future(host.guest(name)).add_done_callback(lambda task: task.exception())
    http = EdgeHttp(host, manifest.routes, user_id=str(init.userId), user_agent=str(init.userAgent),
                    flags=init.flags.to_py() if init.flags else {}, emit=lambda line: js.console.log(f"EdgeBox request {line}"))
    return create_proxy(Dispatcher(host, http, post))


def _read_manifest(url: str, response: dict, overrides_json: str | None, routes_json: str | None) -> Manifest:
    if response["status"] != 200:
        raise LoadError(f"manifest {url} answered {response['status']} {response['statusText']}")
    try:
        data = json.loads(response["text"])
    except ValueError as error:
        raise ConfigError(f"manifest {url} is not JSON: {error}") from None
    overrides = json.loads(overrides_json) if overrides_json else None
    routes = json.loads(routes_json) if routes_json else None
    return Manifest.parse(data, url=url, overrides=overrides, routes=routes)
