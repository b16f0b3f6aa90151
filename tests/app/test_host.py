import asyncio

import pytest

from fakes import MANIFEST_URL, MODULE_BYTES, MODULE_URL, manifest_data
from edgebox import CrashedError, Host, IntegrityError, LoadError, Manifest, NotFoundError


def test_call_loads_the_module_once_and_answers(run, manifest, platform):
    host = Host(manifest, platform)
    assert run(host.call("heartbeat", "echo", [1, "a"])) == [1, "a"]
    assert run(host.call("heartbeat", "upper", ["x"])) == "X"
    assert platform.fetches == [MODULE_URL]
    assert len(platform.started) == 1


def test_concurrent_first_calls_share_one_load(run, manifest, platform):
    host = Host(manifest, platform)

    async def many():
        return await asyncio.gather(*(host.call("heartbeat", "upper", [c]) for c in "abcdef"))

    assert run(many()) == list("ABCDEF")
    assert platform.fetches == [MODULE_URL]


def test_unknown_module_and_function_are_not_found(run, manifest, platform):
    host = Host(manifest, platform)
    with pytest.raises(NotFoundError, match="no module 'nope'"):
        run(host.call("nope", "echo", []))
    with pytest.raises(NotFoundError, match=r"has no function 'missing'.*\['echo', 'upper'\]"):
        run(host.call("heartbeat", "missing", []))
    assert platform.fetches == [MODULE_URL]  # an unknown module is never fetched


def test_tampered_bytes_never_start(run, manifest, platform):
    platform.files[MODULE_URL] = MODULE_BYTES[:-1] + b"!"
    host = Host(manifest, platform)
    with pytest.raises(IntegrityError, match="sha256"):
        run(host.call("heartbeat", "echo", []))
    assert platform.started == []


def test_wrong_size_never_starts(run, platform):
    manifest = Manifest.parse(manifest_data(size=len(MODULE_BYTES) + 1), url=MANIFEST_URL)
    with pytest.raises(IntegrityError, match="bytes"):
        run(Host(manifest, platform).call("heartbeat", "echo", []))
    assert platform.started == []


def test_a_failed_load_is_retried_on_the_next_call(run, manifest, platform):
    good = platform.files.pop(MODULE_URL)
    host = Host(manifest, platform)
    with pytest.raises(LoadError):
        run(host.call("heartbeat", "echo", []))
    platform.files[MODULE_URL] = good
    assert run(host.call("heartbeat", "echo", [7])) == [7]


def test_a_crashed_guest_is_replaced(run, manifest, platform):
    def crash():
        raise CrashedError("Go program has already exited")

    platform.functions["crash"] = crash
    host = Host(manifest, platform)
    with pytest.raises(CrashedError):
        run(host.call("heartbeat", "crash", []))
    assert platform.started[0].closed
    assert run(host.call("heartbeat", "echo", [1])) == [1]
    assert len(platform.started) == 2


def test_progress_reports_module_bytes(run, manifest, platform):
    seen = []
    host = Host(manifest, platform, on_progress=lambda *event: seen.append(event))
    run(host.call("heartbeat", "echo", []))
    assert seen == [("module:heartbeat", len(MODULE_BYTES), len(MODULE_BYTES))]
