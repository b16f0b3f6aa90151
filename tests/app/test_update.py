"""Live updates (_update.py): verify, warm, health check, atomic switch, drain, rollback."""

import asyncio
import hashlib
import json

import pytest

from edgebox import Host, Manifest, NotFoundError, PanicError, SignatureError
from edgebox._guest_protocol import HTTP_EXPORT, Via
from edgebox._lifecycle import Death
from fakes import GOJS, MANIFEST_URL, MODULE_BYTES, ORIGIN, http_bytes, manifest_data, wasm_module

V2_BYTES = wasm_module(min_pages=3)
V2_URL = "http://box.test/edgebox/modules/heartbeat.v2.wasm"


def v2_data(**fields):
    return manifest_data(**{"url": "modules/heartbeat.v2.wasm", "size": len(V2_BYTES),
                            "sha256": hashlib.sha256(V2_BYTES).hexdigest(), "version": "2", **fields})


@pytest.fixture
def box(platform):
    """(host, releases' switch events, a setter for the manifest the next update fetches)."""
    platform.files[V2_URL] = V2_BYTES
    platform.functions = {"ver": lambda: "v1"}
    platform.by_url[V2_URL] = {"ver": lambda: "v2"}
    host = Host(Manifest.parse(manifest_data(version="1"), url=MANIFEST_URL), platform, origin=ORIGIN, gojs_imports=GOJS)
    switches = []
    host.releases.on_switch = lambda module, kind, detail: switches.append((kind, detail))
    served = {}

    async def source():
        if "error" in served:
            raise served["error"]
        return Manifest.parse(served["data"], url=MANIFEST_URL)

    host.releases.source = source
    return host, switches, served


def test_versions_are_in_stats_and_metrics(run, box):
    host, _, _ = box
    versions = host.stats()["versions"]
    assert versions["heartbeat"]["version"] == "1" and versions["heartbeat"]["previous"] is None
    assert 'edgebox_module_info{module="heartbeat",version="1",sha256="%s"} 1' % hashlib.sha256(MODULE_BYTES).hexdigest() \
        in host.metrics.render()


def test_an_update_switches_atomically_and_in_flight_calls_finish_on_the_old_version(run, box, platform):
    host, switches, served = box
    gate = asyncio.Event
    released = []

    async def main():
        opened = gate()
        platform.functions["slow"] = lambda: opened.wait()
        platform.functions["ver"] = lambda: "v1"
        assert await host.call("heartbeat", "ver", []) == "v1"
        old = await host.guest("heartbeat")
        in_flight = [asyncio.ensure_future(host.call("heartbeat", "slow", [])) for _ in range(64)]
        await asyncio.sleep(0.01)
        served["data"] = v2_data()
        changes = await host.releases.update()
        after = await host.call("heartbeat", "ver", [])
        opened.set()
        released.extend(await asyncio.gather(*in_flight))
        return changes, after, old

    changes, after, old = run(main())
    assert changes == [{"module": "heartbeat", "from": "1", "to": "2", "ok": True, "reason": "switched"}]
    assert after == "v2" and len(released) == 64 and all(value is True for value in released)
    assert old.closed is False  # warm for the new version's probation
    assert switches == [("update", changes[0])]
    versions = host.stats()["versions"]["heartbeat"]
    assert versions["version"] == "2" and versions["previous"] == {"version": "1", "sha256": hashlib.sha256(MODULE_BYTES).hexdigest()}
    metrics = host.metrics.render()
    assert 'edgebox_updates_total{module="heartbeat",result="ok"} 1' in metrics
    assert 'version="2"' in metrics and 'edgebox_module_info{module="heartbeat",version="1"' not in metrics


def test_bytes_that_differ_from_the_new_manifest_are_refused_and_the_old_version_serves(run, box, platform):
    host, switches, served = box
    platform.files[V2_URL] = V2_BYTES + b"\0"
    served["data"] = v2_data(size=None)
    changes = run(host.releases.update())
    assert changes[0]["ok"] is False and "E_INTEGRITY" in changes[0]["reason"]
    assert run(host.call("heartbeat", "ver", [])) == "v1" and switches == []
    assert 'edgebox_updates_total{module="heartbeat",result="refused"} 1' in host.metrics.render()
    assert host.stats()["versions"]["heartbeat"]["version"] == "1"


