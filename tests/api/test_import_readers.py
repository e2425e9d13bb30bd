"""A large NDJSON import read by several processes (service.import_reading.parallel_blocks)
stages exactly what one reader stages, problems and line numbers included, in the file's
order."""

from __future__ import annotations

import io
import select
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from psycopg.types.json import Jsonb

from service import import_reading, importing
from service.db import Connection
from service.domain.ids import reserve_uuid7
from service.domain.imports import NDJSON, Problem, documents
from service.import_reading import (
    Staging,
    copy_line,
    load_record,
    parallel_blocks,
    read_block,
    refused_reference,
)
from service.repository import agencies, imports
from service.schemas.fields import InputContext
from tests.api.test_imports import import_file as run
from tests.api.test_imports import ndjson, registry_file
from tests.conftest import rows_in
from tests.live import running
from tests.paths import ROOT

AWKWARD = "tab\there, line\nbreak, back\\slash \\N, return\r, quote \" and ' , АК-74 ✓"


def mixed_file() -> bytes:
    """Good records of every type, awkward text, blank lines and bad lines among them."""
    records: list[Any] = [*registry_file()]
    for n in range(40):
        records.append(
            {"record_type": "item", "ref": f"I-X{n}", "manufacturer": "Kalashnikov Concern",
             "model": "AKM", "category": "ASSAULT_RIFLE", "serial_number": f"АК {n:04d}",
             "other_markings": AWKWARD if n % 7 == 0 else None,
             "import_markings": [{"country": "KE", "year": 2011}] if n % 5 == 0 else []}
        )  # fmt: skip
        records.append(
            {"record_type": "event", "ref": f"E-X{n}", "event_type": "MANUFACTURE",
             "occurred_on": "2011-05-0" + str(1 + n % 9), "country": "RU",
             "to_party_ref": "P-MAKER", "item_refs": [f"I-X{n}"],
             "notes": AWKWARD if n % 3 == 0 else None}
        )  # fmt: skip
    body = ndjson(*records).split(b"\n")
    body.insert(9, b"")  # a blank line
    body.insert(30, b'{"record_type": "item", "ref": "I-BAD", "category": "LASER"}')
    body.insert(55, b"[1, 2]")
    return b"\n".join(body)


