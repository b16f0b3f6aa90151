"""build.py soak: the fault-injection mix and box.fetch under load, in headless Chromium."""

from __future__ import annotations

import json
import sys
import threading

from .go import compile_go_module
from .paths import CHROMIUM, DIST, ROOT
from .server import make_server
from .steps import copy_if_changed, sha256_file


def soak(calls: int) -> int:
    """The fault-injection run (web/bench/faults.js) and 2,000 box.fetch risk
    checks, 64 in flight each, in headless Chromium; prints both reports."""
    from playwright.sync_api import sync_playwright

    out = DIST / "bench"
    guest = ROOT / "tests" / "guests" / "faults"
    compile_go_module(guest, out / "faults.wasm")
    copy_if_changed(ROOT / "web" / "bench" / "faults.js", out / "faults.js")
    faults = {"url": "/bench/faults.wasm", "abi": "js", "sha256": sha256_file(out / "faults.wasm"),
              "policy": json.loads((guest / "policy.json").read_text())}
    server = make_server([DIST])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    failed = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/blank.html")
        for direct in (True, False):
            print(f"[soak] {calls} calls, 64 in flight, direct={direct}", file=sys.stderr, flush=True)
            report = page.evaluate("""async ([faults, calls, direct]) => {
                const { EdgeBox } = await import("/edgebox/edgebox.js");
                const { faultRun, fetchRun } = await import("/bench/faults.js");
                const box = await EdgeBox.start({ modules: { faults }, direct, callTimeoutMs: 30000 });
                const faultReport = await faultRun(box, { count: calls, inFlight: 64 });
                const fetchReport = await fetchRun(box, { count: 2000, inFlight: 64 });
                await box.close();
                return { faultReport, fetchReport };
            }""", [faults, calls, direct])
            fault, fetched = report["faultReport"], report["fetchReport"]
            print(f"\nfault injection, {'direct channel' if direct else 'through Python'}:")
            for key in ["count", "answered", "lost", "byCallTimeout", "misattributed", "healthyWrong", "collateral",
                        "hostRestarts", "after", "seconds", "callsPerSecond", "codes", "examples", "collateralExamples"]:
                print(f"  {key:>18}: {fault[key]}")
            print(f"box.fetch risk checks: {fetched}")
            failed |= bool(fault["lost"] or fault["byCallTimeout"] or fault["misattributed"] or fault["healthyWrong"]
                           or fault["hostRestarts"] or fault["after"] != "after" or fetched["statuses"] != {"200": 2000}
                           or fetched["counted"] != 2000)
        browser.close()
    server.shutdown()
    return 1 if failed else 0
