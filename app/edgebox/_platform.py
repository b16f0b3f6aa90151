"""What the host needs from the machine it runs on, and nothing more.

The host's decisions (what to load, whether bytes are trusted, what to call)
live in ``_host.py`` and run under CPython too; the browser side of them lives
in ``_pyodide.py``. Tests give the host a platform of their own.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from ._manifest import ModuleSpec

__all__ = ["Guest", "Platform", "Progress"]

Progress = Callable[[int, "int | None"], None]


class Guest(Protocol):
    """A started module instance, isolated from the host."""

    exports: frozenset[str]

    async def call(self, fn: str, args: Any) -> Any: ...

    def close(self) -> None: ...


class Platform(Protocol):
    async def fetch_bytes(self, url: str, progress: Progress) -> Any:
        """The body of ``url`` as an opaque buffer; raises ``LoadError``/``NotFoundError``."""

    async def sha256_hex(self, data: Any) -> str: ...

    def byte_length(self, data: Any) -> int: ...

    async def start_guest(self, spec: ModuleSpec, data: Any) -> Guest:
        """Compile and run verified bytes in their own realm."""
