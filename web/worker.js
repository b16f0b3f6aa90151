// The host worker: boots Python in named steps, then hands every page message
// to the Python host's dispatcher. All decisions are made in Python (app/).
import { Op } from "./protocol.js";
import runtime from "./runtime.json" with { type: "json" };

const here = (path) => new URL(path, import.meta.url).href;
const post = (message) => self.postMessage(message);
const progress = (phase, loaded, total) => post({ op: Op.PROGRESS, phase, loaded, total });

// Reports the bytes of every fetch made while `run` runs. It reads a clone,
// so the original response (and Chrome's wasm code cache for it) is untouched.
async function withFetchProgress(phase, total, run) {
  const realFetch = self.fetch;
  let loaded = 0;
  const count = async (response) => {
    const reader = response.body?.getReader();
    for (let chunk; reader && !(chunk = await reader.read()).done; ) {
      loaded += chunk.value.length;
      progress(phase, loaded, total);
    }
  };
  self.fetch = async (...args) => {
    const response = await realFetch(...args);
    if (response.ok) count(response.clone()).catch(() => {});
    return response;
  };
  try {
    return await run();
  } finally {
    self.fetch = realFetch;
  }
}

const steps = {
  async bootPython() {
    const { loadPyodide } = await import(here(`${runtime.pyodide}pyodide.mjs`));
    return withFetchProgress("runtime", runtime.runtimeBytes, () =>
      loadPyodide({ indexURL: here(runtime.pyodide), stdout: console.log, stderr: console.warn }));
  },
  async installPackages(pyodide) {
    progress("packages", 0, runtime.wheels.length);
    await pyodide.loadPackage(runtime.wheels.map(here), { messageCallback() {}, errorCallback: console.warn });
    progress("packages", runtime.wheels.length, runtime.wheels.length);
  },
  async startHost(pyodide, init) {
    const { start } = pyodide.pyimport("edgebox._pyodide");
    return start({ ...init, guestURL: here("guest.js"), gojsImports: runtime.gojsImports }, post);
  },
};

self.onmessage = async ({ data: init }) => {
  self.onmessage = null;
  try {
    const pyodide = await steps.bootPython();
    await steps.installPackages(pyodide);
    const dispatch = await steps.startHost(pyodide, init);
    if (!dispatch) return; // Python reported why it could not start
    self.onmessage = ({ data }) => dispatch(data);
    post({ op: Op.READY });
  } catch (error) {
    post({ op: Op.REPLY, id: null, ok: false, error: { code: "E_BOOT", message: String(error?.message ?? error), stack: String(error?.stack ?? "") } });
  }
};
