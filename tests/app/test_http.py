"""box.fetch's host side: routing, middleware (logger, tracer, CORS), versions, metrics."""

import asyncio
import gc
import json
import sys
from types import SimpleNamespace

import pytest

from edgebox import Manifest
from edgebox._errors import EdgeBoxError, GuestError, PanicError, TimeoutError
from edgebox._exchange import BodyStream, EdgeRequest
from edgebox._guest_protocol import Via
from edgebox._http import HTTP_EXPORT, MAX_PARTS, EdgeHttp
from edgebox._lifecycle import Death
from fakes import MANIFEST_URL, http_bytes, manifest_data

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
        return http_bytes(status, [("content-type", "application/json")], b'{"verdict": "pass"}')

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
        guest = edge.platform.started[-1]
        guest.die(Death(PanicError("panic: boom"), culprit=(Via.HOST, guest._ids), taken_host=guest._ids))
        return asyncio.get_event_loop().create_future()

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


def answer_with(raw):
    return lambda request_head, request_body: raw


def answer(status=200, headers=()):
    return answer_with(http_bytes(status, headers, b"ok"))


def counted(edge, status):
    return edge.host.metrics.value("edgebox_requests_total", "heartbeat", "heartbeat", "/edge/orders/", status)


# One answer per kind of rule: that a bad answer is a 502 through the middleware,
# counted and audited once. Each rule, at its edges, is tested in test_http_answer.py.
@pytest.mark.parametrize("guest, problem", [
    (answer_with(b"not http"), "not a valid HTTP/1.1 response"),
    (answer(999), "status 999 is outside 200..599"),
    (answer(headers=[("Set-Cookie", "session=stolen")]), "header 'Set-Cookie' is a forbidden response header"),
    (answer(headers=[("X-EdgeBox-Version", "forged")]), "header 'X-EdgeBox-Version' is set by EdgeBox"),
    (answer_with(http_bytes(headers=[("Content-Length", "10")], body=b"short")), "without sending complete message body"),
    (answer_with({"status": 200}), "the answer is a dict, not the bytes of an HTTP response"),
])
def test_a_bad_answer_is_a_502_guest_error_through_the_middleware_counted_and_audited_once(run, edge, guest, problem):
    edge.platform.functions[HTTP_EXPORT] = guest
    response = run(edge.http.handle(request(headers=[("origin", "https://shop.example")])))
    assert response.status == 502 and response.header("content-type") == "application/json"
    error = json.loads(response.body)["error"]
    assert error["code"] == "E_GUEST"
    assert error["message"].startswith("heartbeat: bad HTTP answer: ")
    assert problem in error["message"]
    # Counted once, as a 502, and nothing else.
    assert counted(edge, "502") == 1 and counted(edge, "200") == 0
    assert 'status="502"} 1' in edge.host.metrics.render()
    # Audited once, under "http", with the message the page got.
    [event] = [e for e in edge.host.recent_audit if e.capability == "http"]
    assert (event.module, event.code, event.detail) == ("heartbeat", "E_GUEST", error["message"][:500])
    assert edge.host.counters["E_GUEST:http"] == 1
    # It went back out through the route's middleware: logged, traced, CORS, versioned by EdgeBox alone.
    [line] = edge.http.requests
    assert line["status"] == 502 and edge.http.spans[0]["status"] == 502
    assert response.header("traceparent").startswith("00-")
    assert response.header("access-control-allow-origin") == "https://shop.example"
    assert response.header("x-edgebox-version") == "heartbeat"
    assert response.header("set-cookie") is None
    # The instance is fine: a bad answer is the handler's fault, not a death.
    assert edge.host.counters["restarts"] == 0


def test_a_good_answer_passes_with_its_headers_trimmed_and_edgebox_headers_added(run, edge):
    seen = []

    def guest(head, body):
        seen.append(json.loads(head))
        return http_bytes(201, [("Content-Type", "application/json"), ("X-Rule", "  amount-limit\t"), ("x-rule", "velocity"),
                                ("Cache-Control", "no-store"), ("X-Empty", " ")], b'{"verdict": "review"}', reason="Created")

    edge.platform.functions[HTTP_EXPORT] = guest
    response = run(edge.http.handle(request(headers=[("traceparent", INCOMING)])))
    assert response.status == 201 and response.body == b'{"verdict": "review"}'
    assert response.headers[:6] == [("Content-Type", "application/json"), ("X-Rule", "amount-limit"), ("x-rule", "velocity"),
                                    ("Cache-Control", "no-store"), ("X-Empty", ""), ("Content-Length", "21")]
    # EdgeBox's own headers come from EdgeBox: the release and the tracer (the traceparent the guest was sent).
    assert response.header("x-edgebox-version") == "heartbeat"
    assert response.header("traceparent") == dict(seen[0]["headers"])["traceparent"]
    assert counted(edge, "201") == 1 and counted(edge, "502") == 0
    assert edge.host.counters["E_GUEST:http"] == 0


