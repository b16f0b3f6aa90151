"""The pytest plugin (entry point ``pytest11: edgebox``): options, fixtures, and the
guest log and audit tail in the report of a failed test.

Scopes: one server and one Chromium (pytest-playwright's ``browser``) per session;
``edgebox`` gives each test a fresh page, ``edgebox_session`` one page for the session."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

from ._box import Box
from ._fixture import EdgeBoxFixture
from ._project import Project, ProjectError

CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download browsers offline
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
TAIL_LINES, TAIL_AUDITS = 30, 10

_touched: dict[Box, None] = {}  # boxes used by the running test, in order (for its failure report)
_fixtures: list[EdgeBoxFixture] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgebox", "EdgeBox: Go modules and pages in Chromium")
    group.addoption("--edgebox-dist", metavar="DIR", type=Path, default=None,
                    help="a built EdgeBox dist/ to serve (default: the project's dist/)")
    group.addoption("--edgebox-browser", metavar="PATH", default=CHROMIUM,
                    help=f"the Chromium to run (default: {CHROMIUM})")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, pytestconfig):
    """pytest-playwright's launch arguments with EdgeBox's Chromium and its flags."""
    return {**browser_type_launch_args, "executable_path": pytestconfig.getoption("edgebox_browser"),
            "args": [*CHROMIUM_ARGS, *browser_type_launch_args.get("args", [])]}


@pytest.fixture(scope="session")
def edgebox_project(pytestconfig, tmp_path_factory) -> Project:
    """The dist/ served and the build code that compiles modules (see --edgebox-dist)."""
    try:
        return Project(pytestconfig.getoption("edgebox_dist"), tmp_path_factory.mktemp("edgebox-served"), pytestconfig.rootpath)
    except ProjectError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def edgebox_server(edgebox_project):
    """dist/ and the compiled modules over HTTP on 127.0.0.1, with dist/'s headers
    (the project's own dev server: cross-origin isolated, its CSP)."""
    server = edgebox_project.build.make_server([edgebox_project.dist, edgebox_project.served])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def edgebox_url(edgebox_server) -> str:
    return f"http://127.0.0.1:{edgebox_server.server_address[1]}"


@pytest.fixture(scope="session")
def edgebox_context(browser):
    """One browser context for the session's pages (they share its HTTP cache)."""
    context = browser.new_context()
    yield context
    context.close()


def _fixture(request, project: Project, base: Path | None) -> EdgeBoxFixture:
    fixture = EdgeBoxFixture(project, lambda: request.getfixturevalue("edgebox_url"),
                             lambda: request.getfixturevalue("edgebox_context"), lambda box: _touched.setdefault(box), base)
    _fixtures.append(fixture)
    return fixture


@pytest.fixture
def edgebox(request, edgebox_project):
    """Per test: ``module()``, ``start()``, ``expect_error()``, ``page`` (a fresh page,
    opened by the first ``start()``; the browser starts only then)."""
    fixture = _fixture(request, edgebox_project, request.path.parent)
    yield fixture
    fixture.close()
    _fixtures.remove(fixture)


@pytest.fixture(scope="session")
def edgebox_session(request, edgebox_project):
    """The same, with one page for the whole session (boxes live until it ends)."""
    fixture = _fixture(request, edgebox_project, None)
    yield fixture
    fixture.close()
    _fixtures.remove(fixture)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _touched.clear()
    try:
        return (yield)
    finally:
        _touched.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and _touched:
        for box in list(_touched):
            for title, text in _tails(box):
                report.sections.append((f"edgebox box {box.id}: {title}", text))
        problems = sorted({p for f in _fixtures for p in f.problems})
        if problems:
            report.sections.append(("edgebox page errors", "\n".join(problems[-TAIL_LINES:])))
    return report


def _tails(box: Box) -> list[tuple[str, str]]:
    """The guest log and audit tail of a box, as the host keeps them (its last
    stats when it can no longer answer)."""
    with contextlib.suppress(Exception):
        if not box.closed:
            box.stats()
    stats = box.last_stats
    if stats is None:
        return [("guest log", "(the box did not answer)")]
    log = [f"{line['module']} {line['stream']}: {line['text'].rstrip()}" for line in stats["log"][-TAIL_LINES:]]
    audit = [f"{event['module']} {event['capability']} {event['code']}: {event['detail']}"
             + (f" (x{event['count']})" if event.get("count", 1) > 1 else "") for event in stats["audit"][-TAIL_AUDITS:]]
    return [(f"guest log (last {len(log)} of {len(stats['log'])})", "\n".join(log) or "(no lines)"),
            (f"audit (last {len(audit)} of {len(stats['audit'])})", "\n".join(audit) or "(no events)")]
