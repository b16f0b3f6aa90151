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
import time
from pathlib import Path

from .paths import CACHE, ROOT
from .steps import fingerprint, log

TOOL_SOURCE = ROOT / "buildtools" / "wasmmap"
_NAME_SECTION = b"name"
_FUNCTION_NAMES = 1


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


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_leb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _name(text: str) -> bytes:
    raw = text.encode()
    return _leb128(len(raw)) + raw


def with_go_names(data: bytes, go_names: dict[int, str]) -> bytes:
    """``data`` whose name section calls each function by ``go_names`` (wasm
    function index to Go's spelling), other names kept. The name section is a
    custom section after the code, so no code offset moves."""
    pos, sections = 8, []
    while pos < len(data):
        start = pos
        section_id = data[pos]
        size, body = _read_leb(data, pos + 1)
        pos = body + size
        sections.append((section_id, start, body, pos))
    code_end = max((end for section_id, _, _, end in sections if section_id == 10), default=0)
    for section_id, start, body, end in sections:
        if section_id != 0 or start < code_end:
            continue
        name_len, at = _read_leb(data, body)
        if data[at:at + name_len] != _NAME_SECTION:
            continue
        at += name_len
        names: dict[int, str] = {}
        others = b""
        while at < end:
            kind = data[at]
            size, sub = _read_leb(data, at + 1)
            if kind == _FUNCTION_NAMES:
                count, p = _read_leb(data, sub)
                for _ in range(count):
                    index, p = _read_leb(data, p)
                    length, p = _read_leb(data, p)
                    names[index] = data[p:p + length].decode("utf-8", "replace")
                    p += length
            else:
                others += data[at:sub + size]
            at = sub + size
        names.update(go_names)
        entries = b"".join(_leb128(i) + _name(names[i]) for i in sorted(names))
        function_names = bytes([_FUNCTION_NAMES]) + _leb128(len(_leb128(len(names)) + entries)) + _leb128(len(names)) + entries
        payload = _name("name") + function_names + others
        section = b"\0" + _leb128(len(payload)) + payload
        return data[:start] + section + data[end:]
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
