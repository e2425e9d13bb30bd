"""PostgreSQL access: one connection pool per process, and the one place where database errors
become the project's own exceptions.

Gunicorn forks its workers before `create_app()` runs in each of them (no `--preload`), so every
worker opens its own pool after the fork. Connections are long-lived so that psycopg's automatic
server-side prepare pays off on the hot paths. They run in autocommit mode: a read is one statement,
and every write is wrapped in `conn.transaction()` by the repository.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from service.config import Settings
from service.domain import custody
from service.errors import (
    DatabaseUnavailable,
    Duplicate,
    FieldError,
    InvalidInput,
    LedgerViolation,
    StateConflict,
    TraceRegistryError,
    UnknownReference,
)

Connection = psycopg.Connection[DictRow]
LEDGER_SQLSTATE = "TRL01"
# pg_trgm's threshold for `%` (near-miss traces). At 0.3 a near-miss search on 1,000,000
# mostly numeric serials takes about 9 ms and finds a serial within two edits for 96% of
# readings; the rest are searched again at NEAR_MISS_WIDE_SIMILARITY (0.2: 47 ms, all of them).
NEAR_MISS_SIMILARITY = 0.3
NEAR_MISS_WIDE_SIMILARITY = 0.2

log = logging.getLogger(__name__)
# A statement cancelled by its timeout, or a request's by its deadline (service.api.overtime).
TOOK_TOO_LONG = "the database took too long to answer"

# json/jsonb columns (chain entries carry several) and Jsonb parameters through orjson: the
# standard library's json took a twentieth of a trace's CPU.
set_json_loads(orjson.loads)
set_json_dumps(orjson.dumps)


def connection_kwargs(settings: Settings) -> dict[str, object]:
    """Session settings every connection of the service uses."""
    return {
        "autocommit": True,
        "row_factory": dict_row,
        "connect_timeout": settings.connect_timeout_seconds,
        "application_name": "trace-registry",
        # Generic plans: every query of the service is a lookup by key or index whose best plan
        # does not depend on the values; PostgreSQL's default re-plans each execution of a
        # prepared statement for a while, which cost 2-4 ms a chain query (see bench/README.md).
        # No JIT: the chain query's cost estimate for a batch of items made PostgreSQL 15
        # compile it each time (1.5 s of LLVM for a 0.1 s query); lookups never gain from it.
        "options": (
            f"-c TimeZone=UTC -c statement_timeout={settings.statement_timeout_ms}"
            f" -c pg_trgm.similarity_threshold={NEAR_MISS_SIMILARITY}"
            " -c plan_cache_mode=force_generic_plan -c jit=off"
        ),
    }


def connect(settings: Settings, *, as_owner: bool = False) -> Connection:
    """A single connection outside any pool (CLI commands, schema set-up), as the service's
    role or as the schema owner."""
    url = settings.owner_url if as_owner else settings.database_url
    try:
        return psycopg.connect(url, **connection_kwargs(settings))  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {_first_line(exc)}") from exc


class Database:
    """The process's connection pool. `check` runs on each connection the pool opens (once per
    connection, which lives long, not per request); a connection it raises on is not used, and
    the pool tries again later."""

    def __init__(
        self, settings: Settings, check: Callable[[Connection], None] | None = None
    ) -> None:
        self.settings = settings
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout=settings.pool_timeout_seconds,
            kwargs=connection_kwargs(settings),
            # No check round trip on every checkout (it cost a tenth of a trace's CPU): a
            # connection a database restart broke fails its request with a 503 and Retry-After,
            # and the pool, finding it broken when it is returned, replaces it.
            reconnect_timeout=60,
            name="trace-registry",
            configure=check,
            open=False,
        )

    def open(self) -> None:
        # Do not wait: a worker must start (and answer 503) even while PostgreSQL is down.
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection; pool exhaustion or an unreachable server is DatabaseUnavailable.

        Given back to the pool as it is, with no COMMIT (which pool.connection() would send): in
        autocommit mode there is nothing to commit, and on a connection the server dropped in
        the middle of a pipeline, the COMMIT raised from the request's teardown, after its 503
        was made, and gunicorn answered 500. The pool closes a connection it cannot reset."""
        try:
            conn = self.pool.getconn()
        except PoolTimeout as exc:
            raise DatabaseUnavailable("no database connection became available in time") from exc
        try:
            yield conn
        finally:
            self.pool.putconn(conn)


def delete_in_batches(
    conn: Connection, query: str, params: dict[str, object], batch: int
) -> Iterator[int]:
    """Run a DELETE of at most `batch` rows (`query`, given `batch` as a parameter too) until
    one deletes fewer; yields how many each deleted. Each is one statement: on a connection in
    autocommit mode (the worker's), a short transaction of its own, so no lock is held longer."""
    while True:
        deleted = conn.execute(query, {**params, "batch": batch}).rowcount
        yield deleted
        if deleted < batch:
            return


