"""EdgeBox at the edge: the same host, policies, routes and middleware as in
the browser, serving GOOS=wasip1 guests under CPython with wasmtime, as an
ASGI application (served by uvicorn: ``python3 build.py edge``).

A package of its own beside ``edgebox``: the Pyodide wheel carries ``edgebox``
only, so wasmtime, uvicorn and httpx are never needed in the browser. One
concept a module: ``_wasi`` (the WASI calls the browser grants),
``_guest`` (one wasmtime instance and its limits), ``_platform`` (the host's
Platform: bytes, compile cache, instances, network), ``_app`` (the ASGI app).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._app import EdgeApp, parse_flags
from ._platform import WasmtimePlatform

__all__ = ["EdgeApp", "WasmtimePlatform", "create_app", "parse_flags"]

ENV_MANIFEST = "EDGEBOX_EDGE_MANIFEST"
ENV_ROUTES = "EDGEBOX_EDGE_ROUTES"
ENV_ORIGIN = "EDGEBOX_EDGE_ORIGIN"
ENV_CACHE = "EDGEBOX_EDGE_CACHE"


def create_app() -> EdgeApp:
    """The app a uvicorn worker serves (``uvicorn --factory edgebox_edge:create_app``),
    configured by environment so that every worker process builds the same one:
    ``EDGEBOX_EDGE_MANIFEST`` (path of manifest.json), ``EDGEBOX_EDGE_ROUTES``
    (JSON list of extra routes), ``EDGEBOX_EDGE_ORIGIN``, ``EDGEBOX_EDGE_CACHE``
    (compiled-module cache directory)."""
    cache = os.environ.get(ENV_CACHE)
    return EdgeApp(Path(os.environ[ENV_MANIFEST]), routes=json.loads(os.environ.get(ENV_ROUTES) or "[]"),
                   origin=os.environ.get(ENV_ORIGIN) or "http://127.0.0.1:8080", cache_dir=Path(cache) if cache else None)
