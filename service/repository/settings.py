"""Server settings for the rest of a transaction: a wait or a statement cut shorter than the
connection's own (an import's wait for its agency, a batch's last seconds)."""

from __future__ import annotations

from service.db import Connection
from service.repository.queries import load

SQL = load("settings")


def set_for_transaction(conn: Connection, name: str, value: str) -> None:
    conn.execute(SQL["set_for_transaction"], {"name": name, "value": value})


def current(conn: Connection, name: str) -> str:
    row = conn.execute(SQL["current"], {"name": name}).fetchone()
    assert row is not None  # current_setting answers a row, or fails for an unknown setting
    return str(row["value"])
