"""The audit trail: every request that reads or writes registry data leaves an entry, the trail
cannot be changed by the service, and `audit verify` finds any entry changed, removed or
inserted."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import auditing
from service.db import Connection
from service.domain import audit
from service.domain.ids import uuid7
from service.repository import audit as audit_trail
from tests.api.test_traces import CONTEXT
from tests.conftest import create_agency_key, service_url_for
from tests.contract import ContractClient


@pytest.fixture
def admin(client: FlaskClient, db: Connection) -> ContractClient:
    _, key = create_agency_key(db, "Registry Operations", ("registry:admin",))
    return ContractClient(client, key)


def entries(db: Connection) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT a.*, ag.name AS agency_name FROM audit_log a "
        "LEFT JOIN agencies ag ON ag.id = a.agency_id ORDER BY a.id"
    ).fetchall()


def test_a_lookup_leaves_an_entry_with_what_was_asked(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    item = registry.item(serial_number="АК 11-042178")
    response = api.get(
        "/v1/items",
        query={"serial_number": "ak 11 042178"},
        headers={"X-Case-Reference": "NTO-2026-17", "X-Purpose": "stockpile audit"},
    )

    assert response.status_code == 200
    entry = entries(db)[-1]
    assert str(entry["id"]) == response.headers["X-Request-Id"]
    assert entry["agency_name"] == "National Tracing Office"
    assert entry["key_prefix"] == api.key.split("_")[1]
    assert (entry["method"], entry["route"], entry["path"]) == ("GET", "/v1/items", "/v1/items")
    assert entry["status"] == 200
    assert entry["serials"] == ["AK11042178"]
    assert entry["details"]["serials_as_typed"] == ["ak 11 042178"]
    assert entry["records_returned"] == 1
    assert (entry["case_reference"], entry["purpose"]) == ("NTO-2026-17", "stockpile audit")
    assert response.get_json()["items"][0]["id"] == item["id"]


@pytest.mark.parametrize(
    "sent",
    [
        "Caf\u00c3\u00a9",  # UTF-8 (curl, a browser), as the WSGI environ shows its bytes
        "Caf\u00e9",  # Latin-1 (Python's http.client and requests encode a header so)
        "Cafe\u00cc\u0081",  # UTF-8, the accent typed apart (NFD)
    ],
    ids=["utf-8", "latin-1", "decomposed"],
)
def test_a_case_stated_in_a_header_is_kept_as_written_and_found_by_the_trail(
    api: ContractClient, admin: ContractClient, db: Connection, sent: str
) -> None:
    # The header's bytes were kept as Latin-1: "Café" sent in UTF-8 was kept as "CafÃ©", and
    # the trail's search for the case found nothing.
    response = api.get(
        "/v1/items",
        query={"serial_number": "AK1174094"},
        headers={"X-Case-Reference": f"NTO-{sent}", "X-Purpose": f"{sent} audit"},
    )

    assert response.status_code == 200
    entry = entries(db)[-1]
    assert (entry["case_reference"], entry["purpose"]) == ("NTO-Caf\u00e9", "Caf\u00e9 audit")
    found = admin.get("/v1/admin/audit", query={"case_reference": "NTO-Caf\u00e9"}).get_json()
    assert [item["id"] for item in found["items"]] == [str(entry["id"])]


def test_a_read_by_id_and_a_write_name_their_records(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    item = registry.item()
    api.get(f"/v1/items/{item['id']}/custody")

    write, read = entries(db)[-2:]
    assert write["method"] == "POST" and write["status"] == 201
    assert [str(i) for i in write["record_ids"]] == [item["id"]]
    assert write["details"]["created"] == f"/v1/items/{item['id']}"
    assert read["route"] == "/v1/items/<uuid:item_id>/custody"
    assert [str(i) for i in read["record_ids"]] == [item["id"]]


def test_a_search_of_items_and_of_a_certificate_number_name_what_they_found(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    # Found in review: both were entries with no record ids, though they disclosed records.
    item = registry.item(serial_number="FN-4420")
    euc = registry.euc(registry.party(kind="EXPORTER"), registry.party(kind="ARMED_FORCES"))
    api.get("/v1/items?serial_number=fn%204420")
    api.get(f"/v1/eucs/verify?certificate_number={euc['certificate_number']}&issuing_country=BE")

    search, verification = entries(db)[-2:]
    assert (search["serials"], [str(i) for i in search["record_ids"]]) == (["FN4420"], [item["id"]])
    assert [str(i) for i in verification["record_ids"]] == [euc["id"]]


def test_a_trace_is_audited_with_its_case_serials_and_what_it_disclosed(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    item = registry.item(serial_number="FN-4410")
    answer = api.post(
        "/v1/traces", {"weapon": {"serial_number": "fn 4410"}, "context": CONTEXT}
    ).get_json()

    entry = entries(db)[-1]
    assert entry["case_reference"] == CONTEXT["case_reference"]
    assert entry["purpose"] == CONTEXT["purpose"]
    assert entry["serials"] == ["FN4410"]
    assert {str(i) for i in entry["record_ids"]} == {answer["id"], item["id"]}
    assert entry["records_returned"] == 1


def test_a_partial_reading_is_audited_with_its_wildcards_and_found_by_them(
    api: ContractClient, admin: ContractClient, registry: Any, db: Connection
) -> None:
    item = registry.item(serial_number="KAL-77001")
    registry.item(serial_number="KAL-7701")  # another weapon: the reading without its `?`
    answer = api.post(
        "/v1/traces", {"weapon": {"serial_number": "kal 77?01"}, "context": CONTEXT}
    ).get_json()
    assert answer["candidates"][0]["item"]["id"] == item["id"]

    entry = entries(db)[-1]
    assert entry["serials"] == ["KAL77?01"]
    assert entry["details"]["serials_as_typed"] == ["kal 77?01"]

    def found_by(serial: str) -> list[str]:
        page = admin.get(
            "/v1/admin/audit", query={"serial_number": serial, "agency_id": entry["agency_id"]}
        ).get_json()
        return [e["route"] for e in page["items"]]

    # by the reading, typed again in any form; never by the other weapon's serial
    assert found_by("KAL-77?01") == ["/v1/traces"]
    assert found_by("kal 77？01") == ["/v1/traces"]
    assert found_by("KAL-7701") == []


def test_a_trace_without_case_or_purpose_is_refused_and_audited(
    api: ContractClient, db: Connection
) -> None:
    response = api.post(
        "/v1/traces",
        {"weapon": {"serial_number": "FN-4410"}, "context": {"case_reference": "X-1"}},
    )

    assert response.status_code == 400
    assert {e["pointer"] for e in response.get_json()["errors"]} == {"/context/purpose"}
    entry = entries(db)[-1]
    assert (entry["status"], entry["records_returned"]) == (400, 0)


def test_refusals_are_audited_with_what_is_known(
    client: FlaskClient, api: ContractClient, db: Connection
) -> None:
    ContractClient(client, "trk_abcdefgh_" + "x" * 43).get("/v1/items")
    _, reader = create_agency_key(db, "Observer Mission", ("trace:read",))
    ContractClient(client, reader).post("/v1/parties", {})

    unknown, forbidden = entries(db)[-2:]
    assert (unknown["status"], unknown["agency_id"], unknown["key_prefix"]) == (
        401,
        None,
        "abcdefgh",
    )
    assert forbidden["status"] == 403
    assert forbidden["agency_name"] == "Observer Mission"


def test_a_request_with_a_nul_byte_in_its_path_or_query_is_audited(
    admin: ContractClient, api: ContractClient, db: Connection
) -> None:
    # PostgreSQL's text and jsonb cannot hold NUL: these entries were not written at all.
    assert admin.get("/v1/admin/keys/%00").status_code == 404
    assert api.get("/v1/items?serial_number=A%00B").status_code == 400

    by_key, by_serial = entries(db)[-2:]
    assert (by_key["status"], by_key["path"]) == (404, "/v1/admin/keys/\ufffd")
    assert by_serial["status"] == 400
    assert by_serial["details"]["query"] == {"serial_number": "A\ufffdB"}


@pytest.mark.parametrize("moment", ["2024-W01-1", "20240101T0000", "2024-01-01T00:00:00Q"])
def test_the_trail_s_times_are_written_as_the_contract_says(
    admin: ContractClient, moment: str
) -> None:
    response = admin.get("/v1/admin/audit", query={"recorded_from": moment})

    assert response.status_code == 400
    assert admin.get("/v1/admin/audit", query={"recorded_from": "2024-01-01"}).status_code == 200


@pytest.mark.parametrize("moment", ["2024-01-01t00:00:00z", "2024-01-01T00:00:00z"])
def test_the_trail_s_times_may_be_written_in_lowercase_as_rfc_3339_allows(
    admin: ContractClient, moment: str
) -> None:
    # Found by fuzzing: the contract's date-time allows "t" and "z", which were refused.
    assert admin.get("/v1/admin/audit", query={"recorded_from": moment}).status_code == 200


@pytest.mark.parametrize("limit", ["1_0", "\u0662", " 5"])
def test_a_verification_s_limit_is_written_in_ascii_digits(
    admin: ContractClient, limit: str
) -> None:
    # int() reads each of them as a number
    response = admin.get("/v1/admin/audit/verify", query={"limit": limit})

    assert response.status_code == 400
    assert [e["parameter"] for e in response.get_json()["errors"]] == ["limit"]


def test_a_stated_case_reference_must_be_short(api: ContractClient) -> None:
    response = api.get("/v1/items", headers={"X-Case-Reference": "x" * 101})

    assert response.status_code == 400
    assert response.get_json()["errors"][0] == {
        "location": "header",
        "parameter": "X-Case-Reference",
        "detail": "Length must be between 1 and 100.",
    }


@pytest.mark.parametrize(
    "case", ["KE\u00a02024", "\u05ea\u05d9\u05e7 7\u200f", "\u0645\u0644\u0641\u061c 7"]
)
def test_a_stated_case_reference_a_trace_takes_is_taken(
    api: ContractClient, db: Connection, case: str
) -> None:
    # Found in the messages review: a no-break space or a direction mark, which a trace's
    # context keeps, were refused in X-Case-Reference (str.isprintable() is false for them).
    response = api.get("/v1/items", headers={"X-Case-Reference": as_utf8_in_environ(case)})

    assert response.status_code == 200
    assert entries(db)[-1]["case_reference"] == case


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("KE\t2024", "must be one line (no tab, line feed, carriage return, line or paragraph "
         "separator)"),
        ("KE\x1b2024", "must not contain U+001B, a control character"),
        ("KE\u202e2024", "must not contain U+202E, an invisible or reordering format character"),
    ],
)  # fmt: skip
def test_a_stated_case_reference_is_refused_as_a_trace_s_is_naming_why(
    api: ContractClient, case: str, detail: str
) -> None:
    response = api.get("/v1/items", headers={"X-Case-Reference": as_utf8_in_environ(case)})

    assert response.status_code == 400
    (error,) = response.get_json()["errors"]
    assert (error["parameter"], error["detail"][: len(detail)]) == ("X-Case-Reference", detail)


# U+FB2C (HEBREW LETTER SHIN WITH DAGESH AND SHIN DOT) is three characters in NFC.
SHIN = "\ufb2c"


@pytest.mark.parametrize(("header", "longest"), [("X-Case-Reference", 100), ("X-Purpose", 300)])
def test_a_stated_header_s_length_is_counted_as_it_is_kept(
    api: ContractClient, db: Connection, header: str, longest: int
) -> None:
    # The length was checked before NFC: 34 characters sent became 102 kept.
    assert len(unicodedata.normalize("NFC", SHIN)) == 3
    fits, too_long = SHIN * (longest // 3), SHIN * (longest // 3 + 1)

    refused = api.get("/v1/items", headers={header: as_utf8_in_environ(too_long)})
    taken = api.get("/v1/items", headers={header: as_utf8_in_environ(fits)})

    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["parameter"] == header
    assert refused.get_json()["errors"][0]["detail"] == f"Length must be between 1 and {longest}."
    assert taken.status_code == 200
    kept = entries(db)[-1]["case_reference" if header == "X-Case-Reference" else "purpose"]
    assert kept == unicodedata.normalize("NFC", fits) and len(kept) == longest // 3 * 3


def as_utf8_in_environ(text: str) -> str:
    """A header's text as the WSGI environ shows its UTF-8 bytes (PEP 3333: Latin-1)."""
    return text.encode("utf-8").decode("latin-1")