def staged(db: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every staging table's rows, ids left out (each reader makes its own)."""
    found = {}
    for table, columns in imports.STAGING_TABLES.items():
        names = ", ".join(name for name, _ in columns if name != "id")
        rows = db.execute(f"SELECT {names} FROM {table} ORDER BY 1, 2, 3").fetchall()
        found[table] = [tuple(row.values()) for row in rows]
    return found


def test_several_readers_stage_what_one_reader_stages(
    db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_reading, "BLOCK_LINES", 7)  # many blocks, out of step with readers
    body = mixed_file()
    countries = frozenset(agencies.known_countries(db))
    agency_id = agencies.ensure_agency(db, "Gendarmerie Nationale")[0].id
    with db.transaction():
        imports.prepare(db, agency_id)
        one_reader, problems = Staging(db), []
        with InputContext({"countries": countries}):
            for entry in documents(io.BytesIO(body), NDJSON, None, None):
                loaded = load_record(entry, None, countries)
                if isinstance(loaded, list):
                    problems.extend(loaded)
                    one_reader.refuse(entry.line, refused_reference(entry))
                else:
                    one_reader.add(entry.line, loaded)
        one_reader.flush()
        expected = staged(db)
        for table in imports.STAGING_TABLES:
            db.execute(f"DELETE FROM {table}")

        blocks = list(parallel_blocks(io.BytesIO(body), None, countries, readers=2))
        for block in blocks:
            for table, text in block.copy_data.items():
                imports.copy_text(db, table, text)
        found = staged(db)
        ids = db.execute("SELECT id FROM import_items").fetchall()

    assert found == expected
    assert found["import_refused"] == [(31, "item", "I-BAD")]  # named for those that name it
    assert len(found["import_items"]) == 42 and len(found["import_events"]) == 43
    assert [p for block in blocks for p in block.problems] == problems
    assert {p.line for p in problems} == {31, 56}
    assert problems[-1] == Problem(56, "", "each line must be one JSON object")
    assert sum(block.records for block in blocks) == 2 + 42 + 1 + 43
    assert len({row["id"] for row in ids}) == 42 and all(row["id"].version == 7 for row in ids)


def test_copy_text_is_what_psycopg_sends(db: Connection) -> None:
    """Every kind of staging value, written by psycopg's write_row and as copy_line's text,
    reads back the same."""
    rows = [
        (1, "plain", UUID(int=7), date(2011, 5, 1), True, 1975, Jsonb([{"country": "KE"}])),
        (2, AWKWARD, None, None, False, None, Jsonb([{"note": AWKWARD}])),
        (3, "\\", UUID(int=1 << 100), date(1, 1, 1), None, -1, Jsonb([])),
    ]
    columns = "n integer, t text, u uuid, d date, b boolean, s smallint, j jsonb"
    with db.transaction():
        db.execute(f"CREATE TEMP TABLE by_psycopg ({columns}) ON COMMIT DROP")
        db.execute(f"CREATE TEMP TABLE by_text ({columns}) ON COMMIT DROP")
        with db.cursor() as cursor, cursor.copy("COPY by_psycopg FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with db.cursor() as cursor, cursor.copy("COPY by_text FROM STDIN") as copy:
            copy.write("".join(copy_line(row) for row in rows))
        written = db.execute("SELECT * FROM by_psycopg ORDER BY n").fetchall()
        read_back = db.execute("SELECT * FROM by_text ORDER BY n").fetchall()

    assert read_back == written
    assert read_back[1]["t"] == AWKWARD


def test_copy_text_refuses_a_value_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="no COPY text for datetime"):
        copy_line([datetime.now(UTC)])


def test_a_file_read_in_parallel_is_stored_whole_and_then_present(
    db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_reading, "BLOCK_LINES", 5)
    body = ndjson(*registry_file(), *registry_file("-B")) + b"\n\n"

    first = run(db, body, readers=2)
    again = run(db, body, readers=1)

    assert first.status == "COMPLETED", first.errors
    assert first.stored == {"party": 4, "item": 4, "euc": 2, "event": 6}
    assert first.lines == 16  # the last line that held a record
    assert again.stored == {"party": 0, "item": 0, "euc": 0, "event": 0}
    assert again.already_present == {"party": 4, "item": 4, "euc": 2, "event": 6}
    assert rows_in(db, "custody_event_items") == 10


def test_a_bad_record_read_in_parallel_stores_nothing_and_is_named(
    db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_reading, "BLOCK_LINES", 3)
    records = [*registry_file()]
    records[4] = {**records[4], "issued_on": "not a date"}

    outcome = run(db, ndjson(*records), readers=2)

    assert outcome.status == "FAILED"
    assert outcome.errors == (
        Problem(5, "issued_on", "Not a valid date."),
        Problem(7, "euc_ref", "the euc C-1 of line 5 is not stored: it has problems of its own"),
    )
    assert rows_in(db, "items") == 0


@pytest.mark.parametrize(
    ("media_type", "size", "configured", "readers"),
    [
        (NDJSON, importing.PARALLEL_READING_BYTES, 3, 3),
        (NDJSON, importing.PARALLEL_READING_BYTES, 1, 1),
        (NDJSON, importing.PARALLEL_READING_BYTES - 1, 3, 1),
        (NDJSON, None, 3, 1),  # a stream made as it is read (a SIPRI extract)
        ("text/csv", 10 * importing.PARALLEL_READING_BYTES, 3, 1),
    ],
)
def test_only_large_ndjson_files_are_read_in_parallel(
    media_type: str, size: int | None, configured: int, readers: int
) -> None:
    assert importing.readers_for(media_type, size, configured) == readers


def test_zero_readers_means_one_per_core_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing.os, "sched_getaffinity", lambda _: set(range(6)))
    assert importing.readers_for(NDJSON, importing.PARALLEL_READING_BYTES, 0) == 6
    monkeypatch.setattr(importing.os, "sched_getaffinity", lambda _: set(range(64)))
    assert importing.readers_for(NDJSON, importing.PARALLEL_READING_BYTES, 0) == 8


def test_the_readers_are_never_more_than_a_few_blocks_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory stays flat: when a block is handed back, the file has been read at most
    BLOCKS_AHEAD blocks per reader beyond it, whatever its size."""
    monkeypatch.setattr(import_reading, "BLOCK_LINES", 10)
    body = ndjson(*({"record_type": "party", "ref": f"P-{n}", "name": f"Unit {n}",
                     "kind": "ARMED_FORCES", "country": "KE"} for n in range(400)))  # fmt: skip
    stream = io.BytesIO(body)
    read_when_handed: list[int] = []
    countries = frozenset({"KE"})

    for block in parallel_blocks(stream, None, countries, readers=2):
        lines_read = body[: stream.tell()].count(b"\n")
        read_when_handed.append(lines_read - block.last_entry_line)

    assert len(read_when_handed) == 40
    assert max(read_when_handed) <= 2 * import_reading.BLOCKS_AHEAD * 10


def test_long_lines_make_shorter_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks end at BLOCK_BYTES too, so that what is in flight stays bounded in bytes, not
    only in lines (a line may be as long as LONGEST_LINE)."""
    monkeypatch.setattr(import_reading, "BLOCK_BYTES", 20_000)
    padding = " " * 5_000
    body = b"".join(
        b'{"record_type": "party", "ref": "P-%d", "name": "Unit", "kind": "ARMED_FORCES",'
        b' "country": "KE"%s}\n' % (n, padding.encode())
        for n in range(200)
    )
    stream = io.BytesIO(body)
    ahead_bytes: list[int] = []
    handed = 0

    for block in parallel_blocks(stream, None, frozenset({"KE"}), readers=2):
        handed = len(b"\n".join(body.split(b"\n")[: block.last_entry_line])) + 1
        ahead_bytes.append(stream.tell() - handed)
        assert block.records <= 4  # 20,000 bytes hold four 5 KB lines, not 2,000

    assert handed == len(body)
    bound = 2 * import_reading.BLOCKS_AHEAD * (20_000 + 5_100) + (1 << 16)  # + read buffer
    assert max(ahead_bytes) <= bound


