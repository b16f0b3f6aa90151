"""wasip1 guests under wasmtime, in CPython: the SDK's calls, the WASI the browser
grants and nothing more, and every limit with the browser's code (tests/web/test_hostile.py)."""

import asyncio
import json

import pytest
from edgebox import Host, Manifest
from edgebox_edge import WasmtimePlatform

from buildtools.edge import EDGE_CACHE
from tests.edge.conftest import run_coroutine


def attempt(manifest_path, module, fn, *args, then=None):
    """Call ``fn`` on a fresh host; returns (outcome, audits, host stats, outcome of ``then``)."""
    audits = []

    async def run():
        manifest = Manifest.parse(json.loads(manifest_path.read_text()), url=manifest_path.as_uri())
        host = Host(manifest, WasmtimePlatform(EDGE_CACHE), origin="http://127.0.0.1:1", gojs_imports=frozenset(),
                    on_audit=audits.append)
        try:
            outcome = await outcome_of(host.call(module, fn, list(args)))
            after = await outcome_of(host.call(*then)) if then else None
            await asyncio.sleep(0.05)  # audits from the instance's thread land on the loop
            return outcome, audits, host.stats(), after
        finally:
            host.close()

    return run_coroutine(run())


async def outcome_of(call):
    try:
        return {"ok": True, "value": await call}
    except Exception as error:  # noqa: BLE001 - the test reads the code
        return {"ok": False, "code": getattr(error, "code", type(error).__name__), "message": str(error)}


BENIGN = ("wasiprobe", "benign", [])


def test_json_bytes_and_typed_errors_round_trip(edge_manifest):
    assert attempt(edge_manifest, "wasiprobe", "sum", 1, 2, 3.5)[0] == {"ok": True, "value": 6.5}
    assert attempt(edge_manifest, "wasiprobe", "echo", "a", [1, {"b": None}])[0] == {"ok": True, "value": ["a", [1, {"b": None}]]}
    assert attempt(edge_manifest, "wasiprobe", "reverse", bytes([1, 2, 3, 255]))[0] == {"ok": True, "value": bytes([255, 3, 2, 1])}
    bad = attempt(edge_manifest, "wasiprobe", "sum", "x")[0]
    assert bad["ok"] is False and bad["code"] == "E_BAD_REQUEST"
    clock = attempt(edge_manifest, "wasiprobe", "clock")[0]["value"]
    assert clock["year"] >= 2025 and clock["slept_ms"] >= 15


def test_files_env_and_args_are_exactly_the_policys(edge_manifest):
    report, audits, _, env_args = attempt(edge_manifest, "wasiprobe", "files", then=("wasiprobe", "envArgs", []))
    report = report["value"]
    assert report["granted"] == '{"limit": 10}' and report["grantedErr"] == "<nil>"
    assert report["passwd"] == "open /etc/passwd: No such file or directory" and report["write"] != "<nil>"
    assert env_args["value"] == {"env": ["ROLE=probe"], "args": ["wasiprobe", "--probe"]}
    assert {("fs", "open /etc/passwd")} <= {(e.capability, e.detail) for e in audits}


@pytest.mark.parametrize("fn, code, capability, words", [
    ("loop", "E_TIMEOUT", "limits", "1500 ms"),
    ("alloc2g", "E_LIMIT", "limits", "out of memory"),
    ("flood", "E_LIMIT", "log", "log_kb"),
    ("panicNow", "E_PANIC", "panic", "main.go:"),
])
def test_a_hostile_call_gets_the_browsers_code_and_the_next_call_a_fresh_instance(edge_manifest, fn, code, capability, words):
    got, audits, stats, after = attempt(edge_manifest, "wasiprobe", fn, then=BENIGN)
    assert got["ok"] is False and got["code"] == code, got
    assert words in got["message"], got["message"]
    assert capability in {e.capability for e in audits}
    assert stats["counters"]["restarts"] == 1
    assert after == {"ok": True, "value": {"ok": True}}


def test_a_file_call_without_granted_files_is_refused_and_audited(edge_manifest):
    got, audits, _, _ = attempt(edge_manifest, "pathopen", "read")
    assert got["ok"] is False and got["code"] == "E_GUEST" and "/etc/passwd" in got["message"], got
    assert "fs" in {e.capability for e in audits}


def test_an_import_the_host_does_not_provide_is_refused_before_it_runs(edge_manifest):
    got, audits, _, _ = attempt(edge_manifest, "envimport", "reach")
    assert got["ok"] is False and got["code"] == "E_IMPORT" and "env.anything" in got["message"], got
    assert "import" in {e.capability for e in audits}


