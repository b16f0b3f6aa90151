"""The pure JavaScript parts (web/data.js, channel.js's codec, wasi.js) under
Node's test runner, so a change to them is checked in seconds (tests/js)."""

import shutil
import subprocess

import buildtools as build


def test_javascript_units_pass_under_node():
    node = shutil.which("node")
    assert node, "node is needed for the JavaScript unit tests"
    files = sorted(str(path) for path in (build.ROOT / "tests" / "js").glob("*.test.mjs"))
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120, cwd=build.ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
