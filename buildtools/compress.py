"""Precompressed siblings of dist/'s files: file.br (brotli) and file.gz (gzip),
written once per version of a file and kept only where they make it smaller.
`build.py serve`, nginx (brotli_static, gzip_static) and static hosts send them."""

from __future__ import annotations

import gzip
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .headers import CONTENT_TYPES, ENCODINGS, VARIANT_SUFFIXES
from .steps import write_if_changed

# Brotli's best (quality 11, a 16 MiB window) is 12-15% smaller than quality 9 on
# the snapshot and on Go modules, and the step runs once per version of a file.
BROTLI = {"quality": 11, "lgwin": 24}
MIN_BYTES = 1024  # below this a response's headers outweigh the saving


def brotli_bytes(data: bytes) -> bytes:
    import brotli

    return brotli.compress(data, **BROTLI)


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, 9, mtime=0)  # mtime 0: the same input, the same bytes


COMPRESSORS = {"br": brotli_bytes, "gzip": gzip_bytes}


def served_files(root: Path) -> list[Path]:
    """The files under ``root`` a server sends as themselves: not a precompressed
    sibling, nor build state or intermediates (names starting with a dot)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(VARIANT_SUFFIXES)
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def compress_tree(root: Path, state: dict) -> None:
    """Write the .br and .gz of every served file under ``root`` that changed since
    they were last written; drop variants whose file is gone or that would not be smaller."""
    done: dict = state.setdefault("compressed", {})
    files = [p for p in served_files(root) if p.suffix in CONTENT_TYPES and p.stat().st_size >= MIN_BYTES]
    for variant in (p for p in root.rglob("*") if p.name.endswith(VARIANT_SUFFIXES)):
        if not variant.with_suffix("").is_file():
            variant.unlink()
    jobs = []
    for path in files:
        key = f"{path.stat().st_size}:{path.stat().st_mtime_ns}"
        rel = str(path.relative_to(root))
        if done.get(rel) != key:
            jobs.append((path, rel, key))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # brotli lets go of the GIL
        results = [(rel, key, path, pool.submit(_compress_file, path)) for path, rel, key in jobs]
    for rel, key, path, future in results:
        future.result()
        done[rel] = key
    for rel in set(done) - {str(p.relative_to(root)) for p in files}:
        del done[rel]


def _compress_file(path: Path) -> None:
    data = path.read_bytes()
    for coding, suffix in ENCODINGS:
        variant = path.with_name(path.name + suffix)
        packed = COMPRESSORS[coding](data)
        if len(packed) < len(data):
            write_if_changed(variant, packed)
        elif variant.exists():
            variant.unlink()
