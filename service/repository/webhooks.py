"""Webhooks agencies register, and the outbox of deliveries to them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from service.db import Connection, delete_in_batches
from service.domain.ids import NEWEST
from service.domain.webhooks import DELIVERY_SECONDS, SUSPEND_HOURS
from service.repository.queries import load

SQL = load("webhooks")
# A webhook as its agency reads it, one shape for the page and for one (`shown_webhooks`).
LIST_WEBHOOKS, ONE_WEBHOOK = (
    sql.SQL(SQL[name]).format(shown_webhooks=sql.SQL(SQL["shown_webhooks"]))
    for name in ("list_webhooks", "one_webhook")
)
# Any fixed number: the advisory-lock space of webhook registrations (one agency at a time).
_LOCK_SPACE = 74_107
# Any fixed number: the advisory-lock space of sends to a webhook and its deactivation.
_SENDS_LOCK_SPACE = 74_109
# How long a deactivation may wait for a delivery under way: its whole time, and a margin.
_DEACTIVATION_WAIT_MS = int((DELIVERY_SECONDS + 5) * 1000)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A webhook as its agency sees it: where it points, whether it takes deliveries (ACTIVE,
    SUSPENDED by the worker, DEACTIVATED by the agency), and its health as last recorded."""

    id: UUID
    url: str
    status: str
    created_at: datetime
    deactivated_at: datetime | None
    suspended_at: datetime | None
    suspended_reason: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    consecutive_failures: int
    deliveries_abandoned: int


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker holds the lease on."""

    id: UUID
    notification_id: UUID
    webhook_id: UUID
    attempts: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery as its agency sees it (last_error as stored: see
    service.domain.delivery_failures.shown)."""

    id: UUID
    notification_id: UUID
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    abandoned_at: datetime | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    secret: str
    deactivated: bool
    suspended: bool
    # the delivery to send was given up since it was claimed
    abandoned: bool


@dataclass(frozen=True, slots=True)
class Failing:
    """A webhook's run of failures, as a failed attempt left it."""

    since: datetime
    # every attempt has failed for the hours the worker suspends a webhook after
    to_suspend: bool


def register(conn: Connection, agency_id: UUID, url: str, secret: str) -> Webhook:
    row = conn.execute(
        SQL["insert_webhook"], {"agency_id": agency_id, "url": url, "secret": secret}
    ).fetchone()
    assert row is not None
    return Webhook(**row)


def active_count(conn: Connection, agency_id: UUID) -> int:
    """How many webhooks the agency has active, counted under its registration lock, which the
    caller's transaction holds to its end (so a registration it then stores is counted by the
    next one)."""
    conn.execute(SQL["lock_registrations"], {"lock_space": _LOCK_SPACE, "agency_id": agency_id})
    row = conn.execute(SQL["count_active"], {"agency_id": agency_id}).fetchone()
    assert row is not None
    active: int = row["active"]
    return active


def of_agency(
    conn: Connection, agency_id: UUID, *, before: UUID | None, limit: int
) -> list[Webhook]:
    """The agency's webhooks, active or not, newest first."""
    params = {"agency_id": agency_id, "before": before or NEWEST, "limit": limit}
    return [_shown(row) for row in conn.execute(LIST_WEBHOOKS, params)]


def one(conn: Connection, agency_id: UUID, webhook_id: UUID) -> Webhook | None:
    """The agency's webhook, as GET /v1/webhooks lists it, or None."""
    params = {"agency_id": agency_id, "id": webhook_id}
    row = conn.execute(ONE_WEBHOOK, params).fetchone()
    return None if row is None else _shown(row)


def _shown(row: dict[str, Any]) -> Webhook:
    """A webhook as shown_webhooks reads it, but for its agency (there for the page's bound:
    the reader's own)."""
    return Webhook(**{name: value for name, value in row.items() if name != "agency_id"})


