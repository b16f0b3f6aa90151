"""Browser fixtures: one server, one Chromium and one booted box for the whole
session; tests that need a fresh page of their own open it from `context`.
Chromium, its flags and the session's browser context are EdgeBox's pytest
plugin's (testing/edgebox_testing), as every user of the plugin gets them."""

import hashlib
import json
import sys
import threading
from pathlib import Path

import pytest

import buildtools as build
from edgebox_testing import CHROMIUM_ARGS  # noqa: F401 - test_debugging launches a profile of its own with them
from pages import open_page

GUESTS = Path(__file__).resolve().parent.parent / "guests"


@pytest.fixture(scope="session")
def overlay(tmp_path_factory) -> Path:
    """Files the tests add beside dist/ (their own guests), served from the same origin."""
    root = tmp_path_factory.mktemp("overlay")
    canary = root / "guests" / "canary.wasm"
    build.compile_go_module(GUESTS / "canary", canary)
    # Still a valid module (a trailing custom section), so only the hash check can stop it.
    section = b"\x06tamper" + b"!" * 8
    (root / "guests" / "canary-tampered.wasm").write_bytes(canary.read_bytes() + b"\x00" + bytes([len(section)]) + section)
    build.compile_go_module(GUESTS / "echo", root / "guests" / "echo.wasm")  # the host caps its memory at load
    build.compile_go_module(GUESTS / "httpjs", root / "guests" / "httpjs.wasm", "js")
    build.compile_go_module(GUESTS / "httpwasi", root / "guests" / "httpwasi.wasm", "wasip1")
    build.compile_go_module(GUESTS / "faults", root / "guests" / "faults.wasm", "js")
    # A debug build, as `build.py module --debug` makes it: Go names and a source map beside it.
    for abi in ("wasip1", "js"):
        build.build_module(build.GoModule("debuggee", GUESTS / "debuggee", abi, True, root / "guests" / f"debuggee-{abi}.wasm"))
    return root


def serve(roots, **kwargs):
    server = build.make_server(roots, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def canary_server(tmp_path_factory):
    """Another origin that nothing in the box may reach; it counts what arrives."""
    server = serve([tmp_path_factory.mktemp("canary")])
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def canary_url(canary_server) -> str:
    return f"http://127.0.0.1:{canary_server.server_address[1]}"


@pytest.fixture(scope="session")
def server(overlay, canary_url):
    build.build()
    (overlay / "allowed").mkdir(exist_ok=True)
    (overlay / "allowed" / "ok").write_text('{"allowed": true}')
    server = serve([build.DIST, overlay], redirects={
        "/redirect/to-canary": f"{canary_url}/redirected",
        "/redirect/to-forbidden": "/__canary/forbidden",
    })
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def plain_url(overlay, server):
    """The same build from another origin, without cross-origin isolation: no shared memory anywhere."""
    server = serve([build.DIST, overlay], isolated=False)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def context(edgebox_context):
    return edgebox_context


def canary_policy(canary_id: str) -> dict:
    return {"env": {"CANARY_ID": canary_id}, "net": {"allow": ["/__canary/"]}}


@pytest.fixture(scope="session")
def test_modules(overlay) -> dict:
    canary_sha = hashlib.sha256((overlay / "guests" / "canary.wasm").read_bytes()).hexdigest()
    return {
        "canary": {"url": "/guests/canary.wasm", "sha256": canary_sha, "policy": canary_policy("good")},
        # The canary's signed hash, served with different bytes.
        "tampered": {"url": "/guests/canary-tampered.wasm", "sha256": canary_sha, "policy": canary_policy("tampered")},
        "echo": {"url": "/guests/echo.wasm", "sha256": sha256(overlay / "guests" / "echo.wasm"),
                 "policy": json.loads((GUESTS / "echo" / "policy.json").read_text())},
        "httpjs": {"url": "/guests/httpjs.wasm", "abi": "js", "sha256": sha256(overlay / "guests" / "httpjs.wasm")},
        "httpwasi": {"url": "/guests/httpwasi.wasm", "abi": "wasip1", "sha256": sha256(overlay / "guests" / "httpwasi.wasm")},
        "faults": {"url": "/guests/faults.wasm", "abi": "js", "sha256": sha256(overlay / "guests" / "faults.wasm"),
                   "policy": json.loads((GUESTS / "faults" / "policy.json").read_text())},
        # The same guest with time to spare: for limits other than time, on a machine that may be busy.
        "roomy": {"url": "/guests/faults.wasm", "abi": "js", "sha256": sha256(overlay / "guests" / "faults.wasm"),
                  "policy": {**json.loads((GUESTS / "faults" / "policy.json").read_text()),
                             "limits": {"timeout_ms": 10000, "log_kb": 64, "memory_mb": 128}}},
    }


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def box_page(context, base_url, test_modules):
    """A blank page with a started box (`globalThis.box`), shared by the session."""
    page = open_page(context, f"{base_url}/blank.html")
    page.evaluate(
        """async (modules) => {
            globalThis.EdgeBoxModule = await import("/edgebox/edgebox.js");
            globalThis.progress = [];
            globalThis.box = await EdgeBoxModule.EdgeBox.start({ modules, onProgress: (p) => progress.push(p) });
        }""",
        test_modules,
    )
    yield page
    page.close()


CALL = """async ([module, fn, args]) => {
    try {
        return { ok: true, value: await box.call(module, fn, ...args) };
    } catch (error) {
        return { ok: false, code: error.code, name: error.name, message: error.message,
                 isEdgeBoxError: error instanceof EdgeBoxModule.EdgeBoxError };
    }
}"""


@pytest.fixture
def call(box_page):
    """call(module, fn, *args) -> {ok, value} or {ok: False, code, name, message}."""
    return lambda module, fn, *args: box_page.evaluate(CALL, [module, fn, list(args)])


def pytest_terminal_summary(terminalreporter):
    hostile = sys.modules.get("test_hostile")
    if hostile is not None and hostile.TABLE:
        terminalreporter.section("hostile guests: case, expected, got")
        terminalreporter.write_line(hostile.pytest_terminal_summary_table())
