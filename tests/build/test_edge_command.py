"""`build.py edge`: builds if needed, serves dist/'s manifest with N uvicorn workers and extra routes."""

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

import buildtools as build
from buildtools.edge import free_port, parse_routes
from tests.edge_server import wait_until_healthy

ORDER = {"user": "cli", "region": "US", "amount": 12.5, "currency": "USD", "items": [{"sku": "A1", "qty": 1, "price": 12.5}]}


def started_lines(logs) -> list[dict]:
    return [json.loads(line) for line in (logs / "err").read_text().splitlines() if '"edge": "started"' in line]


def test_routes_from_the_command_line():
    assert parse_routes(["/risk/=riskrules"]) == [{"prefix": "/risk/", "module": "riskrules", "middleware": ["logger", "tracer"]}]
    with pytest.raises(SystemExit, match="PREFIX=MODULE"):
        parse_routes(["risk=riskrules"])


def test_build_py_edge_serves_the_manifest_with_two_workers(tmp_path):
    port = free_port()
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "err", "wb") as err:
        process = subprocess.Popen([sys.executable, str(build.ROOT / "build.py"), "edge", "--port", str(port), "--workers", "2",
                                    "--route", "/risk/=riskrules"], stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        assert wait_until_healthy(f"http://127.0.0.1:{port}", process, 180), (tmp_path / "err").read_text()[-3000:]
        while len(started_lines(tmp_path)) < 2:  # each worker logs its start-up
            assert time.monotonic() < deadline, (tmp_path / "err").read_text()[-3000:]
            time.sleep(0.2)
        answers = [httpx.post(f"http://127.0.0.1:{port}/edge/orders/check", json={**ORDER, "user": f"cli-{i}"}) for i in range(4)]
        assert {(a.status_code, a.json()["verdict"], a.headers["x-edgebox-where"]) for a in answers} == {(200, "pass", "edge")}
        # The extra route reaches the module: its own mux answers the path it does not serve.
        extra = httpx.post(f"http://127.0.0.1:{port}/risk/check", json=ORDER)
        assert extra.status_code == 404 and extra.headers["x-edgebox-version"] == "riskrules"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    started = started_lines(tmp_path)
    assert {"prefix": "/risk/", "module": "riskrules"} in started[0]["routes"] and "heartbeat" in started[0]["refused"]
