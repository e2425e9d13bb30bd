"""The `trace-registry` command.

Every subcommand works against DATABASE_URL when it is set, and otherwise against the embedded
PostgreSQL kept in `--data-dir`, which it starts (or joins, when `serve` already runs it).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, BinaryIO

import psycopg
from marshmallow import Schema, ValidationError

from service import embedded, keys
from service.config import ConfigurationError, Settings, default_workers
from service.db import Connection, connect, translate
from service.domain import api_keys
from service.domain.wording import counted, records
from service.errors import TraceRegistryError
from service.repository import agencies
from service.schema_setup import (
    SCHEMA_VERSION,
    FoldedUnderAnotherUnicode,
    NotYetMigrated,
    SchemaError,
    SchemaSetUp,
    ensure_schema,
    ensure_service_role,
    pending,
    require_current,
    require_keys_folded_alike,
    service_role_of,
)
from service.schemas.admin import MAX_KEY_DAYS, AgencyIn, KeyIn, KeyRevocationIn
from service.schemas.fields import InputContext

if TYPE_CHECKING:
    from service.domain.audit import Head
    from service.importing import Progress

# `db status`: the database is not yet at this code's schema version (`db init` has work to do).
PENDING_EXIT_CODE = 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except (ConfigurationError, SchemaError, TraceRegistryError) as exc:
        print(f"trace-registry: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        translated = translate(exc)
        if translated is None:
            raise
        print(f"trace-registry: {translated.title.lower()}: {translated.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # What a command writes, it writes in one transaction, which the interruption rolled back.
        print(
            "trace-registry: interrupted; what it was writing was rolled back (an import's "
            "earlier files, each its own transaction, stay stored)",
            file=sys.stderr,
        )
        return 130
    return code


def build_parser() -> argparse.ArgumentParser:
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--data-dir",
        type=Path,
        default=embedded.default_data_dir(),
        help="where the embedded PostgreSQL keeps its data when DATABASE_URL is not set "
        "(default: $XDG_DATA_HOME/trace-registry, else ./.trace-registry)",
    )
    parser = argparse.ArgumentParser(
        prog="trace-registry",
        description="Serial-number trace registry for small arms and light weapons.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", parents=[database], help="run the API with gunicorn"
    )
    # The environment's address unless the command line gives one (argparse runs a string
    # default through `type`, so a bad TRACE_REGISTRY_PORT is refused like a bad --port).
    serve_parser.add_argument("--host", default=os.environ.get("TRACE_REGISTRY_HOST", "127.0.0.1"))
    serve_parser.add_argument(
        "--port", type=int, default=os.environ.get("TRACE_REGISTRY_PORT", "8000")
    )
    serve_parser.add_argument("--workers", type=int, default=default_workers())
    serve_parser.set_defaults(handler=serve)

    db_parser = commands.add_parser("db", help="database administration")
    db_commands = db_parser.add_subparsers(required=True, metavar="ACTION")
    init_parser = db_commands.add_parser(
        "init",
        parents=[database],
        help="apply schema.sql to an empty database, or migrate one of an earlier version",
    )
    init_parser.set_defaults(handler=db_init)
    status_parser = db_commands.add_parser(
        "status",
        parents=[database],
        help="the database's schema version, and what `db init` would do (exit 3: it has work)",
    )
    status_parser.set_defaults(handler=db_status)
    refold_parser = db_commands.add_parser(
        "refold",
        parents=[database],
        help="fold every stored key again under this Python's Unicode version, and record it "
        "(the rows whose key changes are rewritten; one transaction)",
    )
    refold_parser.set_defaults(handler=db_refold)

    keys_parser = commands.add_parser("keys", help="API keys")
    keys_commands = keys_parser.add_subparsers(required=True, metavar="ACTION")
    create_parser = keys_commands.add_parser(
        "create", parents=[database], help="create an API key (and the agency, if new)"
    )
    create_parser.add_argument(
        "--agency", required=True, type=agency_name, help="the agency's name"
    )
    create_parser.add_argument(
        "--scope",
        action="append",
        choices=api_keys.SCOPES,
        help=f"repeat for several (default: {' '.join(api_keys.DEFAULT_SCOPES)})",
    )
    create_parser.add_argument("--label", type=key_label, help="what the key is for")
    create_parser.add_argument(
        "--expires-in-days", type=int, help="the key stops working after this"
    )
    create_parser.add_argument(
        "--rate-limit",
        type=int,
        metavar="PER_MINUTE",
        help="requests a minute for this key (default: TRACE_REGISTRY_RATE_LIMIT_PER_MINUTE)",
    )
    create_parser.set_defaults(handler=keys_create)
    list_keys_parser = keys_commands.add_parser(
        "list", parents=[database], help="list API keys (never their secrets)"
    )
    list_keys_parser.add_argument(
        "--agency", type=agency_name, help="only this agency's keys (its name as read)"
    )
    list_keys_parser.set_defaults(handler=keys_list)
    revoke_parser = keys_commands.add_parser(
        "revoke", parents=[database], help="revoke an API key, with immediate effect"
    )
    revoke_parser.add_argument("prefix", help="the key's prefix (the part after trk_)")
    revoke_parser.add_argument("--reason", type=revocation_reason, help="why (kept with the key)")
    revoke_parser.set_defaults(handler=keys_revoke)

    agencies_parser = commands.add_parser("agencies", help="agencies")
    agencies_commands = agencies_parser.add_subparsers(required=True, metavar="ACTION")
    agency_create_parser = agencies_commands.add_parser(
        "create", parents=[database], help="register an agency"
    )
    agency_create_parser.add_argument("name", type=agency_name)
    agency_create_parser.add_argument("--country", help="ISO 3166-1 alpha-2 code")
    agency_create_parser.set_defaults(handler=agencies_create)
    set_country_parser = agencies_commands.add_parser(
        "set-country",
        parents=[database],
        help="set, correct or clear an agency's country (it decides which delivery "
        "verifications the agency may record); audited",
    )
    set_country_parser.add_argument("agency_id", type=uuid.UUID, metavar="AGENCY_ID")
    new_country = set_country_parser.add_mutually_exclusive_group(required=True)
    new_country.add_argument("country", nargs="?", help="ISO 3166-1 alpha-2 code")
    new_country.add_argument(
        "--clear", action="store_true", help="leave the agency with no country on record"
    )
    set_country_parser.set_defaults(handler=agencies_set_country)
    agencies_list_parser = agencies_commands.add_parser(
        "list", parents=[database], help="list agencies"
    )
    agencies_list_parser.set_defaults(handler=agencies_list)

    audit_parser = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit_parser.add_subparsers(required=True, metavar="ACTION")
    verify_parser = audit_commands.add_parser(
        "verify", parents=[database], help="check the hash chains; exit 1 if any is broken"
    )
    verify_parser.add_argument(
        "--heads",
        type=Path,
        metavar="FILE",
        help="the chains' last entries from an earlier run (checked, then replaced with "
        "today's): finds the newest entries removed",
    )
    verify_parser.set_defaults(handler=audit_verify)

    seed_parser = commands.add_parser(
        "seed", parents=[database], help="load data into the registry"
    )
    what = seed_parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--demo", action="store_true", help="a small, realistic demo registry")
    what.add_argument(
        "--items",
        type=int,
        metavar="N",
        help="a synthetic registry of N items (about 8 custody entries each) for scale tests",
    )
    seed_parser.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="with --items: the seed that makes the synthetic registry (default: 1); "
        "the same seed gives the same data",
    )
    seed_parser.add_argument(
        "--api-url",
        type=api_url,
        default=served_at(
            os.environ.get("TRACE_REGISTRY_HOST", "127.0.0.1"),
            os.environ.get("TRACE_REGISTRY_PORT", "8000"),
        ),
        metavar="URL",
        help="with --demo: where the service answers, for the curl commands it prints "
        "(default: where `serve` listens, by TRACE_REGISTRY_HOST and TRACE_REGISTRY_PORT)",
    )
    seed_parser.set_defaults(handler=seed)

    worker_parser = commands.add_parser(
        "worker",
        parents=[database],
        help="deliver notifications to webhooks, load queued imports, purge idempotent answers",
    )
    worker_parser.add_argument(
        "--interval", type=interval_seconds, default=2.0, help="seconds between idle rounds"
    )
    worker_parser.add_argument("--once", action="store_true", help="one round, then stop")
    worker_parser.add_argument(
        "--heartbeat", type=Path, help="a file touched after every round (for health checks)"
    )
    worker_parser.set_defaults(handler=worker)

    alerts_parser = commands.add_parser("alerts", help="the derived alert list")
    alerts_commands = alerts_parser.add_subparsers(required=True, metavar="ACTION")
    rebuild_parser = alerts_commands.add_parser(
        "rebuild", parents=[database], help="derive the alert list again from the ledger"
    )
    rebuild_parser.add_argument(
        "--check", action="store_true", help="only compare; exit 1 if the stored list differs"
    )
    rebuild_parser.set_defaults(handler=alerts_rebuild)

    import_parser = commands.add_parser(
        "import",
        parents=[database],
        help="import NDJSON or CSV files of parties, items, certificates and events",
    )
    import_parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    import_parser.add_argument(
        "--agency",
        required=True,
        type=agency_name,
        help="the agency whose records they are (created if new, and said so first)",
    )
    import_parser.add_argument(
        "--sipri",
        action="store_true",
        help="the files are SIPRI trade-register extracts (CSV): import their state-to-state "
        "deliveries, with synthetic items, serials and events",
    )
    import_parser.add_argument(
        "--record-type",
        choices=("party", "item", "euc", "event"),
        help="what a CSV file holds (one record type per CSV file)",
    )
    import_parser.add_argument(
        "--format",
        choices=("ndjson", "csv"),
        help="how the files are written (by default CSV for a name ending in .csv, NDJSON for "
        "any other: give it for a pipe, <(zcat parties.csv.gz), or a CSV file of another name)",
    )
    import_parser.add_argument(
        "--timings",
        action="store_true",
        help="say how long each phase of a stored import took (reading, checks, inserts, ...)",
    )
    import_parser.set_defaults(handler=import_files)
    return parser


@contextmanager
def database_settings(data_dir: Path) -> Iterator[tuple[Settings, bool]]:
    """Settings pointing at DATABASE_URL, or at the embedded server (started for the duration).

    The flag says whether the embedded server is in use.
    """
    settings = Settings.from_environment()
    if settings.database_url:
        yield settings, False
        return
    server = embedded.start(data_dir)
    owner_url = embedded.database_url(server)
    overrides = {"database_url": embedded.service_url(owner_url), "database_owner_url": owner_url}
    yield settings.with_overrides(overrides), True


@contextmanager
def registry_connection(data_dir: Path) -> Iterator[Connection]:
    """A connection, as the schema owner, to a registry whose schema is in place and whose keys
    were folded under this interpreter's Unicode version."""
    with (
        database_settings(data_dir) as (settings, embedded_server),
        connect(settings, as_owner=True) as conn,
    ):
        with _naming_the_data_dir(data_dir, embedded_server):
            set_up(conn, settings, migrate=False)
        require_keys_folded_alike(conn)
        yield conn