def test_a_goos_js_module_is_refused_with_e_load_naming_why(edge_manifest):
    got = attempt(edge_manifest, "heartbeat", "verifyHeartbeat", 1, "x")[0]
    assert got["ok"] is False and got["code"] == "E_LOAD" and "GOOS=js" in got["message"], got


def test_calls_queued_behind_a_death_are_answered_by_a_fresh_instance(edge_manifest):
    async def run():
        manifest = Manifest.parse(json.loads(edge_manifest.read_text()), url=edge_manifest.as_uri())
        host = Host(manifest, WasmtimePlatform(EDGE_CACHE), origin="http://127.0.0.1:1", gojs_imports=frozenset())
        try:
            calls = [host.call("wasiprobe", "panicNow", [])] + [host.call("wasiprobe", "sum", [i, 1]) for i in range(5)]
            return await asyncio.gather(*(outcome_of(c) for c in calls))
        finally:
            host.close()

    panicked, *others = run_coroutine(run())
    assert panicked["code"] == "E_PANIC"
    assert others == [{"ok": True, "value": i + 1} for i in range(5)]


def test_an_instance_that_dies_is_freed_store_and_all(edge_manifest):
    """Its store holds host functions that hold the guest: a cycle through native code
    that would keep every dead instance's memory (found by an attack: +61 MiB a death)."""
    import gc
    import weakref

    async def run():
        manifest = Manifest.parse(json.loads(edge_manifest.read_text()), url=edge_manifest.as_uri())
        host = Host(manifest, WasmtimePlatform(EDGE_CACHE), origin="http://127.0.0.1:1", gojs_imports=frozenset())
        try:
            stores = []
            for _ in range(3):
                guest = await host.guest("wasiprobe")
                stores.append(weakref.ref(guest._store))
                await outcome_of(host.call("wasiprobe", "panicNow", []))
            await asyncio.sleep(0.1)  # each instance's thread frees it after its last call
            return stores
        finally:
            host.close()

    stores = run_coroutine(run())
    gc.collect()
    assert [store() for store in stores] == [None, None, None]


def test_wasi_checks_a_guests_lengths_before_it_spends_on_them():
    from edgebox_edge._wasi import Wasi

    wasi = Wasi(args=["m"], env={}, files={}, write_log=lambda fd, data: len(data), audit=lambda *a: None,
                sleep_limit=lambda: 1.0, on_exit=lambda code: None)
    wasi.mem = memoryview(bytearray(4096))
    with pytest.raises(IndexError):
        wasi.random_get(0, 0x7FFFFFFF)  # 2 GiB asked of a 4 KiB memory: refused, nothing allocated
    assert wasi.random_get(0, 4096) == 0 and any(wasi.mem)
    with pytest.raises(IndexError, match="more than IOV_MAX"):
        wasi.fd_write(1, 0, 5_000_000, 0)


def http_call(manifest_path, path, on_part=None):
    """The HTTP export's answer to GET ``path`` on httpwasi, with ``on_part`` taking its parts when given."""
    from edgebox._guest_protocol import HTTP_EXPORT

    head = json.dumps({"method": "GET", "url": f"http://edge.test{path}", "headers": []})

    async def run():
        manifest = Manifest.parse(json.loads(manifest_path.read_text()), url=manifest_path.as_uri())
        host = Host(manifest, WasmtimePlatform(EDGE_CACHE), origin="http://127.0.0.1:1", gojs_imports=frozenset())
        try:
            return await outcome_of(host.call("httpwasi", HTTP_EXPORT, [head, b""], on_part=on_part))
        finally:
            host.close()

    return run_coroutine(run())


def test_a_streamed_answer_comes_in_parts_when_asked_and_whole_when_not(edge_manifest):
    from edgebox._http_answer import parse_answer

    parts = []
    streamed = http_call(edge_manifest, "/case/stream?events=3&ms=30", parts.append)
    whole = http_call(edge_manifest, "/case/stream?events=3&ms=30")
    assert streamed["ok"] and whole["ok"], (streamed, whole)
    assert len(parts) >= 2  # each event but the last was handed on while the handler slept
    for answer in (b"".join(parts) + streamed["value"], whole["value"]):
        assert parse_answer(answer).body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_an_answer_streamed_past_its_bound_is_refused_without_being_copied(edge_manifest):
    from edgebox._http import MAX_PARTS_BYTES

    parts = []
    got = http_call(edge_manifest, "/case/flush-flood?count=300&size=262144", parts.append)  # 75 MiB
    assert got["ok"] is False and got["code"] == "E_TOO_LARGE", got
    assert sum(map(len, parts)) <= MAX_PARTS_BYTES
