"""build.py bench: start-up, round trips, throughput and memory in headless Chromium,
and what a debug build's source map costs next to compiling the module."""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time

from .bench_load import bench_load, load_table
from .go import GoModule, cap_memory, compile_go_module, go_root, source_roots
from .nginx import running_nginx
from .pages import page_context
from .sourcemap import make_debug
from .paths import CHROMIUM, DIST, ROOT
from .server import make_server
from .steps import copy_if_changed, sha256_file, write_if_changed


BENCH_SIZES = [64, 4096, 65536, 1048576]


BENCH_COUNTS = {64: 400, 4096: 400, 65536: 200, 1048576: 40}


BENCH_MODES = {"sab": "(a) EdgeBox, SharedArrayBuffer", "host": "(a') same, every call via Python",
               "message": "(b) EdgeBox, postMessage",
               "direct": "(c) direct main-thread call", "rpc": "(d) hand-written worker RPC",
               "ring": "(e) the ring alone (no guest)"}


def bench() -> int:
    """Measure boot, latency, throughput and memory in headless Chromium; print a table
    and write dist/bench/results.json and dist/bench/chart.png."""
    import jinja2
    from playwright.sync_api import sync_playwright

    out = DIST / "bench"
    compile_go_module(ROOT / "tests" / "guests" / "echo", out / "echo.wasm")
    cap_memory(out / "echo.wasm", ROOT / "tests" / "guests" / "echo" / "policy.json")
    for name in ["bench.js", "rpc-worker.js", "ring-worker.js", "startup.js"]:
        copy_if_changed(ROOT / "web" / "bench" / name, out / name)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "web" / "templates"), autoescape=True)
    write_if_changed(out / "bench.html", env.get_template("bench.html").render().encode())
    # As the build's own pages load the loader: import map with integrity, modules preloaded.
    write_if_changed(out / "startup.html", env.get_template("startup.html").render(**page_context()).encode())
    # The build compressed the files an earlier bench left here: a stale .br would be served instead.
    for variant in [p for p in out.iterdir() if p.suffix in (".br", ".gz")]:
        variant.unlink()
    echo = {"url": "/bench/echo.wasm", "sha256": sha256_file(out / "echo.wasm"),
            "policy": json.loads((ROOT / "tests" / "guests" / "echo" / "policy.json").read_text())}

    server = make_server([DIST])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/bench/bench.html"
    progress = lambda text: print(f"[bench] {text}", file=sys.stderr, flush=True)  # noqa: E731
    results: dict = {"sizes": BENCH_SIZES, "latency": {}, "throughput": {}}
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", "--enable-blink-features=ForceEagerMeasureMemory"]
    with sync_playwright() as playwright:
        with running_nginx() as nginx:
            results["load"] = bench_load(playwright, {"build.py serve": f"http://127.0.0.1:{server.server_address[1]}",
                                                      "nginx": f"http://{nginx}"}, args, progress)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        context = browser.new_context()
        page = None
        for label in ["cold", "warm"]:
            progress(f"page load to first answer, {label} HTTP cache")
            if page:
                page.close()
            page = context.new_page()
            page.goto(url)
            page.wait_for_function("typeof setUp === 'function'")
            results[f"boot_{label}"] = page.evaluate("(echo) => setUp(echo)", echo)
        for mode in BENCH_MODES:
            results["latency"][mode] = {}
            for size in BENCH_SIZES:
                progress(f"round trips: {mode}, {size} bytes x {BENCH_COUNTS[size]}")
                results["latency"][mode][size] = page.evaluate("([m, s, n]) => roundTrips(m, s, n)", [mode, size, BENCH_COUNTS[size]])
        progress("risk check: box.fetch and box.call of the same module, 2 x 2 x 100")
        results["fetch_vs_call"] = page.evaluate("(n) => fetchVsCall(n)", 100)
        for mode in ["sab", "host", "message", "rpc"]:
            results["throughput"][mode] = {}
            for in_flight in [1, 8, 64]:
                progress(f"throughput: {mode}, {in_flight} in flight")
                results["throughput"][mode][in_flight] = page.evaluate("([m, k]) => throughput(m, k, 1500)", [mode, in_flight])
        progress("memory")
        try:
            results["memory"] = page.evaluate("memory()")
        except Exception as error:  # the API is best effort in headless mode
            results["memory"] = {"error": str(error)}
        page.evaluate("(r) => drawChart(r)", json.loads(json.dumps(results)))
        page.locator("#chart").screenshot(path=str(out / "chart.png"))
        browser.close()
    server.shutdown()

    progress("debug build of riskrules: go build, then its source map")
    results["debug_map"] = debug_map_cost(out)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(bench_table(results) + "\n" + load_table(results["load"]))
    print(f"\nresults: {(out / 'results.json').relative_to(ROOT)}   chart: {(out / 'chart.png').relative_to(ROOT)}")
    return 0