@contextmanager
def _naming_the_data_dir(data_dir: Path, embedded_server: bool) -> Iterator[None]:
    """A refusal that sends the operator to `db init` names the embedded server's data
    directory: without it, `db init` would set up another one (the default) and say so."""
    try:
        yield
    except NotYetMigrated as refused:
        if not embedded_server:
            raise
        command = f"trace-registry db init --data-dir {shlex.quote(str(data_dir))}"
        raise NotYetMigrated(refused.found, command) from None


def set_up(conn: Connection, settings: Settings, *, migrate: bool) -> SchemaSetUp:
    """The schema in place, at this code's version (migrated to it only if `migrate`: `db
    init`), and the service's role able to use it."""
    done = ensure_schema(conn, migrate=migrate)
    ensure_service_role(conn, settings.database_url)
    return done


def db_init(args: argparse.Namespace) -> int:
    with database_settings(args.data_dir) as (settings, _):
        with connect(settings, as_owner=True) as conn:
            done = set_up(conn, settings, migrate=True)
            try:
                require_keys_folded_alike(conn)
                refusal = None
            except FoldedUnderAnotherUnicode as exc:
                refusal = exc
        role = service_role_of(settings.database_url) or "the connection's default role"
        owner = service_role_of(settings.owner_url) or "the connection's default role"
    for notice in done.notices:
        print(f"notice: {notice}")
    print(done)
    if role == owner:
        print(
            f"warning: the service logs in as the schema owner ({owner}); set DATABASE_OWNER_URL "
            "and a DATABASE_URL of another role so that the service cannot alter the audit trail",
            file=sys.stderr,
        )
    if refusal is not None:
        # The schema is in place (any Python may migrate: the migrations are SQL), but the
        # start-up script must not go on to serve what this Python would look up otherwise.
        print(f"trace-registry: {refusal}", file=sys.stderr)
        return 1
    return 0


