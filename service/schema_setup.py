"""Setting up the schema: `schema.sql` on an empty database, the migrations on an older one;
once, whole, and safely when several processes start together.

The database records each schema version it was brought to, with a SHA-256 fingerprint of the
schema.sql of that version. An empty database gets schema.sql whole, at the current version. A
database at an earlier version gets the migrations after it (`service/sql/migrations/NNNN_*.sql`,
one per version), in order, in one transaction: either it reaches the current version or it
stays as it was. A database this code does not know (a later version, or a fingerprint no
version had) is refused with a clear message, rather than failing request by request later.

The database also records the Unicode version its keys were folded under (key_folding: the
interpreter's unicodedata.unidata_version when schema.sql is applied, 14.0.0 for a database
migrated from version 11). require_keys_folded_alike refuses one of another version than this
interpreter's (FoldedUnderAnotherUnicode): a key folded here would miss the records keyed there.

Migrating a database and applying schema.sql to an empty one give the same schema: the tests
compare the two catalogues (tests/integration/test_migrations.py), from the version-1 schema.sql
kept in tests/data.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from service.bundled import bundled_text
from service.db import Connection
from service.repository import key_folding, settings

# The fingerprint of schema.sql at each version. A change to schema.sql is a new version: its
# migration in service/sql/migrations, and its fingerprint here (a test says which).
FINGERPRINTS = {
    # schema.sql of 2026-12-05 11:32 UTC (450ca33) to 21:31 UTC
    1: "9d7b6849aea416cb6e728b480e69bfc00e8d116b2a8c87171bb2bf4b8c6c92e3",
    # from 2026-12-05 21:31 UTC (ac736c4): migration 0002
    2: "7c27207593a8c84fc78f691468b24d3e67d9b877886d8307afb925b084ce12a6",
    # from 2026-12-06: migration 0003 (a certificate's issue date in chains)
    3: "790d1ecfd2bd1720ccf2c157e399fb0b6864b06f7b1c2e34c803f20328912da0",
    # from 2026-12-06: migration 0004 (a revocation recorded in error can be withdrawn)
    4: "d834a8b7d19e51e2ec8b76b9bf119603da7907d4d60764e14d82d2821e7bc5b7",
    # from 2026-12-06: migration 0005 (indexes to purge delivered deliveries and page webhooks)
    5: "f29b56c2ba4995d162f532ce1b77e195a4abbefdb377e71179d3ad70d28b903c",
    # from 2026-12-06: migration 0006 (registration numbers compared by their identity key)
    6: "b373f73f1a99113369d4c22ce76f4fcd0e2eb8e7ccf8b956ae5656799d458761",
    # from 2026-12-06: migration 0007 (quiet clients' tallies named by the worker, an agency's
    # country changed through the API, the references of linked records by record)
    7: "24e3cc372bc57186ba7ce9a4872400fc778af63323d55069ab654af29df2e5e7",
    # from 2026-12-06: migration 0008 (a re-export consent recorded in error can be withdrawn)
    8: "61cb29eeddcaee3af14e636e4d1af6744b2dbe1aaa469566b46bab847f133be7",
    # from 2026-12-06: migration 0009 (an index to page a webhook's deliveries, agencies' names
    # unique as read)
    9: "adc5401c86f103be9526e37facba51f718ab43c1216124dfbfd59a5218bb1406",
    # from 2026-12-06: migration 0010 (keys folded again: modifier letters in serials, names and
    # certificate numbers, registration numbers beyond ASCII; case references and agencies'
    # names stored before the NFC rule)
    10: "ec224d64bb9f373df11b55924180e24b69f8ff8805f7a7594a8ac84c41b6e83d",
    # from 2026-12-06: migration 0011 (webhook deliveries given up, webhooks suspended, their
    # health kept)
    11: "cf25e8d41dccffe4b865243baf947fd6fc38409aace96fc04f16f914ba67454c",
    # from 2026-12-06: migration 0012 (the Unicode version the keys were folded under)
    12: "96673401e5700a8d63745d2cda953fdab83aed061d4e0daf6031853653d49857",
    # from 2026-12-06: migration 0013 (a webhook's abandoned deliveries by an index led by it)
    13: "3a0548beb515b9e3b1c612da38018f71a95fde8d8ec1fa865129300657c3e681",
    # from 2026-12-07: migration 0014 (uuid_v7() parallel unsafe)
    14: "e43f6a7be482851dae177fd58c8693a94f03910c68903d0fd788e50083f92f0f",
    # from 2026-12-07: migration 0015 (references of a statement of many rows checked against
    # a hash of a small table, or once a distinct value; the import's references in "C")
    15: "a53f48e3d70ffbb2e85bb897d711a25cfaf5187c32ad18ccfad2eb9865aff56c",
    # from 2026-12-07: migration 0016 (a correction counted in the place of the export it
    # corrects among a certificate line's exports)
    16: "821d770e1fc336a7bb2ee95047e3640a2533f7eaba2086abe7dacf9498afc40f",
    # from 2026-12-07: migration 0017 (certificate lines held to what they authorise: an export
    # naming no line counted against its certificate's only one; the certificate's exporter and
    # its line's goods in chains)
    17: "f542505e3da3e0ec003c6b5a233414325074ba2a5370666b5943baa0177e5a1f",
    # from 2026-12-07: migration 0018 (a re-export consent's quantity shared out over the items
    # that need it, in the order they moved: consent_shares)
    18: "07697a7a0dd6022b41d8bd60354cda5c4e7e8ebe3829fefcc116f34717684486",
    # from 2026-12-08: migration 0019 (a maker's items carry their skeletons in
    # items_manufacturer, for the near-miss search of a named maker)
    19: "360d2a4bc37acdb7d6d0426388f2aee9cd3eef3772c13e5b085b467a16840503",
    # from 2026-12-08: migration 0020 (item_serials carries each item's model_key, so that the
    # named model's items are kept first when a trigram search finds more than it keeps)
    20: "4c1007116e0535c8582dc95510aedb279a481abfbc2b2f8432c48ad502849a24",
}
SCHEMA_VERSION = max(FINGERPRINTS)
# Databases set up before versions were counted by migrations recorded version 1 whatever their
# schema.sql: (recorded version, fingerprint) -> the version the database really holds.
_RECORDED_BEFORE_MIGRATIONS = {(1, FINGERPRINTS[2]): 2}
# The group role schema.sql grants the service's privileges to.
SERVICE_GROUP_ROLE = "trace_registry_service"

# Any fixed number: every process that sets up the schema takes this lock first.
_SCHEMA_LOCK_KEY = 7_214_305_118
MIGRATION_LOCK_WAIT_SECONDS = 10
_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


class SchemaError(RuntimeError):
    """The database's schema cannot be brought to this code's version."""


class SchemaMismatch(SchemaError):
    """The database holds a schema this code cannot serve or migrate."""


class MigrationFailed(SchemaError):
    """A migration failed; its transaction left the database as it was."""


# The Python of each Unicode version unicodedata has had since 3.11, for a refusal to name.
_PYTHON_OF_UNICODE = {"14.0.0": "3.11", "15.0.0": "3.12", "15.1.0": "3.13"}


class FoldedUnderAnotherUnicode(SchemaMismatch):
    """The stored keys were folded under another Unicode version than this interpreter's: a
    lookup folded here would silently miss the records whose keys fold otherwise."""

    def __init__(self, recorded: str | None, running: str) -> None:
        self.recorded = recorded
        self.running = running
        python = f"this Python ({platform.python_version()}) has Unicode {running}"
        refold = f"fold every key again under Unicode {running}: `trace-registry db refold`"
        if recorded is None:
            super().__init__(
                f"the database records no Unicode version its keys were folded under, and "
                f"{python}: {refold}"
            )
            return
        other = _PYTHON_OF_UNICODE.get(recorded)
        python_of_it = f" (Python {other})" if other else ""
        super().__init__(
            f"the registry's keys were folded under Unicode {recorded}, and {python}: a lookup "
            "would miss the records whose keys fold otherwise. Run trace-registry under a "
            f"Python with Unicode {recorded}{python_of_it}, or {refold}"
        )


class NotYetMigrated(SchemaMismatch):
    """The database is empty or of an earlier version, and this process does not migrate."""

    def __init__(self, found: int | None, init_command: str = "trace-registry db init") -> None:
        self.found = found
        held = "has no schema" if found is None else f"is at schema version {found}"
        super().__init__(
            f"the database {held}, this code's is {SCHEMA_VERSION}: run `{init_command}` first "
            "(the API's start-up does)"
        )


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: str


@dataclass(frozen=True, slots=True)
class SchemaSetUp:
    """What ensure_schema found (None: an empty database) and left (always SCHEMA_VERSION), and
    what the migrations reported on the way (their NOTICEs: the records a migration left as they
    were, for the operator to look at), each after the name of its migration."""

    found: int | None
    now: int = SCHEMA_VERSION
    notices: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        if self.found is None:
            return f"schema version {self.now} applied"
        if self.found == self.now:
            return f"schema version {self.now} already in place"
        return f"schema migrated from version {self.found} to {self.now}"


def fingerprint() -> str:
    """SHA-256 of the schema.sql this code carries."""
    return hashlib.sha256(bundled_text("schema.sql").encode()).hexdigest()


@cache
def migrations() -> tuple[Migration, ...]:
    """Each version after the first, in order, with the SQL that brings the one before it there."""
    found: dict[int, Migration] = {}
    for entry in resources.files("service").joinpath("sql/migrations").iterdir():
        if entry.name.startswith(".") or not entry.name.endswith(".sql"):
            continue  # an editor's swap file, a README
        named = _MIGRATION_NAME.fullmatch(entry.name)
        if named is None:
            raise SchemaError(f"service/sql/migrations/{entry.name}: not NNNN_name.sql")
        version = int(named.group(1))
        if version in found:
            raise SchemaError(f"service/sql/migrations: two migrations to version {version}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return tuple(found[version] for version in sorted(found))


def installed_version(conn: Connection) -> int | None:
    """The schema version recorded in the database, or None for a database without the schema."""
    found = installed(conn)
    return None if found is None else found[0]


def installed(conn: Connection) -> tuple[int, str] | None:
    """(version, fingerprint) recorded last in the database, or None."""
    present = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL AS present").fetchone()
    if present is None or not present["present"]:
        return None
    row = conn.execute(
        "SELECT version, fingerprint FROM schema_version ORDER BY version DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (row["version"], row["fingerprint"])


def held_version(recorded: tuple[int, str]) -> int:
    """The version a database holds, from what it recorded; SchemaMismatch for one this code
    does not know."""
    version, recorded_fingerprint = recorded
    held = _RECORDED_BEFORE_MIGRATIONS.get(recorded, version)
    if held > SCHEMA_VERSION:
        raise SchemaMismatch(
            f"the database holds schema version {held}, later than this code's "
            f"{SCHEMA_VERSION}: run the code that set it up, or a later one"
        )
    if FINGERPRINTS.get(held) != recorded_fingerprint:
        raise SchemaMismatch(
            f"the database holds schema version {version} set up from a schema.sql "
            f"({recorded_fingerprint[:12]}) that no released version had (version {held} is "
            f"{FINGERPRINTS.get(held, '?')[:12]}): it cannot be migrated; start from an empty "
            "database, or from a copy of one a release set up"
        )
    return held


def pending(conn: Connection) -> tuple[int | None, tuple[Migration, ...]]:
    """The version the database holds (None: no schema), and the migrations ensure_schema would
    apply to it; SchemaMismatch for a database this code does not know."""
    recorded = installed(conn)
    if recorded is None:
        return None, ()
    found = held_version(recorded)
    return found, _after(found)


def require_current(conn: Connection) -> None:
    """SchemaMismatch unless the database is at this code's version, its keys folded under this
    interpreter's Unicode: for a process that only uses the schema (the worker), which would
    otherwise fail on its first query of what the migrations add, or miss records."""
    found, to_apply = pending(conn)
    if found is None or to_apply:
        raise NotYetMigrated(found)
    require_keys_folded_alike(conn)


def require_keys_folded_alike(conn: Connection) -> None:
    """FoldedUnderAnotherUnicode unless the stored keys were folded under this interpreter's
    Unicode version (unicodedata.unidata_version). One statement: run it once per connection
    or process, never per request."""
    recorded = key_folding.folded_under(conn)
    if recorded != unicodedata.unidata_version:
        raise FoldedUnderAnotherUnicode(recorded, unicodedata.unidata_version)


def ensure_schema(conn: Connection, *, migrate: bool = True) -> SchemaSetUp:
    """Bring the database to SCHEMA_VERSION: schema.sql on an empty database, the migrations
    after its version on an older one (SchemaMismatch instead unless `migrate`: only `db init`
    migrates, which the operator runs, or the start-up, after a backup), nothing on one already
    there."""
    expected = fingerprint()
    if expected != FINGERPRINTS[SCHEMA_VERSION]:
        raise SchemaMismatch(
            f"schema.sql ({expected[:12]}) is not the schema.sql of version {SCHEMA_VERSION}: "
            "a change to it is a new version, with its migration"
        )
    with conn.transaction():
        # A migration takes as long as its tables make it (an index over every trace), and
        # processes starting beside it wait for it to end rather than fail.
        settings.set_for_transaction(conn, "statement_timeout", "0")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK_KEY])
        recorded = installed(conn)
        if recorded is None:
            try:
                conn.execute(bundled_text("schema.sql").encode())
            except errors.InsufficientPrivilege as exc:
                raise SchemaError(
                    f"schema.sql could not be applied ({_said(exc)}): set "
                    "DATABASE_OWNER_URL to the connection string of the role that is to own the "
                    "schema; nothing was changed"
                ) from exc
            _record(conn, SCHEMA_VERSION)
            key_folding.record(conn, unicodedata.unidata_version)
            return SchemaSetUp(None)
        found = held_version(recorded)
        if found != recorded[0]:
            _record(conn, found)
        to_apply = _after(found)
        if to_apply and not migrate:
            raise NotYetMigrated(found)
        notices: list[str] = []
        _migrate(conn, found, to_apply, notices)
    return SchemaSetUp(found, notices=tuple(notices))


def _after(version: int) -> tuple[Migration, ...]:
    return tuple(migration for migration in migrations() if migration.version > version)


def _migrate(
    conn: Connection, found: int, to_apply: tuple[Migration, ...], notices: list[str]
) -> None:
    """Each migration in turn, each version recorded as it is reached, in the caller's
    transaction: the database reaches the last version, or stays at `found`. What each one
    reports (RAISE NOTICE) is added to `notices`."""
    if not to_apply:
        return
    _act_as_owner(conn, found)
    # A service of the earlier version may still be answering: a table it holds fails the
    # migration after a while instead of queueing every one of its requests behind it.
    settings.set_for_transaction(conn, "lock_timeout", f"{MIGRATION_LOCK_WAIT_SECONDS}s")
    for migration in to_apply:
        try:
            with _reported(conn, migration.name, notices):
                conn.execute(migration.statements.encode())
        except errors.LockNotAvailable as exc:
            raise MigrationFailed(
                f"{migration.name}: a table it changes was held by another session for "
                f"{MIGRATION_LOCK_WAIT_SECONDS} s (a service of version {found} still "
                f"answering?); nothing was changed, the database is at version {found}"
            ) from exc
        except psycopg.Error as exc:
            raise MigrationFailed(
                f"{migration.name} failed ({exc.sqlstate}: {_said(exc)}); nothing was "
                f"changed, the database is at version {found}"
            ) from exc
        _record(conn, migration.version)


@contextlib.contextmanager
def _reported(conn: Connection, name: str, notices: list[str]) -> Iterator[None]:
    """The server's notices while the block runs, added to `notices` after `name`."""

    def add(notice: psycopg.errors.Diagnostic) -> None:
        notices.append(f"{name}: {notice.message_primary}")

    conn.add_notice_handler(add)
    try:
        yield
    finally:
        conn.remove_notice_handler(add)


