"""The edge server over real HTTP (uvicorn, one process of its own): the same
verdicts, middleware, release rules and metrics as box.fetch in the browser,
and hostile handlers contained with the browser's codes while it keeps answering."""

import concurrent.futures
import json
import socket
import time

import httpx
import pytest
from edgebox_edge import parse_flags
from prometheus_client.parser import text_string_to_metric_families

from tests.orders import generated_orders, go_test_verdicts

INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ORDER = {"user": "u1", "region": "US", "amount": 12.5, "currency": "USD", "items": [{"sku": "A1", "qty": 1, "price": 12.5}]}


def check(server, order=ORDER, **headers):
    return httpx.post(f"{server.url}/edge/orders/check", json=order, headers=headers, timeout=30)


def user_with_version(server, version: str) -> str:
    return next(f"user-{i}" for i in range(1000) if check(server, **{"x-edgebox-user": f"user-{i}"})
                .headers["x-edgebox-version"] == version)


def test_200_generated_orders_get_the_verdicts_the_handler_gives_under_go_test(fresh_edge_server, tmp_path):
    orders = generated_orders()
    expected = go_test_verdicts(orders, tmp_path)
    with httpx.Client(base_url=fresh_edge_server.url, timeout=30) as client:
        user = next(f"user-{i}" for i in range(1000)
                    if client.options("/edge/orders/check", headers={"x-edgebox-user": f"user-{i}"}).headers.get("x-edgebox-version") == "v1")
        got = [client.post("/edge/orders/check", json=order, headers={"x-edgebox-user": user}) for order in orders]
    assert {g.headers["x-edgebox-version"] for g in got} == {"v1"}
    assert {g.headers["x-edgebox-where"] for g in got} == {"edge"}
    verdicts = [e["body"].get("verdict", e["status"]) for e in expected]
    assert {"pass", "review", "block", 400} <= set(verdicts), verdicts
    mismatched = [(i, e, g.status_code, g.json()) for i, (e, g) in enumerate(zip(expected, got, strict=True))
                  if (e["status"], e["body"]) != (g.status_code, g.json())]
    assert mismatched == []


def test_the_startup_log_lists_what_is_served_and_the_goos_js_modules_refused(edge_server):
    started = edge_server.startup_log()
    assert "riskrules" in started["serving"] and "httpwasi" in started["serving"]
    assert "heartbeat" in started["refused"] and "GOOS=js" in started["refused"]["heartbeat"]
    health = httpx.get(f"{edge_server.url}/healthz").json()
    assert health["ok"] is True and "riskrules" in health["running"] and "heartbeat" in health["refused"]


def test_method_url_headers_status_and_binary_bodies_arrive_intact_and_the_trace_continues(edge_server):
    body = bytes(range(256)) * 1200
    got = httpx.put(f"{edge_server.url}/wasi/a/b?q=1&status=207", content=body,
                    headers={"x-thing": "yes", "traceparent": INCOMING, "x-edgebox-flags": "secret"})
    assert got.status_code == 207 and got.content == body
    assert got.headers["x-echo-method"] == "PUT" and got.headers["x-echo-url"].endswith("/wasi/a/b?q=1&status=207")
    seen = json.loads(got.headers["x-echo-headers"])
    assert seen["X-Thing"] == "yes" and "X-Edgebox-Flags" not in seen  # EdgeBox's own headers stop at the edge
    assert seen["Traceparent"] == got.headers["traceparent"] != INCOMING
    assert got.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert got.headers["x-edgebox-where"] == "edge"


@pytest.mark.parametrize("case", ["gzip", "deflate", "trailers", "large", "no-content", "late-header", "early-hints"])
def test_the_edge_answers_as_go_s_own_server_would_framing_its_own(edge_server, case):
    """The handlers of the browser's fidelity test (tests/guests/httpecho/cases.go): an encoded body
    passes as it is (the client decodes it, as from any server); the framing is the edge's."""
    got = httpx.get(f"{edge_server.url}/wasi/case/{case}")
    expected = {"gzip": b"compressed hello " * 40, "deflate": b"deflated hello " * 40, "trailers": b"body before trailers",
                "large": b"".join(b"line %04d of a body larger than one write buffer\n" % i for i in range(2000)),
                "no-content": b"", "late-header": b"accepted", "early-hints": b"after the hints"}[case]
    assert got.content == expected  # httpx decodes gzip and deflate as a browser does
    assert got.status_code == {"no-content": 204, "late-header": 202}.get(case, 200)
    assert "x-too-late" not in got.headers and got.headers["x-edgebox-where"] == "edge"


def test_a_streamed_body_arrives_while_the_handler_still_writes(edge_server):
    arrivals = []
    with httpx.stream("GET", f"{edge_server.url}/wasi/case/stream?events=3&ms=400", timeout=30) as response:
        assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
        text = b""
        for chunk in response.iter_raw():
            text += chunk
            arrivals.append((time.monotonic(), text))
    assert text == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    # The first event alone, 800 ms before the last was written; half of that for a busy machine.
    assert arrivals[0][1] == b"data: 0\n\n" and arrivals[-1][0] - arrivals[0][0] >= 0.4, arrivals


def test_a_stream_its_time_limit_cuts_short_drops_the_connection_and_the_server_keeps_answering(edge_server):
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):  # the body never ends: no last chunk, as from a server that failed
        with httpx.stream("GET", f"{edge_server.url}/hostile/stream-then-loop", timeout=30) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received += chunk
    assert received == b"data: before the loop\n\n"
    assert check(edge_server).status_code == 200
    assert httpx.get(f"{edge_server.url}/hostile/ok").text == "ok"


