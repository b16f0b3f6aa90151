"""The app's tests once more, inside real Pyodide (Python 3.14) under Node."""

import subprocess
import sys
from pathlib import Path

import buildtools as build
from buildtools.wheel import browser_wheels

ROOT = Path(__file__).resolve().parent.parent


def test_app_tests_pass_inside_pyodide():
    # The app with what it runs on in the browser, and what runs its tests.
    app_wheel = next((build.BOX / "wheels").glob("edgebox-*.whl"))
    test_wheels = [next(build.PYODIDE_WHEELS.glob(f"{name}-*.whl")) for name in ("packaging", "pytest", "pluggy", "iniconfig", "pygments")]
    result = subprocess.run(
        ["node", "tests/pyodide/run_pytest.mjs", "tests/app", app_wheel, *browser_wheels(), *test_wheels, "--", "-q", "-p", "no:randomly"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    sys.stdout.write(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "Python 3.14" in result.stdout
    assert " passed" in result.stdout and " failed" not in result.stdout
