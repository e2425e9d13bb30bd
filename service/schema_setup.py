"""Applying `schema.sql`: once, whole, and safely when several processes start together.

The database records the schema version and a SHA-256 fingerprint of the schema.sql it was set
up from. A database set up from another schema.sql is refused with a clear message (at start-up,
by `trace-registry db init`), rather than failing request by request later.
"""

from __future__ import annotations

import contextlib
import hashlib

from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from service.bundled import bundled_text
from service.db import Connection

SCHEMA_VERSION = 1
# The group role schema.sql grants the service's privileges to.
SERVICE_GROUP_ROLE = "trace_registry_service"

# Any fixed number: every process that sets up the schema takes this lock first.
_SCHEMA_LOCK_KEY = 7_214_305_118


class SchemaMismatch(RuntimeError):
    """The database holds another schema than this code's schema.sql."""


def fingerprint() -> str:
    """SHA-256 of the schema.sql this code carries."""
    return hashlib.sha256(bundled_text("schema.sql").encode()).hexdigest()


def installed_version(conn: Connection) -> int | None:
    """The schema version recorded in the database, or None for a database without the schema."""
    found = installed(conn)
    return None if found is None else found[0]


def installed(conn: Connection) -> tuple[int, str] | None:
    """(version, fingerprint) recorded in the database, or None."""
    present = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL AS present").fetchone()
    if present is None or not present["present"]:
        return None
    row = conn.execute(
        "SELECT version, fingerprint FROM schema_version ORDER BY version DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (row["version"], row["fingerprint"])


def ensure_schema(conn: Connection) -> bool:
    """Apply the schema if the database has none; True when it was applied now."""
    expected = fingerprint()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK_KEY])
        found = installed(conn)
        if found == (SCHEMA_VERSION, expected):
            return False
        if found is not None:
            version, recorded = found
            raise SchemaMismatch(
                f"the database holds schema version {version} ({recorded[:12]}), this code's "
                f"schema.sql is version {SCHEMA_VERSION} ({expected[:12]}): migrate the "
                "database, or start from an empty one"
            )
        conn.execute(bundled_text("schema.sql").encode())
        conn.execute(
            "INSERT INTO schema_version (version, fingerprint) VALUES (%s, %s)",
            [SCHEMA_VERSION, expected],
        )
    return True


def service_role_of(database_url: str) -> str | None:
    """The role a connection string logs in as, when it names one."""
    user = conninfo_to_dict(database_url).get("user")
    return str(user) if user else None


def ensure_service_role(conn: Connection, service_url: str) -> str | None:
    """Make the login role of `service_url` a member of the service group (creating it, with
    the connection string's password, if it does not exist). Nothing to do, and None, when the
    service logs in as the owner itself. Run as the owner, after ensure_schema."""
    role = service_role_of(service_url)
    row = conn.execute("SELECT current_user AS owner").fetchone()
    if role is None or row is None or role == row["owner"]:
        return None
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    if exists is None:
        password = conninfo_to_dict(service_url).get("password")
        statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role))
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        # Roles belong to the cluster: another database's set-up may create it at the same time.
        with contextlib.suppress(errors.DuplicateObject, errors.UniqueViolation):
            conn.execute(statement)
    with conn.transaction():
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(SERVICE_GROUP_ROLE), sql.Identifier(role)
            )
        )
    return role
