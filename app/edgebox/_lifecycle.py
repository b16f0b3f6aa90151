"""The one owner of an instance's life: when it is over, why, and what that
costs each call that was waiting on it.

Every limit on every path, and who enforces it::

    limit        enforced by                                  the caller sees
    timeout_ms   Watchdog: the oldest running call is older    E_TIMEOUT (that call); the instance is replaced
                 than timeout_ms, or the guest's event loop
                 has not turned for timeout_ms (in a call or
                 between calls)
    startup_ms   Host.guest: a load that takes longer          E_TIMEOUT (the calls waiting for it)
    memory_mb    the module's memory maximum (rewritten at     E_LIMIT; the instance is replaced
                 load) and the guest worker's count of the
                 JavaScript values the instance holds
    log_kb       the guest worker counts output per call       E_LIMIT; the instance is replaced
    exit, panic  the guest worker reports the end of the       E_PANIC (a Go panic, with its stack),
                 program with its stderr tail: classify_exit   E_LIMIT (out of memory), E_CRASHED (exit)

A debug build (``build.py --debug``; ``ModuleSpec.debug``) has its time
limits raised to ``DEBUG_TIME_LIMIT_MS`` (``time_limit_ms``): a guest paused at
a breakpoint holds its thread exactly as a guest in an endless loop does, and
nothing the host sees tells them apart, so a paused debugger is given time
instead of being detected. Memory and log limits stay.

When an instance dies, the call that killed it gets the death's error; the
other calls it had started get ``E_CRASHED`` naming that cause; calls it never
started are delivered again to a fresh instance (``Death.fate``). The guest
reports facts (its watch slots, its stderr tail); the codes are decided here.

A live update (``_update.py``) adds two ends to an instance's life, decided
here too: a replaced instance ends once it has drained (``drained``: no call
running, or its time limit past the switch), and a new version on probation
(``Probation``) is rolled back when more of its first calls die than its
``rollback`` budget allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ._errors import FATAL_CODES, CrashedError, EdgeBoxError, LimitError, PanicError, TimeoutError
from ._guest_protocol import Via, Watch, WatchReading

if TYPE_CHECKING:
    from ._manifest import ModuleSpec, Rollback

__all__ = ["DEBUG_TIME_LIMIT_MS", "Death", "Probation", "Watchdog", "classify_exit", "drained", "panic_frames",
           "panicked_goroutine_was_spawned", "time_limit_ms", "trap_frames"]

_OUT_OF_MEMORY = re.compile(r"fatal error: out of memory|runtime: out of memory|out of memory \(memory_mb\)")
_PANIC = re.compile(r"(?:^|\n)(panic: |fatal error: )")
# The guest's event loop beats every Watch.BEAT_MS; still for this long, its thread is held.
_STALLED = 4 * Watch.BEAT_MS / 1000


# How long a debug build's call, or start-up, may take: time for a developer at a breakpoint.
DEBUG_TIME_LIMIT_MS = 15 * 60 * 1000


def time_limit_ms(spec: "ModuleSpec", which: str = "timeout_ms") -> int:
    """A module's time limit as enforced, in ms: its policy's ``timeout_ms`` or
    ``startup_ms``, at least ``DEBUG_TIME_LIMIT_MS`` for a debug build (``spec.debug``)."""
    limit_ms = getattr(spec.policy.limits, which)
    return max(limit_ms, DEBUG_TIME_LIMIT_MS) if spec.debug else limit_ms


@dataclass(frozen=True)
class Death:
    """Why an instance ended, and which calls it had started when it did.

    ``culprit`` is ``(via, id)`` of the call running when it died (``Via.HOST``
    or ``Via.PAGE``), or None; ``taken_host``/``taken_page`` are the highest
    ids of calls it had started on each path (ids rise, so every later one
    never ran)."""

    error: EdgeBoxError
    culprit: tuple[int, int] | None = None
    taken_host: int = 0
    taken_page: int = 0

    @classmethod
    def of(cls, error: EdgeBoxError, culprit: tuple[int, int] | None, reading: WatchReading | None) -> "Death":
        reading = reading or WatchReading()
        return cls(error, culprit, reading.taken_host, reading.taken_page)

    def fate(self, via: int, call_id: int) -> EdgeBoxError | None:
        """What a call still waiting on the dead instance gets: the death's own
        error if it caused it, ``CrashedError`` naming the cause if it was
        running too, None if the instance never started it (deliver it again)."""
        if self.culprit == (via, call_id):
            return self.error
        taken = self.taken_host if via == Via.HOST else self.taken_page
        if call_id > taken:
            return None
        cause = "because of another call" if self.culprit else "because of a goroutine no call was running"
        return CrashedError(f"the instance died while this call was running, {cause}: "
                            f"[{self.error.code}] {self.error.message[:2000]}")

    def to_wire(self) -> dict:
        """What the page needs to settle its own direct calls the same way."""
        culprit = self.culprit[1] if self.culprit and self.culprit[0] == Via.PAGE else None
        return {"error": self.error.to_wire(), "culprit": culprit, "taken": self.taken_page}


def classify_exit(module: str, tail: str, exit_code: str | None, abi: str = "js", trace: str = "",
                  symbolize: Callable[[int], "dict[str, Any] | None"] | None = None) -> EdgeBoxError:
    """The error for a Go program that ended, from what it wrote to stderr since
    the call began and how it ended.

    Go prints ``panic: ...`` and the goroutine stacks (file:line), or ``fatal
    error: out of memory`` when an allocation fails at the module's memory
    maximum, as its last words; then a GOOS=js program exits with code 2 and a
    wasip1 one traps (``unreachable``). Only after such an end is that text
    read as a panic or a limit; any other end (``os.Exit(n)``, another trap)
    is a crash, whatever the guest printed before. A trap's ``trace`` (the
    JavaScript stack it left, with wasm offsets) gives the crash Go frames
    through ``symbolize`` (``trap_frames``)."""
    tail = (tail or "").strip()
    as_go_ends = exit_code == ("2" if abi == "js" else "trap: unreachable")
    last = None
    if as_go_ends:
        for last in _PANIC.finditer(tail):
            pass
    if last is not None:
        words = tail[last.start(1):]
        if _OUT_OF_MEMORY.search(words) or _OUT_OF_MEMORY.search(tail[max(0, last.start(1) - 200):last.start(1)]):
            return LimitError(f"module {module!r} ran out of memory (memory_mb): {words[:2000]}")
        return PanicError(f"module {module!r}: {words[:8000]}", frames=panic_frames(words))
    detail = f": {tail[-2000:]}" if tail else ""
    how = f"trapped ({exit_code[6:]})" if exit_code and exit_code.startswith("trap:") else f"exited (code {exit_code if exit_code is not None else '?'})"
    frames = trap_frames(trace, symbolize) if exit_code and exit_code.startswith("trap") else []
    return CrashedError(f"module {module!r}: the Go program {how}{detail}", frames=frames)


# In a goroutine's stack: `pkg.function(args)` then a tab, `file:line` and maybe ` +0x1f`.
_FRAME = re.compile(r"^(?P<function>\S.*)\((?:[^()]*)\)\n\t(?P<file>.+?):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$", re.M)
_GOROUTINE = re.compile(r"^goroutine \d+ \[[^\]]*\]:\n", re.M)


def panic_frames(words: str) -> list[dict]:
    """The Go frames of a panic, from Go's last words (``panic: ...`` and the
    goroutine stacks, as ``runtime/traceback.go`` prints them): ``[{function,
    file, line}]`` of the goroutine that panicked, innermost first, starting
    at the frame that panicked; the frames above it (``panic``, the runtime's
    ``runtime.goPanicIndex``..., and in a stack taken where the panic was
    recovered, the recovering frames) are left out. ``file`` is
    Go's import-path spelling (modules are built with -trimpath)."""
    stack = _GOROUTINE.search(words or "")
    if stack is None:
        return []
    block = words[stack.end():].split("\n\n", 1)[0]
    frames = [{"function": found["function"], "file": found["file"], "line": int(found["line"])}
              for found in _FRAME.finditer(block)]
    # A stack taken where the panic was recovered (the SDK's report, runtime/debug.Stack)
    # holds the recovering frames above `panic`: the panicking frame is below the last one.
    panics = [i for i, frame in enumerate(frames) if frame["function"] == "panic"]
    frames = frames[panics[-1] + 1:] if panics else frames
    while frames and frames[0]["function"].startswith("runtime."):
        frames = frames[1:]
    return frames


