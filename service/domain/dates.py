"""The span of days a record of the registry may be dated in.

The first day is 1800-01-01: serial-numbered manufacture of small arms began in the 19th
century, the registry's years of manufacture already start at 1800, and the oldest transfers on
record (SIPRI's, which the seed imports) start in 1950. A day before it is a typing slip ("0202"
for "2020") or a placeholder ("0001-01-01"), which a chain would put before everything else. The
last day is tomorrow: an agency east of UTC is already living it, and no act is recorded before
it happens.
"""

from __future__ import annotations

from datetime import date, timedelta

EARLIEST = date(1800, 1, 1)
TOO_EARLY = (
    f"must not be before {EARLIEST.isoformat()}, the registry's first day (serialised "
    "manufacture began in the 19th century)"
)


def latest(today: date) -> date:
    """The last day a record may be dated on: tomorrow, for the agencies east of UTC."""
    return today + timedelta(days=1)


def last_year(today: date) -> int:
    """The last year a weapon can have been made or marked in (latest's year)."""
    return latest(today).year
