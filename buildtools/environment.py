"""Setup: the pinned .venv (Go comes with it) with the pytest plugin, node_modules, the Pyodide-side
wheels and Debian's chromium, each once, each skipped when its inputs are unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .paths import CHROMIUM, NGINX, NGINX_BROTLI_STATIC, NODE_MODULES, PYODIDE_WHEELS, ROOT, VENV, VENV_PYTHON
from .steps import Stamp, fingerprint, run


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


def ensure_testing_plugin() -> None:
    """The pytest plugin (testing/) as a wheel, installed into .venv without its
    dependencies (requirements.txt pins the same ones): `.venv/bin/pytest` anywhere loads it."""
    from .wheel import plugin_wheel

    wheel = plugin_wheel()
    key = fingerprint(wheel)
    stamp = Stamp(VENV / ".edgebox-testing")
    if not stamp.fresh(key):
        run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--force-reinstall", wheel])
        stamp.mark(key)


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


def ensure_browser_and_web_server() -> None:
    """Debian's chromium for the browser tests, and its nginx with the brotli_static
    module, which a test serves dist/ with through the generated configuration."""
    if CHROMIUM.exists() and NGINX.exists() and NGINX_BROTLI_STATIC.exists():
        return
    command = "apt-get update && apt-get install -y chromium nginx libnginx-mod-http-brotli-static"
    if os.geteuid() != 0:
        sys.exit(f"EdgeBox's browser tests need Debian's chromium and nginx. Run as root:\n    sudo sh -c '{command}'")
    run(["sh", "-c", f"DEBIAN_FRONTEND=noninteractive {command}"])


def ensure_wrk() -> bool:
    """Debian's wrk, the load generator of `bench --edge`; False when it is missing
    and cannot be installed (not root): the bench then uses its httpx client."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() != 0:
        print("[setup] wrk is missing (apt-get install -y wrk as root); using the httpx load generator", flush=True)
        return False
    try:
        run(["sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y wrk || "
                         "(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk)"])
    except subprocess.CalledProcessError:
        print("[setup] could not install wrk; using the httpx load generator", flush=True)
    return bool(shutil.which("wrk"))


def setup(*, browser: bool, load_generator: bool = False) -> None:
    ensure_venv()
    ensure_testing_plugin()
    ensure_node_modules()
    ensure_pyodide_wheels()
    if browser:
        ensure_browser_and_web_server()
    if load_generator:
        ensure_wrk()
