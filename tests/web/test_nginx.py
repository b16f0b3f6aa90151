"""dist/ served by Debian's real nginx through the generated dist/deploy/nginx.conf:
the box boots cross-origin isolated in Chromium and answers, and every kind of
asset carries its headers (isolation, type, encoding, caching)."""

import hmac
import http.client
import json
import socket
import subprocess
import time

import pytest

import buildtools as build
from buildtools.headers import CACHE_IMMUTABLE, security_headers
from buildtools.pages import script_hashes
from pages import open_page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def nginx(server, tmp_path_factory):
    """nginx on a free port with an http block that includes Debian's mime.types and a
    server block that sets only listen and root, and includes the generated directives."""
    if not build.NGINX.exists():
        pytest.fail(f"{build.NGINX} is missing: `python3 build.py test` installs nginx and libnginx-mod-http-brotli-static")
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    temp = " ".join(f"{kind}_temp_path {prefix / kind};" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    (prefix / "nginx.conf").write_text(f"""
load_module {build.NGINX_BROTLI_STATIC};
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"};
events {{}}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix / "access.log"};
    {temp}
    server {{
        listen 127.0.0.1:{port};
        root {build.DIST};
        include {build.DIST / "deploy" / "nginx.conf"};
    }}
}}
""")
    process = subprocess.Popen([str(build.NGINX), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"nginx did not start: {process.stdout.read().decode()} {(prefix / 'error.log').read_text()}")
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


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
