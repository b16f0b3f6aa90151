// The demo page: boots a box, shows its progress, and signs heartbeats in Go.
import { EdgeBox } from "./edgebox/edgebox.js";

const $ = (id) => document.getElementById(id);
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

$("hb-ts").value = String(Date.now());
$("isolated").textContent = String(globalThis.crossOriginIsolated);

// Boot phases fill the bar; module loads (which may finish after the box is
// ready) get a line of their own.
function showProgress({ phase, loaded, total }) {
  const bytes = total ? `${mib(loaded)} of ${mib(total)}` : "";
  if (phase.startsWith("module:")) {
    $("module-progress").textContent = `${phase.slice(7)} ${loaded === total ? "loaded" : bytes}`;
    return;
  }
  $("boot-phase").textContent = phase;
  $("boot-bytes").textContent = bytes;
  if (total) $("boot-bar").value = Math.min(loaded / total, 1);
}

function showError(target, error) {
  target.textContent = `${error.code ?? "error"}: ${error.message}`;
  target.classList.add("error");
}

try {
  // ?user=... pins the id that percentage rollouts bucket on (handy for demos and tests).
  const userId = new URLSearchParams(location.search).get("user") ?? undefined;
  // v2 starts on its first use (the risk-v2 flag, or the users its rollout picks):
  // warming it too would add its 1.5 MB to every cold load.
  // update: the dev loop. While `build.py serve` runs, a `build.py build` that changes a
  // module is picked up within two seconds and answers without a reload.
  const box = await EdgeBox.start({ onProgress: showProgress, warm: ["heartbeat", "riskrules"], userId, update: { everyMs: 2000 } });
  globalThis.edgebox = box; // for the console and for tests
  $("boot-phase").textContent = "ready";
  $("boot-bytes").textContent = "";
  $("boot-bar").value = 1;
  $("transport").textContent = box.transport;
  $("hb-submit").disabled = false;
  $("heartbeat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("hb-result");
    out.classList.remove("error");
    out.textContent = "…";
    try {
      out.textContent = await box.call("heartbeat", "verifyHeartbeat", Number($("hb-ts").value), $("hb-nonce").value);
    } catch (error) {
      showError(out, error);
    }
  });
  setUpOrders(box);
  setUpLivePanel(box);
} catch (error) {
  showError($("boot-phase"), error);
}

// The order form checks the order as the user types: each change is a
// POST /edge/orders/check through box.fetch, answered by Go.
function setUpOrders(box) {
  const field = (name) => $(`order-${name}`);
  const order = () => {
    const qty = Number(field("qty").value);
    const price = Number(field("price").value);
    return {
      user: field("user").value, region: field("region").value.trim(), currency: field("currency").value.trim(),
      amount: Math.round(qty * price * 100) / 100, items: [{ sku: field("sku").value, qty, price }],
    };
  };
  let latest = 0;
  const check = async () => {
    const ticket = ++latest;
    const body = order();
    field("amount").textContent = body.amount.toFixed(2);
    try {
      const response = await box.fetch("/edge/orders/check", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (ticket !== latest) return; // a newer keystroke already asked
      field("version").textContent = response.headers.get("x-edgebox-version") ?? "-";
      const verdict = field("verdict");
      verdict.className = response.ok ? `verdict-${answer.verdict}` : "error";
      verdict.textContent = response.ok ? answer.verdict : `${response.status} invalid`;
      const reasons = response.ok ? answer.reasons : [answer.error ?? JSON.stringify(answer)];
      field("reasons").replaceChildren(...reasons.map((reason) => Object.assign(document.createElement("li"), { textContent: reason })));
    } catch (error) {
      showError(field("verdict"), error);
    }
  };
  let timer;
  $("order-form").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 120); });
  $("order-form").addEventListener("submit", (event) => { event.preventDefault(); check(); });
  $("flag-risk-v2").addEventListener("change", async (event) => {
    await box.setFlags({ "risk-v2": event.target.checked });
    check();
  });
  check();
}

function setUpLivePanel(box) {
  const note = ({ detail }) => {
    const what = detail.ok === false ? `refused (${detail.reason})` : detail.ok ? "switched" : `rolled back (${detail.reason})`;
    $("update-log").textContent = `${new Date().toLocaleTimeString()} ${detail.module} ${detail.from ?? "-"} → ${detail.to}: ${what}`;
    if (detail.module === "riskrules" || detail.module === "riskrules-v2") $("order-form").requestSubmit();
  };
  box.addEventListener("update", note);
  box.addEventListener("rollback", note);
  const refresh = async () => {
    const [metrics, stats] = await Promise.all([box.metrics(), box.stats()]);
    $("versions").replaceChildren(...Object.entries(stats.versions).map(([module, v]) => Object.assign(document.createElement("li"),
      { textContent: `${module} ${v.version} (sha256 ${v.sha256.slice(0, 12)})${v.previous ? `, before: ${v.previous.version}` : ""}` })));
    $("metrics").textContent = metrics.split("\n").filter((line) => /^edgebox_(requests|denials|panics|timeouts|restarts|updates|rollbacks)_total/.test(line)).join("\n") || "(no requests yet)";
    $("request-log").replaceChildren(...stats.requests.slice(-8).reverse().map((line) =>
      Object.assign(document.createElement("li"), { textContent: `${line.method} ${line.path} ${line.status} ${line.version} ${line.duration_ms} ms trace ${line.trace_id?.slice(0, 8)}` })));
  };
  refresh();
  setInterval(() => refresh().catch(() => {}), 1000);
}