def act_as_owner(conn: Connection, doing: str) -> None:
    """Act as the schema's owner for the rest of the transaction (what `doing` needs: ALTER
    TABLE, say); MigrationFailed, naming `doing`, when the login may not."""
    _act_as_owner(conn, SCHEMA_VERSION, doing)


def _act_as_owner(conn: Connection, found: int, doing: str = "migrating") -> None:
    """Run the migrations as the schema's owner, for the rest of the transaction.

    ALTER TABLE wants the tables' owner, so the service's own role (DATABASE_URL) cannot
    migrate. A superuser or a member of the owner's role may, but what a migration creates
    belongs to the role that runs it: a view made again by `postgres` was postgres's, unlike
    the one schema.sql makes (its privileges granted by postgres too), and the owner could not
    drop or replace it in a later migration."""
    row = conn.execute(
        "SELECT pg_get_userbyid(c.relowner) AS owner, current_user AS login,"
        " pg_has_role(current_user, c.relowner, 'USAGE')"
        " OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS may"
        " FROM pg_class c WHERE c.oid = 'public.schema_version'::regclass"
    ).fetchone()
    if row is None:
        return
    refused = MigrationFailed(
        f"{doing} logs in as {row['login']}, not as the schema's owner ({row['owner']}): "
        "set DATABASE_OWNER_URL to the owner's connection string; nothing was changed, the "
        f"database is at version {found}"
    )
    if not row["may"]:
        raise refused
    if row["owner"] == row["login"]:
        return
    try:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(row["owner"])))
    except errors.InsufficientPrivilege as exc:  # a member that may not SET ROLE to it
        raise refused from exc


def _said(error: psycopg.Error) -> str:
    """The server's message on one line (without its hint and context lines)."""
    return error.diag.message_primary or str(error).strip().splitlines()[0]


def _record(conn: Connection, version: int) -> None:
    conn.execute(
        "INSERT INTO schema_version (version, fingerprint) VALUES (%s, %s)",
        [version, FINGERPRINTS[version]],
    )


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
