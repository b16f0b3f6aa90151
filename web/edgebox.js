// The EdgeBox loader: the one script a page embeds.
//
//   import { EdgeBox, EdgeBoxError } from "/edgebox/edgebox.js";
//   const box = await EdgeBox.start({ onProgress: (p) => console.log(p.phase, p.loaded, p.total) });
//   await box.call("heartbeat", "verifyHeartbeat", Date.now(), "abc123");
//   await box.close();
import { Op } from "./protocol.js";
import { BadRequestError, BootError, ClosedError, ConfigError, CrashedError, EdgeBoxError } from "./errors.js";

export * from "./errors.js";

const OPTIONS = {
  base: "URL of the EdgeBox build directory (default: the directory of edgebox.js)",
  manifest: "URL of manifest.json (default: <base>/manifest.json)",
  modules: "per-page module overrides: { name: { url, abi, sha256, policy } }",
  onProgress: "function called with { phase, loaded, total } while the box boots",
  bootTimeoutMs: "milliseconds to wait for the box to start (default 120000)",
  warm: "names of modules to start while the box boots, so their first call finds them running",
};

const pageURL = () => globalThis.document?.baseURI ?? globalThis.location?.href;

function validate(options) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`EdgeBox.start(options): options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!(key in OPTIONS)) {
      const known = Object.entries(OPTIONS).map(([name, what]) => `  ${name}: ${what}`).join("\n");
      throw new ConfigError(`EdgeBox.start: unknown option "${key}". Known options:\n${known}`);
    }
  }
  const { onProgress, bootTimeoutMs, modules, warm } = options;
  if (warm !== undefined && !(Array.isArray(warm) && warm.every((name) => typeof name === "string"))) {
    throw new ConfigError("EdgeBox.start: warm must be an array of module names");
  }
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new ConfigError("EdgeBox.start: onProgress must be a function ({ phase, loaded, total }) => void");
  }
  if (bootTimeoutMs !== undefined && !(Number.isFinite(bootTimeoutMs) && bootTimeoutMs > 0)) {
    throw new ConfigError("EdgeBox.start: bootTimeoutMs must be a positive number of milliseconds");
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
    return [name, spec.url === undefined ? spec : { ...spec, url: resolve(spec.url, pageURL(), `modules.${name}.url`) }];
  }));
  return {
    base: base.endsWith("/") ? base : `${base}/`,
    manifest,
    modulesJSON: modules === undefined ? "" : JSON.stringify(overrides),
    onProgress: onProgress ?? (() => {}),
    bootTimeoutMs: bootTimeoutMs ?? 120_000,
    warm: warm ?? [],
  };
}

/**
 * A running box. Events: "audit" (CustomEvent whose detail is
 * {time, module, capability, detail, code}) for every denial or limit hit.
 */
export class EdgeBox extends EventTarget {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #failure = null;
  #onProgress = () => {};

  /** Boot a box: resolves once the host can answer calls, rejects with BootError. */
  static async start(options = {}) {
    const config = validate(options);
    const box = new EdgeBox();
    await box.#boot(config);
    return box;
  }

  /** How calls travel between this page and the host worker. */
  get transport() {
    return "message";
  }

  /** Call an exported function of a module; resolves with its result. */
  call(module, fn, ...args) {
    if (typeof module !== "string" || typeof fn !== "string") {
      return Promise.reject(new BadRequestError("box.call(module, fn, ...args): module and fn must be strings"));
    }
    return this.#request({ op: Op.CALL, module, fn, args }, `box.call(${module}, ${fn})`);
  }

  /** What the host keeps: counters (denials and limits by code:capability, restarts),
   *  running modules, and the recent guest log lines and audit events. */
  stats() {
    return this.#request({ op: Op.STATS }, "box.stats()");
  }

  #request(message, what) {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ ...message, id });
      } catch (error) {
        this.#pending.delete(id);
        reject(new BadRequestError(`${what}: arguments cannot be sent: ${error.message}`, { cause: error }));
      }
    });
  }

  /** Stop the box; pending and later calls reject with ClosedError. */
  async close() {
    this.#fail(new ClosedError("the box was closed"));
  }

  #fail(error) {
    if (!this.#failure) this.#failure = error;
    this.#worker?.terminate();
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  #progress(data) {
    try {
      this.#onProgress({ phase: data.phase, loaded: data.loaded, total: data.total });
    } catch (error) {
      console.error("EdgeBox onProgress threw:", error);
    }
  }

  #onMessage = ({ data }) => {
    if (data.op === Op.PROGRESS) return this.#progress(data);
    if (data.op === Op.AUDIT) return this.dispatchEvent(new CustomEvent("audit", { detail: data.event }));
    if (data.op !== Op.REPLY) return;
    const pending = this.#pending.get(data.id);
    if (!pending) return;
    this.#pending.delete(data.id);
    if (data.ok) pending.resolve(data.value);
    else pending.reject(EdgeBoxError.fromWire(data.error));
  };

  #boot(config) {
    const workerURL = `${config.base}worker.js`;
    this.#onProgress = config.onProgress;
    return new Promise((resolve, reject) => {
      const failBoot = (message, cause) => {
        clearTimeout(timer);
        this.#fail(new BootError(`EdgeBox could not start: ${message}`, { cause }));
        reject(this.#failure);
      };
      const timer = setTimeout(() => failBoot(`no answer from the host within ${config.bootTimeoutMs} ms`), config.bootTimeoutMs);
      try {
        this.#worker = new Worker(workerURL, { type: "module", name: "edgebox-host" });
      } catch (error) {
        return failBoot(`cannot create the host worker ${workerURL}: ${error.message}`, error);
      }
      this.#worker.onerror = (event) => {
        event.preventDefault?.();
        const detail = event.message || `the host worker ${workerURL} failed to load (check that base points at an EdgeBox build served with its headers)`;
        if (!this.#failure && this.#worker.onmessage === this.#onMessage) {
          return this.#fail(new CrashedError(`the host worker crashed: ${detail}`));
        }
        failBoot(detail);
      };
      this.#worker.onmessage = ({ data }) => {
        if (data.op === Op.PROGRESS) {
          this.#progress(data);
        } else if (data.op === Op.READY) {
          clearTimeout(timer);
          this.#worker.onmessage = this.#onMessage;
          resolve();
        } else if (data.op === Op.REPLY && data.id == null && !data.ok) { // Python's None arrives as undefined
          const cause = EdgeBoxError.fromWire(data.error);
          failBoot(`[${cause.code}] ${cause.message}`, cause);
        }
      };
      this.#worker.postMessage({ op: Op.INIT, manifestURL: config.manifest, modulesJSON: config.modulesJSON, warm: config.warm });
    });
  }
}
