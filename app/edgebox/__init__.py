"""EdgeBox host: verifies Go WebAssembly guests and serves calls to them.

The browser binding lives in ``edgebox._pyodide`` (imported by the worker);
everything exported here runs under CPython as well.
"""

from ._errors import (
    ERROR_CLASSES,
    BadRequestError,
    BootError,
    ClosedError,
    ConfigError,
    CrashedError,
    EdgeBoxError,
    GuestError,
    IntegrityError,
    LoadError,
    NotFoundError,
    TimeoutError,
)
from ._host import Host, verify
from ._manifest import ABIS, Manifest, ModuleSpec
from ._platform import Guest, Platform

__version__ = "0.1.0"

__all__ = [
    "ABIS",
    "ERROR_CLASSES",
    "BadRequestError",
    "BootError",
    "ClosedError",
    "ConfigError",
    "CrashedError",
    "EdgeBoxError",
    "Guest",
    "GuestError",
    "Host",
    "IntegrityError",
    "LoadError",
    "Manifest",
    "ModuleSpec",
    "NotFoundError",
    "Platform",
    "TimeoutError",
    "verify",
]