def test_the_trail_filters_by_agency_serial_case_and_time(
    admin: ContractClient, api: ContractClient, other_api: ContractClient, registry: Any
) -> None:
    registry.item(serial_number="KAL-77001")
    api.post("/v1/traces", {"weapon": {"serial_number": "KAL 77001"}, "context": CONTEXT})
    other_api.post(
        "/v1/traces",
        {"weapon": {"serial_number": "KAL-77001"}, "context": {**CONTEXT, "case_reference": "B"}},
    )
    other_api.get("/v1/items", query={"serial_number": "ZZZ-1"})

    by_serial = admin.get("/v1/admin/audit", query={"serial_number": "kal77001"}).get_json()
    by_case = admin.get("/v1/admin/audit", query={"case_reference": "B"}).get_json()
    everything = admin.get("/v1/admin/audit", query={"limit": 500}).get_json()["items"]
    other_agency = next(e["agency_id"] for e in everything if e["case_reference"] == "B")
    by_agency = admin.get("/v1/admin/audit", query={"agency_id": other_agency}).get_json()
    last = everything[0]["recorded_at"]
    later = admin.get("/v1/admin/audit", query={"recorded_from": last}).get_json()

    assert [e["case_reference"] for e in by_serial["items"]] == ["B", CONTEXT["case_reference"]]
    assert [e["serials"] for e in by_case["items"]] == [["KAL77001"]]
    assert [e["path"] for e in by_agency["items"]] == ["/v1/items", "/v1/traces"]
    # the listing itself is audited after it answers: the newest entry is the agency filter's
    assert {e["route"] for e in later["items"]} == {"/v1/admin/audit"}


