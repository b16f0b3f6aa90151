"""WASI preview1 for a GOOS=wasip1 guest under wasmtime, granting exactly what
the browser grants (``web/wasi.js``, whose twin this is): stdout/stderr into the
log, args and environ from the policy, clocks, random bytes, sleeping, and the
policy's read-only virtual files under a preopened ``/`` (opening anything
else is ``ENOENT``, audited as ``fs``). Nothing reaches the server's own files,
sockets or environment. The names are ``edgebox._abi``'s WASI_BASE,
WASI_FILES and WASI_SOCKETS (tests/test_parity.py); an import outside them is refused with
``E_IMPORT`` by the host before this is instantiated.

wasmtime's own WASI (``WasiConfig``) would preopen a real directory and has no
hook to audit a refused open or to count output per call, so the browser's
small surface is written out here over wasmtime's ``Linker``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import time
from typing import Callable, Mapping

import wasmtime

__all__ = ["ERRNO", "WasiExit", "Wasi"]

ERRNO = {"SUCCESS": 0, "ACCES": 2, "BADF": 8, "INVAL": 28, "NOENT": 44, "NOTSUP": 58, "ROFS": 69}
_DIRECTORY, _REGULAR_FILE, _CHARACTER_DEVICE = 3, 4, 2
_RIGHT_FD_WRITE = 1 << 6
_PREOPEN_FD = 3
_IOV_MAX = 1024
_U64_ALL = (1 << 64) - 1
_I32, _I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()

# (params, has an i32 result) of every call, as wasi_snapshot_preview1 declares them.
_SIGNATURES: dict[str, tuple[str, bool]] = {
    "args_get": ("ii", True), "args_sizes_get": ("ii", True), "environ_get": ("ii", True),
    "environ_sizes_get": ("ii", True), "clock_time_get": ("iIi", True), "random_get": ("ii", True),
    "fd_write": ("iiii", True), "fd_read": ("iiii", True), "fd_close": ("i", True), "fd_fdstat_get": ("ii", True),
    "fd_fdstat_set_flags": ("ii", True), "fd_prestat_get": ("ii", True), "fd_prestat_dir_name": ("iii", True),
    "poll_oneoff": ("iiii", True), "sched_yield": ("", True), "proc_exit": ("i", False),
    "path_open": ("iiiiiIIii", True), "fd_filestat_get": ("ii", True), "path_filestat_get": ("iiiii", True),
    "fd_seek": ("iIii", True), "fd_tell": ("ii", True), "fd_pread": ("iiiIi", True),
    "path_unlink_file": ("iii", True), "path_remove_directory": ("iii", True), "path_readlink": ("iiiiii", True),
    "fd_readdir": ("iiiIi", True), "sock_accept": ("iii", True), "sock_shutdown": ("ii", True),
}


# Calls wasmtime answers itself (its WASI, with nothing granted): the clocks Go reads
# many times a request (18 for a risk check), each a trip through Python and its GIL
# otherwise. They read the time, as the browser's do, and reach nothing else.
NATIVE = frozenset({"clock_time_get", "sched_yield"})


@functools.lru_cache(maxsize=None)
def _native_wasi(engine: wasmtime.Engine) -> wasmtime.Linker:
    """wasmtime's WASI, linked once per engine (a process has one): each instance takes NATIVE from it."""
    native = wasmtime.Linker(engine)
    native.define_wasi()
    return native