def translate(exc: psycopg.Error) -> TraceRegistryError | None:
    """The project exception for a database error, or None for a bug that must stay a 500."""
    diag = exc.diag
    if isinstance(exc, pg_errors.UniqueViolation):
        constraint = diag.constraint_name or ""
        if constraint in STATE_CONFLICT_MESSAGES:
            return StateConflict(STATE_CONFLICT_MESSAGES[constraint])
        return Duplicate(UNIQUE_MESSAGES.get(constraint, _detail(exc)))
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return UnknownReference(_unknown_reference(exc))
    if exc.sqlstate == LEDGER_SQLSTATE:
        return LedgerViolation(diag.message_primary or str(exc))
    if isinstance(exc, pg_errors.NotNullViolation):
        # The input schemas should have caught this; the database is the last line. Never its
        # detail: "Failing row contains (...)" spells out the whole row, a webhook's secret too.
        column = diag.column_name or ""
        return InvalidInput(
            "a required value is missing", [FieldError("body", column, "a value is required")]
        )
    if isinstance(exc, pg_errors.CheckViolation):
        rule = diag.constraint_name or "a check"
        log.warning("an input broke a database rule the schemas let through: %s", rule)
        return InvalidInput(
            "a value breaks one of the registry's rules",
            [FieldError("body", "", f"a value breaks the registry's rule {rule}")],
        )
    if isinstance(exc, psycopg.DataError):
        # Class 22 (and psycopg's own refusal of NUL bytes): a value that cannot be stored.
        return InvalidInput(f"a value cannot be stored: {_detail(exc)}")
    if isinstance(exc, pg_errors.QueryCanceled):
        return DatabaseUnavailable(TOOK_TOO_LONG)
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        # A deployment whose service role lacks a grant (schema.sql's "Roles" section): nothing
        # the caller did wrong, and nothing the service may work around.
        log.error("the service's database role lacks a privilege: %s", _first_line(exc))
        return DatabaseUnavailable("the registry cannot complete this request now")
    if (exc.sqlstate or "").startswith("40"):
        # A deadlock or a serialization failure (class 40, which psycopg files under
        # OperationalError): the database is there, and the request, rolled back whole, may
        # simply be sent again.
        return DatabaseUnavailable(
            "the request collided with another and was rolled back, storing nothing: send it again"
        )
    if isinstance(exc, psycopg.OperationalError):
        # The server's own words go to the log, not to the client: they may name the database's
        # host and port, or its limits ("too many clients already").
        log.warning("the database is unreachable: %s", _first_line(exc))
        return DatabaseUnavailable("the database is unreachable")
    return None


UNIQUE_MESSAGES = {
    "items_identity": "an item with this serial number, manufacturer and model is already recorded",
    "parties_registration_unique": "a party with this registration number is already recorded "
    "in this country",
    "parties_registration_unique_per_agency": "your agency has already recorded a party with "
    "this registration number in this country",
    "end_user_certificates_issuing_country_certificate_key_key": "a certificate with this number "
    "is already recorded for this issuing country",
    "euc_revocations_one_standing": "this certificate has already been revoked: withdraw that "
    "revocation first if it was recorded in error",
    "euc_revocation_withdrawals_revocation_id_key": "this revocation has already been withdrawn",
    "agencies_name_key": "an agency with this name already exists",
    "agencies_name_as_read": "an agency whose name reads as this one, but for its direction marks "
    "or joiners, already exists",
}

# Unique indexes behind a rule the domain checks first, as a state conflict: only a request
# racing another meets the index, and it must be answered as the one that came second would be.
STATE_CONFLICT_MESSAGES = {
    "event_error_declarations_event_id_key": custody.ALREADY_DECLARED,
}

# A reference that names nothing, as the client sent it: by the check that refused it (schema.sql,
# "References within the ledger", and the foreign keys). Never the database's detail, which
# names the tables behind the API ('Key (to_party_id)=(...) is not present in table "parties".').
REFERENCE_MESSAGES = {
    "custody_events_from_party_id_ref": "from_party_id names no recorded party",
    "custody_events_to_party_id_ref": "to_party_id names no recorded party",
    "custody_events_owner_party_id_ref": "owner_party_id names no recorded party",
    "custody_events_euc_id_ref": "euc_id names no recorded end-user certificate",
    "custody_events_euc_line_ref": "euc_line_number names no line of the certificate (euc_id)",
    "custody_event_items_item_id_ref": "item_ids names an item that is not recorded",
    "end_user_certificates_exporter_party_id_ref": "exporter_party_id names no recorded party",
    "end_user_certificates_end_user_party_id_ref": "end_user_party_id names no recorded party",
    "reexport_consents_new_end_user_party_id_fkey": "new_end_user_party_id names no recorded party",
}


# A foreign key's detail, which the reference triggers copy (schema.sql, "References within the
# ledger"): `Key (euc_id, euc_line_number)=(..., 2) is not present in table "euc_line_items".`
_MISSING_KEY = re.compile(
    r'Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) is not present in table "(?P<table>[^"]+)"\.'
)
# What the tables referred to hold, as a client calls them.
_RECORD_NOUNS = {
    "parties": "party",
    "items": "item",
    "end_user_certificates": "end-user certificate",
    "euc_line_items": "certificate line",
    "custody_events": "custody event",
    "reexport_consents": "re-export consent",
    "delivery_verifications": "delivery verification",
    "countries": "country",
    "agencies": "agency",
    "imports": "import",
}


def _unknown_reference(exc: psycopg.Error) -> str:
    """What the request named that is not recorded, in the request's own field names: never the
    database's text, which names its tables ("... is not present in table "euc_line_items"").
    By the check that refused it (REFERENCE_MESSAGES), else worded from the detail's fields."""
    named = REFERENCE_MESSAGES.get(exc.diag.constraint_name or "")
    if named is not None:
        return named
    found = _MISSING_KEY.fullmatch(exc.diag.message_detail or "")
    if found is None:
        return "a record this request refers to is not recorded"
    columns, values = found["columns"].split(", "), found["values"].split(", ")
    noun = _RECORD_NOUNS.get(found["table"], "record")
    if len(columns) != len(values):  # a value that holds ", " itself: name the fields only
        return f"no {noun} is recorded with the {' and '.join(columns)} given"
    given = " and ".join(f"{column} {value}" for column, value in zip(columns, values, strict=True))
    return f"no {noun} is recorded with {given}"


def _detail(exc: psycopg.Error) -> str:
    diag = exc.diag
    return diag.message_detail or diag.message_primary or _first_line(exc)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
