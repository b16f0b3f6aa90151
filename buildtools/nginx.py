"""Debian's real nginx serving dist/ through the generated dist/deploy/nginx.conf,
as a deployment would: an http block that includes Debian's mime.types and a
server block that sets only listen and root. Used by the tests and the bench."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .paths import DEPLOY, DIST, NGINX, NGINX_BROTLI_STATIC


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_main_conf(prefix: Path, port: int, root: Path = DIST) -> str:
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    return f"""load_module {NGINX_BROTLI_STATIC};
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"};
events {{}}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix / "access.log"};
{temp}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        include {root / DEPLOY.relative_to(DIST) / "nginx.conf"};
    }}
}}
"""


@contextlib.contextmanager
def running_nginx(root: Path = DIST):
    """Yields ``host:port`` of an nginx serving ``root`` until the block ends."""
    if not NGINX.exists() or not NGINX_BROTLI_STATIC.exists():
        raise SystemExit(f"{NGINX} or {NGINX_BROTLI_STATIC} is missing: "
                         "apt-get install -y nginx libnginx-mod-http-brotli-static (build.py test and bench do it as root)")
    with tempfile.TemporaryDirectory(prefix="edgebox-nginx-") as scratch:
        prefix, port = Path(scratch), free_port()
        (prefix / "nginx.conf").write_text(nginx_main_conf(prefix, port, root))
        process = subprocess.Popen([str(NGINX), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
                        raise RuntimeError(f"nginx did not start: {log}") from None
                    time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)
