"""`build.py module DIR`: how a user (and QA) adds a Go module of their own."""

import json
import subprocess
import sys

import pytest

import buildtools as build

GUEST = """//go:build js && wasm

package main

import "syscall/js"

func main() {
	js.Global().Set("hello", js.FuncOf(func(js.Value, []js.Value) any { return "hi" }))
	select {}
}
"""


def build_py(*args):
    return subprocess.run([sys.executable, str(build.ROOT / "build.py"), *args], capture_output=True, text=True, timeout=600)


def manifest_entries() -> dict:
    return {m["name"]: m for m in json.loads((build.BOX / "manifest.json").read_text())["modules"]}


@pytest.fixture
def user_module(tmp_path):
    # No go.mod: build.py gives the directory one of its own.
    (tmp_path / "main.go").write_text(GUEST)
    (tmp_path / "policy.json").write_text(json.dumps({"env": {"X": "1"}, "limits": {"timeout_ms": 900}}))
    yield tmp_path
    build_py("module", "--remove", "clitest")


def test_added_module_is_built_listed_and_kept_until_removed(user_module):
    result = build_py("module", str(user_module), "--name", "clitest")
    assert result.returncode == 0, result.stderr
    entry = manifest_entries()["clitest"]
    wasm = build.BOX / entry["url"]
    assert entry["abi"] == "js" and entry["policy"] == {"env": {"X": "1"}, "limits": {"timeout_ms": 900}}
    assert wasm.read_bytes()[:4] == b"\0asm" and entry["size"] == wasm.stat().st_size

    assert build_py("build").returncode == 0
    assert "clitest" in manifest_entries(), "a later build keeps the added module"

    assert build_py("module", "--remove", "clitest").returncode == 0
    assert "clitest" not in manifest_entries()
    assert not wasm.exists()


def test_bad_policy_is_refused_with_the_field_named(user_module):
    (user_module / "policy.json").write_text(json.dumps({"net": {"allow": ["/x/"], "methods": ["BREW"]}}))
    result = build_py("module", str(user_module), "--name", "clitest")
    assert result.returncode != 0
    assert "net.methods" in result.stderr and "BREW" in result.stderr
    assert "clitest" not in manifest_entries()


def test_a_name_taken_by_modules_is_refused(user_module):
    result = build_py("module", str(user_module), "--name", "heartbeat")
    assert result.returncode != 0 and "taken by modules/heartbeat" in result.stderr


def test_wasip1_is_detected_from_the_sdk(tmp_path):
    assert build.detect_abi(build.ROOT / "tests" / "guests" / "wasiprobe") == "wasip1"
    assert build.detect_abi(build.ROOT / "tests" / "guests" / "hostile") == "js"


def custom_section_names(data: bytes) -> list[str]:
    from edgebox._wasm import _Reader, _sections

    return [_Reader(data, start, end).name() for section_id, _, start, end in _sections(data) if section_id == 0]


@pytest.fixture
def debug_module():
    yield build.ROOT / "tests" / "guests" / "debuggee"
    build_py("module", "--remove", "dbgtest")


def test_a_debug_module_keeps_go_names_has_a_map_and_stays_debug(debug_module):
    result = build_py("module", str(debug_module), "--name", "dbgtest", "--abi", "js", "--debug")
    assert result.returncode == 0, result.stderr
    entry = manifest_entries()["dbgtest"]
    # The map is named as its module is, by the module's hash (immutable, like the module).
    assert entry["debug"] is True and entry["source_map"] == entry["url"] + ".map"
    wasm = (build.BOX / entry["url"]).read_bytes()
    assert "name" in custom_section_names(wasm) and b"main.(*scale).apply" in wasm
    assert "sourceMappingURL" not in custom_section_names(wasm), "the host names the map, after verifying the bytes"
    source_map = json.loads((build.BOX / entry["source_map"]).read_text())
    assert source_map["version"] == 3 and "edgebox.dev/testguests/debuggee/main.go" in source_map["sources"]
    assert "main.(*scale).apply" in source_map["names"]
    main_go = source_map["sourcesContent"][source_map["sources"].index("edgebox.dev/testguests/debuggee/main.go")]
    assert main_go == (debug_module / "main.go").read_text()

    assert build_py("build").returncode == 0
    assert manifest_entries()["dbgtest"]["debug"] is True, "a release build of the rest keeps it a debug build"


def test_a_release_build_is_stripped_with_no_map():
    build.build()
    for entry in manifest_entries().values():
        if entry["name"] in ("heartbeat", "riskrules", "riskrules-v2"):
            wasm = (build.BOX / entry["url"]).read_bytes()
            assert "debug" not in entry and "source_map" not in entry
            assert not {"name", "sourceMappingURL"} & set(custom_section_names(wasm))
            assert not (build.BOX / (entry["url"] + ".map")).exists()


def test_build_debug_makes_every_module_a_debug_build_until_the_next_build():
    build.build(debug=True)
    entries = manifest_entries()
    for name in ("heartbeat", "riskrules"):
        assert entries[name]["debug"] is True
        assert (build.BOX / entries[name]["source_map"]).is_file()
        assert "name" in custom_section_names((build.BOX / entries[name]["url"]).read_bytes())
    build.build()
    assert "source_map" not in manifest_entries()["heartbeat"]
    assert not (build.BOX / "modules" / "heartbeat.wasm.map").exists()
