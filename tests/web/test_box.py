"""The loader's contract, driven in Chromium exactly as a page author would
(some of it through EdgeBox's own pytest plugin, as a QA suite would)."""

import hmac
import random
import string
import time

import pytest

import edgebox


@pytest.fixture(scope="module")
def box(edgebox_session):
    """A box with dist/'s own modules, started by the plugin in its session page."""
    return edgebox_session.start()


def reference_signature(ts: float, nonce: str) -> str:
    return hmac.new(b"edge-key-2024", (nonce + "%.0f" % ts).encode(), "sha256").hexdigest()[:16]


def test_page_is_cross_origin_isolated_and_box_reports_its_transport(box_page):
    assert box_page.evaluate("crossOriginIsolated") is True
    assert box_page.evaluate("box.transport") == "sab"  # the test server isolates every page


def test_boot_progress_reports_phases_and_bytes(box_page):
    progress = box_page.evaluate("progress")
    phases = [p["phase"] for p in progress]
    assert phases.index("runtime") < phases.index("packages")
    runtime = [p for p in progress if p["phase"] == "runtime"]
    loaded = [p["loaded"] for p in runtime]
    assert loaded == sorted(loaded) and loaded[-1] > 5_000_000
    assert all(p["total"] == runtime[0]["total"] for p in runtime)


def test_verify_heartbeat_matches_python_hmac(box):
    rng = random.Random(2024)
    pairs = [(1700000000000, "abc123"), (0, ""), (2.5, "tie"), (1e15 + 0.5, "big")]
    while len(pairs) < 20:
        ts = rng.randrange(0, 2**43) + rng.choice([0, 0, 0.25, 0.5, 0.75])
        nonce = "".join(rng.choice(string.ascii_letters + string.digits + "-_é✓") for _ in range(rng.randrange(1, 40)))
        pairs.append((ts, nonce))
    for ts, nonce in pairs:
        assert box.call("heartbeat", "verifyHeartbeat", ts, nonce) == reference_signature(ts, nonce), (ts, nonce)


def test_unknown_module_and_function_reject_with_not_found(call):
    for module, fn in [("nope", "verifyHeartbeat"), ("heartbeat", "nope"), ("heartbeat", "postMessage"), ("heartbeat", "fetch")]:
        got = call(module, fn)
        assert got["ok"] is False and got["code"] == "E_NOT_FOUND", (module, fn, got)
        assert got["isEdgeBoxError"] and got["name"] == "NotFoundError"


def test_guest_rejects_bad_arguments_with_a_typed_error(box, edgebox_session):
    with edgebox_session.expect_error("E_BAD_REQUEST") as caught:
        box.call("heartbeat", "verifyHeartbeat", "not a number", 5)
    assert isinstance(caught.value, edgebox.BadRequestError)
    assert "verifyHeartbeat(tsMillis: number, nonce: string)" in caught.value.message
    assert box.call("heartbeat", "verifyHeartbeat", 1, "a") == reference_signature(1, "a")  # still serving


def test_calls_in_flight_together_all_answer(box_page):
    results = box_page.evaluate(
        """async () => Promise.all(Array.from({ length: 64 }, (_, i) =>
            box.call("heartbeat", "verifyHeartbeat", i, "n" + i)))"""
    )
    assert results == [reference_signature(i, f"n{i}") for i in range(64)]


def canary_hits(server, canary_id: str) -> int:
    return sum(1 for path in list(server.handler.requests) if path == f"/__canary/started?id={canary_id}")


def test_tampered_module_is_refused_and_never_runs(call, server):
    got = call("tampered", "ping")
    assert got["ok"] is False and got["code"] == "E_INTEGRITY" and got["name"] == "IntegrityError"
    assert "sha256" in got["message"]
    # The untampered canary runs and is heard, so silence from the tampered one means something.
    assert call("canary", "ping") == {"ok": True, "value": "pong"}
    deadline = time.monotonic() + 5
    while canary_hits(server, "good") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert canary_hits(server, "good") == 1
    assert canary_hits(server, "tampered") == 0
    assert call("tampered", "ping")["code"] == "E_INTEGRITY"  # refused every time, never cached as good
    assert canary_hits(server, "tampered") == 0
