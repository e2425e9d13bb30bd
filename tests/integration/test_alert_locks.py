"""Refreshes of the alert list lock their items' stripes in order, all at once, so that two
transactions refreshing overlapping items never wait on each other in a cycle."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest

from service.db import Connection
from service.repository import alerts

HELD_STRIPES = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = %s"
)


def test_a_table_of_items_is_locked_at_once_in_lock_items_stripes(
    db: Connection, database_url: str
) -> None:
    items = [uuid4() for _ in range(300)]
    with psycopg.connect(database_url, autocommit=True) as other:
        with other.transaction():
            alerts.lock_items(other, items)
            by_lock_items = other.execute(HELD_STRIPES, [alerts.ITEM_LOCK_SPACE]).fetchone()
        assert by_lock_items is not None and 1 < by_lock_items[0] <= 256

        with db.transaction():
            db.execute("CREATE TEMPORARY TABLE touched (id uuid PRIMARY KEY) ON COMMIT DROP")
            db.execute("INSERT INTO touched SELECT unnest(%s::uuid[])", [items])
            alerts.lock_items_in(db, "touched")

            held = db.execute(HELD_STRIPES, [alerts.ITEM_LOCK_SPACE]).fetchone()
            assert held == {"count": by_lock_items[0]}
            other.execute("SET lock_timeout = '100ms'")
            for item in (items[0], items[-1]):
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    alerts.lock_items(other, [item])
        other.execute("RESET lock_timeout")
        alerts.lock_items(other, items)  # released with the transaction