class WasiExit(Exception):
    """proc_exit: unwinds out of the guest; ``code`` is its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exit {code}")
        self.code = code


class _File:
    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0


class Wasi:
    """One instance's WASI: defined into a ``Linker`` as host functions.

    ``write_log(fd, data) -> int`` takes what the guest writes to stdout (1)
    and stderr (2) and may raise to end the instance (``log_kb``);
    ``audit(capability, detail)`` records a refusal; ``sleep_limit()`` is the
    time in seconds a sleep may still take before the call's deadline;
    ``on_sleep()`` hears that the guest is about to sleep;
    ``on_exit(code)`` hears proc_exit before the guest unwinds."""

    def __init__(self, *, args: list[str], env: Mapping[str, str], files: Mapping[str, bytes],
                 write_log: Callable[[int, bytes], int], audit: Callable[[str, str], None],
                 sleep_limit: Callable[[], float], on_exit: Callable[[int], None],
                 on_sleep: Callable[[], None] = lambda: None) -> None:
        self._argv = [f"{a}\0".encode() for a in args]
        self._environ = [f"{k}={v}\0".encode() for k, v in env.items()]
        self._files = dict(files)
        self._write_log, self._audit, self._sleep_limit, self._on_exit = write_log, audit, sleep_limit, on_exit
        self._on_sleep = on_sleep
        self._open: dict[int, _File] = {}
        self._next_fd = _PREOPEN_FD + 1
        self._memory: wasmtime.Memory | None = None
        self._where: tuple[int, int] | None = None
        self.mem = memoryview(b"")

    def define(self, linker: wasmtime.Linker, store: wasmtime.Store) -> None:
        """Every call of ``_SIGNATURES`` into ``linker``, for an instance in ``store``.
        ``NATIVE`` ones are wasmtime's own, from a WASI context that grants nothing."""
        store.set_wasi(wasmtime.WasiConfig())  # no args, env, files or stdio: only NATIVE reaches it
        native = _native_wasi(linker.engine)
        for name in NATIVE:
            linker.define(store, "wasi_snapshot_preview1", name, native.get(store, "wasi_snapshot_preview1", name))
        for name, (params, result) in _SIGNATURES.items():
            if name in NATIVE:
                continue
            kinds = [_I64 if p == "I" else _I32 for p in params]
            ty = wasmtime.FuncType(kinds, [_I32] if result else [])
            linker.define_func("wasi_snapshot_preview1", name, ty, self._bind(getattr(self, name)), access_caller=True)

    def _bind(self, method: Callable[..., int]) -> Callable[..., int]:
        def call(caller: wasmtime.Caller, *args: int) -> int:
            self._view(caller)
            return method(*args)
        return call

    def _view(self, caller: wasmtime.Caller) -> None:
        """``self.mem``: the guest's memory now. It may have grown or moved since the last
        call; a pointer outside it raises, and the guest traps, as a RangeError does in the browser."""
        if self._memory is None:
            self._memory = caller.get("memory")
        where = (ctypes.addressof(self._memory.data_ptr(caller).contents), self._memory.data_len(caller))
        if where != self._where:
            self._where = where
            self.mem = memoryview((ctypes.c_ubyte * where[1]).from_address(where[0])).cast("B")

    # ---------------------------------------------------------------- helpers

    def _u32(self, ptr: int, value: int) -> None:
        struct.pack_into("<I", self.mem, ptr, value & 0xFFFFFFFF)

    def _u64(self, ptr: int, value: int) -> None:
        struct.pack_into("<Q", self.mem, ptr, value & _U64_ALL)

    def _iovecs(self, ptr: int, count: int) -> list[tuple[int, int]]:
        # At most IOV_MAX (POSIX, 1024) of them, as a kernel takes: the host's time is not the guest's to spend.
        if count > _IOV_MAX:
            raise IndexError(f"{count} iovecs, more than IOV_MAX ({_IOV_MAX})")
        return list(struct.iter_unpack("<II", self._bytes(ptr, 8 * count)))

    def _bytes(self, ptr: int, length: int) -> memoryview:
        if ptr + length > len(self.mem) or ptr < 0 or length < 0:
            raise IndexError("out of bounds memory access")
        return self.mem[ptr:ptr + length]

    def _path(self, ptr: int, length: int) -> str:
        text = bytes(self._bytes(ptr, length)).decode("utf-8", "replace")
        return "/" + "/".join(part for part in text.split("/") if part)

    def _sizes(self, strings: list[bytes], count_ptr: int, size_ptr: int) -> int:
        self._u32(count_ptr, len(strings))
        self._u32(size_ptr, sum(len(s) for s in strings))
        return ERRNO["SUCCESS"]

    def _fill(self, strings: list[bytes], ptrs: int, buf: int) -> int:
        for s in strings:
            self._u32(ptrs, buf)
            self._bytes(buf, len(s))[:] = s
            ptrs, buf = ptrs + 4, buf + len(s)
        return ERRNO["SUCCESS"]

    def _read_into(self, file: _File, iovs: int, count: int, at: int) -> int:
        n = 0
        for ptr, length in self._iovecs(iovs, count):
            chunk = file.data[at + n:at + n + length]
            self._bytes(ptr, len(chunk))[:] = chunk
            n += len(chunk)
            if len(chunk) < length:
                break
        return n

    def _filestat(self, ptr: int, kind: int, size: int) -> None:
        self._bytes(ptr, 64)[:] = bytes(64)
        self.mem[ptr + 16] = kind
        self._u64(ptr + 24, 1)
        self._u64(ptr + 32, size)

    # ---------------------------------------------------------------- the base calls

    def args_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        return self._sizes(self._argv, count_ptr, size_ptr)

    def args_get(self, ptrs: int, buf: int) -> int:
        return self._fill(self._argv, ptrs, buf)

    def environ_sizes_get(self, count_ptr: int, size_ptr: int) -> int:
        return self._sizes(self._environ, count_ptr, size_ptr)

    def environ_get(self, ptrs: int, buf: int) -> int:
        return self._fill(self._environ, ptrs, buf)

    def random_get(self, ptr: int, length: int) -> int:
        target = self._bytes(ptr, length)  # bounds first: never allocate what the guest's memory cannot hold
        for at in range(0, length, 1 << 16):
            target[at:at + (1 << 16)] = os.urandom(min(1 << 16, length - at))
        return ERRNO["SUCCESS"]

    def fd_write(self, fd: int, iovs: int, count: int, nwritten: int) -> int:
        if fd not in (1, 2):
            return ERRNO["BADF"]
        n = sum(self._write_log(fd, bytes(self._bytes(ptr, length))) for ptr, length in self._iovecs(iovs, count))
        self._u32(nwritten, n)
        return ERRNO["SUCCESS"]

    def fd_read(self, fd: int, iovs: int, count: int, nread: int) -> int:
        if fd == 0:
            self._u32(nread, 0)
            return ERRNO["SUCCESS"]
        file = self._open.get(fd)
        if file is None:
            return ERRNO["BADF"]
        n = self._read_into(file, iovs, count, file.position)
        file.position += n
        self._u32(nread, n)
        return ERRNO["SUCCESS"]

    def fd_close(self, fd: int) -> int:
        return ERRNO["SUCCESS"] if self._open.pop(fd, None) is not None else ERRNO["BADF"]

    def fd_fdstat_get(self, fd: int, out: int) -> int:
        kind = (_CHARACTER_DEVICE if 0 <= fd <= 2 else _DIRECTORY if fd == _PREOPEN_FD
                else _REGULAR_FILE if fd in self._open else 0)
        if not kind:
            return ERRNO["BADF"]
        self.mem[out] = kind
        struct.pack_into("<H", self.mem, out + 2, 0)
        self._u64(out + 8, _U64_ALL)
        self._u64(out + 16, _U64_ALL)
        return ERRNO["SUCCESS"]

    def fd_fdstat_set_flags(self, _fd: int, _flags: int) -> int:
        return ERRNO["SUCCESS"]

    def fd_prestat_get(self, fd: int, out: int) -> int:
        if fd != _PREOPEN_FD:
            return ERRNO["BADF"]
        self.mem[out] = 0
        self._u32(out + 4, 1)
        return ERRNO["SUCCESS"]

    def fd_prestat_dir_name(self, fd: int, ptr: int, length: int) -> int:
        if fd != _PREOPEN_FD or length < 1:
            return ERRNO["BADF"]
        self._bytes(ptr, 1)[0] = 0x2F  # "/"
        return ERRNO["SUCCESS"]

    def poll_oneoff(self, subscriptions: int, events: int, count: int, nevents_ptr: int) -> int:
        # Clock subscriptions sleep, never past the call's deadline: wasmtime's epoch
        # interruption can stop the guest only once it runs again.
        wait = float("inf")
        for i in range(count):
            sub = subscriptions + 48 * i
            if self.mem[sub + 8] != 0:
                wait = 0.0
                continue
            (clock_id,) = struct.unpack_from("<I", self.mem, sub + 16)
            (timeout_ns,) = struct.unpack_from("<Q", self.mem, sub + 24)
            (flags,) = struct.unpack_from("<H", self.mem, sub + 40)
            seconds = timeout_ns / 1e9
            if flags & 1:
                seconds -= time.time() if clock_id == 0 else time.monotonic()
            wait = min(wait, max(0.0, seconds))
        if wait > 0 and wait != float("inf"):
            self._on_sleep()
            time.sleep(max(0.0, min(wait, self._sleep_limit())))
        for i in range(count):
            sub, event = subscriptions + 48 * i, events + 32 * i
            self._bytes(event, 8)[:] = self._bytes(sub, 8)
            struct.pack_into("<H", self.mem, event + 8, 0)
            self.mem[event + 10] = self.mem[sub + 8]
        self._u32(nevents_ptr, count)
        return ERRNO["SUCCESS"]

    def proc_exit(self, code: int) -> int:
        self._on_exit(code)
        raise WasiExit(code)

    # ---------------------------------------------------------------- the policy's files

    def path_open(self, dirfd: int, _dirflags: int, path_ptr: int, path_len: int, oflags: int, rights_base: int,
                  _inheriting: int, fdflags: int, fd_ptr: int) -> int:
        if dirfd != _PREOPEN_FD:
            return ERRNO["BADF"]
        path = self._path(path_ptr, path_len)
        data = self._files.get(path)
        if data is None:
            self._audit("fs", f"open {path}")
            return ERRNO["NOENT"]
        if oflags != 0 or fdflags & 1 or rights_base & _RIGHT_FD_WRITE:
            self._audit("fs", f"open {path} for writing")
            return ERRNO["ROFS"]
        fd, self._next_fd = self._next_fd, self._next_fd + 1
        self._open[fd] = _File(data)
        self._u32(fd_ptr, fd)
        return ERRNO["SUCCESS"]

    def fd_filestat_get(self, fd: int, out: int) -> int:
        if fd == _PREOPEN_FD:
            self._filestat(out, _DIRECTORY, 0)
            return ERRNO["SUCCESS"]
        file = self._open.get(fd)
        if file is None:
            return ERRNO["BADF"]
        self._filestat(out, _REGULAR_FILE, len(file.data))
        return ERRNO["SUCCESS"]

    def path_filestat_get(self, dirfd: int, _flags: int, path_ptr: int, path_len: int, out: int) -> int:
        path = self._path(path_ptr, path_len)
        if path == "/":
            self._filestat(out, _DIRECTORY, 0)
            return ERRNO["SUCCESS"]
        data = self._files.get(path)
        if dirfd != _PREOPEN_FD or data is None:
            return ERRNO["NOENT"]
        self._filestat(out, _REGULAR_FILE, len(data))
        return ERRNO["SUCCESS"]

    def fd_seek(self, fd: int, offset: int, whence: int, out: int) -> int:
        file = self._open.get(fd)
        if file is None:
            return ERRNO["BADF"]
        if whence not in (0, 1, 2):
            return ERRNO["INVAL"]
        position = (0, file.position, len(file.data))[whence] + offset
        if position < 0:
            return ERRNO["INVAL"]
        file.position = position
        self._u64(out, position)
        return ERRNO["SUCCESS"]

    def fd_tell(self, fd: int, out: int) -> int:
        file = self._open.get(fd)
        if file is None:
            return ERRNO["BADF"]
        self._u64(out, file.position)
        return ERRNO["SUCCESS"]

    def fd_pread(self, fd: int, iovs: int, count: int, offset: int, nread: int) -> int:
        file = self._open.get(fd)
        if file is None:
            return ERRNO["BADF"]
        self._u32(nread, self._read_into(file, iovs, count, offset))
        return ERRNO["SUCCESS"]

    # Linked by net/http's server (a multipart form's temporary files): the files are read-only.
    def path_unlink_file(self, _dirfd: int, path_ptr: int, path_len: int) -> int:
        self._audit("fs", f"unlink {self._path(path_ptr, path_len)}")
        return ERRNO["ROFS"]

    def path_remove_directory(self, _dirfd: int, path_ptr: int, path_len: int) -> int:
        self._audit("fs", f"rmdir {self._path(path_ptr, path_len)}")
        return ERRNO["ROFS"]

    def path_readlink(self, dirfd: int, path_ptr: int, path_len: int, _buf: int, _buf_len: int, _used: int) -> int:
        # The files have no links: a file is not one (EINVAL, as readlink(2) says of a regular file).
        return ERRNO["INVAL"] if dirfd == _PREOPEN_FD and self._path(path_ptr, path_len) in self._files else ERRNO["NOENT"]

    def fd_readdir(self, _fd: int, _buf: int, _buf_len: int, _cookie: int, _used: int) -> int:
        return ERRNO["NOTSUP"]  # the policy grants files by name, not a listing

    # What Go's syscall links for sockets: a guest has none.
    def sock_accept(self, _fd: int, _flags: int, _new_fd: int) -> int:
        return ERRNO["NOTSUP"]

    def sock_shutdown(self, _fd: int, _how: int) -> int:
        return ERRNO["NOTSUP"]
