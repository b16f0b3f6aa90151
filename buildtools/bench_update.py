"""build.py bench --update: how long a live update takes to switch (README: Signed
manifests and live updates), against a module's first load in the same page.

On a warm HTTP cache (a persistent, on-disk profile; the bytes were fetched once
before), a signed manifest alternates a module between two versions (riskrules:
its own bytes and riskrules-v2's; heartbeat: two policies for its one build);
each switch is timed from ``box.update()`` called to the first answer by the new
version. The baseline, in the same page and run, is the first answer of the same
bytes under a name nobody warmed (fetch, verify, compile, start)."""

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
# [update first?, module]: the time to its first answer (any answer of the guest's).
MEASURE = """async ([update, module, order]) => {
  const started = performance.now();
  const changes = update ? await box.update() : [];
  if (module.startsWith("heartbeat")) await box.call(module, "verifyHeartbeat", 1700000000000, "abc123");
  else await (await box.fetch(`/${module}/orders/check`, { method: "POST", body: JSON.stringify(order) })).text();
  return { ms: performance.now() - started, changes };
}"""


def _case(work: Path, key, jwk: dict, url: str, module: str, versions, playwright) -> tuple[list[float], list[float]]:
    built = {entry["name"]: entry for entry in json.loads((BOX / "manifest.json").read_text())["modules"]}

    def publish(round_name: str, version) -> None:
        entry = {**built[module], **version(built), "url": f"/edgebox/{version(built).get('url', built[module]['url'])}",
                 "version": round_name}
        cold = [{**built[module], "url": f"/edgebox/{built[module]['url']}", "name": f"{module}-cold{i}", "version": "cold"}
                for i in range(ROUNDS)]  # never changed, so that no update starts them
        routes = [{"prefix": f"/{m['name']}/", "module": m["name"]} for m in [entry, *cold]] if module == "riskrules" else []
        data = json.dumps({"format": 1, "version": round_name, "modules": [entry, *cold], "routes": routes}).encode()
        (work / "site" / "m" / "m.json").write_bytes(data)
        (work / "site" / "m" / "m.json.jws").write_text(sign_detached(data, key))

    switches, firsts = [], []
    context = playwright.chromium.launch_persistent_context(
        str(work / f"profile-{module}"), executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
    page = context.new_page()
    page.goto(f"{url}/blank.html")
    publish("warmup-b", versions[1])  # both versions' bytes into the HTTP cache
    page.evaluate("""async ([keys, module]) => { const { EdgeBox } = await import("/edgebox/edgebox.js");
        globalThis.box = await EdgeBox.start({ manifest: "/m/m.json", trust: { keys }, warm: [module] }); }""", [[jwk], module])
    publish("warmup-a", versions[0])
    page.evaluate(MEASURE, [True, module, ORDER])
    for i in range(ROUNDS):
        publish(f"r{i}", versions[(i + 1) % 2])
        result = page.evaluate(MEASURE, [True, module, ORDER])
        if not result["changes"] or not result["changes"][0]["ok"]:
            raise SystemExit(f"bench --update: the update was not switched to: {result['changes']}")
        switches.append(result["ms"])
        firsts.append(page.evaluate(MEASURE, [False, f"{module}-cold{i}", ORDER])["ms"])
    context.close()
    return switches, firsts


def bench_update() -> int:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="edgebox-bench-update-"))
    (work / "site" / "m").mkdir(parents=True)
    jwk = generate_key(work / "key.pem")
    key = load_private_key(work / "key.pem")
    same = lambda built, name: {field: built[name][field] for field in ("url", "size", "sha256")}  # noqa: E731
    keyed = lambda secret: lambda built: {"policy": {**built["heartbeat"]["policy"], "env": {"HEARTBEAT_KEY": secret}}}  # noqa: E731
    cases = {
        "riskrules": (lambda built: same(built, "riskrules"), lambda built: same(built, "riskrules-v2")),
        "heartbeat": (keyed("key-a"), keyed("key-b")),
    }
    server = make_server([DIST, work / "site"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    results = {}
    try:
        with sync_playwright() as playwright:
            for module, versions in cases.items():
                results[module] = _case(work, key, jwk, f"http://127.0.0.1:{server.server_address[1]}", module, versions, playwright)
    finally:
        server.shutdown()
    sizes = {entry["name"]: entry["size"] for entry in json.loads((BOX / "manifest.json").read_text())["modules"]}
    print(f"live update, warm HTTP cache, medians of {ROUNDS} (ms): box.update() to the first answer by the new version,")
    print("against the first answer of the same bytes under a name nobody warmed, in the same page")
    for module, (switches, firsts) in results.items():
        switch, first = statistics.median(switches), statistics.median(firsts)
        print(f"  {module:10} {sizes[module] / 1e6:5.1f} MB   switch {switch:5.0f}  first load {first:5.0f}  ratio {switch / first:4.2f}"
              f"   switches {[round(t) for t in switches]}")
    out = DIST / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "update.json").write_text(json.dumps({m: {"switch_ms": s, "first_load_ms": f} for m, (s, f) in results.items()}, indent=1))
    return 0
