"""Live updates: which version of each module serves, and how that changes.

``box.update()`` fetches and verifies the manifest again (``source``:
``_manifest_trust``), then for each module whose bytes, kind, policy or build
changed (``ModuleSpec.same_release``) it loads the new version as a module's
first load does (fetch, size and sha256, imports, start), runs its health check
(``ModuleSpec.health``) and only then switches (``Host.switch``): one
assignment, so every call sent after it reaches the new instance and every call
in flight finishes on the old one. A version that fails any step is not switched
to (``ok: false`` with the reason) and the old one keeps serving.

After a switch the old instance stays warm for the new version's probation
(``_lifecycle.Probation``, the module's ``rollback`` budget): too many deaths
among the new version's first calls switch back at once (``"rollback"``), as
``box.rollback(module)`` does on request; once the window is spent the old one
closes when drained (``_lifecycle.drained``). Routes and release rules of the
new manifest take effect when its modules have switched.

A change is ``{module, from, to, ok, reason}`` (versions; ``from`` None for a
module the manifest adds); a rollback ``{module, from, to, reason}``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ._errors import ClosedError, EdgeBoxError, GuestError, NotFoundError, TimeoutError
from ._guest_protocol import HTTP_EXPORT
from ._http_answer import parse_answer
from ._lifecycle import Death, Probation, drained, time_limit_ms
from ._manifest import Manifest, ModuleSpec

if TYPE_CHECKING:
    from ._host import Host
    from ._platform import Guest

__all__ = ["Releases"]

ManifestSource = Callable[[], Awaitable[Manifest]]
SwitchSink = Callable[[str, str, dict], None]  # (module, "update" | "rollback", detail)
_DRAIN_POLL_S = 0.05
# An update waits this long for the manifest and its signature, then fails (E_TIMEOUT): it
# holds the update lock, so a stalled server would otherwise stall every later update.
MANIFEST_FETCH_S = 15.0


@dataclass
class _Before:
    """The version a module served before its last switch, and its instance while it stays warm."""

    spec: ModuleSpec
    guest: "Guest | None"


class Releases:
    """The versions a host serves; owned by ``Host`` (``host.releases``)."""

    def __init__(self, host: "Host") -> None:
        self._host = host
        self.source: ManifestSource | None = None  # set by the platform glue: fetch, verify, parse
        self.on_switch: SwitchSink = lambda module, kind, detail: None
        self.on_routes: Callable[[Manifest], None] = lambda manifest: None
        self._since: dict[str, float] = {}
        self._before: dict[str, _Before] = {}
        self._probation: dict[str, Probation] = {}  # module -> the serving version's, every instance of it
        self._lock: asyncio.Lock | None = None
        self._rollback_locks: dict[str, asyncio.Lock] = {}
        for spec in host.manifest.modules.values():
            self._serving(spec)

    def versions(self) -> dict[str, dict[str, Any]]:
        """``{module: {version, sha256, since (epoch seconds), previous: {version, sha256} | None}}``."""
        result = {}
        for name, spec in self._host.manifest.modules.items():
            before = self._before.get(name)
            result[name] = {"version": spec.version, "sha256": spec.sha256, "since": self._since.get(name),
                            "previous": {"version": before.spec.version, "sha256": before.spec.sha256} if before else None}
        return result

    async def update(self) -> list[dict[str, Any]]:
        """Fetch, verify and apply the manifest again; the changes, one per module
        that changed. Raises only when the manifest itself is refused (audited)."""
        if self.source is None:
            raise NotFoundError("box.update(): this box has no manifest to fetch again")
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:  # one update at a time: each compares with what the last one left
            try:
                try:
                    manifest = await asyncio.wait_for(self.source(), MANIFEST_FETCH_S)
                except asyncio.TimeoutError:
                    raise TimeoutError(f"the manifest and its signature did not arrive within {MANIFEST_FETCH_S:g} s") from None
            except EdgeBoxError as error:
                self._host.audit("manifest", "update", error.message[:500], error.code)
                raise
            changes = []
            for name, new in manifest.modules.items():
                old = self._host.manifest.get(name)
                if old is None:
                    self._host.switch_spec(new)
                    self._serving(new)
                    changes.append(self._change(name, None, new, True, "added"))
                elif old.same_release(new):
                    self._host.switch_spec(new)  # version label, health, rollback budget
                    if old.version != new.version:
                        self._serving(new)
                else:
                    changes.append(await self._replace(old, new))
            current = self._host.manifest
            self._host.manifest = replace(manifest, modules={**manifest.modules, **current.modules})
            if self._host.manifest.routes != current.routes:
                self.on_routes(self._host.manifest)
            return changes

    async def rollback(self, module: str, reason: str = "box.rollback") -> dict[str, Any]:
        """Switch ``module`` back to the version before its last switch, at once if
        it is still warm; ``NotFoundError`` if it has none. Rollbacks of one module
        go one at a time, so a second goes forward again, as it would alone."""
        lock = self._rollback_locks.setdefault(module, asyncio.Lock())
        async with lock:
            while True:
                before = self._before.get(module)
                if before is None:
                    raise NotFoundError(f"box.rollback({module!r}): no version before this one to go back to")
                guest = before.guest
                if guest is not None:
                    return self._roll_back_to(module, before.spec, guest, reason)
                guest = await self._host.prepare(before.spec)
                if self._before.get(module) is before:
                    return self._roll_back_to(module, before.spec, guest, reason)
                # An update or an automatic rollback moved the module while this one started: go from there.
                guest.close(Death(ClosedError(f"module {module!r}: a rollback overtaken by another switch")))

    def observed(self, module: str, guest: "Guest", code: str | None, message: str = "") -> None:
        """A call on ``guest`` ended (``code`` None: answered; else its error code).
        Called by the host for every call it sees end and every death."""
        probation = self._probation.get(module)
        before = self._before.get(module)
        if probation is None or (before is not None and before.guest is guest):  # the old version, draining
            return
        verdict = probation.record(code, message)
        if verdict == "rollback":
            reason = probation.reason()
            del self._probation[module]
            if before and before.guest is not None:
                self._roll_back_to(module, before.spec, before.guest, reason)
            elif before:
                task = asyncio.ensure_future(self.rollback(module, reason))
                task.add_done_callback(lambda done: done.cancelled() or done.exception())
        elif verdict == "passed":
            del self._probation[module]
            if before and before.guest is not None:
                self._drain(before.spec, before.guest)
                before.guest = None

    def retired(self, module: str, guest: "Guest") -> None:
        """``guest``, not the serving instance, has ended: it is warm no more."""
        before = self._before.get(module)
        if before and before.guest is guest:
            before.guest = None

    async def _replace(self, old: ModuleSpec, new: ModuleSpec) -> dict[str, Any]:
        name = new.name
        try:
            guest = await self._host.prepare(new)
        except EdgeBoxError as error:
            return self._refused(old, new, error, "it did not start")
        try:
            await self._health(new, guest)
        except EdgeBoxError as error:
            guest.close(Death(ClosedError(f"module {name!r} version {new.version!r} failed its health check")))
            return self._refused(old, new, error, "its health check failed")
        # What serves now, not what served when this update began: a rollback may have
        # switched the module while the new version started and was checked.
        old = self._host.manifest.get(name) or old
        previous = self._host.switch(new, guest)
        self._host.metrics.inc("edgebox_updates_total", name, "ok")
        self._serving(new)
        stale = self._before.get(name)
        if stale and stale.guest is not None and stale.guest is not previous:
            self._drain(stale.spec, stale.guest)
        self._before[name] = _Before(old, previous)
        self._probation[name] = Probation(new.rollback)
        change = self._change(name, old, new, True, "switched")
        self.on_switch(name, "update", change)
        return change

    def _roll_back_to(self, module: str, spec: ModuleSpec, guest: "Guest", reason: str) -> dict[str, Any]:
        left = self._host.manifest.get(module)
        leaving = self._host.switch(spec, guest)
        self._probation.pop(module, None)
        if leaving is not None:
            self._drain(left, leaving)
        self._before[module] = _Before(left, None)
        self._serving(spec)
        self._host.metrics.inc("edgebox_rollbacks_total", module)
        detail = {"module": module, "from": left.version, "to": spec.version, "reason": reason}
        self.on_switch(module, "rollback", detail)
        return detail

    def _refused(self, old: ModuleSpec, new: ModuleSpec, error: EdgeBoxError, what: str) -> dict[str, Any]:
        reason = f"{what}: [{error.code}] {error.message}"
        self._host.metrics.inc("edgebox_updates_total", new.name, "refused")
        self._host.audit(new.name, "update", reason[:500], error.code)
        return self._change(new.name, old, new, False, reason)

    async def _health(self, spec: ModuleSpec, guest: "Guest") -> None:
        check = spec.health
        if check is None:
            return
        seconds = time_limit_ms(spec) / 1000 + 1
        try:
            if check.fn is not None:
                answer = await asyncio.wait_for(guest.call(check.fn, list(check.args)), seconds)
                if check.has_expect and answer != check.expect:
                    raise GuestError(f"{check.fn} answered {str(answer)[:200]}, expected {str(check.expect)[:200]}")
                return
            head = f'{{"method": "GET", "url": "http://edgebox.health{check.path}", "headers": []}}'
            raw = await asyncio.wait_for(guest.call(HTTP_EXPORT, [head, None]), seconds)
            status = parse_answer(raw, "GET").status
            if status != check.status:
                raise GuestError(f"GET {check.path} answered {status}, expected {check.status}")
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer within {round(seconds * 1000)} ms") from None

    def _drain(self, spec: ModuleSpec, guest: "Guest") -> None:
        """Close ``guest`` once it has no call running (bounded by its timeout_ms)."""
        switched = time.monotonic()

        async def wait() -> None:
            while not drained(guest.watch(), time.monotonic() - switched, spec):
                await asyncio.sleep(_DRAIN_POLL_S)
            guest.close(Death(ClosedError(f"module {spec.name!r} version {spec.version!r} was replaced")))

        asyncio.ensure_future(wait()).add_done_callback(lambda done: done.cancelled() or done.exception())

    def _serving(self, spec: ModuleSpec) -> None:
        self._since[spec.name] = time.time()
        self._host.metrics.serving(spec.name, spec.version, spec.sha256)

    @staticmethod
    def _change(module: str, old: ModuleSpec | None, new: ModuleSpec, ok: bool, reason: str) -> dict[str, Any]:
        return {"module": module, "from": old.version if old else None, "to": new.version, "ok": ok, "reason": reason}