def test_the_trail_finds_a_case_written_decomposed_before_the_nfc_rule(
    admin: ContractClient, api: ContractClient, db: Connection
) -> None:
    # An entry is hash-chained and stays as written: a trace's case reference typed decomposed
    # before case references were kept in NFC is kept so, and the filter (in NFC) missed it.
    composed = "Op\u00e9ration Caf\u00e9"
    decomposed = unicodedata.normalize("NFD", composed)
    api.get("/v1/items", headers={"X-Case-Reference": as_utf8_in_environ(composed)})
    audit_trail.append(db, written_before_the_rule(case_reference=decomposed))

    found = admin.get("/v1/admin/audit", query={"case_reference": composed}).get_json()
    other = admin.get("/v1/admin/audit", query={"case_reference": "Op\u00e9ration"}).get_json()

    assert [entry["case_reference"] for entry in found["items"]] == [decomposed, composed]
    assert other["items"] == []


def written_before_the_rule(case_reference: str) -> audit_trail.NewEntry:
    """A trace's entry as the service wrote it before the NFC rule."""
    return audit_trail.NewEntry(
        id=uuid7(), agency_id=None, key_prefix=None, method="POST", route="/v1/traces",
        path="/v1/traces", status=201, serials=(), record_ids=(), case_reference=case_reference,
        purpose="as typed", records_returned=0, details={},
    )  # fmt: skip


