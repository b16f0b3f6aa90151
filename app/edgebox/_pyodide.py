"""The browser side of the host: JavaScript fetch, SubtleCrypto, guest workers.

Only this module imports ``js``/``pyodide``; it is the one seam where
JavaScript errors become ``EdgeBoxError``s. ``worker.js`` calls ``start`` once
Python is up and feeds every page message to the dispatcher it returns.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from itertools import count
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy, to_js

from ._errors import (
    ClosedError,
    ConfigError,
    CrashedError,
    EdgeBoxError,
    GuestError,
    LoadError,
    NotFoundError,
)
from ._guest_protocol import GUEST_ERROR_CODES, GuestOp
from ._host import Host
from ._manifest import Manifest, ModuleSpec
from ._platform import Progress
from ._protocol import CallRequest, parse_request, progress_event, reply_error, reply_ok

__all__ = ["start"]


def _js(value: Any) -> Any:
    return to_js(value, dict_converter=js.Object.fromEntries)


def _translate(error: BaseException, what: str) -> EdgeBoxError:
    if isinstance(error, EdgeBoxError):
        return error
    if isinstance(error, JsException):
        return EdgeBoxError(f"{what}: {error}")
    return EdgeBoxError(f"{what}: {type(error).__name__}: {error}", stack=traceback.format_exc())


class BrowserPlatform:
    def __init__(self, guest_script_url: str) -> None:
        self._guest_script_url = guest_script_url

    async def fetch_bytes(self, url: str, progress: Progress) -> Any:
        try:
            response = await js.fetch(url)
        except JsException as error:
            raise LoadError(f"could not fetch {url}: {error}") from None
        if not response.ok:
            cls = NotFoundError if response.status == 404 else LoadError
            raise cls(f"GET {url} answered {response.status} {response.statusText}")
        total = int(response.headers.get("content-length") or 0) or None
        reader = response.body.getReader()
        chunks, loaded = js.Array.new(), 0
        while not (chunk := await reader.read()).done:
            chunks.push(chunk.value)
            loaded += chunk.value.length
            progress(loaded, total)
        return await js.Blob.new(chunks).arrayBuffer()

    async def sha256_hex(self, data: Any) -> str:
        digest = await js.crypto.subtle.digest("SHA-256", data)
        return js.Uint8Array.new(digest).to_bytes().hex()

    def byte_length(self, data: Any) -> int:
        return int(data.byteLength)

    async def start_guest(self, spec: ModuleSpec, data: Any) -> "WorkerGuest":
        try:
            module = await js.WebAssembly.compile(data)
        except JsException as error:
            raise LoadError(f"module {spec.name!r}: not a valid WebAssembly module: {error}") from None
        worker = js.Worker.new(self._guest_script_url, _js({"type": "module", "name": f"edgebox-guest:{spec.name}"}))
        guest = WorkerGuest(spec.name, worker)
        try:
            exports = await guest.request(
                {"op": GuestOp.LOAD, "name": spec.name, "module": module, "env": dict(spec.env), "args": list(spec.args)}
            )
        except BaseException:
            guest.close()
            raise
        guest.exports = frozenset(str(name) for name in exports)
        return guest


class WorkerGuest:
    """One guest instance in its own worker (its own realm), replies matched by id."""

    def __init__(self, name: str, worker: Any) -> None:
        self.name = name
        self.exports: frozenset[str] = frozenset()
        self._worker = worker
        self._ids = count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._proxies = [create_proxy(self._on_message), create_proxy(self._on_error)]
        worker.onmessage, worker.onerror = self._proxies

    def request(self, message: dict[str, Any]) -> asyncio.Future[Any]:
        request_id = next(self._ids)
        future = asyncio.get_event_loop().create_future()
        self._pending[request_id] = future
        self._worker.postMessage(_js({**message, "id": request_id}))
        return future

    async def call(self, fn: str, args: Any) -> Any:
        return await self.request({"op": GuestOp.CALL, "fn": fn, "args": args})

    def _on_message(self, event: Any) -> None:
        data = event.data
        future = self._pending.pop(data.id, None)
        if future is None or future.done():
            return
        if data.ok:
            future.set_result(data.value)
            return
        wire = data.error.to_py()
        code = wire.get("code") if wire.get("code") in GUEST_ERROR_CODES else GuestError.code
        error = EdgeBoxError.from_wire({**wire, "code": code})
        if data.crashed:
            error = CrashedError(f"module {self.name!r} stopped: {wire.get('message', '')}", stack=wire.get("stack"))
        future.set_exception(error)

    def _on_error(self, event: Any) -> None:
        event.preventDefault()
        self._fail_all(CrashedError(f"module {self.name!r} crashed: {getattr(event, 'message', 'worker error')}"))

    def _fail_all(self, error: EdgeBoxError) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        self._worker.terminate()
        self._fail_all(ClosedError(f"module {self.name!r} was unloaded"))
        for proxy in self._proxies:
            proxy.destroy()
        self._proxies = []


class Dispatcher:
    """The one dispatch point for page messages; every request gets exactly one reply."""

    def __init__(self, host: Host, post: Any) -> None:
        self._host = host
        self._post = post
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, message: Any) -> None:
        try:
            request = parse_request(lambda name: getattr(message, name, None))
        except EdgeBoxError as error:
            self._post(_js(reply_error(getattr(message, "id", None), error)))
            return
        task = asyncio.ensure_future(self._serve(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: CallRequest) -> None:
        try:
            value = await self._host.call(request.module, request.fn, request.args)
            reply = reply_ok(request.id, value)
        except BaseException as error:  # every request is answered, whatever went wrong
            reply = reply_error(request.id, _translate(error, f"call {request.module}.{request.fn}"))
        self._post(_js(reply))


async def start(init: Any, post: Any) -> Any:
    """Read and validate the manifest, then return the page-message dispatcher.

    A failure is posted to the page as the boot reply and ``None`` returned.
    """
    try:
        manifest = await _read_manifest(str(init.manifestURL), init.modulesJSON)
    except BaseException as error:
        post(_js(reply_error(None, _translate(error, "reading the manifest"))))
        return None

    def on_progress(phase: str, loaded: int, total: int | None) -> None:
        post(_js(progress_event(phase, loaded, total)))

    host = Host(manifest, BrowserPlatform(str(init.guestURL)), on_progress=on_progress)
    return create_proxy(Dispatcher(host, post))


async def _read_manifest(url: str, overrides_json: str | None) -> Manifest:
    try:
        response = await js.fetch(url)
        if not response.ok:
            raise LoadError(f"manifest {url} answered {response.status} {response.statusText}")
        data = json.loads(await response.text())
    except JsException as error:
        raise LoadError(f"could not fetch manifest {url}: {error}") from None
    except ValueError as error:
        raise ConfigError(f"manifest {url} is not JSON: {error}") from None
    overrides = json.loads(overrides_json) if overrides_json else None
    return Manifest.parse(data, url=url, overrides=overrides)
