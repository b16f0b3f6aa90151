"""The browser side of the host: JavaScript fetch, guest workers, the page channel.

Only this module imports ``js``/``pyodide``; it is the one seam where
JavaScript errors become ``EdgeBoxError``s. ``worker.js`` calls ``start`` once
Python is up and feeds every page message to the dispatcher it returns.
"""

from __future__ import annotations

import asyncio
import functools
import json
import struct
import traceback
from itertools import count
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy, to_js

from ._errors import (
    ClosedError,
    ConfigError,
    CrashedError,
    DeniedError,
    EdgeBoxError,
    GuestGone,
    LimitError,
    LoadError,
    NetworkError,
    NotFoundError,
    PanicError,
    claimed,
)
from ._guest_protocol import AUDIT_CODES, LOAD_CODES, REPLY_CODES, GuestOp, Via, Watch, WatchReading
from ._exchange import EdgeRequest
from ._host import Host, GuestServices
from ._lifecycle import Death, classify_exit, panicked_goroutine_was_spawned
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


_MAX_FETCHES = 32
_LOAD_ID = 1  # every guest's first request is its load


@functools.cache
def _swallow() -> Any:
    """One error handler for every ended guest worker, never destroyed."""
    return create_proxy(lambda event: event.preventDefault())


class BrowserPlatform:
    def __init__(self, guest_script_url: str, spare_worker: Any = None, prefetched: dict[str, Any] | None = None,
                 max_message_bytes: int = 64 * 1024 * 1024) -> None:
        self._guest_script_url = guest_script_url
        self._max_message_bytes = max_message_bytes
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
            module = early[1] if early is not None and early[0] is data else await js.WebAssembly.compile(to_js(data))
        except JsException as error:
            worker.terminate()
            raise LoadError(f"module {spec.name!r}: not a valid WebAssembly module: {error}") from None
        guest = WorkerGuest(spec.name, worker, services)
        try:
            grant = spec.policy.grant()
            grant["files"] = {path: to_js(content) for path, content in grant["files"].items()}
            exports = await guest.request({"op": GuestOp.LOAD, "name": spec.name, "abi": spec.abi, "module": module,
                                           "grant": grant, "watch": guest.slots, "maxMessageBytes": self._max_message_bytes})
        except BaseException as error:
            guest.close(Death(error if isinstance(error, EdgeBoxError) else ClosedError(f"module {spec.name!r}: start-up cancelled")))
            raise
        names = exports.to_py() if hasattr(exports, "to_py") else exports
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            guest.close(Death(LoadError(f"module {spec.name!r} did not name its exports")))
            raise LoadError(f"module {spec.name!r}: its exports are not a list of function names")
        guest.exports = frozenset(names)
        guest.started = True
        return guest

    async def http(self, request: HttpRequest, *, credentials: str, timeout_ms: int) -> HttpResponse:
        init = {"method": request.method, "headers": [list(pair) for pair in request.headers],
                "redirect": "manual", "credentials": credentials, "signal": js.AbortSignal.timeout(timeout_ms)}
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
    """One guest instance in its own worker (its own realm), replies matched by id.

    It carries messages and reports facts; what a death is and what it costs
    each call is decided by the host (``_lifecycle.py``)."""

    def __init__(self, name: str, worker: Any, services: GuestServices) -> None:
        self.name = name
        self.exports: frozenset[str] = frozenset()
        self.started = False  # start-up done: from now on the guest reaches out only during calls
        self._worker = worker
        self._services = services
        self._ids = count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dead: Death | None = None
        # The watch slots (guest-protocol.js Watch), shared with the guest when the
        # page is cross-origin isolated; otherwise the guest posts them (beat).
        self.slots = js.Int32Array.new(js.SharedArrayBuffer.new(4 * Watch.LENGTH)) if hasattr(js, "SharedArrayBuffer") else None
        self._beat: WatchReading | None = None
        self._proxies = [create_proxy(self._on_message), create_proxy(self._on_error)]
        worker.onmessage, worker.onerror = self._proxies
        self._handlers = {
            GuestOp.REPLY: self._on_reply, GuestOp.FETCH: self._on_fetch, GuestOp.AUDIT: self._on_audit,
            GuestOp.LOG: self._on_log, GuestOp.DIED: self._on_died, GuestOp.BEAT: self._on_beat,
        }

    def request(self, message: dict[str, Any]) -> asyncio.Future[Any]:
        future = asyncio.get_event_loop().create_future()
        if self._dead is not None:
            future.set_exception(GuestGone(f"module {self.name!r} had already ended"))
            return future
        request_id = next(self._ids)
        self._pending[request_id] = future
        self._worker.postMessage(_js({**message, "id": request_id}))
        return future

    async def call(self, fn: str, args: Any) -> Any:
        return await self.request({"op": GuestOp.CALL, "fn": fn, "args": args})

    async def connect(self, shared: Any) -> None:
        await self.request({"op": GuestOp.CONNECT, "shared": shared})

    def watch(self) -> WatchReading | None:
        if self.slots is None:
            return self._beat
        return WatchReading.of(struct.unpack(f"<{Watch.LENGTH}i", self.slots.slice().to_bytes()))

    def _on_message(self, event: Any) -> None:
        # Called from JavaScript: nothing may escape into the host worker's event loop.
        try:
            data = event.data
            handler = self._handlers.get(getattr(data, "op", None))
            if handler is not None and self._dead is None:
                handler(data)
        except Exception as error:  # noqa: BLE001 - a malformed message costs only this guest
            self._die(Death(CrashedError(f"module {self.name!r} sent what the host cannot read: {error}")))

    def _on_reply(self, data: Any) -> None:
        future = self._pending.pop(data.id, None)
        if future is None or future.done():
            return
        if data.ok:
            future.set_result(data.value)
        elif getattr(data, "gone", False):
            future.set_exception(GuestGone(f"module {self.name!r} had ended before the call reached it"))
        else:
            future.set_exception(claimed(data.error.to_py(), LOAD_CODES if data.id == _LOAD_ID else REPLY_CODES))

    def _on_fetch(self, data: Any) -> None:
        request = HttpRequest(url=str(data.url), method=str(data.method), headers=[(str(k), str(v)) for k, v in data.headers.to_py()],
                              body=data.body)
        reading = self.watch()
        if self.started and reading is not None and self.slots is not None and reading.running == 0:
            self._services.audit("net", f"{request.method} {request.url} outside any call")
            self._answer(int(data.fid), {"ok": False, "error": DeniedError("the network is granted only while a call runs").to_wire()})
            return
        if len(self._tasks) >= _MAX_FETCHES:  # the guest worker holds it to fewer; this is the host's own bound
            self._answer(int(data.fid), {"ok": False, "error": LimitError("too many requests in flight").to_wire()})
            return
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
        self._answer(fid, answer)

    def _answer(self, fid: int, answer: dict[str, Any]) -> None:
        if self._dead is None:
            self._worker.postMessage(_js({"op": GuestOp.FETCHED, "fid": fid, **answer}))

    def _on_audit(self, data: Any) -> None:
        for event in data.events.to_py()[:200]:
            code = str(event.get("code")) if event.get("code") in AUDIT_CODES else DeniedError.code
            count = event.get("count", 1)
            self._services.audit(str(event.get("capability"))[:100], str(event.get("detail"))[:500], code,
                                 count if isinstance(count, int) and count > 0 else 1)

    def _on_log(self, data: Any) -> None:
        for fd, text in data.lines.to_py()[:200]:
            self._services.log(2 if fd == 2 else 1, str(text))
        if data.dropped:
            self._services.log(2, f"... {int(data.dropped)} more lines not kept (log flood)")

    def _on_beat(self, data: Any) -> None:
        self._beat = WatchReading.of(data.watch.to_py())

    def _on_died(self, data: Any) -> None:
        detail = str(data.detail or "")
        if data.kind == "limit":
            error: EdgeBoxError = LimitError(f"module {self.name!r}: {detail[:500]}; the instance was replaced")
        elif data.kind == "panic":  # a call's own handler, by the SDK's report: that call's panic
            error = PanicError(f"module {self.name!r}: {detail[:8000]}")
        else:
            error = classify_exit(self.name, detail, None if data.exitCode is None else str(data.exitCode))
        culprit = data.culprit.to_py() if data.culprit else None
        if data.kind == "exit" and isinstance(error, PanicError) and panicked_goroutine_was_spawned(detail):
            culprit = None
        reading = WatchReading.of(data.watch.to_py()) if data.watch else self.watch()
        self._die(Death.of(error, (int(culprit["via"]), int(culprit["id"])) if culprit else None, reading))

    def _on_error(self, event: Any) -> None:
        try:
            event.preventDefault()
            self._die(Death.of(CrashedError(f"module {self.name!r} crashed: {getattr(event, 'message', 'worker error')}"),
                               None, self.watch()))
        except Exception:  # noqa: BLE001 - never into the host's event loop
            pass

    def _die(self, death: Death) -> None:
        """This instance can answer no more: the host settles what waits and replaces it."""
        if self._dead is None:
            self._services.died(self, death)
            self.close(death)

    def close(self, death: Death) -> None:
        if self._dead is None:
            self._dead = death
            self._worker.terminate()
            # Late messages of a terminated worker must not reach destroyed proxies,
            # and its late errors must not reach the host worker's own global.
            self._worker.onmessage = None
            self._worker.onerror = _swallow()
            proxies, self._proxies = self._proxies, []
            asyncio.get_event_loop().call_soon(lambda: [proxy.destroy() for proxy in proxies])
        pending, self._pending = self._pending, {}
        for call_id, future in pending.items():
            if not future.done():
                future.set_exception(self._dead.fate(Via.HOST, call_id)
                                     or GuestGone(f"module {self.name!r} ended before the call reached it"))


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
                value = await self._host.call(request.module, request.fn, request.args, waited_ms=request.waited_ms)
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

    def on_detach(module: str, death: Death) -> None:
        post(_js({"op": Op.DETACH, "module": module, **death.to_wire()}))

    host = Host(
        manifest,
        BrowserPlatform(str(init.guestURL), init.spareWorker, init.prefetched.to_py(depth=1) if init.prefetched else None,
                        max_message_bytes=int(init.maxMessageBytes or 64 * 1024 * 1024)),
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
