"""Which items belong on the alert list: lost, stolen or seized now, or carrying an ALERT
finding. Derived from a chain; service/alerts.py keeps the derived table in step.

The list is shared, so what it shows is what every agency may see of each chain (restricted
records withheld). An agency that recorded restricted records of an item sees the item as its
own records say: its own row, when that differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.domain import disclosure
from service.domain.custody import TRANSFER_TYPES
from service.domain.findings import ChainFacts
from service.domain.records import (
    RESTRICTED,
    CustodyChain,
    CustodyEvent,
    Item,
    RestrictedPartyRef,
)

WATCHED_STATUSES = frozenset({"LOST", "STOLEN", "SEIZED"})
# What a chain must hold before any viewer can see it on the list, read off the rules
# (service/domain/findings.py): a watched status needs a LOSS, THEFT or SEIZURE; an ALERT finding
# needs an event under a certificate, one of these types (LOSS, THEFT, SEIZURE, DESTRUCTION), or
# two transfers by a named sender on one day (CONFLICTING_CUSTODY, sent twice). An import derives
# only the chains that hold one of them (service/sql/imports.sql, keep_alert_candidates);
# tests/unit/test_alert_candidates.py holds the rules to it.
LISTING_EVENT_TYPES = frozenset({"LOSS", "THEFT", "SEIZURE", "DESTRUCTION"})


@dataclass(frozen=True, slots=True)
class AlertState:
    status: str
    status_since: date | None
    # where the record last placed the item
    country: str | None
    category: str
    codes: tuple[str, ...]


def may_be_listed(events: Iterable[CustodyEvent]) -> bool:
    """Whether a chain of these events can put its item on anyone's list. Give it every event,
    erroneous and restricted ones too: a declaration or a restriction only takes events away
    from what the rules read (or a party's name, never the party). False means that it cannot;
    True, only that the chain must be derived."""
    transfer_days = []
    for event in events:
        if event.euc is not None or event.event_type in LISTING_EVENT_TYPES:
            return True
        if event.event_type in TRANSFER_TYPES and event.from_party is not None:
            transfer_days.append(event.occurred_on)
    return len(transfer_days) > len(set(transfer_days))


def alert_state(chain: CustodyChain) -> AlertState | None:
    """The item's place on the alert list, or None when it does not belong there."""
    codes = tuple(sorted({f.code for f in chain.findings if f.severity == "ALERT"}))
    if chain.status not in WATCHED_STATUSES and not codes:
        return None
    standing = [e for e in chain.events if isinstance(e, CustodyEvent) and e.stands]
    country = standing[-1].country if standing else None
    return AlertState(chain.status, chain.status_since, country, chain.item.category, codes)


def listing(item: Item, facts: ChainFacts) -> dict[UUID, AlertState | None]:
    """The item's place on the list for everyone (disclosure.EVERYONE), and for each agency
    whose restricted records make it see the item otherwise (None: not on its list)."""
    everyone = alert_state(disclosure.chain_for(disclosure.EVERYONE, item, facts))
    places: dict[UUID, AlertState | None] = {disclosure.EVERYONE: everyone}
    for agency in sorted(_restricting(facts)):
        own = alert_state(disclosure.chain_for(agency, item, facts))
        if own != everyone:
            places[agency] = own
    return places


def _restricting(facts: ChainFacts) -> set[UUID]:
    """The agencies that recorded restricted events of the chain, or restricted parties in it."""
    agencies = set()
    for event in facts.events:
        if event.classification == RESTRICTED:
            agencies.add(event.recorded_by.id)
        for party in (event.from_party, event.to_party, event.owner_party):
            if isinstance(party, RestrictedPartyRef):
                agencies.add(party.recorded_by.id)
    return agencies
