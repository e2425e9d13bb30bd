"""Webhooks agencies register, and the outbox of deliveries to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from service.db import Connection
from service.repository.queries import load

SQL = load("webhooks")


@dataclass(frozen=True, slots=True)
class Webhook:
    id: UUID
    url: str
    created_at: datetime
    deactivated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker holds the lease on."""

    id: UUID
    notification_id: UUID
    webhook_id: UUID
    attempts: int


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    secret: str
    active: bool


def register(conn: Connection, agency_id: UUID, url: str, secret: str) -> Webhook:
    row = conn.execute(
        SQL["insert_webhook"], {"agency_id": agency_id, "url": url, "secret": secret}
    ).fetchone()
    assert row is not None
    return Webhook(**row)


def of_agency(conn: Connection, agency_id: UUID) -> list[Webhook]:
    return [Webhook(**row) for row in conn.execute(SQL["list_webhooks"], {"agency_id": agency_id})]


def exists(conn: Connection, agency_id: UUID, webhook_id: UUID) -> bool:
    params = {"id": webhook_id, "agency_id": agency_id}
    return conn.execute(SQL["webhook_exists"], params).fetchone() is not None


def deactivate(conn: Connection, agency_id: UUID, webhook_id: UUID) -> None:
    """Stop deliveries to the webhook (idempotent: an inactive one stays inactive)."""
    conn.execute(SQL["deactivate_webhook"], {"id": webhook_id, "agency_id": agency_id})


def claim_due(conn: Connection, limit: int, lease_seconds: int) -> list[Claimed]:
    params = {"limit": limit, "lease_seconds": lease_seconds}
    return [Claimed(**row) for row in conn.execute(SQL["claim_due"], params)]


def target(conn: Connection, webhook_id: UUID) -> Target:
    row = conn.execute(SQL["delivery_target"], {"webhook_id": webhook_id}).fetchone()
    assert row is not None
    return Target(row["url"], row["secret"], row["deactivated_at"] is None)


def delivered(conn: Connection, delivery_id: UUID, status: int) -> None:
    conn.execute(SQL["delivered"], {"id": delivery_id, "status": status})


def failed(
    conn: Connection, delivery_id: UUID, status: int | None, error: str, retry_in_seconds: int
) -> None:
    params = {
        "id": delivery_id,
        "status": status,
        "error": error[:500],
        "retry_in_seconds": retry_in_seconds,
    }
    conn.execute(SQL["failed"], params)


def postpone(conn: Connection, delivery_ids: list[UUID], seconds: int) -> None:
    """Hand claimed deliveries back unsent, due again in `seconds` (not counted as attempts)."""
    if delivery_ids:
        conn.execute(SQL["postpone"], {"ids": delivery_ids, "seconds": seconds})


def delivery_state(conn: Connection, notification_id: UUID) -> list[dict[str, object]]:
    """Each delivery of a notification as stored (for operators and tests)."""
    return list(conn.execute(SQL["delivery_state"], {"notification_id": notification_id}))
