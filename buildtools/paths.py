"""Where everything is: the source tree, dist/, the tools, and what is served and built."""

from __future__ import annotations

import functools
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
CACHE = ROOT / ".cache"
PYODIDE_WHEELS = CACHE / "pyodide-wheels"
TESTING_WHEELS = CACHE / "testing"  # the pytest plugin's wheel (testing/), installed into .venv by setup
NODE_MODULES = ROOT / "node_modules"
DIST = ROOT / "dist"
BOX = DIST / "edgebox"  # everything the loader needs sits under one URL prefix
BUILD = DIST / ".build"  # intermediate outputs (compiled modules before they are named by hash), never linked
DEPLOY = DIST / "deploy"  # server configuration made from buildtools/headers.py
CHROMIUM = Path("/usr/bin/chromium")
NGINX = Path("/usr/sbin/nginx")  # Debian's, for the deployment test
NGINX_BROTLI_STATIC = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")  # libnginx-mod-http-brotli-static

PYODIDE_CORE = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]
# Fetched by loadPyodide itself; their sizes are the "runtime" boot progress total.
PYODIDE_FETCHED = ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]
BROWSER_WHEELS: list[str] = ["h11"]  # third-party wheels the host needs in the browser (app/pyproject.toml)
WEB_BOX_FILES = ["edgebox.js", "options.js", "errors.js", "protocol.js", "channel.js", "guest-protocol.js", "worker.js", "guest.js", "membrane.js",
                 "wasi.js", "data.js", "gojs.js", "harden.js", "instance-js.js", "instance-wasip1.js", "js-memory.js", "values.js",
                 "sdk-envelope.js", "fallback.js", "deadlines.js", "decoded-cache.js"]
# What a page's own module graph holds: the loader and its imports (its import map gives their integrity).
WEB_LOADER_FILES = ["edgebox.js", "options.js", "errors.js", "protocol.js", "channel.js", "guest-protocol.js", "values.js", "fallback.js", "deadlines.js"]
WEB_PAGE_FILES = ["demo.js", "demo.css"]
PAGES = ["index.html", "blank.html"]
GO_BUILD_FLAGS = ["-trimpath", "-ldflags=-s -w"]
GO_DEBUG_FLAGS = ["-trimpath", "-ldflags=-w"]  # no -s: the name section stays (buildtools/sourcemap.py)
GO_ENV = {"GOOS": "js", "GOARCH": "wasm", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOPROXY": "off"}


@functools.cache
def pyodide_version() -> str:
    """Pyodide's files are served under their version (dist/edgebox/pyodide/<version>/), so they can be cached for good."""
    return json.loads((NODE_MODULES / "pyodide" / "package.json").read_text())["version"]


def pyodide_dir() -> Path:
    return BOX / "pyodide" / pyodide_version()
