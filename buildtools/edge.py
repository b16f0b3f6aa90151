"""`build.py edge`: dist/'s manifest served at the edge by uvicorn (app/edgebox_edge)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

from .paths import BOX, CACHE, ROOT

EDGE_CACHE = CACHE / "edge-modules"  # compiled machine code, shared by the workers (Module.serialize)


def free_port() -> int:
    """A TCP port nothing listens on now (for tests and the bench)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_routes(pairs: list[str]) -> list[dict]:
    """``PREFIX=MODULE`` pairs as routes (logger and tracer middleware, as routes.json writes them)."""
    routes = []
    for pair in pairs:
        prefix, sep, module = pair.partition("=")
        if not sep or not prefix.startswith("/") or not module:
            raise SystemExit(f"--route {pair!r}: expected PREFIX=MODULE, the prefix starting with /")
        routes.append({"prefix": prefix, "module": module, "middleware": ["logger", "tracer"]})
    return routes


def edge_environment(host: str, port: int, routes: list[dict], manifest=None) -> dict[str, str]:
    """What every worker reads to build the same app (edgebox_edge.create_app)."""
    return {
        "EDGEBOX_EDGE_MANIFEST": str(manifest or BOX / "manifest.json"),
        "EDGEBOX_EDGE_ROUTES": json.dumps(routes),
        "EDGEBOX_EDGE_ORIGIN": f"http://{host}:{port}",
        "EDGEBOX_EDGE_CACHE": str(EDGE_CACHE),
    }


def precompile(environment: dict[str, str]) -> None:
    """Compile every module once, here, so that N workers each only map it in (the disk cache)."""
    from edgebox_edge import EdgeApp

    async def start_and_stop(app) -> None:
        await app.startup()
        await app.shutdown()

    with open(os.devnull, "w") as quiet:  # the workers log the start-up; this pass only fills the cache
        app = EdgeApp(Path(environment["EDGEBOX_EDGE_MANIFEST"]), routes=json.loads(environment["EDGEBOX_EDGE_ROUTES"]),
                      origin=environment["EDGEBOX_EDGE_ORIGIN"], cache_dir=Path(environment["EDGEBOX_EDGE_CACHE"]),
                      stdout=quiet, stderr=quiet)
        asyncio.run(start_and_stop(app))


def edge(host: str, port: int, workers: int, route_pairs: list[str]) -> int:
    import uvicorn

    if str(ROOT / "app") not in sys.path:
        sys.path.insert(0, str(ROOT / "app"))
    environment = edge_environment(host, port, parse_routes(route_pairs))
    os.environ.update(environment)
    precompile(environment)
    print(f"EdgeBox edge: http://{host}:{port}/  ({workers} worker{'s' if workers > 1 else ''}; "
          f"/metrics, /healthz; Ctrl-C stops)", flush=True)
    uvicorn.run("edgebox_edge:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, lifespan="on")
    return 0
