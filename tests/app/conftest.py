"""Fixtures for the app's tests. These run twice: under CPython, and inside
Pyodide under Node (tests/test_app_in_pyodide.py), so they use only the app,
pytest and the standard library."""

import asyncio

import pytest

from edgebox import Host, Manifest
from fakes import MANIFEST_URL, MODULE_BYTES, MODULE_URL, ORIGIN, GOJS, FakePlatform, InlineLoop, manifest_data


@pytest.fixture
def run():
    loop = InlineLoop()

    def run_until_complete(awaitable):
        # Pyodide's WebLoop counts as always running; step aside for this one.
        outer = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            return loop.run_until_complete(awaitable)
        finally:
            asyncio.events._set_running_loop(outer)

    yield run_until_complete
    loop.close()


@pytest.fixture
def manifest() -> Manifest:
    return Manifest.parse(manifest_data(), url=MANIFEST_URL)


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform({MODULE_URL: MODULE_BYTES}, {"echo": lambda *a: list(a), "upper": str.upper})


@pytest.fixture
def make_host(platform):
    """make_host(manifest=None, **kwargs) -> (host, audit events list)."""

    def make(manifest=None, **kwargs):
        events = []
        host = Host(
            manifest or Manifest.parse(manifest_data(), url=MANIFEST_URL), platform,
            origin=ORIGIN, gojs_imports=GOJS, on_audit=events.append, **kwargs,
        )
        return host, events

    return make
