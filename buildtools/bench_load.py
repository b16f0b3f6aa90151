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


def demo_loads(context, base_url: str, progress, server: str) -> dict:
    """A cold and a second load of the demo page in ``context`` (a fresh profile)."""
    finished: list = []
    context.on("requestfinished", lambda request: finished.append(request))
    page = context.new_page()
    results = {}
    for label in ["cold", "second"]:
        progress(f"demo page from {server}, {label} load")
        finished.clear()
        started = time.monotonic()
        page.goto(f"{base_url}/?user=bench")
        page.evaluate(DEMO_ANSWERED)
        answered = time.monotonic() - started
        time.sleep(1.0)  # what the page still fetches after its first answer counts too
        modules = sorted({r.url.rsplit("/", 1)[1].split(".")[0] for r in finished if "/modules/" in r.url})
        results[label] = {"bytes": transferred(finished), "requests": len(finished), "answeredMs": answered * 1000, "modules": modules}
    return results


def bench_load(playwright, base_urls: dict[str, str], args: list[str], progress) -> dict:
    """Per server, a cold and a second load of the demo page; then, from the first
    server, WARM_LOADS start-up loads in one profile (medians in ms)."""
    launch = lambda profile: playwright.chromium.launch_persistent_context(  # noqa: E731
        profile, executable_path=str(CHROMIUM), args=args, headless=True)
    results: dict = {"demo": {}}
    for server, base_url in base_urls.items():
        with tempfile.TemporaryDirectory(prefix="edgebox-profile-") as profile:
            context = launch(profile)
            results["demo"][server] = demo_loads(context, base_url, progress, server)
            context.close()
    with tempfile.TemporaryDirectory(prefix="edgebox-profile-") as profile:
        context = launch(profile)
        page = context.new_page()
        runs = []
        for run in range(WARM_LOADS + 1):  # the first only fills the cache
            progress(f"start-up page, load {run}")
            page.goto(f"{next(iter(base_urls.values()))}/bench/startup.html")
            got = page.evaluate(STARTUP)
            if "error" in got:
                raise SystemExit(f"start-up page: {got['error']}")
            if run:
                runs.append(got)
        context.close()
    keys = ("readyMs", "firstAnswerMs", "firstRiskCheckMs", "warmRiskCheckMs")
    results["startup"] = {**{key: statistics.median(r[key] for r in runs) for key in keys}, "runs": runs}
    return results


def load_table(r: dict) -> str:
    s = r["startup"]
    mb = lambda n: f"{n / 1e6:,.2f} MB"  # noqa: E731
    lines = ["", "Page weight: the demo page, bytes the browser received      cold load     second load"]
    for server, loads in r["demo"].items():
        cold, second = loads["cold"], loads["second"]
        lines.append(f"  from {server:<20} {mb(cold['bytes']):>28} {mb(second['bytes']):>15}   ({cold['requests']} requests; modules: {', '.join(cold['modules'])})")
    lines.append(f"  {'target':<25} {'<= 12 MB':>28} {'< 0.1 MB':>15}")
    ratio = lambda key: s[key] / max(s["readyMs"], 1e-9)  # noqa: E731
    return "\n".join(lines + [
        "", f"Start-up, warm HTTP cache, on-disk profile (median of {WARM_LOADS} loads)      ms   / box ready   target",
        f"  page load to box ready (Pyodide restored)            {s['readyMs']:>8.0f}       1.00",
        f"  page load to first answered call                     {s['firstAnswerMs']:>8.0f} {ratio('firstAnswerMs'):>10.2f}   <= 600",
        f"  first risk check (riskrules not warm)                {s['firstRiskCheckMs']:>8.0f} {ratio('firstRiskCheckMs'):>10.2f}   <= 150",
        f"  next risk check                                      {s['warmRiskCheckMs']:>8.1f} {ratio('warmRiskCheckMs'):>10.2f}",
    ])
