"""One GOOS=wasip1 instance in a wasmtime Store: the SDK's call ABI
(``sdk/internal/abi/wasip1.go``: edgebox_alloc/free/call/exports), its limits,
and the facts of its end, classified by ``edgebox._lifecycle`` as in the browser.

A call runs on the instance's own thread (wasmtime releases the GIL while the
guest runs), one at a time, so the event loop keeps serving while a guest
computes. Its limits hold inside wasmtime: ``timeout_ms`` by epoch
interruption (the engine's epoch ticks every ``TICK_S``), ``memory_mb`` by the
module's rewritten maximum and the store's limit, ``log_kb`` by counting what
the call writes. An instance that trapped (a Go panic, a limit, proc_exit)
is over, even though wasmtime would let it be called again: its Go runtime is
half-way through something. The call that caused it gets the death's code;
calls queued behind it never started and are delivered again by the host.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import math
import struct
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm

from edgebox._errors import (BadRequestError, EdgeBoxError, GuestGone, LimitError, LoadError, PanicError, TimeoutError,
                             TooLargeError, claimed)
from edgebox._guest_protocol import HTTP_EXPORT, PART_MS, REPLY_CODES, SDK_HTTP_PART, SDK_IMPORT_MODULE, Envelope, Via
from edgebox._host import GuestServices
from edgebox._http import MAX_PARTS_BYTES
from edgebox._lifecycle import Death, classify_exit, panicked_goroutine_was_spawned
from edgebox._manifest import ModuleSpec

from ._wasi import Wasi, WasiExit

__all__ = ["WasmtimeGuest", "TICK_S"]

TICK_S = 0.005  # the epoch's period: a call ends within timeout_ms plus this
_STDERR_TAIL = 16 * 1024  # what a death is read from (web/guest.js STDERR_TAIL)
_MAX_LINE = 4096


def pack_http(head: str, body: Any) -> bytes:
    """The SDK's HTTP envelope: u32 head length, head, body (sdk/internal/abi/abi.go SplitHTTP)."""
    head_bytes = str(head).encode()
    return struct.pack("<I", len(head_bytes)) + head_bytes + (bytes(body) if body else b"")


# The SDK's exports and their wasm signatures (sdk/internal/abi/wasip1.go), checked once per
# instance: they are then called without wasmtime-py's per-call conversions.
_I32, _I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
SDK_SIGNATURES = {
    "edgebox_alloc": ([_I32], [_I32]),
    "edgebox_free": ([_I32], []),
    "edgebox_call": ([_I32] * 4, [_I64]),
    "edgebox_exports": ([], [_I64]),
}


class _RawExport:
    """An export of i32 parameters called through ``wasmtime_func_call_unchecked``:
    wasmtime-py's checked call spends more time converting values than the guest
    computing, while holding the GIL the server's event loop needs. Only ever made
    for a function whose type was checked against ``SDK_SIGNATURES``."""

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func, params: int) -> None:
        self._store, self._func = store, func
        self._slots = (ffi.wasmtime_val_raw_t * max(params, 1))()

    def __call__(self, *args: int) -> int:
        slots = self._slots
        for i, arg in enumerate(args):
            slots[i].i32 = arg
        with enter_wasm(self._store) as trap:
            error = ffi.wasmtime_func_call_unchecked(self._store._context(), ctypes.byref(self._func._func), slots,
                                                     len(slots), trap)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
        return slots[0].i64


class _AnswerParts:
    """The parts of one call's HTTP answer (sdk/http.go serve), handed to the event
    loop as the guest worker hands them to the host: at most one per ``PART_MS``,
    what came sooner when the guest next sleeps or with the answer. With no
    ``on_part`` they are kept and the answer given whole. Past ``MAX_PARTS_BYTES``
    in all, none is copied and the call is refused (``over``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_part: Callable[[bytes], None] | None) -> None:
        self._loop, self._on_part = loop, on_part
        self._pending: list[bytes] = []
        self._last = -math.inf
        self._total = 0
        self.over = False

    def accepts(self, length: int) -> bool:
        """Whether ``length`` more bytes are within the answer's bound (counted)."""
        self._total += length
        self.over = self.over or self._total > MAX_PARTS_BYTES
        return not self.over

    def take(self, data: bytes) -> None:
        self._pending.append(data)
        if self._on_part is not None and time.monotonic() - self._last >= PART_MS / 1000:
            self.out()

    def out(self) -> None:
        if self._pending and self._on_part is not None:
            data, self._pending, self._last = b"".join(self._pending), [], time.monotonic()
            self._loop.call_soon_threadsafe(self._on_part, data)

    def whole(self, rest: bytes) -> bytes:
        """The answer's bytes with the parts kept before them (none when they were handed on)."""
        return b"".join([*self._pending, rest]) if self._pending else rest


