"""Custody events, the items they cover, and declarations that an event was erroneous."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from uuid import UUID

from service.db import Connection
from service.domain import custody
from service.domain.inputs import NewErrorDeclaration, NewEvent
from service.domain.records import EventRecord
from service.domain.wording import these
from service.errors import FieldError, NotFound, UnknownReference
from service.repository import items, rows
from service.repository.queries import load

SQL = load("events")


def insert(
    conn: Connection, agency_id: UUID, event: NewEvent, *, administrator: bool = False
) -> EventRecord:
    """Record an event for its items (and the correction it makes), all or nothing."""
    with conn.transaction():
        missing = items.missing(conn, event.item_ids)
        if missing:
            raise UnknownReference(
                "no item is recorded with " + these(missing, "id", "ids"),
                [FieldError("body", "item_ids", f"no item is recorded with id {item_id}")
                 for item_id in missing],
            )  # fmt: skip
        row = conn.execute(SQL["insert_event"], _event_params(agency_id, event)).fetchone()
        assert row is not None
        event_id: UUID = row["id"]
        conn.execute(
            SQL["insert_event_items"], {"event_id": event_id, "item_ids": list(event.item_ids)}
        )
        if event.corrects is not None:
            declaration = NewErrorDeclaration(
                event.corrects.reason, event.corrects.explanation, (event_id,)
            )
            _declare(
                conn,
                agency_id,
                event.corrects.event_id,
                declaration,
                administrator,
                named_by="corrects/event_id",
            )
        stored = get(conn, event_id)
    assert stored is not None
    return stored


def get(conn: Connection, event_id: UUID) -> EventRecord | None:
    found = get_many(conn, [event_id])
    return found[0] if found else None


def get_many(conn: Connection, event_ids: Iterable[UUID]) -> list[EventRecord]:
    """The events recorded with these ids (in no particular order), in one round trip."""
    ids = sorted(set(event_ids))
    if not ids:
        return []
    return [_event_record(row) for row in conn.execute(SQL["get_events"], {"ids": ids})]


def _event_record(row: rows.Row) -> EventRecord:
    event = rows.custody_event(row)
    shared = {field.name: getattr(event, field.name) for field in fields(event)}
    return EventRecord(**shared, item_ids=tuple(row["item_ids"]))


def restricted(conn: Connection, event_ids: Iterable[UUID]) -> dict[UUID, UUID]:
    """Which of the events are restricted, by the agency that recorded each."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    found = conn.execute(SQL["restricted_events"], {"ids": ids})
    return {row["id"]: row["recorded_by_agency_id"] for row in found}


def corrections_after(conn: Connection, event_ids: Iterable[UUID]) -> list[UUID]:
    """The events that correct these, and the corrections of those, and so on."""
    ids = sorted(set(event_ids))
    if not ids:
        return []
    return [row["id"] for row in conn.execute(SQL["corrections_after"], {"ids": ids})]


def declare_erroneous(
    conn: Connection,
    agency_id: UUID,
    event_id: UUID,
    declaration: NewErrorDeclaration,
    *,
    administrator: bool = False,
) -> EventRecord:
    """Mark a recorded event as erroneous; the event itself is never changed."""
    with conn.transaction():
        _declare(conn, agency_id, event_id, declaration, administrator)
        stored = get(conn, event_id)
    assert stored is not None
    return stored


def _declare(
    conn: Connection,
    agency_id: UUID,
    event_id: UUID,
    declaration: NewErrorDeclaration,
    administrator: bool,
    named_by: str | None = None,
) -> None:
    """Declare the event erroneous. `named_by` is the body's field that named it, if the body
    did: an unknown event is then a reference that names nothing (409), not a missing URL."""
    owner = conn.execute(SQL["event_owner"], {"id": event_id}).fetchone()
    if owner is None and named_by is not None:
        raise UnknownReference(f"{named_by} names no recorded custody event")
    if owner is None:
        raise NotFound(f"no custody event is recorded with id {event_id}")
    correctives = conn.execute(
        SQL["corrective_events"],
        {"ids": list(declaration.corrective_event_ids), "agency_id": agency_id},
    ).fetchone()
    assert correctives is not None
    custody.check_error_declaration(
        event_id,
        recorded_by=owner["recorded_by_agency_id"],
        already_declared=owner["declared"],
        declaring_agency=agency_id,
        corrective_event_ids=declaration.corrective_event_ids,
        correctives_recorded_by_others=correctives["others"] or (),
        administrator=administrator,
    )
    if correctives["missing"]:
        raise UnknownReference(
            "no custody event is recorded with id " + ", ".join(map(str, correctives["missing"]))
        )
    conn.execute(
        SQL["insert_error_declaration"],
        {
            "event_id": event_id,
            "reason": declaration.reason,
            "explanation": declaration.explanation,
            "corrective_event_ids": list(declaration.corrective_event_ids),
            "agency_id": agency_id,
        },
    )


def _event_params(agency_id: UUID, event: NewEvent) -> dict[str, object]:
    return {
        "event_type": event.event_type,
        "occurred_on": event.occurred_on,
        "country": event.country,
        "destination_country": event.destination_country,
        "from_party_id": event.from_party_id,
        "to_party_id": event.to_party_id,
        "owner_party_id": event.owner_party_id,
        "euc_id": event.euc_id,
        "euc_line_number": event.euc_line_number,
        "item_count": len(event.item_ids),
        "licence_number": event.licence_number,
        "document_reference": event.document_reference,
        "notes": event.notes,
        "classification": event.classification,
        "agency_id": agency_id,
    }
