"""The audit trail: appending entries, listing them, and reading the chains to verify."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from service.db import Connection
from service.domain.audit import AuditEntry, StoredEntry
from service.domain.ids import NEWEST, first_uuid7_at
from service.repository.queries import load

SQL = load("audit")
# Rows fetched at a time while verifying: the trail is streamed, never held whole.
VERIFY_BATCH = 5_000


@dataclass(frozen=True)
class NewEntry:
    id: UUID
    agency_id: UUID | None
    key_prefix: str | None
    method: str
    route: str
    path: str
    status: int
    serials: tuple[str, ...]
    record_ids: tuple[UUID, ...]
    case_reference: str | None
    purpose: str | None
    records_returned: int
    details: dict[str, object]


def append(conn: Connection, entry: NewEntry, tally: UUID | None = None) -> None:
    """Append the entry; with `tally` (a client's, service.repository.clients), naming in it the
    client's refusals counted there since its last entry, and taking them."""
    if tally is None:
        conn.execute(SQL["insert_entry"], parameters(entry))
    else:
        conn.execute(SQL["insert_entry_taking_tally"], {**parameters(entry), "tally": tally})


def parameters(entry: NewEntry) -> dict[str, object]:
    """The entry as the parameters of insert_entry (and of statements that append it too)."""
    return {
        "id": entry.id,
        "agency_id": entry.agency_id,
        "key_prefix": entry.key_prefix,
        "method": entry.method,
        "route": entry.route,
        "path": entry.path,
        "status": entry.status,
        "serials": list(entry.serials),
        "record_ids": list(entry.record_ids),
        "case_reference": entry.case_reference,
        "purpose": entry.purpose,
        "records_returned": entry.records_returned,
        "details": Jsonb(entry.details),
    }


@dataclass(frozen=True)
class Filters:
    agency_id: UUID | None = None
    serial: str | None = None  # normalised
    case_reference: str | None = None
    recorded_from: datetime | None = None
    recorded_before: datetime | None = None


# Each filter's condition; only those whose value is given are joined into the query. A time
# window also bounds the entries' ids, which are their requests' starts (UUIDv7): the newest
# first walk of the id index then starts at the window's end and stops at its start, where it
# read and dropped every entry newer than the window (a window months back on a long trail ran
# into the statement timeout), and, when nothing in the window matched, every older one too.
_CONDITIONS = {
    "agency_id": "a.agency_id = %(agency_id)s",
    "serial": "a.serials @> ARRAY[%(serial)s::text]",
    "case_reference": "a.case_reference = %(case_reference)s",
    "recorded_from": "a.recorded_at >= %(recorded_from)s AND a.id >= %(ids_from)s",
    "recorded_before": "a.recorded_at < %(recorded_before)s AND a.id < %(ids_before)s",
}
# A case written decomposed (NFD) before case references were kept in NFC is kept as written,
# as the hash chain holds it: the filter (in NFC) asks for both forms, where such an entry
# exists. Two values of the index's first column cannot be walked in id order as one: the case's
# entries are read and sorted, so only a case that has one pays for it.
_CASE_IN_EITHER_FORM = "a.case_reference IN (%(case_reference)s, %(case_reference_decomposed)s)"
# How far an entry's id (its request's start, by the API host's clock) may be from when it was
# recorded (the database's clock, when the request ended): a request lasts seconds (gunicorn
# ends one at 30 s), and the clocks of hosts kept by NTP agree within milliseconds. A day
# either side: an entry is left out of a window only when its host's clock was a day off.
ID_MARGIN = timedelta(days=1)


def find(conn: Connection, filters: Filters, before: UUID | None, limit: int) -> list[AuditEntry]:
    values = {name: getattr(filters, name) for name in _CONDITIONS}
    decomposed = _decomposed_case_written(conn, filters.case_reference)
    conditions = _CONDITIONS | ({"case_reference": _CASE_IN_EITHER_FORM} if decomposed else {})
    chosen = [sql.SQL(conditions[name]) for name, value in values.items() if value is not None]
    condition = sql.SQL("").join(sql.SQL(" AND ") + c for c in chosen)
    query = sql.SQL(SQL["list_entries"]).format(filters=condition)
    bounds = {
        "ids_from": _first_id_at(filters.recorded_from, -ID_MARGIN),
        "ids_before": _first_id_at(filters.recorded_before, ID_MARGIN),
    }
    rows = conn.execute(
        query,
        {
            **values,
            **bounds,
            "case_reference_decomposed": decomposed,
            "before": before or NEWEST,
            "limit": limit,
        },
    )
    return [
        AuditEntry(
            id=row["id"],
            recorded_at=row["recorded_at"],
            agency_id=row["agency_id"],
            agency_name=row["agency_name"],
            key_prefix=row["key_prefix"],
            method=row["method"],
            route=row["route"],
            path=row["path"],
            status=row["status"],
            serials=tuple(row["serials"]),
            record_ids=tuple(row["record_ids"]),
            case_reference=row["case_reference"],
            purpose=row["purpose"],
            records_returned=row["records_returned"],
            details=row["details"],
            chain=row["chain"],
            chain_seq=row["chain_seq"],
            entry_hash=row["entry_hash"],
        )
        for row in rows
    ]


def _decomposed_case_written(conn: Connection, case_reference: str | None) -> str | None:
    """The case reference in NFD, when that differs from it and an entry was written so."""
    if case_reference is None or case_reference.isascii():
        return None
    decomposed = unicodedata.normalize("NFD", case_reference)
    if decomposed == case_reference:
        return None
    written = conn.execute(SQL["case_reference_written"], {"case_reference": decomposed})
    return decomposed if written.fetchone() is not None else None


def _first_id_at(moment: datetime | None, margin: timedelta) -> UUID | None:
    if moment is None:
        return None
    try:
        return first_uuid7_at(moment + margin)
    except OverflowError:  # within a day of year 1 or 9999: no bound on that side
        return NEWEST if margin > timedelta(0) else UUID(int=0)


_FOR_VERIFICATION_AFTER = sql.SQL(SQL["entries_for_verification"]).format(
    which=sql.SQL("(chain, chain_seq) > (%(chain)s::smallint, %(chain_seq)s::bigint)")
)
_FOR_VERIFICATION_BY_ID = sql.SQL(SQL["entries_for_verification"]).format(
    which=sql.SQL("id = %(id)s")
)


def stored_entries(conn: Connection, after: StoredEntry | None = None) -> Iterator[StoredEntry]:
    """Every entry in (chain, chain_seq) order (after `after`'s position when given), streamed
    through a server-side cursor; the caller holds a transaction open while iterating."""
    position = {"chain": -1, "chain_seq": 0}
    if after is not None:
        position = {"chain": after.chain, "chain_seq": after.chain_seq}
    with conn.cursor(name="audit_verification") as cursor:
        cursor.itersize = VERIFY_BATCH
        cursor.execute(_FOR_VERIFICATION_AFTER, position)
        for row in cursor:
            yield _stored_entry(row)


def stored_entry(conn: Connection, entry_id: UUID) -> StoredEntry | None:
    """One entry as stored_entries reads it, or None when there is none with this id."""
    row = conn.execute(_FOR_VERIFICATION_BY_ID, {"id": entry_id}).fetchone()
    return None if row is None else _stored_entry(row)


def _stored_entry(row: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        id=row["id"],
        chain=row["chain"],
        chain_seq=row["chain_seq"],
        recorded_at_micros=int(row["recorded_at_micros"]),
        agency_id=row["agency_id"],
        key_prefix=row["key_prefix"],
        method=row["method"],
        route=row["route"],
        path=row["path"],
        status=row["status"],
        serials_text=row["serials_text"],
        record_ids_text=row["record_ids_text"],
        case_reference=row["case_reference"],
        purpose=row["purpose"],
        records_returned=row["records_returned"],
        details_text=row["details_text"],
        previous_hash=bytes(row["previous_hash"]),
        entry_hash=bytes(row["entry_hash"]),
    )
