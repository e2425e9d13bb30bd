"""Fixtures that build on each other: a PostgreSQL server -> a template database holding the
schema -> a fresh database cloned from it for each test -> the app -> an authenticated client
whose every response is checked against openapi.yaml.

The server is the embedded PostgreSQL 18 unless TEST_DATABASE_URL names another (any database on
a server where that role may CREATE DATABASE; for example the machine's PostgreSQL 15).
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from psycopg.conninfo import make_conninfo

from service import create_app, embedded
from service.config import Settings
from service.db import Connection, connect
from service.domain import api_keys
from service.domain.records import AgencyRef
from service.embedded import SERVICE_ROLE
from service.repository import agencies
from service.schema_setup import ensure_schema, ensure_service_role
from tests import clusters
from tests.contract import ContractClient
from tests.paths import ROOT  # noqa: F401

_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A URL on which the tests may create and drop databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    data_dir = clusters.new_cluster_dir()
    server = embedded.start(data_dir, cleanup="delete")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


def database_url_for(admin_url: str, name: str) -> str:
    return make_conninfo(admin_url, dbname=name)


def service_url_for(owner_url: str) -> str:
    """The same database as the service's own role (a member of trace_registry_service): the
    app under test has exactly the privileges it has in production."""
    return make_conninfo(owner_url, user=SERVICE_ROLE)


def pointers(response: Any) -> set[str]:
    """The JSON pointers a problem document's errors name."""
    return {error["pointer"] for error in response.get_json()["errors"]}


def rows_in(db: Connection, table: str) -> int:
    """How many rows the table holds."""
    query = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
    row = db.execute(query).fetchone()
    assert row is not None
    return int(row["n"])


def waits_for_lock(watcher: Connection, waiter: Connection, holder: Connection) -> bool:
    """Whether `waiter`'s backend comes to wait for a lock `holder`'s backend holds, within
    10 s (`watcher`, a third connection in autocommit, sees fresh activity at each look)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT %(holder)s = ANY (pg_blocking_pids(%(waiter)s)) AS blocked",
            {"waiter": waiter.info.backend_pid, "holder": holder.info.backend_pid},
        ).fetchone()
        if row is not None and row["blocked"]:
            return True
        time.sleep(0.02)
    return False


def second_waits_for_first(
    settings: Settings,
    first: Callable[[Connection], object],
    second: Callable[[Connection], object],
    while_waiting: Callable[[Connection, int], object] = lambda watcher, pid: None,
) -> None:
    """Run `first` in a transaction left open while `second` runs on another connection (in a
    thread): `second` must come to wait for a lock `first` took, and finish once it commits.
    `while_waiting(watcher, pid)` may look at the waiting backend meanwhile."""
    with connect(settings) as one, connect(settings) as other, connect(settings) as watcher:
        finished = threading.Event()

        def run_second() -> None:
            second(other)
            finished.set()

        with one.transaction():
            first(one)
            thread = threading.Thread(target=run_second)
            thread.start()
            assert waits_for_lock(watcher, other, one)
            assert not finished.is_set()  # waiting for the first to commit
            while_waiting(watcher, other.info.backend_pid)
        thread.join(timeout=10)
    assert finished.is_set()


def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(statement)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_database(postgres_admin_url: str) -> Iterator[str]:
    """A database with schema.sql applied, cloned for each test (~40 ms a clone)."""
    name = f"trace_registry_template_{os.getpid()}"
    drop_database(postgres_admin_url, name)
    create_database(postgres_admin_url, name)
    owner_url = database_url_for(postgres_admin_url, name)
    with connect(Settings(database_url=owner_url)) as conn:
        ensure_schema(conn)
        ensure_service_role(conn, service_url_for(owner_url))
    yield name
    drop_database(postgres_admin_url, name)


@pytest.fixture
def database_url(postgres_admin_url: str, template_database: str) -> Iterator[str]:
    """A fresh database holding the schema and nothing else."""
    name = f"trace_registry_test_{os.getpid()}_{next(_database_numbers)}"
    create_database(postgres_admin_url, name, template=template_database)
    yield database_url_for(postgres_admin_url, name)
    drop_database(postgres_admin_url, name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, pool_min_size=1, pool_max_size=2)


@pytest.fixture
def db(settings: Settings) -> Iterator[Connection]:
    """A direct connection to the test's database (autocommit, dict rows)."""
    with connect(settings) as conn:
        yield conn


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    yield from app_on(database_url, pool_min_size=1)


def app_on(database_url: str, **config: Any) -> Iterator[Flask]:
    """The app on the test database (a pool of 2 unless told), closed after the test."""
    application = create_app(
        {
            "database_url": service_url_for(database_url),
            "database_owner_url": database_url,
            "pool_max_size": 2,
            **config,
        }
    )
    yield application
    application.extensions["trace_registry"].database.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def create_agency_key(
    conn: Connection,
    agency_name: str,
    scopes: tuple[str, ...] = api_keys.DEFAULT_SCOPES,
    country: str | None = None,
) -> tuple[AgencyRef, str]:
    """An agency (created if new, in `country`) and a fresh key for it, as the CLI makes
    them."""
    key = api_keys.generate_key()
    with conn.transaction():
        agency, _ = agencies.ensure_agency(conn, agency_name, country)
        agencies.insert_api_key(conn, agency.id, key.prefix, key.secret_hash, scopes)
    return agency, key.plaintext


@pytest.fixture
def agency_key(db: Connection) -> tuple[AgencyRef, str]:
    return create_agency_key(db, "National Tracing Office")


@pytest.fixture
def api(client: FlaskClient, agency_key: tuple[AgencyRef, str]) -> ContractClient:
    """A client authenticated as the National Tracing Office, checking every answer against
    openapi.yaml."""
    return ContractClient(client, agency_key[1])


@pytest.fixture
def other_api(client: FlaskClient, db: Connection) -> ContractClient:
    """A second agency's client."""
    return ContractClient(client, create_agency_key(db, "Border Police Directorate")[1])


@pytest.fixture
def registry(api: ContractClient) -> Any:
    """Helpers that record the usual records through the API."""
    from tests.builders import RegistryBuilder

    return RegistryBuilder(api)
