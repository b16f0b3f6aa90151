"""The host: decides what is loaded, verifies it, routes calls, enforces limits
and answers the guests' capability requests according to their policies."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ._errors import (
    FATAL_CODES,
    ClosedError,
    EdgeBoxError,
    CrashedError,
    DeniedError,
    GuestGone,
    ImportMismatchError,
    IntegrityError,
    LimitError,
    LoadError,
    NotFoundError,
    PanicError,
    TimeoutError,
    clear_frames,
)
from ._abi import provided_imports
from ._lifecycle import Death, Watchdog, time_limit_ms
from ._manifest import ABIS, Manifest, ModuleSpec
from ._metrics import Metrics
from ._platform import Guest, HttpRequest, HttpResponse, Platform
from ._sourcemap import SourceMap
from ._update import Releases
from ._wasm import imports, limit_memory, with_source_map_url

__all__ = ["AuditEvent", "GuestServices", "Host", "verify"]

ProgressSink = Callable[[str, int, "int | None"], None]
AuditSink = Callable[["AuditEvent"], None]
LogSink = Callable[[str, int, str], None]
DetachSink = Callable[[str, Death], None]

# How an instance's death is audited (a crash is not the guest's doing: not audited).
_DEATH_AUDIT = {PanicError: "panic", LimitError: "limits", TimeoutError: "limits"}
# A call is delivered again while the instances it reaches die of other calls before taking
# it; instances that die without taking any call, this many in a row, are a fault of their own.
_IDLE_DEATHS = 4
# What a call may wait beyond its timeout_ms for its answer (the watchdog's interval, messages).
_SLACK = 1.0


_AUDITS_PER_SECOND = 50


@dataclass
class _AuditWindow:
    started: float
    sent: int = 0
    held: Counter = field(default_factory=Counter)


def _started(pending: "asyncio.Future[Any] | None") -> Any:
    """What a task produced (an instance, a map's text), or None while it runs or if it failed."""
    if pending is None or not pending.done() or pending.cancelled() or pending.exception() is not None:
        return None
    return pending.result()


@dataclass(frozen=True)
class AuditEvent:
    time: float
    module: str
    capability: str
    detail: str
    code: str
    count: int = 1  # more than 1: a flood, summarised

    def to_wire(self) -> dict[str, Any]:
        return {"time": self.time, "module": self.module, "capability": self.capability,
                "detail": self.detail, "code": self.code, "count": self.count}


class GuestServices:
    """What one guest may ask of the host: network requests, audit, log lines."""

    def __init__(self, host: "Host", spec: ModuleSpec) -> None:
        self._host = host
        self.spec = spec

    def audit(self, capability: str, detail: str, code: str = DeniedError.code, count: int = 1) -> None:
        self._host.audit(self.spec.name, capability, detail, code, count)

    def log(self, fd: int, text: str) -> None:
        self._host.log(self.spec.name, fd, text)

    def symbolize(self, offset: int) -> dict[str, Any] | None:
        """``{function, file, line}`` of a wasm offset in this module, from its
        source map (debug builds only; None until the map has arrived)."""
        return self._host.symbolize(self.spec.name, offset)

    def died(self, guest: Guest, death: Death) -> None:
        """``guest`` ended on its own (panic, exit, limit, crash): replace it."""
        self._host.retire(self.spec.name, guest, death)

    async def fetch(self, request: HttpRequest) -> HttpResponse:
        net = self.spec.policy.net
        try:
            url = net.check(request.url, request.method, self._host.origin)
            # Bounded like a call: a request left behind by a call cannot outlive the limit.
            response = await self._host.platform.http(
                HttpRequest(url=url, method=request.method.upper(), headers=request.headers, body=request.body),
                credentials=net.credentials, timeout_ms=self.spec.policy.limits.timeout_ms,
            )
        except DeniedError as error:
            self.audit("net", error.message)
            raise
        return response


class Host:
    def __init__(
        self,
        manifest: Manifest,
        platform: Platform,
        *,
        origin: str,
        gojs_imports: frozenset[str],
        on_progress: ProgressSink | None = None,
        on_audit: AuditSink | None = None,
        on_log: LogSink | None = None,
        on_detach: DetachSink | None = None,
    ) -> None:
        self.manifest = manifest
        self.platform = platform
        self.origin = origin
        self._gojs = gojs_imports
        self._on_progress = on_progress or (lambda phase, loaded, total: None)
        self._on_audit = on_audit or (lambda event: None)
        self._on_log = on_log or (lambda module, fd, text: None)
        self._on_detach = on_detach or (lambda module, error: None)
        self._guests: dict[str, asyncio.Future[Guest]] = {}
        self._dogs: dict[str, Watchdog] = {}  # module -> the watchdog of its running instance
        # module -> its source map's text, fetched while a debug build starts, read at its first trap
        self._maps: dict[str, "asyncio.Future[bytes]"] = {}
        self._parsed_maps: dict[str, SourceMap | None] = {}
        self._audit_windows: dict[str, _AuditWindow] = {}
        self.counters: Counter[str] = Counter()
        self.recent_audit: deque[AuditEvent] = deque(maxlen=200)
        self.recent_log: deque[dict[str, Any]] = deque(maxlen=200)
        self.metrics = Metrics()
        self.releases = Releases(self)  # which version serves each module; live updates (_update.py)

    async def call(self, module: str, fn: str, args: Any, *, waited_ms: float = 0,
                   on_part: Callable[[bytes], None] | None = None) -> Any:
        """Call ``fn`` on ``module``'s instance (started if need be).

        It ends within the module's timeout_ms plus ``_SLACK`` of being sent to
        a running instance, waiting behind other calls included (the watchdog
        ends it sooner if it runs too long), plus startup_ms whenever an
        instance has to start; ``waited_ms`` is time it already spent waiting
        elsewhere (on a direct channel whose instance died). A call an instance
        never took is delivered again to a fresh one, as long as the instances
        it reaches take calls. ``on_part`` takes the parts of an HTTP answer
        the guest sends before its reply (``GuestOp.PART``), in order."""
        spec = self._spec(module)
        self.counters["calls via host"] += 1
        timeout_ms = time_limit_ms(spec)
        budget = max(timeout_ms / 1000 + _SLACK - waited_ms / 1000, _SLACK)
        idle_deaths = 0
        while True:
            guest = await self.guest(module)
            if fn not in guest.exports:
                raise NotFoundError(f"module {module!r} has no function {fn!r}; it exports {sorted(guest.exports)}")
            sent = time.monotonic()
            try:
                result = await asyncio.wait_for(guest.call(fn, args, on_part), budget)
                self.releases.observed(module, guest, None)
                return result
            except asyncio.TimeoutError:
                raise TimeoutError(f"{module}.{fn}: not answered within {timeout_ms} ms (timeout_ms), "
                                   "waiting for the instance included") from None
            except GuestGone as gone:
                budget -= time.monotonic() - sent
                # The instance has ended; its own report (the cause, the calls it took)
                # is on its way: wait for it briefly, else go by its watch slots.
                for _ in range(20):
                    if _started(self._guests.get(module)) is not guest:
                        break
                    await asyncio.sleep(0.01)
                reading = guest.watch()
                self.retire(module, guest, Death.of(CrashedError(gone.message), None, reading))
                # Only instances that die without taking a single call are the call's problem.
                idle_deaths = 0 if reading and (reading.taken_host or reading.taken_page) else idle_deaths + 1
                if budget <= 0:
                    raise TimeoutError(f"{module}.{fn}: not answered within {timeout_ms} ms "
                                       "(timeout_ms): the instances it reached ended before taking it") from None
                if idle_deaths >= _IDLE_DEATHS:
                    raise CrashedError(f"{module}.{fn}: the instances it reached ended before taking it "
                                       f"({gone.message})") from None
            except EdgeBoxError as error:
                if error.code not in FATAL_CODES:  # a death is counted where it is decided (forget)
                    self.releases.observed(module, guest, None)
                raise

    async def guest(self, module: str) -> Guest:
        """The running instance of ``module``, loading it on first use.

        Concurrent first calls share one load; a failed load is forgotten so
        that the next call tries again (a redeployed module can recover).
        """
        spec = self._spec(module)
        pending = self._guests.get(module)
        if pending is None:
            pending = self._guests[module] = asyncio.ensure_future(self._start(spec))
        try:
            return await asyncio.shield(pending)
        except BaseException:
            if self._guests.get(module) is pending and pending.done():
                del self._guests[module]
            raise

    async def connect(self, module: str, shared: Any) -> int:
        """Give the page a direct channel to ``module``'s running instance (started if need be).
        Python leaves the call path; it keeps policy, audit, limits and the instance's life.
        Returns the module's timeout_ms, within which (plus slack) the page expects an answer."""
        guest = await self.guest(module)
        await guest.connect(shared)
        spec = self._spec(module)
        return time_limit_ms(spec)

    def forget(self, module: str, death: Death | None = None) -> None:
        """Drop an instance (or its load) that can no longer answer; the next call
        starts a fresh one. Every death goes through here: it is audited, counted,
        the calls waiting on the instance are settled by ``Death.fate``, and the
        page is told, so that it settles the calls it made directly the same way."""
        pending = self._guests.pop(module, None)
        self._dogs.pop(module, None)
        if pending is None:
            return
        capability = _DEATH_AUDIT.get(type(death.error)) if death else None
        if capability:
            self.audit(module, capability, death.error.message[:500], death.error.code)
        guest = _started(pending)
        if guest is None:
            pending.cancel()
            return
        self.counters["restarts"] += 1
        self.metrics.inc("edgebox_restarts_total", module)
        if death is not None:
            self.releases.observed(module, guest, death.error.code, death.error.message)
        death = death or Death(ClosedError(f"module {module!r} was unloaded"))
        guest.close(death)
        self._on_detach(module, death)

    async def watch(self, interval: float = 0.025) -> None:
        """The watchdog: ends any call, however it arrived, that runs past its
        timeout_ms, and any instance whose event loop stops for as long."""
        while True:
            await asyncio.sleep(interval)
            self.watch_once(time.monotonic())

    def watch_once(self, now: float) -> None:
        for module in list(self._audit_windows):
            self._flush_audits(module, now)
        for module, pending in list(self._guests.items()):
            guest = _started(pending)
            reading = guest.watch() if guest else None
            if reading is None:
                continue
            dog = self._dogs.get(module)
            if dog is None:
                spec = self._spec(module)
                dog = self._dogs[module] = Watchdog(module, time_limit_ms(spec), now)
            death = dog.check(reading, now)
            if death is not None:
                self.forget(module, death)

    def retire(self, module: str, guest: Guest, death: Death) -> None:
        """``guest`` died on its own; forget it unless it was already replaced."""
        if _started(self._guests.get(module)) is guest:
            self.forget(module, death)
        else:
            self.releases.retired(module, guest)
            guest.close(death)

    def symbolize(self, module: str, offset: int) -> dict[str, Any] | None:
        if module not in self._parsed_maps:
            text = _started(self._maps.get(module))
            if text is None:
                return None
            try:
                self._parsed_maps[module] = SourceMap.parse(text)
            except ValueError:
                self._parsed_maps[module] = None
        found = self._parsed_maps[module]
        return found.lookup(offset) if found else None

    def stats(self) -> dict[str, Any]:
        return {
            "counters": dict(self.counters),
            "running": sorted(m for m, f in self._guests.items() if _started(f)),
            "log": list(self.recent_log),
            "audit": [event.to_wire() for event in self.recent_audit],
            "versions": self.releases.versions(),
            "manifest": {"url": self.manifest.url, "version": self.manifest.version},
        }

    async def prepare(self, spec: ModuleSpec) -> Guest:
        """A started instance of ``spec``, verified as any load is, not yet serving (a live update's)."""
        return await self._start(spec)

    def switch(self, spec: ModuleSpec, guest: Guest) -> Guest | None:
        """Make ``guest`` (an instance of ``spec``) serve ``spec.name``'s calls from now on,
        in one step; returns the instance that served until now (not closed: it drains)."""
        pending = self._guests.get(spec.name)
        previous = _started(pending)
        if pending is not None and not pending.done():  # an old version still loading: never serves
            replaced = Death(ClosedError(f"module {spec.name!r} was switched to another version while this one started"))
            pending.add_done_callback(lambda done: _started(done) and _started(done).close(replaced))
        self.switch_spec(spec)
        serving = asyncio.get_event_loop().create_future()
        serving.set_result(guest)
        self._guests[spec.name] = serving
        self._dogs.pop(spec.name, None)
        self._maps.pop(spec.name, None)
        self._parsed_maps.pop(spec.name, None)
        return previous

    def switch_spec(self, spec: ModuleSpec) -> None:
        """``spec`` describes ``spec.name`` from now on (same instance, or the next one to start)."""
        self.manifest = replace(self.manifest, modules={**self.manifest.modules, spec.name: spec})

    def audit(self, module: str, capability: str, detail: str, code: str, count: int = 1) -> None:
        """Record a denial or a limit; ``count`` > 1 is a flood the guest worker summarised.

        Every event is counted; at most ``_AUDITS_PER_SECOND`` a module reach the
        page with their detail, the rest as one summary a second (``count``)."""
        self.counters[f"{code}:{capability}"] += count
        if code == DeniedError.code:
            self.metrics.inc("edgebox_denials_total", module, capability, amount=count)
        elif code == PanicError.code:
            self.metrics.inc("edgebox_panics_total", module)
        elif code == TimeoutError.code:
            self.metrics.inc("edgebox_timeouts_total", module)
        now = time.monotonic()
        window = self._audit_windows.get(module)
        if window is None or now - window.started >= 1:
            self._flush_audits(module)
            window = self._audit_windows[module] = _AuditWindow(now)
        if window.sent < _AUDITS_PER_SECOND:
            window.sent += 1
            self._emit(AuditEvent(time=time.time(), module=module, capability=capability, detail=detail, code=code, count=count))
        else:
            window.held[(capability, code)] += count

    def _emit(self, event: AuditEvent) -> None:
        self.recent_audit.append(event)
        self._on_audit(event)

    def _flush_audits(self, module: str, now: float | None = None) -> None:
        window = self._audit_windows.get(module)
        if window is None or (now is not None and now - window.started < 1):
            return
        del self._audit_windows[module]
        for (capability, code), count in window.held.items():
            self._emit(AuditEvent(time=time.time(), module=module, capability=capability, code=code, count=count,
                                  detail=f"{count} more {capability} events within a second (flood summarised)"))

    def log(self, module: str, fd: int, text: str) -> None:
        self.recent_log.append({"time": time.time(), "module": module, "stream": "stderr" if fd == 2 else "stdout", "text": text})
        self._on_log(module, fd, text)

    def close(self) -> None:
        for module in list(self._guests):
            self.forget(module)

    def _spec(self, module: str) -> ModuleSpec:
        spec = self.manifest.get(module)
        if spec is None:
            raise NotFoundError(f"no module {module!r}; the manifest has {sorted(self.manifest.modules)}")
        return spec

    async def _start(self, spec: ModuleSpec) -> Guest:
        startup_ms = time_limit_ms(spec, "startup_ms")
        try:
            return await asyncio.wait_for(self._load(spec), startup_ms / 1000)
        except BaseException as error:
            clear_frames(error)  # the load's frames held the module's bytes
            if isinstance(error, asyncio.TimeoutError):
                raise TimeoutError(f"module {spec.name!r} did not start within {startup_ms} ms (startup_ms)") from None
            raise

    async def _load(self, spec: ModuleSpec) -> Guest:
        runs = getattr(self.platform, "abis", ABIS)
        if spec.abi not in runs:
            raise LoadError(f"module {spec.name!r} is GOOS={spec.abi}; this host runs {', '.join(runs)} modules only "
                            f"(a GOOS=js module needs a JavaScript engine: serve it in the browser, or build it for wasip1)")
        phase = f"module:{spec.name}"
        data = await self.platform.fetch_bytes(spec.url, lambda loaded, total: self._on_progress(phase, loaded, total), spec.sha256)
        verify(spec, data, await self.platform.sha256_hex(data))
        self._check_imports(spec, data)
        prepared = limit_memory(data, spec.policy.limits.memory_mb)
        if spec.source_map:
            # Written after verification, like the memory cap: the signed bytes name no URL,
            # and a module compiled from bytes needs an absolute one for DevTools to find it.
            prepared = with_source_map_url(prepared, spec.source_map)
            if spec.name not in self._maps:  # for Go frames of a trap; never waited for
                pending = self._maps[spec.name] = asyncio.ensure_future(self.platform.fetch_bytes(spec.source_map, lambda *_: None))
                pending.add_done_callback(lambda done: done.cancelled() or done.exception())  # a failed fetch: no frames
        return await self.platform.start_guest(spec, prepared, GuestServices(self, spec))

    def _check_imports(self, spec: ModuleSpec, data: bytes) -> None:
        provided = provided_imports(spec.abi, spec.policy, self._gojs)
        missing = [str(item) for item in imports(data) if str(item) not in provided]
        if missing:
            self.audit(spec.name, "import", ", ".join(missing[:10]), ImportMismatchError.code)
            raise ImportMismatchError(
                f"module {spec.name!r} ({spec.abi}) imports what the host does not provide: {', '.join(missing[:10])}"
                + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            )


def verify(spec: ModuleSpec, data: bytes, digest: str) -> None:
    """Refuse bytes that differ from what the manifest signed: they never run."""
    if spec.size is not None and len(data) != spec.size:
        raise IntegrityError(
            f"module {spec.name!r}: {spec.url} is {len(data)} bytes, the manifest says {spec.size}; refusing to run it"
        )
    if not hmac.compare_digest(digest, spec.sha256):
        raise IntegrityError(
            f"module {spec.name!r}: sha256 of {spec.url} is {digest}, the manifest says {spec.sha256}; refusing to run it"
        )

