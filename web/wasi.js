// WASI preview1 imports for GOOS=wasip1 guests, holding only what the policy
// grants: stdout/stderr into the log, args and environ from the policy, clocks,
// random bytes, sleeping, and the policy's read-only virtual files under a
// preopened "/" (opening anything else fails, and is audited).
// Anything else is not provided at all (the host refuses such a module with
// E_IMPORT before it is instantiated) or answers with an errno.
//
// files: a Map of path -> Uint8Array (own entries only: "constructor" is not a file).
// The names here are mirrored by app/edgebox/_abi.py (tests/test_parity.py).

export const WASI_BASE = Object.freeze([
  "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_time_get", "random_get",
  "fd_write", "fd_read", "fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_prestat_get",
  "fd_prestat_dir_name", "poll_oneoff", "sched_yield", "proc_exit",
]);
export const WASI_FILES = Object.freeze([
  "path_open", "fd_filestat_get", "path_filestat_get", "fd_seek", "fd_tell", "fd_pread",
  // Linked by net/http's server (a multipart form's temporary files): the files are read-only.
  "path_unlink_file", "path_remove_directory", "path_readlink", "fd_readdir",
]);
// What Go's syscall links for sockets: refused, since a guest has none (a net.Dial fails, the module loads).
export const WASI_SOCKETS = Object.freeze(["sock_accept", "sock_shutdown"]);

const ERRNO = { SUCCESS: 0, ACCES: 2, BADF: 8, INVAL: 28, ISDIR: 31, NOENT: 44, NOTDIR: 54, NOTSUP: 58, ROFS: 69 };
const FILETYPE = { CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4 };
const RIGHT_FD_WRITE = 1n << 6n;
const PREOPEN_FD = 3;

/** Thrown by proc_exit to unwind out of the guest. */
export class WasiExit {
  constructor(code) { this.code = code; }
}

