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
from edgebox._guest_protocol import Via, WatchReading
from edgebox._lifecycle import Death, classify_exit
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
        guest = platform.started[-1]
        guest.die(Death(error, culprit=(Via.HOST, guest._ids), taken_host=guest._ids))
        return asyncio.get_event_loop().create_future()  # the call itself never answers

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

    async def with_watchdog():
        dog = asyncio.ensure_future(host.watch(interval=0.005))
        try:
            return await host.call("heartbeat", "hang", [])
        finally:
            dog.cancel()

    with pytest.raises(TimeoutError, match="30 ms"):
        run(with_watchdog())
    assert platform.started[0].closed
    assert (events[-1].capability, events[-1].code) == ("limits", "E_TIMEOUT")
    assert run(host.call("heartbeat", "echo", [2])) == [2]


def test_a_guest_may_claim_only_its_own_codes():
    from edgebox._errors import claimed
    from edgebox._guest_protocol import REPLY_CODES

    for code in ("E_PANIC", "E_LIMIT", "E_CRASHED", "E_TIMEOUT", "E_INTEGRITY", "E_DENIED"):
        error = claimed({"code": code, "message": "fake"}, REPLY_CODES)
        assert (error.code, error.message) == ("E_GUEST", f"(claimed {code}) fake")
    for code in ("E_GUEST", "E_BAD_REQUEST", "E_NOT_FOUND", "E_CONFIG", "E_TOO_LARGE"):
        assert claimed({"code": code, "message": "m"}, REPLY_CODES).code == code


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
                             on_detach=lambda module, death: detached.append((module, death.to_wire())))
    run(host.call("heartbeat", "echo", []))
    guest = platform.started[0]
    guest.reading = WatchReading(beat=1, running=1, oldest=7, oldest_id=40, oldest_via=Via.PAGE, taken_page=41)
    host.watch_once(10.0)
    guest.reading = WatchReading(beat=2, running=1, oldest=7, oldest_id=40, oldest_via=Via.PAGE, taken_page=41)
    host.watch_once(10.05)
    assert not guest.closed  # 50 ms: within the limit
    guest.reading = WatchReading(beat=3, running=1, oldest=8, oldest_id=41, oldest_via=Via.PAGE, taken_page=41)  # its own clock
    host.watch_once(10.2)
    guest.reading = WatchReading(beat=4, running=1, oldest=8, oldest_id=41, oldest_via=Via.PAGE, taken_page=41)
    host.watch_once(10.25)
    assert not guest.closed
    host.watch_once(10.31)
    assert guest.closed
    [(module, wire)] = detached
    assert (module, wire["error"]["code"], wire["culprit"], wire["taken"]) == ("heartbeat", "E_TIMEOUT", 41, 41)
    assert (events[-1].capability, events[-1].code) == ("limits", "E_TIMEOUT")
    assert run(host.call("heartbeat", "echo", [3])) == [3]


def test_an_event_loop_that_stops_between_calls_is_replaced(run, make_host, platform):
    host, events = make_host(Manifest.parse(manifest_data(policy={"limits": {"timeout_ms": 100}}), url=MANIFEST_URL))
    run(host.call("heartbeat", "echo", []))
    guest = platform.started[0]
    guest.reading = WatchReading(beat=5)  # no call runs, and the beat no longer moves
    host.watch_once(1.0)
    host.watch_once(1.09)
    assert not guest.closed
    host.watch_once(1.11)
    assert guest.closed and guest.death.error.code == "E_TIMEOUT" and guest.death.culprit is None
    assert "event loop" in guest.death.error.message


