"""The jinja2 pages of dist/, and the subresource integrity they load the loader with.

A page loads its module script with ``integrity``, and an inline import map
(https://html.spec.whatwg.org/#import-map, its ``integrity`` member) gives the
hash of the loader and of every module the loader imports, so the browser runs
none of them if their bytes changed. dist/edgebox/importmap.json is that map, for
page authors; the CSP allows the inline copy by its sha256 (headers.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from .paths import BOX, DIST, PAGES, ROOT, WEB_LOADER_FILES, WEB_PAGE_FILES
from .steps import write_if_changed

IMPORT_MAP = BOX / "importmap.json"


def integrity(path: Path) -> str:
    """An SRI value: sha384 of the file, base64."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def inline_script_hash(text: str) -> str:
    """The CSP source that allows an inline script whose text is exactly ``text``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def script_hashes(root: Path = DIST) -> str:
    """The CSP sources for the inline scripts of the pages under ``root`` (its import map)."""
    import_map = root / IMPORT_MAP.relative_to(DIST)
    return inline_script_hash(import_map.read_text()) if import_map.exists() else ""


def write_import_map() -> str:
    """dist/edgebox/importmap.json: the loader's module graph by URL path, with integrity."""
    text = json.dumps({"integrity": {f"/edgebox/{name}": integrity(BOX / name) for name in WEB_LOADER_FILES}}, sort_keys=True)
    write_if_changed(IMPORT_MAP, text.encode())
    return text


def page_context() -> dict:
    """What base.html needs to load the loader: the import map with integrity, and the
    loader's modules to preload (fetched at once, not one import level after another)."""
    return {"importmap": write_import_map(), "preloads": [f"/edgebox/{name}" for name in WEB_LOADER_FILES]}


def render_pages() -> None:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "web" / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    context = {**page_context(), "integrity": {name: integrity(DIST / name) for name in WEB_PAGE_FILES}}
    for page in PAGES:
        write_if_changed(DIST / page, env.get_template(page).render(**context).encode())
