"""The EdgeBox project a test session runs against: its built dist/, and its own
build code (buildtools, the code behind `build.py module`) to compile Go modules."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

# Written into the wheel by buildtools/wheel.py: the project the wheel was built from.
_ORIGIN = Path(__file__).with_name("_origin.json")


class ProjectError(Exception):
    """No usable EdgeBox project or dist/ (the message says what to run)."""


class CompileError(Exception):
    """A Go module did not compile; the message lists the compiler's file:line: errors."""


def is_project(root: Path) -> bool:
    return (root / "buildtools" / "go.py").is_file() and (root / "sdk" / "go.mod").is_file()


def find_root(dist: Path | None) -> Path:
    """The project that built ``dist`` (its parent), else the one this plugin was built from."""
    if dist is not None and is_project(dist.resolve().parent):
        return dist.resolve().parent
    recorded = Path(json.loads(_ORIGIN.read_text())["root"]) if _ORIGIN.is_file() else None
    if recorded is not None and is_project(recorded):
        return recorded
    raise ProjectError(f"EdgeBox project not found (this plugin was built from {recorded}); "
                       "pass --edgebox-dist PROJECT/dist of a project built with `python3 build.py build`")


def _load_buildtools(root: Path) -> ModuleType:
    """The project's own buildtools package, imported from ``root`` without putting
    the project's directory (its tests/, build.py) on sys.path."""
    loaded = sys.modules.get("buildtools")
    if loaded is not None:
        if Path(loaded.__file__).resolve().parent.parent == root:
            return loaded
        raise ProjectError(f"another buildtools ({loaded.__file__}) is already imported; EdgeBox's is in {root}")
    spec = importlib.util.spec_from_file_location("buildtools", root / "buildtools" / "__init__.py",
                                                  submodule_search_locations=[str(root / "buildtools")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["buildtools"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["buildtools"]
        raise
    return module


def error_classes(root: Path) -> Any:
    """The project's error tree (app/edgebox/_errors.py): the classes calls raise."""
    app = str(root / "app")
    if app not in sys.path:
        sys.path.insert(0, app)  # as buildtools does to read policies
    return importlib.import_module("edgebox")


@dataclass(frozen=True)
class Module:
    """A compiled module ready to serve: ``url`` (same origin), ``abi``, ``sha256``, ``policy``."""

    name: str
    file: Path
    url: str
    abi: str
    sha256: str
    policy: dict = field(default_factory=dict)

    def option(self) -> dict:
        """What ``EdgeBox.start({modules: {name: ...}})`` takes for it."""
        return {"url": self.url, "abi": self.abi, "sha256": self.sha256, "policy": self.policy}


class Project:
    """A built dist/ plus the build code of the project it came from.

    ``served`` is a directory the test server serves beside dist/ (the compiled
    modules go to ``served/edgebox-testing/``)."""

    def __init__(self, dist: Path | None, served: Path, rootdir: Path) -> None:
        self.root = find_root(dist)
        self.dist = (dist or self.root / "dist").resolve()
        if not (self.dist / "edgebox" / "edgebox.js").is_file():
            raise ProjectError(f"{self.dist} is not a built EdgeBox dist/: run `python3 build.py build` in {self.root}")
        self.served = served
        self.rootdir = rootdir
        self._build: ModuleType | None = None
        self._compiled: dict[tuple, Module] = {}

    @property
    def errors(self) -> Any:
        return error_classes(self.root)

    @property
    def build(self) -> ModuleType:
        if self._build is None:
            self._build = _load_buildtools(self.root)
        return self._build

    def module(self, path: str | Path, *, abi: str | None = None, policy: dict | None = None, name: str | None = None,
               base: Path | None = None) -> Module:
        """Compile a Go module directory (as `build.py module DIR` does), or take a ``.wasm``.

        ``path`` is absolute, or relative to the pytest rootdir, else to the current
        directory, else to ``base`` (the test file's directory). ``policy`` defaults to the directory's policy.json.
        A ``.wasm`` is wasip1 when it imports WASI, else js, unless ``abi`` says.
        Raises CompileError (compiler errors as PATH:LINE:COL lines), ProjectError, ConfigError."""
        source = self._locate(Path(path), base)
        name = name or source.stem
        if not re.match(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", name):
            raise ValueError(f"module name {name!r}: 1-64 letters, digits, '_', '.', '-', starting with a letter")
        if policy is None:
            policy_file = source / "policy.json"
            policy = json.loads(policy_file.read_text()) if source.is_dir() and policy_file.is_file() else {}
        error_classes(self.root).Policy.parse(policy, f"module {name} policy")  # ConfigError naming the field
        if source.is_file():
            if source.suffix != ".wasm":
                raise ValueError(f"{source}: a Go module directory or a .wasm file")
            data = source.read_bytes()
            wasi = any(i.module == "wasi_snapshot_preview1" for i in importlib.import_module("edgebox._wasm").imports(data))
            return self._serve(name, data, abi or ("wasip1" if wasi else "js"), policy)
        abi = abi or self.build.detect_abi(source)
        steps = importlib.import_module("buildtools.steps")  # loaded with the package
        key = (source, abi, steps.fingerprint(source))
        if key not in self._compiled:
            out = self.served / ".compiled" / f"{name}-{abi}-{key[2][:16]}.wasm"
            try:
                self.build.build_module(self.build.GoModule(name, source, abi, False, out))
            except SystemExit as failure:
                raise CompileError(self._compiler_errors(str(failure), source, abi)) from None
            self._compiled[key] = self._serve(name, out.read_bytes(), abi, {})
        return Module(**{**self._compiled[key].__dict__, "name": name, "policy": policy})

    def _locate(self, path: Path, base: Path | None) -> Path:
        candidates = [path] if path.is_absolute() else [*(d / path for d in dict.fromkeys([self.rootdir, Path.cwd(), base]) if d)]
        for candidate in candidates:
            if candidate.exists():
                return candidate.resolve()
        raise FileNotFoundError(f"Go module {path}: not found (looked in {', '.join(str(c) for c in candidates)})")

    def _serve(self, name: str, data: bytes, abi: str, policy: dict) -> Module:
        digest = hashlib.sha256(data).hexdigest()
        file = self.served / "edgebox-testing" / f"{name}.{digest[:16]}.wasm"
        file.parent.mkdir(parents=True, exist_ok=True)
        if not file.exists():
            file.write_bytes(data)
        return Module(name, file, f"/edgebox-testing/{file.name}", abi, digest, policy)

    def _compiler_errors(self, output: str, source: Path, abi: str) -> str:
        """Go's errors name files relative to the package directory: name them from
        the rootdir (or absolutely), so the message points at the Go file and line."""
        def place(match: re.Match) -> str:
            file = (source / match.group(1)).resolve()
            return f"{self._shown(file)}:{match.group(2)}"

        lines = output.splitlines()[1:]  # the first is buildtools' own "go build DIR (abi) failed:"
        errors = [re.sub(r"^((?:\.\.?/)?[^\s:]+\.go):(\d+(?::\d+)?)", place, line) for line in lines
                  if line.strip() and not line.startswith("# ")]
        return f"Go module {self._shown(source)} does not compile ({abi}):\n" + "\n".join(f"  {e}" for e in errors)

    def _shown(self, path: Path) -> str:
        return str(path.relative_to(self.rootdir)) if path.is_relative_to(self.rootdir) else str(path)