def test_a_death_costs_only_its_own_call(run, make_host, platform):
    """The culprit gets the death, calls that ran with it E_CRASHED naming it,
    and a call the instance never started is answered by a fresh instance."""
    gate = {}
    host, _ = make_host()

    def hang(*_):
        if len(platform.started) > 1:
            return "answered by the fresh instance"
        gate.setdefault("futures", []).append(asyncio.get_event_loop().create_future())
        return gate["futures"][-1]

    platform.functions["hang"] = hang

    async def scenario():
        await host.call("heartbeat", "echo", [])  # call 1
        calls = [asyncio.ensure_future(host.call("heartbeat", "hang", [])) for _ in range(3)]  # calls 2, 3, 4
        await asyncio.sleep(0.01)
        first = platform.started[0]
        first.die(Death(PanicError("panic: boom"), culprit=(Via.HOST, 2), taken_host=3))
        return await asyncio.gather(*calls, return_exceptions=True), first

    results, first = run(scenario())
    assert isinstance(results[0], PanicError) and "boom" in results[0].message
    assert isinstance(results[1], CrashedError) and "E_PANIC" in results[1].message and "another call" in results[1].message
    assert results[2] == "answered by the fresh instance"  # call 4 was never started by the dead instance
    assert len(platform.started) == 2 and first.closed and not platform.started[1].closed


def test_death_fate_and_exit_classification():
    death = Death(TimeoutError("late"), culprit=(Via.PAGE, 9), taken_host=4, taken_page=10)
    assert death.fate(Via.PAGE, 9) is death.error
    assert isinstance(death.fate(Via.PAGE, 10), CrashedError) and "[E_TIMEOUT] late" in death.fate(Via.PAGE, 10).message
    assert death.fate(Via.PAGE, 11) is None
    assert isinstance(death.fate(Via.HOST, 4), CrashedError) and death.fate(Via.HOST, 5) is None
    assert death.to_wire() == {"error": death.error.to_wire(), "culprit": 9, "taken": 10}
    assert Death(TimeoutError("x"), culprit=(Via.HOST, 3)).to_wire()["culprit"] is None
    stack = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:12 +0x3"
    assert isinstance(classify_exit("m", "log line\n" + stack, "2"), PanicError)
    assert classify_exit("m", "log line\n" + stack, "2").message == "module 'm': " + stack
    assert isinstance(classify_exit("m", "fatal error: out of memory", "2"), LimitError)
    exited = classify_exit("m", "", "3")
    assert isinstance(exited, CrashedError) and "code 3" in exited.message


def test_startup_has_its_own_bound(run, make_host, platform):
    host, _ = make_host(Manifest.parse(manifest_data(policy={"limits": {"timeout_ms": 5, "startup_ms": 100}}), url=MANIFEST_URL))
    original = platform.start_guest

    async def slow_start(spec, data, services):
        await asyncio.sleep(0.05)  # longer than timeout_ms, shorter than startup_ms
        return await original(spec, data, services)

    platform.start_guest = slow_start
    assert run(host.call("heartbeat", "echo", [1])) == [1]

    async def never(spec, data, services):
        await asyncio.sleep(10)

    host.forget("heartbeat")
    platform.start_guest = never
    with pytest.raises(TimeoutError, match="startup_ms"):
        run(host.call("heartbeat", "echo", [1]))


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


def test_a_platform_refuses_a_kind_of_module_it_cannot_run_before_fetching_it(run, make_host, platform):
    platform.abis = ("wasip1",)  # the edge's wasmtime platform: no JavaScript engine for GOOS=js
    host, _ = make_host()
    with pytest.raises(LoadError, match="GOOS=js"):
        run(host.call("heartbeat", "echo", [1]))
    assert platform.fetches == [] and platform.started == []


