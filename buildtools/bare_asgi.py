"""The ASGI ceiling for `build.py bench --edge`: an app that reads the request and
answers a fixed verdict with no work at all, served by the same uvicorn as the
edge. Its requests/s is the most any ASGI app, the edge included, can reach on
this machine under the same load generator."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

VERDICT = b'{"verdict":"pass","reasons":[]}\n'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(VERDICT)).encode())]


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": VERDICT})
