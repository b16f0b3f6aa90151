"""build.py: what dist/ holds, that a second build does nothing, and the headers it serves."""

import hashlib
import json
import urllib.request
import zipfile

import pytest

import buildtools as build


def test_dist_holds_the_runtime_pages_and_modules(built):
    for path in ["index.html", "blank.html", "edgebox/edgebox.js", "edgebox/worker.js", "edgebox/guest.js",
                 "edgebox/wasm_exec.js", "edgebox/manifest.json", "edgebox/runtime.json",
                 *(f"edgebox/pyodide/{build.pyodide_version()}/{name}" for name in build.PYODIDE_CORE)]:
        assert (built / path).is_file(), path
    wasm_exec = build.go_root() / "lib" / "wasm" / "wasm_exec.js"
    assert (built / "edgebox" / "wasm_exec.js").read_bytes() == wasm_exec.read_bytes()


def test_manifest_describes_each_module_by_its_bytes(built):
    manifest = json.loads((built / "edgebox" / "manifest.json").read_text())
    assert manifest["format"] == 1
    entry = {m["name"]: m for m in manifest["modules"]}["heartbeat"]
    wasm = built / "edgebox" / entry["url"]
    assert entry["abi"] == "js"
    assert entry["size"] == wasm.stat().st_size
    assert entry["sha256"] == hashlib.sha256(wasm.read_bytes()).hexdigest()
    assert wasm.read_bytes()[:4] == b"\0asm"
    assert entry["policy"]["env"]["HEARTBEAT_KEY"] == "edge-key-2024"
    # The key is configuration, not code: the Go source must not carry it.
    assert all("edge-key-2024" not in f.read_text() for f in (build.ROOT / "modules" / "heartbeat").glob("*.go") if not f.name.endswith("_test.go"))


def test_app_wheel_is_pure_and_reproducible(built):
    runtime = json.loads((built / "edgebox" / "runtime.json").read_text())
    app_wheel = built / "edgebox" / next(w for w in runtime["wheels"] if "/edgebox-" in w)
    assert app_wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(app_wheel) as archive:
        names = archive.namelist()
        assert "edgebox/__init__.py" in names and "edgebox/_pyodide/__init__.py" in names
        assert any(name.endswith(".dist-info/RECORD") for name in names)
        assert "Root-Is-Purelib: true" in archive.read(next(n for n in names if n.endswith("/WHEEL"))).decode()
    before = app_wheel.read_bytes()
    build.build_wheel()
    assert app_wheel.read_bytes() == before


def test_second_build_changes_nothing(built, capsys):
    outputs = {p: p.stat().st_mtime_ns for p in built.rglob("*") if p.is_file() and p.name != ".build-state.json"}
    capsys.readouterr()
    build.build()
    log = capsys.readouterr().out
    assert "go build" not in log and "wheel ->" not in log, log
    changed = [p for p, mtime in outputs.items() if p.stat().st_mtime_ns != mtime]
    assert changed == []


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/", "text/html; charset=utf-8"),
        ("/edgebox/edgebox.js", "text/javascript"),
        ("/edgebox/pyodide/314.0.7/pyodide.mjs", "text/javascript"),
        ("/edgebox/pyodide/314.0.7/pyodide.asm.wasm", "application/wasm"),
        ("heartbeat", "application/wasm"),
        ("/edgebox/manifest.json", "application/json"),
    ],
)
def test_every_response_carries_the_isolation_headers(served, module_url, path, content_type):
    with urllib.request.urlopen(served + (path if path.startswith("/") else module_url(path))) as response:
        headers = response.headers
    assert headers["Content-Type"] == content_type
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")
