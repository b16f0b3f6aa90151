"""Signed manifests and live updates, in Chromium: WebCrypto's Ed25519 refuses a
tampered, wrongly signed or unsigned manifest before anything of it is fetched;
box.update() switches under load, refuses bad bytes, rolls a bad release back."""

import hashlib
import json
import threading

import pytest
from playwright.sync_api import expect

import buildtools as build
from buildtools.signing import generate_key, load_private_key, sign_detached
from pages import open_page

GUEST = build.ROOT / "tests" / "guests" / "versioned"


@pytest.fixture(scope="module")
def signing(overlay, tmp_path_factory):
    """(public jwk, private key, another key, publish(name, version, **module fields, ...))."""
    keys = tmp_path_factory.mktemp("keys")
    jwk = generate_key(keys / "owner.pem")
    generate_key(keys / "stranger.pem")
    key, stranger = load_private_key(keys / "owner.pem"), load_private_key(keys / "stranger.pem")
    folder = overlay / "signed"
    build.compile_go_module(GUEST, folder / "versioned.wasm")
    wasm = (folder / "versioned.wasm").read_bytes()

    def publish(name, version, *, signer=key, sha256=None, url="/signed/versioned.wasm", env=None, after=None, **fields):
        entry = {"name": "ver", "abi": "js", "url": url, "sha256": sha256 or hashlib.sha256(wasm).hexdigest(), "version": version,
                 "policy": {"env": {"VERSION": version, **(env or {})}, "limits": {"timeout_ms": 5000}}, **fields}
        data = json.dumps({"format": 1, "version": f"m{version}", "modules": [entry], "routes": []}, indent=1).encode()
        (folder / f"{name}.json").write_bytes(after(data) if after else data)
        jws = folder / f"{name}.json.jws"
        jws.unlink(missing_ok=True)
        if signer is not None:
            jws.write_text(sign_detached(data, signer))
        return f"/signed/{name}.json"

    return jwk, publish, stranger


START = """async ([manifest, keys]) => {
    const { EdgeBox } = await import("/edgebox/edgebox.js");
    try {
        globalThis.box = await EdgeBox.start({ manifest, trust: { keys }, warm: ["ver"] });
        return { ok: true, version: await box.call("ver", "version") };
    } catch (error) {
        return { ok: false, code: error.code, message: error.message };
    }
}"""


def refused(context, base_url, manifest, jwk):
    page = open_page(context, f"{base_url}/blank.html")
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    try:
        return page.evaluate(START, [manifest, [jwk]]), [url for url in fetched if url.endswith(".wasm") and "/signed/" in url]
    finally:
        page.close()


def test_a_signed_manifest_boots_and_a_tampered_wrongly_signed_or_unsigned_one_runs_nothing(context, base_url, signing):
    jwk, publish, stranger = signing
    good = publish("good", "1")
    page = open_page(context, f"{base_url}/blank.html")
    assert page.evaluate(START, [good, [jwk]]) == {"ok": True, "version": "1"}
    page.close()
    # One policy field changed after signing: the network granted.
    tamper = lambda data: data.replace(b'"limits"', b'"net": {"allow": ["/"]}, "limits"')  # noqa: E731
    cases = {
        "tampered": publish("tampered", "1", url="/signed/versioned.wasm?tampered", after=tamper),
        "wrong key": publish("wrongkey", "1", url="/signed/versioned.wasm?wrongkey", signer=stranger),
        "missing": publish("unsigned", "1", url="/signed/versioned.wasm?unsigned", signer=None),
    }
    for case, manifest in cases.items():
        result, fetched = refused(context, base_url, manifest, jwk)
        assert result["ok"] is False and result["code"] == "E_SIGNATURE", (case, result)
        assert fetched == [], (case, fetched)  # not even a warm module's bytes


@pytest.fixture(scope="module")
def live(context, base_url, signing):
    jwk, publish, _ = signing
    page = open_page(context, f"{base_url}/blank.html")
    manifest = publish("live", "1")
    assert page.evaluate(START, [manifest, [jwk]]) == {"ok": True, "version": "1"}
    page.evaluate("""() => {
        globalThis.events = [];
        for (const kind of ["update", "rollback"]) box.addEventListener(kind, (e) => events.push({ kind, ...e.detail }));
    }""")
    yield page, publish
    page.close()


UNDER_LOAD = """async () => {
    await box.call("ver", "version");  // the direct channel is up
    const inFlight = [...Array(64)].map(() => box.call("ver", "slow", 400).then((v) => ({ ok: true, v }), (e) => ({ ok: false, code: e.code })));
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    const changes = await box.update();
    const after = await box.call("ver", "version");
    const switchMs = performance.now() - started;
    return { changes, after, switchMs, inFlight: await Promise.all(inFlight), stats: await box.stats(), metrics: await box.metrics() };
}"""


