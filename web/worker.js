// The host worker: boots Python in named steps, then hands every page message
// to the Python host's dispatcher. All decisions are made in Python (app/).
import { MessagePortChannel, SharedChannel } from "./channel.js";
import { Op } from "./protocol.js";
import { wireError } from "./errors.js";
import { DecodedCache, moduleKey } from "./decoded-cache.js";
import runtime from "./runtime.json" with { type: "json" };

const here = (path) => new URL(path, import.meta.url).href;
let post = null; // the channel to the page, set up by the init message
const decoded = new DecodedCache();
// phase -> the most bytes reported: a boot run once more (withDecodedAssets) counts
// from 0 again, and what the page is told must not go back.
const reported = new Map();
const progress = (phase, loaded, total) => {
  const most = Math.max(reported.get(phase) ?? 0, loaded);
  reported.set(phase, most);
  post({ op: Op.PROGRESS, phase, loaded: most, total });
};
// Kept runtime files are hashed only this long after a boot that used them: hashed
// beside the boot, their 34 MB cost it about 50 ms on two cores (box ready 662 and 638
// ms without against 709 and 716 with, alternating runs of 5 loads).
const CHECK_KEPT_AFTER_MS = 5000;
// Responses withDecodedAssets built from bytes in hand -> their length: counted whole, not read again.
const inHand = new WeakMap();

// Reports the bytes of every fetch made while `run` runs. It reads a clone,
// so the original response (and Chrome's wasm code cache for it) is untouched;
// a response built from bytes in hand (a kept copy) is counted whole at once:
// reading a clone of the three kept runtime files cost the worker about 70 ms
// of its own time, on the boot's critical path (page load to first answered call
// 674 ms without against 768 ms with, medians of 12 alternating loads).
async function withFetchProgress(phase, total, run) {
  const realFetch = self.fetch;
  let loaded = 0;
  let reported = -Infinity;
  const count = async (response) => {
    const reader = response.body?.getReader();
    for (let chunk; reader && !(chunk = await reader.read()).done; ) {
      loaded += chunk.value.length;
      // At most one report per frame (16 ms): hundreds of 64 KiB chunks arrive while Python restores.
      if (performance.now() - reported >= 16) {
        reported = performance.now();
        progress(phase, loaded, total);
      }
    }
    progress(phase, loaded, total);
  };
  self.fetch = async (...args) => {
    const response = await realFetch(...args);
    const whole = inHand.get(response);
    if (whole !== undefined) {
      loaded += whole;
      progress(phase, loaded, total);
    } else if (response.ok) {
      count(response.clone()).catch(() => {});
    }
    return response;
  };
  try {
    return await run();
  } finally {
    self.fetch = realFetch;
  }
}

// While `run` runs, fetches of the URLs `expected` names (url -> the sha256 the build
// gave it; immutable: their URL names their content) are answered from the decoded
// cache when it has them; those fetched from the network are kept there once `run`
// has succeeded with them, if they hash to the build's. If `run` fails with a kept
// copy, the copies it read are dropped and it runs once more, from the network: a
// damaged copy costs a slower start, never a failed one (the failed run is left
// behind, never awaited). The kept copies a boot used are hashed CHECK_KEPT_AFTER_MS
// later, and one that is not the build's is dropped: changed bytes that still boot
// are fetched again by the next load.
async function withDecodedAssets(expected, run) {
  const realFetch = self.fetch;
  let readKept = true;
  const fetched = new Map(); // url -> [promise of its bytes, its Content-Type]
  const served = new Map(); // url -> the kept bytes this run was given
  self.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!Object.hasOwn(expected, url)) return realFetch(input, init);
    // Read whole before Pyodide sees it: an unreadable copy is fetched again, never half-handed over
    // (Pyodide waits forever for a wasm whose stream fails).
    const kept = readKept ? await decoded.response(url) : undefined;
    const bytes = await kept?.arrayBuffer().catch(() => undefined);
    if (bytes) {
      served.set(url, bytes);
      const response = new Response(bytes, { status: 200, headers: { "content-type": kept.headers.get("content-type") ?? "application/octet-stream" } });
      inHand.set(response, bytes.byteLength);
      return response;
    }
    const response = await realFetch(input, init);
    if (response.ok) fetched.set(url, [response.clone().arrayBuffer(), response.headers.get("content-type") ?? undefined]);
    return response;
  };
  try {
    let result;
    try {
      result = await run();
    } catch (error) {
      if (served.size === 0) throw error;
      for (const url of served.keys()) decoded.forget(url);
      served.clear();
      readKept = false;
      result = await run();
    }
    const used = [...served];
    setTimeout(() => {
      for (const [url, bytes] of used) digestHex(bytes).then((hex) => hex === expected[url] || decoded.forget(url), () => {});
    }, CHECK_KEPT_AFTER_MS);
    for (const [url, [bytes, type]] of fetched) {
      bytes.then(async (b) => (await digestHex(b)) === expected[url] && decoded.keep(url, b, type)).catch(() => {});
    }
    return result;
  } finally {
    self.fetch = realFetch;
  }
}

