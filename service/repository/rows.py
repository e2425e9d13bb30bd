"""Rows (dicts from psycopg's dict_row) into records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from service.db import Connection
from service.domain.records import (
    RESTRICTED,
    AgencyRef,
    CustodyEvent,
    ErrorDeclaration,
    EucRef,
    ImportMarking,
    Item,
    PartyRef,
    RestrictedPartyRef,
)

Row = dict[str, Any]


def agency_ref(row: Row, prefix: str) -> AgencyRef:
    return AgencyRef(row[f"{prefix}_id"], row[f"{prefix}_name"])


def agency_from_json(document: dict[str, Any]) -> AgencyRef:
    """An agency in a json_build_object('id', ..., 'name', ...) column."""
    return AgencyRef(UUID(document["id"]), document["name"])


def uuids(values: list[str] | None) -> tuple[UUID, ...]:
    return tuple(UUID(value) for value in values or ())


def timestamp(value: str) -> datetime:
    """A timestamptz that went through json_build_object (ISO 8601 with an offset)."""
    return datetime.fromisoformat(value)


@cache
def _party_columns(prefix: str) -> tuple[str, str, str, str, str]:
    """A party's columns, spelt once per prefix: every event of every chain reads three."""
    return (
        f"{prefix}_id",
        f"{prefix}_name",
        f"{prefix}_kind",
        f"{prefix}_country",
        f"{prefix}_restriction",
    )


def party_ref(row: Row, prefix: str) -> PartyRef | None:
    """The party whose columns start with `prefix` (a LEFT JOIN leaves them all NULL); a
    restricted one carries its recorder (`party_restriction()` in schema.sql), so that
    service.domain.disclosure can redact it for other agencies."""
    id_column, name, kind, country, restriction_column = _party_columns(prefix)
    party_id = row[id_column]
    if party_id is None:
        return None
    restriction = row[restriction_column]
    if restriction is not None:
        return RestrictedPartyRef(
            party_id,
            row[name],
            row[kind],
            row[country],
            RESTRICTED,
            recorded_by=AgencyRef(
                UUID(restriction["recorded_by_id"]), restriction["recorded_by_name"]
            ),
            recorded_at=timestamp(restriction["recorded_at"]),
        )
    return PartyRef(party_id, row[name], row[kind], row[country])


def item(row: Row) -> Item:
    return Item(
        id=row["id"],
        manufacturer=row["manufacturer"],
        model=row["model"],
        category=row["category"],
        caliber=row["caliber"],
        serial_number=row["serial_number"],
        serial_normalised=row["serial_norm"],
        country_of_manufacture=row["country_of_manufacture"],
        year_of_manufacture=row["year_of_manufacture"],
        import_markings=tuple(
            ImportMarking(m["country"], m.get("year"), m.get("marking"))
            for m in row["import_markings"]
        ),
        other_markings=row["other_markings"],
        recorded_by=agency_ref(row, "recorded_by"),
        recorded_at=row["recorded_at"],
    )


def custody_event(row: Row) -> CustodyEvent:
    """An event from a row of the `event_details` view."""
    return CustodyEvent(
        id=row["id"],
        event_type=row["event_type"],
        occurred_on=row["occurred_on"],
        country=row["country"],
        destination_country=row["destination_country"],
        from_party=party_ref(row, "from_party"),
        to_party=party_ref(row, "to_party"),
        owner_party=party_ref(row, "owner_party"),
        euc=_euc_ref(row),
        euc_line_number=row["euc_line_number"],
        licence_number=row["licence_number"],
        document_reference=row["document_reference"],
        notes=row["notes"],
        classification=row["classification"],
        recorded_by=agency_ref(row, "recorded_by"),
        recorded_at=row["recorded_at"],
        error_declaration=_declaration(row),
    )


def _euc_ref(row: Row) -> EucRef | None:
    if row["euc_id"] is None:
        return None
    return EucRef(
        id=row["euc_id"],
        certificate_number=row["euc_certificate_number"],
        issuing_country=row["euc_issuing_country"],
        destination_country=row["euc_destination_country"],
        end_user_party_id=row["euc_end_user_party_id"],
        expires_on=row["euc_expires_on"],
        non_reexport_clause=row["euc_non_reexport_clause"],
        revoked_on=row["euc_revoked_on"],
    )


def _declaration(row: Row) -> ErrorDeclaration | None:
    if row["declaration_id"] is None:
        return None
    return ErrorDeclaration(
        id=row["declaration_id"],
        reason=row["declaration_reason"],
        explanation=row["declaration_explanation"],
        corrective_event_ids=tuple(row["declaration_corrective_event_ids"]),
        declared_by=agency_ref(row, "declared_by"),
        declared_at=row["declared_at"],
    )


def id_batches(conn: Connection, query: str, size: int) -> Iterator[list[UUID]]:
    """The ids a keyset query gives (`%(after)s`, `%(limit)s`, rows with `id` in id order), a
    batch at a time."""
    after = UUID(int=0)
    while True:
        batch = [row["id"] for row in conn.execute(query, {"after": after, "limit": size})]
        if not batch:
            return
        yield batch
        after = batch[-1]
