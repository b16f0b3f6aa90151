// Fault injection: a seeded mix of healthy and faulty calls to the faults guest
// (tests/guests/faults), many in flight. Used by tests/web/test_containment.py
// with a few hundred calls and by `build.py soak` with 10,000. Every call is
// classified by what it was and what it got; the box must lose none, answer
// none by the page's callTimeoutMs, and give no call another call's fault.

const KINDS = [
  // [share, kind, fn, args(i, random)]
  [0.02, "panic", "panic", (i) => [String(i)]],
  [0.005, "exit", "exit", () => []],
  [0.002, "hang", "hangAsync", () => []],
  [0.07, "slow", "slow", (i, random) => [Math.floor(random() * 50), i]],
  [0.05, "big", "big", () => [256 * 1024]],
];
// What a fault's own call may get: its death, or E_CRASHED if another death came first.
const FAULT_CODES = { panic: ["E_PANIC", "E_CRASHED"], exit: ["E_CRASHED"], hang: ["E_TIMEOUT", "E_CRASHED"] };

export async function faultRun(box, { count = 10000, inFlight = 64, seed = 42, module = "faults" } = {}) {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const plan = Array.from({ length: count }, (_, i) => {
    let r = random();
    for (const [share, kind, fn, args] of KINDS) {
      if (r < share) return { kind, fn, args: args(i, random) };
      r -= share;
    }
    return { kind: "ok", fn: "ok", args: [i] };
  });
  const report = {
    count, inFlight, answered: 0, lost: 0, byCallTimeout: 0, misattributed: 0, collateral: 0, healthyWrong: 0,
    codes: {}, examples: [], collateralExamples: [], restartsBefore: box.restarts,
  };
  const note = (what, i, got) => { if (report.examples.length < 10) report.examples.push({ what, i, kind: plan[i].kind, got }); };
  const check = (i, value, error) => {
    const { kind, args } = plan[i];
    report.answered++;
    if (error) {
      const code = error.code ?? String(error);
      report.codes[`${kind}:${code}`] = (report.codes[`${kind}:${code}`] ?? 0) + 1;
      if (code === "E_TIMEOUT" && /callTimeoutMs/.test(error.message)) { report.byCallTimeout++; note("callTimeoutMs", i, error.message); return; }
      if (kind in FAULT_CODES) {
        if (!FAULT_CODES[kind].includes(code)) { report.misattributed++; note("fault code", i, `${code}: ${error.message.slice(0, 200)}`); }
        else if (code === "E_PANIC" && !error.message.includes(`fault injected: ${i}\n`)) { report.misattributed++; note("another call's panic", i, error.message.slice(0, 200)); }
        return;
      }
      if (code === "E_CRASHED") {
        report.collateral++;
        if (report.collateralExamples.length < 5) report.collateralExamples.push({ i, kind, message: error.message.slice(0, 160) });
        return;
      }
      report.misattributed++;
      note("healthy call failed", i, `${code}: ${error.message.slice(0, 200)}`);
      return;
    }
    if (kind in FAULT_CODES) { report.misattributed++; note("fault answered", i, value); return; }
    const right = kind === "big" ? value instanceof Uint8Array && value.length === args[0]
      : kind === "slow" ? value === args[1] : value === args[0];
    if (!right) { report.healthyWrong++; note("wrong value", i, String(value).slice(0, 100)); }
  };
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        check(i, await box.call(module, plan[i].fn, ...plan[i].args), null);
      } catch (error) {
        check(i, null, error);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  report.seconds = (performance.now() - started) / 1000;
  report.callsPerSecond = Math.round(count / report.seconds);
  report.lost = count - report.answered;
  report.hostRestarts = box.restarts - report.restartsBefore;
  try {
    report.after = await box.call(module, "ok", "after");
  } catch (error) {
    report.after = `${error.code}: ${error.message}`;
  }
  return report;
}

// box.fetch under load: `count` risk checks, `inFlight` at a time, to the
// demo's /edge/orders/check route. Every answer must be a 200 with a verdict,
// and edgebox_requests_total must count each request exactly once.
export async function fetchRun(box, { count = 2000, inFlight = 64, route = "/edge/orders/check" } = {}) {
  const statuses = {};
  const verdicts = {};
  const bad = [];
  let next = 0;
  const metricCount = async () => {
    const text = await box.metrics();
    return text.split("\n").filter((line) => line.startsWith("edgebox_requests_total{") && line.includes(`route="/edge/orders/`))
      .reduce((n, line) => n + Number(line.split(" ").pop()), 0);
  };
  const before = await metricCount();
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const amount = 10 + (i % 37) * 3.5;
      const order = { user: `u${i % 50}`, region: ["US", "DE", "JP"][i % 3], amount, currency: "USD",
        items: [{ sku: `SKU-${i % 7}`, qty: 1 + (i % 3), price: amount / (1 + (i % 3)) }] };
      try {
        const response = await box.fetch(route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        const body = await response.json();
        verdicts[body.verdict] = (verdicts[body.verdict] ?? 0) + 1;
        if (response.status !== 200 && bad.length < 5) bad.push(body);
      } catch (error) {
        statuses[error.code ?? "thrown"] = (statuses[error.code ?? "thrown"] ?? 0) + 1;
        if (bad.length < 5) bad.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { count, statuses, verdicts, bad, counted: (await metricCount()) - before, requestsPerSecond: Math.round(count / seconds) };
}
