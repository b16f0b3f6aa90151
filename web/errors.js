// The error hierarchy, mirrored from app/edgebox/_errors.py (kept identical by
// tests/test_parity.py). Errors cross the wire as {code, message, stack}
// and are rebuilt here as the same class.

/** The one wire form of an error, {code, message, stack}, for those who have no EdgeBoxError to hand. */
export const wireError = (code, message, stack = "") => ({ code: String(code), message: String(message), stack: String(stack) });

export class EdgeBoxError extends Error {
  static code = "E_INTERNAL";
  static fatal = false;

  constructor(message, { code, stack, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    // Defined, not assigned: in a guest worker Error.prototype is frozen, and
    // assigning over a frozen inherited name throws.
    Object.defineProperty(this, "name", { value: new.target.name, writable: true, configurable: true });
    this.code = code ?? new.target.code;
    if (stack) this.stack = `${this.name} [${this.code}]: ${message}\n${stack}`;
  }

  toWire() {
    return wireError(this.code, this.message, this.stack ?? "");
  }

  static fromWire(wire) {
    const cls = ERROR_CLASSES[wire?.code] ?? EdgeBoxError;
    return new cls(String(wire?.message ?? "unknown error"), { code: wire?.code, stack: wire?.stack });
  }
}

// fatal: the instance is gone (only the host gives a call such an error; app/edgebox/_lifecycle.py).
const define = (name, code, { fatal = false } = {}) =>
  ({ [name]: class extends EdgeBoxError { static code = code; static fatal = fatal; } })[name];

export const ConfigError = define("ConfigError", "E_CONFIG");
export const BootError = define("BootError", "E_BOOT");
export const NotFoundError = define("NotFoundError", "E_NOT_FOUND");
export const IntegrityError = define("IntegrityError", "E_INTEGRITY");
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
  [EdgeBoxError, ConfigError, BootError, NotFoundError, IntegrityError, LoadError,
   BadRequestError, GuestError, DeniedError, ImportMismatchError, PanicError, LimitError, NetworkError, TooLargeError, TimeoutError, CrashedError, ClosedError].map((cls) => [cls.code, cls]),
));
