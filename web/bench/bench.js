// The benchmark page: build.py bench drives these functions from Chromium and
// prints what they return. Every mode calls the same Go echo function.
import { EdgeBox } from "../edgebox/edgebox.js";
import { SharedChannel } from "../edgebox/channel.js";

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const summary = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
};
const payload = (size) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 61) bytes[i] = i & 255;
  return bytes;
};

const modes = {};
const ringSpins = { polls: 0, found: 0, ms: 0 };

export async function setUp(echo) {
  const modules = { echo };
  // As a page should: the module starts while the box boots.
  const started = performance.now();
  modes.sab = await EdgeBox.start({ modules, transport: "sab", warm: ["echo"] });
  const ready = performance.now();
  await modes.sab.call("echo", "echo", payload(64));
  const first = performance.now();
  // A module nobody warmed: its first call fetches, verifies, compiles and starts it.
  const cold = await EdgeBox.start({ modules, transport: "sab" });
  const coldStarted = performance.now();
  await cold.call("echo", "echo", payload(64));
  const moduleColdStartMs = performance.now() - coldStarted;
  await cold.close();
  modes.message = await EdgeBox.start({ modules, warm: ["echo"], transport: "message" });
  await modes.message.call("echo", "echo", payload(64));
  modes.host = await EdgeBox.start({ modules, warm: ["echo"], transport: "sab", direct: false });
  await modes.host.call("echo", "echo", payload(64));

  // (c) the floor: the Go function on this page's main thread, no host at all.
  await import("../edgebox/wasm_exec.js");
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch("echo.wasm"), go.importObject);
  go.run(instance);
  modes.direct = { call: async (_m, _f, bytes) => globalThis.echo(bytes) };

  // (d) a hand-written postMessage worker RPC around the same function.
  const worker = new Worker("rpc-worker.js", { type: "module" });
  await new Promise((resolve) => worker.addEventListener("message", resolve, { once: true }));
  const waiting = new Map();
  let nextId = 1;
  worker.onmessage = ({ data }) => { waiting.get(data.id)(data.out); waiting.delete(data.id); };
  modes.rpc = {
    call: (_m, _f, bytes) => new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      worker.postMessage({ id, payload: bytes });
    }),
  };
  // (e) the ring alone: a channel.js round trip to a worker that answers with the message itself.
  const shared = SharedChannel.create(8 * 1024 * 1024);
  const ringWorker = new Worker("ring-worker.js", { type: "module" });
  const ringReady = new Promise((resolve) => ringWorker.addEventListener("message", resolve, { once: true }));
  ringWorker.postMessage(shared);
  await ringReady;
  const ring = new SharedChannel(shared, "page", { spins: ringSpins });
  let answer = null;
  ring.onmessage = (message) => answer(message.payload);
  // One call at a time, as roundTrips makes them: the reply is polled for, as a lone direct call's is.
  modes.ring = { call: (_m, _f, bytes) => new Promise((resolve) => { answer = resolve; ring.send({ id: 1, payload: bytes }, true); }) };
  // performance.now() counts from navigation start: this is page load to first answer.
  return { boxReadyMs: ready - started, moduleColdStartMs, pageToFirstAnswerMs: first };
}

/** Sequential round trips of `size` bytes through `mode`: latency p50/p99 in microseconds. */
export async function roundTrips(mode, size, count) {
  const box = modes[mode];
  const bytes = payload(size);
  // Warmed up alike in every mode, for 300 ms (at least 20 calls): the first few hundred calls
  // run while V8 still compiles the hot code (JavaScript and the Go module's wasm) on
  // background threads, which on 2 cores halts the other side of a round trip now and then.
  const warmUntil = performance.now() + 300;
  for (let i = 0; i < 20 || performance.now() < warmUntil; i++) await box.call("echo", "echo", bytes);
  const spinsBefore = await spins(mode);
  const times = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const out = await box.call("echo", "echo", bytes);
    times.push((performance.now() - t) * 1000);
    if (out.length !== size) throw new Error(`${mode}: echo returned ${out.length} bytes, sent ${size}`);
  }
  const spinsAfter = await spins(mode);
  // The page's polls for replies (channel.js): main-thread microseconds per call, and how often they found one.
  const spin = spinsAfter && { usPerCall: ((spinsAfter.ms - spinsBefore.ms) * 1000) / count,
    found: spinsAfter.found - spinsBefore.found, polls: spinsAfter.polls - spinsBefore.polls };
  return { ...summary(times), spin };
}

const spins = async (mode) => (modes[mode] instanceof EdgeBox ? (await modes[mode].stats()).spin : mode === "ring" ? { ...ringSpins } : null);

// The risk check of the demo: the same order through box.fetch (routes, release,
// middleware, the host) and through box.call of the module's HTTP export (the
// same Go handler, called directly), on the same instance.
const ORDER = JSON.stringify({ user: "bench", region: "US", amount: 12.5, currency: "USD", items: [{ sku: "A1", qty: 1, price: 12.5 }] });
const HTTP_EXPORT = "__edgebox_http"; // guest-protocol.js: what edgebox.Serve registers
const RISK_VERSIONS = { v1: "riskrules", v2: "riskrules-v2" }; // modules/routes.json

