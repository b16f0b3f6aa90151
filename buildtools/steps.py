"""What makes a build step incremental: fingerprints of its inputs, stamps of
what last succeeded, writes only of real changes, and logged commands."""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
from pathlib import Path


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(functools.partial(handle.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(*parts: object) -> str:
    """A hash of files (by content) and plain values: the key of a build step."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for file in files:
                digest.update(str(file.relative_to(part if part.is_dir() else part.parent)).encode() + b"\0" + file.read_bytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\1")
    return digest.hexdigest()


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write only real changes, so unchanged outputs keep their mtime and ETag."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def copy_if_changed(src: Path, dst: Path) -> bool:
    if dst.exists() and dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime_ns >= src.stat().st_mtime_ns:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return True


def run(cmd: list[str], **kwargs) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


class Stamp:
    """Remembers the fingerprint a setup step last succeeded with."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fresh(self, key: str) -> bool:
        return self.path.exists() and self.path.read_text() == key

    def mark(self, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(key)
