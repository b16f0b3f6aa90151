"""box.fetch's host side: routing, middleware (logger, tracer, CORS), versions, metrics."""

import json
from types import SimpleNamespace

import pytest

from edgebox import Manifest
from edgebox._exchange import EdgeRequest
from edgebox._http import HTTP_EXPORT, EdgeHttp
from fakes import MANIFEST_URL, manifest_data

ROUTES = [{
    "prefix": "/edge/orders/", "module": "heartbeat",
    "middleware": ["logger", "tracer", {"cors": {"origins": ["https://shop.example"], "methods": ["GET", "POST"],
                                                  "headers": ["content-type", "traceparent"]}}],
}]
INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def edge(make_host, platform):
    seen = []

    def serve(head, body):
        request = json.loads(head)
        seen.append(request)
        status = 500 if request["url"].endswith("/boom") else 200
        return SimpleNamespace(head=json.dumps({"status": status, "headers": [["content-type", "application/json"]]}),
                               body=b'{"verdict": "pass"}')

    platform.functions[HTTP_EXPORT] = serve
    data = {**manifest_data(), "routes": ROUTES}
    host, _ = make_host(Manifest.parse(data, url=MANIFEST_URL))
    emitted = []
    http = EdgeHttp(host, host.manifest.routes, user_id="u1", user_agent="test", flags={}, emit=emitted.append)
    return SimpleNamespace(http=http, host=host, seen=seen, emitted=emitted, platform=platform)


def request(method="POST", path="/edge/orders/check", headers=(), body=b"{}"):
    return EdgeRequest(method=method, url=f"http://box.test{path}", headers=list(headers), body=body)


def test_a_routed_request_reaches_the_guest_and_is_logged_traced_and_counted(run, edge):
    response = run(edge.http.handle(request(headers=[("content-type", "application/json"), ("traceparent", INCOMING)])))
    assert response.status == 200 and response.body == b'{"verdict": "pass"}'
    assert response.header("x-edgebox-version") == "heartbeat"
    # The trace goes on: same trace id, a span of EdgeBox's own, seen by the guest and returned to the page.
    sent = dict(edge.seen[0]["headers"])["traceparent"]
    assert sent.startswith("00-0af7651916cd43dd8448eb211c80319c-") and sent != INCOMING
    assert response.header("traceparent") == sent
    [span] = edge.http.spans
    assert span["parent_id"] == "b7ad6b7169203331" and span["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    [line] = edge.http.requests
    assert {k: line[k] for k in ("module", "method", "path", "status", "trace_id")} == {
        "module": "heartbeat", "method": "POST", "path": "/edge/orders/check", "status": 200,
        "trace_id": "0af7651916cd43dd8448eb211c80319c"}
    assert json.loads(edge.emitted[0])["status"] == 200
    assert edge.host.metrics.value("edgebox_requests_total", "heartbeat", "heartbeat", "/edge/orders/", "200") == 1


def test_without_traceparent_a_trace_starts(run, edge):
    response = run(edge.http.handle(request(headers=[("traceparent", "garbage")])))
    version, trace_id, span_id, flags = response.header("traceparent").split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert edge.http.spans[0]["parent_id"] is None


def test_no_route_is_a_404_response(run, edge):
    response = run(edge.http.handle(request(path="/elsewhere")))
    assert response.status == 404 and b"no route" in response.body
    assert edge.seen == []


def test_cors_preflight_is_answered_without_the_guest(run, edge):
    preflight = request(method="OPTIONS", headers=[("origin", "https://shop.example"), ("access-control-request-method", "POST"),
                                                   ("access-control-request-headers", "content-type")])
    response = run(edge.http.handle(preflight))
    assert response.status == 204
    assert response.header("access-control-allow-origin") == "https://shop.example"
    assert "POST" in response.header("access-control-allow-methods")
    assert edge.seen == [] and edge.platform.started == []
    denied = request(method="OPTIONS", headers=[("origin", "https://evil.example"), ("access-control-request-method", "POST")])
    assert run(edge.http.handle(denied)).status == 403
    simple = run(edge.http.handle(request(headers=[("origin", "https://shop.example")])))
    assert simple.header("access-control-allow-origin") == "https://shop.example"
    assert "traceparent" in simple.header("access-control-expose-headers")


def test_a_guest_failure_is_a_5xx_response_with_its_code(run, edge):
    def panic(head, body):
        from edgebox import PanicError

        raise PanicError("panic: boom")

    edge.platform.functions[HTTP_EXPORT] = panic
    response = run(edge.http.handle(request()))
    assert response.status == 502 and json.loads(response.body)["error"]["code"] == "E_PANIC"
    assert edge.host.metrics.value("edgebox_panics_total", "heartbeat") == 1
    assert edge.host.metrics.value("edgebox_requests_total", "heartbeat", "heartbeat", "/edge/orders/", "502") == 1


def test_metrics_render_as_prometheus_text(run, edge):
    run(edge.http.handle(request()))
    text = edge.host.metrics.render()
    assert '# TYPE edgebox_request_duration_seconds histogram' in text
    assert 'edgebox_requests_total{module="heartbeat",version="heartbeat",route="/edge/orders/",status="200"} 1' in text
    assert 'edgebox_request_duration_seconds_bucket{module="heartbeat",version="heartbeat",route="/edge/orders/",le="+Inf"} 1' in text
