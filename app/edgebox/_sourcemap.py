"""Reading a debug build's source map: a wasm code offset to the Go function,
file and line (Source Map Revision 3; for wasm every mapping is on line 1 and
its column is a byte offset into the whole module, as V8 reports positions).

The host reads it only for a debug build that trapped (``_lifecycle.trap_frames``):
a wasm trap (a stack overflow, ``unreachable``) reaches JavaScript with wasm
offsets, which Go's runtime never saw, so Go printed no traceback for it.
"""

from __future__ import annotations

import bisect
import json
from typing import Any

__all__ = ["SourceMap"]

_BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


class SourceMap:
    """The first line of a v3 map as a sorted table: ``lookup(offset)`` gives
    the mapping at or before ``offset`` as ``{function, file, line}``."""

    def __init__(self, sources: list[str], names: list[str], mappings: str) -> None:
        self._sources, self._names = sources, names
        self._columns: list[int] = []
        self._rows: list[tuple[int, int, int]] = []  # (source, line, name), -1 when absent
        state = [0, 0, 0, 0, 0]
        for segment in mappings.split(";", 1)[0].split(","):
            values = _vlq(segment)
            if not values:
                continue
            for i, value in enumerate(values):
                state[i] += value
            self._columns.append(state[0])
            self._rows.append((state[1], state[2], state[4]) if len(values) >= 5 else
                              (state[1], state[2], -1) if len(values) >= 4 else (-1, -1, -1))

    @classmethod
    def parse(cls, text: str | bytes) -> "SourceMap":
        """A map from its JSON text; ValueError if it is not a v3 map."""
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 3 or not isinstance(data.get("mappings"), str):
            raise ValueError("not a version 3 source map")
        return cls([str(s) for s in data.get("sources") or []], [str(n) for n in data.get("names") or []], data["mappings"])

    def lookup(self, offset: int) -> dict[str, Any] | None:
        at = bisect.bisect_right(self._columns, offset) - 1
        if at < 0:
            return None
        source, line, name = self._rows[at]
        if not 0 <= source < len(self._sources):
            return None
        return {"function": self._names[name] if 0 <= name < len(self._names) else "",
                "file": self._sources[source], "line": line + 1}


def _vlq(segment: str) -> list[int]:
    values, value, shift = [], 0, 0
    for char in segment:
        digit = _BASE64.get(char)
        if digit is None:
            raise ValueError(f"bad base64 VLQ digit {char!r}")
        value |= (digit & 31) << shift
        shift += 5
        if not digit & 32:
            values.append(-(value >> 1) if value & 1 else value >> 1)
            value = shift = 0
    return values
