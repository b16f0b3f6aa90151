"""A net/http handler answers box.fetch as it answers a browser's fetch from a real
net/http server: the same handlers (tests/guests/httpecho/cases.go), once on a native
Go server, once in EdgeBox under each ABI, fetched by the same Chromium."""

import os
import subprocess

import pytest

import buildtools as build
from pages import open_page

ROUTES = [{"prefix": "/js/", "module": "httpjs"}, {"prefix": "/wasi/", "module": "httpwasi"}]
# Set by EdgeBox on every box.fetch answer; the rest must be the server's.
EDGEBOX_ADDS = {"x-edgebox-version", "x-edgebox-where"}
CASES = ["early-hints", "late-header", "flusher", "stream", "controller", "no-content", "not-modified", "reset-content", "sniffed",
         "no-content-type", "explicit-length", "gzip", "deflate", "trailers", "large", "error", "latin1-header"]
GUESTS = build.ROOT / "tests" / "guests"


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    """The cases on Go's own net/http server, compiled for this machine."""
    binary = tmp_path_factory.mktemp("native") / "httpecho"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOWORK": "off"}
    subprocess.run([build.go_binary(), "build", "-o", str(binary), "./httpecho/native"], cwd=GUESTS, env=env, check=True)
    server = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, text=True)
    yield server.stdout.readline().strip()
    server.kill()
    server.wait()


@pytest.fixture(scope="module")
def native_page(context, native):
    page = open_page(context, f"{native}/blank")
    yield page
    page.close()


@pytest.fixture(scope="module")
def box_page(context, base_url, test_modules):
    page = open_page(context, f"{base_url}/blank.html")
    page.evaluate("""async ([modules, routes]) => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        globalThis.box = await EdgeBox.start({ modules, routes });
    }""", [test_modules, ROUTES])
    yield page
    page.close()


# What a page sees of an answer: the same description for fetch and box.fetch.
DESCRIBE = """async ([how, url, init]) => {
    const response = how === "box" ? await box.fetch(url, init) : await fetch(url, init);
    const body = response.body === null ? null : Array.from(new Uint8Array(await response.arrayBuffer()));
    return { status: response.status, statusText: response.statusText, ok: response.ok, type: response.type,
             headers: [...response.headers], body };
}"""


def describe(page, how, url, init=None):
    answer = page.evaluate(DESCRIBE, [how, url, init or {}])
    # A Date is the server's clock: present in both, equal in neither.
    answer["headers"] = [(k, "<date>" if k == "date" else v) for k, v in answer["headers"] if k not in EDGEBOX_ADDS]
    answer.pop("type")  # "basic" from a same-origin fetch, "default" from a constructed Response
    # A network 204, 205 or 304 has an empty body stream; a Response the page makes for one can
    # only have none (the constructor refuses any body for them). Both read as no bytes.
    answer["body"] = answer["body"] or []
    return answer


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("prefix", ["/js", "/wasi"])
def test_each_case_answers_as_a_native_server_does(native_page, native, box_page, case, prefix):
    expected = describe(native_page, "fetch", f"{native}/case/{case}")
    got = describe(box_page, "box", f"{prefix}/case/{case}")
    assert got == expected


@pytest.mark.parametrize("prefix", ["/js", "/wasi"])
def test_a_head_request_and_a_request_with_a_body_reach_the_handler_as_a_server_gives_them(native_page, native, box_page, prefix):
    for init in [{"method": "HEAD"}, {"method": "POST", "body": "twelve bytes", "headers": {"x-thing": "caf\u00e9"}}]:
        expected = describe(native_page, "fetch", f"{native}/case/request", init)
        got = describe(box_page, "box", f"{prefix}/case/request", init)
        assert got == expected


# Each event's arrival, read from the body as a stream, relative to the first.
ARRIVALS = """async ([how, url]) => {
    const response = how === "box" ? await box.fetch(url) : await fetch(url);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const arrivals = [];
    let text = "";
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
        text += decoder.decode(read.value, { stream: true });
        arrivals.push([performance.now(), text]);
    }
    return { text, after: arrivals.map(([at, seen]) => [Math.round(at - arrivals[0][0]), seen]) };
}"""


@pytest.mark.parametrize("prefix", ["/js", "/wasi"])
def test_a_streamed_body_is_read_while_the_handler_still_writes(native_page, native, box_page, prefix):
    url = "/case/stream?events=3&ms=400"
    expected = native_page.evaluate(ARRIVALS, ["fetch", native + url])
    got = box_page.evaluate(ARRIVALS, ["box", prefix + url])
    assert got["text"] == expected["text"] == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    # The first event was read alone, 800 ms before the last was written (an answer read
    # whole would have all three at once); a margin of half of that for a busy machine.
    assert got["after"][0][1] == "data: 0\n\n"
    assert got["after"][-1][0] >= 400, got["after"]


# A request given up on through its AbortSignal: already aborted, aborted with the page's own
# reason, and aborted after the head while the body still arrives.
ABORTED = """async ([how, url]) => {
    const get = (init) => (how === "box" ? box.fetch(url, init) : fetch(url, init));
    const outcome = async (run) => { try { return ["ok", await run()]; } catch (error) { return [error.name, error.message]; } };
    const before = await outcome(() => get({ signal: AbortSignal.abort() }).then((r) => r.status));
    const own = new AbortController();
    own.abort(new RangeError("the page's own reason"));
    const reason = await outcome(() => get({ signal: own.signal }).then((r) => r.status));
    const during = new AbortController();
    const response = await get({ signal: during.signal });
    const reader = response.body.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    during.abort();
    const after = await outcome(() => reader.read().then((r) => r.done));
    return { before: before[0], reason, status: response.status, first, after: after[0] };
}"""


@pytest.mark.parametrize("prefix", ["/js", "/wasi"])
def test_an_aborted_request_ends_as_a_native_fetch_does(native_page, native, box_page, prefix):
    url = "/case/stream?events=3&ms=400"
    expected = native_page.evaluate(ABORTED, ["fetch", native + url])
    got = box_page.evaluate(ABORTED, ["box", prefix + url])
    assert got == expected == {"before": "AbortError", "reason": ["RangeError", "the page's own reason"],
                               "status": 200, "first": "data: 0\n\n", "after": "AbortError"}
