"""Edge HTTP handlers in Chromium: box.fetch to Go net/http guests of both kinds,
the middleware chain, gray release, metrics, and the order risk-rules case."""

import json

import pytest
from playwright.sync_api import expect

import buildtools as build
from edgebox import Manifest
from conftest import GUESTS
from pages import open_page
from tests.orders import generated_orders, go_test_verdicts

INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ECHO_ROUTES = [{"prefix": "/js/", "module": "httpjs", "middleware": ["logger", "tracer"]},
               {"prefix": "/wasi/", "module": "httpwasi", "middleware": ["logger", "tracer"]}]


def manifest() -> Manifest:
    return Manifest.parse(json.loads((build.BOX / "manifest.json").read_text()), url="http://x/edgebox/manifest.json")


def user_with_version(version: str) -> str:
    """A user id whose percentage bucket gives `version` for the orders route."""
    route = next(r for r in manifest().routes if r.prefix == "/edge/orders/")
    return next(f"user-{i}" for i in range(1000)
                if route.pick(user_agent="Mozilla/5.0", flags={}, user_id=f"user-{i}")[0] == version)


@pytest.fixture(scope="module")
def edge_page(context, base_url, test_modules):
    page = open_page(context, f"{base_url}/blank.html")
    page.evaluate(
        """async ([modules, routes, userId]) => {
            globalThis.EdgeBoxModule = await import("/edgebox/edgebox.js");
            globalThis.box = await EdgeBoxModule.EdgeBox.start({ modules, routes, userId, warm: ["riskrules"] });
        }""",
        [test_modules, ECHO_ROUTES, user_with_version("v1")],
    )
    yield page
    page.close()


FETCH = """async ([url, init]) => {
    const response = await box.fetch(url, init);
    const body = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, headers: Object.fromEntries(response.headers), body: Array.from(body) };
}"""


@pytest.mark.parametrize("prefix", ["/js/", "/wasi/"])
def test_method_url_headers_status_and_binary_bodies_arrive_intact(edge_page, prefix):
    body = list(range(256)) * 1200 + [0, 255]  # 300 KiB of every byte value
    got = edge_page.evaluate(
        """async ([url, body, traceparent]) => {
            const response = await box.fetch(url, { method: "PUT", headers: { "x-thing": "yes, \\u00e9t\\u00e9", traceparent },
                                                     body: new Uint8Array(body) });
            const bytes = new Uint8Array(await response.arrayBuffer());
            return { status: response.status, headers: Object.fromEntries(response.headers),
                     same: bytes.length === body.length && bytes.every((b, i) => b === body[i]) };
        }""",
        [f"{prefix}a/b?q=1&status=207", body, INCOMING],
    )
    assert got["status"] == 207 and got["same"] is True
    headers = got["headers"]
    assert headers["x-echo-method"] == "PUT"
    assert headers["x-echo-url"].endswith(f"{prefix}a/b?q=1&status=207")
    seen = json.loads(headers["x-echo-headers"])
    # Latin-1 bytes on the wire, as a browser sends them: not UTF-8, so the echo's JSON has U+FFFD for
    # each, whose UTF-8 bytes the page reads back as Latin-1, as fetch from a real server would.
    assert seen["X-Thing"] == "yes, \ufffdt\ufffd".encode().decode("latin-1")
    # The guest sees EdgeBox's span, in the trace the page started; so does the page.
    assert seen["Traceparent"] == headers["traceparent"]
    assert headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert headers["traceparent"] != INCOMING


@pytest.mark.parametrize("module", ["httpjs", "httpwasi"])
def test_the_sdk_exports_behave_the_same_under_both_abis(edge_page, module):
    """One Go source, built for each ABI: the same values and the same typed errors."""
    got = edge_page.evaluate(
        """async (module) => {
            const settle = (p) => p.then((value) => ["ok", value instanceof Uint8Array ? ["bytes", ...value] : value],
                                         (e) => [e.code, e.message.split("\\n")[0]]);
            return {
                sum: await settle(box.call(module, "sum", 1, 2, 3.5)),
                none: await settle(box.call(module, "sum")),
                words: await settle(box.call(module, "sum", "x")),
                bytes: await settle(box.call(module, "reverse", new Uint8Array([1, 2, 3]))),
                text: await settle(box.call(module, "reverse", "abc")),
                wrong: await settle(box.call(module, "reverse", 1, 2)),
                panics: await settle(box.call(module, "panics")),
                after: await settle(box.call(module, "sum", 4)),
            };
        }""",
        module,
    )
    assert got["sum"] == ["ok", {"total": 6.5, "count": 3}]
    assert got["none"] == ["ok", {"total": 0, "count": 0}]
    assert got["words"] == ["E_BAD_REQUEST", "sum takes numbers"]
    assert got["bytes"] == ["ok", ["bytes", 3, 2, 1]]
    assert got["text"] == ["ok", ["bytes", 99, 98, 97]]
    assert got["wrong"] == ["E_BAD_REQUEST", "reverse takes one Uint8Array (or one string)"]
    assert got["panics"][0] == "E_PANIC" and "exported function panicked on purpose" in got["panics"][1]
    assert got["after"] == ["ok", {"total": 4, "count": 1}]


def test_a_path_with_no_route_is_a_404_response(edge_page):
    got = edge_page.evaluate(FETCH, ["/nowhere", {}])
    assert got["status"] == 404


