"""Routes: which module answers which path prefix, through which middleware,
and (gray release) which version of it a given user gets.

In the manifest (from ``modules/routes.json``)::

    {"prefix": "/edge/orders/",
     "module": "riskrules",
     "middleware": ["logger", "tracer", {"cors": {"origins": ["*"], "methods": ["GET", "POST"]}}],
     "release": {"default": "v1",
                 "versions": {"v1": "riskrules", "v2": "riskrules-v2"},
                 "rules": [{"version": "v2", "user_agent": "EdgeCanary"},
                           {"version": "v2", "flag": "risk-v2"},
                           {"version": "v2", "percent": 10}]}}

Release rules are tried in order; every condition of a rule must hold; the
first rule that holds picks the version, else ``default``. ``percent`` puts a
stable user id in a bucket from 0 to 99, so a user keeps their version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from ._errors import ConfigError

__all__ = ["Route", "Release", "ReleaseRule", "parse_routes"]

MIDDLEWARE = ("logger", "tracer", "cors")


@dataclass(frozen=True)
class ReleaseRule:
    version: str
    user_agent: re.Pattern[str] | None = None
    flag: str | None = None
    percent: int | None = None

    def matches(self, *, user_agent: str, flags: Mapping[str, Any], bucket: int) -> bool:
        return (
            (self.user_agent is None or bool(self.user_agent.search(user_agent)))
            and (self.flag is None or bool(flags.get(self.flag)))
            and (self.percent is None or bucket < self.percent)
        )


@dataclass(frozen=True)
class Release:
    default: str
    versions: Mapping[str, str]  # version label -> module name
    rules: tuple[ReleaseRule, ...] = ()

    def choose(self, *, user_agent: str, flags: Mapping[str, Any], user_id: str, route: str) -> str:
        bucket = int(hashlib.sha256(f"{user_id}\0{route}".encode()).hexdigest()[:8], 16) % 100
        for rule in self.rules:
            if rule.matches(user_agent=user_agent, flags=flags, bucket=bucket):
                return rule.version
        return self.default


@dataclass(frozen=True)
class Route:
    prefix: str
    module: str
    middleware: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    release: Release | None = None

    def pick(self, *, user_agent: str, flags: Mapping[str, Any], user_id: str) -> tuple[str, str]:
        """(version label, module name) for this request."""
        if self.release is None:
            return self.module, self.module
        version = self.release.choose(user_agent=user_agent, flags=flags, user_id=user_id, route=self.prefix)
        return version, self.release.versions[version]


def parse_routes(data: Any, modules: set[str]) -> tuple[Route, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ConfigError("routes: expected a list of {prefix, module, middleware, release}")
    routes = [_route(entry, f"routes[{i}]", modules) for i, entry in enumerate(data)]
    # Longest prefix first: the most specific route wins.
    return tuple(sorted(routes, key=lambda route: -len(route.prefix)))


def _route(entry: Any, where: str, modules: set[str]) -> Route:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object")
    unknown = set(entry) - {"prefix", "module", "middleware", "release"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    prefix = entry.get("prefix")
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ConfigError(f"{where}.prefix: a path prefix starting with /")
    release = _release(entry["release"], f"{where}.release", modules) if "release" in entry else None
    module = entry.get("module") or (release.versions[release.default] if release else None)
    if module not in modules:
        raise ConfigError(f"{where}.module: {module!r} is not in the manifest ({sorted(modules)})")
    middleware = []
    for item in entry.get("middleware") or []:
        if isinstance(item, str):
            name, options = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            [(name, options)] = item.items()
        else:
            name, options = None, None
        if name not in MIDDLEWARE or not isinstance(options, dict):
            raise ConfigError(f"{where}.middleware: {item!r}; use names from {list(MIDDLEWARE)} or {{name: options}}")
        middleware.append((name, options))
    return Route(prefix=prefix, module=module, middleware=tuple(middleware), release=release)


def _release(data: Any, where: str, modules: set[str]) -> Release:
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict) or not data["versions"]:
        raise ConfigError(f"{where}: expected {{default, versions: {{label: module}}, rules}}")
    versions = data["versions"]
    for label, module in versions.items():
        if module not in modules:
            raise ConfigError(f"{where}.versions.{label}: {module!r} is not in the manifest")
    default = data.get("default")
    if default not in versions:
        raise ConfigError(f"{where}.default: {default!r} is not one of {sorted(versions)}")
    rules = []
    for i, rule in enumerate(data.get("rules") or []):
        at = f"{where}.rules[{i}]"
        if not isinstance(rule, dict) or rule.get("version") not in versions:
            raise ConfigError(f"{at}: needs a version from {sorted(versions)}")
        unknown = set(rule) - {"version", "user_agent", "flag", "percent"}
        if unknown or len(rule) < 2:
            raise ConfigError(f"{at}: conditions are user_agent, flag and percent")
        percent = rule.get("percent")
        if percent is not None and (not isinstance(percent, int) or not 0 <= percent <= 100):
            raise ConfigError(f"{at}.percent: an integer from 0 to 100")
        try:
            pattern = re.compile(rule["user_agent"], re.I) if "user_agent" in rule else None
        except (re.error, TypeError):
            raise ConfigError(f"{at}.user_agent: not a regular expression") from None
        rules.append(ReleaseRule(version=rule["version"], user_agent=pattern, flag=rule.get("flag"), percent=percent))
    return Release(default=default, versions=dict(versions), rules=tuple(rules))
