"""What the host gives each kind of module to import, by policy.

A GOOS=js module gets exactly wasm_exec.js's ``gojs`` functions. A GOOS=wasip1
module gets the WASI calls the Go runtime and the standard library link (file
calls included: they serve the policy's read-only files and refuse everything
else, audited) and the SDK's ``edgebox.http_part`` (a streamed HTTP answer);
a module that imports anything else is refused before it is instantiated. ``web/wasi.js`` implements these names (tests/test_parity.py).
"""

from __future__ import annotations

from ._guest_protocol import SDK_HTTP_PART, SDK_IMPORT_MODULE
from ._policy import Policy

__all__ = ["WASI_BASE", "WASI_FILES", "WASI_SOCKETS", "provided_imports"]

WASI = "wasi_snapshot_preview1"
WASI_BASE = frozenset({
    "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_time_get", "random_get",
    "fd_write", "fd_read", "fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_prestat_get",
    "fd_prestat_dir_name", "poll_oneoff", "sched_yield", "proc_exit",
})
WASI_FILES = frozenset({
    "path_open", "fd_filestat_get", "path_filestat_get", "fd_seek", "fd_tell", "fd_pread",
    # Linked by net/http's server (a multipart form's temporary files); the files are read-only.
    "path_unlink_file", "path_remove_directory", "path_readlink", "fd_readdir",
})

# What Go's syscall links for sockets: provided, and refused (ENOTSUP), since a
# guest has no socket; a module that links net.Dial still loads, and its dial fails.
WASI_SOCKETS = frozenset({"sock_accept", "sock_shutdown"})


def provided_imports(abi: str, policy: Policy, gojs: frozenset[str]) -> frozenset[str]:
    """``module.name`` of every import the host would satisfy for this module."""
    if abi == "js":
        return frozenset(f"gojs.{name}" for name in gojs)
    return frozenset(f"{WASI}.{name}" for name in WASI_BASE | WASI_FILES | WASI_SOCKETS) | {
        f"{SDK_IMPORT_MODULE}.{SDK_HTTP_PART}"}  # the SDK's own: how a handler streams its answer
