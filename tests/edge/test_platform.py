"""The wasmtime platform's own work: the compile cache on disk, and the network
requests a policy grants, made with httpx and refused on a redirect as in the browser."""

import threading

import pytest
from edgebox import DeniedError, GuestServices, Host, HttpRequest, Manifest
from edgebox_edge import WasmtimePlatform

import buildtools as build
from tests.app.fakes import wasm_module
from tests.edge.conftest import run_coroutine


def test_a_module_is_compiled_once_and_then_mapped_from_the_disk_cache(tmp_path):
    data = wasm_module(imports=(("wasi_snapshot_preview1", "sched_yield"),))

    async def compile_twice():
        first = await WasmtimePlatform(tmp_path).compile(data)
        cached = sorted(p.name for p in tmp_path.iterdir())
        second = await WasmtimePlatform(tmp_path).compile(data)
        return first, second, cached

    first, second, cached = run_coroutine(compile_twice())
    assert len(cached) == 1 and cached[0].endswith(".cwasm")
    assert [(i.module, i.name) for i in first.imports] == [(i.module, i.name) for i in second.imports]
    assert [(i.module, i.name) for i in second.imports] == [("wasi_snapshot_preview1", "sched_yield")]


@pytest.fixture
def origin(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "ok").write_text("granted")
    server = build.make_server([tmp_path], redirects={"/api/moved": "/elsewhere"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_granted_request_is_made_and_a_redirect_or_an_ungranted_url_is_denied_and_audited(origin):
    audits = []

    async def run():
        manifest = Manifest.parse({"format": 1, "modules": [{"name": "m", "abi": "wasip1", "url": "m.wasm", "sha256": "0" * 64,
                                                            "policy": {"net": {"allow": ["/api/"]}}}]}, url=f"{origin}/manifest.json")
        host = Host(manifest, WasmtimePlatform(), origin=origin, gojs_imports=frozenset(), on_audit=audits.append)
        services = GuestServices(host, manifest.get("m"))
        answers = []
        for path in ("/api/ok", "/api/moved", "/private"):
            try:
                response = await services.fetch(HttpRequest(url=f"{origin}{path}"))
                answers.append((response.status, bytes(response.body)))
            except DeniedError as error:
                answers.append(error.code)
        await host.platform.aclose()
        return answers

    assert run_coroutine(run()) == [(200, b"granted"), "E_DENIED", "E_DENIED"]
    assert [e.capability for e in audits] == ["net", "net"]
