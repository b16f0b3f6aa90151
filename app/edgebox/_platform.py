"""What the host needs from the machine it runs on, and nothing more.

The host's decisions (what to load, whether bytes are trusted, what a guest
may reach) live in ``_host.py`` and run under CPython too; the browser side of
them lives in ``_pyodide/``. Tests give the host a platform of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ._manifest import ModuleSpec

if TYPE_CHECKING:
    from ._guest_protocol import WatchReading
    from ._host import GuestServices
    from ._lifecycle import Death

__all__ = ["Guest", "HttpRequest", "HttpResponse", "Platform", "Progress"]

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class HttpRequest:
    url: str
    method: str = "GET"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None  # bytes-like or None; passed through untouched


@dataclass(frozen=True)
class HttpResponse:
    status: int
    status_text: str
    headers: list[tuple[str, str]]
    body: Any


class Guest(Protocol):
    """A started module instance, isolated from the host."""

    exports: frozenset[str]

    async def call(self, fn: str, args: Any, on_part: "Callable[[bytes], None] | None" = None) -> Any:
        """``fn``'s answer; ``on_part`` takes the parts of an HTTP answer sent before it, in order."""

    async def connect(self, shared: Any) -> None:
        """Let the page call this instance directly over ``shared``."""

    def watch(self) -> "WatchReading | None":
        """The guest's watch slots now (for the watchdog), or None if it keeps none."""

    def close(self, death: "Death") -> None:
        """End the instance; settle every call waiting on it by ``death.fate``."""


class Platform(Protocol):
    """A platform may name the module kinds it runs in ``abis`` (default: all of
    ``ABIS``); the host refuses any other kind with ``LoadError`` before fetching it."""

    async def fetch_bytes(self, url: str, progress: Progress, sha256: str | None = None) -> bytes:
        """The body of ``url``; raises ``LoadError``/``NotFoundError``. ``sha256``
        (hex) is what the manifest says the bytes hash to: a platform may answer
        with bytes it kept from ``url`` under it (the browser's decoded cache,
        web/decoded-cache.js); the caller verifies them all the same."""

    async def sha256_hex(self, data: bytes) -> str:
        """The platform's fastest sha256 (the browser's is native; Pyodide's hashlib is not)."""

    async def fetch_document(self, url: str) -> bytes | None:
        """The body of ``url`` fetched past any HTTP cache (a manifest and its signature:
        a validator of second-granular mtime and size could pair a new one with an old
        one), None for a 404; ``LoadError`` otherwise."""

    async def verify_ed25519(self, jwk: dict, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``jwk``'s Ed25519 signature of ``message`` (the browser's
        is WebCrypto's); needed only for signed manifests (``_manifest_trust``)."""

    async def start_guest(self, spec: ModuleSpec, data: bytes, services: "GuestServices") -> Guest:
        """Compile and run verified, prepared bytes in their own realm."""

    async def http(self, request: HttpRequest, *, credentials: str, timeout_ms: int) -> HttpResponse:
        """Perform a request the policy granted; a redirect raises ``DeniedError``
        (its target cannot be re-checked before it is followed); no answer
        within ``timeout_ms`` raises ``NetworkError``."""
