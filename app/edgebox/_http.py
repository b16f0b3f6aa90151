"""box.fetch on the host side: route by path prefix, pick the version (gray
release), run the route's middleware, and hand the request to the guest's
net/http handler (sdk/http.go: edgebox.Serve)."""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Callable, Mapping

from ._errors import EdgeBoxError, GuestError, NotFoundError, TimeoutError
from ._exchange import EdgeRequest, EdgeResponse
from ._guest_protocol import HTTP_EXPORT
from ._host import Host
from ._http_answer import parse_answer
from ._middleware import Handler, build_middleware
from ._routes import Route

__all__ = ["HTTP_EXPORT", "EdgeHttp", "json_response"]


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
        try:
            result = await self.host.call(module, HTTP_EXPORT, [head, request.body])
        except NotFoundError as error:
            return json_response(502, {"error": {"code": error.code, "message": f"{module} does not serve HTTP: {error.message}"}})
        except EdgeBoxError as error:
            return json_response(504 if isinstance(error, TimeoutError) else 502,
                                 {"error": {"code": error.code, "message": error.message}})
        try:
            return parse_answer(result, request.method)
        except GuestError as error:
            # A handler's answer the page's Response could not take (or must not): refused, audited, 502.
            message = f"{module}: {error.message}"
            self.host.audit(module, "http", message[:500], error.code)
            return json_response(502, {"error": {"code": error.code, "message": message}})
