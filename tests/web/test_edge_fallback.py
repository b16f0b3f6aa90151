"""A page that cannot run the box sends box.fetch to the edge server (EdgeBox.start
({fallback})): the same Response shape and verdicts, `x-edgebox-where: edge`, the
page's flags and user id, and the edge's EdgeBox error bodies as the box's own."""

import threading

import pytest

import buildtools as build
from pages import open_page
from tests.edge_server import EdgeServer, write_edge_manifest
from tests.orders import generated_orders, go_test_verdicts
from test_edge_http import user_with_version

START = """async ([fallback, options]) => {
    globalThis.EdgeBoxModule = await import("/edgebox/edgebox.js");
    globalThis.box = await EdgeBoxModule.EdgeBox.start({ fallback, ...options });
    return [crossOriginIsolated, box.where];
}"""
FETCH = """async ([url, init]) => {
    const response = await box.fetch(url, init);
    return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}"""


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    server = EdgeServer(write_edge_manifest(tmp_path_factory.mktemp("edge")), tmp_path_factory.mktemp("edge-logs"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain_url():
    """dist/ served without the cross-origin isolation headers."""
    server = build.make_server([build.DIST], isolated=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def fallback_page(context, plain_url, edge):
    page = open_page(context, f"{plain_url}/blank.html")
    yield page
    page.close()


def test_a_page_that_is_not_isolated_gets_its_answers_from_the_edge(fallback_page, edge, tmp_path):
    assert fallback_page.evaluate(START, [edge.url, {"userId": user_with_version("v1")}]) == [False, "edge"]
    orders = generated_orders(60)
    expected = go_test_verdicts(orders, tmp_path)
    got = fallback_page.evaluate(
        """async (orders) => {
            const out = [];
            for (const order of orders) {
                const response = await box.fetch("/edge/orders/check", { method: "POST",
                    headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
                out.push({ status: response.status, body: await response.json(), where: response.headers.get("x-edgebox-where"),
                           version: response.headers.get("x-edgebox-version") });
            }
            return out;
        }""", orders)
    assert {g["where"] for g in got} == {"edge"}
    assert {g["version"] for g in got} == {"v1"}  # sticky by the page's userId
    mismatched = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True))
                  if (e["status"], e["body"]) != (g["status"], g["body"])]
    assert mismatched == []
    assert [p for p in fallback_page.problems if p.startswith("pageerror")] == []


def test_the_pages_flags_reach_the_edges_release_rules(fallback_page, edge):
    fallback_page.evaluate(START, [edge.url, {"userId": "flags-user", "flags": {"risk-v2": True}}])
    order = '{"user":"f","region":"US","amount":1,"currency":"USD","items":[{"sku":"A1","qty":1,"price":1}]}'
    init = {"method": "POST", "headers": {"content-type": "application/json"}, "body": order}
    assert fallback_page.evaluate(FETCH, ["/edge/orders/check", init])["headers"]["x-edgebox-version"] == "v2"
    fallback_page.evaluate("box.setFlags({})")
    assert fallback_page.evaluate(FETCH, ["/edge/orders/check", init])["headers"]["x-edgebox-version"] in ("v1", "v2")


def test_an_edge_error_body_is_the_boxs_own_and_calls_say_why_they_cannot_run(fallback_page, edge):
    fallback_page.evaluate(START, [edge.url, {}])
    panicked = fallback_page.evaluate(FETCH, ["/hostile/panic", {}])
    assert panicked["status"] == 502 and panicked["headers"]["x-edgebox-where"] == "edge"
    assert '"code": "E_PANIC"' in panicked["body"]
    assert fallback_page.evaluate(FETCH, ["/hostile/ok", {}])["body"] == "ok"
    call = fallback_page.evaluate("""box.call("heartbeat", "verifyHeartbeat", 1, "x").then(() => null, (e) => [e.code, e.message])""")
    assert call[0] == "E_BOOT" and "not cross-origin isolated" in call[1]


def test_an_edge_that_does_not_answer_is_a_network_error(fallback_page):
    fallback_page.evaluate(START, ["http://127.0.0.1:9/", {}])
    got = fallback_page.evaluate("""box.fetch("/edge/orders/check").then(() => null, (e) => [e.name, e.code])""")
    assert got == ["NetworkError", "E_NETWORK"]


def test_an_isolated_page_answers_in_the_browser_and_says_so(box_page):
    got = box_page.evaluate(FETCH, ["/nowhere", {}])
    assert got["status"] == 404 and got["headers"]["x-edgebox-where"] == "browser"


def test_a_streamed_edge_answer_streams_and_one_the_edge_drops_ends_with_an_edgebox_error(fallback_page, edge):
    fallback_page.evaluate(START, [edge.url, {}])
    got = fallback_page.evaluate("""async () => {
        const response = await box.fetch("/hostile/stream-then-loop");
        const reader = response.body.getReader();
        const first = new TextDecoder().decode((await reader.read()).value);
        try {
            while (!(await reader.read()).done);
            return [first, "whole"];
        } catch (error) {
            return [first, error instanceof EdgeBoxModule.EdgeBoxError ? error.code : String(error)];
        }
    }""")
    assert got == ["data: before the loop\n\n", "E_NETWORK"]
