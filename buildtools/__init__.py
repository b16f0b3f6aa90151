"""EdgeBox's build, one concept a module: paths, steps (what makes a step
incremental), environment (setup), go, wheel, snapshot, pages, dist (the whole
build), sourcemap (debug builds), server (the dev server), edge (the edge server),
bench, bench_edge, soak, cli. build.py is its command line;
the tests import what they need from here."""

from .dist import build
from .go import GoModule, build_module, compile_go_module, detect_abi, go_binary, go_root
from .paths import BOX, CHROMIUM, DIST, NGINX, NGINX_BROTLI_STATIC, PYODIDE_CORE, PYODIDE_WHEELS, ROOT, pyodide_version
from .server import make_server
from .sourcemap import make_debug, map_path, read_line_table, with_go_names
from .wheel import build_wheel

__all__ = ["BOX", "CHROMIUM", "DIST", "NGINX", "NGINX_BROTLI_STATIC", "PYODIDE_CORE", "PYODIDE_WHEELS", "ROOT", "GoModule", "build",
           "build_module", "build_wheel", "compile_go_module", "detect_abi", "go_binary", "go_root", "make_debug", "make_server",
           "map_path", "pyodide_version", "read_line_table", "with_go_names"]
