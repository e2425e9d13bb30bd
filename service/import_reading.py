"""Reading an import file into staging rows: each record checked by the rules of its single POST
and turned into the rows COPY sends to the staging tables (service.repository.imports).

A large NDJSON file is read by several processes (`parallel_blocks`): the importing process reads
lines, a block at a time, and hands each block to a reader process, which checks its records and
writes their rows as COPY text; the importing process sends that text on, block after block in
the file's order. Lines go out and text comes back, so nothing costly is pickled. Reading was the
largest part of an import, on one core, while PostgreSQL's backend took the COPY data on the
other with time to spare.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, BinaryIO
from uuid import UUID

import orjson
from marshmallow import ValidationError
from psycopg.types.json import Jsonb

from service.db import Connection
from service.domain.ids import reserve_uuid7, uuid7, uuid7_at
from service.domain.imports import GIVEN_TWICE, Document, Problem, lines, ndjson_line
from service.domain.registrations import registration_key
from service.domain.serials import fold_serial, normalise_name
from service.repository import imports
from service.schemas.fields import InputContext, field_errors
from service.schemas.imports import (
    COMPILED,
    SCHEMAS,
    EucRecord,
    EventRecordIn,
    ImportedRecord,
    ItemRecord,
    PartyRecord,
    reference,
)
from service.schemas.registry import MAX_ITEMS_PER_EVENT

CHUNK_ROWS = 5_000
# Lines a reader process is handed at a time (fewer when they come to BLOCK_BYTES), and blocks
# in flight per reader: memory stays flat, whatever the file's size or its lines' length (a
# block holds less than BLOCK_BYTES plus one line, and a line at most LONGEST_LINE).
BLOCK_LINES = 2_000
BLOCK_BYTES = 1 << 20
BLOCKS_AHEAD = 2
PARENT_CHECK_SECONDS = 0.5


def load_record(
    entry: Document | Problem, record_type: str | None, countries: frozenset[str]
) -> ImportedRecord | list[Problem]:
    """The record a document holds, or its problems (one per field; a line that held no
    document has its own)."""
    if isinstance(entry, Problem):
        return [entry]
    if entry.repeated:
        return [Problem(entry.line, field, GIVEN_TWICE) for field in entry.repeated]
    fields = entry.fields
    kind = fields.get("record_type")
    if not isinstance(kind, str) or kind not in SCHEMAS:
        return [Problem(entry.line, "record_type", f"one of: {', '.join(SCHEMAS)}")]
    if record_type is not None and kind != record_type:
        return [Problem(entry.line, "record_type", f"this file holds {record_type} records")]
    compiled = COMPILED.get(kind)
    if compiled is not None:
        quick: ImportedRecord | None = compiled.load(fields, countries)
        if quick is not None:
            return quick
    try:
        loaded: ImportedRecord = SCHEMAS[kind].load(fields)
    except ValidationError as exc:
        return [
            Problem(entry.line_of(error.field), entry.spelled(error.field), error.detail)
            for error in field_errors(exc.messages, "body")
        ]
    return loaded


def refused_reference(entry: Document | Problem) -> tuple[str, str] | None:
    """The record type and reference of a record refused as read, when it has a readable one
    (as the schema would take it), for the records that name it."""
    if isinstance(entry, Problem):
        return None
    kind = entry.fields.get("record_type")
    if not isinstance(kind, str) or kind not in SCHEMAS:
        return None
    try:
        ref = _REFERENCE.deserialize(entry.fields.get("ref"))
    except ValidationError:
        return None
    return (kind, ref) if isinstance(ref, str) else None


_REFERENCE = reference(required=True)
# The fields by which a record names others, and the record type each names, per record type.
_NAMING_FIELDS = {
    "euc": (("exporter_party_ref", "party"), ("end_user_party_ref", "party")),
    "event": (
        ("from_party_ref", "party"),
        ("to_party_ref", "party"),
        ("owner_party_ref", "party"),
        ("euc_ref", "euc"),
        ("item_refs", "item"),
    ),
}


def refused_names(entry: Document | Problem, record_type: str | None) -> list[tuple[str, str, str]]:
    """The references that a record refused as read names, each readable one as the schema
    would take it (field, record type, reference): they are checked as a stored record's are,
    so that the line's problems are told at once (told its date alone, the sender found its
    references wrong a file later). A field the schema refused (not a text, too long) is left
    to its own problem. Nothing for a record of another type than the file's (`record_type`),
    which belongs in another file."""
    if isinstance(entry, Problem) or entry.repeated:
        return []
    kind = entry.fields.get("record_type")
    if not isinstance(kind, str) or record_type not in (None, kind):
        return []
    # A dict keeps them in order, each once (a ref given twice: one problem); a list's
    # membership test made a refused line of 20,000 item references cost 7.8 s of Python.
    names: dict[tuple[str, str, str], None] = {}
    for field_name, named_type in _NAMING_FIELDS.get(kind, ()):
        value = entry.fields.get(field_name)
        values = value if field_name == "item_refs" and isinstance(value, list) else [value]
        if len(values) > MAX_ITEMS_PER_EVENT:
            continue  # a problem of its own (too many items); a line of 1 MiB holds 170,000
        for each in values:
            if not isinstance(each, str):
                continue
            try:
                ref = _REFERENCE.deserialize(each)
            except ValidationError:
                continue
            if isinstance(ref, str):
                names[(field_name, named_type, ref)] = None
    return list(names)


def staging_rows(
    line: int, record: ImportedRecord, record_id: UUID
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The staging rows of one record, which will be stored under record_id: (table, row in
    imports.COLUMNS order)."""
    if isinstance(record, PartyRecord):
        party = record.party
        number = party.registration_number
        yield "import_parties", (
            line, record.ref, record_id, party.name, party.kind, party.country, number,
            None if number is None else registration_key(number), party.address,
            party.classification,
        )  # fmt: skip
    elif isinstance(record, ItemRecord):
        item = record.item
        yield "import_items", (
            line, record.ref, record_id, item.manufacturer, normalise_name(item.manufacturer),
            item.model, normalise_name(item.model), item.category, item.caliber,
            item.serial_number, fold_serial(item.serial_number),
            item.country_of_manufacture, item.year_of_manufacture,
            Jsonb([asdict(marking) for marking in item.import_markings]), item.other_markings,
        )  # fmt: skip
    elif isinstance(record, EucRecord):
        euc = record.euc
        yield "import_eucs", (
            line, record.ref, record_id, euc.certificate_number,
            fold_serial(euc.certificate_number), euc.issuing_country,
            euc.issuing_authority, euc.issued_on, euc.expires_on, record.exporter_party_ref,
            record.end_user_party_ref, euc.destination_country, euc.stated_end_use,
            euc.non_reexport_clause,
        )  # fmt: skip
        for item_line in euc.line_items:
            yield "import_euc_lines", (
                line, record.ref, item_line.line_number, item_line.description,
                item_line.category, item_line.model, item_line.quantity,
            )  # fmt: skip
    elif isinstance(record, EventRecordIn):
        event = record.event
        yield "import_events", (
            line, record.ref, record_id, event.event_type, event.occurred_on, event.country,
            event.destination_country, record.from_party_ref, record.to_party_ref,
            record.owner_party_ref, record.euc_ref, event.euc_line_number,
            len(record.item_refs), event.licence_number, event.document_reference, event.notes,
            event.classification,
        )  # fmt: skip
        for item_ref in record.item_refs:
            yield "import_event_items", (line, record.ref, item_ref)