def exists(conn: Connection, agency_id: UUID, webhook_id: UUID) -> bool:
    params = {"id": webhook_id, "agency_id": agency_id}
    return conn.execute(SQL["webhook_exists"], params).fetchone() is not None


def deactivate(conn: Connection, agency_id: UUID, webhook_id: UUID) -> None:
    """Stop deliveries to the webhook (idempotent: an inactive one stays inactive), and take
    those not yet delivered out of the outbox (call it in a transaction). Waits for a delivery
    under way to the webhook to end (target_for_sending): once this commits, none starts."""
    _lock_sends(conn, webhook_id)
    conn.execute(SQL["deactivate_webhook"], {"id": webhook_id, "agency_id": agency_id})
    conn.execute(SQL["drop_undelivered"], {"webhook_id": webhook_id})
    conn.execute(SQL["drop_abandoned"], {"webhook_id": webhook_id})


def _lock_sends(conn: Connection, webhook_id: UUID) -> None:
    """Wait for the deliveries under way to the webhook, and hold its sends (the transaction's
    statements may take a delivery's time and a margin, whatever the statement timeout)."""
    conn.execute(SQL["wait_for_a_delivery_under_way"], {"ms": _DEACTIVATION_WAIT_MS})
    conn.execute(
        SQL["lock_sends_exclusively"], {"lock_space": _SENDS_LOCK_SPACE, "webhook_id": webhook_id}
    )


def resume(
    conn: Connection, agency_id: UUID, webhook_id: UUID, redeliver_days: int | None = None
) -> int:
    """Let a suspended webhook take deliveries again (nothing to do for one that is not), its
    run of failures counted afresh (call it in a transaction). Under the lock of its sends, as
    the worker's suspension is: whichever comes second sees the other. An active webhook is
    left alone at once (its lock would wait for a delivery under way), unless asked to
    redeliver: with `redeliver_days`, its deliveries given up within that many days are due
    again now, and if any is, its run of failures starts again too; how many."""
    found = one(conn, agency_id, webhook_id)
    if found is None or found.status == "DEACTIVATED":
        return 0
    if found.status != "SUSPENDED" and redeliver_days is None:
        return 0
    _lock_sends(conn, webhook_id)
    conn.execute(SQL["resume_webhook"], {"id": webhook_id, "agency_id": agency_id})
    if redeliver_days is None:
        return 0
    params = {"webhook_id": webhook_id, "days": redeliver_days}
    row = conn.execute(SQL["redeliver_abandoned"], params).fetchone()
    assert row is not None
    redelivered: int = row["redelivered"]
    return redelivered


def suspend(conn: Connection, webhook_id: UUID, hours: int, reason: str) -> int:
    """Suspend a webhook every attempt to which has failed for `hours` (checked again here,
    after the deliveries under way to it have ended), and give up its undelivered deliveries;
    how many were given up, or -1 if it was not suspended (a delivery or a resumption came
    first). Runs in a transaction of its own: once it commits, no delivery to it starts."""
    with conn.transaction():
        _lock_sends(conn, webhook_id)
        params = {"webhook_id": webhook_id, "hours": hours, "reason": reason}
        if conn.execute(SQL["suspend_webhook"], params).fetchone() is None:
            return -1
        return abandon(conn, webhook_id, None)


def abandon(conn: Connection, webhook_id: UUID, hours: int | None) -> int:
    """Give up the webhook's deliveries undeliverable for longer than `hours` (None: all that
    are not delivered), counted in its health; how many."""
    row = conn.execute(SQL["abandon"], {"webhook_id": webhook_id, "hours": hours}).fetchone()
    assert row is not None
    abandoned: int = row["abandoned"]
    return abandoned


def drop(conn: Connection, delivery_id: UUID) -> None:
    """Take a delivery that will never be sent (its webhook was deactivated) out of the
    outbox."""
    conn.execute(SQL["drop_delivery"], {"id": delivery_id})


def claim_due(conn: Connection, limit: int, lease_seconds: int) -> list[Claimed]:
    params = {"limit": limit, "lease_seconds": lease_seconds}
    return [Claimed(**row) for row in conn.execute(SQL["claim_due"], params)]


