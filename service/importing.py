"""A bulk import: a file of parties, items, certificates and events, all stored or none.

The file is read once, a line at a time. Each record is checked by the same rules as a single
POST (service.schemas.imports) and staged with COPY, a chunk at a time, into temporary tables;
then set-based SQL resolves the sender's references, finds the records an earlier import already
brought (they are skipped: a file sent twice stores nothing the second time), links the items
and parties that another agency recorded with the same identity (nothing is stored for them: the
sender's references are bound to those records), checks what the registry keeps unique, and
inserts everything in a handful of statements. The alert list is
derived again for the items the new events touch, except those whose chains cannot be listed
(service.domain.alerts.may_be_listed). Memory stays flat whatever the file's size:
a chunk of rows, and the first problems.

Any problem (all of them are found, not just the first) rolls the records back; the import's
own record, with its problems, is kept either way. A file whose very bytes the agency imported
before (the caller passes its hash) is answered from that import, without being read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from bisect import insort
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any, BinaryIO, TypeVar
from uuid import UUID

import psycopg

from service import alerts, consent_shares
from service.db import Connection
from service.deadlines import Deadline
from service.domain import api_keys
from service.domain.ids import uuid7
from service.domain.imports import CSV, LONGEST_MARK, NDJSON, Problem, documents, not_utf_8
from service.domain.streams import PiecesStream
from service.errors import ImportsBusy
from service.import_reading import (
    CHUNK_ROWS,
    Staging,
    load_record,
    parallel_blocks,
    refused_names,
    refused_reference,
)
from service.repository import imports
from service.repository.imports import ImportRecord
from service.schemas.fields import InputContext
from service.schemas.imports import CSV_COLUMNS

T = TypeVar("T")

# NDJSON files this large or larger are read by several processes (service.import_reading): below
# it, starting them costs more than they save.
PARALLEL_READING_BYTES = 16 * 1024**2
# Readers one per core by default, up to this many: PostgreSQL takes the COPY data on one
# backend, and each reader holds its blocks.
MAX_READERS = 8


# The phase of a file answered from an earlier import of the same bytes, which is not read.
FOUND_IMPORTED_BEFORE = "found imported before"


@dataclass
class Progress:
    """What the reader has done so far (for a progress bar)."""

    lines: int = 0
    records: int = 0
    bytes_read: int = 0
    started: float = field(default_factory=time.monotonic)
    # seconds each phase took, in the order they ran (reading, checking, storing, ...)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def found_imported_before(self) -> bool:
        """Whether the file was answered from an earlier import of the same bytes, unread."""
        return FOUND_IMPORTED_BEFORE in self.phases

    def lap(self, phase: str) -> None:
        """The phase just ended."""
        now = time.monotonic()
        self.phases[phase] = now - self.started - sum(self.phases.values())


Report = Callable[[Progress], None]


class _Rejected(Exception):
    """The file has problems: roll its records back."""


class _Hashing(io.RawIOBase):
    """Reads through to the file, hashing and counting what passes."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        self.digest.update(data)
        self.progress.bytes_read += len(data)
        return len(data)


@dataclass(frozen=True)
class Request:
    agency_id: UUID
    media_type: str
    record_type: str | None
    countries: frozenset[str]
    today: date
    verification_days: int
    errors_kept: int = 1_000
    # a queued import keeps the id it was given when it was queued
    import_id: UUID | None = None
    # processes that read the file (readers_for); 1: the importing process alone
    readers: int = 1
    # the file's SHA-256, when the caller has it before reading: a file this agency imported
    # before, byte for byte, is then answered from that import without being read again
    sha256: bytes | None = None
    # how long to wait for the agency's other import to end (None: as long as it takes; 0:
    # not at all), before ImportsBusy
    wait_seconds: float | None = None
    # for a file loaded while its client waits: past this, ImportTooSlow (nothing kept)
    deadline: Deadline | None = None
    # when the file came, for a file loaded while its client waits: a file of the agency that
    # came before it and was queued meanwhile (it gave up waiting for the agency's lock) is
    # loaded first, and this one refused with ImportsBusy (the API then queues it behind)
    arrived_at: datetime | None = None