def db_status(args: argparse.Namespace) -> int:
    with (
        database_settings(args.data_dir) as (settings, _),
        connect(settings, as_owner=True) as conn,
    ):
        found, to_apply = pending(conn)
        folded_otherwise = None
        if found is not None and not to_apply:
            try:
                require_keys_folded_alike(conn)
            except FoldedUnderAnotherUnicode as exc:
                folded_otherwise = exc
    if found is None:
        print(f"no schema: `trace-registry db init` applies schema.sql, version {SCHEMA_VERSION}")
        return PENDING_EXIT_CODE
    if not to_apply:
        print(f"schema version {found}, this code's version")
        if folded_otherwise is not None:
            raise folded_otherwise  # a database this code cannot serve: exit 1, saying why
        return 0
    names = ", ".join(migration.name for migration in to_apply)
    print(
        f"schema version {found}, this code's is {SCHEMA_VERSION}: `trace-registry db init` "
        f"applies {names}"
    )
    return PENDING_EXIT_CODE


def db_refold(args: argparse.Namespace) -> int:
    from service import refolding

    with (
        database_settings(args.data_dir) as (settings, embedded_server),
        connect(settings, as_owner=True) as conn,
    ):
        # The schema at this code's version, whatever Unicode its keys were folded under.
        with _naming_the_data_dir(args.data_dir, embedded_server):
            set_up(conn, settings, migrate=False)
        done = refolding.refold(conn)
    for kept in done.kept:
        print(printable(f"notice: {kept}"))
    print(done)
    return 0


