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
import time
from typing import Any

import js
from pyodide.ffi import create_proxy

from .._errors import SignatureError
from .._host import AuditEvent, Host
from .._manifest_trust import fetch_manifest
from .._http import EdgeHttp
from .._lifecycle import Death
from .._protocol import Op, open_init, progress_event, reply_error
from ._dispatcher import Dispatcher
from ._ffi import to_wire_js, translate
from ._platform import BrowserPlatform

__all__ = ["start"]


async def start(init: Any, post: Any) -> Any:
    """Read and validate the manifest, then return the page-message dispatcher.

    A failure is posted to the page as the boot reply and ``None`` returned.
    """
    def on_audit(event) -> None:
        js.console.warn(f"EdgeBox audit: {event.module} {event.capability} {event.code}: {event.detail}")
        post(to_wire_js({"op": Op.AUDIT, "event": event.to_wire()}))

    try:
        fields = {"manifest": init.manifest.to_py()}
        config = await open_init(lambda name: fields[name] if name in fields else _py(getattr(init, name, None)),
                                 BrowserPlatform.verify_ed25519)
    except BaseException as error:
        refusal = translate(error, "reading the manifest")
        if isinstance(refusal, SignatureError):  # audited; nothing of that manifest is used
            on_audit(AuditEvent(time=time.time(), module="manifest", capability="signature", detail=refusal.message[:500],
                                code=refusal.code))
        post(to_wire_js(reply_error(None, refusal)))
        return None

    def on_progress(phase: str, loaded: int, total: int | None) -> None:
        post(to_wire_js(progress_event(phase, loaded, total)))

    def on_log(module: str, fd: int, text: str) -> None:
        (js.console.warn if fd == 2 else js.console.log)(f"[{module}] {text}")

    def on_detach(module: str, death: Death) -> None:
        post(to_wire_js({"op": Op.DETACH, "module": module, **death.to_wire()}))

    host = Host(
        config.manifest,
        BrowserPlatform(str(init.guestURL), init.spareWorker, init.prefetched.to_py(depth=1) if init.prefetched else None,
                        max_message_bytes=config.max_message_bytes, fetch_module=init.fetchModule),
        origin=str(js.location.origin),
        gojs_imports=frozenset(init.gojsImports.to_py()),
        on_progress=on_progress,
        on_audit=on_audit,
        on_log=on_log,
        on_detach=on_detach,
    )
    platform = host.platform
    host.releases.source = lambda: fetch_manifest(platform, config.manifest.url, config.trust,
                                                  overrides=config.overrides, routes=config.routes)
    host.releases.on_switch = lambda module, kind, detail: post(to_wire_js(
        {"op": Op.SWITCHED, "module": module, "kind": kind, "detail": detail}))
    asyncio.ensure_future(host.watch())
    for name in config.warm:
        # Started now, answered later: the first call finds it running. A failure
        # here is forgotten and reported by that first call.
        asyncio.ensure_future(host.guest(name)).add_done_callback(lambda task: task.exception())
    http = EdgeHttp(host, config.manifest.routes, user_id=config.user_id, user_agent=config.user_agent,
                    flags=config.flags, emit=_ConsoleLines("EdgeBox request "))
    host.releases.on_routes = lambda manifest: http.set_routes(manifest.routes)
    return create_proxy(Dispatcher(host, http, post))


def _py(value: Any) -> Any:
    """A field of the INIT message as a Python value."""
    return value.to_py() if hasattr(value, "to_py") else value


class _ConsoleLines:
    """The logger's lines to the console, one console call per 100 ms rather than
    per request: a console call costs a worker milliseconds once DevTools (or an
    automation client) listens, which a request must not pay."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._lines: list[str] = []

    def __call__(self, line: str) -> None:
        if not self._lines:
            asyncio.get_event_loop().call_later(0.1, self._flush)
        self._lines.append(self._prefix + line)

    def _flush(self) -> None:
        lines, self._lines = self._lines, []
        js.console.log("\n".join(lines))