class Staging:
    """Rows waiting for COPY, per staging table, flushed a chunk at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in imports.COLUMNS}
        self.pending = 0

    def add(self, line: int, record: ImportedRecord) -> None:
        for table, row in staging_rows(line, record, uuid7()):
            self.rows[table].append(row)
            self.pending += 1
        self._flush_when_full()

    def refuse(
        self,
        line: int,
        refused: tuple[str, str] | None,
        names: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        """Note the reference of a record refused as read (refused_reference), and those it
        names (refused_names)."""
        if refused is not None:
            self.rows["import_refused"].append((line, *refused))
            self.pending += 1
        for name in names:
            self.rows["import_refused_names"].append((line, *name))
            self.pending += 1
        # A file of refused records only: nothing else would send these on before its end.
        self._flush_when_full()

    def _flush_when_full(self) -> None:
        if self.pending >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                imports.copy_rows(self.conn, table, rows)
                rows.clear()
        self.pending = 0


# COPY's text format: a row a line, tab between columns, \N for NULL, and backslash, tab, line
# feed and carriage return escaped (the schemas refuse every other control character).
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escaped(text: str) -> str:
    # Four scans in C cost less than translate() on text that needs nothing (nearly all of it).
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def _json(value: Jsonb) -> str:
    return _escaped(orjson.dumps(value.obj).decode())


# By exact type: a datetime is a date, and would not read back as one; a bool is an int.
_COPY_TEXT: dict[type, Callable[[Any], str]] = {
    str: _escaped,
    int: str,
    type(None): lambda _: "\\N",
    bool: lambda value: "t" if value else "f",
    UUID: str,
    date: date.isoformat,
    Jsonb: _json,
}


def copy_line(row: Sequence[Any]) -> str:
    """A staging row as COPY's text format writes it (what psycopg's write_row sends)."""
    try:
        return "\t".join([_COPY_TEXT[type(value)](value) for value in row]) + "\n"
    except KeyError as unknown:
        raise TypeError(f"no COPY text for {unknown.args[0].__name__}") from None


@dataclass
class Block:
    """What a reader made of a block of lines: the records read, the problems of the others (in
    line order), and each staging table's rows as COPY text."""

    # the last line that held a record or a problem (0: none did)
    last_entry_line: int = 0
    records: int = 0
    problems: list[Problem] = field(default_factory=list)
    copy_data: dict[str, str] = field(default_factory=dict)


