"""The one error hierarchy of EdgeBox.

Every failure a caller can see is an ``EdgeBoxError`` with a stable ``code``::

    EdgeBoxError                 E_INTERNAL   a bug in EdgeBox itself
    ├── ConfigError              E_CONFIG     bad options, manifest or policy; the message names the fix
    ├── BootError                E_BOOT       the box could not start
    ├── NotFoundError            E_NOT_FOUND  unknown module or function
    ├── IntegrityError           E_INTEGRITY  module bytes differ from what was signed
    ├── SignatureError           E_SIGNATURE  the manifest's signature is missing, malformed, unknown or wrong
    ├── LoadError                E_LOAD       module bytes could not be fetched, compiled or started
    ├── BadRequestError          E_BAD_REQUEST  a malformed call
    ├── GuestError               E_GUEST      the guest reported a failure
    ├── DeniedError              E_DENIED     the policy does not grant what was asked
    ├── ImportMismatchError      E_IMPORT     the module imports something the host does not provide
    ├── PanicError               E_PANIC      the guest panicked (message holds the Go panic and stack)
    ├── LimitError               E_LIMIT      the guest went over a memory or log limit
    ├── NetworkError             E_NETWORK    a granted request failed on the network
    ├── TooLargeError            E_TOO_LARGE  a call or reply over the channel's maxMessageBytes
    ├── TimeoutError             E_TIMEOUT    no answer in time
    ├── CrashedError             E_CRASHED    the worker or guest died under the call
    └── ClosedError              E_CLOSED     the box was closed

Errors cross every boundary as ``{code, message, stack}`` (``to_wire``), plus
``frames`` when the error knows Go frames (a panic's ``[{function, file, line}]``,
innermost first), and are rebuilt as the same class on the other side
(``from_wire``); the JavaScript side mirrors this table in ``web/errors.js``. A class whose ``fatal`` is true
means the instance is gone (``FATAL_CODES``): only the host, which saw the
death, gives a call one of those (``_lifecycle.py``).
"""

from __future__ import annotations

import traceback
from typing import Any

__all__ = [
    "EdgeBoxError",
    "ConfigError",
    "BootError",
    "NotFoundError",
    "IntegrityError",
    "SignatureError",
    "LoadError",
    "BadRequestError",
    "GuestError",
    "DeniedError",
    "ImportMismatchError",
    "PanicError",
    "LimitError",
    "NetworkError",
    "TooLargeError",
    "TimeoutError",
    "CrashedError",
    "ClosedError",
    "ERROR_CLASSES",
    "FATAL_CODES",
]


class EdgeBoxError(Exception):
    code = "E_INTERNAL"
    fatal = False  # the instance that raised it is gone

    def __init__(self, message: str, *, stack: str | None = None, frames: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.stack = stack
        self.frames = go_frames(frames)

    def to_wire(self) -> dict[str, Any]:
        wire = {"code": self.code, "message": self.message, "stack": self.stack or ""}
        if self.frames:
            wire["frames"] = [dict(frame) for frame in self.frames]
        return wire

    @staticmethod
    def from_wire(wire: dict[str, Any]) -> "EdgeBoxError":
        cls = ERROR_CLASSES.get(wire.get("code", ""), EdgeBoxError)
        error = cls(str(wire.get("message", "")), stack=wire.get("stack") or None, frames=wire.get("frames"))
        if cls is EdgeBoxError and wire.get("code"):
            # An unknown code from a newer peer keeps its code rather than
            # being flattened into E_INTERNAL.
            error.code = str(wire["code"])
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}: {self.message!r})"


_MAX_FRAMES = 100