// Pyodide catches a failed instantiation of its wasm (a bad or refused download),
// logs it and waits forever. While `run` runs, a WebAssembly.instantiate or
// instantiateStreaming that fails makes `run` fail at once, saying why.
async function failingWithInstantiate(run) {
  const { instantiate, instantiateStreaming } = WebAssembly;
  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  failed.catch(() => {}); // raced below
  const watched = (real) => async (source, imports) => {
    try {
      return await real.call(WebAssembly, source, imports);
    } catch (error) {
      const response = await Promise.resolve(source).catch(() => undefined);
      fail(new Error(response instanceof Response && !response.ok ? `GET ${response.url} answered ${response.status}`
        : `Pyodide's wasm did not instantiate: ${error?.message ?? error}`));
      throw error;
    }
  };
  WebAssembly.instantiate = watched(instantiate);
  WebAssembly.instantiateStreaming = watched(instantiateStreaming);
  try {
    return await Promise.race([run(), failed]);
  } finally {
    WebAssembly.instantiate = instantiate;
    WebAssembly.instantiateStreaming = instantiateStreaming;
  }
}

const steps = {
  // With the build's memory snapshot, Python starts already initialised
  // (about 0.5 s instead of 3 s); without one, it boots from scratch.
  async bootPython() {
    const immutable = runtime.snapshot ? Object.fromEntries(Object.entries(runtime.sha256).map(([path, hex]) => [here(path), hex])) : {};
    return withDecodedAssets(immutable, () => withFetchProgress("runtime", runtime.runtimeBytes, () => failingWithInstantiate(async () => {
      // The snapshot is the longest wait of the boot: asked for first, before Pyodide's scripts.
      const snapshot = runtime.snapshot ? fetch(here(runtime.snapshot)).then(checked).then((r) => r.arrayBuffer()) : null;
      snapshot?.catch(() => {}); // awaited below; a failure must not also surface as unhandled
      const [{ loadPyodide }, asm] = await Promise.all([
        import(here(`${runtime.pyodide}pyodide.mjs`)), runtime.snapshot && import(here(`${runtime.pyodide}pyodide.asm.mjs`))]);
      const options = { indexURL: here(runtime.pyodide), stdout: console.log, stderr: console.warn };
      if (runtime.snapshot) {
        // Pyodide would wait for the snapshot before it even compiles its wasm; it needs
        // only the heap's length to do that. So it gets the heap at once, zeroed, and the
        // snapshot fills it while Pyodide instantiates; Python's memory is restored from
        // it (its first use) only once it is filled.
        const heap = new Uint8Array(runtime.snapshotHeapBytes);
        options._loadSnapshot = heap;
        options.createPyodideModule = async (settings) => {
          const module = await asm.default(settings);
          expandSnapshot(await snapshot, heap);
          return module;
        };
      }
      return loadPyodide(options);
    })));
  },
  // Pure wheels are unzipped into site-packages: no package manager, nothing
  // left in Python's state that a snapshot could not hold. A snapshot holds every
  // module of the wheels already imported (web/make-snapshot.mjs): nothing to do then.
  async installWheels(pyodide) {
    const count = runtime.wheels.length;
    if (runtime.snapshot) return progress("packages", count, count);
    const wheels = await Promise.all(runtime.wheels.map(async (url) => [url, await fetch(here(url)).then(checked).then((r) => r.arrayBuffer())]));
    pyodide.FS.mkdirTree("/tmp/wheels");
    const zipfile = pyodide.pyimport("zipfile");
    const target = pyodide.pyimport("site").getsitepackages().get(0);
    for (const [url, bytes] of wheels) {
      const path = `/tmp/wheels/${url.split("/").pop()}`;
      pyodide.FS.writeFile(path, new Uint8Array(bytes));
      const archive = zipfile.ZipFile(path);
      archive.extractall(target);
      archive.close();
      archive.destroy();
    }
    pyodide.pyimport("importlib").invalidate_caches();
    progress("packages", count, count);
  },
  async startHost(pyodide, init) {
    const { start } = pyodide.pyimport("edgebox._pyodide");
    return start({ ...init, guestURL: here("guest.js"), gojsImports: runtime.gojsImports, fetchModule }, (message) => post(message));
  },
};

