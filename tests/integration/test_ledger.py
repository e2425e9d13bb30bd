"""The registry is append-only, enforced by PostgreSQL itself, whoever connects."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from service.db import Connection, translate
from service.errors import LedgerViolation
from tests.builders import RegistryBuilder

LEDGER_TABLES = [
    "parties",
    "items",
    "end_user_certificates",
    "euc_line_items",
    "custody_events",
    "custody_event_items",
    "event_error_declarations",
]


@pytest.fixture
def history(registry: RegistryBuilder, api: Any) -> None:
    """One row in every ledger table."""
    event = registry.export()
    api.post(
        f"/v1/events/{event['id']}/error-declaration",
        {"reason": "INCORRECT_DATA", "explanation": "test"},
    )


def _attempt(db: Connection, statement: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        db.execute(statement)
    return caught.value


@pytest.mark.parametrize("table", LEDGER_TABLES)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET {column} = {column}",
        "DELETE FROM {table}",
        "TRUNCATE {table} CASCADE",
    ],
)
def test_history_cannot_be_changed(
    db: Connection, history: None, table: str, statement: str
) -> None:
    column = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s LIMIT 1",
        [table],
    ).fetchone()["column_name"]
    count_before = db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
    assert count_before > 0

    error = _attempt(db, statement.format(table=table, column=column))

    assert error.sqlstate == "TRL01"
    assert "append-only" in str(error)
    assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == count_before
    assert isinstance(translate(error), LedgerViolation)


def test_the_refusal_holds_inside_a_transaction_that_tries_to_hide_it(
    db: Connection, history: None
) -> None:
    with pytest.raises(psycopg.Error), db.transaction():
        db.execute("INSERT INTO countries (code, name) VALUES ('QZ', 'Test')")
        db.execute("DELETE FROM custody_events")

    assert db.execute("SELECT count(*) AS n FROM countries WHERE code = 'QZ'").fetchone()["n"] == 0
