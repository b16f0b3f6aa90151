"""Host worker <-> guest worker messages, as the Python host sees them.

The guest half is ``web/guest-protocol.js`` (kept identical by
``tests/app/test_protocol.py``). The host sends one ``load`` with the compiled
module and what the guest may see; the guest answers ``loaded`` with the names
it exported. Then ``call``s, each answered by a ``reply`` with the same id.
"""

from __future__ import annotations

__all__ = ["GuestOp", "GUEST_ERROR_CODES"]


class GuestOp:
    # host -> guest
    LOAD = "load"
    CALL = "call"
    # guest -> host
    LOADED = "loaded"
    REPLY = "reply"


# Codes a guest may report as its own; anything else it claims becomes E_GUEST,
# so a guest cannot pose as the host (say, by answering E_INTEGRITY).
GUEST_ERROR_CODES = frozenset({"E_BAD_REQUEST", "E_NOT_FOUND", "E_CONFIG", "E_GUEST"})
