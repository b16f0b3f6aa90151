"""The one table of what dist/ is served with: isolation and security headers,
content types, caching rules and precompressed encodings. `build.py serve`
answers from it, and the build writes it out for real servers: the directives
of an nginx `server` block (dist/deploy/nginx.conf) and a `_headers` file for
static hosts that read that format.

Caching: a URL under an immutable prefix names its content (Pyodide's files sit
under their version, the snapshot and the modules under a hash of their bytes),
so browsers keep it for a year without asking again; everything else (pages,
the loader, the manifest) is revalidated on every use with its ETag.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CACHE_IMMUTABLE", "CACHE_REVALIDATE", "CONTENT_TYPES", "ENCODINGS", "IMMUTABLE_PREFIXES", "SECURITY_HEADERS", "VARIANT_SUFFIXES",
           "accepted_encodings", "cache_control", "content_type", "headers_file", "nginx_conf", "response_headers",
           "security_headers"]

SECURITY_HEADERS = {
    # Cross-origin isolation (SharedArrayBuffer): the page and every worker script.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    # Only same-origin pages may embed these files (require-corp asks each of them).
    "Cross-Origin-Resource-Policy": "same-origin",
    # No 'unsafe-eval': guests and Pyodide need only WebAssembly compilation.
    # SCRIPT_HASHES is the page's inline import map, allowed by its hash.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' SCRIPT_HASHES; worker-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
}

CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
# Revalidate every time: a rebuilt page, loader or manifest is never served stale,
# and a 304 keeps the transfer to a few hundred bytes.
CACHE_REVALIDATE = "no-cache"
# URL prefixes whose files are named by their version or their hash.
IMMUTABLE_PREFIXES = ("/edgebox/pyodide/", "/edgebox/modules/")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",  # a debug build's source map
    ".css": "text/css",
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".bin": "application/octet-stream",
    ".png": "image/png",
}

# Precompressed siblings (file.br, file.gz), best first; the build writes them
# for every file they make smaller.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
VARIANT_SUFFIXES = tuple(suffix for _, suffix in ENCODINGS)


def content_type(path: str) -> str | None:
    return CONTENT_TYPES.get(Path(path).suffix)


def cache_control(url_path: str) -> str:
    return CACHE_IMMUTABLE if url_path.startswith(IMMUTABLE_PREFIXES) else CACHE_REVALIDATE


def security_headers(script_hashes: str = "") -> dict[str, str]:
    """SECURITY_HEADERS with the CSP sources of the pages' inline scripts (pages.inline_script_hash)."""
    csp = SECURITY_HEADERS["Content-Security-Policy"].replace(" SCRIPT_HASHES", f" {script_hashes}" if script_hashes else "")
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp}


def response_headers(url_path: str, *, isolated: bool = True, script_hashes: str = "") -> dict[str, str]:
    """The headers every response for ``url_path`` carries (beyond its type, length and encoding)."""
    return {**(security_headers(script_hashes) if isolated else {}), "Cache-Control": cache_control(url_path)}


def accepted_encodings(accept_encoding: str | None) -> set[str]:
    """The content codings an ``Accept-Encoding`` value accepts (RFC 9110 12.5.3):
    those listed with a non-zero q, and those a ``*`` with a non-zero q covers."""
    listed: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, _, params = item.strip().partition(";")
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        listed[coding.strip().lower()] = q
    wildcard = listed.pop("*", 0.0)
    return {coding for coding, _ in ENCODINGS if listed.get(coding, wildcard) > 0}


def nginx_conf(script_hashes: str = "") -> str:
    """The directives of an nginx ``server`` block, for a block that sets only
    ``listen`` and ``root`` (inside an ``http`` block that includes mime.types).
    Each location repeats every header: nginx drops a level's ``add_header``s
    as soon as a nested level has one of its own."""
    types = {}
    for suffix, value in CONTENT_TYPES.items():
        types.setdefault(value.split(";")[0], []).append(suffix[1:])
    lines = [
        "# Generated by build.py from buildtools/headers.py: do not edit.",
        "# Include inside a server block that sets listen and root (root = this dist/ directory).",
        "# Precompressed files need Debian's libnginx-mod-http-brotli-static (and nginx's own gzip_static).",
        "types {",
        *(f"    {mime} {' '.join(suffixes)};" for mime, suffixes in types.items()),
        "}",
        "default_type application/octet-stream;",
        "charset utf-8;",
        "charset_types text/html;",
        "etag on;",
        "gzip_static on;",
        "brotli_static on;",
        "gzip_vary on;",
        "index index.html;",
    ]

    def location(match: str, cache: str) -> list[str]:
        headers = {**security_headers(script_hashes), "Cache-Control": cache}
        return [f"location {match} {{", *(f'    add_header {name} "{value}" always;' for name, value in headers.items()), "}"]

    for prefix in IMMUTABLE_PREFIXES:
        lines += location(f"^~ {prefix}", CACHE_IMMUTABLE)
    lines += location("/", CACHE_REVALIDATE)
    return "\n".join(lines) + "\n"


def headers_file(url_paths: list[str], script_hashes: str = "") -> str:
    """A ``_headers`` file for static hosts: the security headers for every
    path, the immutable rule per prefix, and ``no-cache`` named path by path
    (such hosts join the values of every rule that matches a path)."""
    blocks = ["/*", *(f"  {name}: {value}" for name, value in security_headers(script_hashes).items())]
    for prefix in IMMUTABLE_PREFIXES:
        blocks += [f"{prefix}*", f"  Cache-Control: {CACHE_IMMUTABLE}"]
    for path in sorted(p for p in url_paths if cache_control(p) == CACHE_REVALIDATE):
        blocks += [path, f"  Cache-Control: {CACHE_REVALIDATE}"]
    return "\n".join(blocks) + "\n"