// The snapshot as the build stores it, without its zero pages (buildtools/snapshot.py
// sparse): b"EBZ1", u32 length, u32 run count, (u32 offset, u32 length) per run, the
// runs' bytes; written into `heap`, which is zeroed and of that length.
function expandSnapshot(buffer, heap) {
  const head = new DataView(buffer);
  if (head.getUint32(0, true) !== 0x315a4245 || head.getUint32(4, true) !== heap.length) {
    throw new Error("the Pyodide snapshot is not the sparse heap runtime.json describes");
  }
  const runs = head.getUint32(8, true);
  let from = 12 + 8 * runs;
  for (let i = 0; i < runs; i++) {
    const offset = head.getUint32(12 + 8 * i, true);
    const length = head.getUint32(16 + 8 * i, true);
    heap.set(new Uint8Array(buffer, from, length), offset);
    from += length;
  }
  return heap;
}

const checked = (response) => {
  if (!response.ok) throw new Error(`GET ${response.url} answered ${response.status}`);
  return response;
};

// A module's bytes, for Python to verify, their sha256 (a promise of hex, taken
// here from the ArrayBuffer: Python's own would first copy them out of its heap),
// and a compile of the very same bytes begun at once. Bytes kept decoded under
// the URL and the sha256 the manifest gives (decoded-cache.js) are read from
// there; otherwise the module is compiled from the response as it streams (V8
// caches the code of a module compiled that way). Bytes that are the manifest's
// are kept; a kept copy that is not is dropped (Python refuses it, and the next
// load fetches it again). Compiling runs nothing: Python verifies the bytes before
// any instance exists, and uses the compiled module only if it did not have to rewrite them.
// Resolves to {status, statusText, bytes, digest (when sha256 is given), module: promise of a Module (undefined if refused)}.
async function fetchModule(url, sha256) {
  const key = typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256) ? moduleKey(url, sha256) : null;
  const kept = key && await decoded.bytes(key);
  if (kept) {
    const digest = digestHex(kept);
    digest.then((hex) => hex === sha256 || decoded.forget(key), () => decoded.forget(key));
    return { status: 200, statusText: "OK", bytes: kept, digest, module: WebAssembly.compile(kept).catch(() => undefined) };
  }
  const response = await fetch(url);
  // undefined, not null: Python reads undefined as None (null is its own JsNull).
  if (!response.ok) return { status: response.status, statusText: response.statusText, bytes: undefined, module: undefined };
  // A type other than application/wasm (or a bad module) makes the stream refuse; Python compiles the bytes then.
  const module = WebAssembly.compileStreaming(response.clone()).catch(() => undefined);
  const bytes = await response.arrayBuffer();
  const digest = key ? digestHex(bytes) : undefined;
  digest?.then((hex) => hex === sha256 && decoded.keep(key, bytes, "application/wasm"), () => {});
  return { status: response.status, statusText: response.statusText, bytes, digest, module };
}