class ImportTooSlow(Exception):
    """A file loaded while its client waits did not load within its deadline: it was rolled
    back, no record of it kept, and the API queues it for the worker instead (202)."""


def readers_for(media_type: str, size: int | None, configured: int) -> int:
    """How many processes should read a file: for NDJSON of PARALLEL_READING_BYTES or more,
    `configured` (0: one per core this process may run on, at most MAX_READERS); otherwise 1,
    the importing process itself."""
    if media_type != NDJSON or size is None or size < PARALLEL_READING_BYTES:
        return 1
    return configured or min(len(os.sched_getaffinity(0)), MAX_READERS)


def run(
    conn: Connection, stream: IO[bytes], request: Request, report: Report | None = None
) -> ImportRecord:
    """Import the file (inside the caller's transaction, if it has one); its import record."""
    progress = Progress()
    hashing = _Hashing(stream, progress)
    started_at = imports.database_clock(conn)
    import_id = request.import_id or uuid7()
    found = _Found(request.errors_kept)

    def record(status: str, sha256: str | None = None, **outcome: Any) -> ImportRecord:
        """The import's own record, stored (finished_at is the database's clock)."""
        return imports.insert(
            conn,
            request.agency_id,
            ImportRecord(
                id=import_id,
                status=status,
                media_type=request.media_type,
                record_type=request.record_type,
                sha256=sha256 or hashing.digest.hexdigest(),
                lines=progress.lines,
                started_at=started_at,
                finished_at=None,
                **outcome,
            ),
        )

    def in_time() -> None:
        """ImportTooSlow past the request's deadline; each statement bounded by what is left."""
        if request.deadline is not None:
            request.deadline.keep(conn, ImportTooSlow)

    def load() -> ImportRecord:
        """Read, check and store the file (raises _Rejected when it has problems)."""
        _stage(conn, hashing, request, progress, found, report, in_time)
        if progress.records == 0 and found.count == 0:
            found.add([Problem(1, "", "the file holds no records")])
        progress.lap("reading")
        in_time()
        imports.check(conn, request.agency_id)
        checked_count, checked = imports.problems(conn, request.errors_kept)
        found.merge(checked_count, checked)
        progress.lap("checks")
        if found.count:
            raise _Rejected
        in_time()
        outcome = _store(conn, request, found)
        completed = record(
            "COMPLETED",
            stored=outcome.stored,
            already_present=outcome.already_present,
            linked=outcome.linked,
            error_count=0,
            errors=(),
            # a scan of the staging tables, spared a file that linked nothing
            not_applied=(
                imports.not_applied(conn, request.errors_kept)
                if any(outcome.linked.values())
                else ()
            ),
        )
        progress.lap("inserts")
        in_time()
        imports.store_references(conn, request.agency_id, import_id)
        progress.lap("references")

        def share_out(certificates: list[UUID]) -> list[UUID]:
            derived = consent_shares.derive(
                conn, certificates, request.today, request.verification_days
            )
            return derived.changed_items

        alerts.refresh_in_turn(
            conn,
            _each_in_time(imports.touched_items(conn, alerts.BATCH, share_out), in_time),
            request.today,
            request.verification_days,
        )
        progress.lap("alert list")
        return completed

    try:
        cut = request.deadline.cancels_as(ImportTooSlow) if request.deadline else nullcontext()
        with cut, conn.transaction():
            imports.prepare(conn, request.agency_id, request.wait_seconds)
            if request.arrived_at is not None and imports.has_queued(
                conn, request.agency_id, before=request.arrived_at
            ):
                # Both waited for the lock: the earlier file gave up and was queued, and this
                # one, sent after it, took the lock first. A later file may name an earlier
                # one's records: loaded first, it was refused for references not yet stored.
                raise ImportsBusy("an earlier file of your agency is queued")
            in_time()
            # After the agency's lock: a copy of the file still being loaded is committed by now.
            earlier = _earlier_import(conn, request)
            if earlier is None:
                completed = load()
            else:
                progress.lines = earlier.lines
                progress.lap(FOUND_IMPORTED_BEFORE)
                completed = record(
                    "COMPLETED",
                    sha256=earlier.sha256,
                    stored=dict.fromkeys(imports.STAGING, 0),
                    # what the earlier import linked is bound to the agency's references now
                    already_present={
                        kind: earlier.stored.get(kind, 0)
                        + earlier.already_present.get(kind, 0)
                        + earlier.linked.get(kind, 0)
                        for kind in imports.STAGING
                    },
                    linked=dict.fromkeys(imports.LINKABLE, 0),
                    error_count=0,
                    errors=(),
                )
            if request.deadline is not None:
                # The import's own statements are done: the request's audit entry, its answer
                # and the commit are not to be cut by what was left of its time.
                request.deadline.release(conn)
    except _Rejected:
        return record(
            "FAILED",
            stored={},
            already_present={},
            linked={},
            error_count=found.count,
            errors=tuple(found.first),
        )
    progress.lap("commit")
    if report is not None:
        report(progress)
    return completed