def test_a_debug_module_names_its_map_and_its_offsets_symbolize(run, make_host, platform):
    import json as _json

    from edgebox._wasm import _sections

    map_url = "http://box.test/edgebox/modules/heartbeat.wasm.map"
    # Two mappings: column 10 -> main.go:3 (main.a), column 50 -> main.go:7 (main.b).
    platform.files[map_url] = _json.dumps({"version": 3, "sources": ["m/main.go"], "names": ["main.a", "main.b"],
                                           "mappings": "UAEAA,gCAIAC"}).encode()
    host, _ = make_host(Manifest.parse(manifest_data(debug=True, source_map="modules/heartbeat.wasm.map"), url=MANIFEST_URL))
    assert host.symbolize("heartbeat", 20) is None  # no map asked for before the module starts
    run(host.call("heartbeat", "echo", []))
    started = platform.started[0].data
    # The absolute URL is written after verification, in a sourceMappingURL custom section.
    custom = [started[s:e] for sid, _, s, e in _sections(started) if sid == 0]
    assert any(b"sourceMappingURL" in section and map_url.encode() in section for section in custom)
    run(asyncio.sleep(0))  # the map's fetch is done
    assert platform.started[0].services.symbolize(20) == {"function": "main.a", "file": "m/main.go", "line": 3}
    assert host.symbolize("heartbeat", 60) == {"function": "main.b", "file": "m/main.go", "line": 7}
    assert host.symbolize("heartbeat", 5) is None


def test_a_map_that_is_not_one_gives_no_frames(run, make_host, platform):
    platform.files["http://box.test/edgebox/bad.map"] = b"{}"
    host, _ = make_host(Manifest.parse(manifest_data(debug=True, source_map="bad.map"), url=MANIFEST_URL))
    run(host.call("heartbeat", "echo", []))
    run(asyncio.sleep(0))
    assert host.symbolize("heartbeat", 20) is None


def test_a_module_that_does_not_start_in_startup_ms_is_a_timeout(run, make_host, platform):
    async def never(url, progress, sha256=None):
        await asyncio.sleep(60)

    platform.fetch_bytes = never
    host, _ = make_host(_manifest_for(MODULE_BYTES, limits={"startup_ms": 100}))
    with pytest.raises(TimeoutError, match=r"did not start within 100 ms \(startup_ms\)"):
        run(host.call("heartbeat", "echo", []))


def _locals_kept_by(error: BaseException) -> list:
    """The locals of every frame that error's tracebacks keep, along its chain (cause, context)."""
    kept, pending, seen = [], [error], set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            kept += tb.tb_frame.f_locals.values()
            tb = tb.tb_next
        pending += [error.__cause__, error.__context__]
    return kept


@pytest.mark.parametrize("fails", ["startup_ms", "start_guest"])
def test_a_failed_start_keeps_none_of_its_module_bytes(run, make_host, platform, fails):
    # Whoever waited for the load keeps its error, in a cycle only the cyclic GC frees: its
    # frames must not keep the bytes (in the browser, 60 such starts of an 11 MB module grew
    # Python's heap by 1.2 GB).
    platform.files[MODULE_URL] = wasm_module(min_pages=2)  # no local of this frame, which the error keeps too
    size = len(platform.files[MODULE_URL])

    async def never(spec, prepared, services):
        await asyncio.sleep(10)

    async def refused(spec, prepared, services):
        raise LoadError("not a valid WebAssembly module")

    platform.start_guest = never if fails == "startup_ms" else refused
    host, _ = make_host(_manifest_for(platform.files[MODULE_URL], limits={"startup_ms": 100, "memory_mb": 32}))  # rewritten: two copies
    with pytest.raises((TimeoutError, LoadError)) as caught:
        run(host.call("heartbeat", "echo", []))
    kept = _locals_kept_by(caught.value)
    assert kept, "the error keeps no frame at all: nothing was checked"
    assert not [value for value in kept if isinstance(value, (bytes, bytearray, memoryview)) and len(value) >= size]


def test_what_a_guest_logs_is_kept_and_close_forgets_every_instance(run, make_host, platform):
    host, _ = make_host()
    run(host.call("heartbeat", "echo", []))
    platform.started[0].services.log(2, "a line")
    assert host.recent_log[-1]["stream"] == "stderr" and host.recent_log[-1]["text"] == "a line"
    host.close()
    assert platform.started[0].closed
    assert host.stats()["running"] == []
