"""Chains of custody with the records the diversion rules read, in one round trip for any number
of items (the custody route reads one, a trace reads its best candidates)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from psycopg import Cursor

from service.db import Connection
from service.domain import custody, disclosure
from service.domain.findings import (
    Certificate,
    ChainFacts,
    Consent,
    LineExport,
    LineUse,
    Verification,
)
from service.domain.records import RESTRICTED, CustodyChain, CustodyEvent
from service.repository import events, items, rows
from service.repository.queries import load
from service.repository.rows import Row

SQL = load("items")


def facts(
    conn: Connection,
    item_ids: list[UUID],
    today: date,
    verification_days: int,
    prefetched: Mapping[UUID, list[Row]] | None = None,
) -> dict[UUID, ChainFacts]:
    """Every item's events in chain order, with its certificates, line use, consents,
    verifications and verified parties. Items whose chain entries are `prefetched` (every entry
    of the item, from chain_entries) are not read again."""
    known = prefetched or {}
    missing = [item_id for item_id in item_ids if item_id not in known]
    entries = {**known, **by_chain(ask(conn, missing))} if missing else known
    read = facts_of(item_ids, entries, today, verification_days)
    return with_restricted_correctives(conn, with_line_exports(conn, read))


def with_restricted_correctives(
    conn: Connection, read: dict[UUID, ChainFacts]
) -> dict[UUID, ChainFacts]:
    """The facts with the restricted events their declarations name as corrective
    (ChainFacts.restricted_correctives). Read in one more round trip, only when a declaration
    names a corrective event outside the chains read (a correction of other items)."""
    named = {item_id: _correctives_named(chain_facts) for item_id, chain_facts in read.items()}
    if not any(named.values()):
        return read
    in_chains = {event.id: event for chain_facts in read.values() for event in chain_facts.events}
    restricted = {
        event.id: event.recorded_by.id
        for event in in_chains.values()
        if event.classification == RESTRICTED
    }
    restricted |= events.restricted(conn, set().union(*named.values()) - in_chains.keys())
    return {
        item_id: replace(
            chain_facts,
            restricted_correctives={c: restricted[c] for c in named[item_id] if c in restricted},
        )
        for item_id, chain_facts in read.items()
    }


def _correctives_named(chain_facts: ChainFacts) -> set[UUID]:
    return {
        corrective
        for event in chain_facts.events
        if event.error_declaration is not None
        for corrective in event.error_declaration.corrective_event_ids
    }


def with_line_exports(conn: Connection, read: dict[UUID, ChainFacts]) -> dict[UUID, ChainFacts]:
    """The facts with the standing exports of each line that one of their exports took over its
    quantity (ChainFacts.line_exports): the finding is worded by them for each reader. Read in
    one more round trip, only when some chain holds such an export."""
    wanted = {item_id: _over_shipped(chain_facts) for item_id, chain_facts in read.items()}
    lines = sorted(set().union(*wanted.values()))
    if not lines:
        return read
    exports: dict[tuple[UUID, int], list[LineExport]] = {line: [] for line in lines}
    params = {"euc_ids": [e for e, _ in lines], "line_numbers": [n for _, n in lines]}
    for row in conn.execute(SQL["line_exports"], params):
        exports[(row["euc_id"], row["euc_line_number"])].append(_line_export(row))
    return {
        item_id: replace(chain_facts, line_exports={line: tuple(exports[line]) for line in own})
        if (own := wanted[item_id])
        else chain_facts
        for item_id, chain_facts in read.items()
    }


def _over_shipped(chain_facts: ChainFacts) -> set[tuple[UUID, int]]:
    """The lines (certificate, line number) that an export of the chain took over quantity."""
    return {
        (use.euc_id, use.line_number)
        for use in chain_facts.line_use.values()
        if use.shipped_through > use.quantity
    }


def _line_export(row: Row) -> LineExport:
    return LineExport(
        id=row["id"],
        occurred_on=row["occurred_on"],
        act_recorded_at=row["act_recorded_at"],
        recorded_at=row["recorded_at"],
        item_ids=frozenset(row["item_ids"]),
        classification=row["classification"],
        recorded_by=row["recorded_by_agency_id"],
    )


def facts_of(
    item_ids: list[UUID], entries: Mapping[UUID, list[Row]], today: date, verification_days: int
) -> dict[UUID, ChainFacts]:
    """facts() of chain entries already read (`by_chain`); an item without any has none."""
    return {
        item_id: _facts(item_id, entries.get(item_id, []), today, verification_days)
        for item_id in item_ids
    }


def ask(conn: Connection, item_ids: list[UUID]) -> Cursor[Row]:
    """Every entry of the items' chains, in chain order (in pipeline mode, once read)."""
    return conn.execute(SQL["custody_chains"], {"item_ids": item_ids})


