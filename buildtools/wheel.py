"""The host app as a pure, reproducible wheel, and the third-party wheels the browser needs."""

from __future__ import annotations

import hashlib
import sys
import io
import zipfile
from pathlib import Path

from .paths import BOX, BROWSER_WHEELS, PYODIDE_WHEELS, ROOT
from .steps import log, write_if_changed


def build_wheel() -> Path:
    """The app as a pure, reproducible py3-none-any wheel (same sources, same bytes)."""
    import base64
    import tomllib

    project = tomllib.loads((ROOT / "app" / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    metadata = "".join([
        "Metadata-Version: 2.1\n", f"Name: {name}\n", f"Version: {version}\n",
        f"Summary: {project['description']}\n", f"Requires-Python: {project['requires-python']}\n",
        *(f"Requires-Dist: {dep}\n" for dep in project.get("dependencies", [])),
    ])
    wheel = "Wheel-Version: 1.0\nGenerator: edgebox build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    package = ROOT / "app" / name
    files = {str(p.relative_to(ROOT / "app")): p.read_bytes() for p in sorted(package.rglob("*.py"))}
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = wheel.encode()

    def record_line(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(data)}\n"

    record = "".join(record_line(path, data) for path, data in files.items()) + f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    output = BOX / "wheels" / f"{name}-{version}-py3-none-any.whl"
    if write_if_changed(output, buffer.getvalue()):
        log(f"wheel -> {output.relative_to(ROOT)}")
    return output


def browser_wheels() -> list[Path]:
    wheels = []
    for name in BROWSER_WHEELS:
        found = sorted(PYODIDE_WHEELS.glob(f"{name}-*-py3-none-any.whl"))
        if not found:
            sys.exit(f"{name} wheel missing from {PYODIDE_WHEELS}: run `python3 build.py build` to set up")
        wheels.append(found[-1])
    return wheels
