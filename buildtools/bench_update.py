"""build.py bench --update: how long a live update takes to switch (README: Signed
manifests and live updates), against a module's first load in the same page.

On a warm HTTP cache (a persistent, on-disk profile; the bytes were fetched once
before), a signed manifest alternates riskrules between its own bytes and
riskrules-v2's; each switch is timed from ``box.update()`` called to the first
``box.fetch`` answered by the new version. The baseline is the first answer of
the same bytes under a name nobody warmed (fetch, verify, compile, start)."""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
from pathlib import Path

from .paths import BOX, CHROMIUM, DIST
from .server import make_server
from .signing import generate_key, load_private_key, sign_detached

ORDER = {"user": "u1", "region": "US", "amount": 12.5, "currency": "USD", "items": [{"sku": "A1", "qty": 1, "price": 12.5}]}
ROUNDS = 7
MEASURE = """async ([order, module]) => {
  const post = (path) => box.fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
  const started = performance.now();
  const changes = module ? [] : await box.update();
  await (await post(module ? `/${module}/orders/check` : "/edge/orders/check")).json();
  return { ms: performance.now() - started, changes };
}"""


def bench_update() -> int:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="edgebox-bench-update-"))
    (work / "site" / "m").mkdir(parents=True)
    jwk = generate_key(work / "key.pem")
    key = load_private_key(work / "key.pem")
    built = {entry["name"]: entry for entry in json.loads((BOX / "manifest.json").read_text())["modules"]}

    def publish(version: str, source: str) -> None:
        bytes_of = built[source]
        entry = {**built["riskrules"], "url": f"/edgebox/{bytes_of['url']}", "sha256": bytes_of["sha256"], "size": bytes_of["size"],
                 "version": version}
        # The baseline's modules never change, so that no update starts them.
        cold = [{**built["riskrules"], "url": f"/edgebox/{built['riskrules']['url']}", "name": f"cold{i}", "version": "cold"}
                for i in range(ROUNDS)]
        routes = [{"prefix": "/edge/", "module": "riskrules"}, *({"prefix": f"/cold{i}/", "module": f"cold{i}"} for i in range(ROUNDS))]
        data = json.dumps({"format": 1, "version": version, "modules": [entry, *cold], "routes": routes}).encode()
        (work / "site" / "m" / "m.json").write_bytes(data)
        (work / "site" / "m" / "m.json.jws").write_text(sign_detached(data, key))

    server = make_server([DIST, work / "site"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    switches, firsts = [], []
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(work / "profile"), executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/blank.html")
            publish("warmup-v2", "riskrules-v2")  # puts both versions' bytes in the HTTP cache
            page.evaluate("""async (keys) => { const { EdgeBox } = await import("/edgebox/edgebox.js");
                globalThis.box = await EdgeBox.start({ manifest: "/m/m.json", trust: { keys }, warm: ["riskrules"] }); }""", [jwk])
            publish("warmup-v1", "riskrules")
            page.evaluate(MEASURE, [ORDER, None])
            for i in range(ROUNDS):
                publish(f"r{i}", "riskrules-v2" if i % 2 == 0 else "riskrules")
                result = page.evaluate(MEASURE, [ORDER, None])
                if not result["changes"] or not result["changes"][0]["ok"]:
                    raise SystemExit(f"bench --update: the update was not switched to: {result['changes']}")
                switches.append(result["ms"])
                firsts.append(page.evaluate(MEASURE, [ORDER, f"cold{i}"])["ms"])
            context.close()
    finally:
        server.shutdown()
    switch, first = statistics.median(switches), statistics.median(firsts)
    print(f"riskrules ({built['riskrules']['size'] / 1e6:.1f} MB raw), warm HTTP cache, medians of {ROUNDS}:")
    print(f"  live update, box.update() to the first answer by the new version  {switch:7.0f} ms  {[round(t) for t in switches]}")
    print(f"  baseline: first answer of an unwarmed module (same bytes)          {first:7.0f} ms  {[round(t) for t in firsts]}")
    print(f"  ratio switch / first load                                           {switch / first:7.2f}")
    out = DIST / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "update.json").write_text(json.dumps({"switch_ms": switches, "first_load_ms": firsts}, indent=1))
    return 0
