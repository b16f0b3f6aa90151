#!/usr/bin/env python3
"""EdgeBox build tool.

    python3 build.py serve [--host 127.0.0.1] [--port 8000] [--debug]   set up, build, serve the demo
    python3 build.py test [PYTEST ARGS...]                    set up, build, run every test
    python3 build.py build [--debug]                          set up and build dist/
    python3 build.py module DIR [--name N] [--abi js|wasip1] [--debug]  add your own Go module to the build
    python3 build.py module --remove NAME                     take it out again
    python3 build.py bench                                    measure in headless Chromium: table, JSON, PNG
    python3 build.py bench --edge                             the edge server against Go's net/http (wrk, 64 connections)
    python3 build.py bench --update                           a live update's switch time against a first load
    python3 build.py keygen [--out .keys/edgebox.pem]         an Ed25519 key for signed manifests; prints its public JWK
    python3 build.py build --sign KEY                         also sign the manifest (or EDGEBOX_SIGNING_KEY=KEY)
    python3 build.py edge [--port 8080] [--workers N] [--route PREFIX=MODULE]   serve dist/'s wasip1 modules over HTTP
    python3 build.py soak [--calls N]                         fault injection and box.fetch under load, in Chromium
    python3 build.py clean                                    remove dist/ (and the added modules)

Every command first makes sure of what it needs (a .venv with the pinned
packages, node_modules, the Pyodide-side wheels, and for tests Debian's
chromium), then re-runs itself inside the .venv. Each step is skipped when its
inputs have not changed, so a second run costs seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from buildtools import cli  # noqa: E402 - after the path that finds it

cli.USAGE = __doc__

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