def test_traces_are_readable_and_continue_the_incoming_one(edge_page):
    edge_page.evaluate(FETCH, ["/js/traced", {"headers": {"traceparent": INCOMING}}])
    spans = edge_page.evaluate("box.stats()")["spans"]
    span = next(s for s in reversed(spans) if s["name"] == "GET /js/traced")
    assert span["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and span["parent_id"] == "00f067aa0ba902b7"


def test_cors_preflight_is_answered_without_calling_the_guest(edge_page):
    before = edge_page.evaluate("box.stats()")["counters"].get("calls via host", 0)
    got = edge_page.evaluate(FETCH, ["/edge/orders/check", {"method": "OPTIONS", "headers": {
        "origin": "https://shop.example", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type"}}])
    assert got["status"] == 204
    assert got["headers"]["access-control-allow-origin"] == "*"
    assert "POST" in got["headers"]["access-control-allow-methods"]
    assert edge_page.evaluate("box.stats()")["counters"].get("calls via host", 0) == before


def test_200_generated_orders_get_the_verdicts_the_handler_gives_under_go_test(edge_page, tmp_path):
    orders = generated_orders()
    expected = go_test_verdicts(orders, tmp_path)
    got = edge_page.evaluate(
        """async (orders) => {
            const out = [];
            for (const order of orders) {
                const response = await box.fetch("/edge/orders/check", { method: "POST",
                    headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
                out.push({ status: response.status, body: await response.json(), version: response.headers.get("x-edgebox-version") });
            }
            return out;
        }""",
        orders,
    )
    assert {g["version"] for g in got} == {"v1"}
    verdicts = [e["body"].get("verdict", e["status"]) for e in expected]
    assert {"pass", "review", "block", 400} <= set(verdicts), verdicts  # the orders exercise every outcome
    mismatched = [(i, orders[i], e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True))
                  if (e["status"], e["body"]) != (g["status"], g["body"])]
    assert mismatched == []


def test_metrics_parse_and_count_what_was_sent(edgebox):
    """Through EdgeBox's pytest plugin: the guest compiled as `build.py module` does, its metrics parsed by prometheus_client."""
    box = edgebox.start(modules=[edgebox.module(GUESTS / "httpjs", abi="js")], routes=ECHO_ROUTES[:1])
    for _ in range(7):
        assert box.fetch("/js/counted").status == 200
    metrics = box.metrics()
    assert metrics.value("edgebox_requests_total", module="httpjs", status="200") == 7
    assert {"edgebox_request_duration_seconds", "edgebox_denials", "edgebox_panics", "edgebox_timeouts",
            "edgebox_restarts"} <= set(metrics.families)
    assert metrics.value("edgebox_request_duration_seconds_count", module="httpjs") == 7
    assert metrics.value("edgebox_requests_total", module="httpjs", status="404") == 0


def version_of(page, **init):
    return page.evaluate(
        """async (init) => (await box.fetch("/edge/orders/check", { method: "POST", body: "{}", ...init })).headers.get("x-edgebox-version")""",
        init)


def test_gray_release_by_user_agent_flag_and_percent(context, base_url, edge_page):
    assert version_of(edge_page) == "v1"
    assert version_of(edge_page, headers={"user-agent": "Mozilla/5.0 EdgeCanary/2.0"}) == "v2"
    edge_page.evaluate("""box.setFlags({ "risk-v2": true })""")
    assert version_of(edge_page) == "v2"  # switched without reloading the page
    edge_page.evaluate("""box.setFlags({ "risk-v2": false })""")
    assert version_of(edge_page) == "v1"
    # Percent: a user in the rollout's bucket gets v2, on every request.
    page = open_page(context, f"{base_url}/blank.html")
    try:
        page.evaluate("""async (userId) => {
            globalThis.box = await (await import("/edgebox/edgebox.js")).EdgeBox.start({ userId }); }""", user_with_version("v2"))
        assert [version_of(page) for _ in range(3)] == ["v2"] * 3
    finally:
        page.close()


def test_the_demo_order_form_checks_orders_as_the_user_types(context, base_url):
    page = open_page(context, f"{base_url}/?user={user_with_version('v1')}")
    try:
        expect(page.locator("#order-verdict")).to_have_text("pass", timeout=60_000)
        page.fill("#order-price", "9000")
        expect(page.locator("#order-verdict")).to_have_text("review")
        expect(page.locator("#order-reasons")).to_contain_text("within 20% of the US limit")
        page.fill("#order-region", "KP")
        expect(page.locator("#order-verdict")).to_have_text("block")
        expect(page.locator("#order-reasons")).to_contain_text("region KP is blocked")
        page.fill("#order-region", "usa")
        expect(page.locator("#order-verdict")).to_have_text("400 invalid")
        page.fill("#order-region", "DE")
        expect(page.locator("#order-verdict")).to_have_text("block")  # 9000 is over DE's 8000
        expect(page.locator("#order-version")).to_have_text("v1")
        page.check("#flag-risk-v2")
        expect(page.locator("#order-version")).to_have_text("v2")
        expect(page.locator("#metrics")).to_contain_text('edgebox_requests_total{module="riskrules"')
        expect(page.locator("#request-log")).to_contain_text("POST /edge/orders/check 200")
        assert page.problems == []
    finally:
        page.close()