def _store(conn: Connection, request: Request, found: _Found) -> imports.Stored:
    """imports.store; a serial, registration or certificate number that another agency's file
    stored since the checks (its import ran beside this one) is a problem of its line, not the
    unique index's bare 409 with no line and no record of the import."""
    try:
        with conn.transaction():  # a savepoint, to check again after the unique index's refusal
            return imports.store(conn, request.agency_id)
    except psycopg.errors.UniqueViolation:
        imports.check_identities(conn, request.agency_id)
        found.merge(*imports.problems(conn, request.errors_kept))
        if found.count:
            raise _Rejected from None
        raise


def _each_in_time(batches: Iterable[T], in_time: Callable[[], None]) -> Iterator[T]:
    for batch in batches:
        in_time()
        yield batch


def _earlier_import(conn: Connection, request: Request) -> imports.ImportSummary | None:
    """This agency's completed import of the same bytes, when the caller knows the file's hash."""
    if request.sha256 is None:
        return None
    return imports.completed_import_of(
        conn, request.agency_id, request.sha256, request.media_type, request.record_type
    )


# The longest field and detail (in characters) of a problem kept. A problem names what the file
# said, which may be as long as a line: a CSV column of 130,000 characters unknown to the schema
# was named whole in the problem of each of 1,000 rows (130 MB of answer and import record,
# 1.8 GB of memory, from a file of 170 KB).
PROBLEM_FIELD = 200
PROBLEM_DETAIL = 1_000


