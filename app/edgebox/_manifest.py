"""The manifest: which modules exist, where their bytes are, what they hash to.

Built by build.py into ``dist/edgebox/manifest.json``; a page may override or
add modules with ``EdgeBox.start({modules})``. Everything is validated here,
once, so the rest of the host works with well-formed ``ModuleSpec``s only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urljoin

from ._errors import ConfigError
from ._policy import Policy
from ._routes import Route, parse_routes

__all__ = ["ABIS", "Health", "Manifest", "ModuleSpec", "Rollback"]

ABIS = ("js", "wasip1")
MANIFEST_FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_MODULE_FIELDS = {"name", "abi", "url", "size", "sha256", "policy", "debug", "source_map", "version", "health", "rollback"}
_VERSION = re.compile(r"^[\x21-\x7e]{1,64}$")  # printable ASCII, no spaces: it is a metric label and a header value


@dataclass(frozen=True)
class Rollback:
    """A new version's probation after a live update (``rollback`` of a module's
    entry): if more than ``max_errors`` of its first ``calls`` calls end its
    instance (a death code: E_PANIC, E_LIMIT, E_TIMEOUT, E_CRASHED), EdgeBox
    switches back to the version before, which stays warm until then."""

    calls: int = 20
    max_errors: int = 2


@dataclass(frozen=True)
class Health:
    """A live update's health check (``health`` of a module's entry), run on the
    new instance before the switch: ``fn`` called with ``args`` must answer
    ``expect`` (when given), or a request to ``path`` must answer ``status``."""

    fn: str | None = None
    args: tuple = ()
    expect: Any = None
    has_expect: bool = False
    path: str | None = None
    status: int = 200


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    abi: str
    url: str
    sha256: str
    size: int | None = None
    policy: Policy = field(default_factory=Policy)
    # A debug build (build.py --debug): its time limits are relaxed for a paused
    # debugger (_lifecycle.time_limit_ms); source_map is the absolute URL of its map.
    debug: bool = False
    source_map: str | None = None
    version: str = ""  # the manifest's (module.json's, or the build's); "" for a page's own module
    health: Health | None = None
    rollback: Rollback = field(default_factory=Rollback)

    def same_release(self, other: "ModuleSpec") -> bool:
        """True when ``other`` runs the same instance: same bytes, kind, policy and build."""
        return (self.sha256, self.abi, self.policy, self.debug) == (other.sha256, other.abi, other.policy, other.debug)


@dataclass(frozen=True)
class Manifest:
    url: str
    modules: Mapping[str, ModuleSpec]
    routes: tuple[Route, ...] = ()
    version: str = ""

    @classmethod
    def parse(
        cls,
        data: Any,
        *,
        url: str,
        overrides: Mapping[str, Any] | None = None,
        routes: list[Any] | None = None,
    ) -> "Manifest":
        """Validate ``data`` (the decoded manifest.json fetched from ``url``).

        ``overrides`` maps a module name to fields that replace the manifest's
        (or define a new module); their URLs are already absolute. ``routes``
        (a page's) replace the manifest's routes with the same prefix, or add to them.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"manifest {url}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != MANIFEST_FORMAT:
            raise ConfigError(
                f"manifest {url}: format {data.get('format')!r} is not supported "
                f"(expected {MANIFEST_FORMAT}); rebuild with `python3 build.py build`"
            )
        entries = data.get("modules")
        if not isinstance(entries, list):
            raise ConfigError(f"manifest {url}: 'modules' must be a list")

        raw: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ConfigError(f"manifest {url}: every module needs a string 'name'")
            raw[entry["name"]] = entry

        for name, fields in (overrides or {}).items():
            if not isinstance(fields, dict):
                raise ConfigError(f"modules.{name}: expected an object with url, abi, sha256, policy")
            raw[name] = {**raw.get(name, {"abi": "js"}), **fields, "name": name}

        modules = {name: _module_spec(name, fields, url) for name, fields in raw.items()}
        page_routes = routes or []
        if not isinstance(page_routes, list):
            raise ConfigError("routes: expected a list of {prefix, module, middleware, release}")
        prefixes = {route.get("prefix") for route in page_routes if isinstance(route, dict)}
        merged = [*page_routes, *(r for r in data.get("routes") or [] if r.get("prefix") not in prefixes)]
        version = data.get("version", "")
        if not isinstance(version, str) or (version and not _VERSION.match(version)):
            raise ConfigError(f"manifest {url}: version must be 1-64 printable ASCII characters without spaces")
        return cls(url=url, modules=modules, routes=parse_routes(merged, set(modules)), version=version)

    def get(self, name: str) -> ModuleSpec | None:
        return self.modules.get(name)


def _module_spec(name: str, fields: dict[str, Any], manifest_url: str) -> ModuleSpec:
    where = f"modules.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: module names are 1-64 letters, digits, '_', '.', '-', starting with a letter")
    unknown = set(fields) - _MODULE_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_MODULE_FIELDS)}")
    abi = fields.get("abi")
    if abi not in ABIS:
        raise ConfigError(f"{where}.abi: {abi!r} is not one of {list(ABIS)}")
    url = fields.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where}.url: a module needs the URL of its .wasm file")
    sha256 = fields.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ConfigError(f"{where}.sha256: expected 64 lowercase hex digits (the sha256 of the .wasm bytes)")
    size = fields.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ConfigError(f"{where}.size: expected a byte count")
    policy = Policy.parse(fields.get("policy"), f"{where}.policy")
    debug = fields.get("debug", False)
    if not isinstance(debug, bool):
        raise ConfigError(f"{where}.debug: expected true or false")
    source_map = fields.get("source_map")
    if source_map is not None and (not isinstance(source_map, str) or not source_map):
        raise ConfigError(f"{where}.source_map: expected the URL of the module's source map")
    version = fields.get("version", "")
    if not isinstance(version, str) or (version and not _VERSION.match(version)):
        raise ConfigError(f"{where}.version: 1-64 printable ASCII characters without spaces")
    return ModuleSpec(name=name, abi=abi, url=urljoin(manifest_url, url), sha256=sha256, size=size, policy=policy,
                      debug=debug, source_map=urljoin(manifest_url, source_map) if source_map else None, version=version,
                      health=_health(fields.get("health"), f"{where}.health"),
                      rollback=_rollback(fields.get("rollback"), f"{where}.rollback"))


def _health(value: Any, where: str) -> Health | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"fn", "args", "expect", "path", "status"}:
        raise ConfigError(f"{where}: expected {{fn, args, expect}} or {{path, status}}")
    if isinstance(value.get("fn"), str) and "path" not in value:
        args = value.get("args", [])
        if not isinstance(args, list):
            raise ConfigError(f"{where}.args: expected a list")
        return Health(fn=value["fn"], args=tuple(args), expect=value.get("expect"), has_expect="expect" in value)
    path, status = value.get("path"), value.get("status", 200)
    if not isinstance(path, str) or not path.startswith("/") or not isinstance(status, int) or isinstance(status, bool):
        raise ConfigError(f"{where}: expected {{fn, args, expect}} or {{path: \"/...\", status: 200}}")
    return Health(path=path, status=status)


def _rollback(value: Any, where: str) -> Rollback:
    if value is None:
        return Rollback()
    if not isinstance(value, dict) or set(value) - {"calls", "max_errors"}:
        raise ConfigError(f"{where}: expected {{calls, max_errors}}")
    fields = {**vars(Rollback()), **value}
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in fields.values()):
        raise ConfigError(f"{where}: calls and max_errors are whole numbers")
    return Rollback(**fields)
