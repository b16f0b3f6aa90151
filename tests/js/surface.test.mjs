// The loader's public surface, pinned: a change to what a page can import is deliberate.
import { test } from "node:test";
import assert from "node:assert/strict";

test("edgebox.js exports exactly the box and the error classes", async () => {
  const loader = await import("../../web/edgebox.js");
  assert.deepEqual(Object.keys(loader).sort(), [
    "BadRequestError", "BootError", "ClosedError", "ConfigError", "CrashedError", "DeniedError", "ERROR_CLASSES",
    "EdgeBox", "EdgeBoxError", "GuestError", "ImportMismatchError", "IntegrityError", "LimitError", "LoadError",
    "NetworkError", "NotFoundError", "PanicError", "SignatureError", "TimeoutError", "TooLargeError",
  ]);
  assert.deepEqual(Object.keys(loader.ERROR_CLASSES).sort(), Object.values(loader)
    .filter((value) => typeof value === "function" && (value === loader.EdgeBoxError || value.prototype instanceof loader.EdgeBoxError))
    .map((cls) => cls.code).sort());
});

test("an unknown option is refused with the list of known ones", async () => {
  const { EdgeBox, ConfigError } = await import("../../web/edgebox.js");
  await assert.rejects(EdgeBox.start({ colour: "blue" }), (error) => error instanceof ConfigError
    && error.code === "E_CONFIG" && error.message.includes('unknown option "colour"') && error.message.includes("callTimeoutMs"));
  await assert.rejects(EdgeBox.start({ callTimeoutMs: -1 }), (error) => error instanceof ConfigError && error.message.includes("callTimeoutMs"));
});
