"""The rendered pages load the loader with subresource integrity, and the CSP allows their inline import map by hash."""

import base64
import hashlib
import json
import re
import urllib.request

import buildtools as build
from buildtools.paths import WEB_LOADER_FILES


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_the_page_script_and_every_loader_module_carry_their_integrity(built):
    page = (built / "index.html").read_text()
    assert f'src="demo.js" integrity="{sri((built / "demo.js").read_bytes())}"' in page
    inline = re.search(r'<script type="importmap">(.*?)</script>', page).group(1)
    assert inline == (built / "edgebox" / "importmap.json").read_text()
    listed = json.loads(inline)["integrity"]
    assert set(listed) == {f"/edgebox/{name}" for name in WEB_LOADER_FILES}
    for url, value in listed.items():
        assert value == sri((built / url.lstrip("/")).read_bytes()), url
    # Every module the page's graph imports is in the map: the loader's own imports.
    for name in WEB_LOADER_FILES:
        for imported in re.findall(r'^import .*? from "\./([\w-]+\.js)";', (build.ROOT / "web" / name).read_text(), re.M | re.S):
            assert f"/edgebox/{imported}" in listed, (name, imported)
    # and is preloaded, all at once rather than one import level after another
    assert set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page)) == set(listed)


def test_the_csp_allows_the_inline_import_map_by_its_hash_and_nothing_else_inline(built, served):
    page = (built / "blank.html").read_text()
    inline = re.search(r'<script type="importmap">(.*?)</script>', page).group(1)
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode() + "'"
    with urllib.request.urlopen(served + "/blank.html") as response:
        csp = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'wasm-unsafe-eval' {digest};" in csp and "unsafe-inline" not in csp
    assert digest in (built / "deploy" / "nginx.conf").read_text() and digest in (built / "_headers").read_text()
