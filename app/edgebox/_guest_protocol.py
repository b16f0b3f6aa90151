"""Host worker <-> guest worker messages, as the Python host sees them.

The guest half is ``web/guest-protocol.js``, which lists every message; the two
are kept identical by ``tests/test_parity.py``. The host sends one ``load``
with the compiled module and what its policy grants; the guest replies with
the names it exported. Then ``call``s, each answered by a ``reply`` with the
same id (an HTTP call's answer may come first in ``part``s, the reply its rest). The guest asks the host for network requests (``fetch``, answered by
``fetched``), reports ``audit`` events and ``log`` lines in batches, says when
it ``died``, and keeps the ``Watch`` slots current for the host's watchdog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["AUDIT_CODES", "GUEST_CODES", "HTTP_EXPORT", "LOAD_CODES", "MAX_ARGS", "MAX_DEPTH", "MAX_VALUES", "PART_MS", "REPLY_CODES", "SDK_HTTP_PART", "SDK_IMPORT_MODULE", "Envelope", "GuestOp", "Via", "Watch", "WatchReading"]


class GuestOp:
    # host -> guest
    LOAD = "load"
    CALL = "call"
    FETCHED = "fetched"
    CONNECT = "connect"
    # guest -> host
    REPLY = "reply"
    PART = "part"  # a piece of a call's HTTP answer before its reply (sdk/http.go serve)
    FETCH = "fetch"
    FETCH_ABORT = "fetch-abort"
    AUDIT = "audit"
    LOG = "log"
    DIED = "died"
    BEAT = "beat"


class Watch:
    """Slots of the Int32 watch region the guest writes and the watchdog reads."""

    BEAT = 0
    RUNNING = 1
    OLDEST = 2
    OLDEST_ID = 3
    OLDEST_VIA = 4
    TAKEN_HOST = 5
    TAKEN_PAGE = 6
    CURRENT_ID = 7
    CURRENT_VIA = 8
    LENGTH = 10
    BEAT_MS = 25


class Via:
    HOST = 1
    PAGE = 2


@dataclass(frozen=True)
class WatchReading:
    """One reading of a guest's watch slots."""

    beat: int = 0
    running: int = 0
    oldest: int = 0
    oldest_id: int = 0
    oldest_via: int = 0
    taken_host: int = 0
    taken_page: int = 0
    current_id: int = 0
    current_via: int = 0

    @classmethod
    def of(cls, slots: Sequence[int]) -> "WatchReading":
        return cls(*(int(slots[i]) for i in range(Watch.CURRENT_VIA + 1)))


GUEST_CODES = frozenset({"E_BAD_REQUEST", "E_CONFIG", "E_GUEST", "E_NOT_FOUND"})
REPLY_CODES = GUEST_CODES | {"E_TOO_LARGE"}
LOAD_CODES = REPLY_CODES | {"E_LOAD"}
AUDIT_CODES = frozenset({"E_DENIED", "E_LIMIT"})
MAX_DEPTH = 64
MAX_VALUES = 1_000_000
MAX_ARGS = 1024
HTTP_EXPORT = "__edgebox_http"  # what edgebox.Serve registers in a guest (sdk/internal/abi/abi.go HTTPExport)
SDK_IMPORT_MODULE, SDK_HTTP_PART = "edgebox", "http_part"  # a wasip1 module's import of its answer's parts
PART_MS = 10  # the guest worker sends at most one part of an answer per PART_MS
HANDLER_PANICKED = "E_PANIC"  # the SDK's report of a panic in the function it ran (sdk/internal/abi)


class Envelope:
    """The wasip1 call ABI's tag bytes (sdk/internal/abi/abi.go Tag*)."""

    JSON = 0x4A
    BYTES = 0x42
    ERROR = 0x45
