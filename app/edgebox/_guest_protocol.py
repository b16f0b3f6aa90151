"""Host worker <-> guest worker messages, as the Python host sees them.

The guest half is ``web/guest-protocol.js`` (kept identical by
``tests/app/test_protocol.py``). The host sends one ``load`` with the compiled
module and what its policy grants; the guest replies with the names it
exported. Then ``call``s, each answered by a ``reply`` with the same id. The
guest asks the host for network requests (``fetch``, answered by
``fetched``), and reports ``audit`` events, ``log`` lines and ``limit``s.
"""

from __future__ import annotations

__all__ = ["GuestOp", "GUEST_ERROR_CODES", "GUEST_DEATH_CODES", "GUEST_AUDIT_CODES"]


class GuestOp:
    # host -> guest
    LOAD = "load"
    CALL = "call"
    FETCHED = "fetched"
    CONNECT = "connect"
    # guest -> host
    REPLY = "reply"
    FETCH = "fetch"
    AUDIT = "audit"
    LOG = "log"
    LIMIT = "limit"
    DIED = "died"


# Codes a guest may report as its own; anything else it claims becomes E_GUEST,
# so a guest cannot pose as the host (say, by answering E_INTEGRITY).
GUEST_ERROR_CODES = frozenset({"E_BAD_REQUEST", "E_NOT_FOUND", "E_CONFIG", "E_GUEST"})
# How a guest worker may say its instance died (a crashed reply, or "died").
GUEST_DEATH_CODES = frozenset({"E_PANIC", "E_LIMIT", "E_CRASHED"})
# Codes a guest worker's own enforcement may put on an audit event.
GUEST_AUDIT_CODES = frozenset({"E_DENIED", "E_LIMIT"})
