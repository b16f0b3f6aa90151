"""The browser side of the host: JavaScript fetch, guest workers, the page channel.

Only this package imports ``js``/``pyodide``; it is the one seam where
JavaScript errors become ``EdgeBoxError``s. ``worker.js`` calls ``start`` once
Python is up and feeds every page message to the dispatcher it returns. One
concept a module: ``_ffi`` (conversions and the error seam), ``_platform``
(fetch, sha256, compile, start a guest), ``_guest`` (one guest worker),
``_dispatcher`` (page messages).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import js
from pyodide.ffi import create_proxy

from .._errors import ConfigError, LoadError
from .._host import Host
from .._http import EdgeHttp
from .._lifecycle import Death
from .._manifest import Manifest
from .._protocol import Op, progress_event, reply_error
from ._dispatcher import Dispatcher
from ._ffi import to_wire_js, translate
from ._platform import BrowserPlatform

__all__ = ["start"]


async def start(init: Any, post: Any) -> Any:
    """Read and validate the manifest, then return the page-message dispatcher.

    A failure is posted to the page as the boot reply and ``None`` returned.
    """
    try:
        manifest = _read_manifest(str(init.manifestURL), init.manifest.to_py(), init.modulesJSON, init.routesJSON)
        warm = list(init.warm.to_py()) if init.warm else []
        unknown = [name for name in warm if manifest.get(name) is None]
        if unknown:
            raise ConfigError(f"warm: no module {unknown[0]!r}; the manifest has {sorted(manifest.modules)}")
    except BaseException as error:
        post(to_wire_js(reply_error(None, translate(error, "reading the manifest"))))
        return None

    def on_progress(phase: str, loaded: int, total: int | None) -> None:
        post(to_wire_js(progress_event(phase, loaded, total)))

    def on_audit(event) -> None:
        js.console.warn(f"EdgeBox audit: {event.module} {event.capability} {event.code}: {event.detail}")
        post(to_wire_js({"op": Op.AUDIT, "event": event.to_wire()}))

    def on_log(module: str, fd: int, text: str) -> None:
        (js.console.warn if fd == 2 else js.console.log)(f"[{module}] {text}")

    def on_detach(module: str, death: Death) -> None:
        post(to_wire_js({"op": Op.DETACH, "module": module, **death.to_wire()}))

    host = Host(
        manifest,
        BrowserPlatform(str(init.guestURL), init.spareWorker, init.prefetched.to_py(depth=1) if init.prefetched else None,
                        max_message_bytes=int(init.maxMessageBytes or 64 * 1024 * 1024)),
        origin=str(js.location.origin),
        gojs_imports=frozenset(init.gojsImports.to_py()),
        on_progress=on_progress,
        on_audit=on_audit,
        on_log=on_log,
        on_detach=on_detach,
    )
    asyncio.ensure_future(host.watch())
    for name in warm:
        # Started now, answered later: the first call finds it running. A failure
        # here is forgotten and reported by that first call.
        asyncio.ensure_future(host.guest(name)).add_done_callback(lambda task: task.exception())
    http = EdgeHttp(host, manifest.routes, user_id=str(init.userId), user_agent=str(init.userAgent),
                    flags=init.flags.to_py() if init.flags else {}, emit=lambda line: js.console.log(f"EdgeBox request {line}"))
    return create_proxy(Dispatcher(host, http, post))


def _read_manifest(url: str, response: dict, overrides_json: str | None, routes_json: str | None) -> Manifest:
    if response["status"] != 200:
        raise LoadError(f"manifest {url} answered {response['status']} {response['statusText']}")
    try:
        data = json.loads(response["text"])
    except ValueError as error:
        raise ConfigError(f"manifest {url} is not JSON: {error}") from None
    overrides = json.loads(overrides_json) if overrides_json else None
    routes = json.loads(routes_json) if routes_json else None
    return Manifest.parse(data, url=url, overrides=overrides, routes=routes)
