import asyncio

import pytest

from edgebox import (
    CrashedError,
    DeniedError,
    HttpRequest,
    HttpResponse,
    ImportMismatchError,
    IntegrityError,
    LimitError,
    LoadError,
    Manifest,
    NotFoundError,
    PanicError,
    TimeoutError,
)
from edgebox._wasm import PAGE
from fakes import MANIFEST_URL, MODULE_BYTES, MODULE_URL, manifest_data, wasm_module


def test_call_loads_the_module_once_and_answers(run, make_host, platform):
    host, _ = make_host()
    assert run(host.call("heartbeat", "echo", [1, "a"])) == [1, "a"]
    assert run(host.call("heartbeat", "upper", ["x"])) == "X"
    assert platform.fetches == [MODULE_URL]
    assert len(platform.started) == 1


def test_concurrent_first_calls_share_one_load(run, make_host, platform):
    host, _ = make_host()

    async def many():
        return await asyncio.gather(*(host.call("heartbeat", "upper", [c]) for c in "abcdef"))

    assert run(many()) == list("ABCDEF")
    assert platform.fetches == [MODULE_URL]


def test_unknown_module_and_function_are_not_found(run, make_host, platform):
    host, _ = make_host()
    with pytest.raises(NotFoundError, match="no module 'nope'"):
        run(host.call("nope", "echo", []))
    with pytest.raises(NotFoundError, match=r"has no function 'missing'.*\['echo', 'upper'\]"):
        run(host.call("heartbeat", "missing", []))
    assert platform.fetches == [MODULE_URL]  # an unknown module is never fetched


def test_tampered_bytes_never_start(run, make_host, platform):
    platform.files[MODULE_URL] = MODULE_BYTES[:-1] + b"\x03"
    host, _ = make_host()
    with pytest.raises(IntegrityError, match="sha256"):
        run(host.call("heartbeat", "echo", []))
    assert platform.started == []


def test_wrong_size_never_starts(run, make_host, platform):
    host, _ = make_host(Manifest.parse(manifest_data(size=len(MODULE_BYTES) + 1), url=MANIFEST_URL))
    with pytest.raises(IntegrityError, match="bytes"):
        run(host.call("heartbeat", "echo", []))
    assert platform.started == []


def test_a_failed_load_is_retried_on_the_next_call(run, make_host, platform):
    good = platform.files.pop(MODULE_URL)
    host, _ = make_host()
    with pytest.raises(LoadError):
        run(host.call("heartbeat", "echo", []))
    platform.files[MODULE_URL] = good
    assert run(host.call("heartbeat", "echo", [7])) == [7]


@pytest.mark.parametrize("error", [CrashedError("exited"), PanicError("panic: boom"), LimitError("log_kb")])
def test_a_guest_that_dies_is_replaced(run, make_host, platform, error):
    def die():
        raise error

    platform.functions["die"] = die
    host, events = make_host()
    with pytest.raises(type(error)):
        run(host.call("heartbeat", "die", []))
    assert platform.started[0].closed
    assert run(host.call("heartbeat", "echo", [1])) == [1]
    assert len(platform.started) == 2
    assert host.stats()["counters"]["restarts"] == 1
    if not isinstance(error, CrashedError):
        assert events[-1].code == error.code


def test_a_call_past_timeout_ms_is_stopped_and_the_instance_replaced(run, make_host, platform):
    platform.functions["hang"] = lambda: asyncio.get_event_loop().create_future()
    host, events = make_host(Manifest.parse(manifest_data(policy={"limits": {"timeout_ms": 30}}), url=MANIFEST_URL))
    with pytest.raises(TimeoutError, match="30 ms"):
        run(host.call("heartbeat", "hang", []))
    assert platform.started[0].closed
    assert (events[-1].capability, events[-1].code) == ("limits", "E_TIMEOUT")
    assert run(host.call("heartbeat", "echo", [2])) == [2]


def test_progress_reports_module_bytes(run, make_host):
    seen = []
    host, _ = make_host(on_progress=lambda *event: seen.append(event))
    run(host.call("heartbeat", "echo", []))
    assert seen == [("module:heartbeat", len(MODULE_BYTES), len(MODULE_BYTES))]


def _manifest_for(data: bytes, **policy) -> Manifest:
    import hashlib

    return Manifest.parse(manifest_data(size=len(data), sha256=hashlib.sha256(data).hexdigest(), policy=policy), url=MANIFEST_URL)


