"""`trace-registry import`, as an agency's operator runs it against the registry the live service
reads: what it stores is traceable at once, a file sent again stores nothing, a bad file stores
nothing and says where."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import urllib.request
from pathlib import Path

import orjson

from tests.api.test_imports import registry_file
from tests.conftest import service_url_for
from tests.live import CLI, create_key, environment, http_get
from tests.paths import ROOT


def run_import(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "import", "--agency", "Gendarmerie Nationale", *args],
        env=environment(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


FIRST_STORED = "stored 2 parties, 2 items, 1 end-user certificate, 3 events; 0 already present"
AGAIN_PRESENT = "stored 0 parties, 0 items, 0 end-user certificates, 0 events; 8 already present"


def test_a_file_imported_from_the_command_line(
    live_service: tuple[str, str], tmp_path: Path
) -> None:
    base_url, database_url = live_service
    registry = tmp_path / "registry.ndjson"
    registry.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-CLI")))

    first = run_import(database_url, str(registry), "--timings")
    again = run_import(database_url, str(registry))

    assert first.returncode == 0, first.stderr
    assert (
        "stored 2 parties, 2 items, 1 end-user certificate, 3 events; 0 already present"
        in first.stdout
    )
    # after "created agency ..." when the agency is new to this database
    timings = first.stdout.splitlines()[-2]
    phases = timings.partition(": ")[2].split(", ")
    assert [phase.rsplit(" ", 2)[0] for phase in phases] == [
        "reading", "checks", "inserts", "references", "alert list", "commit",
    ]  # fmt: skip
    assert all(float(phase.split()[-2]) >= 0 for phase in phases)
    assert "reading" not in again.stdout
    assert "rows/s" in first.stderr  # the progress line (plain, not on a terminal)
    assert again.returncode == 0, again.stderr
    assert (
        "stored 0 parties, 0 items, 0 end-user certificates, 0 events; 8 already present"
        in again.stdout
    )
    key = create_key(database_url, "Gendarmerie Nationale", "trace:read")
    status, body = http_get(f"{base_url}/v1/items?serial_number=1502002-CLI", key)
    assert status == 200
    assert len(json.loads(body)["items"]) == 1


def test_records_another_agency_recorded_are_linked_and_said_so(
    database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.ndjson"
    registry.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-LINK")))
    run_import(database_url, str(registry))

    partner = run_import(database_url, "--agency", "Uganda Police Force", str(registry))

    assert partner.returncode == 0, partner.stderr
    assert (
        "stored 1 party, 0 items, 0 end-user certificates, 3 events; 0 already present; "
        "linked to other agencies' records 1 party, 2 items, 1 end-user certificate (import "
    ) in partner.stdout


def test_what_a_file_says_otherwise_of_a_linked_record_is_said_not_applied(
    database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.ndjson"
    records = registry_file("-NA")
    registry.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    run_import(database_url, str(registry))
    partners = tmp_path / "partner.ndjson"
    renamed = {**records[0], "name": "Arsenal Nord SA"}
    partners.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [renamed, *records[1:]]))

    partner = run_import(database_url, "--agency", "Uganda Police Force", str(partners))

    assert partner.returncode == 0, partner.stderr
    assert (
        f"{partners}:1: party {records[0]['ref']} was linked to another agency's record, which "
        "keeps its own description: not applied: name"
    ) in partner.stdout


def test_a_file_from_a_pipe_is_read_once(database_url: str, tmp_path: Path) -> None:
    """`trace-registry import <(zcat registry.ndjson.gz)`: a pipe cannot be hashed ahead and
    then read again, so it is only read."""
    pipe = tmp_path / "registry.pipe"
    os.mkfifo(pipe)
    body = b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-PIPE"))

    def fed_import() -> subprocess.CompletedProcess[str]:
        feeding = threading.Thread(target=pipe.write_bytes, args=(body,), daemon=True)
        feeding.start()  # opening the pipe waits for the command to open it too
        done = run_import(database_url, str(pipe))
        feeding.join(timeout=10)
        return done

    first = fed_import()
    again = fed_import()

    assert first.returncode == 0, first.stderr
    assert (
        "stored 2 parties, 2 items, 1 end-user certificate, 3 events; 0 already present"
        in first.stdout
    )
    assert again.returncode == 0, again.stderr
    assert (
        "stored 0 parties, 0 items, 0 end-user certificates, 0 events; 8 already present"
        in again.stdout
    )


def test_a_file_that_is_not_there_is_named_and_nothing_is_imported(
    database_url: str, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.ndjson"
    registry.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-GONE")))

    missing = run_import(database_url, str(registry), str(tmp_path / "tpyo.ndjson"))
    folder = run_import(database_url, str(tmp_path))

    assert missing.returncode == folder.returncode == 2
    assert missing.stderr.strip() == f"trace-registry: {tmp_path / 'tpyo.ndjson'}: no such file"
    assert folder.stderr.strip() == f"trace-registry: {tmp_path}: is a directory, not a file"
    assert missing.stdout == ""  # the first file, readable, was not imported either


def test_an_agency_created_by_an_import_is_said_first(database_url: str, tmp_path: Path) -> None:
    # The agency is created if new (--help says so, and onboarding relies on it), but it was
    # created without a word: `--agency "Reveiw"`, a typo, imported into a new agency unseen.
    registry = tmp_path / "registry.ndjson"
    registry.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-NEW")[:2]))

    first = run_import(database_url, "--agency", "Reveiw", str(registry))
    again = run_import(database_url, "--agency", "Reveiw", str(tmp_path / "registry.ndjson"))

    assert first.returncode == again.returncode == 0, first.stderr
    created, imported = first.stdout.splitlines()
    assert re.fullmatch(r"created agency 'Reveiw' \([0-9a-f-]{36}\)", created), created
    assert imported.startswith(f"{registry}: 2 lines; stored 2 parties")
    assert "created agency" not in again.stdout


def test_a_bad_file_stores_nothing_and_names_each_line(
    live_service: tuple[str, str], tmp_path: Path
) -> None:
    _, database_url = live_service
    items = tmp_path / "items.csv"
    items.write_text(
        "ref,manufacturer,model,category,serial_number\n"
        "I-1,FN Herstal,FAL,RIFLE,CSV-1\n"
        "I-2,FN Herstal,FAL,LASER,CSV-2\n"
        "I-1,FN Herstal,FAL,RIFLE,CSV-3\n"
    )

    refused = run_import(database_url, str(items), "--record-type", "item")
    no_type = run_import(database_url, str(items))

    assert refused.returncode == 1
    assert f"{items}:3: category:" in refused.stderr
    assert f"{items}:4: ref: the reference I-1 is given to line 2 too" in refused.stderr
    assert "nothing stored, 2 problems" in refused.stderr
    assert no_type.returncode == 2 and "--record-type" in no_type.stderr


def test_counts_of_one_are_said_in_the_singular(database_url: str, tmp_path: Path) -> None:
    # "nothing stored, 1 problems" and "stored 1 party, 1 item, 0 euc, 1 event".
    bad = tmp_path / "bad.csv"
    bad.write_text("ref,name,kind,country\nP-1,Arsenal,MANUFACTURER,QQ\n")
    good = tmp_path / "good.ndjson"
    good.write_text(
        '{"record_type": "party", "ref": "P-1", "name": "Arsenal", "kind": "MANUFACTURER",'
        ' "country": "BE"}\n'
    )

    refused = run_import(database_url, str(bad), "--record-type", "party")
    stored = run_import(database_url, str(good))

    assert refused.returncode == 1 and stored.returncode == 0, stored.stderr
    assert "nothing stored, 1 problem (import" in refused.stderr
    assert f"{good}: 1 line; stored 1 party, 0 items, 0 end-user certificates, 0 events; " in (
        stored.stdout
    )


def test_a_csv_row_too_long_is_named_by_its_line(database_url: str, tmp_path: Path) -> None:
    # The command reads a file as POST /v1/imports does: such a row was read whole.
    parties = tmp_path / "parties.csv"
    parties.write_bytes(
        b"ref,name,kind,country\n"
        + b"P-2," + b",".join([b"x" * 100_000] * 11) + b"\n"
        + b"P-3,Arsenal,MANUFACTURER,QQ\n"
        + b"P-4,Arsenal,MANUFACTURER,BE\n"
    )  # fmt: skip

    refused = run_import(database_url, str(parties), "--record-type", "party")

    assert refused.returncode == 1
    assert f"{parties}:2: the row is longer than 1048576 bytes\n" in refused.stderr
    assert f"{parties}:3: country: " in refused.stderr
    assert "nothing stored, 2 problems" in refused.stderr


def test_a_utf_16_file_is_refused_once(database_url: str, tmp_path: Path) -> None:
    # Each of its lines was a problem: "not a JSON object: str is not valid UTF-8: ...".
    registry = tmp_path / "registry.ndjson"
    text = "".join(orjson.dumps(r).decode() + "\n" for r in registry_file("-U16"))
    registry.write_text(text, encoding="utf-16")  # with its byte order mark

    refused = run_import(database_url, str(registry))

    assert refused.returncode == 1
    assert (
        f"{registry}:1: the file is UTF-16 (by its byte order mark): send it as UTF-8\n"
        in refused.stderr
    )
    assert "nothing stored, 1 problem" in refused.stderr


def test_a_queued_import_is_loaded_by_the_worker_as_the_service_role(
    live_service: tuple[str, str], tmp_path: Path
) -> None:
    base_url, database_url = live_service
    key = create_key(database_url, "Gendarmerie Nationale", "registry:write")
    body = b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-Q"))
    request = urllib.request.Request(
        f"{base_url}/v1/imports",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/x-ndjson",
            "Prefer": "respond-async",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        location = response.headers["Location"]

    worker = subprocess.run(
        [*CLI, "worker", "--once"],
        env=environment(DATABASE_URL=service_url_for(database_url)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert worker.returncode == 0, worker.stderr
    status, answer = http_get(f"{base_url}{location}", key)
    assert status == 200
    assert json.loads(answer)["status"] == "COMPLETED"
    assert json.loads(answer)["stored"]["item"] == 2


def test_what_a_file_says_reaches_the_terminal_escaped(database_url: str, tmp_path: Path) -> None:
    # A partner's file named a column "\x1b]0;...\x07" (an escape sequence), and the command
    # printed it raw in the problem naming that column: the operator's terminal obeyed it.
    parties = tmp_path / "parties.ndjson"
    parties.write_bytes(
        b'{"record_type": "party", "ref": "P-1", "\\u001b]0;owned\\u0007\\u009b2J": 1,'
        b' "name": "Arsenal", "kind": "MANUFACTURER", "country": "BE"}\n'
    )

    refused = run_import(database_url, str(parties))

    assert refused.returncode == 1
    assert f"{parties}:1: \\x1b]0;owned\\x07\\x9b2J: Unknown field.\n" in refused.stderr
    assert "\x1b" not in refused.stderr and "\x9b" not in refused.stderr


def test_a_sipri_extract_that_cannot_be_read_is_named_without_a_traceback(
    database_url: str, tmp_path: Path
) -> None:
    # Each was a Python traceback (UnicodeDecodeError, KeyError, ValueError).
    latin = tmp_path / "latin-1.csv"
    latin.write_bytes(
        SIPRI_HEADER + b"1,C\xf4te d'Ivoire,Mali,AK,rifle,X,2001,,1,No,2001,,New,,,,No\n"
    )
    other = tmp_path / "parties.csv"
    other.write_bytes(b"ref,name,kind,country\nP-1,Arsenal,MANUFACTURER,BE\n")
    year = tmp_path / "year.csv"
    year.write_bytes(SIPRI_HEADER + b"1,France,Mali,AK,rifle,X,soon,,1,No,2001,,New,,,,No\n")

    answers = [run_import(database_url, "--sipri", str(path)) for path in (latin, other, year)]

    assert [answer.returncode for answer in answers] == [1, 1, 1]
    assert [answer.stderr for answer in answers] == [
        f"trace-registry: {latin}: not a SIPRI extract: line 2 is not UTF-8 text\n",
        f"trace-registry: {other}: not a SIPRI extract: it has no column delivery_year, "
        "description, designation, local_production, numbers_delivered, "
        "numbers_delivered_is_estimate, order_date, recipient, sipri_at_database_id, status, "
        "supplier\n",
        f"trace-registry: {year}: not a SIPRI extract: line 2: order_date is not a whole number: "
        "'soon'\n",
    ]


def test_a_sipri_extracts_problems_name_the_records_made_from_it_not_its_lines(
    database_url: str, tmp_path: Path
) -> None:
    # Found in review: "extract.csv:3:" named the third record made from the extract, which is
    # no line of it (line 3 was an unrelated row). A deal delivered again in a later extract
    # changes its synthetic certificate's quantity, which the first import keeps.
    first = tmp_path / "first.csv"
    first.write_bytes(
        SIPRI_HEADER + b"99001,Sweden,Latvia,RBS-70,portable SAM,Missiles,2015,No,12,No,2016,No,"
        b"New,,0.03,0.36,No\n"
    )
    later = tmp_path / "later.csv"
    later.write_bytes(
        first.read_bytes() + b"99001,Sweden,Latvia,RBS-70,portable SAM,Missiles,2015,No,8,Yes,"
        b"2017,No,New,,0.03,0.24,No\n"
    )

    stored = run_import(database_url, "--sipri", str(first))
    refused = run_import(database_url, "--sipri", str(later))

    assert stored.returncode == 0, stored.stderr
    assert refused.returncode == 1
    problems = [line for line in refused.stderr.splitlines() if "line_items" in line]
    assert problems and all(
        line.startswith(f"{later}: record ") and " of those made from it: line_items: " in line
        for line in problems
    ), refused.stderr


SIPRI_HEADER = (
    b"sipri_at_database_id,supplier,recipient,designation,description,armament_category,"
    b"order_date,order_date_is_estimate,numbers_delivered,numbers_delivered_is_estimate,"
    b"delivery_year,delivery_year_is_estimate,status,sipri_estimate,tiv_deal_unit,"
    b"tiv_delivery_values,local_production\n"
)
