"""A request and its response as box.fetch's host side sees them. Bodies are
opaque (JavaScript bytes in the browser): the host routes on the head and
never copies a body."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

__all__ = ["EdgeRequest", "EdgeResponse"]


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
