"""For the edge and browser suites: the test guests compiled for wasip1, a manifest
that lists them beside dist/'s modules, and real uvicorn servers of `edgebox_edge`
on free ports."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import buildtools as build
from buildtools.edge import EDGE_CACHE, edge_environment, free_port
from edgebox import Manifest
from edgebox._wasm import limit_memory
from edgebox_edge import WasmtimePlatform

GUESTS = build.ROOT / "tests" / "guests"
EDGE_GUESTS = ["wasiprobe", "pathopen", "envimport", "httpwasi", "httphostile"]
ROUTES = [{"prefix": "/wasi/", "module": "httpwasi", "middleware": ["logger", "tracer"]},
          {"prefix": "/hostile/", "module": "httphostile", "middleware": ["logger", {"cors": {"origins": ["*"]}}]}]


def precompile(manifest_path: Path) -> None:
    """Fill the disk cache (cranelift takes seconds a module here), so that no start-up waits for it."""
    manifest = Manifest.parse(json.loads(manifest_path.read_text()), url=manifest_path.as_uri())
    platform = WasmtimePlatform(EDGE_CACHE)

    async def compile_all():
        for spec in manifest.modules.values():
            if spec.abi == "wasip1":
                data = await platform.fetch_bytes(spec.url, lambda loaded, total: None)
                await platform.compile(limit_memory(data, spec.policy.limits.memory_mb))

    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop of its own: Playwright's may run on this thread
        pool.submit(asyncio.run, compile_all()).result()


def wait_until_healthy(url: str, process: subprocess.Popen, seconds: float) -> bool:
    """Whether the edge server at ``url`` answers /healthz within ``seconds``, while ``process`` runs."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


class EdgeServer:
    """`uvicorn --factory edgebox_edge:create_app` in a process of its own, as build.py edge runs it."""

    def __init__(self, manifest: Path, logs: Path, workers: int = 1) -> None:
        EDGE_CACHE.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout, self.stderr = logs / f"edge-{self.port}.out", logs / f"edge-{self.port}.err"
        env = {**os.environ, **edge_environment("127.0.0.1", self.port, ROUTES, manifest),
               "PYTHONPATH": str(build.ROOT / "app")}
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "edgebox_edge:create_app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                stdout=out, stderr=err, env=env, cwd=build.ROOT)
        if not wait_until_healthy(self.url, self.process, 120):
            self.stop()
            raise RuntimeError(f"the edge server did not start: {self.stderr.read_text()[-3000:]}")

    def startup_log(self) -> dict:
        return next(json.loads(line) for line in self.stderr.read_text().splitlines() if '"edge": "started"' in line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()




def write_edge_manifest(root: Path) -> Path:
    """dist/'s manifest plus the test guests (wasip1), with their policies, in ``root``."""
    build.build()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda name: build.compile_go_module(GUESTS / name, root / f"{name}.wasm", "wasip1"), EDGE_GUESTS))
    manifest = json.loads((build.BOX / "manifest.json").read_text())
    for entry in manifest["modules"]:
        entry["url"] = (build.BOX / entry["url"]).resolve().as_uri()
    for name in EDGE_GUESTS:
        data = (root / f"{name}.wasm").read_bytes()
        policy = GUESTS / name / "policy.json"
        manifest["modules"].append({"name": name, "abi": "wasip1", "url": f"{name}.wasm", "size": len(data),
                                    "sha256": hashlib.sha256(data).hexdigest(),
                                    "policy": json.loads(policy.read_text()) if policy.exists() else None})
    (root / "manifest.json").write_text(json.dumps(manifest))
    precompile(root / "manifest.json")
    return root / "manifest.json"
