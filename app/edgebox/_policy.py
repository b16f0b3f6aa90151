"""What a guest may do. Default: nothing beyond what the Go runtime needs to start.

A policy comes from ``modules/<name>/policy.json`` (through the manifest) or a
page's ``EdgeBox.start({modules})`` override::

    {
      "net":    {"allow": ["/api/", "https://api.example.com/v1/"], "methods": ["GET", "POST"],
                 "credentials": "omit"},
      "crypto": {"random": true, "subtle": ["SHA-256", "HMAC"]},
      "fs":     {"files": {"/etc/rules.json": "{...}", "/data/blob": {"base64": "AAEC"}}},
      "env":    {"KEY": "value"},
      "args":   ["--verbose"],
      "limits": {"timeout_ms": 5000, "memory_mb": 256, "log_kb": 64, "startup_ms": 10000}
    }

Network prefixes are resolved against the page origin and compared with the
canonical request URL; redirects are never followed blind (see ``NetPolicy``).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

from ._errors import ConfigError, DeniedError

__all__ = ["Policy", "NetPolicy", "Limits", "canonical_url"]

_FIELDS = {"net", "crypto", "fs", "env", "args", "limits"}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ENV_ARGS_BYTES = 8192
# Names WebCrypto knows; a policy naming anything else is a typo worth an error.
SUBTLE_ALGORITHMS = frozenset({
    "SHA-1", "SHA-256", "SHA-384", "SHA-512", "HMAC", "AES-GCM", "AES-CBC", "AES-CTR", "AES-KW",
    "ECDSA", "ECDH", "Ed25519", "X25519", "RSA-OAEP", "RSA-PSS", "RSASSA-PKCS1-v1_5", "PBKDF2", "HKDF",
})


def canonical_url(url: str, base: str) -> str:
    """``url`` resolved against ``base`` in one spelling, or DeniedError if it is ambiguous.

    Refused outright: userinfo, backslashes and percent-encoded dots, which
    browsers and servers may read differently from this check.
    """
    resolved = urljoin(base, url.strip())
    parts = urlsplit(resolved)
    lowered = resolved.lower()
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise DeniedError(f"{url!r}: only http(s) URLs can be granted")
    if "@" in parts.netloc or "\\" in resolved or "%2e" in lowered or "%2f" in lowered or "%5c" in lowered:
        raise DeniedError(f"{url!r}: ambiguous URL refused")
    try:
        port = parts.port
    except ValueError:
        raise DeniedError(f"{url!r}: bad port") from None
    host = parts.hostname.lower()
    netloc = host if port in (None, _DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    path = posixpath.normpath(parts.path) if parts.path not in ("", "/") else "/"
    if parts.path.endswith("/") and not path.endswith("/"):
        path += "/"
    path = "/" + path.lstrip("/")
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


@dataclass(frozen=True)
class NetPolicy:
    allow: tuple[str, ...] = ()
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    credentials: str = "omit"

    def check(self, url: str, method: str, base: str) -> str:
        """The canonical URL if ``method url`` is granted; DeniedError otherwise."""
        if not self.allow:
            raise DeniedError(f"{method} {url}: this module has no network access")
        target = canonical_url(url, base)
        if method.upper() not in self.methods:
            raise DeniedError(f"{method} {target}: method not granted (granted: {sorted(self.methods)})")
        for prefix in self.allow:
            if target.startswith(canonical_url(prefix, base)):
                return target
        raise DeniedError(f"{method} {target}: outside the granted prefixes {list(self.allow)}")


@dataclass(frozen=True)
class Limits:
    timeout_ms: int = 5000
    memory_mb: int = 256
    log_kb: int = 64
    startup_ms: int = 10_000  # starting an instance: its own bound, apart from any call's timeout_ms


@dataclass(frozen=True)
class Policy:
    net: NetPolicy = field(default_factory=NetPolicy)
    crypto_random: bool = False
    crypto_subtle: frozenset[str] = frozenset()
    files: Mapping[str, bytes] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def parse(cls, data: Any, where: str) -> "Policy":
        if data is None:
            return cls()
        _expect(isinstance(data, dict), where, "expected an object")
        _no_unknown(data, _FIELDS, where)
        crypto_random, crypto_subtle = _crypto(data.get("crypto"), f"{where}.crypto")
        env, args = _string_map(data.get("env"), f"{where}.env"), _string_list(data.get("args"), f"{where}.args")
        # GOOS=js programs get argv and environ in a 12 KiB block (wasm_exec.js): over it they never start.
        size = sum(len(f"{k}={v}".encode()) + 9 for k, v in env.items()) + sum(len(a.encode()) + 9 for a in args)
        _expect(size <= _ENV_ARGS_BYTES, where, f"env and args take {size} bytes; at most {_ENV_ARGS_BYTES} fit "
                "(put larger data in fs.files)")
        return cls(
            net=_net(data.get("net"), f"{where}.net"),
            crypto_random=crypto_random,
            crypto_subtle=crypto_subtle,
            files=_files(data.get("fs"), f"{where}.fs"),
            env=env,
            args=args,
            limits=_limits(data.get("limits"), f"{where}.limits"),
        )

    def grant(self) -> dict[str, Any]:
        """What the guest's realm is told it may use (decisions on the network stay with the host)."""
        return {
            "net": bool(self.net.allow),
            "cryptoRandom": self.crypto_random,
            "cryptoSubtle": sorted(self.crypto_subtle),
            "files": dict(self.files),
            "env": dict(self.env),
            "args": list(self.args),
            "logBytes": self.limits.log_kb * 1024,
            "memoryBytes": self.limits.memory_mb * 1024 * 1024,
        }


