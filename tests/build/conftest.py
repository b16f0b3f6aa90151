"""A built dist/ and the dev server over it, shared by a module's tests."""

import json
import threading

import pytest

import buildtools as build


@pytest.fixture(scope="module")
def built():
    build.build()
    return build.DIST


@pytest.fixture(scope="module")
def served(built):
    server = build.make_server([built])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def module_url(built):
    """module_url(name): the URL path dist/ serves a module under (its file name holds its hash)."""
    manifest = json.loads((built / "edgebox" / "manifest.json").read_text())
    return lambda name: "/edgebox/" + {m["name"]: m for m in manifest["modules"]}[name]["url"]
