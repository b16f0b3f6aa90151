"""The Pyodide memory snapshot, made under Node from the very files dist/ serves."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .paths import BUILD, PYODIDE_CORE, ROOT, pyodide_dir
from .steps import copy_if_changed, fingerprint, log, sha256_file


def build_snapshot(state: dict, wheels: list[Path]) -> Path:
    """A Pyodide memory snapshot with the wheels installed and the host's pure modules
    imported, made under Node from the very Pyodide files dist/ serves. It is served
    beside them, named by its hash (so it may be cached for good)."""
    output = BUILD / "snapshot.bin"
    script = ROOT / "web" / "make-snapshot.mjs"
    key = fingerprint(*(pyodide_dir() / name for name in PYODIDE_CORE), *wheels, script)
    if not (output.exists() and state.get("snapshot") == key):
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        result = subprocess.run(["node", str(script), str(pyodide_dir()), str(tmp), *map(str, wheels)],
                                cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"making the Pyodide snapshot failed:\n{result.stdout}{result.stderr}")
        tmp.replace(output)
        state["snapshot"] = key
        state["snapshot-sha256"] = sha256_file(output)
        log(f"snapshot -> {output.relative_to(ROOT)} ({output.stat().st_size >> 20} MiB)")
    digest = state.get("snapshot-sha256") or sha256_file(output)
    served = pyodide_dir() / f"snapshot.{digest[:16]}.bin"
    if not served.exists():  # its name says its bytes
        copy_if_changed(output, served)
    return served
