"""The one dispatch point for page messages: every request gets exactly one reply."""

from __future__ import annotations

import asyncio
from typing import Any

from pyodide.ffi import to_js

from .._errors import EdgeBoxError, clear_frames
from .._exchange import BodyStream, EdgeRequest
from .._host import Host
from .._http import EdgeHttp
from .._protocol import Op, Request, body_event, parse_request, reply_error, reply_ok
from ._ffi import to_wire_js, translate

__all__ = ["Dispatcher"]


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
            self._post(to_wire_js(reply_error(getattr(message, "id", None), error)))
            return
        # Started eagerly: the request runs now, up to its first wait (the guest's answer),
        # instead of in an event-loop task of its own; one answered at once is done here.
        task = asyncio.Task(self._serve(request), loop=asyncio.get_event_loop(), eager_start=True)
        if not task.done():
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: Request) -> None:
        stream: BodyStream | None = None
        try:
            if request.op == Op.STATS:
                value = to_wire_js({**self._host.stats(), "requests": list(self._http.requests), "spans": list(self._http.spans)})
            elif request.op == Op.METRICS:
                value = self._host.metrics.render()
            elif request.op == Op.FLAGS:
                self._http.flags = dict(request.flags.to_py()) if request.flags else {}
                value = to_wire_js(self._http.flags)
            elif request.op == Op.FETCH:
                value, stream = await self._fetch(request)
            elif request.op == Op.UPDATE:
                value = to_wire_js(await self._host.releases.update())
            elif request.op == Op.ROLLBACK:
                value = to_wire_js(await self._host.releases.rollback(request.module))
            elif request.op == Op.CONNECT:
                value = await self._host.connect(request.module, request.shared)
            else:
                value = await self._host.call(request.module, request.fn, request.args, waited_ms=request.waited_ms)
            reply = reply_ok(request.id, value)
        except BaseException as error:  # every request is answered, whatever went wrong
            reply = reply_error(request.id, translate(error, f"{request.op} {request.module}.{request.fn}"))
            clear_frames(error)  # they held the request's arguments
        self._post(to_wire_js(reply))
        if stream is not None:
            await self._stream(request.id, stream)

    async def _stream(self, request_id: int, stream: BodyStream) -> None:
        """A streamed body after its reply, each piece as it comes; then its end or its error."""
        try:
            async for chunk in stream:
                self._post(to_wire_js(body_event(request_id, chunk=to_js(chunk))))
        except BaseException as error:  # the page's stream ends with it, whatever it was
            self._post(to_wire_js(body_event(request_id, error=translate(error, "box.fetch body"))))
        else:
            self._post(to_wire_js(body_event(request_id, end=True)))

    async def _fetch(self, request: Request) -> tuple[Any, BodyStream | None]:
        head = request.head
        edge = EdgeRequest(method=str(head.method).upper(), url=str(head.url),
                           headers=[(str(k), str(v)) for k, v in head.headers.to_py()], body=request.body)
        response = await self._http.handle(edge)
        body, stream = response.body, None
        if isinstance(body, BodyStream):  # the body comes after the reply, in body events (_stream)
            body, stream = None, body
        elif isinstance(body, bytes):
            body = to_js(body)
        return to_wire_js({"status": response.status, "statusText": response.status_text,
                           "headers": [list(h) for h in response.headers], "body": body, "stream": stream is not None}), stream