@pytest.mark.parametrize("name", ["x-edgebox-version", "Traceparent"])
def test_a_guest_cannot_forge_edgebox_headers(run, edge, name):
    edge.platform.functions[HTTP_EXPORT] = answer(headers=[(name, "00-" + "f" * 32 + "-" + "f" * 16 + "-01")])
    response = run(edge.http.handle(request(headers=[("traceparent", INCOMING)])))
    assert response.status == 502 and json.loads(response.body)["error"]["code"] == "E_GUEST"
    assert "is set by EdgeBox" in json.loads(response.body)["error"]["message"]
    assert response.header("x-edgebox-version") == "heartbeat"
    assert response.header("traceparent").startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert "f" * 16 not in response.header("traceparent")
    assert counted(edge, "502") == 1


def test_a_failed_call_is_still_answered_as_before_and_not_audited_as_a_bad_answer(run, edge):
    def reported(head, body):
        raise GuestError("handler said no")

    edge.platform.functions[HTTP_EXPORT] = reported
    response = run(edge.http.handle(request()))
    assert response.status == 502
    assert json.loads(response.body) == {"error": {"code": "E_GUEST", "message": "handler said no"}}
    assert counted(edge, "502") == 1 and edge.host.counters["E_GUEST:http"] == 0


def test_a_timed_out_call_is_a_504(run, edge):
    def slow(head, body):
        raise TimeoutError("no answer within 10 ms")

    edge.platform.functions[HTTP_EXPORT] = slow
    response = run(edge.http.handle(request()))
    assert response.status == 504 and json.loads(response.body)["error"]["code"] == "E_TIMEOUT"
    assert counted(edge, "504") == 1


@pytest.mark.parametrize("fails,status", [("panic", 502), ("guest error", 502), ("timeout", 504)])
def test_a_failed_request_keeps_nothing_of_its_body(run, edge, fails, status):
    # Its error outlives it (in the futures and frames it passed through, a cycle only Python's
    # cyclic GC frees), and those frames held the body: a guest that failed every request grew
    # the host's heap by each body's size.
    def failing(head, body):
        if fails == "panic":
            guest = edge.platform.started[-1]
            guest.die(Death(PanicError("panic: boom"), culprit=(Via.HOST, guest._ids), taken_host=guest._ids))
            never = asyncio.get_event_loop().create_future()
            asyncio.get_event_loop().call_soon(never.cancel)  # a dead guest's worker runs nothing more
            return never
        raise GuestError("handler said no") if fails == "guest error" else TimeoutError("no answer within 10 ms")

    edge.platform.functions[HTTP_EXPORT] = failing
    body = bytes(1 << 20)
    held = sys.getrefcount(body)
    gc.disable()  # what only the cyclic GC would free counts as kept
    try:
        response = run(edge.http.handle(request(body=body)))
        assert response.status == status
        del response
        assert sys.getrefcount(body) == held
    finally:
        gc.enable()


def test_the_edge_gives_each_request_its_own_flags_and_user(run, make_host, platform):
    platform.functions[HTTP_EXPORT] = lambda head, body: SimpleNamespace(head='{"status": 200}', body=b"")
    routes = [{"prefix": "/r/", "release": {"default": "v1", "versions": {"v1": "heartbeat", "v2": "heartbeat"},
                                            "rules": [{"version": "v2", "flag": "on"}, {"version": "v2", "percent": 50}]}}]
    host, _ = make_host(Manifest.parse({**manifest_data(), "routes": routes}, url=MANIFEST_URL))
    route = host.manifest.routes[0]
    user = {v: next(f"u{i}" for i in range(100) if route.pick(user_agent="", flags={}, user_id=f"u{i}")[0] == v) for v in ("v1", "v2")}
    http = EdgeHttp(host, host.manifest.routes, user_id=user["v2"], user_agent="", flags={"on": True})

    def version(**given):
        return run(http.handle(request(path="/r/x"), **given)).header("x-edgebox-version")

    assert version() == "v2"  # the box's own
    assert version(flags={}, user_id=user["v1"]) == "v1"
    assert version(flags={"on": True}, user_id=user["v1"]) == "v2"
    assert version(flags={}, user_id=user["v2"]) == "v2"