def keys_create(args: argparse.Namespace) -> int:
    scopes = tuple(dict.fromkeys(args.scope or api_keys.DEFAULT_SCOPES))
    if args.expires_in_days is not None and not 1 <= args.expires_in_days <= MAX_KEY_DAYS:
        print(f"trace-registry: --expires-in-days is 1 to {MAX_KEY_DAYS}", file=sys.stderr)
        return 2
    if args.rate_limit is not None and not 1 <= args.rate_limit <= 1_000_000:
        print("trace-registry: --rate-limit is 1 to 1000000 a minute", file=sys.stderr)
        return 2
    expires_at = (
        datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    )
    with registry_connection(args.data_dir) as conn, conn.transaction():
        agency, created = agencies.ensure_agency(conn, args.agency)
        issued = keys.issue(
            conn,
            agency.id,
            scopes,
            label=args.label,
            expires_at=expires_at,
            rate_limit_per_minute=args.rate_limit,
        )
    if created:
        print(f"created agency {agency.name!r} ({agency.id})")
    print(f"API key {issued.record.prefix} for {agency.name!r}, scopes: {', '.join(scopes)}")
    print("it is shown once, here, and cannot be recovered; it is the last line:")
    print(issued.key)
    return 0


def keys_list(args: argparse.Namespace) -> int:
    with registry_connection(args.data_dir) as conn:
        agency_id = None
        if args.agency:
            # As `keys create` names it: another spelling of the same name (NFD, doubled
            # spaces, a direction mark) is the same agency.
            agency = agencies.find_agency_as_read(conn, args.agency)
            if agency is None:
                print(f"trace-registry: no agency named {args.agency!r}", file=sys.stderr)
                return 1
            agency_id = agency.id
        found = agencies.list_api_keys(conn, agency_id, None, 100_000)
    print(f"{'PREFIX':<10} {'STATUS':<8} {'CREATED':<11} {'EXPIRES':<11} {'AGENCY':<30} SCOPES")
    for key in found:
        expires = key.expires_at.date().isoformat() if key.expires_at else "-"
        print(
            f"{key.prefix:<10} {key.status:<8} {key.created_at.date().isoformat():<11} "
            f"{expires:<11} {key.agency.name[:30]:<30} {' '.join(key.scopes)}"
            + (f"  ({key.label})" if key.label else "")
        )
    return 0


def keys_revoke(args: argparse.Namespace) -> int:
    with registry_connection(args.data_dir) as conn:
        key = agencies.get_api_key(conn, args.prefix)
        if key is None:
            print(f"trace-registry: no API key with prefix {args.prefix}", file=sys.stderr)
            return 1
        # The command line may revoke the last key that can administer: it makes keys
        # without one (`keys create --scope registry:admin`).
        if not agencies.revoke_api_key(conn, args.prefix, args.reason, keep_an_admin=False):
            print(f"trace-registry: {args.prefix} was already revoked", file=sys.stderr)
            return 1
    print(f"revoked {args.prefix} of {key.agency.name!r}: it is refused from now on")
    return 0