class _Found:
    """Every problem counted; the first `kept` of them, by line, kept (clipped)."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self.count = 0
        self.first: list[Problem] = []

    def add(self, problems: list[Problem]) -> None:
        """Problems of the file as read: nearly always in line order, but not always (a CSV
        certificate's own problems come before those of its later rows that say otherwise than
        its first, and were kept in their place, past a limit, before a row's of a line above)."""
        self.count += len(problems)
        for problem in problems:
            if len(self.first) < self.kept or (self.first and problem < self.first[-1]):
                insort(self.first, problem.clipped(PROBLEM_FIELD, PROBLEM_DETAIL))
                del self.first[self.kept :]

    def merge(self, count: int, first: list[Problem]) -> None:
        """The checks' problems (their first ones, by line)."""
        self.count += count
        self.first = sorted([*self.first, *_clipped(first)])[: self.kept]


def _clipped(problems: list[Problem]) -> list[Problem]:
    return [problem.clipped(PROBLEM_FIELD, PROBLEM_DETAIL) for problem in problems]


def _stage(
    conn: Connection,
    hashing: _Hashing,
    request: Request,
    progress: Progress,
    found: _Found,
    report: Report | None,
    in_time: Callable[[], None],
) -> None:
    """Read every record, check it, and stage it with COPY (or note its problems)."""
    reader = io.BufferedReader(hashing, buffer_size=1 << 16)
    wrong_encoding = not_utf_8(reader.peek(LONGEST_MARK)[:LONGEST_MARK])
    if wrong_encoding is not None:
        found.add([wrong_encoding])
        while reader.read(1 << 16):  # read to its end all the same: the import's hash is the file's
            pass
        return
    if request.readers > 1 and request.media_type == NDJSON:  # CSV rows may span lines
        _stage_in_parallel(conn, reader, request, progress, found, report, in_time)
        return
    staging = Staging(conn)
    # A CSV file's header row is checked against its record type's columns, once.
    columns = CSV_COLUMNS.get(request.record_type or "") if request.media_type == CSV else None
    with InputContext({"countries": request.countries}):
        for entry in documents(reader, request.media_type, request.record_type, columns):
            # A CSV certificate comes when it ends, its rows' problems before it when it has
            # too many: the file's line is the furthest any came from.
            last_line = entry.line if isinstance(entry, Problem) else entry.last_line
            progress.lines = max(progress.lines, last_line)
            loaded = load_record(entry, request.record_type, request.countries)
            if isinstance(loaded, list):
                found.add(loaded)
                staging.refuse(
                    entry.line, refused_reference(entry), refused_names(entry, request.record_type)
                )
            else:
                progress.records += 1
                staging.add(entry.line, loaded)
            if progress.lines % CHUNK_ROWS == 0:
                in_time()
                if report is not None:
                    report(progress)
    staging.flush()


def _stage_in_parallel(
    conn: Connection,
    reader: BinaryIO,
    request: Request,
    progress: Progress,
    found: _Found,
    report: Report | None,
    in_time: Callable[[], None],
) -> None:
    """_stage with the records read by request.readers processes, a block of lines at a time;
    their rows go to COPY as the text the readers wrote."""
    blocks = parallel_blocks(reader, request.record_type, request.countries, request.readers)
    with contextlib.closing(blocks):  # a failed COPY stops the readers at once
        for block in blocks:
            progress.lines = block.last_entry_line or progress.lines
            progress.records += block.records
            found.add(block.problems)
            for table, text in block.copy_data.items():
                imports.copy_text(conn, table, text)
            in_time()
            if report is not None:
                report(progress)


# Queued imports (POST /v1/imports with a large file, or `Prefer: respond-async`) --------------

# What a key must hold to import (POST /v1/imports requires it, and the worker again).
SCOPE = "registry:write"
MAX_ATTEMPTS = 3
# The lease only has to cover the moment between a job's claim and its loader's hold on it
# (imports.lock): a job being loaded is held by its loader's transaction however long it takes,
# and a job whose worker died before holding it is taken up again after this.
LEASE_SECONDS = 120.0
# A job whose agency has another import being loaded waits this long before it is tried again.
BUSY_PAUSE_SECONDS = 30.0
# The file is kept in rows of this size (the API reads its spool a row at a time).
JOB_CHUNK_BYTES = 1 << 20


def queue(
    conn: Connection,
    agency_id: UUID,
    media_type: str,
    record_type: str | None,
    file: IO[bytes],
    *,
    sha256: bytes,
    size: int,
    sent_by_key_prefix: str | None,
    arrived_at: datetime | None = None,
) -> ImportRecord:
    """Keep a file for the worker (in the caller's transaction); its record, QUEUED, in its
    agency's order by when it came (`arrived_at`; None: now). The worker loads it only while
    the key that sent it is active."""
    job = imports.Job(
        id=uuid7(),
        agency_id=agency_id,
        media_type=media_type,
        record_type=record_type,
        sha256=sha256,
        size=size,
        attempts=0,
        sent_by_key_prefix=sent_by_key_prefix,
    )
    file.seek(0)
    imports.queue(conn, job, iter(lambda: file.read(JOB_CHUNK_BYTES), b""), arrived_at)
    waiting = imports.waiting(conn, agency_id, job.id)
    assert waiting is not None  # just queued, in this transaction
    return waiting


@dataclass(frozen=True)
class JobSettings:
    countries: frozenset[str]
    verification_days: int
    errors_kept: int = 1_000
    lease_seconds: float = LEASE_SECONDS
    # Settings.import_readers: 0, one per core (readers_for resolves it for each file)
    import_readers: int = 0


def run_next_job(conn: Connection, settings: JobSettings) -> ImportRecord | None:
    """Load the oldest queued import, if any (the caller's connection is in autocommit mode):
    the import, its record and the job's removal are one transaction, which holds the job
    throughout, so a worker that dies loses nothing, and nothing is loaded twice or taken from
    a worker still loading it. A job that failed MAX_ATTEMPTS times is recorded as FAILED, with
    the last error, and one whose key is no longer active (or lacks the scope) FAILED unread,
    with why. A job whose agency has another import being loaded is handed back for later
    (None), so that the worker goes on with its other work meanwhile."""
    job = imports.claim(conn, settings.lease_seconds)
    if job is None:
        return None
    request = Request(
        agency_id=job.agency_id,
        media_type=job.media_type,
        record_type=job.record_type,
        countries=settings.countries,
        today=datetime.now(UTC).date(),
        verification_days=settings.verification_days,
        errors_kept=settings.errors_kept,
        import_id=job.id,
        readers=readers_for(job.media_type, job.size, settings.import_readers),
        sha256=job.sha256,
        wait_seconds=0,
    )
    try:
        with conn.transaction():
            if not imports.lock(conn, job.id):
                return None  # gone since it was claimed
            if job.attempts > MAX_ATTEMPTS:
                record = _gave_up(conn, job)
            elif (refusal := _sender_refusal(conn, job)) is not None:
                record = _not_loaded(conn, job, refusal)
            else:
                stream = io.BufferedReader(PiecesStream(imports.chunks(conn, job.id)))
                record = run(conn, stream, request)
            imports.finish(conn, job.id)
    except ImportsBusy:
        imports.hand_back(conn, job.id, BUSY_PAUSE_SECONDS)
        return None
    except Exception as error:  # the database went away, or a bug: tried again after a pause
        with contextlib.suppress(Exception):
            imports.note_error(conn, job.id, f"{type(error).__name__}: {error}")
        raise
    return record


def _sender_refusal(conn: Connection, job: imports.Job) -> str | None:
    """Why the file may not be loaded in the name of the key that sent it, or None. The key is
    judged when the load starts, as a request is when it comes: one revoked (a stolen key, say)
    or expired since it queued the file stores nothing more. (Its scopes cannot change, but
    they are held to what the route requires all the same.)"""
    found = imports.sender(conn, job)
    if found is None:
        return "not loaded: no API key of the agency is recorded as having sent it"
    status = api_keys.status_of(found.revoked_at, found.expires_at, found.judged_at)
    if status == "REVOKED":
        assert found.revoked_at is not None
        why = f"was revoked at {found.revoked_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    elif status == "EXPIRED":
        assert found.expires_at is not None
        why = f"expired at {found.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    elif SCOPE not in found.scopes:
        why = f"lacks the `{SCOPE}` scope"
    else:
        return None
    return (
        f"not loaded: the API key {found.prefix} that sent it {why}, before a worker took the "
        "file up; nothing was stored: send it again with an active key"
    )


def _gave_up(conn: Connection, job: imports.Job) -> ImportRecord:
    # No error kept: no attempt failed in a way its worker could record; each worker that took
    # the job up stopped while it loaded (killed by a deploy, say), and its transaction with it.
    why = (
        f": the last failed with {job.last_error}"
        if job.last_error
        else ": each worker that took it up stopped before it finished (killed, or its "
        "connection to the database lost), storing nothing"
    )
    return _not_loaded(conn, job, f"the import could not be loaded in {MAX_ATTEMPTS} attempts{why}")


def _not_loaded(conn: Connection, job: imports.Job, detail: str) -> ImportRecord:
    """The record of a job FAILED without its file being read: one problem, `detail`."""
    now = imports.database_clock(conn)
    problem = Problem(1, "", detail)
    return imports.insert(
        conn,
        job.agency_id,
        ImportRecord(
            id=job.id,
            status="FAILED",
            media_type=job.media_type,
            record_type=job.record_type,
            sha256=job.sha256.hex(),
            lines=0,
            stored={},
            already_present={},
            linked={},
            error_count=1,
            errors=(problem,),
            started_at=now,
            finished_at=now,
        ),
    )
