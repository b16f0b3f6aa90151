"""The host's Platform on a server: module bytes from disk or HTTP, hashlib's
sha256, wasmtime instances, and httpx for the network requests a policy grants.

A module is compiled once per process and its machine code cached on disk
(``Module.serialize``, keyed by the sha256 of the bytes that were verified and
prepared, and by wasmtime's version), so that a second worker or a restart
only maps it in. The cache directory is as trusted as the server's own code:
wasmtime runs what it finds there without checking it.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import os
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import wasmtime

from edgebox._errors import DeniedError, LoadError, NetworkError, NotFoundError
from edgebox._host import GuestServices
from edgebox._manifest import ModuleSpec
from edgebox._platform import HttpRequest, HttpResponse, Progress

from ._guest import TICK_S, WasmtimeGuest

__all__ = ["WasmtimePlatform", "engine"]

_WASMTIME = importlib.metadata.version("wasmtime")
_ENGINE: wasmtime.Engine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> wasmtime.Engine:
    """The process's one engine, with epoch interruption and an epoch that ticks every ``TICK_S``."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            config = wasmtime.Config()
            config.epoch_interruption = True
            _ENGINE = wasmtime.Engine(config)
            threading.Thread(target=_tick, args=(_ENGINE,), name="edgebox-epoch", daemon=True).start()
        return _ENGINE


def _tick(engine: wasmtime.Engine) -> None:
    """The epoch follows the clock: a tick for every ``TICK_S`` that passed, however late
    this thread wakes on a busy machine (a deadline counts ticks, not time)."""
    ticked = time.monotonic()
    while True:
        time.sleep(TICK_S)
        now = time.monotonic()
        while ticked + TICK_S <= now:
            engine.increment_epoch()
            ticked += TICK_S


class WasmtimePlatform:
    """``edgebox.Platform`` for CPython: runs GOOS=wasip1 modules only (``abis``);
    a GOOS=js module needs a JavaScript engine and is refused with ``E_LOAD``."""

    abis = ("wasip1",)

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._compiled: dict[str, wasmtime.Module] = {}
        self._compiling: dict[str, asyncio.Future[wasmtime.Module]] = {}
        self._client: httpx.AsyncClient | None = None

    async def fetch_bytes(self, url: str, progress: Progress, sha256: str | None = None) -> bytes:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                raise NotFoundError(f"{url}: no such file") from None
            except OSError as error:
                raise LoadError(f"could not read {url}: {error}") from None
        else:
            try:
                response = await self._http_client().get(url)
            except httpx.HTTPError as error:
                raise LoadError(f"could not fetch {url}: {error}") from None
            if response.status_code != 200:
                cls = NotFoundError if response.status_code == 404 else LoadError
                raise cls(f"GET {url} answered {response.status_code} {response.reason_phrase}")
            data = response.content
        progress(len(data), len(data))
        return data

    async def sha256_hex(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    async def compile(self, data: bytes) -> wasmtime.Module:
        """``data`` compiled, from this process's memory, the disk cache, or cranelift (in a thread)."""
        key = hashlib.sha256(data).hexdigest()
        if key in self._compiled:
            return self._compiled[key]
        pending = self._compiling.get(key)
        if pending is None:
            pending = self._compiling[key] = asyncio.ensure_future(asyncio.to_thread(self._compile, key, data))
        try:
            module = await asyncio.shield(pending)
        finally:
            if pending.done():
                self._compiling.pop(key, None)
        self._compiled[key] = module
        return module

    def _compile(self, key: str, data: bytes) -> wasmtime.Module:
        cached = self._cache_dir / f"{key}-wasmtime-{_WASMTIME}.cwasm" if self._cache_dir else None
        if cached is not None and cached.exists():
            try:
                return wasmtime.Module.deserialize_file(engine(), str(cached))
            except wasmtime.WasmtimeError:
                pass  # another wasmtime's artefact: compile afresh and replace it
        try:
            module = wasmtime.Module(engine(), data)
        except wasmtime.WasmtimeError as error:
            raise LoadError(f"not a valid WebAssembly module: {str(error).splitlines()[0]}") from None
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: a worker never maps half a file.
            fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(module.serialize())
            os.replace(tmp, cached)
        return module

    async def start_guest(self, spec: ModuleSpec, data: bytes, services: GuestServices) -> WasmtimeGuest:
        try:
            module = await self.compile(data)
        except LoadError as error:
            raise LoadError(f"module {spec.name!r}: {error.message}") from None
        guest = WasmtimeGuest(spec, engine(), module, services, asyncio.get_running_loop())
        await guest.start()
        return guest

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    async def http(self, request: HttpRequest, *, credentials: str, timeout_ms: int) -> HttpResponse:
        """A request the policy granted. A redirect is refused (``DeniedError``), as the
        browser does: its target was never checked against the policy. ``credentials``
        has no meaning here: the server holds no user's cookies."""
        body = bytes(request.body) if request.body is not None else None
        try:
            response = await self._http_client().request(request.method, request.url, headers=request.headers,
                                                         content=body, timeout=timeout_ms / 1000)
        except httpx.HTTPError as error:
            raise NetworkError(f"{request.method} {request.url}: {error or type(error).__name__}") from None
        if response.is_redirect:
            raise DeniedError(f"{request.method} {request.url} answered with a redirect; "
                              "EdgeBox does not follow a redirect whose target it cannot check")
        return HttpResponse(status=response.status_code, status_text=response.reason_phrase,
                            headers=list(response.headers.multi_items()), body=response.content)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