def test_the_trail_pages_newest_first(admin: ContractClient, api: ContractClient) -> None:
    for _ in range(5):
        api.get("/v1/items")

    first = admin.get("/v1/admin/audit", query={"limit": 3}).get_json()
    second = admin.get(
        "/v1/admin/audit", query={"limit": 3, "cursor": first["next_cursor"]}
    ).get_json()

    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)
    # the five reads; each listing's own entry is written after it answers, and the first one's
    # is newer than where the second page starts
    assert len(set(ids)) == 5
    assert {e["path"] for e in first["items"] + second["items"]} == {"/v1/items"}


def test_a_cursor_of_the_agency_list_does_not_page_the_trail(
    admin: ContractClient, api: ContractClient, other_api: ContractClient
) -> None:
    # Neither list has filters, so each took the other's cursors and answered a wrong page:
    # the trail from an agency's creation back, or the agencies after an audit entry's time.
    for _ in range(2):
        admin.get("/v1/admin/audit", query={"limit": 1})
    agencies_cursor = admin.get("/v1/admin/agencies", query={"limit": 1}).get_json()["next_cursor"]
    trail_cursor = admin.get("/v1/admin/audit", query={"limit": 1}).get_json()["next_cursor"]
    assert agencies_cursor is not None and trail_cursor is not None

    on_trail = admin.get("/v1/admin/audit", query={"cursor": agencies_cursor})
    on_agencies = admin.get("/v1/admin/agencies", query={"cursor": trail_cursor})

    assert (on_trail.status_code, on_agencies.status_code) == (400, 400)
    assert on_trail.get_json()["errors"][0]["parameter"] == "cursor"


# The trail cannot be changed ----------------------------------------------------------------


@pytest.fixture
def trail(api: ContractClient, registry: Any) -> None:
    """Some history: writes, reads and a trace."""
    item = registry.item(serial_number="FN-55001")
    for _ in range(3):
        api.get(f"/v1/items/{item['id']}")
    api.post("/v1/traces", {"weapon": {"serial_number": "FN-55001"}, "context": CONTEXT})


@pytest.mark.usefixtures("trail")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET status = 200",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_not_even_the_owner_can_change_the_trail(db: Connection, statement: str) -> None:
    with pytest.raises(psycopg.Error) as refused:
        db.execute(statement)

    assert refused.value.sqlstate == "TRL01"