/** p50/p99 in microseconds of a risk check through box.fetch and through box.call of the same module. */
export async function fetchVsCall(count) {
  const box = modes.sab;
  const url = new URL("/edge/orders/check", location.href).href;
  const headers = { "content-type": "application/json" };
  const viaFetch = async () => {
    const response = await box.fetch(url, { method: "POST", headers, body: ORDER });
    await response.arrayBuffer();
    return response;
  };
  const first = await viaFetch();
  if (first.status !== 200) throw new Error(`box.fetch answered ${first.status}: ${await first.text()}`);
  const module = RISK_VERSIONS[first.headers.get("x-edgebox-version")];
  const head = JSON.stringify({ method: "POST", url, headers: Object.entries(headers) });
  const body = new TextEncoder().encode(ORDER);
  const viaCall = async () => {
    const answer = await box.call(module, HTTP_EXPORT, head, body);
    if (!(answer instanceof Uint8Array) || answer.length === 0) throw new Error("box.call: no HTTP answer");
  };
  const time = async (run) => {
    for (let i = 0; i < 10; i++) await run();
    const times = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await run();
      times.push((performance.now() - t) * 1000);
    }
    return summary(times);
  };
  // Interleaved halves, so that a burst of load on this shared machine hits both alike.
  const fetchA = await time(viaFetch), callA = await time(viaCall);
  const callB = await time(viaCall), fetchB = await time(viaFetch);
  const merge = (a, b) => ({ n: a.n + b.n, p50: (a.p50 + b.p50) / 2, p99: Math.max(a.p99, b.p99) });
  return { module, fetch: merge(fetchA, fetchB), call: merge(callA, callB) };
}

/** Calls per second with `inFlight` calls outstanding at all times, for `ms` milliseconds. */
export async function throughput(mode, inFlight, ms) {
  const box = modes[mode];
  const bytes = payload(64);
  let done = 0;
  const until = performance.now() + ms;
  const lane = async () => { while (performance.now() < until) { await box.call("echo", "echo", bytes); done++; } };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return done / ((performance.now() - started) / 1000);
}

/** Memory by context, where the browser can tell (cross-origin isolated pages only). */
export async function memory() {
  if (!performance.measureUserAgentSpecificMemory) return null;
  const result = await performance.measureUserAgentSpecificMemory();
  const byKind = { page: 0, host: 0, guests: 0, other: 0, guestCount: 0 };
  for (const entry of result.breakdown) {
    const url = entry.attribution?.[0]?.url ?? "";
    const kind = /worker\.js/.test(url) ? "host" : /guest\.js/.test(url) ? "guests" : /bench\.html|bench\.js/.test(url) ? "page" : "other";
    byKind[kind] += entry.bytes;
    if (kind === "guests" && entry.bytes) byKind.guestCount += 1;
  }
  return { total: result.bytes, ...byKind };
}

/** A grouped bar chart of p50 latency per size, drawn for the PNG beside the results. */
export function drawChart(results) {
  const canvas = document.getElementById("chart");
  const ctx = canvas.getContext("2d");
  const modeNames = ["sab", "host", "message", "direct", "rpc"];
  const colors = { sab: "#2563eb", host: "#7c3aed", message: "#93c5fd", direct: "#16a34a", rpc: "#f59e0b" };
  const sizes = results.sizes;
  const width = canvas.width, height = canvas.height, left = 70, bottom = 50, top = 40;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#111"; ctx.font = "16px sans-serif";
  ctx.fillText("EdgeBox round trip, p50 (µs, log scale) by payload size", left, 24);
  const max = Math.max(...sizes.flatMap((s) => modeNames.map((m) => results.latency[m][s].p50)));
  const y = (v) => height - bottom - (Math.log10(Math.max(v, 1)) / Math.log10(max * 1.5)) * (height - bottom - top);
  const group = (width - left - 20) / sizes.length;
  sizes.forEach((size, i) => {
    modeNames.forEach((mode, j) => {
      const v = results.latency[mode][size].p50;
      const x = left + i * group + 10 + j * (group - 20) / modeNames.length;
      ctx.fillStyle = colors[mode];
      ctx.fillRect(x, y(v), (group - 20) / modeNames.length - 4, height - bottom - y(v));
    });
    ctx.fillStyle = "#111";
    ctx.fillText(size >= 1048576 ? `${size / 1048576} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`, left + i * group + group / 2 - 20, height - bottom + 20);
  });
  for (const tick of [10, 100, 1000, 10000, 100000]) {
    if (tick > max * 1.5) break;
    ctx.fillStyle = "#666"; ctx.fillText(String(tick), 10, y(tick) + 5);
    ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(left, y(tick)); ctx.lineTo(width, y(tick)); ctx.stroke();
  }
  modeNames.forEach((mode, j) => {
    ctx.fillStyle = colors[mode]; ctx.fillRect(10 + j * 178, height - 22, 14, 14);
    ctx.font = "13px sans-serif";
    ctx.fillStyle = "#111"; ctx.fillText({ sab: "(a) EdgeBox SAB", host: "(a') SAB via Python", message: "(b) EdgeBox message", direct: "(c) direct (floor)", rpc: "(d) hand-written RPC" }[mode], 10 + j * 178 + 18, height - 10);
  });
}

Object.assign(globalThis, { setUp, roundTrips, fetchVsCall, throughput, memory, drawChart });