def test_ids_rise_with_the_line_across_blocks_read_by_different_readers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As when one process reads the file: a later line's record has a larger id, so that
    same-day events whose recording times tie keep the file's order in a chain."""
    monkeypatch.setattr(import_reading, "BLOCK_LINES", 3)
    body = ndjson(*({"record_type": "party", "ref": f"P-{n}", "name": f"Unit {n}",
                     "kind": "ARMED_FORCES", "country": "KE"} for n in range(60)))  # fmt: skip
    ids = []
    for block in parallel_blocks(io.BytesIO(body), None, frozenset({"KE"}), readers=2):
        for line in block.copy_data["import_parties"].splitlines():
            number, _, record_id, *_ = line.split("\t")
            ids.append((int(number), UUID(record_id)))

    assert [number for number, _ in ids] == list(range(1, 61))
    assert [record_id for _, record_id in ids] == sorted(record_id for _, record_id in ids)


def test_a_blocks_ids_come_from_its_reserved_first_id_whenever_it_is_read() -> None:
    """The later block read first still gets the larger ids: they were reserved in file order."""
    lines = [
        orjson.dumps({"record_type": "party", "ref": f"P-{n}", "name": f"Unit {n}",
                      "kind": "ARMED_FORCES", "country": "KE"})
        for n in range(6)
    ]  # fmt: skip
    first_ids = [reserve_uuid7(3), reserve_uuid7(3)]
    second = read_block(4, list(lines[3:]), None, frozenset({"KE"}), first_ids[1])
    first = read_block(1, list(lines[:3]), None, frozenset({"KE"}), first_ids[0])

    ids = [
        UUID(line.split("\t")[2])
        for block in (first, second)
        for line in block.copy_data["import_parties"].splitlines()
    ]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert all(record_id.version == 7 for record_id in ids)


# A process that starts readers on an endless file, says their pids, and waits to be killed.
IMPORTER = """
import io, itertools, multiprocessing, sys, time
from service import import_reading

class Endless(io.RawIOBase):
    def readable(self): return True
    def readinto(self, buffer):
        line = b'{"record_type": "party", "ref": "P", "name": "U", "kind": "OTHER"}\\n'
        data = (line * (len(buffer) // len(line) + 1))[: len(buffer)]
        buffer[: len(data)] = data
        return len(data)

if __name__ == "__main__":
    blocks = import_reading.parallel_blocks(io.BufferedReader(Endless()), None, frozenset(), 2)
    next(blocks)
    print(*(child.pid for child in multiprocessing.active_children()), flush=True)
    time.sleep(60)
"""


def test_readers_end_when_the_importing_process_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "importer.py"
    script.write_text(IMPORTER)
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    ) as importer:
        assert importer.stdout is not None
        said, _, _ = select.select([importer.stdout], [], [], 60)
        assert said, "the importer did not start its readers within a minute"
        readers = [int(pid) for pid in importer.stdout.readline().split()]
        assert len(readers) == 2
        importer.kill()
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in readers) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not any(running(pid) for pid in readers)


def test_a_csv_file_is_read_by_the_importing_process_whatever_it_is_asked(
    db: Connection,
) -> None:
    """A quoted CSV value may hold a line break, so CSV is never cut into blocks of lines (an
    address may run over lines; a name may not)."""
    body = (
        b'ref,name,kind,country,address\nP-1,Unit One,ARMED_FORCES,KE,"Camp 1\nNairobi"\n'
        b"P-2,Unit Two,ARMED_FORCES,KE,\n"
    )
    outcome = run(db, body, readers=2, media_type="text/csv", record_type="party")

    assert outcome.status == "COMPLETED", outcome.errors
    assert outcome.stored["party"] == 2


def test_a_utf_16_file_read_in_parallel_is_refused_once(db: Connection) -> None:
    # The readers were handed its lines, each refused as not JSON.
    body = ("\ufeff" + ndjson(*registry_file()).decode()).encode("utf-16-le")

    record = run(db, body, readers=2)

    assert record.status == "FAILED"
    assert [(p.line, p.detail) for p in record.errors] == [
        (1, "the file is UTF-16 (by its byte order mark): send it as UTF-8")
    ]
    assert rows_in(db, "parties") == 0
