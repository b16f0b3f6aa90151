"""EdgeBox's build, one concept a module: paths, steps (what makes a step
incremental), environment (setup), go, wheel, snapshot, pages, dist (the whole
build), server (the dev server), bench, soak, cli. build.py is its command line;
the tests import what they need from here."""

from .dist import build
from .go import compile_go_module, detect_abi, go_binary, go_root
from .paths import BOX, CHROMIUM, DIST, NGINX, NGINX_BROTLI_STATIC, PYODIDE_CORE, PYODIDE_WHEELS, ROOT, pyodide_version
from .server import make_server
from .wheel import build_wheel

__all__ = ["BOX", "CHROMIUM", "DIST", "NGINX", "NGINX_BROTLI_STATIC", "PYODIDE_CORE", "PYODIDE_WHEELS", "ROOT", "build", "build_wheel", "compile_go_module",
           "detect_abi", "go_binary", "go_root", "make_server",
           "pyodide_version"]
