"""EdgeBox.start: option checks, boot failures and the demo page, each on a page of its own."""

import hmac
import json

import pytest
from playwright.sync_api import expect

import buildtools as build
from conftest import serve
from pages import open_page

START = """async (options) => {
    const { EdgeBox, EdgeBoxError } = await import("/edgebox/edgebox.js");
    try {
        const box = await EdgeBox.start(options);
        await box.close();
        return { ok: true };
    } catch (error) {
        return { ok: false, code: error.code, name: error.name, message: error.message, isEdgeBoxError: error instanceof EdgeBoxError };
    }
}"""


@pytest.fixture
def blank(context, base_url):
    page = open_page(context, f"{base_url}/blank.html")
    yield page
    page.close()


@pytest.mark.parametrize(
    "options, words",
    [
        ({"bogus": 1}, 'unknown option "bogus"'),
        ({"onProgress": "x"}, "onProgress must be a function"),
        ({"bootTimeoutMs": -1}, "bootTimeoutMs must be a number from 1 to 2147483647"),
        ({"modules": [1]}, "modules must be an object"),
    ],
)
def test_bad_options_are_config_errors_that_name_the_fix(blank, options, words):
    got = blank.evaluate(START, options)
    assert got["ok"] is False and got["code"] == "E_CONFIG" and got["isEdgeBoxError"], got
    assert words in got["message"]


def test_missing_runtime_is_a_boot_error(blank):
    got = blank.evaluate(START, {"base": "/nowhere/"})
    assert got["ok"] is False and got["code"] == "E_BOOT" and got["name"] == "BootError", got
    assert "/nowhere/worker.js" in got["message"]


def test_missing_manifest_is_a_boot_error_with_its_cause(blank):
    got = blank.evaluate(START, {"manifest": "/no-such-manifest.json"})
    assert got["ok"] is False and got["code"] == "E_BOOT", got
    assert "no-such-manifest.json" in got["message"] and "404" in got["message"]


def test_demo_form_answers_from_go(context, base_url):
    page = open_page(context, f"{base_url}/")
    try:
        page.wait_for_selector("#hb-submit:enabled", timeout=60_000)
        assert page.text_content("#boot-phase") == "ready"
        page.fill("#hb-ts", "1712345678901")
        page.fill("#hb-nonce", "demo-nonce")
        page.click("#hb-submit")
        expected = hmac.new(b"edge-key-2024", b"demo-nonce1712345678901", "sha256").hexdigest()[:16]
        expect(page.locator("#hb-result")).to_have_text(expected)
        assert page.problems == []
        closed = page.evaluate(
            """async () => { await edgebox.close();
                try { await edgebox.call("heartbeat", "verifyHeartbeat", 1, "x"); return "answered"; }
                catch (error) { return error.code; } }"""
        )
        assert closed == "E_CLOSED"
    finally:
        page.close()


def test_a_page_can_override_a_module_policy(blank):
    got = blank.evaluate(
        """async () => {
            const { EdgeBox } = await import("/edgebox/edgebox.js");
            const box = await EdgeBox.start({ modules: { heartbeat: { policy: { env: { HEARTBEAT_KEY: "page-key" } } } } });
            try { return await box.call("heartbeat", "verifyHeartbeat", 42, "n"); } finally { await box.close(); }
        }"""
    )
    assert got == hmac.new(b"page-key", b"n42", "sha256").hexdigest()[:16]


def test_a_bad_policy_override_fails_the_boot_naming_the_field(blank):
    got = blank.evaluate(START, {"modules": {"heartbeat": {"policy": {"limits": {"timeout_ms": "soon"}}}}})
    assert got["ok"] is False and got["code"] == "E_BOOT", got
    assert "E_CONFIG" in got["message"] and "modules.heartbeat.policy.limits.timeout_ms" in got["message"]


def test_a_loader_module_whose_bytes_changed_never_runs(context, tmp_path):
    """The page's import map gives the integrity of the loader's imports: a changed options.js is refused."""
    (tmp_path / "edgebox").mkdir()
    original = (build.BOX / "options.js").read_text()
    (tmp_path / "edgebox" / "options.js").write_text(original + "\nglobalThis.tampered = true;\n")
    server = serve([tmp_path, build.DIST])  # the changed file first, everything else from dist/
    try:
        page = open_page(context, f"http://127.0.0.1:{server.server_address[1]}/blank.html")
        got = page.evaluate("""async () => {
            try { await import("/edgebox/edgebox.js"); return "loaded"; }
            catch (error) { return { name: error.name, tampered: globalThis.tampered === true }; }
        }""")
        page.close()
    finally:
        server.shutdown()
    assert got == {"name": "TypeError", "tampered": False}
    assert any("integrity" in problem for problem in page.problems), page.problems


