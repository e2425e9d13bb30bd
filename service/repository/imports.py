"""The SQL of bulk imports: staging tables filled with COPY, set-based checks and inserts, and
the import records. The staging tables are temporary and dropped when the transaction ends.

Statements that take the name of a staging table are composed with `psycopg.sql` from the fixed
names below; nothing from a file ever becomes SQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.errors import LockNotAvailable
from psycopg.types.json import Jsonb

from service.db import Connection
from service.domain.alerts import LISTING_EVENT_TYPES
from service.domain.custody import TRANSFER_TYPES
from service.domain.ids import NEWEST
from service.domain.imports import Problem
from service.errors import ImportsBusy
from service.repository import alerts, rows, settings
from service.repository.queries import load

SQL = load("imports")
# Records sent again and linked records, compared field by field by one rule (the
# `fields_read_otherwise` query).
_CHANGED_RECORDS, _LINKED_NOT_APPLIED = (
    sql.SQL(SQL[name]).format(
        fields_read_otherwise=sql.SQL(SQL["fields_read_otherwise"]),
        certificate_lines=sql.SQL(SQL["certificate_lines"]),
    )
    for name in ("check_changed_records", "linked_not_applied")
)
# Any fixed number: the advisory-lock space of imports (one agency's imports run one at a time).
_LOCK_SPACE = 74_105

# record type -> its staging table
STAGING = {
    "party": "import_parties",
    "item": "import_items",
    "euc": "import_eucs",
    "event": "import_events",
}
# The sender's references in the staging tables, compared byte by byte: a reference is an id,
# equal only to the same bytes under any collation, and its order is only the checks' own. The
# database's default collation (libc's C.UTF-8 on the embedded server and this machine's
# PostgreSQL 15) orders through strcoll and cannot sort on abbreviated keys: with it the
# references of 1,000,000 records took 0.84 s to sort and 0.95 s to index, against 0.32 s and
# 0.30 s in "C" (PostgreSQL 18). The registry's references (import_references) are in "C" too
# (schema version 15), so that the two joins with them, mark_present and earlier_references,
# compare on its index.
REFERENCE = 'text COLLATE "C"'
# The staging tables: (column, type) each, for COPY in the order given.
STAGING_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "import_parties": (
        ("line", "integer"), ("ref", REFERENCE), ("id", "uuid"), ("name", "text"), ("kind", "text"),
        ("country", "text"), ("registration_number", "text"),
        ("registration_number_key", "text"), ("address", "text"), ("classification", "text"),
    ),
    "import_items": (
        ("line", "integer"), ("ref", REFERENCE), ("id", "uuid"), ("manufacturer", "text"),
        ("manufacturer_key", "text"), ("model", "text"), ("model_key", "text"),
        ("category", "text"), ("caliber", "text"), ("serial_number", "text"),
        ("serial_norm", "text"), ("country_of_manufacture", "text"),
        ("year_of_manufacture", "smallint"), ("import_markings", "jsonb"),
        ("other_markings", "text"),
    ),
    "import_eucs": (
        ("line", "integer"), ("ref", REFERENCE), ("id", "uuid"), ("certificate_number", "text"),
        ("certificate_key", "text"), ("issuing_country", "text"), ("issuing_authority", "text"),
        ("issued_on", "date"), ("expires_on", "date"), ("exporter_party_ref", REFERENCE),
        ("end_user_party_ref", REFERENCE), ("destination_country", "text"),
        ("stated_end_use", "text"), ("non_reexport_clause", "boolean"),
    ),
    "import_euc_lines": (
        ("line", "integer"), ("euc_ref", REFERENCE), ("line_number", "smallint"),
        ("description", "text"), ("category", "text"), ("model", "text"),
        ("quantity", "integer"),
    ),
    "import_events": (
        ("line", "integer"), ("ref", REFERENCE), ("id", "uuid"), ("event_type", "text"),
        ("occurred_on", "date"), ("country", "text"), ("destination_country", "text"),
        ("from_party_ref", REFERENCE), ("to_party_ref", REFERENCE), ("owner_party_ref", REFERENCE),
        ("euc_ref", REFERENCE), ("euc_line_number", "smallint"), ("item_count", "integer"),
        ("licence_number", "text"), ("document_reference", "text"), ("notes", "text"),
        ("classification", "text"),
    ),
    "import_event_items": (("line", "integer"), ("event_ref", REFERENCE), ("item_ref", REFERENCE)),
    # the references of records refused as read (their problems are the file's already): a
    # record that names one is told that, not that nothing has the reference
    "import_refused": (("line", "integer"), ("record_type", "text"), ("ref", REFERENCE)),
    # the references that records refused as read name (a field the schema refused aside): they
    # are checked as a stored record's are, so that the file's answer says all that is wrong
    # with the line (told its date alone, the sender found its references wrong a file later)
    "import_refused_names": (
        ("line", "integer"), ("field", "text"), ("record_type", "text"), ("ref", REFERENCE),
    ),
}  # fmt: skip
# The record types a file's record may be linked to another agency's record of (by the unique
# identity the registry keeps), and the statements that link them (see link_items).
LINKABLE = ("party", "item", "euc")
LINKING = ("link_parties", "link_items", "link_certificates")
# Tables the checks fill, and the indexes they join on (built after COPY, which is faster).
WORK_TABLES = {
    "import_refs": f"record_type text NOT NULL, ref {REFERENCE} NOT NULL, id uuid NOT NULL, "
    "PRIMARY KEY (record_type, ref)",
    "import_problems": "line integer NOT NULL, field text NOT NULL, detail text NOT NULL",
    "import_touched": "id uuid PRIMARY KEY",
    "import_touched_before": "id uuid NOT NULL",
}
STAGING_INDEXES = (
    ("import_parties", ("ref",)),
    ("import_items", ("ref",)),
    ("import_items", ("serial_norm", "manufacturer_key", "model_key")),
    ("import_eucs", ("ref",)),
    ("import_euc_lines", ("euc_ref", "line_number")),
    ("import_events", ("ref",)),
    ("import_event_items", ("event_ref", "line")),
)
COLUMNS = {table: tuple(name for name, _ in columns) for table, columns in STAGING_TABLES.items()}


@dataclass(frozen=True, slots=True)
class Stored:
    """What an import's inserts did, per record type: records stored, records whose reference
    an earlier import brought (skipped), and records linked to another agency's (skipped, their
    references bound to those records; LINKABLE types only)."""

    stored: dict[str, int]
    already_present: dict[str, int]
    linked: dict[str, int]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """An import as lists show it: its record without the problems (GET it for those)."""

    id: UUID
    status: str
    media_type: str
    record_type: str | None
    sha256: str
    lines: int
    stored: dict[str, int]
    already_present: dict[str, int]
    # records linked to another agency's record of the same identity (LINKABLE types)
    linked: dict[str, int]
    error_count: int
    # None while the import waits for a worker (QUEUED); finished_at until it has ended
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class NotApplied:
    """A linked record of the file, and the fields the file says otherwise than the record that
    stands (which keeps the first recorder's description): they were not applied."""

    line: int
    record_type: str
    ref: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportRecord(ImportSummary):
    """An import with its problems (the first ones, by line; all are counted), and what it did
    not apply of the records it linked (the first ones, by line)."""

    errors: tuple[Problem, ...]
    not_applied: tuple[NotApplied, ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    """A queued import file, leased to a worker."""

    id: UUID
    agency_id: UUID
    media_type: str
    record_type: str | None
    sha256: bytes
    size: int
    attempts: int
    # why the attempt before failed, if it did
    last_error: str | None = None
    # the prefix of the key that queued it (None: a job of before version 4 whose request's
    # audit entry named no key)
    sent_by_key_prefix: str | None = None


@dataclass(frozen=True)
class Sender:
    """The API key that queued a file, as it stands now."""

    prefix: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None
    # when the key was read, by the database's clock: what it is judged by
    judged_at: datetime


def prepare(conn: Connection, agency_id: UUID, wait_seconds: float | None = None) -> None:
    """Staging tables for this transaction, once the agency's other import has ended: waiting
    as long as it takes (None), or at most `wait_seconds` (0: not at all), else ImportsBusy."""
    conn.execute(SQL["prepare"])
    agency = {"lock_space": _LOCK_SPACE, "agency_id": agency_id}
    busy = ImportsBusy("another import of your agency is being loaded")
    if wait_seconds is None:
        conn.execute(SQL["lock_agency_imports"], agency)
    elif wait_seconds <= 0:
        locked = conn.execute(SQL["try_lock_agency_imports"], agency).fetchone()
        if locked is None or not locked["locked"]:
            raise busy
    else:
        # Set back after the wait, so that the import's other lock waits (behind writers of the
        # same certificates and items) are not cut short.
        before = settings.current(conn, "lock_timeout")
        waiting = f"{max(1, round(wait_seconds * 1000))}ms"
        settings.set_for_transaction(conn, "lock_timeout", waiting)
        try:
            conn.execute(SQL["lock_agency_imports"], agency)
        except LockNotAvailable as error:
            raise busy from error
        settings.set_for_transaction(conn, "lock_timeout", before)
    for table, definition in _TEMP_TABLES.items():
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                sql.Identifier(table), definition
            )
        )