def test_a_failed_health_check_is_not_switched_to(run, box):
    host, switches, served = box
    served["data"] = v2_data(health={"fn": "ver", "args": [], "expect": "v3"})
    changes = run(host.releases.update())
    assert changes[0]["ok"] is False and "health check" in changes[0]["reason"] and "expected v3" in changes[0]["reason"]
    assert run(host.call("heartbeat", "ver", [])) == "v1"
    served["data"] = v2_data(health={"fn": "ver", "args": [], "expect": "v2"})
    assert run(host.releases.update())[0]["ok"] is True


def test_an_http_modules_health_check_is_a_request_to_its_path(run, box, platform):
    host, _, served = box
    answers = {"status": 503}

    def serve(head, body):
        assert json.loads(head)["url"].endswith("/healthz") and body is None
        return http_bytes(answers["status"], reason="Unavailable")

    platform.by_url[V2_URL] = {HTTP_EXPORT: serve, "ver": lambda: "v2"}
    served["data"] = v2_data(health={"path": "/healthz", "status": 200})
    change = run(host.releases.update())[0]
    assert change["ok"] is False and "answered 503, expected 200" in change["reason"]
    answers["status"] = 200
    assert run(host.releases.update())[0]["ok"] is True and run(host.call("heartbeat", "ver", [])) == "v2"


def test_a_refused_manifest_rejects_the_update_and_is_audited(run, platform):
    events = []
    host = Host(Manifest.parse(manifest_data(), url=MANIFEST_URL), platform, origin=ORIGIN, gojs_imports=GOJS,
                on_audit=events.append)

    async def refused():
        raise SignatureError("manifest: the signature does not match its bytes")

    host.releases.source = refused
    with pytest.raises(SignatureError):
        run(host.releases.update())
    assert [(e.module, e.code) for e in events] == [("manifest", "E_SIGNATURE")]


def test_a_version_whose_calls_die_is_rolled_back_on_its_own(run, box, platform):
    host, switches, served = box

    def boom():
        guest = platform.started[-1]  # this call killed its instance: it gets the panic
        guest.die(Death(PanicError("panic: boom"), (Via.HOST, guest._ids), taken_host=guest._ids))
        raise PanicError("panic: boom")

    platform.by_url[V2_URL] = {"ver": boom}
    assert run(host.call("heartbeat", "ver", [])) == "v1"
    old = platform.started[-1]
    served["data"] = v2_data(rollback={"calls": 10, "max_errors": 2})
    assert run(host.releases.update())[0]["ok"] is True
    for _ in range(3):  # max_errors 2: the third death spends the budget
        with pytest.raises(PanicError):
            run(host.call("heartbeat", "ver", []))
    kind, detail = switches[-1]
    assert kind == "rollback" and detail["from"] == "2" and detail["to"] == "1" and "3 of its first 3" in detail["reason"]
    assert run(host.call("heartbeat", "ver", [])) == "v1"
    assert run(host.guest("heartbeat")) is old  # the warm one, not a fresh start
    assert 'edgebox_rollbacks_total{module="heartbeat"} 1' in host.metrics.render()


def test_box_rollback_goes_back_at_once_and_a_passed_probation_drains_the_old_one(run, box, platform):
    host, switches, served = box
    with pytest.raises(NotFoundError):
        run(host.releases.rollback("heartbeat"))
    run(host.call("heartbeat", "ver", []))
    old = platform.started[-1]
    served["data"] = v2_data(rollback={"calls": 2, "max_errors": 0})
    run(host.releases.update())
    detail = run(host.releases.rollback("heartbeat"))
    assert detail == {"module": "heartbeat", "from": "2", "to": "1", "reason": "box.rollback"}
    assert run(host.call("heartbeat", "ver", [])) == "v1" and run(host.guest("heartbeat")) is old
    # Forward again; two good calls pass the probation and the old instance closes once drained.
    assert run(host.releases.rollback("heartbeat"))["to"] == "2"
    served["data"] = v2_data(rollback={"calls": 2, "max_errors": 0})
    assert [run(host.call("heartbeat", "ver", [])) for _ in range(2)] == ["v2", "v2"]

    async def settle():
        await asyncio.sleep(0.2)

    run(settle())
    assert old.closed


