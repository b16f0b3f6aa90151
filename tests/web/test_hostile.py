"""The hostile suite: Go guests of both kinds try one escape each, in Chromium.

Each case must be contained with the expected code (or, for a reach attempt,
a report that shows nothing reached), leave an audit event, and be followed
by a benign call that succeeds. The guests are added the way a user adds
theirs, with `build.py module`, and driven through EdgeBox.start and box.call.
A table of case, expected and got is printed at the end of the run.
"""

import json
import subprocess
import sys
import time

import pytest

import buildtools as build
from pages import open_page

GUESTS = build.ROOT / "tests" / "guests"
HOSTILE = {"hostile": "js", "wasiprobe": "wasip1", "pathopen": "wasip1", "envimport": "wasip1"}
TABLE: list[tuple[str, str, str]] = []


def build_py(*args: str) -> None:
    result = subprocess.run([sys.executable, str(build.ROOT / "build.py"), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def hostile_page(context, base_url, server):
    for name in HOSTILE:
        build_py("module", str(GUESTS / name))
    page = open_page(context, f"{base_url}/blank.html")
    page.evaluate(
        """async () => {
            globalThis.EdgeBoxModule = await import("/edgebox/edgebox.js");
            globalThis.audits = [];
            globalThis.box = await EdgeBoxModule.EdgeBox.start();
            box.addEventListener("audit", (event) => audits.push(event.detail));
        }"""
    )
    yield page
    page.close()
    for name in HOSTILE:
        build_py("module", "--remove", name)


ATTEMPT = """async ([module, fn, args]) => {
    try {
        return { ok: true, value: await box.call(module, fn, ...args) };
    } catch (error) {
        return { ok: false, code: error.code, message: error.message };
    }
}"""


class Case:
    def __init__(self, page, name: str, module: str):
        self.page, self.name, self.module = page, name, module
        page.evaluate("audits.length = 0")

    def call(self, fn: str, *args):
        got = self.page.evaluate(ATTEMPT, [self.module, fn, list(args)])
        if got["ok"] and isinstance(got["value"], str) and got["value"].startswith("{"):
            got["report"] = json.loads(got["value"])
        return got

    def audits(self, capability: str, wait: float = 3.0) -> list[dict]:
        deadline = time.monotonic() + wait
        while True:
            found = [e for e in self.page.evaluate("audits") if e["capability"] == capability]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def benign_still_works(self) -> None:
        fn = "benign"
        module = self.module if self.module in ("hostile", "wasiprobe") else "hostile"
        got = self.page.evaluate(ATTEMPT, [module, fn, []])
        assert got["ok"], f"{self.name}: the benign call after it failed: {got}"

    def record(self, expected: str, got: str) -> None:
        TABLE.append((self.name, expected, got))


def contained(page, name, module, fn, code, capability, *args, message=None):
    """A fatal case: the call fails with `code`, an audit event names `capability`, the next call works."""
    case = Case(page, name, module)
    got = case.call(fn, *args)
    case.record(f"{code} + audit {capability}", f"{got.get('code', 'answered')} + audit {bool(case.audits(capability))}")
    assert got["ok"] is False and got["code"] == code, got
    if message:
        assert message in got["message"], got["message"]
    assert case.audits(capability), f"{name}: no audit event for {capability}"
    case.benign_still_works()
    return got


def reach(page, name, fn, names, capability="global"):
    """A reach attempt: the guest reports each name undefined, and the denial is audited."""
    case = Case(page, name, "hostile")
    got = case.call(fn)
    assert got["ok"], got
    reached = {k: v for k, v in got["report"].items() if k in names and v != "undefined"}
    audited = {e["detail"] for e in case.audits(capability)}
    case.record(f"nothing reached, audit {capability}", f"reached {sorted(reached) or 'nothing'}, audited {len(audited)}")
    assert reached == {}, got["report"]
    assert audited, f"{name}: no audit event"
    case.benign_still_works()
    return got["report"]


def test_ordinary_go_works_where_the_policy_allows(hostile_page, base_url):
    case = Case(hostile_page, "net/http, crypto/rand, fmt, time where granted", "hostile")
    got = case.call("capabilities", f"{base_url}/allowed/ok")
    report = got["report"]
    log = [line["text"] for line in hostile_page.evaluate("box.stats()")["log"] if line["module"] == "hostile"]
    case.record("200 from /allowed/, 16 random bytes, log line, a year",
                f"{report['http']}, rand {len(report['rand']) // 2} bytes, log {bool(log)}, {report['year']}")
    assert report["http"] == 200 and report["body"] == '{"allowed": true}', report
    assert report["randErr"] == "<nil>" and len(set(report["rand"])) > 4
    assert "hello from the guest's log" in log
    assert report["year"] >= 2025


def test_dom(hostile_page):
    reach(hostile_page, "DOM", "dom", {"document", "window", "self", "top", "parent", "globalThis", "location"})


def test_storage(hostile_page):
    reach(hostile_page, "storage", "storage", {"localStorage", "sessionStorage", "indexedDB", "caches", "cookieStore", "navigator"})


def test_import_scripts(hostile_page):
    reach(hostile_page, "importScripts", "scripts", {"importScripts", "Worker", "SharedWorker", "import"})


def test_posting_to_the_page(hostile_page):
    reach(hostile_page, "postMessage", "postToPage", {"postMessage", "opener", "BroadcastChannel", "MessageChannel", "close", "onmessage"})


def test_reflect_and_eval(hostile_page):
    reach(hostile_page, "Reflect/eval", "reflectEval", {"Reflect", "eval", "Function", "Proxy", "WebAssembly"})


def test_shared_memory(hostile_page):
    reach(hostile_page, "SharedArrayBuffer/Atomics", "sharedMemory", {"SharedArrayBuffer", "Atomics"})


def test_timer_flood(hostile_page):
    reach(hostile_page, "timer flood", "timers", {"setTimeout", "setInterval", "queueMicrotask", "requestAnimationFrame"})


def canary_hits(server) -> int:
    return len(server.handler.requests)


@pytest.mark.parametrize(
    "name, fn, target",
    [
        ("fetch outside policy", "fetchDirect", "canary"),
        ("fetch outside prefix", "fetchDirect", "/__canary/forbidden"),
        ("net/http outside policy", "fetchHTTP", "canary"),
        ("net/http redirect to another origin", "fetchHTTP", "/redirect/to-canary"),
        ("fetch redirect to a denied path", "fetchDirect", "/redirect/to-forbidden"),
    ],
)
def test_network_outside_policy(hostile_page, server, canary_server, canary_url, name, fn, target):
    url = f"{canary_url}/direct" if target == "canary" else target
    before_canary = canary_hits(canary_server)
    before_forbidden = sum(1 for p in list(server.handler.requests) if p.startswith("/__canary/"))
    case = Case(hostile_page, name, "hostile")
    got = case.call(fn, url)
    time.sleep(0.3)  # a request that slipped out would have arrived by now
    leaked = canary_hits(canary_server) - before_canary + sum(1 for p in list(server.handler.requests) if p.startswith("/__canary/")) - before_forbidden
    events = case.audits("net")
    case.record("E_DENIED, 0 requests out", f"{'E_DENIED' if 'E_DENIED' in json.dumps(got) else got}, {leaked} out")
    assert got["ok"] and "E_DENIED" in got["report"].get("error", ""), got
    assert leaked == 0
    assert events and events[0]["code"] == "E_DENIED"
    case.benign_still_works()


def test_allowed_fetch_works_and_returned_objects_stay_wrapped(hostile_page):
    case = Case(hostile_page, "objects returned by allowed calls", "hostile")
    got = case.call("returnedObjects", "/allowed/ok")
    assert got["ok"], got
    report = got["report"]
    assert report.pop("status") == 200
    reached = {k: v for k, v in report.items() if v != "undefined"}
    case.record("status 200, every constructor/__proto__ undefined, audit object", f"reached {sorted(reached) or 'nothing'}")
    assert reached == {}
    assert case.audits("object")
    case.benign_still_works()


def test_constructor_chain(hostile_page):
    case = Case(hostile_page, "constructor chain to Function", "hostile")
    got = case.call("constructorChain")
    report = got["report"]
    wrapped = {k: report[k] for k in ("Object.constructor", "FuncOf.constructor", "Date.constructor", "Date.__proto__", "Function",
                                      "bytes.constructor.constructor")}
    escape = report["Function('return globalThis')"]
    case.record("undefined through the membrane, raw bytes' methods included",
                f"{sorted(k for k, v in wrapped.items() if v != 'undefined') or 'nothing'} reached; Function(): {escape[:40]}")
    assert set(wrapped.values()) == {"undefined"}, report
    assert escape.startswith("threw") and "reached" not in escape, escape
    assert case.audits("object")
    case.benign_still_works()


def test_proto_writes(hostile_page):
    case = Case(hostile_page, "__proto__ writes", "hostile")
    got = case.call("protoWrite")
    polluted = {k: v for k, v in got["report"].items() if v != "undefined"}
    case.record("no prototype polluted, audit object", f"polluted {sorted(polluted) or 'nothing'}")
    assert polluted == {}, got["report"]
    assert case.audits("object")
    case.benign_still_works()


def test_crypto_by_algorithm(hostile_page):
    case = Case(hostile_page, "crypto outside policy", "hostile")
    got = case.call("cryptoProbe")
    assert got["ok"], got
    case.record("getRandomValues granted, SHA-1 E_DENIED", f"{got['report']['getRandomValues']}, {got['report']['SHA-1'][:40]}")
    assert got["report"]["getRandomValues"] == "function"
    assert "E_DENIED" in got["report"]["SHA-1"]
    assert case.audits("crypto")
    case.benign_still_works()


@pytest.mark.parametrize("module", ["hostile", "wasiprobe"])
def test_files_env_and_args(hostile_page, module):
    case = Case(hostile_page, f"fs/env/args ({HOSTILE[module]})", module)
    files = case.call("files")
    report = files.get("report") or files["value"]
    granted = "granted to the guest" if module == "hostile" else '{"limit": 10}'
    env_args = case.call("envArgs")
    seen = env_args.get("report") or env_args["value"]
    case.record("granted file read, others denied, env/args exactly the policy's",
                f"granted={report['granted']!r} passwd={report['passwd'][:30]!r} env={seen['env']}")
    assert report["granted"] == granted and report["grantedErr"] == "<nil>"
    assert report["passwd"] != "<nil>" and report["write"] != "<nil>"
    assert seen["env"] == [f"ROLE={'hostile' if module == 'hostile' else 'probe'}"]
    assert seen["args"] == [module, "--probe"]
    assert case.audits("fs")
    case.benign_still_works()


@pytest.mark.parametrize("module", ["hostile", "wasiprobe"])
def test_endless_loop(hostile_page, module):
    contained(hostile_page, f"endless loop ({HOSTILE[module]})", module, "loop", "E_TIMEOUT", "limits", message="1500 ms")


@pytest.mark.parametrize("module", ["hostile", "wasiprobe"])
def test_two_gib_allocation(hostile_page, module):
    contained(hostile_page, f"2 GiB allocation ({HOSTILE[module]})", module, "alloc2g", "E_LIMIT", "limits", message="out of memory")


def test_a_million_goroutines(hostile_page):
    contained(hostile_page, "a million goroutines (js)", "hostile", "goroutines", "E_LIMIT", "limits")


@pytest.mark.parametrize("module", ["hostile", "wasiprobe"])
def test_stdout_flood(hostile_page, module):
    contained(hostile_page, f"100 MB of stdout ({HOSTILE[module]})", module, "flood", "E_LIMIT", "log")


@pytest.mark.parametrize("module, where", [("hostile", "main.go:"), ("wasiprobe", "main.go:")])
def test_panic(hostile_page, module, where):
    got = contained(hostile_page, f"panic ({HOSTILE[module]})", module, "panicNow", "E_PANIC", "panic", message="panicked on purpose")
    assert where in got["message"], "the Go stack with file:line is in the error"


def test_path_open_without_granted_files(hostile_page):
    case = Case(hostile_page, "wasip1 path_open, no files granted", "pathopen")
    got = case.call("read")
    case.record("open fails, audit fs", f"{got.get('code')} {got.get('message', '')[:40]}")
    assert got["ok"] is False and got["code"] == "E_GUEST" and "/etc/passwd" in got["message"], got
    assert case.audits("fs")
    case.benign_still_works()


@pytest.mark.parametrize("module, missing", [("envimport", "env.anything")])
def test_imports_the_host_does_not_provide(hostile_page, module, missing):
    case = Case(hostile_page, f"wasip1 imports {missing}", module)
    got = case.call("reach")
    case.record(f"E_IMPORT naming {missing}", f"{got.get('code')} {missing in got.get('message', '')}")
    assert got["ok"] is False and got["code"] == "E_IMPORT" and missing in got["message"], got
    assert case.audits("import")
    case.benign_still_works()


def test_wasip1_calls_work_like_js_calls(hostile_page):
    case = Case(hostile_page, "wasip1 SDK round trips", "wasiprobe")
    assert case.call("sum", 1, 2, 3.5) == {"ok": True, "value": 6.5}
    assert case.call("echo", "a", [1, {"b": None}]) == {"ok": True, "value": ["a", [1, {"b": None}]]}
    reversed_bytes = hostile_page.evaluate(
        """async () => { const out = await box.call("wasiprobe", "reverse", new Uint8Array([1, 2, 3, 255]));
                         return [out instanceof Uint8Array, Array.from(out)]; }""")
    assert reversed_bytes == [True, [255, 3, 2, 1]]
    bad = case.call("sum", "x")
    assert bad["ok"] is False and bad["code"] == "E_BAD_REQUEST"
    clock = case.call("clock")
    assert clock["ok"], clock
    clock = clock["value"]
    assert clock["year"] >= 2025 and clock["slept_ms"] >= 15
    case.record("JSON, bytes and typed errors round-trip", "ok")


def test_the_box_survived_everything(hostile_page):
    """Whatever ran before it (or nothing, run alone): one more death of each kind, and the box still serves."""
    before = hostile_page.evaluate("box.stats()")["counters"].get("restarts", 0)
    for module, fn, code in [("hostile", "panicNow", "E_PANIC"), ("wasiprobe", "panicNow", "E_PANIC"), ("hostile", "loop", "E_TIMEOUT")]:
        got = Case(hostile_page, "survival", module).call(fn)
        assert (got["ok"], got.get("code")) == (False, code), got
    stats = hostile_page.evaluate("box.stats()")
    assert hostile_page.evaluate("""box.call("heartbeat", "verifyHeartbeat", 1, "x")""")
    assert stats["counters"]["restarts"] == before + 3  # instances replaced, each once
    assert hostile_page.evaluate("box.restarts") == 0  # the host never was
    assert not [p for p in hostile_page.problems if p.startswith("pageerror")]


def pytest_terminal_summary_table() -> str:
    width = max((len(row[0]) for row in TABLE), default=10)
    lines = [f"{'case':<{width}}  {'expected':<55}  got", "-" * (width + 80)]
    lines += [f"{case:<{width}}  {expected:<55}  {got}" for case, expected, got in TABLE]
    return "\n".join(lines)
