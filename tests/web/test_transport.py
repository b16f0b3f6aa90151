"""The page <-> host channel in Chromium: SharedArrayBuffer under load, backpressure,
size limits, the postMessage fallback, and a host worker that dies."""

import time

import pytest

import buildtools as build
from conftest import serve
from pages import open_page

# Starts a box on a fresh page and keeps it as globalThis.box.
START = """async ([modules, options]) => {
    globalThis.EdgeBoxModule = await import("/edgebox/edgebox.js");
    globalThis.box = await EdgeBoxModule.EdgeBox.start({ modules, ...options });
    return box.transport;
}"""

# 64 calls in flight with random payload sizes (0 B to 4 MiB, plus one of 16 MiB);
# every reply must be the exact bytes sent, to the right caller.
STORM = """async ([count, maxBytes]) => {
    let seed = 1234;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const sizes = Array.from({ length: count }, (_, i) => i === 0 ? 16 * 1024 * 1024 : Math.floor(random() ** 3 * maxBytes));
    const payloads = sizes.map((n, i) => { const b = new Uint8Array(n); for (let j = 0; j < n; j += 997) b[j] = (i + j) & 255; if (n) b[n - 1] = i; return b; });
    const replies = await Promise.all(payloads.map((p) => box.call("echo", "echo", p)));
    const same = (a, b) => a instanceof Uint8Array && a.length === b.length && a.every((v, k) => v === b[k]);
    return { sizes, wrong: replies.map((r, i) => same(r, payloads[i]) ? null : i).filter((i) => i !== null) };
}"""

ATTEMPT = """async ([module, fn, args]) => {
    try { return { ok: true, value: await box.call(module, fn, ...args) }; }
    catch (error) { return { ok: false, code: error.code, message: error.message }; }
}"""


@pytest.fixture
def fresh(context, base_url, test_modules):
    """fresh(**options) -> a page with its own box started with those options."""
    pages = []

    def start(**options):
        page = open_page(context, f"{base_url}/blank.html")
        pages.append(page)
        page.transport = page.evaluate(START, [test_modules, options])
        return page

    yield start
    for page in pages:
        page.close()


def test_64_calls_in_flight_with_random_sizes_over_shared_memory(fresh):
    page = fresh()
    assert page.transport == "sab"
    result = page.evaluate(STORM, [64, 4 * 1024 * 1024])
    assert len(result["sizes"]) == 64 and max(result["sizes"]) == 16 * 1024 * 1024 and min(result["sizes"]) < 1024
    assert result["wrong"] == []


def test_after_the_first_call_python_is_off_the_call_path(fresh):
    page = fresh(warm=["echo"])
    page.evaluate("""async () => { for (let i = 0; i < 100; i++) await box.call("echo", "echoValue", i); }""")
    via_host = page.evaluate("box.stats()")["counters"].get("calls via host", 0)
    assert via_host < 10, via_host  # the rest went page -> guest directly
    direct_off = fresh(warm=["echo"], direct=False)
    direct_off.evaluate("""async () => { for (let i = 0; i < 100; i++) await box.call("echo", "echoValue", i); }""")
    assert direct_off.evaluate("box.stats()")["counters"]["calls via host"] == 100


def test_values_of_every_kind_round_trip(fresh):
    page = fresh()
    values = [None, True, False, 0, -1, 2**31, 1.5, -0.25, "", "héllo ✓", [1, [2, "x"]], {"a": {"b": [None, 3]}}]
    for value in values:
        assert page.evaluate(ATTEMPT, ["echo", "echoValue", [value]]) == {"ok": True, "value": value}


def test_a_small_region_applies_backpressure_and_loses_nothing(fresh):
    page = fresh(sharedBytes=16384)
    result = page.evaluate(STORM, [64, 256 * 1024])
    assert result["wrong"] == []


def test_a_message_over_max_message_bytes_is_refused(fresh):
    page = fresh(maxMessageBytes=100_000)
    got = page.evaluate("""async () => { try { await box.call("echo", "echo", new Uint8Array(200000)); return "answered"; }
                                         catch (error) { return error.code; } }""")
    assert got == "E_TOO_LARGE"
    assert page.evaluate(ATTEMPT, ["echo", "echoValue", ["still here"]]) == {"ok": True, "value": "still here"}


def test_a_call_past_call_timeout_rejects_and_a_live_host_is_kept(fresh):
    page = fresh(callTimeoutMs=300)
    got = page.evaluate(ATTEMPT, ["echo", "sleep", [1500]])
    assert got["ok"] is False and got["code"] == "E_TIMEOUT" and "callTimeoutMs" in got["message"]
    time.sleep(1.5)  # the ping is answered, so nothing is restarted
    assert page.evaluate("box.restarts") == 0
    assert page.evaluate(ATTEMPT, ["echo", "echoValue", [1]]) == {"ok": True, "value": 1}


def test_a_killed_host_fails_pending_calls_once_and_is_replaced(fresh):
    page = fresh(warm=["echo"])
    got = page.evaluate(
        """async () => {
            const settled = new Array(20).fill(0);
            const outcomes = [];
            const calls = Array.from({ length: 20 }, (_, i) => box.call("echo", "sleep", 5000).then(
                () => { settled[i]++; outcomes[i] = "answered"; },
                (error) => { settled[i]++; outcomes[i] = error.code; }));
            await new Promise((r) => setTimeout(r, 200));
            const killedAt = performance.now();
            box[Symbol.for("edgebox.debug.killHost")]();
            await Promise.all(calls);
            const failedAfter = performance.now() - killedAt;
            const next = await box.call("echo", "echoValue", "after the restart");
            await new Promise((r) => setTimeout(r, 300));
            return { outcomes, settled, failedAfter, next, restarts: box.restarts };
        }"""
    )
    assert got["outcomes"] == ["E_CRASHED"] * 20
    assert got["settled"] == [1] * 20  # each call settled exactly once, none answered late
    assert got["failedAfter"] < 1000
    assert got["next"] == "after the restart"
    assert got["restarts"] == 1


@pytest.fixture(scope="module")
def plain_server(overlay):
    """The same build from another origin, without the cross-origin isolation headers."""
    server = serve([build.DIST, overlay], isolated=False)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_page_without_isolation_falls_back_to_post_message(context, plain_server, test_modules):
    page = open_page(context, f"{plain_server}/blank.html")
    warnings = []
    page.on("console", lambda msg: msg.type == "warning" and warnings.append(msg.text))
    try:
        assert page.evaluate("crossOriginIsolated") is False
        assert page.evaluate(START, [test_modules, {}]) == "message"
        assert any("Cross-Origin-Opener-Policy" in w and "Cross-Origin-Embedder-Policy" in w for w in warnings)
        result = page.evaluate(STORM, [16, 256 * 1024])
        assert result["wrong"] == []
        forced = page.evaluate("""async () => { try { await EdgeBoxModule.EdgeBox.start({ transport: "sab" }); }
                                                catch (error) { return error.code + " " + error.message; } }""")
        assert forced.startswith("E_CONFIG") and "Cross-Origin-Embedder-Policy" in forced
    finally:
        page.close()