LONGEST_INTERVAL = 3600.0


def interval_seconds(value: str) -> float:
    """The worker's pause between idle rounds: time.sleep refuses a negative one or NaN, and an
    infinite one (the worker would never wake) overflows it, each after the first round."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= LONGEST_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"seconds, more than 0 and at most {LONGEST_INTERVAL:g}, not {value!r}"
        )
    return seconds


def served_at(host: str, port: str) -> str:
    """The URL of the service `serve` runs on `host` and `port`, as a client on this machine
    reaches it: one that listens on every interface is reached on the loopback."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - not a bind: where serve's bind is reached
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def api_url(value: str) -> str:
    """The service's URL, without a trailing slash (paths are added to it)."""
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"an http:// or https:// URL, not {value!r}")
    return value.rstrip("/")


def agency_name(value: str) -> str:
    """An agency's name as POST /v1/admin/agencies takes it (AgencyIn's `name`: one line of 1
    to 200 characters, no control or invisible format characters, in NFC with single spaces).
    Every report, audit entry and notification names the agency: an escape sequence in it
    would reach terminals raw, and a name that reads as another's would make a second agency."""
    return _as_the_api_takes_it(AgencyIn(), "name", "an agency's name", value)


def key_label(value: str) -> str:
    """A key's label as POST /v1/admin/keys takes it: `keys list` prints it, so an escape
    sequence in it reached the operator's terminal raw."""
    return _as_the_api_takes_it(KeyIn(), "label", "a key's label", value)


def revocation_reason(value: str) -> str:
    """A revocation's reason as POST /v1/admin/keys/{prefix}/revocation takes it."""
    return _as_the_api_takes_it(KeyRevocationIn(), "reason", "a revocation's reason", value)


def _as_the_api_takes_it(schema: Schema, field: str, what: str, value: str) -> str:
    try:
        return str(schema.fields[field].deserialize(value))
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{what}: {' '.join(map(str, exc.messages))}") from exc


def agencies_create(args: argparse.Namespace) -> int:
    with registry_connection(args.data_dir) as conn:
        refusal = None if args.country is None else _why_not_a_country(conn, args.country)
        if refusal is not None:
            print(f"trace-registry: {refusal}", file=sys.stderr)
            return 2
        agency = agencies.create_agency(conn, args.name, args.country)
    print(f"created agency {agency.name!r}")
    print(agency.id)
    return 0


def agencies_set_country(args: argparse.Namespace) -> int:
    from service import auditing

    with registry_connection(args.data_dir) as conn, conn.transaction():
        refusal = None if args.clear else _why_not_a_country(conn, args.country)
        if refusal is not None:
            print(f"trace-registry: {refusal}", file=sys.stderr)
            return 2
        try:
            change = agencies.set_agency_country(conn, args.agency_id, args.country)
        except LookupError:
            print(f"trace-registry: no agency with id {args.agency_id}", file=sys.stderr)
            return 1
        auditing.command_run(
            conn,
            "trace-registry agencies set-country",
            [str(args.agency_id), "--clear" if args.clear else args.country],
            [args.agency_id],
            {
                "agency_country": {
                    "agency_id": str(change.agency_id),
                    "old": change.old,
                    "new": change.new,
                }
            },
        )
    print(f"agency {args.agency_id}: country from {change.old or 'none'} to {change.new or 'none'}")
    return 0


def _why_not_a_country(conn: Connection, code: str) -> str | None:
    """Why `code` is not a country as the API takes one (AgencyIn's `country`: a code of the
    countries table), or None. The database alone answered "value too long for type
    character(2)" for BEL, and a conflict for a code of no country."""
    with InputContext({"countries": frozenset(agencies.known_countries(conn))}):
        try:
            _as_the_api_takes_it(AgencyIn(), "country", "a country", code)
        except argparse.ArgumentTypeError as exc:
            return str(exc)
    return None


