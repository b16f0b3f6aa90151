"""_wasm: reading a module's imports and capping its memory, on hand-made binaries."""

import pytest

from edgebox import LimitError, LoadError
from edgebox._wasm import PAGE, Import, _Reader, _sections, imports, leb128, limit_memory, with_source_map_url

MAGIC = b"\0asm\x01\0\0\0"


def name(text: str) -> bytes:
    return leb128(len(text)) + text.encode()


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + leb128(len(payload)) + payload


def import_section(*entries: bytes) -> bytes:
    return section(2, leb128(len(entries)) + b"".join(entries))


def test_leb128_matches_the_spec_examples():
    assert leb128(0) == b"\x00"
    assert leb128(127) == b"\x7f"
    assert leb128(128) == b"\x80\x01"
    assert leb128(624485) == b"\xe5\x8e\x26"


def test_every_kind_of_import_is_read_and_skipped_correctly():
    data = MAGIC + import_section(
        name("env") + name("f") + b"\x00" + leb128(300),          # function, type index in LEB128
        name("env") + name("t") + b"\x01\x70" + b"\x01\x01\x05",  # table: funcref, min 1 max 5
        name("env") + name("m") + b"\x02" + b"\x00\x02",          # memory: min 2
        name("env") + name("g") + b"\x03\x7f\x01",                # global: i32, mutable
        name("env") + name("e") + b"\x04\x00" + leb128(2),        # tag: attribute, type index
    ) + section(0, name("custom") + b"ignored")
    assert imports(data) == [Import("env", "f", "function"), Import("env", "t", "table"), Import("env", "m", "memory"),
                             Import("env", "g", "global"), Import("env", "e", "tag")]
    assert str(imports(data)[0]) == "env.f"


@pytest.mark.parametrize(("data", "message"), [
    (b"\0asm\x02\0\0\0", "bad magic or version"),
    (b"not wasm at all", "bad magic or version"),
    (MAGIC + b"\x02\x10\x00", "section runs past the end"),
    (MAGIC + b"\x02", "truncated"),
    (MAGIC + b"\x02" + b"\xff" * 6 + b"\x01", "bad LEB128"),
    (MAGIC + import_section(name("env") + name("f") + b"\x07"), "import kind 7"),
    (MAGIC + section(2, b"\x01\x05ab"), "truncated name"),
    (MAGIC + section(2, b"\x01" + name("env")), "truncated"),
])
def test_a_malformed_module_is_a_load_error_that_says_why(data, message):
    with pytest.raises(LoadError, match=message):
        imports(data)


def memory(*limits: bytes) -> bytes:
    return section(5, leb128(len(limits)) + b"".join(limits))


def read_memory(data: bytes) -> bytes:
    start = data.index(b"\x05", len(MAGIC))
    return data[start:]


def test_memory_without_a_maximum_gets_the_cap():
    capped = limit_memory(MAGIC + memory(b"\x00\x02"), 1)
    assert read_memory(capped) == memory(b"\x01\x02" + leb128(1024 * 1024 // PAGE))


def test_a_larger_maximum_is_lowered_and_a_smaller_one_kept():
    # 32 pages in the two bytes 1000 took: no later byte moves (a debug build's map counts them).
    lowered = limit_memory(MAGIC + memory(b"\x01\x01" + leb128(1000)), 2)
    assert read_memory(lowered) == memory(b"\x01\x01\xa0\x00")
    assert len(lowered) == len(MAGIC + memory(b"\x01\x01" + leb128(1000)))
    within = MAGIC + memory(b"\x01\x01\x10")
    assert limit_memory(within, 2) is within


def test_a_module_without_memory_is_returned_as_is():
    data = MAGIC + section(1, b"\x00")
    assert limit_memory(data, 1) is data


def test_a_module_that_needs_more_than_its_limit_at_start_is_a_limit_error():
    with pytest.raises(LimitError, match="needs 2 MiB at start; its limit is 1 MiB"):
        limit_memory(MAGIC + memory(b"\x00" + leb128(32)), 1)


@pytest.mark.parametrize("flags", [b"\x03", b"\x04", b"\x05"])
def test_shared_and_64_bit_memories_are_refused(flags):
    with pytest.raises(LoadError, match="shared or 64-bit"):
        limit_memory(MAGIC + memory(flags + b"\x01\x02"), 1)


def custom_sections(data: bytes) -> list[tuple[str, bytes]]:
    found = []
    for section_id, _, start, end in _sections(data):
        if section_id == 0:
            reader = _Reader(data, start, end)
            found.append((reader.name(), data[reader.pos:end]))
    return found


def test_a_source_map_url_is_appended_last_and_replaces_an_old_one():
    code = section(10, b"\x01\x02\x00\x0b")
    url = "http://127.0.0.1:8000/edgebox/modules/x.wasm.map"
    named = with_source_map_url(MAGIC + code, url)
    assert named.startswith(MAGIC + code), "code offsets stay where the map says"
    assert custom_sections(named) == [("sourceMappingURL", leb128(len(url)) + url.encode())]
    again = with_source_map_url(named, "http://other/y.map")
    assert custom_sections(again) == [("sourceMappingURL", leb128(18) + b"http://other/y.map")]
