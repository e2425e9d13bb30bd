"""`trace-registry worker`: the background work of the service, in rounds.

Each round delivers the notifications due to webhooks (service.delivery), loads the oldest
queued import if there is one (service.importing), and every few minutes forgets what only
operations needed: idempotent answers past their retention, rates that ran out, and deliveries
delivered longer ago than their retention; and names in the audit trail the refused
authentications of clients that did not come back (their tallies go as their entries are
written). Evidence (the ledger, stored traces, notifications, the audit trail, import records)
is never purged. Everything it works on is in PostgreSQL,
leased, so several workers may run on several machines, and one that dies loses nothing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from service import delivery, importing
from service.config import Settings
from service.db import Connection
from service.repository import agencies, clients, idempotency, webhooks

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 300.0
# Rows a purge deletes in one statement (its own transaction): the rows it locks are held that
# long, not for the whole purge.
PURGE_BATCH = 1_000
# How long one kind of purge may take a turn: what is left (a first purge after an upgrade that
# finds months of delivered rows) waits for the next turn, rather than hold the round's
# deliveries and imports.
PURGE_SECONDS = 10.0


def run(
    connect: Callable[[], Connection],
    settings: Settings,
    *,
    interval: float,
    once: bool,
    heartbeat: Path | None = None,
) -> int:
    """Work until stopped (or one round with `once`); reconnects when the database goes.
    `heartbeat` is touched after every round, for a container health check. Returns the
    notifications delivered."""
    delivered = 0
    purged_at = -math.inf
    send = delivery.sender(settings.webhook_reach)
    policy = delivery.Policy(settings.webhook_give_up_hours, settings.webhook_suspend_hours)
    while True:
        try:
            with connect() as conn:
                jobs = importing.JobSettings(
                    countries=frozenset(agencies.known_countries(conn)),
                    verification_days=settings.euc_verification_days,
                    errors_kept=settings.import_errors_kept,
                    import_readers=settings.import_readers,
                )
                while True:
                    if time.monotonic() - purged_at >= PURGE_EVERY_SECONDS:
                        purged_at = time.monotonic()
                        _purge(conn, settings)
                    done = delivery.deliver_due(conn, send, policy=policy)
                    delivered += done.delivered
                    if done.abandoned or done.suspended:
                        log.warning(
                            "deliveries given up: %d; webhooks suspended: %d",
                            done.abandoned,
                            done.suspended,
                        )
                    loaded = importing.run_next_job(conn, jobs)
                    if loaded is not None:
                        log.info("import %s: %s", loaded.id, loaded.status)
                    if heartbeat is not None:
                        heartbeat.touch()
                    if once:
                        return delivered
                    if done.claimed == 0 and loaded is None:
                        time.sleep(interval)
        except Exception as error:  # the database went away, or a bug: log, wait, go on
            if once:
                raise
            log.exception("worker round failed: %s", error)
            time.sleep(interval)


def _purge(conn: Connection, settings: Settings) -> None:
    """Forget expired idempotent answers, spent rates and old delivered deliveries, and record
    quiet clients' tallies of refused authentications, in batches.
    A purge that fails (a statement past its timeout) waits for the next turn: it must not stop
    the round's deliveries and imports, nor be tried first in every round until it succeeds."""
    forgetting: tuple[tuple[str, Callable[[], Iterator[int]]], ...] = (
        (
            "idempotent answers",
            lambda: idempotency.purge(conn, settings.idempotency_hours, PURGE_BATCH),
        ),
        ("spent rates", lambda: clients.forget_spent_rates(conn, PURGE_BATCH)),
        (
            # recorded, not forgotten: each tally goes as its audit entry is written
            "tallies of refused authentications (recorded in the audit trail)",
            lambda: clients.record_quiet_tallies(
                conn,
                clients.quiet_period(
                    settings.auth_failures_per_minute, settings.auth_failure_burst
                ),
                PURGE_BATCH,
            ),
        ),
        (
            "delivered deliveries",
            lambda: webhooks.purge_delivered(conn, settings.delivery_retention_days, PURGE_BATCH),
        ),
        (
            # given up, never tried again: kept as long as a delivered one, from abandoned_at
            "abandoned deliveries",
            lambda: webhooks.purge_abandoned(conn, settings.delivery_retention_days, PURGE_BATCH),
        ),
    )
    for what, batches in forgetting:
        try:
            forgotten = _for_a_while(batches(), PURGE_SECONDS)
        except Exception as error:  # logged; the next turn tries again
            log.warning("forgetting %s failed (next in %d s): %s", what, PURGE_EVERY_SECONDS, error)
            continue
        log.info("forgot %d %s", forgotten, what)


def _for_a_while(batches: Iterator[int], seconds: float) -> int:
    """Run batches until none is left or `seconds` have passed; how many rows they forgot."""
    deadline = time.monotonic() + seconds
    forgotten = 0
    for count in batches:
        forgotten += count
        if time.monotonic() >= deadline:
            break
    return forgotten