def go_frames(value: Any) -> list[dict[str, Any]]:
    """Go frames as the wire carries them: ``[{function: str, file: str, line: int}]``,
    innermost first, at most 100; anything else in ``value`` is dropped."""
    if not isinstance(value, (list, tuple)):
        return []
    frames = []
    for frame in value[:_MAX_FRAMES]:
        if (isinstance(frame, dict) and isinstance(frame.get("function"), str) and isinstance(frame.get("file"), str)
                and isinstance(frame.get("line"), int) and not isinstance(frame.get("line"), bool)):
            frames.append({"function": frame["function"][:500], "file": frame["file"][:500], "line": frame["line"]})
    return frames


class ConfigError(EdgeBoxError):
    code = "E_CONFIG"


class BootError(EdgeBoxError):
    code = "E_BOOT"


class NotFoundError(EdgeBoxError):
    code = "E_NOT_FOUND"


class IntegrityError(EdgeBoxError):
    code = "E_INTEGRITY"


class SignatureError(EdgeBoxError):
    code = "E_SIGNATURE"


class LoadError(EdgeBoxError):
    code = "E_LOAD"


class BadRequestError(EdgeBoxError):
    code = "E_BAD_REQUEST"


class GuestError(EdgeBoxError):
    code = "E_GUEST"


class DeniedError(EdgeBoxError):
    code = "E_DENIED"


class ImportMismatchError(EdgeBoxError):
    code = "E_IMPORT"


class PanicError(EdgeBoxError):
    code = "E_PANIC"
    fatal = True


class LimitError(EdgeBoxError):
    code = "E_LIMIT"
    fatal = True


class NetworkError(EdgeBoxError):
    code = "E_NETWORK"


class TooLargeError(EdgeBoxError):
    code = "E_TOO_LARGE"


class TimeoutError(EdgeBoxError):  # noqa: A001 - the name callers expect, scoped to this package
    code = "E_TIMEOUT"
    fatal = True


class CrashedError(EdgeBoxError):
    code = "E_CRASHED"
    fatal = True


class ClosedError(EdgeBoxError):
    code = "E_CLOSED"


class GuestGone(CrashedError):
    """Internal: the instance had already exited when a call reached it, so the
    call never ran and may safely go to a fresh instance."""


ERROR_CLASSES: dict[str, type[EdgeBoxError]] = {
    cls.code: cls
    for cls in (
        EdgeBoxError,
        ConfigError,
        BootError,
        NotFoundError,
        IntegrityError,
        SignatureError,
        LoadError,
        BadRequestError,
        GuestError,
        DeniedError,
        ImportMismatchError,
        PanicError,
        LimitError,
        NetworkError,
        TooLargeError,
        TimeoutError,
        CrashedError,
        ClosedError,
    )
}
FATAL_CODES = frozenset(code for code, cls in ERROR_CLASSES.items() if cls.fatal)


def claimed(wire: dict[str, Any], allowed: frozenset[str]) -> EdgeBoxError:
    """The error a peer that may only speak for itself reported: a code outside
    ``allowed`` becomes ``GuestError``, the claimed code kept in the message."""
    code = str(wire.get("code") or GuestError.code)
    message = str(wire.get("message", ""))[:8000]
    if code not in allowed:
        message, code = f"(claimed {code[:40]}) {message}", GuestError.code
    return ERROR_CLASSES.get(code, GuestError)(message, stack=str(wire.get("stack") or "")[:8000] or None)


def clear_frames(error: BaseException) -> None:
    """Clear the locals of the ended frames that ``error``'s traceback keeps, and those
    of the errors it was raised from or during (``__cause__``, ``__context__``); frames
    still running are left as they are (``traceback.clear_frames``).

    An error outlives the call it ended: in the futures it passed through, often in a
    cycle of frames only Python's cyclic GC frees, which may not run for many calls.
    Those frames held the call's payload, so whoever answers a failure clears them: 60
    starts of an 11 MB module cut short by ``startup_ms`` had grown Python's heap from
    30 to 1,303 MB, and requests a guest failed kept their bodies."""
    pending, seen = [error], set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        pending += [error.__cause__, error.__context__]
