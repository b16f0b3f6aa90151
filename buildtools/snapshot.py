"""The Pyodide memory snapshot, made under Node from the very files dist/ serves."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from .paths import BUILD, PYODIDE_CORE, ROOT, pyodide_dir
from .steps import copy_if_changed, fingerprint, log, sha256_file


def build_snapshot(state: dict, wheels: list[Path]) -> Path:
    """A Pyodide memory snapshot with the wheels installed and the host's pure modules
    imported, made under Node from the very Pyodide files dist/ serves, stored without its
    zero pages (``sparse``). It is served beside them, named by its hash (so it may be
    cached for good)."""
    output = BUILD / "snapshot.bin"
    script = ROOT / "web" / "make-snapshot.mjs"
    key = fingerprint(*(pyodide_dir() / name for name in PYODIDE_CORE), *wheels, script, Path(__file__))
    if not (output.exists() and state.get("snapshot") == key):
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        result = subprocess.run(["node", str(script), str(pyodide_dir()), str(tmp), *map(str, wheels)],
                                cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"making the Pyodide snapshot failed:\n{result.stdout}{result.stderr}")
        tmp.write_bytes(sparse(tmp.read_bytes()))
        tmp.replace(output)
        state["snapshot"] = key
        state["snapshot-sha256"] = sha256_file(output)
        log(f"snapshot -> {output.relative_to(ROOT)} ({output.stat().st_size >> 20} MiB)")
    digest = state.get("snapshot-sha256") or sha256_file(output)
    served = pyodide_dir() / f"snapshot.{digest[:16]}.bin"
    if not served.exists():  # its name says its bytes
        copy_if_changed(output, served)
    return served


SPARSE_MAGIC = b"EBZ1"
SPARSE_PAGE = 4096


def sparse(data: bytes) -> bytes:
    """``data`` without its runs of all-zero 4 KiB pages, which web/worker.js's
    ``expandSnapshot`` puts back: about half of a Pyodide heap is zero pages, and a
    browser decoding them from its HTTP cache (brotli, on every load) pays for every
    byte, zero or not. Layout, little-endian: b"EBZ1", u32 length of ``data``, u32 run
    count, then (u32 offset, u32 length) per run of kept bytes, then those bytes."""
    zero = bytes(SPARSE_PAGE)
    runs: list[tuple[int, int]] = []
    for offset in range(0, len(data), SPARSE_PAGE):
        if data[offset:offset + SPARSE_PAGE] == zero[:min(SPARSE_PAGE, len(data) - offset)]:
            continue
        end = min(offset + SPARSE_PAGE, len(data))
        if runs and runs[-1][0] + runs[-1][1] == offset:
            runs[-1] = (runs[-1][0], end - runs[-1][0])
        else:
            runs.append((offset, end - offset))
    head = SPARSE_MAGIC + struct.pack("<II", len(data), len(runs)) + b"".join(struct.pack("<II", *run) for run in runs)
    return head + b"".join(data[start:start + length] for start, length in runs)


def sparse_length(path: Path) -> int:
    """The length of the heap that the sparse snapshot at ``path`` expands to."""
    with path.open("rb") as stored:
        head = stored.read(8)
    if head[:4] != SPARSE_MAGIC:
        raise ValueError(f"{path} is not a sparse snapshot")
    return struct.unpack_from("<I", head, 4)[0]
