// The start-up page: build.py bench loads it in a browser profile kept on disk
// and reads globalThis.startup: page load (navigation start) to the first
// answered call, and the first risk check through a module nobody warmed.
import { EdgeBox } from "../edgebox/edgebox.js";

const order = { user: "bench", region: "US", amount: 12.5, currency: "USD", items: [{ sku: "A1", qty: 1, price: 12.5 }] };

try {
  const phases = {}; // when each boot phase was first reported, ms since navigation start
  const onProgress = ({ phase }) => { phases[phase] ??= Math.round(performance.now()); };
  const box = await EdgeBox.start({ warm: ["heartbeat"], userId: "bench", onProgress });
  const readyMs = performance.now();
  await box.call("heartbeat", "verifyHeartbeat", 42, "n");
  const firstAnswerMs = performance.now();
  const started = performance.now();
  const response = await box.fetch("/edge/orders/check", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
  const verdict = (await response.json()).verdict;
  const firstRiskCheckMs = performance.now() - started;
  const again = performance.now();
  await (await box.fetch("/edge/orders/check", { method: "POST", body: JSON.stringify(order) })).json();
  globalThis.startup = { readyMs, firstAnswerMs, firstRiskCheckMs, warmRiskCheckMs: performance.now() - again, verdict,
                         version: response.headers.get("x-edgebox-version"), phases };
} catch (error) {
  globalThis.startup = { error: `${error?.code ?? ""} ${error?.message ?? error}` };
}
