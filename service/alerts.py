"""Keeping the alert list in step with the ledger.

The list is shared by every agency, so it is derived from what every agency may see of each
chain (restricted records withheld, service/domain/disclosure.py); an agency whose restricted
records make it see an item otherwise has rows of its own (service/domain/alerts.py). Every
fact that can change an item's status or its ALERT findings (an event, an error declaration, a
certificate's revocation, consent or verification) refreshes the items it touches in the same
transaction. `rebuild` derives the whole list again from the ledger and says where the stored
one differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from psycopg import Cursor

from service import consent_shares
from service.db import Connection
from service.domain.alerts import AlertState, listing
from service.domain.disclosure import EVERYONE
from service.repository import alerts, chains, items
from service.repository.rows import Row

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


# (item, audience) -> the item's place on that audience's list (None: not on it)
Places = dict[tuple[UUID, UUID], AlertState | None]


def refresh_in_turn(
    conn: Connection, batches: Iterable[list[UUID]], today: date, verification_days: int
) -> None:
    """refresh() for batch after batch of at most BATCH items (an import's), whose locks the
    caller took first, all at once (alerts.lock_items_in). In pipeline mode, PostgreSQL reads
    each batch's chains while Python derives the batch before: an import's alert list took
    13-33% less time (A/B, 200,000 records)."""
    with conn.pipeline():
        ahead: _Asked | None = None
        for batch in batches:  # reading a batch's ids waits for what was sent before it
            asked = _ask(conn, batch)
            if ahead is not None:
                alerts.store(conn, ahead.derive(today, verification_days))
            ahead = asked
        if ahead is not None:
            alerts.store(conn, ahead.derive(today, verification_days))


@dataclass(frozen=True)
class _Asked:
    """A batch of items whose chains and records were asked for, not yet read."""

    item_ids: list[UUID]
    chain_entries: Cursor[Row]
    item_rows: Cursor[Row]

    def derive(self, today: date, verification_days: int) -> Places:
        entries = chains.by_chain(self.chain_entries)
        facts = chains.facts_of(self.item_ids, entries, today, verification_days)
        recorded = items.read_many(self.item_rows)
        return {
            (item_id, audience): state
            for item_id in self.item_ids
            for audience, state in listing(recorded[item_id], facts[item_id]).items()
        }


def _ask(conn: Connection, item_ids: list[UUID]) -> _Asked:
    return _Asked(item_ids, chains.ask(conn, item_ids), items.ask_many(conn, item_ids))


def derive(conn: Connection, item_ids: list[UUID], today: date, verification_days: int) -> Places:
    return _ask(conn, item_ids).derive(today, verification_days)


@dataclass(frozen=True)
class Rebuild:
    items: int
    listed: int
    differences: tuple[str, ...]


def rebuild(conn: Connection, today: date, verification_days: int, *, write: bool) -> Rebuild:
    """Derive the list for every item; compare with what is stored, and store it if `write`
    (in the caller's transaction, under every item's lock: no writer refreshes an item
    meanwhile, which the rebuild would overwrite with what it read before)."""
    if write:
        # Every certificate's lock first, as writers take them before the items': the
        # consents of a quantity are shared out again, and stored, under them.
        alerts.lock_all_certificates(conn)
        alerts.lock_all_items(conn)
    shares = consent_shares.derive_all(conn, today, verification_days, write=write)
    stored = alerts.everything(conn)
    derived: Places = {}
    count = 0
    for batch in alerts.item_batches(conn, BATCH):
        count += len(batch)
        places = derive(conn, batch, today, verification_days)
        derived.update(alerts.kept_rows(places))
        if write:
            alerts.store(conn, places)
    differences = shares.differences + tuple(_differences(stored, derived))
    listed = sum(1 for (_, audience), state in derived.items() if state and audience == EVERYONE)
    return Rebuild(count, listed, differences)


def _differences(stored: Places, derived: Places) -> list[str]:
    found = []
    for key in sorted(stored.keys() | derived.keys()):
        if key in stored and key in derived and stored[key] == derived[key]:
            continue
        item_id, audience = key
        whose = "" if audience == EVERYONE else f" (as agency {audience} sees it)"
        before, after = stored.get(key), derived.get(key)
        found.append(f"{item_id}{whose}: stored {before}, derived {after}")
    return found
