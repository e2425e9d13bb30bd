"""Time-ordered identifiers (UUID version 7, RFC 9562) made in Python, for records whose id must
be known before they are written (a stored trace holds its own id)."""

from __future__ import annotations

import secrets
import threading
import time
from uuid import UUID

_lock = threading.Lock()
_last = 0


# Above every id: where a list ordered newest first starts.
NEWEST = UUID(int=(1 << 128) - 1)


def uuid7() -> UUID:
    """A version 7 UUID; successive calls in a process give increasing ids (the 12 bits after
    the version count sub-millisecond time, bumped when the clock has not moved)."""
    global _last
    nanoseconds = time.time_ns()
    milliseconds, rest = divmod(nanoseconds, 1_000_000)
    timestamp = (milliseconds << 12) | (rest * 4096 // 1_000_000)
    with _lock:
        timestamp = max(timestamp, _last + 1)
        _last = timestamp
    value = (timestamp >> 12) << 80 | 0x7 << 76 | (timestamp & 0xFFF) << 64
    value |= 0b10 << 62 | secrets.randbits(62)
    return UUID(int=value)
