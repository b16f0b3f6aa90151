// The error hierarchy, mirrored from app/edgebox/_errors.py (kept identical by
// tests/test_parity.py). Errors cross the wire as {code, message, stack}, plus
// frames when the error knows Go frames (a panic's [{function, file, line}],
// innermost first), and are rebuilt here as the same class.

const MAX_FRAMES = 100;

/** Go frames as the wire carries them: [{function, file, line}], at most 100; anything else is dropped. */
export const goFrames = (value) => (Array.isArray(value) ? value.slice(0, MAX_FRAMES) : [])
  .filter((f) => f !== null && typeof f === "object" && typeof f.function === "string" && typeof f.file === "string" && Number.isInteger(f.line))
  .map((f) => ({ function: f.function.slice(0, 500), file: f.file.slice(0, 500), line: f.line }));

/** The one wire form of an error, {code, message, stack[, frames]}, for those who have no EdgeBoxError to hand. */
export const wireError = (code, message, stack = "", frames = []) => {
  const wire = { code: String(code), message: String(message), stack: String(stack) };
  const go = goFrames(frames);
  if (go.length) wire.frames = go;
  return wire;
};

export class EdgeBoxError extends Error {
  static code = "E_INTERNAL";
  static fatal = false;

  constructor(message, { code, stack, cause, frames } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    // Defined, not assigned: in a guest worker Error.prototype is frozen, and
    // assigning over a frozen inherited name throws.
    Object.defineProperty(this, "name", { value: new.target.name, writable: true, configurable: true });
    this.code = code ?? new.target.code;
    /** Go frames [{function, file, line}], innermost first: a panic's, from where it panicked. */
    this.frames = goFrames(frames);
    if (stack) this.stack = `${this.name} [${this.code}]: ${message}\n${stack}`;
  }

  toWire() {
    return wireError(this.code, this.message, this.stack ?? "", this.frames);
  }

  static fromWire(wire) {
    const cls = ERROR_CLASSES[wire?.code] ?? EdgeBoxError;
    return new cls(String(wire?.message ?? "unknown error"), { code: wire?.code, stack: wire?.stack, frames: wire?.frames });
  }
}

// fatal: the instance is gone (only the host gives a call such an error; app/edgebox/_lifecycle.py).
const define = (name, code, { fatal = false } = {}) =>
  ({ [name]: class extends EdgeBoxError { static code = code; static fatal = fatal; } })[name];

export const ConfigError = define("ConfigError", "E_CONFIG");
export const BootError = define("BootError", "E_BOOT");
export const NotFoundError = define("NotFoundError", "E_NOT_FOUND");
export const IntegrityError = define("IntegrityError", "E_INTEGRITY");
export const SignatureError = define("SignatureError", "E_SIGNATURE");
export const LoadError = define("LoadError", "E_LOAD");
export const BadRequestError = define("BadRequestError", "E_BAD_REQUEST");
export const GuestError = define("GuestError", "E_GUEST");
export const DeniedError = define("DeniedError", "E_DENIED");
export const ImportMismatchError = define("ImportMismatchError", "E_IMPORT");
export const PanicError = define("PanicError", "E_PANIC", { fatal: true });
export const LimitError = define("LimitError", "E_LIMIT", { fatal: true });
export const NetworkError = define("NetworkError", "E_NETWORK");
export const TooLargeError = define("TooLargeError", "E_TOO_LARGE");
export const TimeoutError = define("TimeoutError", "E_TIMEOUT", { fatal: true });
export const CrashedError = define("CrashedError", "E_CRASHED", { fatal: true });
export const ClosedError = define("ClosedError", "E_CLOSED");

export const ERROR_CLASSES = Object.freeze(Object.fromEntries(
  [EdgeBoxError, ConfigError, BootError, NotFoundError, IntegrityError, SignatureError, LoadError,
   BadRequestError, GuestError, DeniedError, ImportMismatchError, PanicError, LimitError, NetworkError, TooLargeError, TimeoutError, CrashedError, ClosedError].map((cls) => [cls.code, cls]),
));

/**
 * A body stream whose read failures are EdgeBoxErrors, so that a page reading a
 * box.fetch body meets no foreign exception: an EdgeBoxError passes as it is,
 * anything else (a broken gzip body, a dropped connection) as translate(error).
 */
export function translatedStream(body, translate) {
  const reader = body.getReader();
  return new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error instanceof EdgeBoxError ? error : translate(error));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
