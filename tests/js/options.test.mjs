// EdgeBox.start's options (web/options.js) under Node: every wrong one is a ConfigError naming it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validate } from "../../web/options.js";
import { ConfigError } from "../../web/errors.js";

const refused = (options, words) => assert.throws(() => validate(options),
  (error) => error instanceof ConfigError && error.code === "E_CONFIG" && error.message.includes(words));

test("timers and sizes the platform cannot honour are refused", () => {
  refused({ callTimeoutMs: 2 ** 31 }, "callTimeoutMs must be a number from 1 to 2147483647");
  refused({ bootTimeoutMs: 1e12 }, "bootTimeoutMs");
  refused({ sharedBytes: 1e12 }, "sharedBytes");
  refused({ maxMessageBytes: 0 }, "maxMessageBytes");
});

test("what the host reads as data must be data", () => {
  refused({ flags: { f: () => 1 } }, "flags.f must be a string, number, boolean or null");
  refused({ modules: { m: { url: "https://box.example/m.wasm", sha256: "x", policy: { n: 1n } } } }, "modules must be JSON data");
  const cycle = [];
  cycle.push(cycle);
  refused({ routes: cycle }, "routes must be JSON data");
});

test("what goes to the worker is a plain copy", () => {
  const warm = new Proxy(["a"], {});
  const config = validate({ warm, flags: { on: true }, callTimeoutMs: 2 ** 31 - 1 });
  assert.deepEqual(config.warm, ["a"]);
  assert.notEqual(config.warm, warm);
  assert.equal(config.callTimeoutMs, 2 ** 31 - 1);
});

test("fallback is an http(s) URL of an edge server, kept as a directory", () => {
  refused({ fallback: "ftp://edge.example/" }, "fallback must be an http(s) URL");
  refused({ fallback: "http://[bad" }, "fallback");
  assert.equal(validate({ fallback: "https://edge.example/api?x=1" }).fallback, "https://edge.example/api/");
  assert.equal(validate({}).fallback, null);
});

test("trust is a list of public keys sent as JSON; update polls no faster than every 100 ms", () => {
  const jwk = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
  assert.equal(validate({ trust: { keys: [jwk] } }).trustJSON, JSON.stringify([jwk]));
  assert.equal(validate({}).trustJSON, "");
  refused({ trust: { keys: [] } }, "trust must be { keys: [jwk, ...] }");
  refused({ trust: jwk }, "trust must be { keys: [jwk, ...] }");
  assert.equal(validate({ update: { everyMs: 2000 } }).updateEveryMs, 2000);
  assert.equal(validate({}).updateEveryMs, null);
  refused({ update: { everyMs: 10 } }, "update must be { everyMs }");
});
