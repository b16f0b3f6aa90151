// EdgeBox.start's options: the one table of them, and their validation. A
// wrong option is refused with a ConfigError that names the fix.
import { ConfigError } from "./errors.js";

export const OPTIONS = {
  base: "URL of the EdgeBox build directory (default: the directory of edgebox.js)",
  manifest: "URL of manifest.json (default: <base>/manifest.json)",
  modules: "per-page module overrides: { name: { url, abi, sha256, policy, debug, source_map } }",
  onProgress: "function called with { phase, loaded, total } while the box boots",
  bootTimeoutMs: "milliseconds to wait for the box to start (default 120000)",
  warm: "names of modules to start while the box boots, so their first call finds them running",
  callTimeoutMs: "milliseconds before a call with no answer rejects with E_TIMEOUT (default 30000)",
  transport: '"sab" (SharedArrayBuffer, the default when the page is cross-origin isolated) or "message"',
  sharedBytes: "size of each shared region when transport is sab (default 8 MiB: a 2 MiB message goes in one piece)",
  maxMessageBytes: "largest call or reply, in bytes, before E_TOO_LARGE (default 64 MiB)",
  direct: "with transport sab, call each module over its own channel, without a hop through the host (default true)",
  flags: "feature flags for gray-release rules, { name: value } (change them later with box.setFlags)",
  userId: "a stable id for percentage rollouts, so a user keeps their version (default: one per page load)",
  routes: "per-page routes for box.fetch: [{ prefix, module, middleware, release }], over the manifest's",
  fallback: "URL of an EdgeBox edge server (build.py edge): box.fetch goes there when the box cannot run in this page",
  trust: "{ keys: [Ed25519 public JWKs] }: accept only a manifest signed by one of them (build.py build --sign)",
  update: "{ everyMs }: call box.update() every everyMs milliseconds (live updates)",
};

export const pageURL = () => globalThis.document?.baseURI ?? globalThis.location?.href;
export const randomId = () => crypto.randomUUID?.() ?? Math.random().toString(36).slice(2);
let warnedNotIsolated = false;
const MAX_TIMER_MS = 2 ** 31 - 1;

// What the host reads as JSON: a value JSON cannot hold (a BigInt, a cycle) is the option's fault.
function asJSON(value, name) {
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw new ConfigError(`EdgeBox.start: ${name} must be JSON data: ${error.message}`);
  }
}