def by_chain(entries: Cursor[Row]) -> dict[UUID, list[Row]]:
    """Chain entries by the item whose chain they are in."""
    grouped: dict[UUID, list[Row]] = defaultdict(list)
    # fetchall makes the rows in one call: iterating the cursor cost a call per row.
    for row in entries.fetchall():
        grouped[row["chain_item_id"]].append(row)
    return grouped


def chain(
    conn: Connection, item_id: UUID, today: date, verification_days: int, viewer: UUID
) -> CustodyChain | None:
    """One item's chain of custody with its findings as the viewer's agency may see it, or
    None for an unknown item."""
    item = items.get(conn, item_id)
    if item is None:
        return None
    chain_facts = facts(conn, [item_id], today, verification_days)[item_id]
    return disclosure.chain_for(viewer, item, chain_facts)


def _facts(item_id: UUID, read: list[Row], today: date, verification_days: int) -> ChainFacts:
    # The database orders by day and recording time; a correction's place needs the chain's
    # declarations (service.domain.custody.in_chain_order).
    unordered = [rows.custody_event(row) for row in read]
    order = custody.in_chain_order(unordered)
    chain_rows = [read[n] for n in order]
    events = tuple(unordered[n] for n in order)
    return ChainFacts(
        item_id=item_id,
        events=events,
        today=today,
        certificates={c.id: c for c in _certificates(chain_rows)},
        line_use=_line_use(chain_rows),
        consents=tuple(_unique(_consents(chain_rows))),
        verifications=tuple(_unique(_verifications(chain_rows))),
        verified_parties=frozenset(_verified_parties(chain_rows, events)),
        verification_period_days=verification_days,
    )


def _certificates(chain_rows: list[Row]) -> Iterable[Certificate]:
    for row in chain_rows:
        if row["euc_id"] is not None:
            yield Certificate(
                id=row["euc_id"],
                certificate_number=row["euc_certificate_number"],
                destination_country=row["euc_destination_country"],
                end_user_party_id=row["euc_end_user_party_id"],
                expires_on=row["euc_expires_on"],
                non_reexport_clause=row["euc_non_reexport_clause"],
                revoked_on=row["euc_revoked_on"],
                revocation_id=row["euc_revocation_id"],
                issued_on=row["euc_issued_on"],
                exporter_party_id=row["euc_exporter_party_id"],
            )


def _line_use(chain_rows: list[Row]) -> dict[UUID, LineUse]:
    return {
        row["id"]: LineUse(
            row["euc_id"],
            row["euc_line_counted"],
            row["euc_line_quantity"],
            int(row["euc_line_shipped_through"]),
            category=row["euc_line_category"],
            model=row["euc_line_model"],
        )
        for row in chain_rows
        if row["euc_line_shipped_through"] is not None
    }


def _consents(chain_rows: list[Row]) -> Iterable[Consent]:
    for row in chain_rows:
        for consent in row["euc_consents"] or ():
            yield Consent(
                id=UUID(consent["id"]),
                euc_id=row["euc_id"],
                granted_on=date.fromisoformat(consent["granted_on"]),
                new_end_user_party_id=_uuid(consent["new_end_user_party_id"]),
                new_destination_country=consent["new_destination_country"],
                covers_item=consent["covers_item"],
                withdrawn=consent["withdrawn"],
                spent=consent["spent"],
                quantity=consent["quantity"],
            )


def _verifications(chain_rows: list[Row]) -> Iterable[Verification]:
    for row in chain_rows:
        for verification in row["euc_verifications"] or ():
            yield Verification(
                id=UUID(verification["id"]),
                euc_id=row["euc_id"],
                verified_on=date.fromisoformat(verification["verified_on"]),
                covers_item=verification["covers_item"],
            )


def _verified_parties(chain_rows: list[Row], events: tuple[CustodyEvent, ...]) -> Iterable[UUID]:
    for row, event in zip(chain_rows, events, strict=True):
        for role, party in (("from", event.from_party), ("to", event.to_party),
                            ("owner", event.owner_party)):  # fmt: skip
            if party is not None and row[f"{role}_party_verified"]:
                yield party.id


def _unique(records: Iterable[Consent | Verification]) -> Iterable[Any]:
    return {record.id: record for record in records}.values()


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)
