"""A guest's net/http client inside EdgeBox gets what it gets under plain
wasm_exec.js in a plain page: the same program (tests/guests/netclient) in both,
against the same real HTTP upstream, compared answer by answer and by when the
answer came (AbortSignal, and so http.Client.Timeout, honoured; bodies streamed;
every status as the browser's fetch makes it)."""

import threading
import time

import pytest

import buildtools as build
from conftest import GUESTS, sha256
from pages import open_page


def upstream_handler(base):
    """The dev server's handler, with an upstream under /upstream/ (same origin: the page's
    CSP lets workers connect only there) that answers late, streams, or with any status."""

    class Upstream(base):
        def head(self, status, length):
            self.send_response(status)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == "/upstream/slow-head":  # the head after 3 s
                time.sleep(3)
                self.head(200, 2)
                self.wfile.write(b"ok")
            elif path == "/upstream/slow-body":  # the head and two bytes at once, the rest after 3 s
                self.head(200, 5)
                self.wfile.write(b"fi")
                self.wfile.flush()
                time.sleep(3)
                self.wfile.write(b"rst")
            elif path.startswith("/upstream/status/"):
                self.head(int(path.rsplit("/", 1)[1]), 0)
            else:
                super().do_GET()

    return Upstream


@pytest.fixture(scope="module")
def upstream(overlay):
    server = build.make_server([build.DIST, overlay])
    server.RequestHandlerClass = upstream_handler(server.RequestHandlerClass)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def page(context, overlay, upstream):
    build.compile_go_module(GUESTS / "netclient", overlay / "guests" / "netclient.wasm", "js")
    netclient = {"url": "/guests/netclient.wasm", "abi": "js", "sha256": sha256(overlay / "guests" / "netclient.wasm"),
                 "policy": {"net": {"allow": ["/upstream/"]}, "limits": {"timeout_ms": 8000}}}
    page = open_page(context, f"{upstream}/blank.html")
    page.evaluate("""async (modules) => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        globalThis.box = await EdgeBox.start({ modules });
    }""", {"netclient": netclient})
    page.call = "box.call('netclient', 'get', url, t, first)"
    yield page
    page.close()


@pytest.fixture(scope="module")
def plain_page(context, upstream):
    """The same program under plain wasm_exec.js on a page of the same origin: no EdgeBox."""
    page = open_page(context, f"{upstream}/blank.html")
    page.evaluate("""async () => {
        await import("/edgebox/wasm_exec.js");
        const go = new Go();
        const { instance } = await WebAssembly.instantiateStreaming(fetch("/guests/netclient.wasm"), go.importObject);
        go.run(instance);
    }""")
    page.call = "get(url, t, first)"
    yield page
    page.close()


def get(page, url, timeout_ms=5000, first=0):
    words = page.evaluate(f"([url, t, first]) => {page.call}", [url, timeout_ms, first]).split()
    return " ".join(words[:-2]), int(words[-1])


def same_as_plain(page, plain_page, path, timeout_ms=5000, first=0):
    """The answer in EdgeBox and under plain wasm_exec.js, and when each came (ms)."""
    url = f"{page.url.rsplit('/', 1)[0]}{path}"
    boxed, boxed_ms = get(page, url, timeout_ms, first)
    plain, plain_ms = get(plain_page, url, timeout_ms, first)
    assert boxed == plain
    return boxed, boxed_ms, plain_ms


def test_a_client_timeout_ends_a_request_whose_head_is_late(page, plain_page):
    answer, ms, plain_ms = same_as_plain(page, plain_page, "/upstream/slow-head", 300)
    assert "Client.Timeout exceeded while awaiting headers" in answer, answer
    assert ms < 1500 and plain_ms < 1500, (ms, plain_ms)  # the upstream answers at 3 s


def test_a_body_that_is_late_is_waited_for_as_in_a_plain_page(page, plain_page):
    answer, ms, plain_ms = same_as_plain(page, plain_page, "/upstream/slow-body", 300)
    assert (ms < 1500) == (plain_ms < 1500), (answer, ms, plain_ms)


def test_the_body_streams_what_has_arrived_is_read_before_the_rest(page, plain_page):
    answer, ms, plain_ms = same_as_plain(page, plain_page, "/upstream/slow-body", 5000, first=2)
    assert answer == 'status 200 first "fi" (<nil>)', answer
    assert ms < 1500 and plain_ms < 1500, (ms, plain_ms)  # the rest comes at 3 s


@pytest.mark.parametrize("status", [200, 204, 205, 304, 404, 503])
def test_every_status_arrives_as_fetch_gives_it(page, plain_page, status):
    answer, _, _ = same_as_plain(page, plain_page, f"/upstream/status/{status}")
    assert answer.startswith(f"status {status} body 0"), answer
