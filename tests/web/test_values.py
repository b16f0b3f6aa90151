"""Which values cross, on every path (web/values.js): random values of every kind,
sent as arguments and echoed back as answers, over the direct channel, through
Python, and by postMessage; to a plain GOOS=js guest (any value that crosses
comes back as the same kind and value) and to SDK guests of both ABIs (JSON:
the same value, or E_BAD_REQUEST naming where the value JSON cannot carry sits)."""

import pytest

from pages import open_page

SEED_COUNT = 80

PROPERTY = r"""async ([seed, count]) => {
  // A small seeded PRNG (mulberry32), so a failure names its seed.
  let state = seed >>> 0;
  const rand = () => { state = (state + 0x6d2b79f5) >>> 0; let t = state; t = Math.imul(t ^ (t >>> 15), t | 1);
                       t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const pick = (items) => items[Math.floor(rand() * items.length)];
  const VIEWS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array];
  const leaf = () => pick([
    () => undefined, () => null, () => rand() < 0.5, () => Math.floor(rand() * 2000) - 1000, () => rand() * 1e6 - 5e5,
    () => -0, () => NaN, () => Infinity, () => -Infinity, () => 2 ** 53 + 2, () => -(2 ** 60), () => 1e300, () => 5e-324,
    () => "", () => "plain", () => "caf\u00e9 \u{1F600} \u4e2d", () => "lone \ud800 surrogate", () => "\udc00",
    () => new (pick(VIEWS))([1, 2, 3].map(() => Math.floor(rand() * 100))),
    () => new BigInt64Array([-5n]), () => new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2),
    () => new Uint8Array([9, 8, 7]).buffer, () => new Date(0), () => new Map([[1, 2]]), () => new Set([1]), () => 10n,
  ])();
  const gen = (depth) => {
    const r = rand();
    if (depth > 3 || r < 0.45) return leaf();
    if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
    const object = {};
    for (let i = 0, n = Math.floor(rand() * 4); i < n; i++) {
      const key = pick(["a", "b c", "__proto__", "\u00e9", "0", "lone\ud800"]);
      Object.defineProperty(object, key, { value: gen(depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return object;
  };
  const kind = (v) => Object.prototype.toString.call(v);
  const binary = (v) => ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
  const plain = (v) => { const p = Object.getPrototypeOf(v); return p === Object.prototype || p === null; };
  // What crosses at all (values.js), and what JSON carries unchanged.
  const crosses = (v, json) => {
    if (v === undefined) return !json;
    if (v === null || typeof v === "boolean") return true;
    if (typeof v === "number") return !json || Number.isFinite(v);
    if (typeof v === "string") return v.isWellFormed();
    if (typeof v !== "object") return false;
    if (binary(v)) return !json;
    if (Array.isArray(v)) return v.every((item) => crosses(item, json));
    return plain(v) && Object.keys(v).every((key) => key.isWellFormed() && crosses(v[key], json));
  };
  const bytes = (v) => Array.from(new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer, v.byteOffset ?? 0, v.byteLength));
  // A GOOS=js guest holds -0 as 0 (wasm_exec's value table keys values by SameValueZero), on
  // every path and in a plain page alike: the one number Go's own JavaScript bridge changes.
  let zeroSign = true;
  const same = (a, b) => {
    if (typeof a !== "object" || a === null) return Object.is(a, b) || (!zeroSign && a === 0 && b === 0);
    if (kind(a) !== kind(b)) return false;
    if (binary(a)) return bytes(a).join() === bytes(b).join();
    if (Array.isArray(a)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && same(a[key], b[key]));
  };
  // The value a refusal's path names ("args[0].items[3]", "args[0][\"b c\"]").
  const at = (args, path) => {
    let v = args;
    for (const [, index, name, quoted] of path.slice(4).matchAll(/\[(\d+)\]|\.([A-Za-z_$][\w$]*)|\[("(?:[^"\\]|\\.)*")\]/g)) {
      v = v[index !== undefined ? Number(index) : name ?? JSON.parse(quoted)];
    }
    return v;
  };
  const show = (v) => typeof v === "object" && v !== null
    ? (binary(v) ? `${kind(v)}(${bytes(v)})` : Array.isArray(v) ? `[${v.map(show)}]`
      : `${plain(v) ? "" : kind(v)}{${Object.keys(v).map((k) => `${JSON.stringify(k)}: ${show(v[k])}`)}}`)
    : Object.is(v, -0) ? "-0" : typeof v === "string" ? JSON.stringify(v) : String(v);
  const failures = [];
  const targets = [["echo", "echoValue", false], ["httpjs", "echo", true], ["httpwasi", "echo", true]];
  for (let i = 0; i < count; i++) {
    const value = gen(0);
    for (const [module, fn, json] of targets) {
      const args = [value, 0];
      const expected = crosses(args, json);
      let got;
      try {
        got = { ok: true, value: await box.call(module, fn, ...args) };
      } catch (error) {
        got = { ok: false, code: error.code, message: error.message };
      }
      const where = `seed ${seed} value ${i} ${module}`;
      if (expected) {
        if (!got.ok) failures.push(`${where}: refused ${got.code} ${got.message}`);
        else if ((zeroSign = json, !same(json ? args : args[0], got.value))) failures.push(`${where}: ${show(args)} came back as ${show(got.value)}`);
      } else if (got.ok || got.code !== "E_BAD_REQUEST") {
        failures.push(`${where}: not refused: ${got.ok ? "ok" : got.code + " " + got.message}`);
      } else {
        const path = /(args(?:\[\d+\]|\.[A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])+): /.exec(got.message)?.[1];
        const named = path === undefined ? undefined : at(args, path);
        const keyRefused = /a key with a lone surrogate|a string with a lone surrogate/.test(got.message);
        if (path === undefined || (!keyRefused && crosses(named, json))) failures.push(`${where}: refusal names ${path}: ${got.message}`);
      }
    }
  }
  return failures;
}"""


