"""edgebox._sourcemap: a debug build's map, read back for a trap's Go frames."""

import pytest

from edgebox._lifecycle import classify_exit, trap_frames
from edgebox._sourcemap import SourceMap

# Columns 100 (main.go:5, f), 140 (main.go:7, f), end of f at 160, 200 (x/y.go:1, g).
MAP = ('{"version": 3, "sources": ["m/main.go", "x/y.go"], "names": ["f", "g"], '
       '"mappings": "oGAIAA,wCAEAA,oB,wCCNAC"}')


def test_an_offset_maps_to_the_mapping_at_or_before_it_within_its_function():
    source_map = SourceMap.parse(MAP)
    assert source_map.lookup(99) is None
    assert source_map.lookup(100) == {"function": "f", "file": "m/main.go", "line": 5}
    assert source_map.lookup(159) == {"function": "f", "file": "m/main.go", "line": 7}
    assert source_map.lookup(170) is None, "past f's end, before g: no function"
    assert source_map.lookup(10_000) == {"function": "g", "file": "x/y.go", "line": 1}
    with pytest.raises(ValueError):
        SourceMap.parse('{"version": 2, "mappings": ""}')


def test_a_trap_gets_go_frames_from_v8_s_wasm_frames():
    trace = ("RangeError: Maximum call stack size exceeded\n"
             "    at main.descend (wasm://wasm/0a1b2c3d:wasm-function[1800]:0x9c)\n"
             "    at $main.descend (wasm://wasm/0a1b2c3d:wasm-function[1800]:0x9d)\n"
             "    at wasm://wasm/0a1b2c3d:wasm-function[7]:0x20\n"
             "    at run (http://x/edgebox/instance-wasip1.js:54:14)")
    lookup = SourceMap.parse(MAP).lookup
    assert trap_frames(trace, lookup) == [{"function": "f", "file": "m/main.go", "line": 7}] * 2
    assert trap_frames(trace, None) == []
    crashed = classify_exit("m", "", "trap: Maximum call stack size exceeded", "wasip1", trace, lookup)
    assert crashed.code == "E_CRASHED" and len(crashed.frames) == 2