def _staging_definition(columns: tuple[tuple[str, str], ...]) -> sql.Composable:
    definitions: list[sql.Composable] = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in columns
    ]
    # a record whose reference an earlier import brought (then `id` is that record's, and
    # `imported_in` that import); one linked to the record another agency recorded with its
    # identity (then `id` is that record's: see link_items)
    if any(name == "id" for name, _ in columns):
        definitions.append(sql.SQL("present boolean NOT NULL DEFAULT false"))
        definitions.append(sql.SQL("imported_in uuid"))
        definitions.append(sql.SQL("linked boolean NOT NULL DEFAULT false"))
    return sql.SQL(", ").join(definitions)


_TEMP_TABLES: dict[str, sql.Composable] = {
    **{table: _staging_definition(columns) for table, columns in STAGING_TABLES.items()},
    **{table: sql.SQL(definition) for table, definition in WORK_TABLES.items()},
}


def copy_rows(conn: Connection, table: str, values: Iterable[Sequence[Any]]) -> None:
    with conn.cursor() as cursor, cursor.copy(_copy_statement(table)) as copy:
        for row in values:
            copy.write_row(row)


def copy_text(conn: Connection, table: str, text: str) -> None:
    """Rows already written in COPY's text format (service.import_reading.copy_line)."""
    with conn.cursor() as cursor, cursor.copy(_copy_statement(table)) as copy:
        copy.write(text)


