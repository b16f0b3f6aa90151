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
    DeniedError,
    EdgeBoxError,
    GuestError,
    ImportMismatchError,
    IntegrityError,
    LimitError,
    LoadError,
    NetworkError,
    NotFoundError,
    PanicError,
    SignatureError,
    TimeoutError,
    TooLargeError,
)
from ._host import AuditEvent, GuestServices, Host, verify
from ._manifest import ABIS, Manifest, ModuleSpec
from ._manifest_trust import TrustedKeys
from ._platform import Guest, HttpRequest, HttpResponse, Platform
from ._policy import Limits, NetPolicy, Policy

__version__ = "0.1.0"

__all__ = [
    "ABIS",
    "AuditEvent",
    "ERROR_CLASSES",
    "BadRequestError",
    "BootError",
    "ClosedError",
    "ConfigError",
    "CrashedError",
    "DeniedError",
    "EdgeBoxError",
    "Guest",
    "GuestError",
    "GuestServices",
    "Host",
    "HttpRequest",
    "HttpResponse",
    "ImportMismatchError",
    "IntegrityError",
    "LimitError",
    "Limits",
    "LoadError",
    "Manifest",
    "ModuleSpec",
    "NetPolicy",
    "NetworkError",
    "NotFoundError",
    "PanicError",
    "Platform",
    "Policy",
    "SignatureError",
    "TimeoutError",
    "TooLargeError",
    "TrustedKeys",
    "verify",
]
