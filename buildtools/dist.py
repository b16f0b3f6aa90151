"""dist/: the whole build, step by step, and the modules a user adds to it."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from .go import GoModule, build_go, detect_abi, go_root
from .pages import render_pages
from .paths import BOX, DIST, NODE_MODULES, PYODIDE_CORE, PYODIDE_FETCHED, ROOT, WEB_BOX_FILES, WEB_PAGE_FILES
from .snapshot import build_snapshot
from .steps import copy_if_changed, log, sha256_file, write_if_changed
from .wheel import browser_wheels, build_wheel


def module_entry(module: GoModule) -> dict:
    wasm = module.output
    policy_file = module.source / "policy.json"
    entry = {
        "name": module.name,
        "abi": module.abi,
        "url": f"modules/{wasm.name}",
        "size": wasm.stat().st_size,
        "sha256": sha256_file(wasm),
        "policy": json.loads(policy_file.read_text()) if policy_file.exists() else {},
    }
    if module.source_map:
        # The host names the map in the module after verifying it (_wasm.with_source_map_url).
        entry.update(debug=True, source_map=f"modules/{module.source_map.name}")
    return entry


STATE_FILE = DIST / ".build-state.json"


def load_state() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def save_state(state: dict) -> None:
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(STATE_FILE, json.dumps(state, indent=1, sort_keys=True).encode())


def build(debug: bool = False) -> None:
    """Build dist/; ``debug``: every Go module as a debug build (names, source maps)."""
    started = time.monotonic()
    state = load_state()
    modules = build_go(state, debug)

    for name in WEB_BOX_FILES:
        copy_if_changed(ROOT / "web" / name, BOX / name)
    for name in WEB_PAGE_FILES:
        copy_if_changed(ROOT / "web" / name, DIST / name)
    # Third-party runtime files come from their packages at build time, never from git.
    copy_if_changed(go_root() / "lib" / "wasm" / "wasm_exec.js", BOX / "wasm_exec.js")
    pyodide_src = NODE_MODULES / "pyodide"
    for name in PYODIDE_CORE:
        copy_if_changed(pyodide_src / name, BOX / "pyodide" / name)
    wheels = browser_wheels()
    for wheel in wheels:
        copy_if_changed(wheel, BOX / "wheels" / wheel.name)
    app_wheel = build_wheel()
    for stale in set((BOX / "wheels").glob("*.whl")) - {BOX / "wheels" / w.name for w in [*wheels, app_wheel]}:
        stale.unlink()

    snapshot = build_snapshot(state, [*wheels, app_wheel])
    save_state(state)
    runtime = {
        "pyodide": "pyodide/",
        "snapshot": f"pyodide/{snapshot.name}",
        # What wasm_exec.js gives a GOOS=js module: the host refuses any other import.
        "gojsImports": sorted(set(re.findall(r'"((?:runtime|syscall/js)\.[\w.]+)"', (BOX / "wasm_exec.js").read_text()))),
        "runtimeBytes": sum((pyodide_src / name).stat().st_size for name in PYODIDE_FETCHED) + snapshot.stat().st_size,
        "wheels": [f"wheels/{wheel.name}" for wheel in [*wheels, app_wheel]],
    }
    write_if_changed(BOX / "runtime.json", json.dumps(runtime, indent=1).encode())
    for stale in set((BOX / "modules").glob("*.wasm*")) - {m.output for m in modules} - {m.source_map for m in modules}:
        stale.unlink()
    routes_file = ROOT / "modules" / "routes.json"
    manifest = {"format": 1, "modules": [module_entry(module) for module in modules],
                "routes": json.loads(routes_file.read_text()) if routes_file.exists() else []}
    write_if_changed(BOX / "manifest.json", json.dumps(manifest, indent=1).encode())
    render_pages()
    log(f"dist/ ready in {time.monotonic() - started:.2f} s")


def add_module(source: Path | None, *, name: str | None, abi: str | None, remove: str | None, debug: bool = False) -> None:
    """Remember a module directory in dist/'s build state, so later builds keep it."""
    state = load_state()
    extra = state.setdefault("extra", {})
    if remove:
        if remove not in extra:
            sys.exit(f"no added module {remove!r}; added: {sorted(extra) or 'none'}")
        del extra[remove]
        state.pop(f"go:{remove}", None)
        save_state(state)
        return
    if source is None or not source.is_dir():
        sys.exit("usage: python3 build.py module DIR [--name NAME] [--abi js|wasip1] [--debug]")
    source = source.resolve()
    name = name or source.name
    if not re.match(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", name):
        sys.exit(f"module name {name!r}: use 1-64 letters, digits, '_', '.', '-', starting with a letter (--name)")
    if (ROOT / "modules" / name).is_dir() and (ROOT / "modules" / name).resolve() != source:
        sys.exit(f"module name {name!r} is taken by modules/{name}; choose another with --name")
    policy = source / "policy.json"
    if policy.exists():
        sys.path.insert(0, str(ROOT / "app"))
        from edgebox import ConfigError, Policy

        try:
            Policy.parse(json.loads(policy.read_text()), str(policy))
        except (ValueError, ConfigError) as error:
            sys.exit(f"{policy}: {error}")
    extra[name] = {"dir": str(source), "abi": abi or detect_abi(source), "debug": debug}
    save_state(state)
    log(f"module {name} ({extra[name]['abi']}{', debug' if debug else ''}) from {source}")
