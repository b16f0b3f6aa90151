"""box.fetch on the host side: route by path prefix, pick the version (gray
release), run the route's middleware, and hand the request to the guest's
net/http handler (sdk/http.go: edgebox.Serve)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from typing import Any, Callable, Mapping

from ._errors import EdgeBoxError, GuestError, NotFoundError, TimeoutError, clear_frames
from ._exchange import BodyStream, EdgeRequest, EdgeResponse
from ._guest_protocol import HTTP_EXPORT
from ._host import Host
from ._http_answer import AnswerReader
from ._middleware import Handler, build_middleware
from ._routes import Route

__all__ = ["HTTP_EXPORT", "MAX_PARTS", "MAX_PARTS_BYTES", "EdgeHttp", "json_response"]

# A streamed answer's parts: at most this many (the guest worker sends one per
# 10 ms at most, so a call of timeout_ms 5 s sends 500) and bytes in all (the
# page's default maxMessageBytes, what a whole answer may be).
MAX_PARTS = 10_000
MAX_PARTS_BYTES = 64 * 1024 * 1024
# The call is sent at once, not at the event loop's next turn, where the Python has it (3.12: Pyodide's).
_EAGER = {"eager_start": True} if sys.version_info >= (3, 12) else {}


def json_response(status: int, value: Any) -> EdgeResponse:
    return EdgeResponse(status, [("content-type", "application/json")], json.dumps(value).encode())


class EdgeHttp:
    def __init__(self, host: Host, routes: tuple[Route, ...], *, user_id: str, user_agent: str,
                 flags: Mapping[str, Any], emit: Callable[[str], None] = lambda line: None) -> None:
        self.host = host
        self.routes = routes
        self.user_id = user_id
        self.user_agent = user_agent
        self.flags = dict(flags)
        self.requests: deque[dict[str, Any]] = deque(maxlen=200)
        self.spans: deque[dict[str, Any]] = deque(maxlen=200)
        self._emit = emit
        self.set_routes(routes)

    def set_routes(self, routes: tuple[Route, ...]) -> None:
        """Serve ``routes`` from the next request on (a live update's; both assigned at once)."""
        self._chains, self.routes = {route.prefix: self._chain(route, self._emit) for route in routes}, routes

    def _chain(self, route: Route, emit: Callable[[str], None]) -> Handler:
        handler: Handler = self._to_guest
        for i, (name, options) in reversed(list(enumerate(route.middleware))):
            middleware = build_middleware(name, options, where=f"route {route.prefix} middleware[{i}]",
                                          lines=self.requests, spans=self.spans, emit=emit)
            handler = (lambda mw, nxt: lambda request: mw(request, nxt))(middleware, handler)
        return handler

    def route_for(self, path: str) -> Route | None:
        return next((route for route in self.routes if path.startswith(route.prefix)), None)

    async def handle(self, request: EdgeRequest, *, flags: Mapping[str, Any] | None = None,
                     user_id: str | None = None) -> EdgeResponse:
        """Answer ``request``. The release reads its User-Agent header, and ``flags``
        and ``user_id`` when given (the edge's, per request), else the box's own."""
        route = self.route_for(request.path)
        if route is None:
            return json_response(404, {"error": f"no route for {request.path}"})
        version, module = route.pick(user_agent=request.header("user-agent") or self.user_agent,
                                     flags=self.flags if flags is None else flags,
                                     user_id=self.user_id if user_id is None else user_id)
        request.state.update(module=module, version=version, route=route.prefix)
        started = time.monotonic()
        response = await self._chains[route.prefix](request)
        response.set_header("x-edgebox-version", version)
        metrics = self.host.metrics
        metrics.inc("edgebox_requests_total", module, version, route.prefix, str(response.status))
        metrics.observe(module, version, route.prefix, time.monotonic() - started)
        return response

    async def _to_guest(self, request: EdgeRequest) -> EdgeResponse:
        head = json.dumps({"method": request.method, "url": request.url, "headers": [list(h) for h in request.headers]})
        module = request.state["module"]
        streamed = _Streamed(request.method, lambda error: self._refused(module, error))
        call = asyncio.Task(self.host.call(module, HTTP_EXPORT, [head, request.body], on_part=streamed.part),
                            loop=asyncio.get_event_loop(), **_EAGER)
        call.add_done_callback(streamed.answered)
        await streamed.ready  # the call's end, or the head of an answer that comes in parts
        if streamed.response is not None:
            return streamed.response  # its body streams the rest (_Streamed.answered ends it)
        # Read, not raised here: raised, it would keep this frame (and the request's body) in a cycle with the call.
        error = call.exception()
        if error is not None:
            clear_frames(error)
            if isinstance(error, NotFoundError):
                return json_response(502, {"error": {"code": error.code, "message": f"{module} does not serve HTTP: {error.message}"}})
            if not isinstance(error, EdgeBoxError):
                raise error
            return json_response(504 if isinstance(error, TimeoutError) else 502,
                                 {"error": {"code": error.code, "message": error.message}})
        try:
            return streamed.finish(call.result())
        except GuestError as error:
            # A handler's answer the page's Response could not take (or must not): refused, audited, 502.
            return json_response(502, {"error": {"code": error.code, "message": self._refused(module, error)}})

    def _refused(self, module: str, error: GuestError) -> str:
        """Audit a handler's answer refused by the rules (_http_answer.py); the message that says why."""
        message = f"{module}: {error.message}"
        self.host.audit(module, "http", message[:500], error.code)
        return message


class _Streamed:
    """One answer read as it comes: its parts (``part``), then the rest the call
    returns (``finish``). Once the final response's head is read from parts, the
    response (``ready``) has a ``BodyStream`` for the rest of its body."""

    def __init__(self, method: str, refused: Callable[[GuestError], Any]) -> None:
        self.reader = AnswerReader(method)
        self._refused = refused  # audits a stream the rules cut short (before its head: the caller does)
        self.ready: asyncio.Future[None] = asyncio.get_event_loop().create_future()
        self.response: EdgeResponse | None = None  # answered before the call ended
        self.error: GuestError | None = None
        self._parts = self._bytes = 0

    def part(self, data: bytes) -> None:
        if self.error is not None:
            return
        self._parts += 1
        self._bytes += len(data)
        try:
            if self._parts > MAX_PARTS or self._bytes > MAX_PARTS_BYTES:
                raise GuestError(f"bad HTTP answer: more than {MAX_PARTS} parts or {MAX_PARTS_BYTES} bytes streamed")
            self.reader.feed(data)
        except GuestError as error:
            self.error = error
            if self._stream is not None:
                self._refused(error)
                self._stream.end(error)
            return
        if self.response is None and self.reader.response is not None:
            self.response = self.reader.response
            if self.reader.has_body:
                self.response.body = BodyStream()
            self.ready.set_result(None)
        if self._stream is not None:
            self._stream.push(self.reader.take_body())

    @property
    def _stream(self) -> BodyStream | None:
        body = self.response.body if self.response is not None else None
        return body if isinstance(body, BodyStream) else None

    def answered(self, call: "asyncio.Task[Any]") -> None:
        """The call ended: with the rest of the answer, or an error."""
        failure = None if call.cancelled() else call.exception()  # read here: a cut stream leaves it unread
        if failure is not None:
            clear_frames(failure)  # the body stream keeps it; its frames held the request's body
        if not self.ready.done():
            self.ready.set_result(None)
            return  # the caller reads the call's result
        body = self._stream
        if body is None or self.error is not None:
            return
        if call.cancelled():
            body.end(TimeoutError("the answer was given up before it ended"))
        elif failure is not None:
            body.end(failure if isinstance(failure, EdgeBoxError) else GuestError(str(failure)))
        else:
            try:
                self.finish(call.result())
                body.end()
            except GuestError as error:
                self._refused(error)
                body.end(error)

    def finish(self, rest: Any) -> EdgeResponse:
        """The answer with its last bytes, ``rest``: complete, or GuestError (the rule it broke)."""
        if self.error is not None:
            raise self.error
        if not isinstance(rest, (bytes, bytearray, memoryview)):
            raise GuestError(f"bad HTTP answer: the answer is a {type(rest).__name__}, not the bytes of an HTTP response")
        self.reader.feed(rest)
        self.reader.end()
        if self.response is None:  # the head came with the rest: the body is whole
            self.response = self.reader.response
            assert self.response is not None
            if self.reader.has_body:
                self.response.body = self.reader.take_body()
        elif self._stream is not None:
            self._stream.push(self.reader.take_body())
        return self.response