def agencies_list(args: argparse.Namespace) -> int:
    with registry_connection(args.data_dir) as conn:
        found = agencies.list_agencies(conn, None, 100_000)
    print(f"{'ID':<36}  {'COUNTRY':<7}  {'KEYS':>4}  NAME")
    for agency in found:
        print(
            f"{agency.id!s:<36}  {agency.country or '-':<7}  {agency.active_keys:>4}  {agency.name}"
        )
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    from service import auditing

    expected: list[Head] = []
    if args.heads is not None:
        refusal = _why_not_heads(args.heads)
        if refusal is not None:
            print(f"trace-registry: --heads {args.heads}: {refusal}", file=sys.stderr)
            return 2
        if args.heads.exists():
            found = _heads_in(args.heads)
            if found is None:
                print(
                    f"trace-registry: --heads {args.heads}: not the heads `audit verify --heads` "
                    "writes",
                    file=sys.stderr,
                )
                return 2
            expected = found
    with registry_connection(args.data_dir) as conn:
        result = auditing.verify(conn, expected)
    for problem in result.problems:
        print(f"{problem.kind}: {problem.detail}")
    verdict = "intact" if result.intact else f"BROKEN ({counted(len(result.problems), 'problem')})"
    entries, chains = counted(result.entries, "entry", "entries"), counted(result.chains, "chain")
    print(f"{entries} in {chains}: {verdict}")
    if args.heads is not None and result.intact:
        heads = [dataclasses.asdict(head) for head in result.heads]
        args.heads.write_text(json.dumps(heads, indent=2) + "\n")
        print(f"heads written to {args.heads}")
    return 0 if result.intact else 1


def _why_not_heads(path: Path) -> str | None:
    """Why `--heads` cannot be read or written once the trail is verified, or None."""
    if path.is_dir():
        return "is a directory, not a file"
    if not path.parent.is_dir():
        return "its directory does not exist"
    return None


def _heads_in(path: Path) -> list[Head] | None:
    """The heads an earlier `audit verify --heads` wrote; None for anything else."""
    from service.domain.audit import Head

    try:
        heads = [Head(**head) for head in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):  # a JSON or UTF-8 error is a ValueError
        return None
    if all(
        type(head.chain) is int and type(head.chain_seq) is int and type(head.entry_hash) is str
        for head in heads
    ):
        return heads
    return None


def seed(args: argparse.Namespace) -> int:
    if args.demo:
        if args.seed is not None:
            print("trace-registry: --seed goes with --items, not --demo", file=sys.stderr)
            return 2
        from service.seed import demo

        with registry_connection(args.data_dir) as conn:
            summary = demo.load(conn, args.api_url)
        print(summary)
        return 0
    from service.seed import synthetic

    seed = synthetic.DEFAULT_SEED if args.seed is None else args.seed
    try:
        synthetic.check(args.items, seed)
    except synthetic.SyntheticLoadError as exc:
        print(f"trace-registry: {exc}", file=sys.stderr)
        return 2
    with registry_connection(args.data_dir) as conn:
        result = synthetic.load(conn, args.items, seed, report=lambda line: print(line, flush=True))
    print(synthetic.summary(result))
    return 0


def worker(args: argparse.Namespace) -> int:
    from service import worker as background

    if args.heartbeat is not None and not args.heartbeat.parent.is_dir():
        # It is touched after each round: the first round's work was followed by a traceback.
        print(
            f"trace-registry: --heartbeat {args.heartbeat}: its directory does not exist",
            file=sys.stderr,
        )
        return 2

    with database_settings(args.data_dir) as (settings, embedded_server):
        # On the embedded server an empty database gets its schema, as with the other commands;
        # on one of its own the worker logs in as the service, and the API's start-up sets up.
        with (
            connect(settings, as_owner=embedded_server) as conn,
            _naming_the_data_dir(args.data_dir, embedded_server),
        ):
            if embedded_server:
                set_up(conn, settings, migrate=False)
                require_keys_folded_alike(conn)
            else:
                require_current(conn)
        delivered = background.run(
            lambda: connect(settings),
            settings,
            interval=args.interval,
            once=args.once,
            heartbeat=args.heartbeat,
        )
    print(f"{counted(delivered, 'notification')} delivered")
    return 0


def alerts_rebuild(args: argparse.Namespace) -> int:
    from service import alerts

    with registry_connection(args.data_dir) as conn, conn.transaction():
        settings = Settings.from_environment()
        today = datetime.now(UTC).date()
        result = alerts.rebuild(conn, today, settings.euc_verification_days, write=not args.check)
    for difference in result.differences:
        print(difference)
    verb = "differs from" if result.differences else "matches"
    print(
        f"{counted(result.items, 'item')}, {result.listed} on alert; the stored list {verb} the "
        f"ledger ({counted(len(result.differences), 'difference')})"
        f"{'' if args.check else '; stored again'}"
    )
    return 1 if args.check and result.differences else 0