/** The options, checked and with their defaults; throws ConfigError. */
export function validate(options) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`EdgeBox.start(options): options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!(key in OPTIONS)) {
      const known = Object.entries(OPTIONS).map(([name, what]) => `  ${name}: ${what}`).join("\n");
      throw new ConfigError(`EdgeBox.start: unknown option "${key}". Known options:\n${known}`);
    }
  }
  const { onProgress, bootTimeoutMs, modules, warm, callTimeoutMs, sharedBytes, maxMessageBytes, flags, userId } = options;
  if (flags !== undefined && (flags === null || typeof flags !== "object" || Array.isArray(flags))) {
    throw new ConfigError("EdgeBox.start: flags must be an object of flag names to values");
  }
  for (const [name, value] of Object.entries(flags ?? {})) {
    if (value !== null && !["string", "number", "boolean"].includes(typeof value)) {
      throw new ConfigError(`EdgeBox.start: flags.${name} must be a string, number, boolean or null`);
    }
  }
  if (userId !== undefined && typeof userId !== "string") throw new ConfigError("EdgeBox.start: userId must be a string");
  // Timers take at most 2^31-1 ms; regions and messages at most 1 GiB.
  for (const [name, value, min, max] of [["callTimeoutMs", callTimeoutMs, 1, MAX_TIMER_MS], ["bootTimeoutMs", bootTimeoutMs, 1, MAX_TIMER_MS],
    ["sharedBytes", sharedBytes, 16384, 1 << 30], ["maxMessageBytes", maxMessageBytes, 1, 1 << 30]]) {
    if (value !== undefined && !(Number.isFinite(value) && value >= min && value <= max)) {
      throw new ConfigError(`EdgeBox.start: ${name} must be a number from ${min} to ${max}`);
    }
  }
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
  const transport = options.transport ?? (isolated ? "sab" : "message");
  if (transport !== "sab" && transport !== "message") {
    throw new ConfigError('EdgeBox.start: transport must be "sab" or "message"');
  }
  if (transport === "sab" && !isolated) {
    throw new ConfigError("EdgeBox.start: transport \"sab\" needs a cross-origin isolated page: serve it with " +
      "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp");
  }
  if (!isolated && !warnedNotIsolated && options.fallback === undefined) {
    warnedNotIsolated = true;
    console.warn("EdgeBox: this page is not cross-origin isolated, so calls travel by postMessage. For the faster " +
      "SharedArrayBuffer channel, serve the page with Cross-Origin-Opener-Policy: same-origin and " +
      "Cross-Origin-Embedder-Policy: require-corp.");
  }
  if (warm !== undefined && !(Array.isArray(warm) && warm.every((name) => typeof name === "string"))) {
    throw new ConfigError("EdgeBox.start: warm must be an array of module names");
  }
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new ConfigError("EdgeBox.start: onProgress must be a function ({ phase, loaded, total }) => void");
  }
  if (modules !== undefined && (modules === null || typeof modules !== "object" || Array.isArray(modules))) {
    throw new ConfigError("EdgeBox.start: modules must be an object mapping a module name to { url, abi, sha256, policy }");
  }
  const resolve = (url, against, what) => {
    try {
      return new URL(url, against).href;
    } catch {
      throw new ConfigError(`EdgeBox.start: ${what} ${JSON.stringify(url)} is not a URL`);
    }
  };
  const base = options.base === undefined ? new URL(".", import.meta.url).href : resolve(options.base, pageURL(), "base");
  const manifest = resolve(options.manifest ?? "manifest.json", options.manifest === undefined ? base : pageURL(), "manifest");
  // Module URLs are resolved against the page here, because the host only
  // knows the manifest's URL.
  const overrides = Object.fromEntries(Object.entries(modules ?? {}).map(([name, spec]) => {
    if (spec === null || typeof spec !== "object") throw new ConfigError(`EdgeBox.start: modules.${name} must be an object`);
    const resolved = { ...spec };
    for (const field of ["url", "source_map"]) {
      if (spec[field] !== undefined) resolved[field] = resolve(spec[field], pageURL(), `modules.${name}.${field}`);
    }
    return [name, resolved];
  }));
  const { trust, update } = options;
  if (trust !== undefined && !(trust && typeof trust === "object" && Array.isArray(trust.keys) && trust.keys.length > 0)) {
    throw new ConfigError("EdgeBox.start: trust must be { keys: [jwk, ...] }, the public keys `build.py keygen` prints");
  }
  if (update !== undefined && !(update && typeof update === "object" && Number.isFinite(update.everyMs)
    && update.everyMs >= 100 && update.everyMs <= MAX_TIMER_MS)) {
    throw new ConfigError(`EdgeBox.start: update must be { everyMs } with everyMs from 100 to ${MAX_TIMER_MS}`);
  }
  let fallback = null;
  if (options.fallback !== undefined) {
    const url = new URL(resolve(options.fallback, pageURL(), "fallback"));
    if (!/^https?:$/.test(url.protocol)) throw new ConfigError("EdgeBox.start: fallback must be an http(s) URL");
    url.search = url.hash = "";
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    fallback = url.href;
  }
  return {
    base: base.endsWith("/") ? base : `${base}/`,
    fallback,
    isolated,
    manifest,
    modulesJSON: modules === undefined ? "" : asJSON(overrides, "modules"),
    routesJSON: options.routes === undefined ? "" : asJSON(options.routes, "routes"),
    trustJSON: trust === undefined ? "" : asJSON(trust.keys, "trust.keys"),
    updateEveryMs: update?.everyMs ?? null,
    onProgress: onProgress ?? (() => {}),
    bootTimeoutMs: bootTimeoutMs ?? 120_000,
    warm: [...(warm ?? [])],
    callTimeoutMs: callTimeoutMs ?? 30_000,
    transport,
    sharedBytes: sharedBytes ?? 8 * 1024 * 1024,
    maxMessageBytes: maxMessageBytes ?? 64 * 1024 * 1024,
    direct: transport === "sab" && options.direct !== false,
    flags: { ...flags },
    userId: userId ?? randomId(),
  };
}