def test_cors_preflight_is_answered_without_calling_the_guest_and_allows_edgeboxs_headers(edge_server):
    def requests_seen():
        text = httpx.get(f"{edge_server.url}/metrics").text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == "edgebox_requests_total" and s.labels["status"] != "204")

    before = requests_seen()
    got = httpx.options(f"{edge_server.url}/edge/orders/check", headers={
        "origin": "https://shop.example", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-edgebox-flags, x-edgebox-user"})
    assert got.status_code == 204
    assert got.headers["access-control-allow-origin"] == "*" and "POST" in got.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in got.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-edgebox-flags", "x-edgebox-user"} <= allowed
    assert requests_seen() == before
    refused = httpx.options(f"{edge_server.url}/edge/orders/check", headers={
        "origin": "https://shop.example", "access-control-request-method": "DELETE"})
    assert refused.status_code == 403


def test_gray_release_reads_flags_user_agent_and_a_sticky_user_from_the_request(edge_server):
    v1_user, v2_user = user_with_version(edge_server, "v1"), user_with_version(edge_server, "v2")
    assert {check(edge_server, **{"x-edgebox-user": v1_user}).headers["x-edgebox-version"] for _ in range(5)} == {"v1"}
    cookie = httpx.post(f"{edge_server.url}/edge/orders/check", json=ORDER, cookies={"edgebox_user": v2_user})
    assert cookie.headers["x-edgebox-version"] == "v2"
    assert check(edge_server, **{"x-edgebox-user": v1_user, "x-edgebox-flags": "risk-v2"}).headers["x-edgebox-version"] == "v2"
    assert check(edge_server, **{"x-edgebox-user": v1_user, "x-edgebox-flags": '{"risk-v2": false}'}).headers["x-edgebox-version"] == "v1"
    assert check(edge_server, **{"x-edgebox-user": v1_user, "user-agent": "EdgeCanary/1"}).headers["x-edgebox-version"] == "v2"


def test_flags_header_forms():
    assert parse_flags("a, b=false, c=2, d=x") == {"a": True, "b": False, "c": 2, "d": "x"}
    assert parse_flags('{"risk-v2": true}') == {"risk-v2": True}
    assert parse_flags("") == parse_flags("{bad") == parse_flags("{\"a\": 1") == {}


def test_metrics_parse_and_count_what_was_sent(edge_server):
    def count():
        text = httpx.get(f"{edge_server.url}/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        return families, sum(s.value for s in families["edgebox_requests"].samples if s.name == "edgebox_requests_total"
                             and s.labels["module"] == "httpwasi" and s.labels["status"] == "200")

    _, before = count()
    for _ in range(7):
        assert httpx.get(f"{edge_server.url}/wasi/counted").status_code == 200
    families, after = count()
    assert after == before + 7
    assert {"edgebox_request_duration_seconds", "edgebox_denials", "edgebox_panics", "edgebox_timeouts",
            "edgebox_restarts"} <= set(families)


def test_a_path_with_no_route_is_a_404(edge_server):
    got = httpx.get(f"{edge_server.url}/nowhere")
    assert got.status_code == 404 and got.headers["x-edgebox-where"] == "edge"


@pytest.mark.parametrize("path, status, code, words", [
    ("/hostile/loop", 504, "E_TIMEOUT", "1500 ms"),
    ("/hostile/alloc", 502, "E_LIMIT", "out of memory"),
    ("/hostile/flood", 502, "E_LIMIT", "log_kb"),
    ("/hostile/panic", 502, "E_PANIC", "main.go:"),
])
def test_a_hostile_handler_costs_only_its_own_request_and_the_server_keeps_answering(edge_server, path, status, code, words):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        hostile = pool.submit(httpx.get, f"{edge_server.url}{path}", timeout=30)
        # While it runs, other modules and the server's own endpoints answer.
        assert check(edge_server).status_code == 200
        assert httpx.get(f"{edge_server.url}/healthz", timeout=5).status_code == 200
        got = hostile.result()
    assert got.status_code == status, got.text
    error = got.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert httpx.get(f"{edge_server.url}/hostile/ok").text == "ok"


def test_files_and_the_network_outside_the_grant_are_refused(edge_server):
    assert httpx.get(f"{edge_server.url}/hostile/file", params={"path": "/data/config.json"}).text == '{"limit": 10}'
    denied = httpx.get(f"{edge_server.url}/hostile/file", params={"path": "/etc/passwd"})
    assert (denied.status_code, denied.text) == (403, "open /etc/passwd: No such file or directory")
    # A wasip1 guest has no network in the browser (WASI preview1 has no sockets, and the
    # host grants no other import): the same here; nothing reaches the canary.
    with socket.create_server(("127.0.0.1", 0)) as canary:
        canary.setblocking(False)
        reached = httpx.get(f"{edge_server.url}/hostile/dial", params={"addr": "127.0.0.1:%d" % canary.getsockname()[1]})
        assert reached.status_code == 403 and "reached" not in reached.text, reached.text
        with pytest.raises(BlockingIOError):
            canary.accept()
    metrics = httpx.get(f"{edge_server.url}/metrics").text
    denials = {(s.labels["module"], s.labels["capability"]): s.value for f in text_string_to_metric_families(metrics)
               for s in f.samples if s.name == "edgebox_denials_total"}
    assert denials.get(("httphostile", "fs"), 0) >= 1