# V8's frame of a wasm function: `at NAME (wasm://wasm/HASH:wasm-function[INDEX]:0xOFFSET)`, NAME from the name section.
_WASM_FRAME = re.compile(r"^\s*at (?:(?P<name>\S+) )?\(?wasm://wasm/[^:]*:wasm-function\[\d+\]:0x(?P<offset>[0-9a-f]+)\)?$", re.M)


def trap_frames(trace: str, symbolize: Callable[[int], "dict[str, Any] | None"] | None) -> list[dict]:
    """Go frames of a wasm trap, innermost first, from the JavaScript stack V8
    gave it (``trace``): each wasm frame's module offset through ``symbolize``
    (a debug build's source map, ``_sourcemap.SourceMap.lookup``); frames it
    cannot place are left out. Without ``symbolize`` there are none."""
    if symbolize is None:
        return []
    frames = []
    for found in _WASM_FRAME.finditer(trace or ""):
        frame = symbolize(int(found["offset"], 16))
        if frame:
            frames.append({"function": frame["function"] or (found["name"] or "").lstrip("$"),
                           "file": frame["file"], "line": frame["line"]})
    return frames


def panicked_goroutine_was_spawned(tail: str) -> bool:
    """True when the goroutine that panicked was started with ``go`` (its stack
    ends in ``created by``), not the one running the call: then the panic is
    no call's own, whichever call's Go code happened to be on the thread."""
    last = None
    for last in _PANIC.finditer(tail or ""):
        pass
    if last is None:
        return False
    first_stack = tail[last.start(1):].split("\n\ngoroutine ", 2)
    block = first_stack[1] if len(first_stack) > 1 else ""
    # The runtime's own goroutines (an event handler re-entered from JavaScript) run the call's code.
    return re.search(r"\ncreated by (?!runtime\.|syscall/js\.)", block.split("\n\n", 1)[0]) is not None


