"""The size audit: per module, its raw, gzip and brotli size and the Go packages
that take the most code (from its pclntab, read by buildtools/gosize), against
the brotli budget in module.json beside the module's Go files:

    {"budget_kb": 2000}     # brotli bytes / 1024, at most

A module over its budget fails the build with the table."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .go import GoModule, go_binary
from .paths import BUILD, ROOT
from .steps import fingerprint, log

TOP_PACKAGES = 10
GOSIZE = ROOT / "buildtools" / "gosize" / "main.go"


@dataclass(frozen=True)
class ModuleSize:
    name: str
    raw: int
    gzip: int
    brotli: int
    budget_kb: int | None
    packages: list[tuple[str, int]]  # the biggest first: (import path, bytes of code)

    @property
    def over_budget(self) -> bool:
        return self.budget_kb is not None and self.brotli > self.budget_kb * 1024


def budget_kb(source: Path) -> int | None:
    """``budget_kb`` from ``source/module.json``; None when the module sets none."""
    config = source / "module.json"
    if not config.exists():
        return None
    budget = json.loads(config.read_text()).get("budget_kb")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0):
        raise SystemExit(f"{config}: budget_kb must be a positive whole number of KiB (brotli), got {budget!r}")
    return budget


def _gosize_tool(state: dict) -> Path:
    """The gosize helper, built for this machine with the standard library only."""
    tool = BUILD / "tools" / "gosize"
    key = fingerprint(GOSIZE, subprocess.run([go_binary(), "version"], check=True, capture_output=True, text=True).stdout)
    if not (tool.exists() and state.get("tool:gosize") == key):
        tool.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("GOOS", "GOARCH")}
        env.update({"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOWORK": "off", "GOFLAGS": ""})
        subprocess.run([go_binary(), "build", "-o", str(tool), GOSIZE.name], cwd=GOSIZE.parent, env=env, check=True)
        state["tool:gosize"] = key
    return tool


def package_sizes(wasm: Path, state: dict) -> list[tuple[str, int]]:
    """Bytes of code per Go package in ``wasm``, the biggest first."""
    result = subprocess.run([str(_gosize_tool(state)), str(wasm)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"size audit: {result.stderr.strip()}")
    return sorted(json.loads(result.stdout).items(), key=lambda item: (-item[1], item[0]))


def measure(module: GoModule, served: Path, state: dict) -> ModuleSize:
    """Sizes of the module file as served (its .gz and .br beside it, from compress.py)."""
    raw = served.stat().st_size
    size = lambda suffix: (p.stat().st_size if (p := served.with_name(served.name + suffix)).exists() else raw)  # noqa: E731
    cache = state.setdefault("sizes", {})
    key = f"{served.name}:{raw}"
    if cache.get(module.name, {}).get("key") != key:
        cache[module.name] = {"key": key, "packages": package_sizes(served, state)}
    packages = [tuple(p) for p in cache[module.name]["packages"]]
    return ModuleSize(module.name, raw, size(".gz"), size(".br"), budget_kb(module.source), packages)


def size_table(sizes: list[ModuleSize]) -> str:
    kib = lambda n: f"{n / 1024:,.0f}"  # noqa: E731
    lines = [f"{'module (KiB)':<24}{'raw':>9}{'gzip':>9}{'brotli':>9}{'budget':>9}"]
    for s in sizes:
        budget = "-" if s.budget_kb is None else f"{s.budget_kb:,}"
        lines.append(f"{s.name:<24}{kib(s.raw):>9}{kib(s.gzip):>9}{kib(s.brotli):>9}{budget:>9}"
                     + ("   OVER BUDGET" if s.over_budget else ""))
        lines.append("    code: " + ", ".join(f"{name} {kib(n)}" for name, n in s.packages[:TOP_PACKAGES]))
    return "\n".join(lines)


def audit(sizes: list[ModuleSize]) -> None:
    """Print the table; fail the build, naming them, if modules are over budget."""
    table = size_table(sizes)
    log("size audit\n" + table)
    over = [s for s in sizes if s.over_budget]
    if over:
        names = ", ".join(f"{s.name} ({s.brotli / 1024:,.0f} KiB brotli > budget_kb {s.budget_kb:,})" for s in over)
        biggest = "; ".join(f"{s.name}: " + ", ".join(name for name, _ in s.packages[:TOP_PACKAGES]) for s in over)
        raise SystemExit(f"size audit failed: over budget: {names}\nbiggest Go packages: {biggest}\n\n{table}")