# ---------------------------------------------------------------- streamed answers

CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def streaming(edge, parts, rest, *, gate=None):
    """The guest's HTTP export sends ``parts`` (each a part), waits for ``gate``, then answers ``rest``
    (an exception is raised instead)."""
    async def serve(head, body, part):
        for data in parts:
            part(data)
        if gate is not None:
            await gate
        if isinstance(rest, BaseException):
            raise rest
        return rest

    edge.platform.functions[HTTP_EXPORT] = serve


async def body_of(response):
    return [chunk async for chunk in response.body]


def test_an_answer_in_parts_is_answered_at_its_head_and_its_body_streams_until_the_handler_ends(run, edge):
    async def scenario():
        gate = asyncio.get_event_loop().create_future()
        streaming(edge, [b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", CHUNKED + chunk(b"data: 1\n\n")],
                  chunk(b"data: 2\n\n") + b"0\r\n\r\n", gate=gate)
        response = await edge.http.handle(request(headers=[("origin", "https://shop.example")]))
        # The handler still runs: the head is here, with what the middleware added, and the first chunk.
        assert not gate.done()
        assert response.status == 200 and response.header("content-type") == "text/event-stream"
        assert response.header("x-edgebox-version") == "heartbeat" and response.header("traceparent")
        assert response.header("access-control-allow-origin") == "https://shop.example"
        assert isinstance(response.body, BodyStream)
        first = await response.body.__anext__()
        assert first == b"data: 1\n\n"
        gate.set_result(None)
        return first, await body_of(response)

    first, rest = run(scenario())
    assert rest == [b"data: 2\n\n"]
    assert edge.host.metrics.value("edgebox_requests_total", "heartbeat", "heartbeat", "/edge/orders/", "200") == 1
    assert [line["status"] for line in edge.http.requests] == [200]


def test_parts_that_end_before_the_head_is_whole_give_one_answer_with_its_body(run, edge):
    whole = http_bytes(201, [("content-type", "text/plain")], b"all at once")
    streaming(edge, [whole[:10], whole[10:30]], whole[30:])
    response = run(edge.http.handle(request()))
    assert response.status == 201 and response.body == b"all at once"


@pytest.mark.parametrize("rest, code", [
    (TimeoutError("not answered within 5000 ms (timeout_ms)"), "E_TIMEOUT"),
    (PanicError("panic: boom"), "E_PANIC"),
    (b"zz\r\nnot a chunk", "E_GUEST"),
])
def test_a_stream_cut_short_ends_its_body_with_the_error_that_cut_it(run, edge, rest, code):
    streaming(edge, [CHUNKED + chunk(b"data: 1\n\n")], rest)

    async def scenario():
        response = await edge.http.handle(request())
        assert response.status == 200
        with pytest.raises(EdgeBoxError) as caught:
            await body_of(response)
        return caught.value

    assert run(scenario()).code == code
    # A broken answer is audited, once, as a whole one is; a limit or a panic is the host's own report.
    assert len([e for e in edge.host.recent_audit if e.capability == "http"]) == (code == "E_GUEST")


def test_parts_that_break_the_rules_before_the_head_is_whole_are_a_502(run, edge):
    streaming(edge, [b"HTTP/1.1 200 OK\r\nSet-Cookie: a=b\r\n"], b"\r\n")
    response = run(edge.http.handle(request()))
    assert response.status == 502 and json.loads(response.body)["error"]["code"] == "E_GUEST"
    assert "set-cookie" in json.loads(response.body)["error"]["message"].lower()


def test_a_flood_of_parts_is_refused(run, edge):
    streaming(edge, [CHUNKED] + [b"1"] * (MAX_PARTS + 1), b"")

    async def scenario():
        response = await edge.http.handle(request())
        with pytest.raises(EdgeBoxError) as caught:
            await body_of(response)
        return caught.value

    error = run(scenario())
    assert error.code == "E_GUEST" and "parts" in error.message
    assert len([e for e in edge.host.recent_audit if e.capability == "http"]) == 1
