"""Test doubles for the host's platform, and an event loop that runs anywhere."""

import asyncio
import inspect
import time
from typing import Any

from edgebox import DeniedError, HttpResponse, LoadError, ModuleSpec
from edgebox._errors import GuestGone
from edgebox._guest_protocol import Via, WatchReading
from edgebox._wasm import leb128


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


def _name(text: str) -> bytes:
    return leb128(len(text)) + text.encode()


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + leb128(len(payload)) + payload


def wasm_module(imports=(("gojs", "runtime.wasmExit"),), min_pages: int = 2, max_pages: int | None = None) -> bytes:
    """A small valid module: one function type, the given function imports, one memory."""
    types = _section(1, b"\x01\x60\x01\x7f\x00")
    entries = b"".join(_name(module) + _name(name) + b"\x00\x00" for module, name in imports)
    imported = _section(2, leb128(len(imports)) + entries)
    limits = (b"\x00" + leb128(min_pages)) if max_pages is None else (b"\x01" + leb128(min_pages) + leb128(max_pages))
    memory = _section(5, b"\x01" + limits)
    return b"\0asm\x01\0\0\0" + types + imported + memory


def http_bytes(status: int = 200, headers=(), body: bytes = b"", *, reason: str = "OK") -> bytes:
    """An HTTP/1.1 response as Go's server writes one: what a guest's HTTP export answers."""
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class FakeGuest:
    """A guest whose functions are Python callables. Calls get rising ids, as
    a worker guest's do; ``reading`` is what the watchdog sees."""

    def __init__(self, spec: ModuleSpec, data: bytes, services, functions: dict[str, Any]) -> None:
        self.spec = spec
        self.data = data
        self.services = services
        self.functions = functions
        self.exports = frozenset(functions)
        self.closed = False
        self.death = None
        self.reading = None  # a test's own reading; otherwise one made from the calls in flight
        self._beat = 0
        self.connected: list = []
        self._ids = 0
        self._waiting: dict[int, asyncio.Future] = {}

    async def call(self, fn: str, args: Any, on_part=None) -> Any:
        if self.closed:
            raise GuestGone("ended")
        self._ids += 1
        call_id = self._ids
        future = asyncio.get_event_loop().create_future()
        self._waiting[call_id] = future

        async def work():
            await asyncio.sleep(0)
            function = self.functions[fn]
            # A function that takes part= sends the parts of an HTTP answer, as a guest worker does.
            parts = {"part": on_part or (lambda data: None)} if "part" in inspect.signature(function).parameters else {}
            result = function(*args, **parts)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            return result

        task = asyncio.ensure_future(work())
        task.add_done_callback(lambda t: future.done() or (future.set_exception(t.exception()) if t.exception()
                                                             else future.set_result(t.result())))
        try:
            return await future
        finally:
            self._waiting.pop(call_id, None)

    async def connect(self, shared) -> None:
        self.connected.append(shared)

    def watch(self):
        if self.reading is not None:
            return self.reading
        self._beat += 1  # this fake's event loop always turns
        oldest = min(self._waiting, default=0)
        return WatchReading(beat=self._beat, running=len(self._waiting), oldest=oldest, oldest_id=oldest,
                            oldest_via=Via.HOST if oldest else 0, taken_host=self._ids)

    def close(self, death) -> None:
        self.closed = True
        self.death = self.death or death
        for call_id, future in list(self._waiting.items()):
            if not future.done():
                future.set_exception(death.fate(Via.HOST, call_id) or GuestGone("never started"))

    def die(self, death) -> None:
        """The guest reports its own end, as a worker guest does."""
        self.services.died(self, death)


class FakeSigner:
    """A stand-in for an Ed25519 key where the platform's primitive is faked (Pyodide
    under Node has no cryptography package): the "signature" is sha512(x + message),
    which only a signer holding ``x`` makes here. Real Ed25519 is tested in
    tests/build/test_signing.py (cryptography) and tests/web/test_signed.py (WebCrypto)."""

    def __init__(self, seed: bytes = b"k") -> None:
        import base64
        import hashlib

        self.raw = hashlib.sha256(seed).digest()
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(self.raw).rstrip(b"=").decode()}

    @staticmethod
    def check(jwk, message: bytes, signature: bytes) -> bool:
        import base64
        import hashlib

        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        return hashlib.sha512(raw + message).digest() == signature

    @staticmethod
    async def check_async(jwk, message: bytes, signature: bytes) -> bool:
        return FakeSigner.check(jwk, message, signature)

    def sign(self, payload: bytes, header: dict | None = None) -> str:
        """A compact JWS with a detached payload over ``payload``."""
        import base64
        import hashlib
        import json

        from edgebox._manifest_trust import jwk_thumbprint

        b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
        protected = b64(json.dumps(header or {"alg": "EdDSA", "kid": jwk_thumbprint(self.jwk)}).encode())
        signature = hashlib.sha512(self.raw + f"{protected}.{b64(payload)}".encode()).digest()
        return f"{protected}..{b64(signature)}"


class FakePlatform:
    """Serves module bytes and HTTP responses from dicts; starts guests from Python functions
    (``by_url``: the functions of the module at that URL, for two versions of one module)."""

    def __init__(self, files: dict[str, bytes], functions: dict[str, Any]) -> None:
        self.files = files
        self.functions = functions
        self.by_url: dict[str, dict[str, Any]] = {}
        self.fetches: list[str] = []
        self.started: list[FakeGuest] = []
        self.responses: dict[str, HttpResponse] = {}
        self.http_requests: list = []

    async def fetch_bytes(self, url, progress, sha256=None):
        self.fetches.append(url)
        await asyncio.sleep(0)
        if url not in self.files:
            raise LoadError(f"GET {url} answered 404")
        data = self.files[url]
        progress(len(data), len(data))
        return data

    async def sha256_hex(self, data):
        import hashlib

        return hashlib.sha256(data).hexdigest()

    verify_ed25519 = staticmethod(FakeSigner.check_async)

    async def fetch_document(self, url):
        self.fetches.append(url)
        await asyncio.sleep(0)
        return self.files.get(url)

    async def start_guest(self, spec, data, services):
        guest = FakeGuest(spec, data, services, self.by_url.get(spec.url, self.functions))
        self.started.append(guest)
        return guest

    async def http(self, request, *, credentials, timeout_ms):
        self.http_requests.append((request, credentials))
        response = self.responses.get(request.url)
        if response is None:
            raise DeniedError("redirect")
        return response


MODULE_BYTES = wasm_module()
MANIFEST_URL = "http://box.test/edgebox/manifest.json"
MODULE_URL = "http://box.test/edgebox/modules/heartbeat.wasm"
ORIGIN = "http://box.test"
GOJS = frozenset({"runtime.wasmExit", "runtime.wasmWrite"})


def manifest_data(**module_fields) -> dict:
    import hashlib

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