def _copy_statement(table: str) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table]))
    )


def check(conn: Connection, agency_id: UUID) -> None:
    """Index the staged rows, find those already imported, and put every problem the file's
    records have with each other and with the registry in `import_problems`."""
    conn.execute(SQL["resolve_manufacturers"])
    # Before the indexes: marking rows present rewrites them, and on a re-sent file that is every
    # row, which with the indexes built first also meant an entry in each index for each row.
    for record_type, table in STAGING.items():
        conn.execute(
            _on(SQL["mark_present"], table), {"agency_id": agency_id, "record_type": record_type}
        )
    for table, columns in STAGING_INDEXES:
        conn.execute(
            sql.SQL("CREATE INDEX ON {} ({})").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
        )
    for table in STAGING_TABLES:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    # After ANALYZE, so that each is planned as check_identities' join on the same unique index
    # is (few rows are linked, so few index entries rewritten); before the references are
    # collected, which take the linked records' ids.
    for name in LINKING:
        conn.execute(SQL[name], {"agency_id": agency_id})
    conn.execute(SQL["collect_references"])
    conn.execute(SQL["earlier_references"], {"agency_id": agency_id})
    # Temporary tables are never analysed by autovacuum: without this, every statement below
    # planned its joins on import_refs for 552 rows, whatever the file held.
    conn.execute("ANALYZE import_refs")
    for table in STAGING.values():
        conn.execute(_on(SQL["check_duplicate_references"], table), {})
    for name in ("check_unresolved_references", "check_certificate_lines"):
        conn.execute(SQL[name], {})
    check_identities(conn, agency_id)
    conn.execute(_CHANGED_RECORDS, {"agency_id": agency_id})


def check_identities(conn: Connection, agency_id: UUID) -> None:
    """What the registry keeps unique, against what is recorded and within the file; run once
    more after another agency's file (loaded at the same time: imports wait for each other per
    agency only) was committed with what this file holds. The agency's own parties are named,
    no other agency's (the query says why)."""
    conn.execute(SQL["check_identities"], {"agency_id": agency_id})


def problems(conn: Connection, limit: int) -> tuple[int, list[Problem]]:
    """How many problems the checks found, and the first `limit` of them by line."""
    row = conn.execute(SQL["problem_count"]).fetchone()
    assert row is not None
    first = [
        Problem(r["line"], r["field"], r["detail"])
        for r in conn.execute(SQL["first_problems"], {"limit": limit})
    ]
    return int(row["n"]), first