def serve(args: argparse.Namespace) -> int:
    script = str(resources.files("service").joinpath("start.sh"))
    with database_settings(args.data_dir) as (settings, uses_embedded):
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "DATABASE_OWNER_URL": settings.owner_url,
            "TRACE_REGISTRY_HOST": args.host,
            "TRACE_REGISTRY_PORT": str(args.port),
            "WEB_CONCURRENCY": str(args.workers),
            "PYTHON": sys.executable,
        }
        if not uses_embedded:
            os.execve("/bin/sh", ["sh", script], env)  # noqa: S606 - our own start-up script
        print(f"embedded PostgreSQL in {args.data_dir}; starting on http://{args.host}:{args.port}")
        return _run_until_stopped(["/bin/sh", script], env)


def _run_until_stopped(command: list[str], env: dict[str, str]) -> int:
    """Run gunicorn's start-up as a child, pass on SIGINT/SIGTERM, and outlive it so that the
    embedded server is stopped cleanly after gunicorn has gone."""
    child = subprocess.Popen(command, env=env)  # noqa: S603 - fixed command, our own script

    def forward(signum: int, _: FrameType | None) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return child.wait()


def import_files(args: argparse.Namespace) -> int:
    """Each file in one transaction, as POST /v1/imports takes it; exit 1 if any was refused."""
    from service import importing
    from service.domain.imports import CSV, NDJSON

    for path in args.files:  # every one, before any is imported
        unreadable = _why_unreadable(path)
        if unreadable is not None:
            print(f"trace-registry: {path}: {unreadable}", file=sys.stderr)
            return 2
    failed = 0
    settings = Settings.from_environment()
    with registry_connection(args.data_dir) as conn:
        with conn.transaction():
            agency, created = agencies.ensure_agency(conn, args.agency)
        if created:
            # Said first, as `keys create` says it: a typo of the name ("Reveiw") made a new
            # agency and imported into it without a word. Flushed: the progress line is stderr's.
            print(f"created agency {agency.name!r} ({agency.id})", flush=True)
        countries = frozenset(agencies.known_countries(conn))
        if args.sipri and args.format:
            print("trace-registry: --format does not go with --sipri", file=sys.stderr)
            return 2
        for path in args.files:
            # By its name unless told: a pipe's name (/dev/fd/63) says nothing, and a CSV file
            # read as NDJSON had each row refused as "not a JSON object".
            written = args.format or ("csv" if path.suffix.lower() == ".csv" else "ndjson")
            media_type = CSV if written == "csv" and not args.sipri else NDJSON
            if media_type == CSV and args.record_type is None:
                print(f"trace-registry: {path}: a CSV file needs --record-type", file=sys.stderr)
                return 2
            size = None if args.sipri else path.stat().st_size
            progress = ProgressLine(path, size)
            with _refusing_extract(path), _import_stream(path, sipri=args.sipri) as stream:
                outcome = importing.run(
                    conn,
                    stream,
                    importing.Request(
                        agency_id=agency.id,
                        media_type=media_type,
                        record_type=args.record_type,
                        countries=countries,
                        today=datetime.now(UTC).date(),
                        verification_days=settings.euc_verification_days,
                        errors_kept=settings.import_errors_kept,
                        readers=importing.readers_for(media_type, size, settings.import_readers),
                        sha256=None if args.sipri else _sha256_of(path),
                    ),
                    report=progress.show,
                )
            progress.done()
            if outcome.status == "FAILED":
                failed += 1
                for problem in outcome.errors:
                    where = f"{problem.field}: " if problem.field else ""
                    said = printable(f"{where}{problem.detail}")
                    # A SIPRI extract's problems are of the records made from it, not of its
                    # lines: "FILE:3:" named an unrelated row of the extract.
                    at = f" record {problem.line} of those made from it" if args.sipri else ""
                    print(f"{path}:{at or problem.line}: {said}", file=sys.stderr)
                print(
                    f"{path}: nothing stored, {counted(outcome.error_count, 'problem')} "
                    f"(import {outcome.id})",
                    file=sys.stderr,
                )
                continue
            if args.timings and progress.last is not None:
                phases = progress.last.phases.items()
                print(f"{path}: " + ", ".join(f"{name} {s:.1f} s" for name, s in phases))
            stored, linked = records(outcome.stored), records(outcome.linked)
            present = sum(outcome.already_present.values())
            print(
                f"{path}: {counted(outcome.lines, 'line')}; stored {stored}; {present} already "
                f"present; linked to other agencies' records {linked} (import {outcome.id})"
            )
            for kept in outcome.not_applied:
                print(
                    f"{path}:{kept.line}: {kept.record_type} {kept.ref} was linked to another "
                    "agency's record, which keeps its own description: not applied: "
                    + ", ".join(kept.fields)
                )
    return 1 if failed else 0


