"""Debug builds of Go modules: a v3 source map from the module's own line table,
and a name section that spells functions the way Go does.

Go emits no DWARF for wasm (golang/go#33503), but its line table (pclntab) is
always in the binary. ``buildtools/wasmmap`` (a small Go program, standard
library only, built for this machine on first use) reads it with Go's own
``debug/gosym`` and walks the code section: one mapping per resume block of
every function, columns = byte offsets into the whole module file (what V8
reports for wasm), sources named by Go import path. This module adds the Go
files' text (``sourcesContent``) and rewrites the name section, whose names
Go's wasm linker sanitizes (``main.__scale_.apply`` for ``main.(*scale).apply``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .paths import CACHE, ROOT
from .steps import fingerprint, log

TOOL_SOURCE = ROOT / "buildtools" / "wasmmap"
_CODE = 10  # the code section's id
_FUNCTION_NAMES = 1  # the name section's subsection of function names


def map_path(wasm: Path) -> Path:
    """Where a module's source map lives: next to it, ``NAME.wasm.map``."""
    return wasm.with_name(wasm.name + ".map")


def wasmmap_binary() -> Path:
    """The wasmmap tool, built for the host from its own go.mod (once per source change)."""
    from .go import go_binary

    tool = CACHE / f"wasmmap-{fingerprint(TOOL_SOURCE)[:16]}"
    if not tool.exists():
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOWORK": "off", "GOFLAGS": "", "CGO_ENABLED": "0"}
        for key in ("GOOS", "GOARCH"):
            env.pop(key, None)
        tool.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([go_binary(), "build", "-o", str(tool), "."], cwd=TOOL_SOURCE, env=env,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"building {TOOL_SOURCE} failed:\n{result.stderr}")
    return tool


def read_line_table(wasm: Path) -> dict:
    """wasmmap's answer for ``wasm``: ``{sources, names, mappings, functions}``
    (``functions`` maps a wasm function index, as a string, to its Go name)."""
    result = subprocess.run([str(wasmmap_binary()), str(wasm)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"reading the Go line table of {wasm} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def source_text(source: str, roots: list[tuple[str, Path]], go_root: Path) -> str | None:
    """The text of a Go file named by import path (``crypto/hmac/hmac.go``):
    under one of ``roots`` (import path, directory), else the standard library."""
    for prefix, directory in roots:
        if source.startswith(prefix + "/"):
            file = directory / source[len(prefix) + 1:]
            break
    else:
        file = go_root / "src" / source
    return file.read_text(errors="replace") if file.is_file() else None


def _wasm():
    """The host's own wasm reader (app/edgebox/_wasm.py), as cap_memory uses it."""
    sys.path.insert(0, str(ROOT / "app"))
    from edgebox import _wasm

    return _wasm


def with_go_names(data: bytes, go_names: dict[int, str]) -> bytes:
    """``data`` whose name section calls each function by ``go_names`` (wasm
    function index to Go's spelling), other names kept. The name section is a
    custom section after the code, so no code offset moves."""
    wasm = _wasm()
    leb128 = wasm.leb128

    def name(text: str) -> bytes:
        return leb128(len(text.encode())) + text.encode()

    sections = list(wasm._sections(data))
    code_end = max((end for section_id, _, _, end in sections if section_id == _CODE), default=0)
    for section_id, header_start, start, end in sections:
        reader = wasm._Reader(data, start, end)
        if section_id != 0 or header_start < code_end or reader.name() != "name":
            continue
        names: dict[int, str] = {}
        others = b""
        while reader.pos < end:
            kind_at = reader.pos
            kind, size = reader.byte(), reader.u32()
            if kind == _FUNCTION_NAMES:
                sub = wasm._Reader(data, reader.pos, reader.pos + size)
                for _ in range(sub.u32()):
                    index = sub.u32()
                    names[index] = sub.name()
            else:
                others += data[kind_at:reader.pos + size]
            reader.pos += size
        names.update(go_names)
        entries = leb128(len(names)) + b"".join(leb128(i) + name(names[i]) for i in sorted(names))
        payload = name("name") + bytes([_FUNCTION_NAMES]) + leb128(len(entries)) + entries + others
        return data[:header_start] + b"\0" + leb128(len(payload)) + payload + data[end:]
    raise SystemExit("a debug build needs the name section: was it linked with -s?")


def make_debug(wasm: Path, roots: list[tuple[str, Path]], go_root: Path) -> Path:
    """Turn a freshly linked (unstripped) module into a debug build: Go names
    in its name section, and ``NAME.wasm.map`` next to it with the Go files'
    text, found under ``roots`` (import path, directory) or GOROOT. Returns the map."""
    started = time.monotonic()
    table = read_line_table(wasm)
    data = with_go_names(wasm.read_bytes(), {int(i): name for i, name in table["functions"].items()})
    wasm.write_bytes(data)
    source_map = {
        "version": 3,
        "file": wasm.name,
        "sources": table["sources"],
        "sourcesContent": [source_text(source, roots, go_root) for source in table["sources"]],
        "names": table["names"],
        "mappings": table["mappings"],
    }
    out = map_path(wasm)
    out.write_text(json.dumps(source_map, separators=(",", ":")))
    log(f"source map {out.name}: {len(table['sources'])} Go files, {len(table['names'])} functions "
        f"in {time.monotonic() - started:.2f} s")
    return out
