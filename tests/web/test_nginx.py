"""dist/ served by Debian's real nginx through the generated dist/deploy/nginx.conf:
the box boots cross-origin isolated in Chromium and answers, and every kind of
asset carries its headers (isolation, type, encoding, caching)."""

import hmac
import http.client
import json

import pytest

import buildtools as build
from buildtools.headers import CACHE_IMMUTABLE, security_headers
from buildtools.nginx import running_nginx
from buildtools.pages import script_hashes
from pages import open_page


@pytest.fixture(scope="module")
def nginx(server):
    """dist/ (built by the server fixture) served by nginx through the generated directives."""
    with running_nginx() as host:
        yield host


def get(host: str, path: str, **headers):
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response, response.read()


def test_the_box_boots_isolated_and_answers_from_nginx(context, nginx):
    page = open_page(context, f"http://{nginx}/blank.html")
    got = page.evaluate("""async () => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        const box = await EdgeBox.start();
        try {
            const heartbeat = await box.call("heartbeat", "verifyHeartbeat", 42, "n");
            const order = { user: "n1", region: "US", amount: 12.5, currency: "USD", items: [{ sku: "A1", qty: 1, price: 12.5 }] };
            const response = await box.fetch("/edge/orders/check", {
                method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
            return { isolated: crossOriginIsolated, transport: box.transport, heartbeat, status: response.status,
                     verdict: (await response.json()).verdict, version: response.headers.get("x-edgebox-version") };
        } finally {
            await box.close();
        }
    }""")
    page.close()
    key = json.loads((build.ROOT / "modules" / "heartbeat" / "policy.json").read_text())["env"]["HEARTBEAT_KEY"]
    assert got == {"isolated": True, "transport": "sab", "heartbeat": hmac.new(key.encode(), b"n42", "sha256").hexdigest()[:16],
                   "status": 200, "verdict": "pass", "version": got["version"]}
    assert got["version"], "the release answered with its version"
    assert page.problems == []


def asset_paths() -> dict:
    runtime = json.loads((build.BOX / "runtime.json").read_text())
    manifest = json.loads((build.BOX / "manifest.json").read_text())
    return {
        "page": ("/", "text/html; charset=utf-8", "no-cache"),
        "loader": ("/edgebox/edgebox.js", "text/javascript", "no-cache"),
        "manifest": ("/edgebox/manifest.json", "application/json", "no-cache"),
        "module": ("/edgebox/" + manifest["modules"][0]["url"], "application/wasm", CACHE_IMMUTABLE),
        "pyodide": (f"/edgebox/{runtime['pyodide']}pyodide.asm.wasm", "application/wasm", CACHE_IMMUTABLE),
        "pyodide script": (f"/edgebox/{runtime['pyodide']}pyodide.mjs", "text/javascript", CACHE_IMMUTABLE),
        "snapshot": (f"/edgebox/{runtime['snapshot']}", "application/octet-stream", CACHE_IMMUTABLE),
    }


@pytest.mark.parametrize("kind", ["page", "loader", "manifest", "module", "pyodide", "pyodide script", "snapshot"])
@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_each_kind_of_asset_carries_its_headers(nginx, kind, coding):
    path, content_type, cache = asset_paths()[kind]
    response, body = get(nginx, path, **{"Accept-Encoding": f"{coding}, identity"})
    assert response.status == 200
    for name, value in security_headers(script_hashes()).items():
        assert response.getheader(name) == value, name
    assert response.getheader("Content-Type") == content_type
    assert response.getheader("Cache-Control") == cache
    assert response.getheader("Content-Encoding") == coding
    assert "Accept-Encoding" in response.getheader("Vary", "")
    assert int(response.getheader("Content-Length")) == len(body)
    etag = response.getheader("ETag")
    again, rest = get(nginx, path, **{"Accept-Encoding": f"{coding}, identity", "If-None-Match": etag})
    assert again.status == 304 and rest == b""
    assert again.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