def target_for_sending(conn: Connection, webhook_id: UUID, delivery_id: UUID) -> Target:
    """Where to send, whether the webhook is active, and whether the delivery was given up since
    it was claimed, read under a shared lock of its sends that the caller's transaction holds
    until it has sent: a deactivation waits for it, and one under way, or queued, is waited for
    and seen."""
    conn.execute(
        SQL["lock_sends_shared"], {"lock_space": _SENDS_LOCK_SPACE, "webhook_id": webhook_id}
    )
    params = {"webhook_id": webhook_id, "delivery_id": delivery_id}
    row = conn.execute(SQL["delivery_target"], params).fetchone()
    assert row is not None
    return Target(
        row["url"],
        row["secret"],
        row["deactivated_at"] is not None,
        row["suspended_at"] is not None,
        row["abandoned_at"] is not None,
    )


def delivered(conn: Connection, delivery_id: UUID, status: int) -> None:
    """Record a delivery delivered, and its webhook's health (its run of failures is over)."""
    conn.execute(SQL["delivered"], {"id": delivery_id, "status": status})


def failed(
    conn: Connection,
    delivery_id: UUID,
    status: int | None,
    error: str,
    retry_in_seconds: int,
    suspend_hours: int = SUSPEND_HOURS,
) -> Failing | None:
    """Record a failed attempt, due again in `retry_in_seconds`, and its webhook's health: how
    long it has been failing (None if the delivery was delivered or given up meanwhile)."""
    params = {
        "id": delivery_id,
        "status": status,
        "error": error[:500],
        "retry_in_seconds": retry_in_seconds,
        "suspend_hours": suspend_hours,
    }
    row = conn.execute(SQL["failed"], params).fetchone()
    return None if row is None else Failing(row["failing_since"], row["to_suspend"])


def hold(conn: Connection, webhook_id: UUID, tried: UUID, seconds: int) -> None:
    """The webhook's deliveries but `tried` wait `seconds` if due before (not attempts)."""
    params = {"webhook_id": webhook_id, "tried": tried, "seconds": seconds}
    conn.execute(SQL["hold_webhook"], params)


def postpone(conn: Connection, delivery_ids: list[UUID], seconds: int) -> None:
    """Hand claimed deliveries back unsent, due again in `seconds` (not counted as attempts)."""
    if delivery_ids:
        conn.execute(SQL["postpone"], {"ids": delivery_ids, "seconds": seconds})


def purge_delivered(conn: Connection, retention_days: int, batch: int) -> Iterator[int]:
    """Delete deliveries delivered more than `retention_days` ago, `batch` at a time, oldest
    first, until none is left; yields how many each batch deleted. Undelivered ones are never
    touched."""
    return delete_in_batches(conn, SQL["purge_delivered"], {"days": retention_days}, batch)


def purge_abandoned(conn: Connection, retention_days: int, batch: int) -> Iterator[int]:
    """Delete deliveries given up (ABANDONED) more than `retention_days` ago, `batch` at a
    time, oldest first, until none is left; yields how many each batch deleted. The
    notifications stay."""
    return delete_in_batches(conn, SQL["purge_abandoned"], {"days": retention_days}, batch)


def deliveries(
    conn: Connection, webhook_id: UUID, *, state: str | None, before: UUID | None, limit: int
) -> list[Delivery]:
    """A webhook's deliveries, newest first, in `state` (DELIVERED, ABANDONED, FAILING, PENDING)
    or any."""
    params = {"webhook_id": webhook_id, "state": state, "before": before or NEWEST, "limit": limit}
    return [Delivery(**row) for row in conn.execute(SQL["list_deliveries"], params)]


def delivery_state(conn: Connection, notification_id: UUID) -> list[dict[str, object]]:
    """Each delivery of a notification as stored (for operators and tests)."""
    return list(conn.execute(SQL["delivery_state"], {"notification_id": notification_id}))
