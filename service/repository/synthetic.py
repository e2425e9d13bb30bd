"""The SQL of the synthetic registry (`trace-registry seed --items`): set-based inserts, and the
index handling that makes a bulk load into an empty registry fast.

The named queries are DML; the few DDL statements a load needs (temporary tables, dropping and
rebuilding indexes, ANALYZE) are composed here with `psycopg.sql` from names and from
definitions that PostgreSQL itself reports (`pg_get_indexdef`), so that a rebuilt index is
exactly the one schema.sql made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql

from service.db import Connection
from service.repository.queries import load

SQL = load("synthetic")

# The tables a load writes, in the order their rows reference each other.
LOADED_TABLES = (
    "parties", "items", "item_serials", "end_user_certificates", "euc_line_items",
    "custody_events", "custody_event_items",
)  # fmt: skip
MODELS_TABLE = "synthetic_models"
PLAN_TABLE = "synthetic_plan"


@dataclass(frozen=True)
class IndexDefinition:
    schema: str
    name: str
    definition: str


def use_loading_settings(conn: Connection, work_mem: str, maintenance_work_mem: str) -> None:
    """No statement timeout and more memory, for the current transaction only."""
    conn.execute(
        SQL["synthetic_loading_settings"],
        {"work_mem": work_mem, "maintenance_work_mem": maintenance_work_mem},
    )


def registry_is_empty(conn: Connection) -> bool:
    row = conn.execute(SQL["synthetic_registry_is_empty"]).fetchone()
    assert row is not None
    return bool(row["empty"])


def create_models(conn: Connection, params: Mapping[str, Any]) -> None:
    """The model catalogue as a temporary table, dropped at the end of the transaction."""
    _create_temporary(conn, MODELS_TABLE, SQL["synthetic_models"], params)


def create_plan(conn: Connection, params: Mapping[str, Any]) -> int:
    """One planned row per item (temporary, like the catalogue); returns how many."""
    _create_temporary(conn, PLAN_TABLE, SQL["synthetic_plan"], params)
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(PLAN_TABLE)))
    row = conn.execute(
        sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(PLAN_TABLE))
    ).fetchone()
    assert row is not None
    return int(row["n"])


def _create_temporary(conn: Connection, table: str, query: str, params: Mapping[str, Any]) -> None:
    statement = sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS {}").format(
        sql.Identifier(table), sql.SQL(query)
    )
    conn.execute(statement, params)


def insert_parties(conn: Connection, params: Mapping[str, Any]) -> int:
    return _rowcount(conn, SQL["synthetic_parties"], params)


def insert_items(conn: Connection, params: Mapping[str, Any]) -> int:
    return _rowcount(conn, SQL["synthetic_items"], params)


def insert_certificates(conn: Connection, params: Mapping[str, Any]) -> tuple[int, int]:
    """The certificates and their lines; returns (certificates, lines)."""
    return (
        _rowcount(conn, SQL["synthetic_certificates"], params),
        _rowcount(conn, SQL["synthetic_certificate_lines"], params),
    )


def insert_shipments(conn: Connection, params: Mapping[str, Any]) -> int:
    return _rowcount(conn, SQL["synthetic_shipments"], params)


def insert_chains(
    conn: Connection, params: Mapping[str, Any], first: int, last: int
) -> tuple[int, int]:
    """The own events of items first..last and every event they are in; returns (events, links)."""
    span = {**params, "first": first, "last": last}
    return (
        _rowcount(conn, SQL["synthetic_item_events"], span),
        _rowcount(conn, SQL["synthetic_event_items"], span),
    )


def _rowcount(conn: Connection, query: str, params: Mapping[str, Any]) -> int:
    return conn.execute(query, params).rowcount


def secondary_indexes(conn: Connection) -> list[IndexDefinition]:
    """Indexes of the loaded tables that back no constraint, with their definitions."""
    rows = conn.execute(SQL["synthetic_secondary_indexes"], {"tables": list(LOADED_TABLES)})
    return [IndexDefinition(**row) for row in rows]


def drop_index(conn: Connection, index: IndexDefinition) -> None:
    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index.schema, index.name)))


def create_index(conn: Connection, index: IndexDefinition) -> None:
    # The definition is PostgreSQL's own (pg_get_indexdef), read before the index was dropped.
    conn.execute(sql.SQL(index.definition))


def analyze(conn: Connection) -> None:
    """Fresh planner statistics for the loaded tables (outside a transaction block: VACUUM)."""
    for table in LOADED_TABLES:
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def event_item_count(conn: Connection, agency_id: UUID) -> int:
    """How many (item, event) links the agency's items have."""
    row = conn.execute(SQL["synthetic_event_item_count"], {"agency_id": agency_id}).fetchone()
    assert row is not None
    return int(row["n"])
