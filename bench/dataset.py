"""The benchmark's database: BENCH_DATABASE_URL, or an embedded PostgreSQL in bench/data/ holding
one database per data set (`bench_<items>_s<seed>`), built once with `trace-registry seed --items`
and reused by later runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
from psycopg.rows import dict_row

from bench.workload import Weapon
from service import embedded
from service.domain import matching
from service.schema_setup import fingerprint as schema_fingerprint
from service.seed import synthetic

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / "data"
# The benchmark's own objects (the pgbench sample) live apart from the registry's tables.
SAMPLE_TABLE_DDL = (
    "CREATE SCHEMA IF NOT EXISTS bench",
    "DROP TABLE IF EXISTS bench.serials",
    "CREATE TABLE bench.serials (n integer PRIMARY KEY, serial_norm text NOT NULL, "
    "serial_skeleton text NOT NULL, serial_ncic text NOT NULL, as_marked text NOT NULL, "
    "manufacturer_key text NOT NULL, model_key text NOT NULL)",
)
# The serial as marked (an exact trace's reading) and the item's maker and model, as the service
# passes them to traces.strong_candidates (the load's traces name both).
INSERT_SAMPLE = """
    INSERT INTO bench.serials
    SELECT %(n)s, %(serial_norm)s, %(serial_skeleton)s, %(serial_ncic)s, i.serial_number,
           i.manufacturer_key, i.model_key
    FROM items i
    WHERE i.serial_norm = %(serial_norm)s AND i.serial_number = %(as_marked)s
    LIMIT 1
"""
SAMPLE = """
    SELECT serial_number, serial_norm, manufacturer, model, category
    FROM items TABLESAMPLE BERNOULLI (%(percent)s) REPEATABLE (%(seed)s)
    WHERE recorded_by_agency_id = (SELECT id FROM agencies WHERE name = %(agency)s)
    LIMIT %(limit)s
"""
PRESENT = """
    SELECT to_regclass('items') IS NOT NULL AS items,
           to_regclass('bench.dataset') IS NOT NULL AS built
"""
BUILT = "SELECT items, seed, schema_sha256 FROM bench.dataset"
# What the data set was built from, so that a later run can tell it is stale.
RECORD_BUILD = (
    "CREATE SCHEMA IF NOT EXISTS bench",
    "CREATE TABLE IF NOT EXISTS bench.dataset (items bigint NOT NULL, seed integer NOT NULL, "
    "schema_sha256 text NOT NULL, built_at timestamptz NOT NULL DEFAULT now())",
    "DELETE FROM bench.dataset",
)
INSERT_BUILD = "INSERT INTO bench.dataset (items, seed, schema_sha256) VALUES (%s, %s, %s)"
HOLDINGS = """
    SELECT (SELECT count(*) FROM items) AS items,
           (SELECT count(*) FROM items i JOIN agencies a ON a.id = i.recorded_by_agency_id
            WHERE a.name = %(agency)s) AS synthetic_items
"""
FACTS = """
    SELECT current_setting('server_version') AS server_version,
           current_setting('shared_buffers') AS shared_buffers,
           current_setting('max_connections') AS max_connections,
           pg_size_pretty(pg_database_size(current_database())) AS database_size,
           (SELECT count(*) FROM items) AS items,
           (SELECT count(*) FROM custody_events) AS events,
           (SELECT count(*) FROM custody_event_items) AS event_items,
           (SELECT count(*) FROM parties) AS parties,
           (SELECT count(*) FROM end_user_certificates) AS eucs
"""


class DatasetError(RuntimeError):
    """The database holds something else than the data set asked for."""


@dataclass(frozen=True)
class Database:
    url: str
    embedded: bool
    data_dir: Path | None
    # the embedded server's maintenance database, from which a stale data set is dropped
    admin_url: str | None = None


@contextmanager
def database(items: int, seed: int) -> Iterator[Database]:
    """BENCH_DATABASE_URL, or the embedded server (kept running until the benchmark ends)."""
    configured = os.environ.get("BENCH_DATABASE_URL")
    if configured:
        yield Database(configured, False, None)
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells) and uses /tmp: harmless.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        server = embedded.start(DATA_DIR)
    try:
        url = embedded.database_url(server, f"bench_{items}_s{seed}")
        yield Database(url, True, DATA_DIR, str(server.get_uri()))
    finally:
        server.cleanup()


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def ensure(db: Database, items: int, seed: int) -> float | None:
    """Build the data set unless the database holds it, made from today's schema.sql; returns
    the build's seconds, or None when the data set was reused."""
    state = _state(db.url, items, seed)
    if state == "ready":
        return None
    if state == "stale" and migrated(db.url):
        return None
    if state == "stale":
        if db.admin_url is None:
            raise DatasetError(
                "the data set in BENCH_DATABASE_URL was built from another schema.sql; "
                "drop it (or point at an empty database) to rebuild it"
            )
        print("schema.sql has changed since the data set was built: rebuilding it", flush=True)
        _recreate(db.admin_url, db.url)
    seconds = build(db.url, items, seed)
    with connect(db.url) as conn, conn.transaction():
        for statement in RECORD_BUILD:
            conn.execute(statement)
        conn.execute(INSERT_BUILD, (items, seed, schema_fingerprint()))
    return seconds


def migrated(url: str) -> bool:
    """The data set's schema brought to today's by its migrations (`trace-registry db init`),
    when it was built from a schema.sql that a version had; False when it cannot be."""
    started = time.perf_counter()
    done = _command(url, "db", "init", capture_output=True, text=True)
    if done.returncode != 0:
        print(f"schema.sql has changed since the data set was built: {done.stderr.strip()}")
        return False
    with connect(url) as conn:
        conn.execute("UPDATE bench.dataset SET schema_sha256 = %s", [schema_fingerprint()])
    seconds = time.perf_counter() - started
    print(f"the data set's schema: {done.stdout.strip()} ({seconds:.1f} s)", flush=True)
    return True


