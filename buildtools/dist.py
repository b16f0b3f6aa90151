"""dist/: the whole build, step by step, and the modules a user adds to it."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import time
import zipfile
from pathlib import Path

from .compress import compress_tree, served_files
from .go import GoModule, build_go, detect_abi, go_root
from .signing import load_private_key, sign_detached, signature_path
from .sourcemap import map_path
from .headers import VARIANT_SUFFIXES, headers_file, nginx_conf
from .pages import render_pages, script_hashes
from .paths import (BOX, DEPLOY, DIST, NODE_MODULES, PYODIDE_CORE, PYODIDE_FETCHED, ROOT, WEB_BOX_FILES, WEB_PAGE_FILES,
                    pyodide_dir, pyodide_version)
from .sizes import audit, measure
from .snapshot import build_snapshot, sparse_length
from .steps import copy_if_changed, fingerprint, log, sha256_file, write_if_changed
from .wheel import browser_wheels, build_wheel


def publish_modules(modules: list[GoModule]) -> dict[str, tuple[Path, str]]:
    """Copy each compiled module into dist/ under a name that holds its hash (so its
    URL changes with its bytes and may be cached for good): name -> (file, sha256)."""
    published = {}
    for module in modules:
        digest = sha256_file(module.output)
        target = BOX / "modules" / f"{module.name}.{digest[:16]}.wasm"
        if not target.exists():  # its name says its bytes: a rebuild to the same bytes changes nothing
            copy_if_changed(module.output, target)
        if module.source_map:  # a debug build's map, named as its module is
            copy_if_changed(module.source_map, map_path(target))
        published[module.name] = (target, digest)
    keep = {path for m in modules for path in (published[m.name][0], m.source_map and map_path(published[m.name][0]))}
    for stale in {*(BOX / "modules").glob("*.wasm"), *(BOX / "modules").glob("*.wasm.map")} - keep:
        stale.unlink()
    return published


# What a module's module.json gives its manifest entry (budget_kb is the build's own: buildtools/sizes.py).
RELEASE_FIELDS = ("version", "health", "rollback")


def module_entry(module: GoModule, wasm: Path, digest: str) -> dict:
    policy_file = module.source / "policy.json"
    config_file = module.source / "module.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    entry = {
        "name": module.name,
        # module.json's version, else the build's: the first 12 hex digits of the bytes' sha256.
        "version": str(config.get("version") or digest[:12]),
        "abi": module.abi,
        "url": f"modules/{wasm.name}",
        "size": wasm.stat().st_size,
        "sha256": digest,
        "policy": json.loads(policy_file.read_text()) if policy_file.exists() else {},
    }
    if module.source_map:
        # The host names the map in the module after verifying it (_wasm.with_source_map_url).
        entry.update(debug=True, source_map=f"modules/{map_path(wasm).name}")
    entry.update({name: config[name] for name in RELEASE_FIELDS[1:] if name in config})
    return entry


def write_manifest(manifest: dict, sign: Path | None) -> None:
    """manifest.json, versioned by its content, and with ``sign`` (a PKCS#8 PEM
    Ed25519 key) its detached JWS beside it; an unsigned build leaves none."""
    key = load_private_key(sign) if sign is not None else None  # before anything is written: a bad key changes nothing
    body = json.dumps(manifest, indent=1, sort_keys=True)
    manifest = {"version": hashlib.sha256(body.encode()).hexdigest()[:16], **manifest}
    data = json.dumps(manifest, indent=1).encode()
    write_if_changed(BOX / "manifest.json", data)
    jws = signature_path(BOX / "manifest.json")
    if key is None:
        if jws.exists():
            jws.unlink()
            print(f"[build] unsigned build: removed {jws.relative_to(ROOT)} (sign with --sign KEY or EDGEBOX_SIGNING_KEY)", flush=True)
        return
    write_if_changed(jws, sign_detached(data, key).encode("ascii"))


def repack_stored(source: Path, target: Path, state: dict) -> None:
    """The same zip with every member stored, not deflated: brotli then sees the
    .pyc files themselves and sends Pyodide's standard library in 1.6 MB instead
    of 2.5 MB (zipimport reads stored members as readily)."""
    key = fingerprint(source)
    if target.exists() and state.get(f"stored:{target.name}") == key:
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as packed, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as stored:
        for info in packed.infolist():
            member = zipfile.ZipInfo(info.filename, info.date_time)
            member.external_attr = info.external_attr
            stored.writestr(member, packed.read(info), compress_type=zipfile.ZIP_STORED)
    write_if_changed(target, buffer.getvalue())
    state[f"stored:{target.name}"] = key


def remove_stale(directory: Path, keep: set[Path]) -> None:
    """Delete the files under ``directory`` a build no longer makes (their siblings go with compress_tree)."""
    for path in [p for p in directory.rglob("*") if p.is_file() and not p.name.endswith(VARIANT_SUFFIXES)]:
        if path not in keep:
            path.unlink()


def write_deploy_files() -> None:
    """Server configuration from the header table: nginx's server-block directives
    and a _headers file for static hosts (which must sit at the site's root)."""
    write_if_changed(DEPLOY / "nginx.conf", nginx_conf(script_hashes()).encode())
    served = ["/" + str(p.relative_to(DIST)) for p in served_files(DIST) if p.name != "_headers"]
    write_if_changed(DIST / "_headers", headers_file(["/", *served], script_hashes()).encode())


STATE_FILE = DIST / ".build-state.json"


def load_state() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def save_state(state: dict) -> None:
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(STATE_FILE, json.dumps(state, indent=1, sort_keys=True).encode())


def build(debug: bool = False, sign: Path | None = None) -> None:
    """Build dist/; ``debug``: every Go module as a debug build (names, source maps);
    ``sign``: a private key to sign the manifest with (buildtools/signing.py)."""
    started = time.monotonic()
    state = load_state()
    modules = build_go(state, debug)
    published = publish_modules(modules)

    for name in WEB_BOX_FILES:
        copy_if_changed(ROOT / "web" / name, BOX / name)
    for name in WEB_PAGE_FILES:
        copy_if_changed(ROOT / "web" / name, DIST / name)
    # Third-party runtime files come from their packages at build time, never from git.
    copy_if_changed(go_root() / "lib" / "wasm" / "wasm_exec.js", BOX / "wasm_exec.js")
    pyodide_src = NODE_MODULES / "pyodide"
    for name in PYODIDE_CORE:
        if name.endswith(".zip"):
            repack_stored(pyodide_src / name, pyodide_dir() / name, state)
        else:
            copy_if_changed(pyodide_src / name, pyodide_dir() / name)
    wheels = browser_wheels()
    for wheel in wheels:
        copy_if_changed(wheel, BOX / "wheels" / wheel.name)
    app_wheel = build_wheel()
    for stale in set((BOX / "wheels").glob("*.whl")) - {BOX / "wheels" / w.name for w in [*wheels, app_wheel]}:
        stale.unlink()

    snapshot = build_snapshot(state, [*wheels, app_wheel])
    remove_stale(BOX / "pyodide", {snapshot, *(pyodide_dir() / name for name in PYODIDE_CORE)})
    save_state(state)
    runtime = {
        "pyodide": f"pyodide/{pyodide_version()}/",
        "snapshot": f"pyodide/{pyodide_version()}/{snapshot.name}",
        "snapshotHeapBytes": sparse_length(snapshot),  # Python's heap: allocated before the snapshot arrives
        # What wasm_exec.js gives a GOOS=js module: the host refuses any other import.
        "gojsImports": sorted(set(re.findall(r'"((?:runtime|syscall/js)\.[\w.]+)"', (BOX / "wasm_exec.js").read_text()))),
        "runtimeBytes": sum((pyodide_dir() / name).stat().st_size for name in PYODIDE_FETCHED) + snapshot.stat().st_size,
        "wheels": [f"wheels/{wheel.name}" for wheel in [*wheels, app_wheel]],
        # What the worker keeps decoded in Cache Storage, by path: a kept copy that does not hash to this is dropped.
        "sha256": {str(path.relative_to(BOX)): sha256_file(path)
                   for path in [snapshot, pyodide_dir() / "python_stdlib.zip", pyodide_dir() / "pyodide.asm.wasm"]},
    }
    write_if_changed(BOX / "runtime.json", json.dumps(runtime, indent=1).encode())
    routes_file = ROOT / "modules" / "routes.json"
    manifest = {"format": 1, "modules": [module_entry(module, *published[module.name]) for module in modules],
                "routes": json.loads(routes_file.read_text()) if routes_file.exists() else []}
    write_manifest(manifest, sign)
    render_pages()
    write_deploy_files()
    compress_tree(DIST, state)
    sizes = [measure(module, published[module.name][0], state) for module in modules]
    save_state(state)
    audit(sizes)
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