class _Ended(Exception):
    """The instance ended in this call: ``death`` says why."""

    def __init__(self, death: Death) -> None:
        super().__init__(death.error.message)
        self.death = death


class WasmtimeGuest:
    """A started wasip1 module instance (``edgebox.Guest``)."""

    def __init__(self, spec: ModuleSpec, engine: wasmtime.Engine, module: wasmtime.Module,
                 services: GuestServices, loop: asyncio.AbstractEventLoop) -> None:
        self.name = spec.name
        self.exports: frozenset[str] = frozenset()
        self._spec, self._engine, self._module, self._services, self._loop = spec, engine, module, services, loop
        limits = spec.policy.limits
        self._timeout_ms, self._log_bytes = limits.timeout_ms, limits.log_kb * 1024
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"edgebox-{spec.name}")
        self._death: Death | None = None
        self._ending: tuple[str, Any] | None = None  # what a host function saw before it unwound the guest
        self._ids = 0
        self._deadline = 0.0
        self._logged = 0
        self._stderr_tail = ""
        self._partial = {1: "", 2: ""}
        self._store: wasmtime.Store | None = None
        self._wasi: Wasi | None = None
        self._memory: wasmtime.Memory | None = None
        self._fns: dict[str, _RawExport] = {}
        self._parts: _AnswerParts | None = None  # the call running now's, when it streams an HTTP answer

    # ---------------------------------------------------------------- start-up (on the instance's thread)

    async def start(self) -> None:
        try:
            await self._loop.run_in_executor(self._thread, self._start)
        except BaseException:
            self._end_thread()
            raise

    def _start(self) -> None:
        policy, name = self._spec.policy, self.name
        grant = policy.grant()
        self._store = wasmtime.Store(self._engine)
        self._store.set_limits(memory_size=policy.limits.memory_mb * 1024 * 1024)
        self._wasi = Wasi(args=[name, *grant["args"]], env=grant["env"],
                          files={path: bytes(content) for path, content in grant["files"].items()},
                          write_log=self._write_log, audit=self._audit_soon, sleep_limit=self._sleep_limit,
                          on_exit=self._on_exit, on_sleep=self._hand_on_parts)
        linker = wasmtime.Linker(self._engine)
        self._wasi.define(linker, self._store)
        linker.define_func(SDK_IMPORT_MODULE, SDK_HTTP_PART, wasmtime.FuncType([_I32, _I32], []), self._http_part)
        self._arm(policy.limits.startup_ms)
        try:
            instance = linker.instantiate(self._store, self._module)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            raise LoadError(f"module {name!r} could not be instantiated: {error}") from None
        exports = instance.exports(self._store)
        missing = [fn for fn, (params, results) in SDK_SIGNATURES.items() if not isinstance(exports.get(fn), wasmtime.Func)
                   or (list(exports[fn].type(self._store).params), list(exports[fn].type(self._store).results)) != (params, results)]
        self._memory = exports.get("memory")
        initialize = exports.get("_initialize")
        try:
            if isinstance(initialize, wasmtime.Func):
                initialize(self._store)
            if missing or not isinstance(self._memory, wasmtime.Memory):
                raise LoadError(f"module {name} does not use the EdgeBox SDK (edgebox_* exports missing or of other types)")
            self._fns = {fn: _RawExport(self._store, exports[fn], len(SDK_SIGNATURES[fn][0])) for fn in SDK_SIGNATURES}
            names = json.loads(self._take(self._fns["edgebox_exports"]()))
        except LoadError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever ended the start is the load's failure
            tail = self._stderr_tail.strip()[-4000:]
            raise LoadError(f"module {name} exited during start-up: {self._reason(error)}"
                            + (f": {tail}" if tail else "")) from None
        if not isinstance(names, list) or len(names) > 10000 or not all(isinstance(n, str) and len(n) <= 256 for n in names):
            raise LoadError("edgebox_exports did not answer a JSON array of function names")
        self.exports = frozenset(names)

    # ---------------------------------------------------------------- calls

    async def call(self, fn: str, args: Any, on_part: Callable[[bytes], None] | None = None) -> Any:
        if self._death is not None:
            raise GuestGone(f"module {self.name!r} had already ended")
        self._ids += 1
        call_id = self._ids
        parts = _AnswerParts(self._loop, on_part) if fn == HTTP_EXPORT else None
        try:
            return await self._loop.run_in_executor(self._thread, self._invoke, call_id, fn, args, parts)
        except RuntimeError as error:  # the thread was shut down: the instance ended before taking this call
            raise GuestGone(f"module {self.name!r} ended before the call reached it") from error
        except _Ended as ended:
            raise ended.death.fate(Via.HOST, call_id) or GuestGone("ended") from None

    def _invoke(self, call_id: int, fn: str, args: Any, parts: _AnswerParts | None = None) -> Any:
        if self._death is not None:
            raise GuestGone(f"module {self.name!r} ended before the call reached it")
        self._logged, self._stderr_tail, self._ending = 0, "", None
        http = fn == HTTP_EXPORT
        if http:
            payload, tag = pack_http(args[0], args[1] if len(args) > 1 else None), Envelope.BYTES
        elif len(args) == 1 and isinstance(args[0], (bytes, bytearray, memoryview)):
            payload, tag = bytes(args[0]), Envelope.BYTES
        else:
            try:  # JSON exactly as the browser sends it (web/values.js jsonArgs): no NaN or Infinity
                payload, tag = json.dumps(args, allow_nan=False).encode(), Envelope.JSON
            except ValueError as error:
                raise BadRequestError(f"{fn}: {error}") from None
        name = fn.encode()
        self._arm(self._timeout_ms)
        self._parts = parts
        try:
            name_ptr, in_ptr = self._put(name), self._put(bytes([tag]) + payload)
            out = self._take(self._fns["edgebox_call"](name_ptr, len(name), in_ptr, len(payload) + 1))
            self._fns["edgebox_free"](name_ptr)
            self._fns["edgebox_free"](in_ptr)
        except Exception as error:  # noqa: BLE001 - the instance ended here: classified below
            cause = self._classify(error)
            # A panic in a goroutine some call started (Go says "created by") is no call's own: as in the browser.
            spawned = isinstance(cause, PanicError) and panicked_goroutine_was_spawned(self._stderr_tail)
            death = Death(cause, None if spawned else (Via.HOST, call_id), taken_host=call_id)
            self._death = death
            # The trap's frames hold the store (wasmtime's enter_wasm): let them go with it.
            traceback.clear_frames(error.__traceback__)
            self._release()
            self._thread.shutdown(wait=False)
            # Told from here: the call that waits for this answer may have been given up meanwhile.
            self._loop.call_soon_threadsafe(self._services.died, self, death)
            raise _Ended(death) from None
        finally:
            self._flush_partial()
            self._hand_on_parts()  # before the answer: the loop hears them in order
            self._parts = None
        body = out[1:]
        if parts is not None and parts.over:
            raise TooLargeError(f"{fn}: the answer is over {MAX_PARTS_BYTES} bytes")
        if out[:1] == bytes([Envelope.BYTES]):
            # An HTTP answer: the response bytes Go's server wrote (_http_answer.py reads them).
            return parts.whole(body) if parts is not None else body
        try:
            value = json.loads(body) if body else None
        except ValueError:
            raise claimed({"code": "E_GUEST", "message": "the guest's answer is not the SDK's envelope"}, REPLY_CODES) from None
        if out[:1] == bytes([Envelope.ERROR]):
            wire = value if isinstance(value, dict) else {}
            raise claimed({"code": str(wire.get("code") or "E_GUEST"), "message": str(wire.get("message") or "")}, REPLY_CODES)
        if out[:1] != bytes([Envelope.JSON]) or http:
            raise claimed({"code": "E_GUEST", "message": "the guest's answer is not the SDK's envelope"}, REPLY_CODES)
        return value

    def _arm(self, ms: int) -> None:
        self._deadline = time.monotonic() + ms / 1000
        self._store.set_epoch_deadline(max(1, math.ceil(ms / 1000 / TICK_S)) + 1)

    def _put(self, data: bytes) -> int:
        ptr = self._fns["edgebox_alloc"](len(data)) & 0xFFFFFFFF
        if data:
            self._memory.write(self._store, data, ptr)
        return ptr

    def _take(self, packed: int) -> bytes:
        packed &= (1 << 64) - 1
        ptr, length = packed >> 32, packed & 0xFFFFFFFF
        out = bytes(self._memory.read(self._store, ptr, ptr + length))
        self._fns["edgebox_free"](ptr)
        return out

    def _classify(self, error: BaseException) -> EdgeBoxError:
        """Why the instance ended, from what its host functions saw and how wasmtime stopped it."""
        name = self.name
        if self._ending and self._ending[0] == "limit":
            return LimitError(f"module {name!r}: {self._ending[1]}; the instance was replaced")
        if self._ending and self._ending[0] == "exit":
            return classify_exit(name, self._stderr_tail, str(self._ending[1]), "wasip1")
        if isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.INTERRUPT:
            return TimeoutError(f"module {name!r}: no answer within {self._timeout_ms} ms (timeout_ms); "
                                "the instance was replaced")
        return classify_exit(name, self._stderr_tail, self._reason(error), "wasip1")

    @staticmethod
    def _reason(error: BaseException) -> str:
        if isinstance(error, WasiExit):
            return str(error.code)
        if isinstance(error, wasmtime.Trap):
            if error.trap_code == wasmtime.TrapCode.UNREACHABLE:
                return "trap: unreachable"
            return f"trap: {(error.message or '').splitlines()[0] if error.message else error.trap_code}"
        return f"trap: {error}"

    # ---------------------------------------------------------------- what host functions see (the instance's thread)

    def _on_exit(self, code: int) -> None:
        self._ending = self._ending or ("exit", code)

    def _http_part(self, ptr: int, length: int) -> None:
        start, end = ptr & 0xFFFFFFFF, (ptr & 0xFFFFFFFF) + (length & 0xFFFFFFFF)
        if end > self._memory.data_len(self._store):  # raised into the guest: a trap, its own fault
            raise ValueError(f"{SDK_HTTP_PART}: bytes {start}..{end} are outside the module's memory")
        parts = self._parts
        if parts is not None and parts.accepts(end - start):
            parts.take(bytes(self._memory.read(self._store, start, end)))

    def _hand_on_parts(self) -> None:
        if self._parts is not None:
            self._parts.out()

    def _sleep_limit(self) -> float:
        return max(0.0, self._deadline - time.monotonic()) + TICK_S

    def _write_log(self, fd: int, data: bytes) -> int:
        self._logged += len(data)
        if self._logged > self._log_bytes:
            # Counted before it is decoded: a 100 MB write costs nothing to refuse.
            if fd == 2:
                self._stderr_tail = (self._stderr_tail + data[:_STDERR_TAIL].decode("utf-8", "replace"))[-_STDERR_TAIL:]
            detail = f"more than {self._log_bytes} bytes of output in one call"
            if self._ending is None:
                self._ending = ("limit", f"{detail} (log_kb)")
                self._audit_soon("log", detail, LimitError.code)
            raise RuntimeError(f"output over log_kb ({self._log_bytes} bytes)")
        if data:
            text = data.decode("utf-8", "replace")
            if fd == 2:
                self._stderr_tail = (self._stderr_tail + text)[-_STDERR_TAIL:]
            pending = self._partial[fd] + text
            cut = pending.rfind("\n")
            if cut != -1:
                lines = [line[:_MAX_LINE] for line in pending[:cut].split("\n")]
                self._loop.call_soon_threadsafe(self._log_lines, fd, lines)
                pending = pending[cut + 1:]
            self._partial[fd] = pending[-_STDERR_TAIL:]
        return len(data)

    def _flush_partial(self) -> None:
        for fd in (1, 2):
            if self._partial[fd]:
                self._loop.call_soon_threadsafe(self._log_lines, fd, [self._partial[fd][:_MAX_LINE]])
                self._partial[fd] = ""

    def _log_lines(self, fd: int, lines: list[str]) -> None:
        for line in lines[:100]:
            self._services.log(fd, line)
        if len(lines) > 100:
            self._services.log(2, f"... {len(lines) - 100} more lines not kept (log flood)")

    def _audit_soon(self, capability: str, detail: str, code: str = "E_DENIED") -> None:
        self._loop.call_soon_threadsafe(self._services.audit, capability, detail[:500], code)

    # ---------------------------------------------------------------- the host's side

    def watch(self) -> None:
        """None: this guest keeps its own time (epoch interruption), not the watchdog's slots."""
        return None

    async def connect(self, shared: Any) -> None:
        raise LoadError("a direct channel exists only in the browser")

    def close(self, death: Death) -> None:
        if self._death is None:
            self._death = death
        # Calls still queued never start: each raises GuestGone and is delivered again.
        self._end_thread()

    def _end_thread(self) -> None:
        """Let the instance's thread finish what it runs, then free the instance there."""
        try:
            self._thread.submit(self._release)
        except RuntimeError:  # shut down already: the instance was freed where it died
            pass
        self._thread.shutdown(wait=False)

    def _release(self) -> None:
        # The store holds host functions that hold this guest (WASI's callbacks): a cycle
        # through native code that Python's collector cannot see. Cut it, or every
        # instance that ends keeps its whole memory_mb.
        for export in self._fns.values():
            export._store = None
        self._fns, self._memory, self._wasi = {}, None, None
        self._store = None
