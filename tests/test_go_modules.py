"""The Go guests' own tests, on the host (go test), as their authors run them."""

import os
import subprocess

import build


def test_go_test_passes_for_every_module():
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod"}
    result = subprocess.run(
        [build.go_binary(), "test", "-count=1", "./..."], cwd=build.ROOT / "modules",
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  \tedgebox.dev/modules/heartbeat" in result.stdout