def store(conn: Connection, agency_id: UUID) -> Stored:
    """Insert what is new; what was stored, already present and linked, per record type."""
    params = {"agency_id": agency_id}
    stored = {
        "party": conn.execute(SQL["store_parties"], params).rowcount,
        "item": conn.execute(SQL["store_items"], params).rowcount,
        "euc": conn.execute(SQL["store_eucs"], params).rowcount,
    }
    conn.execute(SQL["store_euc_lines"], params)
    stored["event"] = conn.execute(SQL["store_events"], params).rowcount
    conn.execute(SQL["store_event_items"], params)
    present, linked = {}, {}
    for record_type, table in STAGING.items():
        row = conn.execute(_on(SQL["present_count"], table)).fetchone()
        assert row is not None
        present[record_type] = int(row["present"])
        if record_type in LINKABLE:
            linked[record_type] = int(row["linked"])
    return Stored(stored, present, linked)


def not_applied(conn: Connection, limit: int) -> tuple[NotApplied, ...]:
    """The file's linked records that it describes otherwise than the records that stand, with
    those fields (not applied), the first `limit` by line; after `store`."""
    rows = conn.execute(_LINKED_NOT_APPLIED, {"limit": limit})
    return tuple(
        NotApplied(r["line"], r["record_type"], r["ref"], tuple(r["fields"])) for r in rows
    )


def store_references(conn: Connection, agency_id: UUID, import_id: UUID) -> None:
    """The sender's references of the records just stored (after the import's record)."""
    for record_type, table in STAGING.items():
        conn.execute(
            _on(SQL["store_references"], table),
            {"agency_id": agency_id, "record_type": record_type, "import_id": import_id},
        )


def touched_items(
    conn: Connection, batch: int, share_out: Callable[[list[UUID]], list[UUID]]
) -> Iterator[list[UUID]]:
    """The items the new events name, those shipped after a new export under its
    certificate line, and those whose share of a consent of a quantity the file changed
    (service/consent_shares.py), whose chains may put them on the alert list, in batches, in id
    order. The writers of the touched items stored before the file are locked out first
    (alerts.lock_item_writes), then the certificates the file's events name and those those
    items were shipped under (alerts.lock_certificates), then the touched items' refreshes,
    all at once (alerts.lock_items_in); those whose chains cannot be listed are then left out.

    The locks are taken here, after the file's records are stored, not before: whoever of two
    writers under a certificate derives second sees the other's facts and derives again what
    they change (a revocation finds every export under it; an export, the later shipments on
    its line; a move, the share-out of its certificate's consents), so only the derivation
    needs them, and other writers wait for the alert list and the commit, not for the whole
    import. `share_out` shares out the consents of a quantity of the certificates locked again
    (service.consent_shares.derive), and says which items' shares changed."""
    conn.execute(SQL["collect_touched_items"])
    conn.execute(SQL["lock_item_writes_of_file"], {"lock_space": alerts.ITEM_WRITE_LOCK_SPACE})
    named = [row["euc_id"] for row in conn.execute(SQL["certificates_of_file"])]
    shipping = [row["euc_id"] for row in conn.execute(SQL["certificates_shipping_file_items"])]
    certificates = sorted({*named, *shipping})
    alerts.lock_certificates(conn, certificates)
    conn.execute(SQL["collect_later_shipments"])
    changed = share_out(certificates)
    if changed:
        conn.execute(SQL["collect_items_of_changed_shares"], {"item_ids": changed})
    conn.execute(SQL["collect_touched_before"])
    alerts.lock_items_in(conn, "import_touched_before")
    conn.execute(
        SQL["keep_alert_candidates"],
        {"listing_types": sorted(LISTING_EVENT_TYPES), "transfer_types": sorted(TRANSFER_TYPES)},
    )
    return rows.id_batches(conn, SQL["touched_items_after"], batch)