def test_a_module_served_with_another_type_runs_from_its_verified_bytes(blank, overlay):
    """compileStreaming refuses a type other than application/wasm: the host then compiles the bytes it verified."""
    manifest = json.loads((build.BOX / "manifest.json").read_text())
    entry = {m["name"]: m for m in manifest["modules"]}["heartbeat"]
    (overlay / "guests" / "heartbeat.bin").write_bytes((build.BOX / entry["url"]).read_bytes())
    got = blank.evaluate("""async (sha256) => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        const box = await EdgeBox.start({ modules: { octets: { url: "/guests/heartbeat.bin", abi: "js", sha256,
                                                               policy: { env: { HEARTBEAT_KEY: "octet-key" } } } } });
        try { return await box.call("octets", "verifyHeartbeat", 42, "n"); } finally { await box.close(); }
    }""", entry["sha256"])
    assert got == hmac.new(b"octet-key", b"n42", "sha256").hexdigest()[:16]


@pytest.mark.parametrize("warm", [[], ["gone"]])
def test_a_module_whose_url_is_missing_is_not_found(blank, warm):
    got = blank.evaluate("""async (warm) => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        const box = await EdgeBox.start({ warm, modules: { gone: { url: "/guests/gone.wasm", abi: "js", sha256: "0".repeat(64) } } });
        try { await box.call("gone", "f"); return "answered"; }
        catch (error) { return [error.code, error.message]; }
        finally { await box.close(); }
    }""", warm)
    assert got[0] == "E_NOT_FOUND" and "answered 404" in got[1], got


KEPT = """async () => {
    const cache = await caches.open("edgebox-decoded");
    return (await cache.keys()).map((request) => request.url);
}"""


def test_immutable_assets_are_kept_decoded_and_a_bad_kept_copy_heals(blank, test_modules):
    # web/decoded-cache.js: Pyodide's wasm, snapshot and standard library once Python booted from them, a module
    # once its bytes were the manifest's; a box boots and calls from them, and a kept copy that is not
    # the manifest's is refused once (Python verifies every module) and then dropped.
    runtime = json.loads((build.DIST / "edgebox" / "runtime.json").read_text())
    call = """async ([modules, n]) => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        let runtimeBytes = 0;  // the last bytes count of the runtime phase
        const onProgress = ({ phase, loaded }) => { if (phase === "runtime") runtimeBytes = loaded; };
        const box = await EdgeBox.start({ modules, onProgress });
        try { return [await box.call("echo", "echoValue", n), runtimeBytes]; } catch (error) { return [error.code, runtimeBytes]; } finally { await box.close(); }
    }"""
    modules = {"echo": test_modules["echo"]}
    value, from_network = blank.evaluate(call, [modules, 1])
    assert value == 1 and from_network > 10_000_000
    wanted = [runtime["snapshot"], "python_stdlib.zip", "pyodide.asm.wasm", f"/.edgebox-decoded/sha256/{modules['echo']['sha256']}?"]
    kept = []
    for _ in range(50):  # written in the background, after the boot and after a digest
        kept = blank.evaluate(KEPT)
        if all(any(part in url for url in kept) for part in wanted):
            break
        blank.wait_for_timeout(100)
    assert all(any(part in url for url in kept) for part in wanted), kept
    [module_key] = [url for url in kept if wanted[-1] in url]
    # Booted and called from what was kept, whose bytes the progress counts as it counted the network's.
    assert blank.evaluate(call, [modules, 2]) == [2, from_network]

    blank.evaluate("""async (key) => (await caches.open("edgebox-decoded")).put(key, new Response(new Uint8Array([0, 97, 115, 109])))""", module_key)
    assert blank.evaluate(call, [modules, 3])[0] == "E_INTEGRITY"
    for _ in range(50):
        if module_key not in blank.evaluate(KEPT):
            break
        blank.wait_for_timeout(100)
    assert blank.evaluate(call, [modules, 4])[0] == 4


