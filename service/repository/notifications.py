"""Hit notifications: telling an agency that its records were traced or looked up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from service.db import Connection
from service.domain.ids import NEWEST
from service.domain.records import AgencyRef
from service.repository.queries import load

SQL = load("notifications")


@dataclass(frozen=True, slots=True)
class Notification:
    id: UUID
    kind: str
    item_id: UUID
    serial_number: str
    manufacturer: str
    model: str
    trace_id: UUID | None
    by_agency: AgencyRef
    case_reference: str | None
    purpose: str | None
    match_basis: str | None
    observed_serial: str | None
    created_at: datetime
    acknowledged_at: datetime | None


def tell_of_lookup(
    conn: Connection,
    item_id: UUID,
    by_agency_id: UUID,
    case_reference: str | None = None,
    purpose: str | None = None,
) -> None:
    """Notify the other agencies that recorded the item that it was looked up."""
    conn.execute(
        SQL["insert_lookup_notifications"],
        {
            "item_id": item_id,
            "by_agency_id": by_agency_id,
            "case_reference": case_reference,
            "purpose": purpose,
        },
    )


def find(
    conn: Connection, agency_id: UUID, *, unacknowledged: bool, before: UUID | None, limit: int
) -> list[Notification]:
    """The agency's notifications, newest first."""
    params = {
        "agency_id": agency_id,
        "unacknowledged": unacknowledged,
        "before": before or NEWEST,
        "limit": limit,
    }
    return [_notification(row) for row in conn.execute(SQL["list_notifications"], params)]


def get(conn: Connection, agency_id: UUID, notification_id: UUID) -> Notification | None:
    row = conn.execute(
        SQL["get_notification"], {"id": notification_id, "agency_id": agency_id}
    ).fetchone()
    return None if row is None else _notification(row)


def by_id(conn: Connection, notification_id: UUID) -> Notification | None:
    """A notification whoever it is for (the delivery worker's read)."""
    row = conn.execute(SQL["notification_by_id"], {"id": notification_id}).fetchone()
    return None if row is None else _notification(row)


def acknowledge(conn: Connection, agency_id: UUID, notification_id: UUID) -> Notification | None:
    """Mark a notification read (once; acknowledging again changes nothing)."""
    conn.execute(SQL["acknowledge"], {"id": notification_id, "agency_id": agency_id})
    return get(conn, agency_id, notification_id)


def _notification(row: dict[str, object]) -> Notification:
    fields = {key: value for key, value in row.items() if not key.startswith("by_agency")}
    by_agency = AgencyRef(row["by_agency_id"], row["by_agency_name"])  # type: ignore[arg-type]
    return Notification(**fields, by_agency=by_agency)  # type: ignore[arg-type]
