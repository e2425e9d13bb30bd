"""A review of bulk import and idempotent writes: each test failed on the code it was written
against (f70d576)."""

from __future__ import annotations

import gzip
import os
import random
import threading
from pathlib import Path

from service.db import Connection
from tests.api.test_imports import import_file, ndjson, registry_file, send
from tests.contract import ContractClient
from tests.integration.test_import_cli import run_import

CSV = "text/csv"
PARTIES = "ref,name,kind,country\r\nP-1,Arsenal Nord,MANUFACTURER,BE\r\n"


def test_a_gzipped_file_sent_as_it_is_is_one_problem_that_says_so(api: ContractClient) -> None:
    """A registry's export is often `registry.ndjson.gz`, and the file sent as it is (no
    Content-Encoding, which the API refuses with 415; or `trace-registry import
    registry.ndjson.gz`) was read as NDJSON: each run of compressed bytes between two 0x0A
    bytes was a "line", refused as "not UTF-8 text ...: save the file as UTF-8", up to 1,000
    problems that named neither the compression nor what to do. A partner expects what a
    UTF-16 file gets: one problem, at line 1, saying the file is gzip-compressed, to be sent
    uncompressed."""
    rng = random.Random(7)
    records = [
        {**record, "ref": f"{record['ref']}-{n}", "serial_number": f"{rng.getrandbits(64):x}"}
        for n in range(400)
        for record in registry_file()
        if record["record_type"] == "item"
    ]
    body = gzip.compress(ndjson(*records))
    assert body.count(b"\n") > 5  # the compressed bytes read as several lines

    response = send(api, body)

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error_count"] == 1, answer["errors"][:3]
    assert answer["errors"][0]["line"] == 1
    assert "gzip" in answer["errors"][0]["detail"]


def test_csv_rows_of_empty_cells_are_blank_lines(api: ContractClient) -> None:
    """Spreadsheets save rows whose cells were once touched as bare delimiters (`,,,`),
    usually at the end of the sheet. A blank line is skipped, but such a row was read as a
    record with no fields and refused with a "Missing data for required field" per required
    column (four problems a row here), so a CSV saved from Excel was refused whole for rows
    that hold nothing. A partner expects them skipped as the blank lines they are."""
    body = PARTIES + ",,,\r\n, , ,\r\n,,\r\n"

    response = send(api, body.encode(), CSV, record_type="party")

    assert response.status_code == 201, response.get_json().get("errors")
    assert response.get_json()["stored"]["party"] == 1


def test_a_csv_file_whose_first_line_is_blank_is_not_called_empty(api: ContractClient) -> None:
    """A CSV file with a blank first line (a header pasted under an empty line) was refused
    with "the file is empty: a CSV import needs a header row": the sender, looking at a file
    of 100,000 rows, could not tell what was meant. The problem says that line 1 is blank and
    that the header row is a CSV file's first line."""
    response = send(api, ("\r\n" + PARTIES).encode(), CSV, record_type="party")

    assert response.status_code == 400
    (problem,) = response.get_json()["errors"]
    assert problem["line"] == 1
    assert "empty" not in problem["detail"]
    assert "blank" in problem["detail"] and "header row" in problem["detail"]


def test_a_record_refused_by_its_schema_has_its_references_checked_too(
    api: ContractClient,
) -> None:
    """An event with a date that is not one (2010-13-05) and a receiving party and item that
    nothing in the file or the agency's imports has is told only about its date; sent again
    with the date put right, the file is refused a second time for the references. "The
    answer lists every problem" held per record, not per field: the agency needs two rounds
    (a nightly delta: two nights) to fix one line. A partner expects the three problems at
    once. (Fixed: the references a record refused as read names are staged, as its own ref
    is, and checked as a stored record's are.)"""
    event = {
        "record_type": "event", "ref": "E-1", "event_type": "MANUFACTURE",
        "occurred_on": "2010-13-05", "country": "BE", "to_party_ref": "P-NOWHERE",
        "item_refs": ["I-NOWHERE"],
    }  # fmt: skip

    response = send(api, ndjson(event))

    assert response.status_code == 400
    fields = {problem["pointer"] for problem in response.get_json()["errors"]}
    assert fields == {"/occurred_on", "/to_party_ref", "/item_refs"}


def test_a_csv_file_from_a_pipe_is_read_as_csv(database_url: str, tmp_path: Path) -> None:
    """`trace-registry import <(zcat parties.csv.gz) --record-type party`: the README offers a
    pipe for a compressed file, but the CLI takes a file for CSV only when its name ends in
    `.csv`, so a pipe (/dev/fd/63), or `parties.txt`, was read as NDJSON, with `--record-type`
    (which only a CSV file needs) given: each row was refused as "not a JSON object", and
    nothing could tell it otherwise. `--format csv` says how the file is written."""
    pipe = tmp_path / "parties.pipe"
    os.mkfifo(pipe)
    feeding = threading.Thread(target=pipe.write_bytes, args=(PARTIES.encode(),), daemon=True)
    feeding.start()

    done = run_import(database_url, str(pipe), "--record-type", "party", "--format", "csv")
    feeding.join(timeout=10)

    assert done.returncode == 0, done.stderr
    assert "stored 1 party" in done.stdout


def test_a_refused_records_references_resolve_as_a_stored_records_do(
    api: ContractClient, db: Connection
) -> None:
    """The other side of the test above: what a refused record names from an earlier import
    or from the file is found there (no problem of its own), and several processes reading
    the file (the CLI's and the worker's path for large files) tell the same problems; a
    reference named twice is one problem."""
    assert send(api, ndjson(*registry_file()[:4])).status_code == 201  # P-MAKER, I-1, ...
    event = {
        "record_type": "event", "ref": "E-9", "event_type": "TRANSFER",
        "occurred_on": "2010-13-05", "country": "BE", "from_party_ref": "P-MAKER",
        "to_party_ref": "P-NEW", "item_refs": ["I-1", "I-NOWHERE", "I-NOWHERE"],
    }  # fmt: skip
    party = {"record_type": "party", "ref": "P-NEW", "name": "Armurerie", "kind": "DEALER",
             "country": "BE"}  # fmt: skip
    body = ndjson(event, party)

    answer = send(api, body).get_json()
    with db.transaction():
        read_apart = import_file(db, body, readers=2, agency="National Tracing Office")

    expected = [
        (1, "/item_refs", "no item has the reference I-NOWHERE in this file or an earlier import"),
        (1, "/occurred_on", "Not a valid date."),
    ]
    assert sorted((p["line"], p["pointer"], p["detail"]) for p in answer["errors"]) == expected
    assert sorted((p.line, "/" + p.field, p.detail) for p in read_apart.errors) == expected


def test_a_format_given_with_sipri_extracts_is_refused(database_url: str, tmp_path: Path) -> None:
    """SIPRI extracts are read as what they are: `--format` beside `--sipri` says something
    the import would not do, and is refused before anything is read."""
    extract = tmp_path / "trade-register.csv"
    extract.write_text("not read\n")

    done = run_import(database_url, "--sipri", "--format", "csv", str(extract))

    assert done.returncode == 2
    assert "--format does not go with --sipri" in done.stderr
