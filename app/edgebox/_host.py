"""The host: decides what is loaded, verifies it, routes calls, enforces limits
and answers the guests' capability requests according to their policies."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Callable

from ._errors import (
    ClosedError,
    CrashedError,
    DeniedError,
    EdgeBoxError,
    GuestGone,
    ImportMismatchError,
    IntegrityError,
    LimitError,
    NotFoundError,
    PanicError,
    TimeoutError,
)
from ._abi import provided_imports
from ._manifest import Manifest, ModuleSpec
from ._metrics import Metrics
from ._platform import Guest, HttpRequest, HttpResponse, Platform
from ._wasm import imports, limit_memory

__all__ = ["AuditEvent", "GuestServices", "Host", "verify"]

ProgressSink = Callable[[str, int, "int | None"], None]
AuditSink = Callable[["AuditEvent"], None]
LogSink = Callable[[str, int, str], None]
DetachSink = Callable[[str, "EdgeBoxError"], None]

# A guest that dies takes its instance with it; these errors mean "replace it".
_INSTANCE_FATAL = (CrashedError, PanicError, LimitError, TimeoutError)
# How an instance's death is audited (a crash is not the guest's doing: not audited).
_DEATH_AUDIT = {PanicError: "panic", LimitError: "limits", TimeoutError: "limits"}


def _started(pending: "asyncio.Future[Guest] | None") -> "Guest | None":
    """The instance a load produced, or None while it loads or if it failed."""
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

    def to_wire(self) -> dict[str, Any]:
        return {"time": self.time, "module": self.module, "capability": self.capability,
                "detail": self.detail, "code": self.code}


class GuestServices:
    """What one guest may ask of the host: network requests, audit, log lines."""

    def __init__(self, host: "Host", spec: ModuleSpec) -> None:
        self._host = host
        self.spec = spec

    def audit(self, capability: str, detail: str, code: str = DeniedError.code) -> None:
        self._host.audit(self.spec.name, capability, detail, code)

    def log(self, fd: int, text: str) -> None:
        self._host.log(self.spec.name, fd, text)

    def retire(self, guest: Guest, reason: EdgeBoxError) -> None:
        """``guest`` died on its own (panic, limit, crash): stop routing calls to it."""
        self._host.retire(self.spec.name, guest, reason)

    async def fetch(self, request: HttpRequest) -> HttpResponse:
        net = self.spec.policy.net
        try:
            url = net.check(request.url, request.method, self._host.origin)
            response = await self._host.platform.http(
                HttpRequest(url=url, method=request.method.upper(), headers=request.headers, body=request.body),
                credentials=net.credentials,
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
        self._busy: dict[str, tuple[int, float]] = {}  # module -> (call number, first seen busy)
        self._guests: dict[str, asyncio.Future[Guest]] = {}
        self.counters: Counter[str] = Counter()
        self.recent_audit: deque[AuditEvent] = deque(maxlen=200)
        self.recent_log: deque[dict[str, Any]] = deque(maxlen=200)
        self.metrics = Metrics()

    async def call(self, module: str, fn: str, args: Any) -> Any:
        spec = self._spec(module)
        self.counters["calls via host"] += 1
        guest = await self.guest(module)
        if fn not in guest.exports:
            raise NotFoundError(f"module {module!r} has no function {fn!r}; it exports {sorted(guest.exports)}")
        try:
            return await self._limited(spec, guest.call(fn, args), f"{module}.{fn}")
        except GuestGone:
            # It died (on a direct call the host has not heard of yet) before this call ran.
            self.forget(module)
            guest = await self.guest(module)
            return await self._limited(spec, guest.call(fn, args), f"{module}.{fn}")

    async def guest(self, module: str) -> Guest:
        """The running instance of ``module``, loading it on first use.

        Concurrent first calls share one load; a failed load is forgotten so
        that the next call tries again (a redeployed module can recover).
        """
        spec = self._spec(module)
        pending = self._guests.get(module)
        if pending is None:
            pending = self._guests[module] = asyncio.ensure_future(self._limited(spec, self._load(spec), f"{module} start-up"))
        try:
            return await asyncio.shield(pending)
        except BaseException:
            if self._guests.get(module) is pending and pending.done():
                del self._guests[module]
            raise

    async def connect(self, module: str, shared: Any) -> None:
        """Give the page a direct channel to ``module``'s running instance (started if need be).
        Python leaves the call path; it keeps policy, audit, limits and the instance's life."""
        guest = await self.guest(module)
        await guest.connect(shared)

    def forget(self, module: str, reason: EdgeBoxError | None = None) -> None:
        """Drop an instance (or its load) that can no longer answer; the next call
        starts a fresh one. Every death goes through here: it is audited, counted,
        and the page is told why, so that calls it made directly fail with that reason."""
        pending = self._guests.pop(module, None)
        self._busy.pop(module, None)
        if pending is None:
            return
        capability = _DEATH_AUDIT.get(type(reason))
        if capability:
            self.audit(module, capability, reason.message[:500], reason.code)
        guest = _started(pending)
        if guest is None:
            pending.cancel()
            return
        self.counters["restarts"] += 1
        self.metrics.inc("edgebox_restarts_total", module)
        guest.close()
        self._on_detach(module, reason or ClosedError(f"module {module!r} was unloaded"))

    async def watch(self, interval: float = 0.05) -> None:
        """The watchdog: stops any call, however it arrived, that runs past its timeout_ms."""
        while True:
            await asyncio.sleep(interval)
            self.watch_once(time.monotonic())

    def watch_once(self, now: float) -> None:
        for module, pending in list(self._guests.items()):
            guest = _started(pending)
            call = guest.busy() if guest else None
            if call is None:
                self._busy.pop(module, None)
                continue
            seen = self._busy.get(module)
            if seen is None or seen[0] != call:
                self._busy[module] = (call, now)
                continue
            timeout_ms = self._spec(module).policy.limits.timeout_ms
            if (now - seen[1]) * 1000 > timeout_ms:
                self.forget(module, TimeoutError(
                    f"{module}: no answer within {timeout_ms} ms (timeout_ms); the instance was replaced"))

    def retire(self, module: str, guest: Guest, reason: EdgeBoxError) -> None:
        """``guest`` died on its own; forget it unless it was already replaced."""
        if _started(self._guests.get(module)) is guest:
            self.forget(module, reason)

    def stats(self) -> dict[str, Any]:
        return {
            "counters": dict(self.counters),
            "running": sorted(m for m, f in self._guests.items() if _started(f)),
            "log": list(self.recent_log),
            "audit": [event.to_wire() for event in self.recent_audit],
        }

    def audit(self, module: str, capability: str, detail: str, code: str) -> None:
        event = AuditEvent(time=time.time(), module=module, capability=capability, detail=detail, code=code)
        self.counters[f"{code}:{capability}"] += 1
        if code == DeniedError.code:
            self.metrics.inc("edgebox_denials_total", module, capability)
        elif code == PanicError.code:
            self.metrics.inc("edgebox_panics_total", module)
        elif code == TimeoutError.code:
            self.metrics.inc("edgebox_timeouts_total", module)
        self.recent_audit.append(event)
        self._on_audit(event)

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

    async def _limited(self, spec: ModuleSpec, work, what: str) -> Any:
        """Run ``work`` within the module's time limit; an instance that fails fatally is replaced."""
        timeout_ms = spec.policy.limits.timeout_ms
        try:
            return await asyncio.wait_for(work, timeout_ms / 1000)
        except asyncio.TimeoutError:
            error = TimeoutError(f"{what}: no answer within {timeout_ms} ms (timeout_ms); the instance was replaced")
            self.forget(spec.name, error)
            raise error from None
        except _INSTANCE_FATAL as error:
            self.forget(spec.name, error)  # a no-op if the instance already reported its own death
            raise

    async def _load(self, spec: ModuleSpec) -> Guest:
        phase = f"module:{spec.name}"
        data = await self.platform.fetch_bytes(spec.url, lambda loaded, total: self._on_progress(phase, loaded, total))
        verify(spec, data, await self.platform.sha256_hex(data))
        self._check_imports(spec, data)
        prepared = limit_memory(data, spec.policy.limits.memory_mb)
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