def test_an_import_the_host_does_not_provide_is_refused_by_name(run, make_host, platform):
    data = wasm_module(imports=(("gojs", "runtime.wasmExit"), ("env", "anything"), ("wasi_snapshot_preview1", "path_open")))
    platform.files[MODULE_URL] = data
    host, events = make_host(_manifest_for(data))
    # A js module gets gojs only: a WASI import is as foreign to it as env.anything.
    with pytest.raises(ImportMismatchError, match=r"env\.anything, wasi_snapshot_preview1\.path_open"):
        run(host.call("heartbeat", "echo", []))
    assert platform.started == []
    assert events[-1].code == "E_IMPORT"


def test_memory_is_capped_at_memory_mb(run, make_host, platform):
    from edgebox._wasm import _Reader, _sections

    data = wasm_module(min_pages=2)
    platform.files[MODULE_URL] = data
    host, _ = make_host(_manifest_for(data, limits={"memory_mb": 32}))
    run(host.call("heartbeat", "echo", []))
    started = platform.started[0].data
    memory = next((s, e) for sid, _, s, e in _sections(started) if sid == 5)
    reader = _Reader(started, *memory)
    assert reader.u32() == 1
    assert reader.limits() == (1, 2, 32 * 1024 * 1024 // PAGE)


def test_a_module_that_needs_more_than_memory_mb_at_start_is_refused(run, make_host, platform):
    data = wasm_module(min_pages=1000)  # 62.5 MiB
    platform.files[MODULE_URL] = data
    host, _ = make_host(_manifest_for(data, limits={"memory_mb": 32}))
    with pytest.raises(LimitError, match="32 MiB"):
        run(host.call("heartbeat", "echo", []))


def test_guest_fetch_is_decided_by_policy_and_denials_are_audited(run, make_host, platform):
    host, events = make_host(_manifest_for(MODULE_BYTES, net={"allow": ["/api/"], "methods": ["GET", "POST"]}))
    run(host.call("heartbeat", "echo", []))
    services = platform.started[0].services
    platform.responses["http://box.test/api/items?x=1"] = HttpResponse(200, "OK", [("content-type", "text/plain")], b"hi")
    response = run(services.fetch(HttpRequest(url="/api/items?x=1", method="get")))
    assert response.body == b"hi"
    assert platform.http_requests[0][0].url == "http://box.test/api/items?x=1"
    assert platform.http_requests[0][1] == "omit"
    for url, method in [("/private/x", "GET"), ("http://evil.test/api/", "GET"), ("/api/../admin", "GET"),
                        ("/api/%2e%2e/admin", "GET"), ("/api/x", "DELETE")]:
        with pytest.raises(DeniedError):
            run(services.fetch(HttpRequest(url=url, method=method)))
    assert len(platform.http_requests) == 1  # nothing denied reached the network
    assert [e.capability for e in events] == ["net"] * 5
    assert host.stats()["counters"]["E_DENIED:net"] == 5


def test_a_redirect_is_denied_and_audited(run, make_host, platform):
    host, events = make_host(_manifest_for(MODULE_BYTES, net={"allow": ["/api/"]}))
    run(host.call("heartbeat", "echo", []))
    with pytest.raises(DeniedError):
        run(platform.started[0].services.fetch(HttpRequest(url="/api/redirects")))
    assert events[-1].capability == "net"


def test_the_watchdog_stops_a_call_that_runs_past_timeout_ms(run, make_host, platform):
    detached = []
    host, events = make_host(Manifest.parse(manifest_data(policy={"limits": {"timeout_ms": 100}}), url=MANIFEST_URL),
                             on_detach=lambda module, error: detached.append((module, error.code)))
    run(host.call("heartbeat", "echo", []))
    guest = platform.started[0]
    guest.running = 7
    host.watch_once(10.0)
    host.watch_once(10.05)
    assert not guest.closed  # 50 ms: within the limit
    guest.running = 8  # a new call: its own clock
    host.watch_once(10.2)
    host.watch_once(10.25)
    assert not guest.closed
    host.watch_once(10.31)
    assert guest.closed
    assert detached == [("heartbeat", "E_TIMEOUT")]
    assert (events[-1].capability, events[-1].code) == ("limits", "E_TIMEOUT")
    assert run(host.call("heartbeat", "echo", [3])) == [3]


def test_connect_starts_the_module_and_hands_over_the_region(run, make_host, platform):
    host, _ = make_host()
    region = object()
    run(host.connect("heartbeat", region))
    assert platform.started[0].connected == [region]
    with pytest.raises(NotFoundError):
        run(host.connect("nope", region))


def test_bytes_already_within_memory_mb_are_not_rewritten():
    from edgebox._wasm import limit_memory

    capped = wasm_module(min_pages=2, max_pages=100)
    assert limit_memory(capped, 32) is capped  # 100 pages = 6.25 MiB: nothing to do, no copy
    assert limit_memory(capped, 16) is capped
    uncapped = wasm_module(min_pages=2)
    assert limit_memory(uncapped, 32) != uncapped