@pytest.mark.usefixtures("trail")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET status = 200",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    ],
)
def test_the_services_role_has_no_privilege_to_change_it(database_url: str, statement: str) -> None:
    with (
        psycopg.connect(service_url_for(database_url), autocommit=True) as service,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        service.execute(statement)


def test_an_answer_is_never_given_without_its_entry(
    api: ContractClient, db: Connection, registry: Any
) -> None:
    db.execute("REVOKE INSERT ON audit_log FROM trace_registry_service")

    refused = api.post("/v1/parties", {"name": "Ghost", "kind": "DEALER", "country": "BE"})

    assert refused.status_code == 503
    assert db.execute("SELECT count(*) AS n FROM parties").fetchone() == {"n": 0}


def test_a_trace_is_stored_with_its_entry_or_not_at_all(
    api: ContractClient, db: Connection, registry: Any
) -> None:
    registry.item(serial_number="FN-4410")
    trace = {"weapon": {"serial_number": "FN-4410"}, "context": CONTEXT}
    answered = api.post("/v1/traces", trace)
    db.execute("REVOKE INSERT ON audit_log FROM trace_registry_service")

    refused = api.post("/v1/traces", trace)

    assert (answered.status_code, refused.status_code) == (201, 503)
    stored = db.execute("SELECT id, answer FROM traces").fetchall()
    assert [str(row["id"]) for row in stored] == [answered.get_json()["id"]]
    assert stored[0]["answer"] == answered.get_json()
    # written once, with the answer
    (entry,) = [e for e in entries(db) if e["route"] == "/v1/traces"]
    assert str(entry["id"]) == answered.headers["X-Request-Id"]
    assert entry["status"] == 201
    assert entry["details"]["created"] == answered.headers["Location"]


def test_a_trace_with_an_idempotency_key_is_audited_once_and_its_replay_once(
    api: ContractClient, db: Connection
) -> None:
    trace = {"weapon": {"serial_number": "FN-4410"}, "context": CONTEXT}
    first = api.post("/v1/traces", trace, headers={"Idempotency-Key": "trace-1"})
    again = api.post("/v1/traces", trace, headers={"Idempotency-Key": "trace-1"})

    assert again.get_json() == first.get_json()
    rows = [e for e in entries(db) if e["route"] == "/v1/traces"]
    assert [str(e["id"]) for e in rows] == [
        first.headers["X-Request-Id"],
        again.headers["X-Request-Id"],
    ]
    assert [e["status"] for e in rows] == [201, 201]
    assert [e["details"].get("idempotent_replay") for e in rows] == [None, True]


@pytest.mark.parametrize("route", ["/v1/traces", "/v1/traces/batch"])
def test_a_replayed_trace_s_entry_names_what_it_disclosed_again(
    api: ContractClient, registry: Any, db: Connection, route: str
) -> None:
    # The replay answers the same candidates for the same case; its entry named none of them,
    # so the trail's filters by serial and case did not find it.
    item = registry.item(serial_number="FN-4410")
    weapon = {"serial_number": "fn 4410"}
    body = (
        {"weapon": weapon, "context": CONTEXT}
        if route == "/v1/traces"
        else {"weapons": [weapon], "context": CONTEXT}
    )
    first = api.post(route, body, headers={"Idempotency-Key": "disclosed-twice"})
    again = api.post(route, body, headers={"Idempotency-Key": "disclosed-twice"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    answered, replayed = [e for e in entries(db) if e["route"] == route]
    assert replayed["details"]["idempotent_replay"] is True
    for name in ("case_reference", "purpose", "serials", "records_returned"):
        assert replayed[name] == answered[name], name
    assert replayed["serials"] == ["FN4410"]
    assert set(replayed["record_ids"]) == set(answered["record_ids"])
    assert item["id"] in {str(i) for i in replayed["record_ids"]}


# Verification -----------------------------------------------------------------------------------


def tamper(db: Connection, statement: str, params: Any = None) -> None:
    """What an intruder with the owner's password could do: triggers off, then rewrite."""
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute(statement, params)


def nth_entry(db: Connection, n: int) -> dict[str, Any]:
    row = db.execute(
        "SELECT * FROM audit_log ORDER BY chain, chain_seq OFFSET %s LIMIT 1", [n]
    ).fetchone()
    assert row is not None
    return row


def adjacent_entries(db: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
    """An entry and the next of its chain. The trail's requests may have used more than one
    pooled connection, so its entries may lie in more than one chain."""
    row = db.execute(
        "SELECT id, next_id FROM (SELECT id, lead(id) OVER (PARTITION BY chain ORDER BY chain_seq)"
        " AS next_id, chain, chain_seq FROM audit_log) AS linked WHERE next_id IS NOT NULL"
        " ORDER BY chain, chain_seq LIMIT 1"
    ).fetchone()
    assert row is not None
    entry, following = (
        db.execute("SELECT * FROM audit_log WHERE id = %s", [row[name]]).fetchone()
        for name in ("id", "next_id")
    )
    assert entry is not None and following is not None
    return entry, following


@pytest.mark.usefixtures("trail")
def test_an_intact_trail_verifies(db: Connection, admin: ContractClient) -> None:
    count = db.execute("SELECT count(*) AS n FROM audit_log").fetchone()

    result = admin.get("/v1/admin/audit/verify").get_json()

    assert result["intact"] is True
    assert result["problems"] == []
    assert count is not None and result["entries"] == count["n"]
    assert sum(head["chain_seq"] for head in result["heads"]) == count["n"]


@pytest.mark.usefixtures("trail")
def test_a_long_trail_is_verified_in_parts_that_find_what_the_whole_walk_finds(
    db: Connection, admin: ContractClient
) -> None:
    # One answer walked the whole trail: at 2.7 million entries gunicorn cut it off after 30 s
    # (500, and no audit entry). Parts of at most `limit` entries, each going on from the last.
    victim = nth_entry(db, 4)
    tamper(db, "UPDATE audit_log SET purpose = 'nothing to see' WHERE id = %s", [victim["id"]])
    whole = auditing.verify(db)
    parts, cursor = [], None
    while True:
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = admin.get("/v1/admin/audit/verify", query=query)
        assert response.status_code == 200
        parts.append(response.get_json())
        cursor = parts[-1]["next_cursor"]
        if cursor is None:
            break

    assert len(parts) > 2
    assert [part["complete"] for part in parts] == [False] * (len(parts) - 1) + [True]
    assert all(part["entries"] <= 2 for part in parts)
    # the entries the walk saw: the trail, with no listing's own entry, which comes after it
    assert sum(part["entries"] for part in parts) >= whole.entries
    problems = [problem for part in parts for problem in part["problems"]]
    assert [(p["kind"], p["entry_id"]) for p in problems] == [("CHANGED", str(victim["id"]))]
    assert [part["intact"] for part in parts].count(False) == 1
    heads = {head["chain"]: head for part in parts for head in part["heads"]}
    whole_heads = {head.chain: head for head in whole.heads}
    # every chain's head once, though a part may end just where a chain does
    assert set(heads) == set(whole_heads)
    assert all(heads[chain]["chain_seq"] >= head.chain_seq for chain, head in whole_heads.items())
    assert sum(len(part["heads"]) for part in parts) == len(heads)


NEW_ENTRY = (
    "INSERT INTO audit_log (id, method, route, path, status) "
    "SELECT gen_random_uuid(), 'GET', '/v1/items', '/v1/items', 200 FROM generate_series(1, %s)"
)


def test_parts_of_one_entry_name_every_chain_s_head_once(db: Connection, database_url: str) -> None:
    # Two chains: the second writer finds the first's chain held and takes another.
    with psycopg.connect(database_url) as holder:
        holder.execute(NEW_ENTRY, [3])
        db.execute(NEW_ENTRY, [2])
        holder.commit()
    whole = auditing.verify(db)
    assert whole.chains == 2
    heads, after, parts = [], None, 0
    while True:
        part = auditing.verify_part(db, after, 1, seconds=60)
        parts += 1
        assert part.verification.entries <= 1 and part.verification.intact
        heads.extend(part.verification.heads)
        after = part.go_on_after
        if after is None:
            break

    assert parts >= whole.entries
    assert sorted(heads, key=lambda head: head.chain) == whole.heads


def test_a_part_stops_when_its_time_is_spent_and_the_next_goes_on(db: Connection) -> None:
    db.execute(NEW_ENTRY, [2500])

    ended_with_a_chain = auditing.verify_part(db, None, 2500, seconds=60)
    assert ended_with_a_chain.go_on_after is None
    first = auditing.verify_part(db, None, 1_000_000, seconds=0)
    assert first.go_on_after is not None and first.verification.heads == []
    rest = auditing.verify_part(db, first.go_on_after, 1_000_000, seconds=60)

    assert rest.go_on_after is None
    assert first.verification.entries + rest.verification.entries == 2500
    assert first.verification.intact and rest.verification.intact
    assert [head.chain_seq for head in rest.verification.heads] == [2500]


def test_a_verification_cursor_is_for_verifications_only(admin: ContractClient) -> None:
    listed = admin.get("/v1/admin/audit", query={"limit": 1})
    admin.get("/v1/admin/audit", query={"limit": 1})
    cursor = admin.get("/v1/admin/audit", query={"limit": 1}).get_json()["next_cursor"]
    assert listed.status_code == 200 and cursor is not None

    response = admin.get("/v1/admin/audit/verify", query={"cursor": cursor})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] == "cursor"


@pytest.mark.usefixtures("trail")
def test_a_changed_entry_is_found(db: Connection) -> None:
    victim = nth_entry(db, 2)
    tamper(db, "UPDATE audit_log SET case_reference = 'nothing to see' WHERE id = %s",
           [victim["id"]])  # fmt: skip

    result = auditing.verify(db)

    assert not result.intact
    assert [(p.kind, p.entry_id) for p in result.problems] == [("CHANGED", str(victim["id"]))]


@pytest.mark.usefixtures("trail")
def test_a_removed_entry_is_found(db: Connection) -> None:
    victim, following = adjacent_entries(db)
    tamper(db, "DELETE FROM audit_log WHERE id = %s", [victim["id"]])

    result = auditing.verify(db)

    assert [(p.kind, p.entry_id) for p in result.problems] == [("MISSING", str(following["id"]))]
    assert "1 entry missing" in result.problems[0].detail


@pytest.mark.usefixtures("trail")
def test_an_inserted_entry_is_found_even_with_a_hash_of_its_own(db: Connection) -> None:
    # The forger adds an entry after the last one, hashed correctly over its own fields, but
    # cannot know what to link it to without the chain: it links to nothing real.
    last = db.execute(
        "SELECT * FROM audit_log WHERE chain = (SELECT chain FROM audit_log LIMIT 1) "
        "ORDER BY chain_seq DESC LIMIT 1"
    ).fetchone()
    assert last is not None
    forged_id = "01a20319-0000-7000-8000-0000000000ff"
    tamper(
        db,
        "INSERT INTO audit_log (id, chain, chain_seq, recorded_at, agency_id, key_prefix, method,"
        " route, path, status, previous_hash, entry_hash) SELECT %s, chain, chain_seq + 1,"
        " recorded_at, agency_id, key_prefix, 'GET', '/v1/items', '/v1/items', 200,"
        " sha256('elsewhere'), '\\x00' FROM audit_log WHERE id = %s",
        [forged_id, last["id"]],
    )
    forged = next(e for e in _stored(db) if e.id == forged_id)
    tamper(db, "UPDATE audit_log SET entry_hash = %s WHERE id = %s",
           [audit.entry_hash(forged.previous_hash, forged), forged_id])  # fmt: skip

    result = auditing.verify(db)

    assert [(p.kind, p.entry_id) for p in result.problems] == [("INSERTED", forged_id)]


@pytest.mark.usefixtures("trail")
def test_a_temporary_table_cannot_give_the_chain_a_head(db: Connection) -> None:
    """The link trigger reads the trail itself: a session's temporary audit_log (which comes
    first in that session's search path) with made-up heads changes nothing."""
    db.execute("CREATE TEMP TABLE audit_log (chain integer, chain_seq bigint, entry_hash bytea)")
    db.execute(
        "INSERT INTO audit_log SELECT c, 1000000, sha256('made up') "
        "FROM generate_series(0, 31) AS c"
    )
    try:
        db.execute(
            "INSERT INTO public.audit_log (id, agency_id, key_prefix, method, route, path, status)"
            " SELECT uuid_v7(), agency_id, key_prefix, 'GET', '/v1/items', '/v1/items', 200"
            " FROM public.audit_log WHERE agency_id IS NOT NULL LIMIT 1"
        )
    finally:
        db.execute("DROP TABLE pg_temp.audit_log")

    result = auditing.verify(db)
    assert result.intact, result.problems
    assert db.execute("SELECT max(chain_seq) AS n FROM audit_log").fetchone()["n"] < 1000000


@pytest.mark.usefixtures("trail")
def test_the_newest_entries_removed_are_found_against_earlier_heads(db: Connection) -> None:
    heads = auditing.verify(db).heads
    newest = db.execute(
        "SELECT id FROM audit_log WHERE (chain, chain_seq) = (%s, %s)",
        [heads[0].chain, heads[0].chain_seq],
    ).fetchone()
    assert newest is not None
    tamper(db, "DELETE FROM audit_log WHERE id = %s", [newest["id"]])

    assert auditing.verify(db).intact  # nothing follows it: the chain alone cannot tell
    result = auditing.verify(db, heads)

    assert [(p.kind, p.chain) for p in result.problems] == [("HEAD_MISSING", heads[0].chain)]


def _stored(db: Connection) -> list[audit.StoredEntry]:
    from service.repository import audit as trail

    with db.transaction():
        return list(trail.stored_entries(db))


def test_entries_from_two_processes_share_the_rate_and_the_chains(
    app: Flask, database_url: str, db: Connection
) -> None:
    """A second app (another gunicorn worker or host) on the same database."""
    from service import create_app

    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    second = create_app({"database_url": service_url_for(database_url), "pool_max_size": 2})
    try:
        for application in (app, second, app, second):
            ContractClient(application.test_client(), key).get("/v1/items")
    finally:
        second.extensions["trace_registry"].database.close()

    assert auditing.verify(db).intact
    assert auditing.verify(db).entries == 4


def spread_trail(db: Connection, days: int, per_day: int) -> None:
    """An older trail: `per_day` entries a day over the last `days` days, each recorded when its
    id says its request started (written past the triggers, as a trail of months would be)."""
    tamper(
        db,
        """
        INSERT INTO audit_log (id, chain, chain_seq, recorded_at, method, route, path, status,
                               previous_hash, entry_hash)
        SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7000'
                || '8' || lpad(to_hex(n), 15, '0'))::uuid,
               0, n, at, 'GET', '/v1/items', '/v1/items', 200, '\\x00', '\\x00'
        FROM (SELECT n, clock_timestamp() - make_interval(days => %(days)s)
                        + n * make_interval(days => %(days)s) / (%(days)s * %(per_day)s) AS at
              FROM generate_series(1, %(days)s * %(per_day)s) AS n) AS spread
        """,
        {"days": days, "per_day": per_day},
    )
    db.execute("ANALYZE audit_log")


def test_a_window_of_the_trail_reads_its_own_days_not_the_newer_ones(db: Connection) -> None:
    # A window weeks back was read by walking the trail from its newest entry, each newer entry
    # read and dropped: on a trail of months, a search for last spring ran into the statement
    # timeout. Now the walk starts and ends at the window (a margin either side).
    spread_trail(db, days=30, per_day=400)
    start = db.execute("SELECT clock_timestamp() - interval '25 days' AS t").fetchone()["t"]
    window = audit_trail.Filters(recorded_from=start, recorded_before=start + timedelta(hours=6))

    with db.transaction():
        found = audit_trail.find(db, window, None, 50)
        read = db.execute(
            "SELECT idx_tup_fetch + seq_tup_read AS n FROM pg_stat_xact_user_tables "
            "WHERE relname = 'audit_log'"
        ).fetchone()["n"]

    assert len(found) == 50
    assert all(start <= entry.recorded_at < start + timedelta(hours=6) for entry in found)
    # the window's day and the margin's either side, at most: not the 25 days after it
    assert read <= 3 * 400, read


def test_a_window_finds_the_entries_recorded_in_it_whenever_their_requests_began(
    admin: ContractClient, api: ContractClient, db: Connection
) -> None:
    # The id is the request's start; the window is of when entries were recorded. A request
    # that took 20 s is found by a window it was recorded in, and one recorded after the window
    # is not, though it began in it.
    api.get("/v1/items")
    api.get("/v1/alerts")
    tamper(
        db,
        "UPDATE audit_log SET recorded_at = recorded_at + CASE route "
        "WHEN '/v1/items' THEN interval '20 seconds' ELSE interval '2 hours' END",
    )
    items, alerts = (
        db.execute("SELECT recorded_at FROM audit_log WHERE route = %s", [route]).fetchone()[
            "recorded_at"
        ]
        for route in ("/v1/items", "/v1/alerts")
    )
    window = {
        "recorded_from": (items - timedelta(seconds=1)).isoformat(),
        "recorded_to": (items + timedelta(seconds=1)).isoformat(),
    }

    listed = admin.get("/v1/admin/audit", query=window).get_json()["items"]

    assert [entry["route"] for entry in listed] == ["/v1/items"]
    assert alerts > items + timedelta(hours=1)


def test_a_window_at_the_ends_of_time_bounds_nothing_it_should_not(
    admin: ContractClient, api: ContractClient
) -> None:
    api.get("/v1/items")
    window = {"recorded_from": "0001-01-01T00:00:00Z", "recorded_to": "9999-12-31T23:59:59Z"}

    listed = admin.get("/v1/admin/audit", query=window)

    assert listed.status_code == 200
    assert "/v1/items" in [entry["route"] for entry in listed.get_json()["items"]]
