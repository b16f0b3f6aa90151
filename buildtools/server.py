"""The dev server: dist/ over HTTP/1.1 (keep-alive) with the header table of
headers.py, precompressed siblings chosen by Accept-Encoding, and ETags."""

from __future__ import annotations

import email.utils
import http.server
import os
import urllib.parse
from pathlib import Path

from .headers import ENCODINGS, accepted_encodings, content_type, response_headers
from .pages import script_hashes
from .paths import DIST


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the first root that has them, with EdgeBox's headers."""

    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    timeout = 30  # seconds an idle kept-alive connection holds its thread
    roots: list[Path] = [DIST]
    isolated = True
    quiet = False
    requests: list[str] = []
    redirects: dict[str, str] = {}

    def send_head(self):
        target = self.redirects.get(self.path)
        if target is not None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?")[0].endswith("/") and os.path.isfile(os.path.join(path, "index.html")):
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path) or path.endswith("/"):
            return super().send_head()  # directories (redirect, listing) and 404s as the standard library does
        return self._send_file(path)

    def _send_file(self, path: str):
        accepted = accepted_encodings(self.headers.get("Accept-Encoding"))
        variants = [(coding, path + suffix) for coding, suffix in ENCODINGS if os.path.isfile(path + suffix)]
        coding, chosen = next(((c, p) for c, p in variants if c in accepted), (None, path))
        try:
            handle = open(chosen, "rb")
        except OSError:
            self.send_error(404, "File not found")
            return None
        stat = os.fstat(handle.fileno())
        # One ETag per representation, as nginx makes them (the time and size of the file sent).
        etag = f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
        matches = self.headers.get("If-None-Match")
        not_modified = matches is not None and (matches.strip() == "*" or etag in [m.strip().removeprefix("W/") for m in matches.split(",")])
        self.send_response(304 if not_modified else 200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        if variants:
            self.send_header("Vary", "Accept-Encoding")
        if not_modified:
            handle.close()
            self.end_headers()
            return None
        if coding:
            self.send_header("Content-Encoding", coding)
        self.send_header("Content-Length", str(stat.st_size))
        self.end_headers()
        return handle

    def translate_path(self, path: str) -> str:
        for root in self.roots:
            self.directory = str(root)
            candidate = super().translate_path(path)
            if os.path.exists(candidate):
                return candidate
        self.directory = str(self.roots[0])
        return super().translate_path(path)

    def guess_type(self, path) -> str:
        return content_type(str(path)) or super().guess_type(path)

    def end_headers(self) -> None:
        url_path = urllib.parse.urlsplit(self.path).path
        for header, value in response_headers(url_path, isolated=self.isolated, script_hashes=self._script_hashes()).items():
            self.send_header(header, value)
        super().end_headers()

    def _script_hashes(self) -> str:
        """The CSP sources of the inline import map of the build among the roots."""
        return next((hashes for root in self.roots if (hashes := script_hashes(root))), "")

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