def read_block(
    first_line: int,
    raw_lines: list[bytes | None],
    record_type: str | None,
    countries: frozenset[str],
    first_id: int,
) -> Block:
    """Check a block of NDJSON lines (numbered from first_line) and write their staging rows.
    The record of the block's k-th line gets the id uuid7_at(first_id + k): ids that rise with
    the line, across blocks too, as when one process reads the file (same-day events whose
    recording times tie are put in chain order by id)."""
    block = Block()
    text: dict[str, list[str]] = {}
    with InputContext({"countries": countries}):
        for number, raw in enumerate(raw_lines, start=first_line):
            entry = ndjson_line(number, raw)
            if entry is None:
                continue
            block.last_entry_line = number
            loaded = load_record(entry, record_type, countries)
            if isinstance(loaded, list):
                block.problems.extend(loaded)
                if (refused := refused_reference(entry)) is not None:
                    text.setdefault("import_refused", []).append(copy_line((number, *refused)))
                for name in refused_names(entry, record_type):
                    text.setdefault("import_refused_names", []).append(copy_line((number, *name)))
                continue
            block.records += 1
            record_id = uuid7_at(first_id + number - first_line)
            for table, row in staging_rows(number, loaded, record_id):
                text.setdefault(table, []).append(copy_line(row))
    block.copy_data = {table: "".join(rows) for table, rows in text.items()}
    return block


def parallel_blocks(
    stream: BinaryIO, record_type: str | None, countries: frozenset[str], readers: int
) -> Generator[Block, None, None]:
    """The file's blocks as `readers` processes read them, in the file's order."""
    # spawn, not fork: the importing process holds a connection (and, in a worker, threads).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        readers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
    ) as pool:
        ahead: deque[Future[Block]] = deque()
        for first_line, block in _numbered_blocks(lines(stream)):
            first_id = reserve_uuid7(len(block))
            ahead.append(
                pool.submit(read_block, first_line, block, record_type, countries, first_id)
            )
            if len(ahead) >= readers * BLOCKS_AHEAD:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _exit_with(parent: int) -> None:
    """Make this reader end when the importing process does, however it ends: killed, it
    cannot stop its readers, and one waiting to hand back a block would wait for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-importer", daemon=True).start()


def _numbered_blocks(
    raw_lines: Iterable[bytes | None],
) -> Iterator[tuple[int, list[bytes | None]]]:
    """Blocks of BLOCK_LINES lines, or fewer when they reach BLOCK_BYTES (long lines)."""
    block: list[bytes | None] = []
    size = 0
    first = 1
    for number, raw in enumerate(raw_lines, start=1):
        if not block:
            first = number
        block.append(raw)
        size += len(raw) if raw is not None else 0
        if len(block) == BLOCK_LINES or size >= BLOCK_BYTES:
            yield first, block
            block, size = [], 0
    if block:
        yield first, block
