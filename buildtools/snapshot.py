"""The Pyodide memory snapshot, made under Node from the very files dist/ serves."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .paths import BOX, PYODIDE_CORE, ROOT
from .steps import fingerprint, log


def build_snapshot(state: dict, wheels: list[Path]) -> Path:
    """A Pyodide memory snapshot with the wheels installed and the host's pure modules
    imported, made under Node from the very Pyodide files dist/ serves."""
    output = BOX / "pyodide" / "snapshot.bin"
    script = ROOT / "web" / "make-snapshot.mjs"
    key = fingerprint(*(BOX / "pyodide" / name for name in PYODIDE_CORE), *wheels, script)
    if output.exists() and state.get("snapshot") == key:
        return output
    tmp = output.with_name(output.name + ".tmp")
    result = subprocess.run(["node", str(script), str(BOX / "pyodide"), str(tmp), *map(str, wheels)],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"making the Pyodide snapshot failed:\n{result.stdout}{result.stderr}")
    tmp.replace(output)
    state["snapshot"] = key
    log(f"snapshot -> {output.relative_to(ROOT)} ({output.stat().st_size >> 20} MiB)")
    return output