export function makeWasi({ args, env, files, writeLog, audit, randomFill, sleepMs }) {
  let memory = null;
  const view = () => new DataView(memory.buffer);
  const bytes = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const open = new Map(); // fd -> {data, position}
  let nextFd = PREOPEN_FD + 1;

  const strings = (list) => list.map((s) => encoder.encode(`${s}\0`));
  const argv = strings(args);
  const environ = strings(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  const sizes = (list) => (countPtr, sizePtr) => {
    view().setUint32(countPtr, list.length, true);
    view().setUint32(sizePtr, list.reduce((n, s) => n + s.length, 0), true);
    return ERRNO.SUCCESS;
  };
  const fill = (list) => (ptrs, buf) => {
    for (const s of list) {
      view().setUint32(ptrs, buf, true);
      bytes(buf, s.length).set(s);
      ptrs += 4;
      buf += s.length;
    }
    return ERRNO.SUCCESS;
  };
  const iovecs = (ptr, count) => {
    const out = [];
    for (let i = 0; i < count; i++) out.push([view().getUint32(ptr + 8 * i, true), view().getUint32(ptr + 8 * i + 4, true)]);
    return out;
  };
  const readInto = (file, iovs, at) => {
    let n = 0;
    for (const [ptr, len] of iovecs(...iovs)) {
      const chunk = file.data.subarray(at + n, at + n + len);
      bytes(ptr, chunk.length).set(chunk);
      n += chunk.length;
      if (chunk.length < len) break;
    }
    return n;
  };
  const filestat = (ptr, type, size) => {
    const v = view();
    for (let i = 0; i < 64; i += 8) v.setBigUint64(ptr + i, 0n, true);
    v.setUint8(ptr + 16, type);
    v.setBigUint64(ptr + 24, 1n, true);
    v.setBigUint64(ptr + 32, BigInt(size), true);
  };
  const pathAt = (ptr, len) => `/${decoder.decode(bytes(ptr, len).slice())}`.replace(/\/+/g, "/");

  const base = {
    args_sizes_get: sizes(argv), args_get: fill(argv),
    environ_sizes_get: sizes(environ), environ_get: fill(environ),
    clock_time_get(id, _precision, out) {
      const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : BigInt(Math.round(performance.now() * 1e6));
      view().setBigUint64(out, ns, true);
      return ERRNO.SUCCESS;
    },
    random_get(ptr, len) {
      for (let done = 0; done < len; done += 65536) randomFill(bytes(ptr + done, Math.min(65536, len - done)));
      return ERRNO.SUCCESS;
    },
    fd_write(fd, iovs, count, nwritten) {
      if (fd !== 1 && fd !== 2) return ERRNO.BADF;
      let n = 0;
      for (const [ptr, len] of iovecs(iovs, count)) n += writeLog(fd, bytes(ptr, len).slice());
      view().setUint32(nwritten, n, true);
      return ERRNO.SUCCESS;
    },
    fd_read(fd, iovs, count, nread) {
      if (fd === 0) return view().setUint32(nread, 0, true), ERRNO.SUCCESS;
      const file = open.get(fd);
      if (!file) return ERRNO.BADF;
      const n = readInto(file, [iovs, count], file.position);
      file.position += n;
      view().setUint32(nread, n, true);
      return ERRNO.SUCCESS;
    },
    fd_close(fd) {
      return open.delete(fd) ? ERRNO.SUCCESS : ERRNO.BADF;
    },
    fd_fdstat_get(fd, out) {
      const type = fd <= 2 ? FILETYPE.CHARACTER_DEVICE : fd === PREOPEN_FD ? FILETYPE.DIRECTORY
        : open.has(fd) ? FILETYPE.REGULAR_FILE : 0;
      if (!type) return ERRNO.BADF;
      const v = view();
      v.setUint8(out, type);
      v.setUint16(out + 2, 0, true);
      v.setBigUint64(out + 8, ~0n & 0xffffffffffffffffn, true);
      v.setBigUint64(out + 16, ~0n & 0xffffffffffffffffn, true);
      return ERRNO.SUCCESS;
    },
    fd_fdstat_set_flags: () => ERRNO.SUCCESS,
    fd_prestat_get(fd, out) {
      if (fd !== PREOPEN_FD) return ERRNO.BADF;
      view().setUint8(out, 0);
      view().setUint32(out + 4, 1, true);
      return ERRNO.SUCCESS;
    },
    fd_prestat_dir_name(fd, ptr, len) {
      if (fd !== PREOPEN_FD || len < 1) return ERRNO.BADF;
      bytes(ptr, 1)[0] = 0x2f; // "/"
      return ERRNO.SUCCESS;
    },
    poll_oneoff(subscriptions, events, count, neventsPtr) {
      // Clock subscriptions sleep (the guest worker may block); the host's
      // timeout_ms still bounds the whole call.
      const v = view();
      let wait = Infinity;
      for (let i = 0; i < count; i++) {
        const sub = subscriptions + 48 * i;
        if (v.getUint8(sub + 8) !== 0) { wait = 0; continue; }
        let timeout = Number(v.getBigUint64(sub + 24, true)) / 1e6;
        if (v.getUint16(sub + 40, true) & 1) timeout -= v.getUint32(sub + 16, true) === 0 ? Date.now() : performance.now();
        wait = Math.min(wait, Math.max(0, timeout));
      }
      if (wait > 0 && Number.isFinite(wait)) sleepMs(wait);
      for (let i = 0; i < count; i++) {
        const sub = subscriptions + 48 * i;
        const event = events + 32 * i;
        v.setBigUint64(event, v.getBigUint64(sub, true), true);
        v.setUint16(event + 8, 0, true);
        v.setUint8(event + 10, v.getUint8(sub + 8));
      }
      v.setUint32(neventsPtr, count, true);
      return ERRNO.SUCCESS;
    },
    sched_yield: () => ERRNO.SUCCESS,
    proc_exit(code) {
      throw new WasiExit(code);
    },
  };

  const fileCalls = {
    path_open(dirfd, _dirflags, pathPtr, pathLen, oflags, rightsBase, _inheriting, fdflags, fdPtr) {
      if (dirfd !== PREOPEN_FD) return ERRNO.BADF;
      const path = pathAt(pathPtr, pathLen);
      const data = files.get(path);
      if (data === undefined) {
        audit("fs", `open ${path}`);
        return ERRNO.NOENT;
      }
      if (oflags !== 0 || (fdflags & 1) || (BigInt(rightsBase) & RIGHT_FD_WRITE)) {
        audit("fs", `open ${path} for writing`);
        return ERRNO.ROFS;
      }
      const fd = nextFd++;
      open.set(fd, { data, position: 0 });
      view().setUint32(fdPtr, fd, true);
      return ERRNO.SUCCESS;
    },
    fd_filestat_get(fd, out) {
      if (fd === PREOPEN_FD) return filestat(out, FILETYPE.DIRECTORY, 0), ERRNO.SUCCESS;
      const file = open.get(fd);
      if (!file) return ERRNO.BADF;
      filestat(out, FILETYPE.REGULAR_FILE, file.data.length);
      return ERRNO.SUCCESS;
    },
    path_filestat_get(dirfd, _flags, pathPtr, pathLen, out) {
      const path = pathAt(pathPtr, pathLen);
      if (path === "/") return filestat(out, FILETYPE.DIRECTORY, 0), ERRNO.SUCCESS;
      const data = files.get(path);
      if (dirfd !== PREOPEN_FD || data === undefined) return ERRNO.NOENT;
      filestat(out, FILETYPE.REGULAR_FILE, data.length);
      return ERRNO.SUCCESS;
    },
    fd_seek(fd, offset, whence, out) {
      const file = open.get(fd);
      if (!file) return ERRNO.BADF;
      const from = [0, file.position, file.data.length][whence];
      const position = from + Number(offset);
      if (from === undefined || position < 0) return ERRNO.INVAL;
      file.position = position;
      view().setBigUint64(out, BigInt(position), true);
      return ERRNO.SUCCESS;
    },
    fd_tell(fd, out) {
      const file = open.get(fd);
      if (!file) return ERRNO.BADF;
      view().setBigUint64(out, BigInt(file.position), true);
      return ERRNO.SUCCESS;
    },
    fd_pread(fd, iovs, count, offset, nread) {
      const file = open.get(fd);
      if (!file) return ERRNO.BADF;
      view().setUint32(nread, readInto(file, [iovs, count], Number(offset)), true);
      return ERRNO.SUCCESS;
    },
    path_unlink_file(dirfd, pathPtr, pathLen) {
      audit("fs", `unlink ${pathAt(pathPtr, pathLen)}`);
      return ERRNO.ROFS;
    },
    path_remove_directory(dirfd, pathPtr, pathLen) {
      audit("fs", `rmdir ${pathAt(pathPtr, pathLen)}`);
      return ERRNO.ROFS;
    },
    // The files have no links: a file is not one (EINVAL, as readlink(2) says of a regular file).
    path_readlink(dirfd, pathPtr, pathLen) {
      return dirfd === PREOPEN_FD && files.has(pathAt(pathPtr, pathLen)) ? ERRNO.INVAL : ERRNO.NOENT;
    },
    fd_readdir: () => ERRNO.NOTSUP, // the policy grants files by name, not a listing
  };

  const socketCalls = { sock_accept: () => ERRNO.NOTSUP, sock_shutdown: () => ERRNO.NOTSUP };

  return {
    imports: { wasi_snapshot_preview1: { ...base, ...fileCalls, ...socketCalls } },
    setMemory(m) { memory = m; },
  };
}
