"""build.py bench, the loading half: page weight (bytes the browser itself counted
on a cold and on a second load of the demo page) and start-up with a warm HTTP
cache (page load to the first answered call, the first risk check through a
module nobody warmed), in a Chromium profile kept on disk: Chromium's private
contexts never cache a response above about 6 MB."""

from __future__ import annotations

import statistics
import tempfile
import time

from .paths import CHROMIUM

WARM_LOADS = 5

# Polls inside the page: its CSP refuses the string functions wait_for_function would send.
DEMO_ANSWERED = """async () => {
    const verdict = () => document.getElementById("order-verdict")?.textContent ?? "-";
    while (verdict() === "-" || verdict() === "\u2026") await new Promise((r) => setTimeout(r, 20));
    return verdict();
}"""
STARTUP = """async () => {
    while (!globalThis.startup) await new Promise((r) => setTimeout(r, 20));
    return globalThis.startup;
}"""


def transferred(requests: list) -> int:
    """Bytes on the wire (headers and encoded bodies) of finished requests; cache hits count 0."""
    total = 0
    for request in requests:
        sizes = request.sizes()
        total += max(sizes["responseBodySize"], 0) + max(sizes["responseHeadersSize"], 0)
    return total


def bench_load(playwright, base_url: str, args: list[str], progress) -> dict:
    """Cold and second load of the demo page, then WARM_LOADS start-up loads; medians in ms."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="edgebox-profile-") as profile:
        context = playwright.chromium.launch_persistent_context(profile, executable_path=str(CHROMIUM), args=args, headless=True)
        finished: list = []
        context.on("requestfinished", lambda request: finished.append(request))
        page = context.new_page()
        for label in ["cold", "second"]:
            progress(f"demo page, {label} load")
            finished.clear()
            started = time.monotonic()
            page.goto(f"{base_url}/?user=bench")
            page.evaluate(DEMO_ANSWERED)
            answered = time.monotonic() - started
            time.sleep(1.0)  # what the page still fetches after its first answer counts too
            results[f"demo_{label}"] = {"bytes": transferred(finished), "requests": len(finished), "answeredMs": answered * 1000,
                                        "modules": sorted({r.url.rsplit("/", 1)[1].split(".")[0] for r in finished if r.url.endswith(".wasm") and "/modules/" in r.url})}
        runs = []
        for run in range(WARM_LOADS + 1):  # the first only fills the cache
            progress(f"start-up page, load {run}")
            page.goto(f"{base_url}/bench/startup.html")
            got = page.evaluate(STARTUP)
            if "error" in got:
                raise SystemExit(f"start-up page: {got['error']}")
            if run:
                runs.append(got)
        results["startup"] = {key: statistics.median(r[key] for r in runs) for key in ("readyMs", "firstAnswerMs", "firstRiskCheckMs", "warmRiskCheckMs")}
        results["startup"]["runs"] = runs
        context.close()
    return results


def load_table(r: dict) -> str:
    cold, second, s = r["demo_cold"], r["demo_second"], r["startup"]
    mb = lambda n: f"{n / 1e6:,.2f} MB"  # noqa: E731
    return "\n".join([
        "", "Page weight (demo page, bytes the browser received)          target",
        f"  cold load                     {mb(cold['bytes']):>12}  ({cold['requests']} requests, modules {', '.join(cold['modules'])})   <= 12 MB",
        f"  second load                   {mb(second['bytes']):>12}  ({second['requests']} requests)   < 0.1 MB",
        "", f"Start-up, warm HTTP cache, on-disk profile (median of {WARM_LOADS} loads, ms)",
        f"  page load to box ready        {s['readyMs']:>8.0f}",
        f"  page load to first answer     {s['firstAnswerMs']:>8.0f}        <= 600",
        f"  first risk check (not warm)   {s['firstRiskCheckMs']:>8.0f}        <= 150",
        f"  next risk check               {s['warmRiskCheckMs']:>8.1f}",
    ])