const digestHex = async (bytes) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
  (b) => b.toString(16).padStart(2, "0")).join("");

// URL -> promise of fetchModule's answer (undefined if it failed), for the warm modules the manifest lists.
function prefetch(text, init) {
  const wanted = {};
  try {
    for (const module of JSON.parse(text).modules ?? []) {
      if (!init.warm?.includes(module.name)) continue;
      const url = new URL(module.url, init.manifestURL).href;
      wanted[url] = fetchModule(url, module.sha256).then((found) => found.bytes && found).catch(() => undefined);
    }
  } catch {
    // An unreadable manifest is Python's to report.
  }
  return wanted;
}

// Held for the worker's whole life: the page learns that the worker is gone
// (crashed, killed, closed) when it is granted the same lock.
const holdLifeLock = (name) => new Promise((held) => {
  if (!name || !navigator.locks) return held();
  navigator.locks.request(name, () => { held(); return new Promise(() => {}); });
});

self.onmessage = async ({ data: init }) => {
  self.onmessage = null;
  const channel = init.shared
    ? new SharedChannel(init.shared, "worker", { maxMessageBytes: init.maxMessageBytes })
    : new MessagePortChannel(self, { maxMessageBytes: init.maxMessageBytes });
  // Every request gets exactly one reply: one the channel refuses (over
  // maxMessageBytes, or not data) is answered with why.
  const send = (message) => {
    try {
      channel.send(message).catch((error) => console.error("EdgeBox: reply lost", error));
    } catch (error) {
      if (message.op !== Op.REPLY) return console.error("EdgeBox: message not sent", error);
      const code = error instanceof RangeError ? "E_TOO_LARGE" : "E_GUEST";
      send({ op: Op.REPLY, id: message.id, ok: false, error: wireError(code, `the reply cannot be sent: ${error.message}`) });
    }
  };
  post = send;
  try {
    // The manifest's bytes travel while Python boots; Python reads and judges them.
    // A page that trusts keys gets the detached signature too (manifest URL + ".jws"), and
    // nothing the manifest names is fetched before Python has verified it.
    // Both past the HTTP cache: validators of second-granular mtime and size could pair a new one with an old one.
    const fresh = init.trustJSON ? { cache: "no-store" } : {};
    const signature = init.trustJSON
      ? fetch(`${init.manifestURL}.jws`, fresh).then((r) => (r.ok ? r.text() : undefined), () => undefined) : undefined;
    const manifest = fetch(init.manifestURL, fresh).then(
      async (r) => ({ status: r.status, statusText: r.statusText, text: r.ok ? await r.text() : "", signature: await signature }),
      (error) => ({ status: 0, statusText: String(error?.message ?? error), text: "" }));
    // So do the bytes of the modules to warm, and a guest worker loads its
    // scripts: nothing runs until Python has checked every byte.
    const prefetched = init.trustJSON ? Promise.resolve({}) : manifest.then(({ text }) => prefetch(text, init));
    const spareWorker = new Worker(here("guest.js"), { type: "module", name: "edgebox-guest" });
    const [pyodide] = await Promise.all([steps.bootPython(), holdLifeLock(init.lockName)]);
    await steps.installWheels(pyodide);
    const dispatch = await steps.startHost(pyodide, { ...init, manifest: await manifest, prefetched: await prefetched, spareWorker });
    if (!dispatch) return; // Python reported why it could not start
    channel.onmessage = (message) => (message.op === Op.PING ? send({ op: Op.PONG, id: message.id }) : dispatch(message));
    // What cannot ride the ring (a connect carries a SharedArrayBuffer) comes by postMessage.
    if (init.shared) self.onmessage = ({ data }) => dispatch(data);
    send({ op: Op.READY });
  } catch (error) {
    send({ op: Op.REPLY, id: null, ok: false, error: wireError("E_BOOT", error?.message ?? error, error?.stack ?? "") });
  }
};