def test_changed_routes_take_effect_with_the_update_and_unchanged_ones_are_left_alone(run, box):
    host, _, served = box
    applied = []
    host.releases.on_routes = lambda manifest: applied.append([route.prefix for route in manifest.routes])
    served["data"] = {**manifest_data(version="1"), "routes": [{"prefix": "/edge/", "module": "heartbeat"}]}
    assert run(host.releases.update()) == []  # same bytes and policy: no module changed
    run(host.releases.update())
    assert applied == [["/edge/"]] and [route.prefix for route in host.manifest.routes] == ["/edge/"]


V3_BYTES = wasm_module(min_pages=4)
V3_URL = "http://box.test/edgebox/modules/heartbeat.v3.wasm"


def v3_data(**fields):
    return manifest_data(**{"url": "modules/heartbeat.v3.wasm", "size": len(V3_BYTES),
                            "sha256": hashlib.sha256(V3_BYTES).hexdigest(), "version": "3", **fields})


def test_a_rollback_while_an_update_warms_up_leaves_the_versions_true(run, box, platform):
    host, switches, served = box
    platform.files[V3_URL] = V3_BYTES
    checked = asyncio.Event()

    async def ready():
        await checked.wait()
        return True

    platform.by_url[V3_URL] = {"ver": lambda: "v3", "ready": ready}
    run(host.call("heartbeat", "ver", []))
    served["data"] = v2_data()
    run(host.releases.update())
    served["data"] = v3_data(health={"fn": "ready", "args": [], "expect": True})

    async def main():
        update = asyncio.ensure_future(host.releases.update())
        await asyncio.sleep(0.05)  # v3 started, its health check waits
        rolled = await host.releases.rollback("heartbeat")  # 2 -> 1 meanwhile
        checked.set()
        return rolled, await update

    rolled, changes = run(main())
    assert (rolled["from"], rolled["to"]) == ("2", "1")
    assert changes == [{"module": "heartbeat", "from": "1", "to": "3", "ok": True, "reason": "switched"}]
    versions = host.stats()["versions"]["heartbeat"]
    assert versions["version"] == "3" and versions["previous"]["version"] == "1"
    assert run(host.call("heartbeat", "ver", [])) == "v3"
    assert run(host.releases.rollback("heartbeat"))["to"] == "1"
    assert run(host.call("heartbeat", "ver", [])) == "v1"


def test_two_rollbacks_at_once_go_back_and_then_forward(run, box, platform):
    host, _, served = box
    run(host.call("heartbeat", "ver", []))
    served["data"] = v2_data(rollback={"calls": 1, "max_errors": 0})
    run(host.releases.update())
    run(host.call("heartbeat", "ver", []))  # probation passed: the old instance drains, none stays warm

    async def both():
        await asyncio.sleep(0.2)
        return await asyncio.gather(host.releases.rollback("heartbeat"), host.releases.rollback("heartbeat"))

    first, second = run(both())
    assert [(first["from"], first["to"]), (second["from"], second["to"])] == [("2", "1"), ("1", "2")]
    assert host.stats()["versions"]["heartbeat"]["previous"]["version"] == "1"
    assert run(host.call("heartbeat", "ver", [])) == "v2"


def test_an_update_whose_manifest_never_arrives_fails_in_time_and_the_next_one_runs(run, box, monkeypatch):
    from edgebox import TimeoutError as EdgeBoxTimeout
    from edgebox import _update

    host, _, served = box
    monkeypatch.setattr(_update, "MANIFEST_FETCH_S", 0.1)
    stalled = host.releases.source

    async def never():
        await asyncio.Event().wait()

    host.releases.source = never
    with pytest.raises(EdgeBoxTimeout):
        run(host.releases.update())
    assert host.stats()["audit"][-1]["code"] == "E_TIMEOUT"
    host.releases.source = stalled
    served["data"] = v2_data()
    assert run(host.releases.update())[0]["to"] == "2"
