import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The app is imported from source under CPython (inside Pyodide it comes from the wheel).
for path in (ROOT / "app", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# The plugin's tests (tests/testing) run pytest sessions of their own with pytester.
pytest_plugins = ["pytester"]
