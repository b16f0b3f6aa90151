"""A request and its response as box.fetch's host side sees them. Bodies are
opaque (JavaScript bytes in the browser): the host routes on the head and
never copies a body. A streamed response's body is a ``BodyStream``."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

__all__ = ["BodyStream", "EdgeRequest", "EdgeResponse"]


def _get(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def _set(headers: list[tuple[str, str]], name: str, value: str) -> None:
    headers[:] = [(k, v) for k, v in headers if k.lower() != name.lower()]
    headers.append((name, value))


@dataclass
class EdgeRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: Any = None
    state: dict[str, Any] = field(default_factory=dict)  # what middleware learns (trace id, module, version)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    def header(self, name: str) -> str | None:
        return _get(self.headers, name)

    def set_header(self, name: str, value: str) -> None:
        _set(self.headers, name, value)


@dataclass
class EdgeResponse:
    status: int
    headers: list[tuple[str, str]]
    body: Any = None
    reason: str | None = None  # the status line's reason phrase; None: the standard one for status

    @property
    def status_text(self) -> str:
        """What the page's Response.statusText says (RFC 9110 section 15 phrases by default)."""
        if self.reason is not None:
            return self.reason
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def header(self, name: str) -> str | None:
        return _get(self.headers, name)

    def set_header(self, name: str, value: str) -> None:
        _set(self.headers, name, value)


class BodyStream:
    """A response body that arrives in pieces while the guest's handler still
    writes: ``async for chunk in stream`` yields ``bytes`` in order and ends
    with the body, or raises the ``EdgeBoxError`` that cut it short (the
    guest's time limit, a broken answer). One reader."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._ended = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def push(self, chunk: bytes) -> None:
        if chunk and not self._ended:
            self._chunks.append(chunk)
            self._wake()

    def end(self, error: BaseException | None = None) -> None:
        """No more chunks; ``error``: the body was cut short by it."""
        if not self._ended:
            self._ended, self._error = True, error
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> "BodyStream":
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._waiter = asyncio.get_event_loop().create_future()
            await self._waiter
        return self._chunks.popleft()
