"""Which items belong on the alert list: lost, stolen or seized now, or carrying an ALERT
finding. Derived from a chain; service/alerts.py keeps the derived table in step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.domain.records import CustodyChain, CustodyEvent

WATCHED_STATUSES = frozenset({"LOST", "STOLEN", "SEIZED"})


@dataclass(frozen=True, slots=True)
class AlertState:
    status: str
    status_since: date | None
    # where the record last placed the item
    country: str | None
    category: str
    codes: tuple[str, ...]


def alert_state(chain: CustodyChain) -> AlertState | None:
    """The item's place on the alert list, or None when it does not belong there."""
    codes = tuple(sorted({f.code for f in chain.findings if f.severity == "ALERT"}))
    if chain.status not in WATCHED_STATUSES and not codes:
        return None
    standing = [e for e in chain.events if isinstance(e, CustodyEvent) and e.stands]
    country = standing[-1].country if standing else None
    return AlertState(chain.status, chain.status_since, country, chain.item.category, codes)
