"""A QA suite written from the README: calls, a fetch, denials, audit and metrics."""

ROUTES = [{"prefix": "/rules/", "module": "rules"}]
ORDER = {"user": "u1", "region": "US", "amount": 12.5}


def test_calls_fetch_and_metrics(edgebox):
    box = edgebox.start(modules={"rules": edgebox.module("rules", policy={"limits": {"timeout_ms": 2000}})}, routes=ROUTES)
    assert box.call("rules", "score", ORDER) == 3
    res = box.fetch("/rules/check", method="POST", json=ORDER)
    assert res.status == 200 and res.json() == {"verdict": "pass", "score": 3}
    metrics = box.metrics()
    assert metrics.value("edgebox_requests_total", module="rules", status="200") == 1
    assert any("scoring u1: 12.50" in line["text"] for line in box.log)


def test_the_network_is_denied(edgebox):
    # GOOS=js: net/http goes through the page's fetch, which the policy grants for /api/ only.
    box = edgebox.start(modules={"rules": edgebox.module("rules", abi="js", policy={"net": {"allow": ["/api/"]}})})
    with edgebox.expect_error("E_DENIED") as denied:
        box.call("rules", "phone_home")
    assert denied.value.code == "E_GUEST" and "E_DENIED" in denied.value.message
    assert box.audit[-1]["capability"] == "net"
    assert box.metrics().value("edgebox_denials_total", module="rules", capability="net") == 1


def test_a_file_outside_the_policy_is_denied(edgebox):
    policy = {"fs": {"files": {"/etc/rules.json": "{}"}}}
    box = edgebox.start(modules={"rules": edgebox.module("rules", abi="wasip1", policy=policy)})
    with edgebox.expect_error("E_DENIED"):
        box.call("rules", "read_secret")
    assert box.audit[-1]["capability"] == "fs"


def test_bad_arguments_are_a_typed_error(edgebox):
    box = edgebox.start(modules=[edgebox.module("rules")])
    with edgebox.expect_error("E_BAD_REQUEST") as caught:
        box.call("rules", "score")
    assert "score(order)" in caught.value.message
