"""What `trace-registry worker` purges: operational rows past their retention, a batch at a time,
and never evidence nor a row something still needs (a pending delivery, a live idempotency key,
a rate still holding a client back)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from uuid import UUID

import psycopg
import pytest

from service import worker
from service.config import Settings
from service.db import Connection, connect
from service.repository import clients, idempotency, webhooks
from tests.conftest import create_agency_key, rows_in, service_url_for


@pytest.fixture
def as_service(database_url: str) -> Settings:
    """The worker's settings: it logs in as the service's role, not as the schema's owner."""
    return Settings(database_url=service_url_for(database_url), pool_min_size=1, pool_max_size=2)


def run_worker(settings: Settings) -> None:
    worker.run(lambda: connect(settings), settings, interval=0, once=True)


class Outbox:
    """Notifications of one agency with a delivery each to its webhook, delivered or not."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        agency, _ = create_agency_key(db, "National Tracing Office")
        self.agency = agency.id
        self.looker = create_agency_key(db, "Border Police")[0].id
        with db.transaction():
            self.item = db.execute(
                "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category,"
                " serial_number, serial_norm, recorded_by_agency_id) VALUES ('FN', 'FN', 'FAL',"
                " 'FAL', 'RIFLE', 'PRG-1', 'PRG1', %s) RETURNING id",
                [self.agency],
            ).fetchone()["id"]
            self.webhook = db.execute(
                "INSERT INTO agency_webhooks (agency_id, url, secret) VALUES (%s,"
                " 'https://hooks.example.org/in', repeat('s', 32)) RETURNING id",
                [self.agency],
            ).fetchone()["id"]

    def delivery(
        self,
        *,
        delivered_days_ago: int | None,
        created_days_ago: int = 0,
        abandoned_days_ago: int | None = None,
    ) -> UUID:
        """A notification and its delivery, delivered that many days ago (None: not yet), or
        given up (ABANDONED) that many days ago."""
        with self.db.transaction():
            notification = self.db.execute(
                "INSERT INTO notifications (agency_id, kind, item_id, by_agency_id)"
                " VALUES (%s, 'ITEM_LOOKUP', %s, %s) RETURNING id",
                [self.agency, self.item, self.looker],
            ).fetchone()["id"]
            row = self.db.execute(
                "INSERT INTO webhook_deliveries (notification_id, webhook_id, attempts,"
                " created_at, delivered_at, abandoned_at, last_error) VALUES (%(n)s, %(w)s, 1,"
                " now() - make_interval(days => %(created)s),"
                " now() - make_interval(days => %(delivered)s),"
                " now() - make_interval(days => %(abandoned)s), %(error)s) RETURNING id",
                {
                    "n": notification,
                    "w": self.webhook,
                    "created": created_days_ago,
                    "delivered": delivered_days_ago,
                    "abandoned": abandoned_days_ago,
                    "error": None if delivered_days_ago is not None else "connection refused",
                },
            ).fetchone()
        return UUID(str(row["id"]))

    def left(self) -> set[UUID]:
        return {row["id"] for row in self.db.execute("SELECT id FROM webhook_deliveries")}


@pytest.fixture
def outbox(db: Connection) -> Outbox:
    return Outbox(db)


def test_the_worker_deletes_deliveries_delivered_before_the_retention_and_keeps_the_rest(
    outbox: Outbox, db: Connection, as_service: Settings
) -> None:
    old = [outbox.delivery(delivered_days_ago=days, created_days_ago=days) for days in (31, 400)]
    recent = outbox.delivery(delivered_days_ago=29, created_days_ago=40)
    # queued a year ago and still failing: the receiver will get it when it comes back
    pending = outbox.delivery(delivered_days_ago=None, created_days_ago=365)

    run_worker(as_service)  # TRACE_REGISTRY_DELIVERY_RETENTION_DAYS: 30

    assert outbox.left() == {recent, pending}
    assert not set(old) & outbox.left()
    # the notifications are what is kept: every one is still there
    assert rows_in(db, "notifications") == 4


def test_the_retention_of_delivered_deliveries_is_the_setting_s(
    outbox: Outbox, as_service: Settings
) -> None:
    outbox.delivery(delivered_days_ago=3)
    kept = outbox.delivery(delivered_days_ago=1)

    run_worker(as_service.with_overrides({"delivery_retention_days": 2}))

    assert outbox.left() == {kept}


def test_a_backlog_goes_a_batch_at_a_time_and_what_a_turn_leaves_waits_for_the_next(
    outbox: Outbox, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    for days in range(40, 47):
        outbox.delivery(delivered_days_ago=days)
    assert list(webhooks.purge_delivered(db, 30, batch=3)) == [3, 3, 1]  # a statement each
    assert rows_in(db, "webhook_deliveries") == 0

    for days in range(40, 47):
        outbox.delivery(delivered_days_ago=days)
    monkeypatch.setattr(worker, "PURGE_BATCH", 3)
    monkeypatch.setattr(worker, "PURGE_SECONDS", 0.0)  # one batch a turn
    worker._purge(db, Settings())
    assert rows_in(db, "webhook_deliveries") == 4
    worker._purge(db, Settings())
    worker._purge(db, Settings())
    assert rows_in(db, "webhook_deliveries") == 0


def test_the_worker_deletes_deliveries_abandoned_before_the_retention_and_keeps_the_rest(
    outbox: Outbox, db: Connection, as_service: Settings
) -> None:
    # Given up, a delivery is never tried again: kept until its webhook was deactivated, a dead
    # receiver's backlog stayed for good.
    old = [
        outbox.delivery(delivered_days_ago=None, created_days_ago=days + 3, abandoned_days_ago=days)
        for days in (31, 400)
    ]
    # counted from when it was given up, not from when it was made
    recent = outbox.delivery(delivered_days_ago=None, created_days_ago=90, abandoned_days_ago=29)
    pending = outbox.delivery(delivered_days_ago=None, created_days_ago=365)

    run_worker(as_service)  # TRACE_REGISTRY_DELIVERY_RETENTION_DAYS: 30

    assert outbox.left() == {recent, pending}
    assert not set(old) & outbox.left()
    assert rows_in(db, "notifications") == 4


def test_abandoned_deliveries_go_a_batch_at_a_time_with_the_setting_s_retention(
    outbox: Outbox, db: Connection, as_service: Settings
) -> None:
    for days in range(40, 47):
        outbox.delivery(delivered_days_ago=None, created_days_ago=50, abandoned_days_ago=days)
    delivered = outbox.delivery(delivered_days_ago=60)

    assert list(webhooks.purge_abandoned(db, 30, batch=3)) == [3, 3, 1]  # a statement each
    assert outbox.left() == {delivered}  # the other purge's to delete

    kept = outbox.delivery(delivered_days_ago=None, created_days_ago=9, abandoned_days_ago=1)
    outbox.delivery(delivered_days_ago=None, created_days_ago=9, abandoned_days_ago=3)
    run_worker(as_service.with_overrides({"delivery_retention_days": 2}))
    assert outbox.left() == {kept}
    assert list(webhooks.purge_abandoned(db, 2, batch=3)) == [0]


def test_a_delivery_a_worker_holds_is_passed_over_not_waited_for(
    outbox: Outbox, db: Connection, database_url: str
) -> None:
    held = outbox.delivery(delivered_days_ago=60)
    free = outbox.delivery(delivered_days_ago=60)
    holding = threading.Event()
    done = threading.Event()

    def a_worker_recording_a_late_outcome() -> None:
        with psycopg.connect(database_url) as other, other.transaction():
            other.execute("SELECT 1 FROM webhook_deliveries WHERE id = %s FOR UPDATE", [held])
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=a_worker_recording_a_late_outcome)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        forgotten = sum(webhooks.purge_delivered(db, 30, batch=10))
        took = time.monotonic() - started
    finally:
        done.set()
        holder.join()

    assert (forgotten, took < 5) == (1, True)
    assert outbox.left() == {held}
    assert free not in outbox.left()
    assert sum(webhooks.purge_delivered(db, 30, batch=10)) == 1  # once it is free


def idempotent_answers(db: Connection, agency: UUID, ages_in_hours: dict[str, int]) -> None:
    with db.transaction():
        for key, hours in ages_in_hours.items():
            db.execute(
                "INSERT INTO idempotency_keys (agency_id, key, fingerprint, method, path, status,"
                " media_type, body, created_at) VALUES (%s, %s, '\\x00', 'POST', '/v1/parties',"
                " 201, 'application/json', '{}', now() - make_interval(hours => %s))",
                [agency, key, hours],
            )


def test_idempotent_answers_past_the_retention_go_in_batches_and_live_keys_stay(
    db: Connection, as_service: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency = create_agency_key(db, "National Tracing Office")[0].id
    idempotent_answers(db, agency, {f"old-{n}": 25 + n for n in range(5)} | {"live": 23})

    assert list(idempotency.purge(db, 24, batch=2)) == [2, 2, 1]
    assert [row["key"] for row in db.execute("SELECT key FROM idempotency_keys")] == ["live"]

    idempotent_answers(db, agency, {f"older-{n}": 49 + n for n in range(3)})
    monkeypatch.setattr(worker, "PURGE_BATCH", 2)
    run_worker(as_service.with_overrides({"idempotency_hours": 48}))
    assert [row["key"] for row in db.execute("SELECT key FROM idempotency_keys")] == ["live"]


def test_spent_rates_go_a_batch_of_the_table_at_a_time_and_rates_still_running_stay(
    db: Connection,
) -> None:
    spent = [uuid.uuid4() for _ in range(7)]
    running = [uuid.uuid4() for _ in range(4)]
    with db.transaction():
        for key_id in spent:
            db.execute(
                "INSERT INTO rate_limits (key_id, allowed_at) VALUES (%s, now() - interval '2 h')",
                [key_id],
            )
        for minutes, key_id in zip((-50, -1, 0, 5), running, strict=True):
            db.execute(
                "INSERT INTO rate_limits (key_id, allowed_at)"
                " VALUES (%s, now() + make_interval(mins => %s))",
                [key_id, minutes],
            )

    batches = list(clients.forget_spent_rates(db, batch=3))

    assert sum(batches) == 7
    assert len(batches) == 4  # 11 rows, 3 a batch
    assert {row["key_id"] for row in db.execute("SELECT key_id FROM rate_limits")} == set(running)


def test_a_purge_that_fails_leaves_the_others_to_run(
    outbox: Outbox, as_service: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = outbox.delivery(delivered_days_ago=1)
    outbox.delivery(delivered_days_ago=90)

    def stuck(*args: object) -> Iterator[int]:
        raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")

    monkeypatch.setattr(idempotency, "purge", stuck)
    run_worker(as_service)

    assert outbox.left() == {kept}


def test_the_purge_reads_the_delivered_rows_by_their_index(outbox: Outbox, db: Connection) -> None:
    with db.transaction():
        db.execute(
            "INSERT INTO notifications (agency_id, kind, item_id, by_agency_id)"
            " SELECT %s, 'ITEM_LOOKUP', %s, %s FROM generate_series(1, 3000)",
            [outbox.agency, outbox.item, outbox.looker],
        )
        db.execute(
            "INSERT INTO webhook_deliveries (notification_id, webhook_id, delivered_at)"
            " SELECT id, %s, now() - make_interval(mins => (random() * 60 * 24 * 40)::integer)"
            " FROM notifications",
            [outbox.webhook],
        )
    db.execute("ANALYZE webhook_deliveries")

    plan = db.execute(
        "EXPLAIN (FORMAT JSON) " + webhooks.SQL["purge_delivered"], {"days": 30, "batch": 1000}
    ).fetchone()

    assert plan is not None
    scans = json.dumps(plan["QUERY PLAN"])
    assert '"Index Name": "webhook_deliveries_delivered"' in scans, scans


def test_the_purge_deletes_its_batch_by_key_under_the_worker_s_generic_plan(
    outbox: Outbox, db: Connection
) -> None:
    # As `id IN (SELECT ...)`, the generic plan took the batch's LIMIT for a tenth of the rows
    # and hashed the batch against a sequential scan of the whole table (91 ms a batch of 1,000
    # among 400,000 rows on PostgreSQL 15).
    with db.transaction():
        db.execute(
            "INSERT INTO notifications (agency_id, kind, item_id, by_agency_id)"
            " SELECT %s, 'ITEM_LOOKUP', %s, %s FROM generate_series(1, 3000)",
            [outbox.agency, outbox.item, outbox.looker],
        )
        db.execute(
            "INSERT INTO webhook_deliveries (notification_id, webhook_id, delivered_at)"
            " SELECT id, %s, now() - make_interval(days => (row_number() OVER () %% 40)::integer)"
            " FROM notifications",
            [outbox.webhook],
        )
    db.execute("ANALYZE webhook_deliveries")
    db.execute("SET plan_cache_mode = force_generic_plan")

    query = webhooks.SQL["purge_delivered"].replace("%(days)s", "$1").replace("%(batch)s", "$2")
    db.execute(f"PREPARE purge (integer, integer) AS {query}")
    with db.transaction(force_rollback=True):
        plan = db.execute("EXPLAIN (FORMAT JSON) EXECUTE purge (30, 100)").fetchone()

    assert plan is not None
    scans = json.dumps(plan["QUERY PLAN"])
    assert '"Index Name": "webhook_deliveries_delivered"' in scans, scans
    assert '"Node Type": "Seq Scan"' not in scans, scans


def test_the_abandoned_purge_reads_the_abandoned_rows_by_their_index_oldest_first(
    outbox: Outbox, db: Connection
) -> None:
    # Most rows delivered, some abandoned long ago or lately, some pending: a batch reads the
    # abandoned rows' index from its oldest, not the undelivered rows' index nor the table.
    with db.transaction():
        db.execute(
            "INSERT INTO notifications (agency_id, kind, item_id, by_agency_id)"
            " SELECT %s, 'ITEM_LOOKUP', %s, %s FROM generate_series(1, 3000)",
            [outbox.agency, outbox.item, outbox.looker],
        )
        db.execute(
            "INSERT INTO webhook_deliveries (notification_id, webhook_id, delivered_at,"
            " abandoned_at) SELECT id, %s,"
            " CASE WHEN n %% 10 < 8 THEN now() - interval '1 day' END,"
            " CASE WHEN n %% 10 = 8 THEN now() - make_interval(days => (n %% 60)::integer) END"
            " FROM (SELECT id, row_number() OVER () AS n FROM notifications) AS made",
            [outbox.webhook],
        )
    db.execute("ANALYZE webhook_deliveries")

    # the worker's generic plan: a LIMIT of a parameter is taken for a tenth of the rows
    query = webhooks.SQL["purge_abandoned"].replace("%(days)s", "$1").replace("%(batch)s", "$2")
    db.execute(f"PREPARE purge (integer, integer) AS {query}")
    with db.transaction(force_rollback=True):
        plan = db.execute("EXPLAIN (FORMAT JSON) EXECUTE purge (30, 100)").fetchone()

    assert plan is not None
    scans = json.dumps(plan["QUERY PLAN"])
    assert '"Index Name": "webhook_deliveries_abandoned"' in scans, scans
    assert '"Index Cond": "(abandoned_at < ' in scans, scans
    # the batch's rows deleted by their key (a join with the batch read the whole table)
    assert '"Node Type": "Seq Scan"' not in scans, scans


def test_the_purge_reads_expired_answers_by_their_index(db: Connection) -> None:
    agency = create_agency_key(db, "National Tracing Office")[0].id
    db.execute(
        "INSERT INTO idempotency_keys (agency_id, key, fingerprint, method, path, status,"
        " media_type, body, created_at) SELECT %s, 'key-' || n, '\\x00', 'POST', '/v1/parties',"
        " 201, 'application/json', '{}', now() - make_interval(mins => n)"
        " FROM generate_series(1, 3000) n",
        [agency],
    )
    db.execute("ANALYZE idempotency_keys")

    # the worker's generic plan: as `(agency_id, key) IN (SELECT ...)`, it hashed the batch
    # against a sequential scan of every answer (37 ms a batch of 1,000 among 200,000 on
    # PostgreSQL 15; 1.9 ms by the batch's row addresses)
    db.execute("SET plan_cache_mode = force_generic_plan")
    query = idempotency.SQL["purge"].replace("%(hours)s", "$1").replace("%(batch)s", "$2")
    db.execute(f"PREPARE purge (integer, integer) AS {query}")
    with db.transaction(force_rollback=True):
        plan = db.execute("EXPLAIN (FORMAT JSON) EXECUTE purge (24, 1000)").fetchone()

    assert plan is not None
    scans = json.dumps(plan["QUERY PLAN"])
    assert '"Index Name": "idempotency_keys_created_at"' in scans, scans
    assert '"Node Type": "Seq Scan"' not in scans, scans