# Damage done to a kept copy in Cache Storage, given the URL and the build's bytes.
DAMAGE = {
    "garbage": "new Response(new Uint8Array(64))",
    "the right bytes under another type": "new Response(bytes, { headers: { 'content-type': 'text/html' } })",
    "one byte changed": "(() => { const b = new Uint8Array(bytes.slice(0)); b[b.length >> 1] ^= 1; "
                        "return new Response(b, { headers: { 'content-type': 'application/octet-stream' } }); })()",
}
BOOT = """async (modules) => {
    const { EdgeBox } = await import("/edgebox/edgebox.js");
    const runtime = [];  // the runtime phase's bytes, as reported
    globalThis.box = await EdgeBox.start({ modules, bootTimeoutMs: 60000, onProgress: ({ phase, loaded }) => phase === "runtime" && runtime.push(loaded) });
    return { value: await box.call("echo", "echoValue", "started"), runtime };
}"""
KEPT_SHA256 = """async (url) => {
    const found = await (await caches.open("edgebox-decoded")).match(url);
    if (!found) return null;
    const digest = await crypto.subtle.digest("SHA-256", await found.arrayBuffer());
    return [Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""), found.headers.get("content-type")];
}"""


def kept_sha256_once(page, url: str, done) -> list | None:
    """[sha256, Content-Type] of what is kept under ``url`` once ``done`` holds for it (10 s at most)."""
    kept = None
    for _ in range(100):  # kept, checked and dropped in the background
        kept = page.evaluate(KEPT_SHA256, url)
        if done(kept):
            break
        page.wait_for_timeout(100)
    return kept


@pytest.mark.parametrize("asset, damage", [
    ("snapshot", "garbage"),
    ("pyodide.asm.wasm", "the right bytes under another type"),
    ("pyodide.asm.wasm", "one byte changed"),
    ("python_stdlib.zip", "one byte changed"),
])
def test_a_damaged_kept_runtime_file_costs_a_slower_start_not_a_failed_one(blank, test_modules, asset, damage):
    # Pyodide waits forever for a wasm that does not instantiate, and a changed byte may not even
    # fail: the boot notices the one and boots from the network, and the copy of the other is
    # dropped once hashed after the boot (web/worker.js); the next load keeps the build's bytes.
    runtime = json.loads((build.DIST / "edgebox" / "runtime.json").read_text())
    [path] = [path for path in runtime["sha256"] if path.endswith(runtime["snapshot"] if asset == "snapshot" else asset)]
    url = f"{blank.url.rsplit('/', 1)[0]}/edgebox/{path}"
    build_sha256 = runtime["sha256"][path]
    modules = {"echo": test_modules["echo"]}
    blank.evaluate("""async (url) => {
        const bytes = await (await fetch(url)).arrayBuffer();
        await (await caches.open("edgebox-decoded")).put(url, %s);
    }""" % DAMAGE[damage], url)
    damaged_copy = blank.evaluate(KEPT_SHA256, url)
    got = blank.evaluate(BOOT, modules)
    assert got["value"] == "started"
    assert got["runtime"] == sorted(got["runtime"]), "the boot's progress went back when it ran again"
    assert kept_sha256_once(blank, url, lambda kept: kept != damaged_copy) != damaged_copy
    blank.evaluate("box.close()")
    assert blank.evaluate(BOOT, modules)["value"] == "started"
    assert (kept_sha256_once(blank, url, lambda kept: kept is not None and kept[0] == build_sha256) or [None])[0] == build_sha256
    blank.evaluate("box.close()")


def test_a_failed_download_of_pyodides_wasm_is_a_boot_error_naming_it(blank, context, test_modules):
    # Pyodide logs a refused instantiation and waits: the box would wait for bootTimeoutMs and
    # say only that the host did not answer.
    blank.evaluate("""async () => { await caches.delete("edgebox-decoded"); }""")
    context.route("**/pyodide.asm.wasm", lambda route: route.fulfill(status=503, body="down"))
    try:
        got = blank.evaluate(START, {"modules": {"echo": test_modules["echo"]}, "bootTimeoutMs": 60000})
    finally:
        context.unroute("**/pyodide.asm.wasm")
    assert got["code"] == "E_BOOT"
    assert "pyodide.asm.wasm answered 503" in got["message"], got["message"]