class Watchdog:
    """Watches one instance through its watch readings and says when it has
    run out of time. ``check`` is called every few tens of milliseconds with
    the host's monotonic clock in seconds; a call ends within ``timeout_ms``
    plus that interval."""

    def __init__(self, module: str, timeout_ms: int, now: float) -> None:
        self.module = module
        self.timeout = timeout_ms / 1000
        self.timeout_ms = timeout_ms
        self._beat: tuple[int, float] | None = None  # (beat, first seen)
        self._oldest: tuple[int, float] = (0, now)  # (call number, first seen running)
        self._started = now

    def check(self, reading: WatchReading, now: float) -> Death | None:
        if self._beat is None or self._beat[0] != reading.beat:
            self._beat = (reading.beat, now)
        if reading.oldest != self._oldest[0]:
            self._oldest = (reading.oldest, now)
        stalled = now - self._beat[1]
        late = reading.oldest and now - self._oldest[1] > self.timeout
        if stalled > self.timeout or (late and stalled > _STALLED):
            # The thread is held (no call can answer): by the call whose Go code runs
            # now, or by a goroutine of none; the calls that wait for it are not the cause.
            current = (reading.current_via, reading.current_id) if reading.current_id else None
            return Death.of(TimeoutError(
                f"module {self.module!r}: its event loop has not turned for {round(stalled * 1000)} ms, held by "
                f"{'a call' if current else 'a goroutine that never yields'}; timeout_ms is {self.timeout_ms} ms; "
                "the instance was replaced"), current, reading)
        if late:
            return Death.of(TimeoutError(
                f"module {self.module!r}: no answer within {self.timeout_ms} ms (timeout_ms); the instance was replaced"),
                (reading.oldest_via, reading.oldest_id), reading)
        return None


def drained(reading: WatchReading | None, since_switch_s: float, spec: "ModuleSpec") -> bool:
    """Whether a replaced instance may close: it runs no call (calls it never
    started are delivered again to the new one), or its ``timeout_ms`` has passed
    since the switch (a call still running then has had all its time). A guest
    that keeps no watch slots is drained at once."""
    if reading is None or since_switch_s * 1000 > time_limit_ms(spec):
        return True
    return reading.running == 0


class Probation:
    """A new version's first ``budget.calls`` calls after a switch. ``record`` takes
    each call's end (None: it answered, a value or a guest's own error; else the
    code it ended with) and says ``"rollback"`` as soon as more than
    ``budget.max_errors`` of them ended the instance (a death code, ``FATAL_CODES``),
    ``"passed"`` once the window is spent within budget, else ``"open"``."""

    def __init__(self, budget: "Rollback") -> None:
        self.budget = budget
        self.calls = 0
        self.errors = 0
        self.last_error = ""

    def record(self, code: str | None, message: str = "") -> str:
        self.calls += 1
        if code in FATAL_CODES:
            self.errors += 1
            self.last_error = f"[{code}] {message[:300]}"
        if self.errors > self.budget.max_errors:
            return "rollback"
        return "passed" if self.calls >= self.budget.calls else "open"

    def reason(self) -> str:
        return (f"{self.errors} of its first {self.calls} calls ended its instance, over max_errors "
                f"{self.budget.max_errors}; last: {self.last_error}")
