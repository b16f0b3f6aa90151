"""The snapshot's sparse form (buildtools/snapshot.py), read back as web/worker.js reads it."""

import json
import struct

import buildtools as build
from buildtools.snapshot import SPARSE_MAGIC, SPARSE_PAGE, sparse


def expand(stored: bytes) -> bytes:
    """web/worker.js expandSnapshot, in Python."""
    assert stored[:4] == SPARSE_MAGIC
    length, count = struct.unpack_from("<II", stored, 4)
    heap = bytearray(length)
    at = 12 + 8 * count
    for i in range(count):
        offset, size = struct.unpack_from("<II", stored, 12 + 8 * i)
        heap[offset:offset + size] = stored[at:at + size]
        at += size
    assert at == len(stored)
    return bytes(heap)


def test_zero_pages_are_left_out_and_everything_else_comes_back():
    page = lambda byte: bytes([byte]) * SPARSE_PAGE  # noqa: E731
    # runs of kept pages, zero pages between them, a page zero but for its last byte, a short tail
    heap = page(1) + page(2) + bytes(3 * SPARSE_PAGE) + bytes(SPARSE_PAGE - 1) + b"\x07" + bytes(2 * SPARSE_PAGE) + b"tail"
    stored = sparse(heap)
    assert expand(stored) == heap
    assert struct.unpack_from("<II", stored, 4) == (len(heap), 3)  # [0, 2 pages), the 6th page, the tail
    assert len(stored) == 12 + 3 * 8 + 3 * SPARSE_PAGE + 4


def test_all_zero_and_empty():
    assert expand(sparse(bytes(5 * SPARSE_PAGE))) == bytes(5 * SPARSE_PAGE)
    assert len(sparse(bytes(5 * SPARSE_PAGE))) == 12
    assert expand(sparse(b"")) == b""


def test_the_served_snapshot_is_sparse(built):
    runtime = json.loads((build.BOX / "runtime.json").read_text())
    stored = (build.BOX / runtime["snapshot"]).read_bytes()
    heap = expand(stored)
    assert len(stored) < 0.7 * len(heap)  # about half of a Pyodide heap is zero pages
    assert heap[:4] != SPARSE_MAGIC
    assert runtime["snapshotHeapBytes"] == len(heap)  # the worker allocates the heap before the snapshot arrives
