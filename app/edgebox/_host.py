"""The host: decides what is loaded, verifies it, and routes calls to guests."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Callable

from ._errors import CrashedError, IntegrityError, NotFoundError
from ._manifest import Manifest, ModuleSpec
from ._platform import Guest, Platform

__all__ = ["Host"]

ProgressSink = Callable[[str, int, "int | None"], None]


class Host:
    def __init__(self, manifest: Manifest, platform: Platform, on_progress: ProgressSink | None = None) -> None:
        self.manifest = manifest
        self._platform = platform
        self._on_progress = on_progress or (lambda phase, loaded, total: None)
        self._guests: dict[str, asyncio.Future[Guest]] = {}

    async def call(self, module: str, fn: str, args: Any) -> Any:
        guest = await self.guest(module)
        if fn not in guest.exports:
            raise NotFoundError(f"module {module!r} has no function {fn!r}; it exports {sorted(guest.exports)}")
        try:
            return await guest.call(fn, args)
        except CrashedError:
            self.forget(module)
            raise

    async def guest(self, module: str) -> Guest:
        """The running instance of ``module``, loading it on first use.

        Concurrent first calls share one load; a failed load is forgotten so
        that the next call tries again (a redeployed module can recover).
        """
        spec = self.manifest.get(module)
        if spec is None:
            raise NotFoundError(f"no module {module!r}; the manifest has {sorted(self.manifest.modules)}")
        pending = self._guests.get(module)
        if pending is None:
            pending = self._guests[module] = asyncio.ensure_future(self._load(spec))
        try:
            return await asyncio.shield(pending)
        except BaseException:
            if self._guests.get(module) is pending and pending.done():
                del self._guests[module]
            raise

    def forget(self, module: str) -> None:
        """Drop a guest that can no longer answer, so the next call restarts it."""
        pending = self._guests.pop(module, None)
        if pending is not None and pending.done() and not pending.cancelled() and pending.exception() is None:
            pending.result().close()

    async def _load(self, spec: ModuleSpec) -> Guest:
        phase = f"module:{spec.name}"
        data = await self._platform.fetch_bytes(
            spec.url, lambda loaded, total: self._on_progress(phase, loaded, total)
        )
        verify(spec, self._platform.byte_length(data), await self._platform.sha256_hex(data))
        return await self._platform.start_guest(spec, data)

    def close(self) -> None:
        for module in list(self._guests):
            self.forget(module)


def verify(spec: ModuleSpec, size: int, sha256: str) -> None:
    """Refuse bytes that differ from what the manifest signed: they never run."""
    if spec.size is not None and size != spec.size:
        raise IntegrityError(
            f"module {spec.name!r}: {spec.url} is {size} bytes, the manifest says {spec.size}; refusing to run it"
        )
    if not hmac.compare_digest(sha256, spec.sha256):
        raise IntegrityError(
            f"module {spec.name!r}: sha256 of {spec.url} is {sha256}, the manifest says {spec.sha256}; "
            "refusing to run it"
        )
