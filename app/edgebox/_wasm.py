"""Reading and adjusting WebAssembly binaries before they are compiled.

The host checks a module's imports against what it provides (so a missing
capability is a load error naming it, never a silent ``undefined``) and caps
the module's memory at its policy's ``memory_mb``, which turns a runaway
allocation into a failed ``memory.grow`` inside the guest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import LimitError, LoadError

__all__ = ["Import", "imports", "leb128", "limit_memory", "with_source_map_url", "PAGE"]

PAGE = 65536
_MAGIC = b"\0asm\x01\0\0\0"
_CUSTOM_SECTION = 0
_IMPORT_SECTION = 2
_MEMORY_SECTION = 5
_KINDS = {0: "function", 1: "table", 2: "memory", 3: "global", 4: "tag"}


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise LoadError("not a valid WebAssembly module: truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def u32(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 35:
                raise LoadError("not a valid WebAssembly module: bad LEB128")

    def name(self) -> str:
        size = self.u32()
        if self.pos + size > self.end:
            raise LoadError("not a valid WebAssembly module: truncated name")
        self.pos += size
        return self.data[self.pos - size:self.pos].decode("utf-8", "replace")

    def limits(self) -> tuple[int, int, int | None]:
        flags = self.byte()
        minimum = self.u32()
        maximum = self.u32() if flags & 1 else None
        return flags, minimum, maximum


def _sections(data: bytes):
    if data[:8] != _MAGIC:
        raise LoadError("not a WebAssembly module (bad magic or version)")
    reader = _Reader(data, 8)
    while reader.pos < len(data):
        header_start = reader.pos
        section_id = reader.byte()
        size = reader.u32()
        start = reader.pos
        if start + size > len(data):
            raise LoadError("not a valid WebAssembly module: section runs past the end")
        yield section_id, header_start, start, start + size
        reader.pos = start + size


def leb128(value: int, width: int = 1) -> bytes:
    """Unsigned LEB128, as wasm encodes sizes and counts, in at least ``width``
    bytes (padded with continuation bytes, which wasm allows)."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        width -= 1
        out.append(b | (0x80 if value or width > 0 else 0))
        if not value and width <= 0:
            return bytes(out)


def imports(data: bytes) -> list[Import]:
    found = []
    for section_id, _, start, end in _sections(data):
        if section_id != _IMPORT_SECTION:
            continue
        reader = _Reader(data, start, end)
        for _ in range(reader.u32()):
            module, name, kind = reader.name(), reader.name(), reader.byte()
            if kind == 0:
                reader.u32()
            elif kind == 1:
                reader.byte()
                reader.limits()
            elif kind == 2:
                reader.limits()
            elif kind == 3:
                reader.byte()
                reader.byte()
            elif kind == 4:
                reader.byte()
                reader.u32()
            else:
                raise LoadError(f"not a valid WebAssembly module: import kind {kind}")
            found.append(Import(module, name, _KINDS[kind]))
    return found


def limit_memory(data: bytes, memory_mb: int) -> bytes:
    """``data`` with every defined memory's maximum lowered to ``memory_mb``.

    Bytes already within the limit come back as the same object: build.py caps
    modules at build time, so the usual case costs no copy, and bytes compiled
    ahead of time are still the bytes that run.
    """
    cap = memory_mb * 1024 * 1024 // PAGE
    for section_id, header_start, start, end in _sections(data):
        if section_id != _MEMORY_SECTION:
            continue
        reader = _Reader(data, start, end)
        rewritten = bytearray()
        count = reader.u32()
        rewritten += leb128(count)
        within = True
        for _ in range(count):
            flags, minimum, maximum = reader.limits()
            within = within and maximum is not None and maximum <= cap
            if flags & ~1:
                raise LoadError("shared or 64-bit memories are not supported")
            if minimum > cap:
                raise LimitError(f"the module needs {minimum * PAGE >> 20} MiB at start; its limit is {memory_mb} MiB (memory_mb)")
            # The new maximum keeps the old one's width, so no code offset moves: a debug
            # build's source map columns are byte offsets into the whole module.
            width = len(leb128(maximum)) if maximum is not None else 1
            rewritten += b"\x01" + leb128(minimum) + leb128(min(cap, maximum) if maximum is not None else cap, width)
        if within:
            return data
        section = bytes([_MEMORY_SECTION]) + leb128(len(rewritten)) + bytes(rewritten)
        return data[:header_start] + section + data[end:]
    return data


def with_source_map_url(data: bytes, url: str) -> bytes:
    """``data`` with a ``sourceMappingURL`` custom section naming ``url`` at its end
    (after every other section, so no code offset moves), replacing any the
    module carried. ``url`` must be absolute: a module compiled from bytes has
    no URL of its own for V8 to resolve a relative one against."""
    kept, position = [], 8
    for section_id, header_start, start, end in _sections(data):
        if section_id == _CUSTOM_SECTION and _Reader(data, start, end).name() == "sourceMappingURL":
            kept.append(data[position:header_start])
            position = end
    kept.append(data[position:])
    payload = _name_bytes("sourceMappingURL") + _name_bytes(url)
    return data[:8] + b"".join(kept) + bytes([_CUSTOM_SECTION]) + leb128(len(payload)) + payload


def _name_bytes(text: str) -> bytes:
    raw = text.encode()
    return leb128(len(raw)) + raw
