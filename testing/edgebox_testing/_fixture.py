"""The ``edgebox`` fixture's object: compile modules, start boxes in a page of
the session's Chromium, expect typed errors."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from ._box import HELPERS, START, Box, to_page
from ._project import CompileError, Module, Project

# Denials and limits reach the guest as ordinary failures (README: Security model) and the
# page as audit events with these codes (web/guest-protocol.js AUDIT_CODES).
AUDITED_CODES = frozenset({"E_DENIED", "E_LIMIT"})


class ExpectedError:
    """What ``expect_error`` caught: ``value`` (the EdgeBoxError), ``audit`` (the
    matching audit events, for a denial or limit the guest failed with)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.value = None
        self.audit: list[dict] = []


class EdgeBoxFixture:
    """``edgebox``: ``module(...)``, ``start(**options)``, ``expect_error(code)``, ``page``."""

    def __init__(self, project: Project, base_url: Callable[[], str], context: Callable[[], Any],
                 on_use: Callable[[Box], None], base: Path | None = None) -> None:
        self._project = project
        self._base_url = base_url
        self._context = context  # the session's browser context, asked for only when a page is needed
        self._on_use = on_use
        self._base = base
        self._page = None
        self.boxes: list[Box] = []
        self.problems: list[str] = []  # page errors and console errors, for the failure report

    def module(self, path: str | Path, abi: str | None = None, policy: dict | None = None,
               name: str | None = None) -> Module:
        """Compile the Go module at ``path`` (or take a ``.wasm``) with `build.py module`'s
        code; ``abi`` "js" or "wasip1" (default: as build.py detects it), ``policy``
        (default: its policy.json), ``name`` (default: the directory's). A module that
        does not compile fails the test with the compiler's file:line: errors."""
        __tracebackhide__ = True
        try:
            return self._project.module(path, abi=abi, policy=policy, name=name, base=self._base)
        except CompileError as error:
            failure = str(error)
        pytest.fail(failure, pytrace=False)  # outside the except: the report shows only the compiler's errors

    @property
    def page(self):
        """The Playwright page the boxes run in (a blank page of dist/, opened on first use)."""
        if self._page is None:
            page = self._context().new_page()
            page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
            page.on("console", lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"))
            page.goto(f"{self._base_url()}/blank.html")
            page.evaluate(HELPERS)
            self._page = page
        return self._page

    def start(self, **options: Any) -> Box:
        """``EdgeBox.start(options)`` in the page; ``modules`` maps names to ``module(...)``
        results (or the loader's own ``{url, abi, sha256, policy}``), or is a list of them.
        Raises the project's EdgeBoxError (E_CONFIG, E_BOOT) when the box cannot start."""
        modules = options.get("modules")
        if isinstance(modules, (list, tuple)):
            modules = {module.name: module for module in modules}
        if modules is not None:
            options["modules"] = {name: m.option() if isinstance(m, Module) else m for name, m in modules.items()}
        got = self.page.evaluate(START, to_page(options))
        errors = self._project.errors
        if not got["ok"]:
            raise errors.EdgeBoxError.from_wire(got["error"])
        box = Box(self.page, got["value"]["id"], got["value"]["transport"], errors, self._on_use)
        self.boxes.append(box)
        self._on_use(box)
        return box

    @contextlib.contextmanager
    def expect_error(self, code: str) -> Iterator[ExpectedError]:
        """The block must fail with an EdgeBoxError of ``code``. For E_DENIED and E_LIMIT
        it may instead fail with any EdgeBoxError (the guest's own failure, E_GUEST
        say) while a box of this fixture audits an event with that code."""
        __tracebackhide__ = True
        errors = self._project.errors
        if code not in errors.ERROR_CLASSES:
            raise ValueError(f"expect_error({code!r}): not an EdgeBox code ({', '.join(sorted(errors.ERROR_CLASSES))})")
        live = [box for box in self.boxes if not box.closed]
        marks = {box: box._act("auditCount") for box in live} if code in AUDITED_CODES else {}
        caught = ExpectedError(code)
        try:
            yield caught
        except errors.EdgeBoxError as error:
            caught.value = error
        if caught.value is None:
            pytest.fail(f"expected {code}, but the block raised no EdgeBox error", pytrace=False)
        if caught.value.code == code:
            return
        caught.audit = [event for box, mark in marks.items() for event in box._act("audit", mark, code) if event["code"] == code]
        if not caught.audit:
            audited = f" and no {code} was audited" if code in AUDITED_CODES else ""
            pytest.fail(f"expected {code}, got {caught.value.code}{audited}: {caught.value.message}", pytrace=False)

    def __repr__(self) -> str:
        return f"<edgebox fixture: {len(self.boxes)} box(es), dist {self._project.dist}>"

    def close(self) -> None:
        for box in self.boxes:
            with contextlib.suppress(Exception):
                box.close()
        if self._page is not None:
            with contextlib.suppress(Exception):
                self._page.close()
            self._page = None
