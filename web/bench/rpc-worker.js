// Baseline (d): the postMessage worker RPC a developer writes without EdgeBox,
// around the same Go echo function. No sandbox, no policy, no integrity check.
import "../edgebox/wasm_exec.js";

const go = new Go();
const { instance } = await WebAssembly.instantiateStreaming(fetch("echo.wasm"), go.importObject);
go.run(instance);
self.onmessage = ({ data: { id, payload } }) => {
  const out = globalThis.echo(payload);
  self.postMessage({ id, out }, [out.buffer]);
};
self.postMessage({ ready: true });