@pytest.fixture(scope="module", params=["direct", "host", "message"])
def page(request, context, base_url, plain_url, test_modules):
    page = open_page(context, f"{plain_url if request.param == 'message' else base_url}/blank.html")
    transport = page.evaluate("""async ([modules, direct]) => {
        const { EdgeBox } = await import("/edgebox/edgebox.js");
        globalThis.box = await EdgeBox.start({ modules, direct });
        await Promise.all(["echo", "httpjs", "httpwasi"].map((m) => box.call(m, "echo" === m ? "echoValue" : "echo", 1)));
        return box.transport;
    }""", [test_modules, request.param == "direct"])
    assert transport == ("message" if request.param == "message" else "sab")
    yield page
    page.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_values_cross_unchanged_or_are_refused_where_they_sit(page, seed):
    assert page.evaluate(PROPERTY, [seed, SEED_COUNT]) == []


def test_the_reported_cases(page):
    got = page.evaluate("""async () => {
        const settle = (p) => p.then((v) => ["ok", Object.prototype.toString.call(v), Array.from(v.length === undefined ? [v] : v)],
                                     (e) => [e.code, e.message]);
        return {
            floats: await settle(box.call("echo", "echoValue", new Float32Array([1.5, 2.25, 4]))),
            infinity: await settle(box.call("httpwasi", "echo", Infinity)),
            nan: await settle(box.call("httpwasi", "sum", 1, NaN)),
        };
    }""")
    assert got["floats"] == ["ok", "[object Float32Array]", [1.5, 2.25, 4]]
    assert got["infinity"] == ["E_BAD_REQUEST", "echo: args[0]: Infinity cannot be sent to a wasip1 module (JSON has no NaN or Infinity)"]
    assert got["nan"][0] == "E_BAD_REQUEST" and "args[1]: NaN" in got["nan"][1]
