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
  const box = await EdgeBox.start({ onProgress: showProgress, warm: ["heartbeat"] });
  globalThis.edgebox = box; // for the console and for tests
  $("boot-phase").textContent = "ready";
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
} catch (error) {
  showError($("boot-phase"), error);
}
