"""Edge fixtures: real uvicorn servers of `edgebox_edge` over a manifest with the test guests."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.edge_server import EdgeServer, write_edge_manifest


@pytest.fixture(scope="session")
def edge_manifest(tmp_path_factory) -> Path:
    return write_edge_manifest(tmp_path_factory.mktemp("edge"))


@pytest.fixture(scope="session")
def edge_server(edge_manifest, tmp_path_factory):
    server = EdgeServer(edge_manifest, tmp_path_factory.mktemp("edge-logs"))
    yield server
    server.stop()


@pytest.fixture
def fresh_edge_server(edge_manifest, tmp_path):
    """A server of its own, for tests that depend on its instances' memory (velocity)."""
    server = EdgeServer(edge_manifest, tmp_path)
    yield server
    server.stop()


def run_coroutine(coroutine):
    """``asyncio.run`` on a thread of its own: pytest-playwright's sync API keeps an
    event loop running on the main thread once a browser test has run in this process."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()