def test_an_update_under_64_calls_in_flight_loses_none_and_later_calls_reach_the_new_version(live):
    page, publish = live
    publish("live", "2")
    result = page.evaluate(UNDER_LOAD)
    assert result["changes"] == [{"module": "ver", "from": "1", "to": "2", "ok": True, "reason": "switched"}]
    assert result["after"] == "2"
    assert all(call["ok"] and call["v"] in ("1", "2") for call in result["inFlight"]), result["inFlight"]
    versions = result["stats"]["versions"]["ver"]
    assert versions["version"] == "2" and versions["previous"]["version"] == "1"
    assert 'edgebox_module_info{module="ver",version="2"' in result["metrics"]
    assert 'edgebox_updates_total{module="ver",result="ok"} 1' in result["metrics"]
    print(f"switch (update() to the first call answered by v2, 64 calls in flight): {result['switchMs']:.0f} ms")


def test_bytes_whose_sha256_differs_from_the_new_manifest_are_refused_and_the_old_version_serves(live):
    page, publish = live
    publish("live", "3", sha256="0" * 64)
    result = page.evaluate("async () => ({ changes: await box.update(), now: await box.call('ver', 'version') })")
    change = result["changes"][0]
    assert change["ok"] is False and change["to"] == "3" and "E_INTEGRITY" in change["reason"]
    assert result["now"] == "2"


def test_a_release_that_panics_is_rolled_back_on_its_own_and_box_rollback_goes_back(live):
    page, publish = live
    publish("live", "4", env={"PANIC": "1"}, rollback={"calls": 10, "max_errors": 1})
    result = page.evaluate("""async () => {
        const changes = await box.update();
        const answers = [];
        for (let i = 0; i < 6; i++) {
            answers.push(await box.call("ver", "version").then((v) => v, (e) => e.code));
        }
        return { changes, answers, events: events.filter((e) => e.kind === "rollback") };
    }""")
    assert result["changes"][0]["ok"] is True
    panics = [a for a in result["answers"] if a == "E_PANIC"]
    assert len(panics) == 2 and result["answers"][2:] == ["2"] * 4, result["answers"]  # max_errors 1: the second death rolls back
    assert result["events"][-1]["from"] == "4" and result["events"][-1]["to"] == "2"
    # By request: box.rollback goes back to the version served before the last switch.
    publish("live", "5")
    result = page.evaluate("""async () => {
        const changes = await box.update();
        const before = await box.call("ver", "version");
        const rolled = await box.rollback("ver");
        return { changes, before, rolled, now: await box.call("ver", "version"), metrics: await box.metrics() };
    }""")
    assert result["before"] == "5" and result["now"] == "2"
    assert result["rolled"] == {"module": "ver", "from": "5", "to": "2", "reason": "box.rollback"}
    assert 'edgebox_rollbacks_total{module="ver"} 2' in result["metrics"]


def test_the_demo_lists_versions_and_switches_live_when_the_build_changes(context, server, tmp_path):
    """The dev loop: the demo polls for updates; a build that changes riskrules (here its
    manifest entry pointing at other bytes, as a rebuild does) answers without a reload."""
    shadow = tmp_path / "edgebox"
    shadow.mkdir()
    manifest = json.loads((build.BOX / "manifest.json").read_text())
    (shadow / "manifest.json").write_text(json.dumps(manifest))
    dev = build.make_server([tmp_path, build.DIST])
    threading.Thread(target=dev.serve_forever, daemon=True).start()
    page = open_page(context, f"http://127.0.0.1:{dev.server_address[1]}/index.html")
    try:
        entries = {entry["name"]: entry for entry in manifest["modules"]}
        expect(page.locator("#versions")).to_contain_text(f"riskrules {entries['riskrules']['version']}", timeout=60_000)
        expect(page.locator("#order-verdict")).to_have_text("pass", timeout=60_000)
        rebuilt = {**entries["riskrules"], **{k: entries["riskrules-v2"][k] for k in ("url", "size", "sha256")}, "version": "rebuilt"}
        manifest["modules"] = [rebuilt if entry["name"] == "riskrules" else entry for entry in manifest["modules"]]
        (shadow / "manifest.json").write_text(json.dumps(manifest))
        expect(page.locator("#update-log")).to_contain_text("riskrules", timeout=30_000)
        expect(page.locator("#update-log")).to_contain_text("→ rebuilt: switched")
        expect(page.locator("#versions")).to_contain_text("riskrules rebuilt")
        expect(page.locator("#order-verdict")).to_have_text("pass")
        assert page.problems == []
    finally:
        page.close()
        dev.shutdown()