def _state(url: str, items: int, seed: int) -> str:
    """empty, ready (this data set, this schema), stale (this data set, another schema)."""
    agency = synthetic.agency_name(seed)
    with connect(url) as conn:
        found = conn.execute(PRESENT).fetchone()
        if not (found and found["items"]):
            return "empty"
        holdings = conn.execute(HOLDINGS, {"agency": agency}).fetchone()
        built = conn.execute(BUILT).fetchone() if found["built"] else None
    if not (holdings and holdings["synthetic_items"] == holdings["items"] == items):
        count = holdings["items"] if holdings else 0
        raise DatasetError(
            f"the database holds {count:,} items, not only the {items:,}-item data set of "
            f"seed {seed}; point BENCH_DATABASE_URL at an empty database, or pick the matching "
            "--items/--seed"
        )
    return "ready" if built and built["schema_sha256"] == schema_fingerprint() else "stale"


def _recreate(admin_url: str, url: str) -> None:
    recreate(admin_url, database_name(url))


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def recreate(admin_url: str, name: str, template: str | None = None) -> None:
    """The database `name` made anew (dropped first if it exists, whoever is connected to it):
    empty, or a copy of `template` (to which nobody may be connected). The copy's files are
    copied between two checkpoints (FILE_COPY, 2-4 s for the 1,000,000-item data set): the
    default since PostgreSQL 15 (WAL_LOG) writes the whole data set to the WAL (11 s), and the
    checkpoints that so much WAL asks for then run during the loads that follow."""
    identifier = psycopg.sql.Identifier(name)
    create = psycopg.sql.SQL("CREATE DATABASE {}").format(identifier)
    if template is not None:
        create = psycopg.sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(
            create, psycopg.sql.Identifier(template)
        )
    with connect(admin_url) as conn:
        drop(conn, name)
        conn.execute(create)


@contextmanager
def copy_of(db: Database, name: str) -> Iterator[str]:
    """A copy of the data set (`CREATE DATABASE ... TEMPLATE`; nobody may be connected to it),
    dropped at the end, so that what a run stores (its traces, audit entries, keys and
    imports) is never in the data set the next run reuses. BENCH_DATABASE_URL cannot be
    copied: the run then works on the data set itself."""
    if db.admin_url is None:
        yield db.url
        return
    started = time.perf_counter()
    recreate(db.admin_url, name, template=database_name(db.url))
    print(f"copied the data set to {name} ({time.perf_counter() - started:.1f} s)", flush=True)
    try:
        yield psycopg.conninfo.make_conninfo(db.url, dbname=name)
    finally:
        with connect(db.admin_url) as admin:
            drop(admin, name)


def drop(admin: psycopg.Connection[Any], name: str) -> None:
    identifier = psycopg.sql.Identifier(name)
    admin.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))


def build(url: str, items: int, seed: int) -> float:
    """`trace-registry seed --items N --seed S`, its progress shown as it goes."""
    print(f"building the data set: trace-registry seed --items {items} --seed {seed}", flush=True)
    started = time.perf_counter()
    _command(url, "seed", "--items", str(items), "--seed", str(seed), check=True)
    return time.perf_counter() - started


def _command(url: str, *args: str, **run: Any) -> subprocess.CompletedProcess[Any]:
    """`trace-registry ARGS` on the data set's database."""
    # The owner too: one named in the environment would be another database's.
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": url}
    command = [sys.executable, "-m", "service.cli", *args]
    return subprocess.run(command, env=env, cwd=ROOT, timeout=3600, **run)


def sample(url: str, seed: int, size: int) -> list[Weapon]:
    """`size` items drawn evenly from the data set (the same ones on every run)."""
    with connect(url) as conn:
        row = conn.execute("SELECT count(*) AS n FROM items").fetchone()
        total = row["n"] if row else 0
        percent = min(100.0, 300.0 * size / max(total, 1))
        found = conn.execute(
            SAMPLE,
            {
                "percent": percent,
                "seed": seed,
                "agency": synthetic.agency_name(seed),
                "limit": size,
            },
        ).fetchall()
    return [Weapon(**row) for row in found]


def store_sample(url: str, weapons: list[Weapon]) -> None:
    """The exact serials as bench.serials (n = 1..count), which the pgbench scripts draw from,
    in the forms the trace's strong tiers compare (service.domain.matching)."""
    rows = [
        {
            "n": n,
            "serial_norm": w.serial_norm,
            "serial_skeleton": matching.skeleton(w.serial_norm),
            "serial_ncic": matching.ncic(w.serial_norm),
            "as_marked": w.serial_number,
        }
        for n, w in enumerate(weapons, start=1)
    ]
    with connect(url) as conn, conn.transaction():
        for statement in SAMPLE_TABLE_DDL:
            conn.execute(statement)
        with conn.cursor() as cursor:
            cursor.executemany(INSERT_SAMPLE, rows)
        stored = conn.execute("SELECT count(*) AS n FROM bench.serials").fetchone()
        if not stored or stored["n"] != len(rows):
            raise DatasetError("a sampled serial was not found again among the items")
        conn.execute("ANALYZE bench.serials")


def facts(url: str) -> dict[str, Any]:
    """The server and the data set, for the report."""
    with connect(url) as conn:
        row = conn.execute(FACTS).fetchone()
    return dict(row) if row else {}
