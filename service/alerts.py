"""Keeping the alert list in step with the ledger.

The list is shared by every agency, so it is derived from what every agency may see of each
chain (restricted records withheld, service/domain/disclosure.py). Every fact that can change an
item's status or its ALERT findings (an event, an error declaration, a certificate's revocation,
consent or verification) refreshes the items it touches in the same transaction. `rebuild`
derives the whole list again from the ledger and says where the stored one differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.db import Connection
from service.domain import disclosure
from service.domain.alerts import AlertState, alert_state
from service.repository import alerts, chains, items

BATCH = 2_000


def refresh(conn: Connection, item_ids: list[UUID], today: date, verification_days: int) -> None:
    """Derive the listed items' alert state again and store it (within the caller's
    transaction, after the fact that changed them)."""
    if not item_ids:
        return
    # After the lock, this transaction's reads see every other refresh of these items committed.
    alerts.lock_items(conn, item_ids)
    for start in range(0, len(item_ids), BATCH):
        batch = item_ids[start : start + BATCH]
        alerts.store(conn, derive(conn, batch, today, verification_days))


def derive(
    conn: Connection, item_ids: list[UUID], today: date, verification_days: int
) -> dict[UUID, AlertState | None]:
    facts = chains.facts(conn, item_ids, today, verification_days)
    recorded = items.get_many(conn, item_ids)
    # Every agency reads the one list, so it shows only what every agency may see: an item on
    # it for a restricted record alone would disclose that record's kind and place.
    return {
        item_id: alert_state(
            disclosure.chain_for(disclosure.EVERYONE, recorded[item_id], facts[item_id])
        )
        for item_id in item_ids
    }


@dataclass(frozen=True)
class Rebuild:
    items: int
    listed: int
    differences: tuple[str, ...]


def rebuild(conn: Connection, today: date, verification_days: int, *, write: bool) -> Rebuild:
    """Derive the list for every item; compare with what is stored, and store it if `write`."""
    stored = alerts.everything(conn)
    derived: dict[UUID, AlertState] = {}
    count = 0
    for batch in alerts.item_batches(conn, BATCH):
        count += len(batch)
        states = derive(conn, batch, today, verification_days)
        derived.update({item_id: state for item_id, state in states.items() if state})
        if write:
            alerts.store(conn, states)
    differences = tuple(_differences(stored, derived))
    return Rebuild(count, len(derived), differences)


def _differences(stored: dict[UUID, AlertState], derived: dict[UUID, AlertState]) -> list[str]:
    found = []
    for item_id in sorted(stored.keys() | derived.keys()):
        before, after = stored.get(item_id), derived.get(item_id)
        if before != after:
            found.append(f"{item_id}: stored {before}, derived {after}")
    return found
