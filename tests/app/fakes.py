"""Test doubles for the host's platform, and an event loop that runs anywhere."""

import asyncio
import hashlib
import time
from typing import Any

from edgebox import LoadError, ModuleSpec


class _NoIOSelector:
    def select(self, timeout=None):
        if timeout:
            time.sleep(min(timeout, 0.01))
        return []


class InlineLoop(asyncio.BaseEventLoop):
    """An event loop without I/O. Pyodide's own loop cannot block (run_until_complete
    needs JavaScript stack switching, which Node 20 lacks); this one runs anywhere."""

    def __init__(self) -> None:
        super().__init__()
        self._selector = _NoIOSelector()

    def _process_events(self, event_list) -> None:
        pass

    def _write_to_self(self) -> None:
        pass


class FakeGuest:
    def __init__(self, spec: ModuleSpec, functions: dict[str, Any]) -> None:
        self.spec = spec
        self.functions = functions
        self.exports = frozenset(functions)
        self.closed = False

    async def call(self, fn: str, args: Any) -> Any:
        await asyncio.sleep(0)
        return self.functions[fn](*args)

    def close(self) -> None:
        self.closed = True


class FakePlatform:
    """Serves module bytes from a dict and starts guests from Python functions."""

    def __init__(self, files: dict[str, bytes], functions: dict[str, Any]) -> None:
        self.files = files
        self.functions = functions
        self.fetches: list[str] = []
        self.started: list[FakeGuest] = []

    async def fetch_bytes(self, url, progress):
        self.fetches.append(url)
        await asyncio.sleep(0)
        if url not in self.files:
            raise LoadError(f"GET {url} answered 404")
        data = self.files[url]
        progress(len(data), len(data))
        return data

    async def sha256_hex(self, data):
        return hashlib.sha256(data).hexdigest()

    def byte_length(self, data):
        return len(data)

    async def start_guest(self, spec, data):
        guest = FakeGuest(spec, self.functions)
        self.started.append(guest)
        return guest


MODULE_BYTES = b"\0asm\1\0\0\0fake module"


def manifest_data(**module_fields) -> dict:
    entry = {
        "name": "heartbeat",
        "abi": "js",
        "url": "modules/heartbeat.wasm",
        "size": len(MODULE_BYTES),
        "sha256": hashlib.sha256(MODULE_BYTES).hexdigest(),
        "policy": {"env": {"HEARTBEAT_KEY": "k"}},
    }
    entry.update(module_fields)
    return {"format": 1, "modules": [entry]}


MANIFEST_URL = "http://box.test/edgebox/manifest.json"
MODULE_URL = "http://box.test/edgebox/modules/heartbeat.wasm"
