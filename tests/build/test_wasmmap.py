"""buildtools/wasmmap + buildtools/sourcemap.py: a debug build's source map and
Go names, checked against the Go compiler's own view of the same package.

The compiler's assembly listing (``-gcflags=-S``) prints every wasm instruction
of a function with its PC (the resume-block number B) and file:line. From it
the test derives, independently of pclntab, what each resume block must map to:
the block starts after each `end` closing the dispatcher's blocks; its first B
is that of its first instruction; pclntab gives a B the line of the last
instruction carrying it. The map built from the linked module must agree.
"""

import os
import re
import subprocess

import pytest

import buildtools as build
from buildtools.paths import GO_DEBUG_FLAGS, GO_ENV

GUESTS = build.ROOT / "tests" / "guests"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def decode_mappings(mappings: str, ends: bool = False) -> list[tuple[int, ...]]:
    """The v3 mappings of a one-line map as absolute (column, source, line, column, name);
    the one-field segments that end a function's last mapping (column,) only if ``ends``."""
    found, state = [], [0] * 5
    for segment in mappings.split(","):
        values, value, shift = [], 0, 0
        for char in segment:
            digit = B64.index(char)
            value |= (digit & 31) << shift
            shift += 5
            if not digit & 32:
                values.append(-(value >> 1) if value & 1 else value >> 1)
                value = shift = 0
        for i, v in enumerate(values):
            state[i] += v
        if len(values) == 5 or ends:
            found.append(tuple(state[:len(values)]))
    return found


def lines_by_function(listing: str) -> dict[str, list[int]]:
    """From an -S listing: per function, the line of its entry, of its first statements
    (B = 1, when the entry block reaches it), then of each resume block."""
    functions = {}
    for block in re.split(r"\n(?=\S)", listing):
        head = re.match(r"(\S+) STEXT", block)
        if not head:
            continue
        code = [(int(m[1]), int(m[2]), m[3], m[4] or "") for m in
                re.finditer(r"^\t0x[0-9a-f]+ (\d+) \(.*:(\d+)\)\t(\w+)(?:\t(.*))?$", block, re.M)
                if m[3] not in ("TEXT", "FUNCDATA", "PCDATA")]
        line_of = {pc: line for pc, line, _, _ in code}  # the last instruction with a PC gives its line
        starts, open_blocks, ended = [0], [], 0
        for k, (pc, line, op, arg) in enumerate(code):
            if pc == 1 and code[k - 1][0] == 0 and ended <= 1 and "End" not in (op, code[k - 1][2]):
                starts.append(1)  # the entry block's statements, once the frame is set up
            if op in ("Block", "Loop", "If"):
                open_blocks.append(False)
            elif op == "BrTable" and code[k - 1][2:] == ("Get", "PC_B"):
                run = next((i for i in range(k - 2, -1, -1) if code[i][2] != "Block"), -1)
                for i in range(len(open_blocks) - (k - 2 - run), len(open_blocks)):
                    open_blocks[i] = True
            elif op == "End" and open_blocks.pop():
                starts.append(code[k + 1][0])
                ended += 1
        functions[head[1]] = [line_of[pc] for pc in starts]
    return functions


@pytest.fixture(scope="module")
def debuggee(tmp_path_factory):
    """The debuggee built as a debug build is, with the compiler's listing of its own packages."""
    scratch = tmp_path_factory.mktemp("debuggee")
    (scratch / "go.work").write_text(f"go 1.27\n\nuse (\n\t{GUESTS}\n\t{build.ROOT / 'sdk'}\n)\n")
    env = {**os.environ, **GO_ENV, "GOOS": "wasip1", "GOWORK": str(scratch / "go.work")}
    wasm = scratch / "debuggee.wasm"
    result = subprocess.run([build.go_binary(), "build", *GO_DEBUG_FLAGS, "-buildmode=c-shared",
                             "-gcflags=edgebox.dev/testguests/...=-N -l -S", "-o", str(wasm), "."],
                            cwd=GUESTS / "debuggee", env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return wasm, result.stderr


def test_every_resume_block_maps_to_the_line_the_compiler_gave_it(debuggee):
    wasm, listing = debuggee
    expected = lines_by_function(listing)
    assert {"main.(*scale).apply", "main.offset", "main.shout", "main.explode"} <= set(expected)
    table = build.read_line_table(wasm)
    got: dict[str, list[int]] = {}
    for _, source, line, _, name in decode_mappings(table["mappings"]):
        got.setdefault(table["names"][name], []).append(line + 1)
        if table["names"][name].startswith("main."):
            assert table["sources"][source] == "edgebox.dev/testguests/debuggee/main.go"
    for function, lines in expected.items():
        assert got[function] == lines, function
    assert len(expected["main.text"]) > 10, "a function with many calls has a block for each"


def test_columns_are_byte_offsets_of_the_function_bodies(debuggee):
    wasm, _ = debuggee
    table = build.read_line_table(wasm)
    data = wasm.read_bytes()
    apply_index = int(next(i for i, name in table["functions"].items() if name == "main.(*scale).apply"))
    columns = [c for c, _, _, _, n in decode_mappings(table["mappings"]) if table["names"][n] == "main.(*scale).apply"]
    assert columns == sorted(columns) and len(columns) == 6
    # The entry is the body's first instruction, after its locals: here `global.get 0` (SP, 0x23 0x00).
    assert data[columns[0]:columns[0] + 2] == b"\x23\x00"
    # The statements start once the frame is set (`global.set 0`, 0x24 0x00);
    # each resume block right after an `end` (0x0b).
    assert data[columns[2] - 2:columns[2]] == b"\x24\x00"
    assert all(data[c - 1] == 0x0b for c in columns[1:2] + columns[3:])
    assert apply_index > 0


def test_the_name_section_spells_functions_as_go_does(debuggee, tmp_path):
    wasm, _ = debuggee
    table = build.read_line_table(wasm)
    renamed = build.with_go_names(wasm.read_bytes(), {int(i): n for i, n in table["functions"].items()})
    assert b"main.__scale_.apply" in wasm.read_bytes(), "the linker's sanitized spelling"
    assert b"main.(*scale).apply" in renamed and b"main.__scale_.apply" not in renamed
    code_end = wasm.read_bytes().index(b"\x04name") - 2
    assert renamed[:code_end] == wasm.read_bytes()[:code_end], "no byte before the name section moves"


def test_a_function_s_last_mapping_ends_with_its_body(debuggee):
    wasm, _ = debuggee
    table = build.read_line_table(wasm)
    data = wasm.read_bytes()
    segments = decode_mappings(table["mappings"], ends=True)
    ends = [i for i, segment in enumerate(segments) if len(segment) == 1]
    assert len(ends) == len({segment[4] for segment in segments if len(segment) == 5})
    for i in ends:
        assert data[segments[i][0] - 1] == 0x0b, "a function body ends with `end`"
        assert i + 1 == len(segments) or segments[i + 1][4] != segments[i - 1][4], "the next mapping is another function's"