def insert(conn: Connection, agency_id: UUID, record: ImportRecord) -> ImportRecord:
    row = conn.execute(
        SQL["insert_import"],
        {
            "id": record.id,
            "agency_id": agency_id,
            "status": record.status,
            "media_type": record.media_type,
            "record_type": record.record_type,
            "sha256": bytes.fromhex(record.sha256),
            "lines": record.lines,
            # The linked counts are kept in the `stored` document (under "linked"), which the
            # imports table has room for: a column of their own would be a schema change.
            "stored": Jsonb(_stored_document(record)),
            "already_present": Jsonb(record.already_present),
            "error_count": record.error_count,
            "errors": Jsonb([_problem_document(p) for p in record.errors]),
            "started_at": record.started_at,
        },
    ).fetchone()
    assert row is not None
    return replace(record, finished_at=row["finished_at"])


def get(conn: Connection, agency_id: UUID, import_id: UUID) -> ImportRecord | None:
    """The agency's import: its record once loaded, else as it reads while it waits for a
    worker (`waiting`), else None."""
    row = conn.execute(SQL["get_import"], {"id": import_id, "agency_id": agency_id}).fetchone()
    if row is None:
        return waiting(conn, agency_id, import_id)
    errors = tuple(Problem(p["line"], p["field"], p["detail"]) for p in row["errors"])
    return ImportRecord(**_summary(row), errors=errors, not_applied=_not_applied_of(row))


def completed_import_of(
    conn: Connection, agency_id: UUID, sha256: bytes, media_type: str, record_type: str | None
) -> ImportSummary | None:
    """The agency's latest COMPLETED import of the very same file, if any."""
    row = conn.execute(
        SQL["completed_import_of"],
        {
            "agency_id": agency_id,
            "sha256": sha256,
            "media_type": media_type,
            "record_type": record_type,
        },
    ).fetchone()
    return None if row is None else ImportSummary(**_summary(row))


# The keys of the `stored` document under which an import's linked counts, and what it did not
# apply of the records it linked, are kept (`insert`).
_LINKED = "linked"
_NOT_APPLIED = "not_applied"


def _stored_document(record: ImportRecord) -> dict[str, Any]:
    # The imports table has room for these in the `stored` document: a column of their own
    # would be a schema change.
    document: dict[str, Any] = dict(record.stored)
    if record.linked:
        document[_LINKED] = record.linked
    if record.not_applied:
        document[_NOT_APPLIED] = [
            {"line": n.line, "record_type": n.record_type, "ref": n.ref, "fields": list(n.fields)}
            for n in record.not_applied
        ]
    return document


