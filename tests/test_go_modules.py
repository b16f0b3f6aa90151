"""The Go guests' own tests, on the host (go test), as their authors run them."""

import os
import re
import subprocess

import buildtools as build


def go_test(directory, tmp_path):
    # One workspace for the modules and the test guests, as build.py compiles them.
    # Each module stands alone (its go.mod points at the SDK), as a Go developer runs it.
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOWORK": "off", "GOFLAGS": ""}
    return subprocess.run([build.go_binary(), "test", "-count=1", "./..."], cwd=directory,
                          env=env, capture_output=True, text=True, timeout=600)


def test_go_test_passes_for_every_module(tmp_path):
    result = go_test(build.ROOT / "modules", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for package in ["modules/heartbeat", "modules/riskrules/engine"]:
        assert f"ok  \tedgebox.dev/{package}" in result.stdout


def test_go_test_passes_for_the_test_guests(tmp_path):
    result = go_test(build.ROOT / "tests" / "guests", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  \tedgebox.dev/testguests/httpecho" in result.stdout


def test_the_sdk_is_its_own_module_with_tests_that_pass(tmp_path):
    result = go_test(build.ROOT / "sdk", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  \tedgebox.dev/edgebox\t" in result.stdout


def test_the_sdk_builds_for_both_kinds_of_module():
    for goos in ["js", "wasip1"]:
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOWORK": "off", "GOOS": goos, "GOARCH": "wasm"}
        result = subprocess.run([build.go_binary(), "vet", "./..."], cwd=build.ROOT / "sdk", env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, goos + ": " + result.stderr


def test_the_sdk_is_documented_with_examples_that_run(tmp_path):
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOWORK": "off"}
    doc = subprocess.run([build.go_binary(), "doc", "."], cwd=build.ROOT / "sdk", env=env, capture_output=True, text=True, timeout=120)
    assert doc.returncode == 0 and "GOOS=wasip1" in doc.stdout and "GOOS=js" in doc.stdout, doc.stdout + doc.stderr
    run = subprocess.run([build.go_binary(), "test", "-count=1", "-v", "-run", "Example", "."], cwd=build.ROOT / "sdk",
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert {"ExampleExport", "ExampleExportBytes", "ExampleServeEnvelope"} <= set(re.findall(r"--- PASS: (\w+)", run.stdout))