class _ExtractRefused(TraceRegistryError):
    """A SIPRI extract that records cannot be made from (main says why, and exits 1)."""


@contextmanager
def _refusing_extract(path: Path) -> Iterator[None]:
    from service.seed.sipri_records import UnreadableExtract

    try:
        yield
    except UnreadableExtract as exc:
        # Read as the import reads it: its transaction has rolled back, and nothing is kept.
        raise _ExtractRefused(f"{path}: {exc}") from None


# C0 and C1 controls and DEL: what a file says (a field's name, a value quoted in a problem)
# reaches the operator's terminal, where an escape sequence would be obeyed.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """The text with each control character written as its Python escape (\\x1b)."""
    return _CONTROLS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def _why_unreadable(path: Path) -> str | None:
    """Why a file named for import cannot be read, or None. (Not by opening it: a pipe would
    wait for its writer.)"""
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "is a directory, not a file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def _sha256_of(path: Path) -> bytes | None:
    """A regular file's hash, read ahead (0.2 s for 181 MB): a file imported before is then
    answered from that import without being read again. None for a pipe (`<(zcat f.gz)`), which
    can be read only once."""
    if not path.is_file():
        return None
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").digest()


@contextmanager
def _import_stream(path: Path, *, sipri: bool) -> Iterator[BinaryIO]:
    """The file, or for a SIPRI extract its deliveries as NDJSON records, made as read."""
    if not sipri:
        with path.open("rb") as stream:
            yield stream
        return
    from service.seed import sipri_records

    with path.open("rb") as extract:  # decoded a line at a time, to name one that is not UTF-8
        yield sipri_records.ndjson_stream(extract)


class ProgressLine:
    """Rows, rows per second and time left: redrawn in place on a terminal, a plain line every
    few seconds otherwise (a log, a pipe)."""

    EVERY_SECONDS = 5.0

    def __init__(self, path: Path, size: int | None) -> None:
        self.path = path
        # None: records made as they are read (a SIPRI extract), so no time left to tell
        self.size = size
        self.terminal = sys.stderr.isatty()
        self.shown_at = 0.0
        self.shown = False
        self.last: Progress | None = None

    def show(self, progress: Progress) -> None:
        self.last = progress
        if progress.found_imported_before:
            return  # not read: done() says so ("0% read" at millions of rows a second, before)
        now = time.monotonic()
        if not self.terminal and now - self.shown_at < self.EVERY_SECONDS:
            return
        self.shown_at = now
        self._draw(progress, now, final=False)

    def done(self) -> None:
        """The last progress as it ended, time left no more: where a line was drawn only as the
        file began (a small file, or between plain lines), the import seemed to end at 0% read
        with time still left."""
        if self.last is not None:
            self._draw(self.last, time.monotonic(), final=True)
        if self.terminal and self.shown:
            print(file=sys.stderr)

    def _draw(self, progress: Progress, now: float, *, final: bool) -> None:
        elapsed = max(now - progress.started, 1e-6)
        rate = progress.lines / elapsed
        rows = f"{self.path}: {counted(progress.lines, 'row', grouped=True)}"
        text = f"{rows}, {rate:,.0f} rows/s"
        if progress.found_imported_before:
            # Answered from that import: it ended on "0% read", as if it had stopped short.
            text = f"{rows}, the same file as an earlier import: not read again"
        elif self.size:
            done = min(progress.bytes_read / self.size, 1.0)
            text += f", {done:.0%} read"
            if not final:
                left = elapsed * (1 - done) / done if done > 0 else 0.0
                text += f", {left:,.0f} s left"
        if self.terminal:
            print(f"\r{text}\x1b[K", end="", file=sys.stderr, flush=True)
            self.shown = True
        else:
            print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