def _expect(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{where}: {message}")


def _no_unknown(data: dict, allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    _expect(not unknown, where, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _string_map(data: Any, where: str) -> dict[str, str]:
    data = data or {}
    _expect(isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()),
            where, "expected an object of string to string")
    return dict(data)


def _string_list(data: Any, where: str) -> tuple[str, ...]:
    data = data or []
    _expect(isinstance(data, list) and all(isinstance(item, str) for item in data), where, "expected a list of strings")
    return tuple(data)


def _net(data: Any, where: str) -> NetPolicy:
    if data is None:
        return NetPolicy()
    _expect(isinstance(data, dict), where, 'expected {"allow": [URL prefixes], "methods": [...]}')
    _no_unknown(data, {"allow", "methods", "credentials"}, where)
    allow = _string_list(data.get("allow"), f"{where}.allow")
    for prefix in allow:
        try:
            canonical_url(prefix, "http://origin.invalid/")
        except DeniedError as error:
            raise ConfigError(f"{where}.allow: {error.message}") from None
    methods = frozenset(m.upper() for m in _string_list(data.get("methods") or ["GET", "HEAD"], f"{where}.methods"))
    _expect(methods <= _METHODS, f"{where}.methods", f"unknown method(s) {sorted(methods - _METHODS)}")
    credentials = data.get("credentials", "omit")
    _expect(credentials in ("omit", "same-origin"), f"{where}.credentials", 'expected "omit" or "same-origin"')
    return NetPolicy(allow=allow, methods=methods, credentials=credentials)


def _crypto(data: Any, where: str) -> tuple[bool, frozenset[str]]:
    if data is None:
        return False, frozenset()
    _expect(isinstance(data, dict), where, 'expected {"random": bool, "subtle": [algorithm names]}')
    _no_unknown(data, {"random", "subtle"}, where)
    random = data.get("random", False)
    _expect(isinstance(random, bool), f"{where}.random", "expected true or false")
    subtle = frozenset(_string_list(data.get("subtle"), f"{where}.subtle"))
    _expect(subtle <= SUBTLE_ALGORITHMS, f"{where}.subtle",
            f"unknown algorithm(s) {sorted(subtle - SUBTLE_ALGORITHMS)}; known: {sorted(SUBTLE_ALGORITHMS)}")
    return random, subtle


def _files(data: Any, where: str) -> dict[str, bytes]:
    if data is None:
        return {}
    _expect(isinstance(data, dict), where, 'expected {"files": {path: text or {"base64": ...}}}')
    _no_unknown(data, {"files"}, where)
    files = data.get("files") or {}
    _expect(isinstance(files, dict), f"{where}.files", "expected an object of path to content")
    out = {}
    for path, content in files.items():
        _expect(isinstance(path, str) and path.startswith("/") and posixpath.normpath(path) == path,
                f"{where}.files", f"{path!r} must be an absolute, normalized path")
        if isinstance(content, str):
            out[path] = content.encode()
        elif isinstance(content, dict) and set(content) == {"base64"} and isinstance(content["base64"], str):
            try:
                out[path] = base64.b64decode(content["base64"], validate=True)
            except binascii.Error:
                raise ConfigError(f"{where}.files[{path!r}]: invalid base64") from None
        else:
            raise ConfigError(f"{where}.files[{path!r}]: expected text or {{\"base64\": ...}}")
    return out


def _limits(data: Any, where: str) -> Limits:
    data = data or {}
    _expect(isinstance(data, dict), where, "expected an object")
    bounds = {"timeout_ms": (1, 600_000), "memory_mb": (16, 4096), "log_kb": (0, 65_536), "startup_ms": (100, 600_000)}
    _no_unknown(data, set(bounds), where)
    values = {}
    for name, (low, high) in bounds.items():
        if name in data:
            value = data[name]
            _expect(isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
                    f"{where}.{name}", f"expected an integer from {low} to {high}")
            values[name] = value
    return Limits(**values)
