"""The host's Platform in the browser: fetch, sha256, compile and start guests in workers."""

from __future__ import annotations

import asyncio

from typing import Any

import js
from pyodide.ffi import JsException, to_js

from .._errors import ClosedError, DeniedError, EdgeBoxError, LoadError, NetworkError, NotFoundError, SignatureError
from .._guest_protocol import GuestOp
from .._host import GuestServices
from .._lifecycle import Death
from .._manifest import ModuleSpec
from .._platform import HttpRequest, HttpResponse, Progress
from ._ffi import to_wire_js
from ._guest import WorkerGuest

__all__ = ["BrowserPlatform"]


class BrowserPlatform:
    def __init__(self, guest_script_url: str, spare_worker: Any = None, prefetched: dict[str, Any] | None = None,
                 max_message_bytes: int = 64 * 1024 * 1024, fetch_module: Any = None) -> None:
        self._guest_script_url = guest_script_url
        self._max_message_bytes = max_message_bytes
        self._spare = spare_worker or self._new_worker()
        # worker.js's fetchModule: (url, sha256) -> promise of {status, statusText, bytes, module},
        # the module compiled from the same bytes at once (kept decoded under sha256, or streamed).
        self._fetch_module = fetch_module
        # url -> promise of fetchModule's answer: fetched and compiled while Python booted.
        self._prefetched = dict(prefetched or {})
        self._compiled: dict[str, tuple[bytes, Any]] = {}  # url -> (the bytes, a promise of their compiled module)
        # id of bytes fetch_bytes returned -> (those bytes, a promise of their sha256 worker.js took)
        self._digests: dict[int, tuple[bytes, Any]] = {}

    async def fetch_bytes(self, url: str, progress: Progress, sha256: str | None = None) -> bytes:
        early = self._prefetched.pop(url, None)
        found = await early if early is not None else None
        if found is None:
            progress(0, None)
            try:
                found = await self._fetch_module(url, sha256)
            except JsException as error:
                raise LoadError(f"could not fetch {url}: {error}") from None
            if found.bytes is None:
                cls = NotFoundError if found.status == 404 else LoadError
                raise cls(f"GET {url} answered {found.status} {found.statusText}")
        # One read and one copy into Python: reading chunk by chunk through
        # the FFI costs more than it reports.
        data = found.bytes.to_bytes()
        self._compiled[url] = (data, found.module)
        if sha256 is not None and getattr(found, "digest", None) is not None:
            self._digests[id(data)] = (data, found.digest)
        progress(len(data), len(data))
        return data

    async def sha256_hex(self, data: bytes) -> str:
        taken = self._digests.pop(id(data), None)
        if taken is not None and taken[0] is data:  # the very bytes fetch_bytes returned: hashed as they arrived
            return str(await taken[1])
        digest = await js.crypto.subtle.digest("SHA-256", to_js(data))
        return js.Uint8Array.new(digest).to_bytes().hex()

    async def fetch_document(self, url: str) -> bytes | None:
        try:
            response = await js.fetch(url, to_wire_js({"cache": "no-store"}))
            if response.status == 404:
                return None
            if not response.ok:
                raise LoadError(f"GET {url} answered {response.status} {response.statusText}")
            return (await response.arrayBuffer()).to_bytes()
        except JsException as error:
            raise LoadError(f"could not fetch {url}: {error}") from None

    @staticmethod
    async def verify_ed25519(jwk: dict, message: bytes, signature: bytes) -> bool:
        """WebCrypto's native Ed25519 (Chromium 137 and later): whether ``signature`` signs ``message``."""
        algorithm = to_wire_js({"name": "Ed25519"})
        try:
            key = await js.crypto.subtle.importKey("jwk", to_wire_js(dict(jwk)), algorithm, False, to_js(["verify"]))
            return bool(await js.crypto.subtle.verify(algorithm, key, to_js(signature), to_js(message)))
        except JsException as error:
            raise SignatureError(f"WebCrypto could not check an Ed25519 signature: {error}") from None

    def _new_worker(self) -> Any:
        return js.Worker.new(self._guest_script_url, to_wire_js({"type": "module", "name": "edgebox-guest"}))

    def _take_worker(self) -> Any:
        """A guest worker with its scripts loaded and nothing in it yet. One is
        kept ready, so that starting a guest never waits for a worker to boot.
        Its replacement is made only once that start is over (``start_guest``):
        a new worker loading its scripts beside a Go program's start slowed the
        start (box ready to first answered call 81-127 ms with, 41-74 ms without)."""
        worker, self._spare = self._spare or self._new_worker(), None
        return worker

    def _refill(self) -> None:
        if self._spare is None:
            self._spare = self._new_worker()

    async def start_guest(self, spec: ModuleSpec, data: bytes, services: GuestServices) -> "WorkerGuest":
        try:
            return await self._start_guest(spec, data, services)
        finally:
            asyncio.get_event_loop().call_soon(self._refill)

    async def _start_guest(self, spec: ModuleSpec, data: bytes, services: GuestServices) -> "WorkerGuest":
        worker = self._take_worker()
        early = self._compiled.pop(spec.url, None)
        try:
            # Compiled from the response only if these are the very bytes that were verified (nothing rewrote them).
            module = await early[1] if early is not None and early[0] is data else None
            module = module or await js.WebAssembly.compile(to_js(data))
        except BaseException as error:
            # Cancelled too (startup_ms ran out while it compiled): the worker is nobody's yet.
            worker.terminate()
            if isinstance(error, JsException):
                raise LoadError(f"module {spec.name!r}: not a valid WebAssembly module: {error}") from None
            raise
        guest = WorkerGuest(spec.name, worker, services, spec.abi)
        try:
            grant = spec.policy.grant()
            grant["files"] = {path: to_js(content) for path, content in grant["files"].items()}
            exports = await guest.request({"op": GuestOp.LOAD, "name": spec.name, "abi": spec.abi, "module": module,
                                           "grant": grant, "watch": guest.slots, "maxMessageBytes": self._max_message_bytes})
        except BaseException as error:
            guest.close(Death(error if isinstance(error, EdgeBoxError) else ClosedError(f"module {spec.name!r}: start-up cancelled")))
            raise
        names = exports.to_py() if hasattr(exports, "to_py") else exports
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            guest.close(Death(LoadError(f"module {spec.name!r} did not name its exports")))
            raise LoadError(f"module {spec.name!r}: its exports are not a list of function names")
        guest.exports = frozenset(names)
        guest.started = True
        return guest

    async def http(self, request: HttpRequest, *, credentials: str, timeout_ms: int) -> HttpResponse:
        """The browser's fetch, bounded by timeout_ms; cancelling the awaiting task aborts it.
        The body is the response's ReadableStream (or None), read by whoever it is handed to."""
        controller = js.AbortController.new()
        signal = js.AbortSignal.any(to_js([controller.signal, js.AbortSignal.timeout(timeout_ms)]))
        init = {"method": request.method, "headers": [list(pair) for pair in request.headers],
                "redirect": "manual", "credentials": credentials, "signal": signal}
        if request.body is not None:
            init["body"] = request.body
        try:
            response = await js.fetch(request.url, to_wire_js(init))
        except asyncio.CancelledError:
            controller.abort()
            raise
        except JsException as error:
            raise NetworkError(f"{request.method} {request.url}: {error}") from None
        if response.type == "opaqueredirect":
            raise DeniedError(f"{request.method} {request.url} answered with a redirect; "
                              "EdgeBox does not follow a redirect whose target it cannot check")
        headers = [(str(name), str(value)) for name, value in response.headers.entries()]
        return HttpResponse(status=int(response.status), status_text=str(response.statusText), headers=headers, body=response.body)