def _not_applied_of(row: dict[str, Any]) -> tuple[NotApplied, ...]:
    kept = row["stored"].get(_NOT_APPLIED, [])
    return tuple(
        NotApplied(n["line"], n["record_type"], n["ref"], tuple(n["fields"])) for n in kept
    )


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """The fields an import's record and its summary share, from a row (an import of before
    linking, or one that stored nothing, linked nothing)."""
    stored = dict(row["stored"])
    linked = stored.pop(_LINKED, None)
    stored.pop(_NOT_APPLIED, None)
    return {
        "id": row["id"],
        "status": row["status"],
        "media_type": row["media_type"],
        "record_type": row["record_type"],
        "sha256": bytes(row["sha256"]).hex(),
        "lines": row["lines"],
        "stored": _in_order(stored),
        "already_present": _in_order(row["already_present"]),
        "linked": _in_order(linked if linked is not None else _nothing_linked(row)),
        "error_count": row["error_count"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
    }


def _in_order(counts: dict[str, int]) -> dict[str, int]:
    """Counts by record type in the order the answer to the import gives them (party, item,
    euc, event), not the order jsonb keeps keys in (by length, then bytes)."""
    return {kind: counts[kind] for kind in STAGING if kind in counts}


def _nothing_linked(row: dict[str, Any]) -> dict[str, int]:
    """The linked counts of an import that kept none: zeros beside a COMPLETED import's stored
    counts (it ran before linking was), none beside a refused or waiting one's."""
    return dict.fromkeys(LINKABLE, 0) if row["stored"] else {}


def _problem_document(problem: Problem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "field": _storable(problem.field),
        "detail": _storable(problem.detail),
    }


def _storable(text: str) -> str:
    """Text that PostgreSQL can keep: a problem names what the file said (a field's name may
    hold U+0000, which neither text nor jsonb can store), so the character is written out."""
    return text.replace("\x00", "\\u0000")


def _on(query: str, table: str) -> sql.Composed:
    return sql.SQL(query).format(staging=sql.Identifier(table))


def queue(
    conn: Connection,
    job: Job,
    chunks: Iterable[bytes],
    arrived_at: datetime | None = None,
) -> None:
    """Keep the file for a worker, a chunk a row (never whole in memory), in its agency's
    order by when it came (`arrived_at`; None: now)."""
    conn.execute(
        SQL["queue_job"],
        {
            "id": job.id,
            "agency_id": job.agency_id,
            "media_type": job.media_type,
            "record_type": job.record_type,
            "sha256": job.sha256,
            "size": job.size,
            "sent_by_key_prefix": job.sent_by_key_prefix,
            "arrived_at": arrived_at,
        },
    )
    for seq, data in enumerate(chunks):
        conn.execute(SQL["insert_chunk"], {"job_id": job.id, "seq": seq, "data": data})


def claim(conn: Connection, lease_seconds: float) -> Job | None:
    """Lease the oldest job nobody holds (committed at once: call outside a transaction)."""
    row = conn.execute(SQL["claim_job"], {"lease_seconds": lease_seconds}).fetchone()
    if row is None:
        return None
    return Job(
        id=row["id"],
        agency_id=row["agency_id"],
        media_type=row["media_type"],
        record_type=row["record_type"],
        sha256=bytes(row["sha256"]),
        size=row["size"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_by_key_prefix=row["sent_by_key_prefix"],
    )


def sender(conn: Connection, job: Job) -> Sender | None:
    """The key that queued the job, as it stands now; None when the job names none."""
    if job.sent_by_key_prefix is None:
        return None
    row = conn.execute(SQL["job_sender"], {"prefix": job.sent_by_key_prefix}).fetchone()
    if row is None:
        return None
    return Sender(
        prefix=row["prefix"],
        scopes=tuple(row["scopes"]),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        judged_at=row["judged_at"],
    )


def database_clock(conn: Connection) -> datetime:
    """The time by the database's clock: what decides a key's validity and stamps what is
    stored, whatever the clock of the machine that asks."""
    row = conn.execute(SQL["database_clock"]).fetchone()
    assert row is not None
    now: datetime = row["now"]
    return now


def chunks(conn: Connection, job_id: UUID) -> Iterator[bytes]:
    """A queued file read back a chunk at a time."""
    seq = 0
    while True:
        row = conn.execute(SQL["chunk"], {"job_id": job_id, "seq": seq}).fetchone()
        if row is None:
            return
        yield bytes(row["data"])
        seq += 1


def lock(conn: Connection, job_id: UUID) -> bool:
    """Hold the job for this transaction (see lock_job); False when it is gone."""
    return conn.execute(SQL["lock_job"], {"id": job_id}).fetchone() is not None


def note_error(conn: Connection, job_id: UUID, error: str) -> None:
    """Keep why a load failed; the job is due again after a pause."""
    conn.execute(SQL["note_job_error"], {"id": job_id, "error": _storable(error)[:2000]})


def hand_back(conn: Connection, job_id: UUID, pause_seconds: float) -> None:
    """A job that could not start: due again after `pause_seconds`, the attempt not counted."""
    conn.execute(SQL["hand_back_job"], {"id": job_id, "pause_seconds": pause_seconds})


def has_queued(conn: Connection, agency_id: UUID, before: datetime | None = None) -> bool:
    """Whether the agency has files waiting for the worker (or being loaded by it), of those
    that came before `before` when it is given."""
    params = {"agency_id": agency_id, "before": before}
    row = conn.execute(SQL["agency_has_queued_jobs"], params).fetchone()
    return row is not None and bool(row["queued"])


def finish(conn: Connection, job_id: UUID) -> None:
    """The job is done (in the transaction that recorded its import)."""
    conn.execute(SQL["delete_job"], {"id": job_id})


def waiting(conn: Connection, agency_id: UUID, import_id: UUID) -> ImportRecord | None:
    """A queued import as its record reads until a worker has loaded it."""
    row = conn.execute(SQL["get_job"], {"id": import_id, "agency_id": agency_id}).fetchone()
    if row is None:
        return None
    return ImportRecord(**_summary(row), errors=())


def find(
    conn: Connection, agency_id: UUID, *, status: str | None, before: UUID | None, limit: int
) -> list[ImportSummary]:
    params = {"agency_id": agency_id, "status": status, "before": before or NEWEST, "limit": limit}
    return [ImportSummary(**_summary(row)) for row in conn.execute(SQL["list_imports"], params)]
