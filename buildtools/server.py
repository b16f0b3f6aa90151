"""The dev server: dist/ with the headers cross-origin isolation needs."""

from __future__ import annotations

import http.server
import os
from pathlib import Path

from .paths import DIST


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
    ".map": "application/json",  # a debug build's source map
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".whl": "application/zip",
    ".zip": "application/zip",
}


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
