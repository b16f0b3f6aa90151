"""`build.py bench --edge`: the edge server against the floor, in one run.

The same risk-rules handler, posted the same orders by the same load generator
(Debian's wrk, 2 threads and 64 connections; an httpx async client with 64
connections where wrk is missing): compiled natively and served by Go's own
net/http, then as a wasip1 guest behind the edge app with 1 and 2 uvicorn
workers; and a bare ASGI app under the same uvicorn (buildtools/bare_asgi.py),
the ceiling of any ASGI app here. Prints requests/s and p50/p99 latency, and
each row's ratio to the native server's requests/s; writes dist/bench/edge.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .edge import EDGE_CACHE, edge_environment, free_port, precompile
from .go import go_binary
from .paths import BOX, DIST, GO_ENV, ROOT

SECONDS = 8
CONNECTIONS = 64
PATH = "/edge/orders/check"
# Users vary, as they would: one user's orders in the velocity window stay few.
WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"user":"u%d","region":"US","amount":12.5,"currency":"USD",'
    .. '"items":[{"sku":"A1","qty":1,"price":12.5}]}', counter % 2000)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["x-edgebox-user"] = "bench"}, body)
end
"""


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{' '.join(map(str, process.args))} exited with {process.returncode}")
        try:
            httpx.post(url, json={}, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def _wrk(url: str, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script.name, url],
                             capture_output=True, text=True, check=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def latency(pct: str) -> float:
        value, scale = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * unit[scale]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]), "p50_ms": latency("50"), "p99_ms": latency("99"),
            "non_2xx": int(errors[1]) if errors else 0, "tool": "wrk"}


def _httpx_load(url: str, seconds: int) -> dict:
    """The fallback load generator: CONNECTIONS concurrent keep-alive connections, closed loop."""
    import httpx

    async def run() -> dict:
        latencies: list[float] = []
        failures = 0
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            end = time.monotonic() + seconds

            async def worker(n: int) -> None:
                nonlocal failures
                i = n
                while time.monotonic() < end:
                    body = {"user": f"u{i % 2000}", "region": "US", "amount": 12.5, "currency": "USD",
                            "items": [{"sku": "A1", "qty": 1, "price": 12.5}]}
                    started = time.perf_counter()
                    response = await client.post(url, json=body, headers={"x-edgebox-user": "bench"})
                    latencies.append((time.perf_counter() - started) * 1000)
                    failures += response.status_code >= 300
                    i += CONNECTIONS

            await asyncio.gather(*(worker(n) for n in range(CONNECTIONS)))
        latencies.sort()
        return {"rps": len(latencies) / seconds, "p50_ms": latencies[len(latencies) // 2],
                "p99_ms": latencies[int(len(latencies) * 0.99)], "non_2xx": failures, "tool": "httpx"}

    return asyncio.run(run())


def _load(url: str, seconds: int) -> dict:
    return _wrk(url, seconds) if shutil.which("wrk") else _httpx_load(url, seconds)


def _measure(name: str, command: list[str], url: str, env: dict | None = None) -> dict:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(url, process)
        _load(url, 1)  # warm: connections, caches, the first instances
        result = _load(url, SECONDS)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"  {name:<34} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:>7.2f} ms   p99 {result['p99_ms']:>7.2f} ms"
          + (f"   ({result['non_2xx']} non-2xx)" if result["non_2xx"] else ""), flush=True)
    return {"name": name, **result}


def bench_edge() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="edgebox-native-"))
    native = scratch / "riskrules-native"
    env = {**os.environ, **GO_ENV, "GOOS": "", "GOARCH": "", "CGO_ENABLED": "0"}
    subprocess.run([go_binary(), "build", "-o", str(native), "./riskrules/native"], cwd=ROOT / "modules", env=env, check=True)
    sys.path.insert(0, str(ROOT / "app"))
    tool = "wrk -t2 -c64" if shutil.which("wrk") else f"httpx, {CONNECTIONS} connections"
    print(f"[bench --edge] POST {PATH}, {SECONDS} s each, {tool}, {os.cpu_count()} cores", flush=True)

    port = free_port()
    rows = [_measure("Go net/http, native (floor)", [str(native), "-addr", f"127.0.0.1:{port}", "-rules",
                                                     str(ROOT / "modules" / "riskrules" / "rules.json")],
                     f"http://127.0.0.1:{port}{PATH}")]
    port = free_port()
    rows.append(_measure("bare ASGI app, 2 workers (ceiling)",
                         [sys.executable, "-m", "uvicorn", "buildtools.bare_asgi:app", "--host", "127.0.0.1", "--port", str(port),
                          "--workers", "2", "--log-level", "warning", "--no-access-log"], f"http://127.0.0.1:{port}{PATH}"))
    for workers in (1, 2):
        port = free_port()
        edge_env = {**os.environ, **edge_environment("127.0.0.1", port, []), "PYTHONPATH": str(ROOT / "app")}
        precompile(edge_env)
        command = [sys.executable, "-m", "uvicorn", "--factory", "edgebox_edge:create_app", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        rows.append(_measure(f"edge, {workers} uvicorn worker{'s' if workers > 1 else ''}", command,
                             f"http://127.0.0.1:{port}{PATH}", edge_env))
    floor = rows[0]["rps"]
    print("  ratio to native (req/s):  " + "   ".join(f"{r['name']}: {r['rps'] / floor:.2f}" for r in rows[1:]), flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    out = DIST / "bench" / "edge.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seconds": SECONDS, "connections": CONNECTIONS, "manifest": str(BOX / "manifest.json"),
                               "edge_cache": str(EDGE_CACHE), "rows": rows,
                               "ratios": {r["name"]: r["rps"] / floor for r in rows[1:]}}, indent=2))
    print(f"[bench --edge] wrote {out.relative_to(ROOT)}", flush=True)
    return 0
