"""The command line of build.py (its usage is the docstring there)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

from .bench import bench
from .bench_edge import bench_edge
from .bench_update import bench_update
from .dist import add_module, build
from .edge import edge
from .environment import setup
from .paths import DIST, ROOT, VENV_PYTHON
from .server import serve
from .signing import SIGNING_KEY_ENV, generate_key, load_private_key
from .soak import soak

USAGE = ""  # build.py's docstring, set by build.py


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    debug_help = "debug builds of every Go module: Go names, source maps, relaxed time limits (README: Debugging)"
    build_parser = commands.add_parser("build", help="build dist/")
    build_parser.add_argument("--debug", action="store_true", help=debug_help)
    sign_help = f"sign the manifest with this Ed25519 key (PKCS#8 PEM; default: ${SIGNING_KEY_ENV}); README: Signed manifests"
    build_parser.add_argument("--sign", type=Path, metavar="KEY", help=sign_help)
    serve_parser = commands.add_parser("serve", help="build, then serve dist/ with the isolation headers")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--debug", action="store_true", help=debug_help)
    serve_parser.add_argument("--sign", type=Path, metavar="KEY", help=sign_help)
    keygen_parser = commands.add_parser("keygen", help="make an Ed25519 signing key; prints its public JWK")
    keygen_parser.add_argument("--out", type=Path, default=Path(".keys/edgebox.pem"))
    commands.add_parser("test", help="build, then run every test (extra arguments go to pytest)")
    module_parser = commands.add_parser("module", help="compile a Go module directory and add it to dist/'s manifest")
    module_parser.add_argument("dir", nargs="?", type=Path)
    module_parser.add_argument("--name")
    module_parser.add_argument("--abi", choices=["js", "wasip1"])
    module_parser.add_argument("--remove", metavar="NAME")
    module_parser.add_argument("--debug", action="store_true", help="a debug build that stays one (README: Debugging)")
    edge_parser = commands.add_parser("edge", help="build, then serve the manifest's wasip1 modules over HTTP (uvicorn, wasmtime)")
    edge_parser.add_argument("--host", default="127.0.0.1")
    edge_parser.add_argument("--port", type=int, default=8080)
    edge_parser.add_argument("--workers", type=int, default=1)
    edge_parser.add_argument("--route", action="append", default=[], metavar="PREFIX=MODULE")
    bench_parser = commands.add_parser("bench", help="build, then benchmark in headless Chromium (table, JSON, PNG)")
    bench_parser.add_argument("--edge", action="store_true",
                              help="instead: the edge server against Go's net/http serving the same handler (wrk, 64 connections)")
    bench_parser.add_argument("--update", action="store_true",
                              help="instead: a live update's switch time against a module's first load (signed manifest, warm cache)")
    soak_parser = commands.add_parser("soak", help="build, then run the fault-injection mix and box.fetch under load")
    soak_parser.add_argument("--calls", type=int, default=10_000)
    commands.add_parser("clean", help="remove dist/")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if args.command == "clean":
        shutil.rmtree(DIST, ignore_errors=True)
        return 0
    if args.command == "keygen":
        setup(browser=False)
        try:
            print(json.dumps(generate_key(args.out)))
        except ValueError as error:
            parser.error(str(error))
        return 0
    setup(browser=args.command in ("test", "bench", "soak") and not getattr(args, "edge", False),
          load_generator=args.command == "bench" and args.edge)
    if args.command == "module":
        add_module(args.dir, name=args.name, abi=args.abi, remove=args.remove, debug=args.debug)
    sign = getattr(args, "sign", None) or (Path(os.environ[SIGNING_KEY_ENV]) if os.environ.get(SIGNING_KEY_ENV) else None)
    if sign is not None:
        try:
            load_private_key(sign)  # a bad key stops the build before it changes anything
        except ValueError as error:
            parser.error(str(error))
    build(debug=args.command in ("build", "serve") and args.debug, sign=sign)
    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "edge":
        return edge(args.host, args.port, args.workers, args.route)
    elif args.command == "bench":
        return bench_edge() if args.edge else bench_update() if args.update else bench()
    elif args.command == "soak":
        return soak(args.calls)
    elif args.command == "test":
        return subprocess.run([str(VENV_PYTHON), "-m", "pytest", *(rest or ["tests"])], cwd=ROOT).returncode
    return 0
