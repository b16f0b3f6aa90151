"""One guest instance in its own worker: messages in and out, facts reported to the host."""

from __future__ import annotations

import asyncio
import functools
import struct
from itertools import count
from typing import Any, Callable

import js
from pyodide.ffi import create_proxy, to_js

from .._errors import CrashedError, DeniedError, EdgeBoxError, GuestGone, LimitError, PanicError, claimed, clear_frames
from .._guest_protocol import AUDIT_CODES, HTTP_EXPORT, LOAD_CODES, REPLY_CODES, GuestOp, Via, Watch, WatchReading
from .._host import GuestServices
from .._lifecycle import Death, classify_exit, panic_frames, panicked_goroutine_was_spawned
from .._platform import HttpRequest
from ._ffi import to_wire_js, translate

__all__ = ["WorkerGuest"]

_MAX_FETCHES = 32
_LOAD_ID = 1  # every guest's first request is its load


@functools.cache
def _swallow() -> Any:
    """One error handler for every ended guest worker, never destroyed."""
    return create_proxy(lambda event: event.preventDefault())


class WorkerGuest:
    """One guest instance in its own worker (its own realm), replies matched by id.

    It carries messages and reports facts; what a death is and what it costs
    each call is decided by the host (``_lifecycle.py``)."""

    def __init__(self, name: str, worker: Any, services: GuestServices, abi: str = "js") -> None:
        self.name = name
        self.abi = abi
        self.exports: frozenset[str] = frozenset()
        self.started = False  # start-up done: from now on the guest reaches out only during calls
        self._worker = worker
        self._services = services
        self._ids = count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._parts: dict[int, Callable[[bytes], None]] = {}  # call id -> where its answer's parts go
        self._tasks: dict[int, asyncio.Task[None]] = {}  # fid -> the request the host performs for it
        self._dead: Death | None = None
        # The watch slots (guest-protocol.js Watch), shared with the guest when the
        # page is cross-origin isolated; otherwise the guest posts them (beat).
        self.slots = js.Int32Array.new(js.SharedArrayBuffer.new(4 * Watch.LENGTH)) if hasattr(js, "SharedArrayBuffer") else None
        self._beat: WatchReading | None = None
        self._proxies = [create_proxy(self._on_message), create_proxy(self._on_error)]
        worker.onmessage, worker.onerror = self._proxies
        self._handlers = {
            GuestOp.REPLY: self._on_reply, GuestOp.PART: self._on_part, GuestOp.FETCH: self._on_fetch, GuestOp.FETCH_ABORT: self._on_fetch_abort,
            GuestOp.AUDIT: self._on_audit,
            GuestOp.LOG: self._on_log, GuestOp.DIED: self._on_died, GuestOp.BEAT: self._on_beat,
        }

    def request(self, message: dict[str, Any], on_part: Callable[[bytes], None] | None = None) -> asyncio.Future[Any]:
        future = asyncio.get_event_loop().create_future()
        if self._dead is not None:
            future.set_exception(GuestGone(f"module {self.name!r} had already ended"))
            return future
        request_id = next(self._ids)
        self._pending[request_id] = future
        if on_part is not None:
            self._parts[request_id] = on_part
            future.add_done_callback(lambda _: self._parts.pop(request_id, None))
        self._worker.postMessage(to_wire_js({**message, "id": request_id}))
        return future

    async def call(self, fn: str, args: Any, on_part: Callable[[bytes], None] | None = None) -> Any:
        streamed = on_part is not None and fn == HTTP_EXPORT  # else the guest worker answers whole
        value = await self.request({"op": GuestOp.CALL, "fn": fn, "args": args, **({"parts": True} if streamed else {})},
                                   on_part if streamed else None)
        # An HTTP answer is read in Python (_http_answer.py): one copy of its bytes into Python's heap.
        return value.to_bytes() if fn == HTTP_EXPORT and hasattr(value, "to_bytes") else value

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

    def _on_part(self, data: Any) -> None:
        on_part = self._parts.get(data.id)
        if on_part is not None:
            # Only bytes: anything else is not a part (a typed array's to_bytes is one copy into Python).
            on_part(data.bytes.to_bytes() if hasattr(data.bytes, "to_bytes") else b"")

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
        fid = int(data.fid)
        task = asyncio.ensure_future(self._answer_fetch(fid, request))
        self._tasks[fid] = task
        task.add_done_callback(lambda _: self._tasks.pop(fid, None))

    def _on_fetch_abort(self, data: Any) -> None:
        # The guest's AbortSignal ended it: the platform's request is aborted as the task is cancelled.
        task = self._tasks.pop(int(data.fid), None)
        if task is not None:
            task.cancel()

    async def _answer_fetch(self, fid: int, request: HttpRequest) -> None:
        try:
            response = await self._services.fetch(request)
        except asyncio.CancelledError:
            return
        except BaseException as error:
            self._answer(fid, {"ok": False, "error": translate(error, f"fetch {request.url}").to_wire()})
            clear_frames(error)  # they held the request's body
            return
        self._answer(fid, {"ok": True, "status": response.status, "statusText": response.status_text,
                           "headers": [list(pair) for pair in response.headers], "body": response.body})

    def _answer(self, fid: int, answer: dict[str, Any]) -> None:
        if self._dead is not None:
            return
        # A body stream is transferred, not copied: it streams into the guest, which can cancel it.
        body = answer.get("body")
        transfer = [body] if body is not None and hasattr(body, "getReader") else []
        self._worker.postMessage(to_wire_js({"op": GuestOp.FETCHED, "fid": fid, **answer}), to_js(transfer))

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
            error = PanicError(f"module {self.name!r}: {detail[:8000]}", frames=panic_frames(detail))
        else:
            error = classify_exit(self.name, detail, None if data.exitCode is None else str(data.exitCode), self.abi,
                                  str(data.trace or ""), self._services.symbolize)
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
