"""The host app as a pure, reproducible wheel, and the third-party wheels the browser needs."""

from __future__ import annotations

import hashlib
import sys
import io
import zipfile
from pathlib import Path

from .paths import BOX, BROWSER_WHEELS, PYODIDE_WHEELS, ROOT, TESTING_WHEELS
from .steps import log, write_if_changed


def pure_wheel(project_dir: Path, packages: list[str], output_dir: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A pure, reproducible py3-none-any wheel of ``packages`` (directories of
    ``project_dir``) described by its pyproject.toml: same sources, same bytes.
    ``extra`` adds generated files (path in the wheel -> bytes)."""
    import base64
    import tomllib

    pyproject = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
    name, version = pyproject["name"], pyproject["version"]
    dist_name = name.replace("-", "_")
    dist_info = f"{dist_name}-{version}.dist-info"
    metadata = "".join([
        "Metadata-Version: 2.1\n", f"Name: {name}\n", f"Version: {version}\n",
        f"Summary: {pyproject['description']}\n", f"Requires-Python: {pyproject['requires-python']}\n",
        *(f"Requires-Dist: {dep}\n" for dep in pyproject.get("dependencies", [])),
    ])
    wheel = "Wheel-Version: 1.0\nGenerator: edgebox build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files = {str(p.relative_to(project_dir)): p.read_bytes()
             for package in packages for p in sorted((project_dir / package).rglob("*.py"))}
    files.update(extra or {})
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = wheel.encode()
    entry_points = "".join(f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
                           for group, points in pyproject.get("entry-points", {}).items())
    if entry_points:
        files[f"{dist_info}/entry_points.txt"] = entry_points.encode()

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
    output = output_dir / f"{dist_name}-{version}-py3-none-any.whl"
    if write_if_changed(output, buffer.getvalue()):
        log(f"wheel -> {output.relative_to(ROOT)}")
    return output


def build_wheel() -> Path:
    """The app as a pure, reproducible py3-none-any wheel (same sources, same bytes)."""
    return pure_wheel(ROOT / "app", ["edgebox"], BOX / "wheels")


def plugin_wheel() -> Path:
    """The pytest plugin (testing/), with the project it was built from recorded in
    it, so that `pytest` anywhere finds this project's dist/, SDK and build code."""
    import json

    origin = json.dumps({"root": str(ROOT)}, indent=1).encode()
    return pure_wheel(ROOT / "testing", ["edgebox_testing"], TESTING_WHEELS, {"edgebox_testing/_origin.json": origin})


def browser_wheels() -> list[Path]:
    wheels = []
    for name in BROWSER_WHEELS:
        found = sorted(PYODIDE_WHEELS.glob(f"{name}-*-py3-none-any.whl"))
        if not found:
            sys.exit(f"{name} wheel missing from {PYODIDE_WHEELS}: run `python3 build.py build` to set up")
        wheels.append(found[-1])
    return wheels
