"""What a request reaches through Flask: the process's runtime, its database connection, and the
agency whose key authenticated it."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, g

from service.api.overtime import Overtime, Watch
from service.config import Settings
from service.db import Connection, Database
from service.domain.manufacturers import Directory
from service.domain.records import AgencyRef
from service.recording import Recorder
from service.repository import agencies, manufacturers

_EXTENSION = "trace_registry"


# Reference data changes with the schema, not with requests; a worker rereads it now and then.
REFERENCE_DATA_SECONDS = 300.0


@dataclass
class Runtime:
    """Per-process state: settings, the pool, and reference data read once."""

    settings: Settings
    database: Database
    overtime: Overtime
    countries: frozenset[str] | None = field(default=None)
    manufacturers: Directory | None = field(default=None)
    manufacturers_read_at: float = field(default=0.0)


@dataclass(frozen=True)
class Principal:
    """The caller: an agency, through one of its keys."""

    agency: AgencyRef
    key_prefix: str
    scopes: frozenset[str]


def install(app: Flask, runtime: Runtime) -> None:
    app.extensions[_EXTENSION] = runtime
    app.teardown_appcontext(_release_connection)


def runtime() -> Runtime:
    value: Runtime = current_app.extensions[_EXTENSION]
    return value


def settings() -> Settings:
    return runtime().settings


def mark_start() -> None:
    """The request's work begins (service.api.auth.requires, before the key is checked)."""
    g.started_at = time.monotonic()


def seconds_since_start() -> float:
    """How long the request has run since mark_start: a budget counts from its arrival, not
    from when the view began (the key's check, an Idempotency-Key's wait for an earlier
    request holding it)."""
    return time.monotonic() - _started_at()


def _started_at() -> float:
    """When the request's work began (mark_start; now, for a request that did not mark it)."""
    started: float = g.get("started_at", time.monotonic())
    return started


def arrived_at() -> datetime:
    """When the request came (mark_start), by the wall clock."""
    return datetime.now(UTC) - timedelta(seconds=seconds_since_start())


def connection() -> Connection:
    """The request's connection, taken from the pool on first use and returned at teardown."""
    if "db_connection" not in g:
        # In g first, so that teardown gives the connection back whatever fails after.
        g.db_stack = stack = ExitStack()
        state = runtime()
        conn = stack.enter_context(state.database.connection())
        # Released (callbacks run last in, first out) before the connection goes back.
        g.overtime_watch = watch = state.overtime.watch(conn, _started_at())
        stack.callback(_given_back, state.overtime, watch, conn)
        g.db_connection = conn
    shared: Connection = g.db_connection
    return shared


def _given_back(overtime: Overtime, watch: Watch, conn: Connection) -> None:
    """The request is over: its watch released, and its connection closed if the deadline cut
    it (the pool discards a closed one; one idle when cut read to the pool as sound, and the
    next request failed on it)."""
    overtime.release(watch)
    if watch.late:
        conn.close()


def ran_late() -> bool:
    """Whether the request ran past its deadline (service.api.overtime): its connection cut."""
    watch: Watch | None = g.get("overtime_watch")
    return watch is not None and watch.late


def known_countries() -> frozenset[str]:
    """ISO codes from the countries table, read once per process."""
    state = runtime()
    if state.countries is None:
        state.countries = frozenset(agencies.known_countries(connection()))
    return state.countries


def manufacturer_directory() -> Directory:
    """The manufacturers and their names, read at most every REFERENCE_DATA_SECONDS."""
    state = runtime()
    now = time.monotonic()
    if state.manufacturers is None or now - state.manufacturers_read_at > REFERENCE_DATA_SECONDS:
        state.manufacturers = manufacturers.directory(connection())
        state.manufacturers_read_at = now
    return state.manufacturers


def recorder() -> Recorder:
    """The caller's agency recording facts (with the derived data they change)."""
    caller = principal()
    return Recorder(
        connection(),
        caller.agency.id,
        settings().euc_verification_days,
        administrator="registry:admin" in caller.scopes,
    )


def principal() -> Principal:
    caller: Principal = g.principal
    return caller


def _release_connection(_: BaseException | None) -> None:
    stack: ExitStack | None = g.pop("db_stack", None)
    g.pop("db_connection", None)
    if stack is not None:
        stack.close()
