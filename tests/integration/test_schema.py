"""schema.sql: applied once, whole, and recognised afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import psycopg
import pytest

from service.config import Settings
from service.db import Connection, connect
from service.schema_setup import (
    SCHEMA_VERSION,
    SchemaMismatch,
    SchemaSetUp,
    ensure_schema,
    fingerprint,
    installed_version,
)
from tests.conftest import create_database, database_url_for, drop_database


def test_applying_again_changes_nothing(db: Connection) -> None:
    assert installed_version(db) == SCHEMA_VERSION

    assert ensure_schema(db) == SchemaSetUp(found=SCHEMA_VERSION)


def test_a_database_with_another_version_is_refused(db: Connection) -> None:
    db.execute(
        "INSERT INTO schema_version (version, fingerprint) VALUES (%s, %s)",
        [SCHEMA_VERSION + 1, fingerprint()],
    )

    with pytest.raises(SchemaMismatch, match="later than this code's"):
        ensure_schema(db)


def test_a_database_set_up_from_another_schema_sql_is_refused(db: Connection) -> None:
    db.execute("UPDATE schema_version SET fingerprint = 'an older schema.sql'")

    with pytest.raises(SchemaMismatch, match="an older sch"):
        ensure_schema(db)


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[Settings]:
    name = f"trace_registry_empty_{os.getpid()}"
    drop_database(postgres_admin_url, name)
    create_database(postgres_admin_url, name)
    yield Settings(database_url=database_url_for(postgres_admin_url, name))
    drop_database(postgres_admin_url, name)


def test_an_empty_database_gets_the_whole_schema(empty_database: Settings) -> None:
    with connect(empty_database) as conn:
        assert installed_version(conn) is None

        assert ensure_schema(conn) == SchemaSetUp(found=None)

        assert installed_version(conn) == SCHEMA_VERSION
        tables = {
            row["relname"]
            for row in conn.execute(
                "SELECT relname FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        }
    assert {"items", "parties", "custody_events", "end_user_certificates", "api_keys"} <= tables


def test_processes_starting_together_apply_it_once(empty_database: Settings) -> None:
    def apply() -> SchemaSetUp:
        with connect(empty_database) as conn:
            return ensure_schema(conn)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: apply(), range(4)))

    assert (
        sorted(results, key=lambda done: done.found == SCHEMA_VERSION)
        == [SchemaSetUp(found=None)] + [SchemaSetUp(found=SCHEMA_VERSION)] * 3
    )


def test_the_schema_version_matches_the_code(db: Connection) -> None:
    row = db.execute("SELECT version, fingerprint FROM schema_version").fetchone()

    assert (row["version"], row["fingerprint"]) == (SCHEMA_VERSION, fingerprint())


def test_ids_are_version_7_uuids_that_sort_in_the_order_they_were_made(db: Connection) -> None:
    one_by_one = [db.execute("SELECT uuid_v7() AS id").fetchone()["id"] for _ in range(50)]
    in_one_statement = [
        row["id"] for row in db.execute("SELECT uuid_v7() AS id FROM generate_series(1, 500)")
    ]

    for ids in (one_by_one, in_one_statement):
        assert all(isinstance(value, UUID) and value.version == 7 for value in ids)
        assert all(value.variant == "specified in RFC 4122" for value in ids)
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)


def test_ids_are_made_in_a_table_created_from_a_query_that_could_read_in_parallel(
    db: Connection,
) -> None:
    # The planner's parallel costs at 0: countries is read in parallel, whatever its size.
    # Declared PARALLEL SAFE, uuid_v7() then failed in CREATE TABLE ... AS: "cannot start
    # commands during a parallel operation" (migration 0014).
    for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
        db.execute(f"SET {setting} = 0")
    db.execute("SET max_parallel_workers_per_gather = 2")
    query = "SELECT {} AS id FROM countries WHERE name <> ''"
    parallel = db.execute("EXPLAIN " + query.format("gen_random_uuid()")).fetchall()
    assert any("Parallel Seq Scan" in row["QUERY PLAN"] for row in parallel)

    db.execute("CREATE TEMP TABLE made_from_a_query AS " + query.format("uuid_v7()"))
    ids = [row["id"] for row in db.execute("SELECT id FROM made_from_a_query")]

    assert len(ids) == len(set(ids)) == 250
    assert all(value.version == 7 for value in ids)


def test_every_country_code_is_two_upper_case_letters(db: Connection) -> None:
    codes = [row["code"] for row in db.execute("SELECT code FROM countries")]

    assert len(codes) == 250
    assert {"UA", "RU", "XK", "NO", "KP"} <= set(codes)
    assert all(len(code) == 2 and code.isupper() for code in codes)


def test_pg_trgm_is_available(db: Connection) -> None:
    row = db.execute("SELECT similarity('AK123456', 'AK123465') AS s").fetchone()

    assert 0 < row["s"] < 1


def test_service_sessions_never_compile_queries_with_jit(db: Connection) -> None:
    # PostgreSQL images built with LLVM compile any query whose cost estimate passes
    # jit_above_cost; a batch chain read took 1.5 s of compiling for 0.1 s of work.
    row = db.execute("SELECT current_setting('jit') AS jit").fetchone()
    assert row is not None
    assert row["jit"] == "off"


def test_an_items_searchable_row_goes_to_the_registry_whatever_the_session_made(
    db: Connection,
) -> None:
    """The items trigger writes item_serials by its schema's name: a session's temporary table
    of the same name does not take the row (trigram searches would never find the item)."""
    agency = db.execute("INSERT INTO agencies (name) VALUES ('Schema test') RETURNING id")
    agency_id = agency.fetchone()["id"]
    db.execute("CREATE TEMP TABLE item_serials (item_id uuid, serial_norm text, "
               "manufacturer_key text)")  # fmt: skip
    try:
        item = db.execute(
            "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category, "
            "serial_number, serial_norm, recorded_by_agency_id) VALUES ('FN Herstal', "
            "'FNHERSTAL', 'FAL', 'FAL', 'RIFLE', 'SCH-1', 'SCH1', %s) RETURNING id",
            [agency_id],
        ).fetchone()["id"]
        shadowed = db.execute("SELECT count(*) AS n FROM pg_temp.item_serials").fetchone()["n"]
    finally:
        db.execute("DROP TABLE pg_temp.item_serials")

    assert shadowed == 0
    found = db.execute("SELECT item_id FROM item_serials WHERE serial_norm = 'SCH1'").fetchall()
    assert found == [{"item_id": item}]


def test_trace_answers_are_compressed_with_lz4_where_the_server_has_it(db: Connection) -> None:
    try:
        with db.transaction():
            db.execute("CREATE TEMP TABLE lz4_probe (a text COMPRESSION lz4) ON COMMIT DROP")
        has_lz4 = True
    except psycopg.errors.FeatureNotSupported:
        has_lz4 = False
    row = db.execute(
        "SELECT attcompression FROM pg_attribute "
        "WHERE attrelid = 'traces'::regclass AND attname = 'answer'"
    ).fetchone()

    assert row is not None
    assert row["attcompression"] == ("l" if has_lz4 else "")