def debug_map_cost(out) -> dict:
    """Seconds to compile riskrules as a debug build (Go's build cache may serve parts)
    and, median of 3, to write its Go names and source map; the module's size."""
    module = GoModule("riskrules", ROOT / "modules" / "riskrules", "wasip1", True, out / "riskrules-debug.wasm")
    started = time.monotonic()
    compile_go_module(module.source, module.output, module.abi, debug=True)
    go_build = time.monotonic() - started
    runs = []
    for _ in range(3):
        started = time.monotonic()
        make_debug(module.output, source_roots(module), go_root())
        runs.append(time.monotonic() - started)
    return {"module_bytes": module.output.stat().st_size, "go_build_s": go_build, "map_s": statistics.median(runs)}


def bench_table(r: dict) -> str:
    lat = r["latency"]
    lines = ["", "Start-up (ms)                              cold        warm"]
    for key, name in [("boxReadyMs", "EdgeBox.start (Pyodide boot to ready)"), ("moduleColdStartMs", "module cold start (unwarmed first call)"),
                      ("pageToFirstAnswerMs", "page load to first answered call (warm)")]:
        lines.append(f"  {name:<40} {r['boot_cold'][key]:>8.0f}  {r['boot_warm'][key]:>10.0f}")
    lines += ["", "Round trip, microseconds       " + "".join(f"{(f'{s // 1024} KiB' if s >= 1024 else f'{s} B'):>20}" for s in r["sizes"]),
              "                               " + "".join(f"{'p50':>10}{'p99':>10}" for _ in r["sizes"])]
    for mode, name in BENCH_MODES.items():
        lines.append(f"  {name:<29}" + "".join(f"{lat[mode][s]['p50']:>10.0f}{lat[mode][s]['p99']:>10.0f}" for s in r["sizes"]))
    lines += ["", "Ratios of p50                  " + "".join(f"{(f'{s // 1024} KiB' if s >= 1024 else f'{s} B'):>20}" for s in r["sizes"])]
    for mode, other, name in [("sab", "direct", "(a) / (c) own-thread floor"), ("sab", "rpc", "(a) / (d) hand-written RPC"),
                              ("ring", "direct", "(e) / (c) ring / floor")]:
        lines.append(f"  {name:<29}" + "".join(f"{lat[mode][s]['p50'] / max(lat[other][s]['p50'], 1e-9):>20.2f}" for s in r["sizes"]))
    # The page's polls for direct replies (web/channel.js SPIN_MS): main-thread time per call, polls that found one.
    lines.append("  (a) page polling, us/call" + "".join(
        f"{lat['sab'][s]['spin']['usPerCall']:>10.1f}{lat['sab'][s]['spin']['found']:>5}/{lat['sab'][s]['spin']['polls']:<4}" for s in r["sizes"]))
    risk = r["fetch_vs_call"]
    lines += ["", f"Risk check ({risk['module']}), microseconds      p50       p99",
              f"  box.fetch (routes, release, middleware) {risk['fetch']['p50']:>8.0f}  {risk['fetch']['p99']:>8.0f}",
              f"  box.call of its HTTP export             {risk['call']['p50']:>8.0f}  {risk['call']['p99']:>8.0f}",
              f"  ratio of p50, box.fetch / box.call      {risk['fetch']['p50'] / max(risk['call']['p50'], 1e-9):>8.2f}"]
    lines += ["", "Throughput, calls/s (64 B)          1 in flight   8 in flight  64 in flight"]
    for mode in r["throughput"]:
        t = r["throughput"][mode]
        lines.append(f"  {BENCH_MODES[mode]:<33}" + "".join(f"{t[k]:>14.0f}" for k in t))
    sab, rpc = r["throughput"]["sab"], r["throughput"]["rpc"]
    lines.append(f"  {'(a) / (d) hand-written RPC':<33}" + "".join(f"{sab[k] / max(rpc[k], 1e-9):>14.2f}" for k in sab))
    memory = r.get("memory") or {}
    if "total" in memory:
        hosts = 3  # the page runs three boxes: sab, via-Python and message
        lines += ["", f"Memory: {memory['host'] / hosts / 2**20:.1f} MiB per host (3 boxes), "
                  f"{memory['guests'] / max(memory['guestCount'], 1) / 2**20:.1f} MiB per guest instance ({memory['guestCount']}), "
                  f"page {memory['page'] / 2**20:.1f} MiB, total {memory['total'] / 2**20:.1f} MiB"]
    else:
        lines += ["", f"Memory: not measurable here ({memory.get('error', 'API unavailable')})"]
    debug = r["debug_map"]
    lines += ["", f"Debug build of riskrules ({debug['module_bytes'] / 1e6:.1f} MB): Go names and source map in "
              f"{debug['map_s']:.2f} s, {debug['map_s'] / max(debug['go_build_s'], 1e-9):.2f} x its go build ({debug['go_build_s']:.2f} s)"]
    return "\n".join(lines)
