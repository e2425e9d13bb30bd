"""Time-ordered identifiers (UUID version 7, RFC 9562) made in Python, for records whose id must
be known before they are written (a stored trace holds its own id)."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime
from uuid import UUID

_lock = threading.Lock()
_last = 0
# Random bits from the operating system, read 4 KiB at a time: one getrandom() call per id cost
# a twelfth of a bulk import's time. A forked child (a gunicorn worker) starts a pool of its own,
# so that no two processes hand out the same bits.
_RANDOM_POOL_BYTES = 4096
_random_pool = b""
_random_offset = 0


def _forget_random_pool() -> None:
    global _random_pool, _random_offset
    _random_pool, _random_offset = b"", 0


os.register_at_fork(after_in_child=_forget_random_pool)


# Above every id: where a list ordered newest first starts.
NEWEST = UUID(int=(1 << 128) - 1)


def first_uuid7_at(moment: datetime) -> UUID:
    """The lowest version 7 UUID of `moment`'s millisecond: every id made at or after it is at
    least this (the lowest id for a time before 1970, NEWEST for one past the 48-bit clock)."""
    milliseconds = int(moment.timestamp() * 1000)
    if milliseconds >= 1 << 48:
        return NEWEST
    return UUID(int=max(milliseconds, 0) << 80)


def uuid7() -> UUID:
    """A version 7 UUID; successive calls in a process give increasing ids (the 12 bits after
    the version count sub-millisecond time, bumped when the clock has not moved)."""
    return uuid7_at(reserve_uuid7(1))


def reserve_uuid7(count: int) -> int:
    """Reserve `count` successive timestamps (milliseconds << 12 | a sub-millisecond count) after
    every id this process made so far: uuid7_at(first + k), for k below count, are increasing
    ids that no other call of this process makes. Another process can make ids that follow
    this process's order with them (an import's readers, each given a block's first)."""
    global _last
    nanoseconds = time.time_ns()
    milliseconds, rest = divmod(nanoseconds, 1_000_000)
    timestamp = (milliseconds << 12) | (rest * 4096 // 1_000_000)
    with _lock:
        first = max(timestamp, _last + 1)
        _last = first + count - 1
    return first


def uuid7_at(timestamp: int) -> UUID:
    """The version 7 UUID of a reserved timestamp (reserve_uuid7), with fresh random bits."""
    global _random_pool, _random_offset
    with _lock:
        if _random_offset + 8 > len(_random_pool):
            _random_pool, _random_offset = os.urandom(_RANDOM_POOL_BYTES), 0
        random_bits = int.from_bytes(_random_pool[_random_offset : _random_offset + 8]) >> 2
        _random_offset += 8
    value = (timestamp >> 12) << 80 | 0x7 << 76 | (timestamp & 0xFFF) << 64
    value |= 0b10 << 62 | random_bits
    return UUID(int=value)
