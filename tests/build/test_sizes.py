"""The size audit: raw, gzip and brotli size per module, the Go packages with the
most code (from pclntab), and a build that fails when a module is over budget."""

import json
import subprocess
import sys

import pytest

import buildtools as build
from buildtools.sizes import measure, package_sizes
from buildtools.go import go_modules

GUEST = """//go:build js && wasm

package main

import (
	"encoding/json"
	"syscall/js"
)

func main() {
	js.Global().Set("hello", js.FuncOf(func(js.Value, []js.Value) any { b, _ := json.Marshal("hi"); return string(b) }))
	select {}
}
"""


def build_py(*args):
    return subprocess.run([sys.executable, str(build.ROOT / "build.py"), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name, expected", [("heartbeat", {"runtime", "syscall/js"}), ("riskrules", {"runtime", "net/http", "encoding/json/v2"})])
def test_packages_are_read_from_the_modules_pclntab(built, module_url, name, expected):
    wasm = built / module_url(name).lstrip("/")
    packages = package_sizes(wasm, {})
    assert packages[0][0] == "runtime"  # the biggest, on every Go module
    assert expected <= {package for package, _ in packages}
    assert all(size > 0 for _, size in packages)
    assert sum(size for _, size in packages) < wasm.stat().st_size


def test_demo_modules_meet_their_budgets_with_room(built, module_url):
    state = json.loads((built / ".build-state.json").read_text())
    for module in go_modules(state):
        if module.name in ("heartbeat", "riskrules", "riskrules-v2"):
            size = measure(module, built / module_url(module.name).lstrip("/"), state)
            assert size.gzip < size.raw and size.brotli < size.gzip
            assert size.budget_kb and size.brotli < size.budget_kb * 1024 * 0.95, size


@pytest.fixture
def heavy_module(tmp_path):
    (tmp_path / "main.go").write_text(GUEST)
    (tmp_path / "module.json").write_text(json.dumps({"budget_kb": 100}))
    yield tmp_path
    assert build_py("module", "--remove", "sizetest").returncode == 0


def test_a_module_over_its_budget_fails_the_build_with_the_table(heavy_module):
    result = build_py("module", str(heavy_module), "--name", "sizetest")
    assert result.returncode != 0
    assert "size audit failed: over budget: sizetest (" in result.stderr and "> budget_kb 100)" in result.stderr
    assert "biggest Go packages: sizetest: runtime, " in result.stderr and "encoding/json" in result.stderr
    table = result.stderr.split("\n\n", 1)[1]
    row = next(line for line in table.splitlines() if line.startswith("sizetest"))
    assert row.split()[4] == "100" and row.endswith("OVER BUDGET")

    (heavy_module / "module.json").write_text(json.dumps({"budget_kb": 4000}))
    result = build_py("build")
    assert result.returncode == 0, result.stderr
    assert "sizetest" in result.stdout and "OVER BUDGET" not in result.stdout


def test_a_bad_budget_is_refused(heavy_module):
    (heavy_module / "module.json").write_text(json.dumps({"budget_kb": "big"}))
    result = build_py("module", str(heavy_module), "--name", "sizetest")
    assert result.returncode != 0 and "budget_kb must be a positive whole number" in result.stderr
