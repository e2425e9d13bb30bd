"""An import that names what another agency recorded: item, party or certificate, it is linked.

A partner's national registry holds weapons made abroad and companies that other agencies
recorded first. The registry keeps one record of each (its unique identity); a file's record
with that identity binds the sender's reference to the record that stands.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from uuid import UUID

import pytest
import yaml
from flask.testing import FlaskClient

from service.db import Connection
from tests.api.test_imports import CSV, ndjson, send
from tests.conftest import create_agency_key, rows_in
from tests.contract import ContractClient
from tests.paths import ROOT

NOTHING = {"party": 0, "item": 0, "euc": 0, "event": 0}


def partner_file(**party: Any) -> list[dict[str, Any]]:
    """A partner's registry: FN Herstal and one of its rifles, which it imported, and its army."""
    return [
        {"record_type": "party", "ref": "UG-P-FN", "name": "FN Herstal SA",
         "kind": "MANUFACTURER", "country": "BE", "registration_number": "0403.451.577",
         "address": "Voie de Liège 33, Herstal", **party},
        {"record_type": "party", "ref": "UG-P-ARMY", "name": "Uganda People's Defence Force",
         "kind": "ARMED_FORCES", "country": "UG"},
        {"record_type": "item", "ref": "UG-I-1", "manufacturer": "FN Herstal", "model": "fal",
         "category": "RIFLE", "serial_number": "1502 001", "caliber": "7.62x51mm"},
        {"record_type": "event", "ref": "UG-E-1", "event_type": "IMPORT",
         "occurred_on": "2011-03-11", "country": "UG", "from_party_ref": "UG-P-FN",
         "to_party_ref": "UG-P-ARMY", "item_refs": ["UG-I-1"]},
    ]  # fmt: skip


@pytest.fixture
def recorded_first(registry: Any) -> dict[str, Any]:
    """What the National Tracing Office recorded before the partner joined."""
    maker = registry.party(
        name="FN Herstal", kind="MANUFACTURER", country="BE", registration_number="0403.451.577"
    )
    rifle = registry.item(manufacturer="FN Herstal", model="FAL", serial_number="1502-001")
    registry.event("MANUFACTURE", [rifle], occurred_on="2010-01-05", to_party_id=maker["id"])
    return {"party": maker, "item": rifle}


def test_a_record_another_agency_recorded_is_linked_and_its_events_join_the_chain(
    api: ContractClient, other_api: ContractClient, db: Connection, recorded_first: Any
) -> None:
    response = send(other_api, ndjson(*partner_file()))

    assert response.status_code == 201, response.get_data(as_text=True)
    record = response.get_json()
    assert record["stored"] == {"party": 1, "item": 0, "euc": 0, "event": 1}
    assert record["linked"] == {"party": 1, "item": 1, "euc": 0}
    assert record["already_present"] == NOTHING
    assert other_api.get(f"/v1/imports/{record['id']}").get_json() == record
    assert rows_in(db, "items") == 1
    assert rows_in(db, "parties") == 2  # the first recorder's maker, the partner's army
    # the first recorder's description is the one kept
    rifle = api.get(f"/v1/items/{recorded_first['item']['id']}").get_json()
    assert rifle["model"] == "FAL" and rifle["caliber"] is None
    chain = api.get(f"/v1/items/{recorded_first['item']['id']}/custody").get_json()
    assert [e["event_type"] for e in chain["events"]] == ["MANUFACTURE", "IMPORT"]
    assert chain["events"][1]["from_party"]["id"] == recorded_first["party"]["id"]
    # the sender's references are bound to the records that stand
    bound = db.execute(
        "SELECT record_type, record_id FROM import_references WHERE reference IN "
        "('UG-I-1', 'UG-P-FN') ORDER BY record_type"
    ).fetchall()
    assert bound == [
        {"record_type": "item", "record_id": UUID(recorded_first["item"]["id"])},
        {"record_type": "party", "record_id": UUID(recorded_first["party"]["id"])},
    ]


def test_the_answer_names_what_the_file_says_otherwise_of_a_linked_record_as_not_applied(
    other_api: ContractClient, client: FlaskClient, db: Connection, recorded_first: Any
) -> None:
    # The registry keeps the first recorder's description of a linked record: the partner's
    # company name and address and its rifle's caliber were dropped without a word, and its
    # data steward believed them recorded. The answer now names them, record by record; what
    # names the record (serial, maker, model, country, registration number) is not among them,
    # and a field the file leaves out says nothing otherwise.
    response = send(other_api, ndjson(*partner_file()))
    again = send(other_api, ndjson(*partner_file()[:3]))
    third = ContractClient(client, create_agency_key(db, "Kenya Police Service")[1])
    as_recorded = {"record_type": "item", "ref": "KE-I-1", "manufacturer": "FN Herstal",
                   "model": "FAL", "category": "RIFLE", "serial_number": "1502-001"}  # fmt: skip
    agreeing = send(third, ndjson(as_recorded))

    record = response.get_json()
    assert record["not_applied"] == [
        {"line": 1, "record_type": "party", "ref": "UG-P-FN", "fields": ["name", "address"]},
        {"line": 3, "record_type": "item", "ref": "UG-I-1", "fields": ["caliber"]},
    ]
    assert other_api.get(f"/v1/imports/{record['id']}").get_json() == record
    # present when sent again (compared, as before, by what linked them): nothing linked anew
    assert (again.status_code, again.get_json()["not_applied"]) == (201, [])
    assert agreeing.get_json()["linked"]["item"] == 1
    assert agreeing.get_json()["not_applied"] == []


def test_a_linked_record_stored_before_nfc_was_kept_is_not_named_for_its_accents(
    registry: Any, other_api: ContractClient, db: Connection
) -> None:
    # Stored decomposed before texts were kept in NFC, a record that a file describes as it is
    # (the file's text read in NFC) was named as not applied: the address of a party and the
    # markings of a rifle that were the file's, which the sender could not write otherwise.
    address, markings = "Voie de Liège 33, Herstal", "Liège proof"
    registry.party(name="FN Herstal", kind="MANUFACTURER", country="BE",
                   registration_number="0403.451.577", address=address)  # fmt: skip
    registry.item(manufacturer="FN Herstal", model="FAL", serial_number="1502-001",
                  category="RIFLE", caliber="7.62x51mm", other_markings=markings)  # fmt: skip
    with db.transaction():
        # as the rows were stored before the rule (the ledger's triggers off to write them so)
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE parties SET address = %s", [unicodedata.normalize("NFD", address)])
        db.execute("UPDATE items SET other_markings = %s", [unicodedata.normalize("NFD", markings)])
    item = {**partner_file()[2], "other_markings": markings}

    response = send(other_api, ndjson(partner_file()[0], item))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["linked"] == {"party": 1, "item": 1, "euc": 0}
    # the party's name ("FN Herstal SA" in the file) differs, and is named still
    assert response.get_json()["not_applied"] == [
        {"line": 1, "record_type": "party", "ref": "UG-P-FN", "fields": ["name"]}
    ]
    assert db.execute("SELECT address FROM parties").fetchone() == {
        "address": unicodedata.normalize("NFD", address)
    }


def test_an_imports_counts_read_alike_in_every_answer_and_the_contract(
    other_api: ContractClient, recorded_first: Any
) -> None:
    # The answer to the import listed each record type's counts in one order (party, item, euc,
    # event), GET /v1/imports/{id} and the list in the order PostgreSQL keeps a jsonb object's
    # keys (euc, item, event, party); and the contract let `linked` count events, which are
    # never linked.
    answer = send(other_api, ndjson(*partner_file()))
    one = other_api.get(f"/v1/imports/{answer.get_json()['id']}")
    listed = other_api.get("/v1/imports")

    def counts_as_sent(body: bytes) -> list[list[str]]:
        document = json.loads(body)
        record = document["items"][0] if "items" in document else document
        return [list(record[name]) for name in ("stored", "already_present", "linked")]

    expected = [["party", "item", "euc", "event"]] * 2 + [["party", "item", "euc"]]
    for response in (answer, one, listed):
        assert counts_as_sent(response.get_data()) == expected
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    for schema in ("ImportRecord", "ImportSummary"):
        linked = spec["components"]["schemas"][schema]["properties"]["linked"]
        assert linked == {"$ref": "#/components/schemas/LinkedCounts"}, schema
    counts = spec["components"]["schemas"]["LinkedCounts"]
    assert counts["propertyNames"] == {"enum": ["party", "item", "euc"]}


def test_a_theft_of_a_linked_item_puts_it_on_the_alert_list(
    api: ContractClient, other_api: ContractClient, recorded_first: Any
) -> None:
    stolen = {"record_type": "event", "ref": "UG-E-2", "event_type": "THEFT",
              "occurred_on": "2015-06-01", "country": "UG", "from_party_ref": "UG-P-ARMY",
              "item_refs": ["UG-I-1"]}  # fmt: skip

    response = send(other_api, ndjson(*partner_file(), stolen))

    assert response.status_code == 201, response.get_data(as_text=True)
    listed = [a["item"]["id"] for a in api.get("/v1/alerts").get_json()["items"]]
    assert listed == [recorded_first["item"]["id"]]
    chain = api.get(f"/v1/items/{recorded_first['item']['id']}/custody").get_json()
    assert chain["status"] == "STOLEN"


def test_a_restricted_party_of_another_agency_is_not_linked_and_blocks_nothing(
    other_api: ContractClient, registry: Any, db: Connection
) -> None:
    # Any agency could squat a real company's number with a restricted party: the partner's
    # record of FN Herstal was refused, and the refusal told it that somebody keeps a restricted
    # record of the number.
    covert = registry.party(
        name="Front SARL", kind="BROKER", country="BE", registration_number="0403.451.577",
        classification="RESTRICTED",
    )  # fmt: skip
    rifle = registry.item(manufacturer="FN Herstal", model="FAL", serial_number="1502-001")

    response = send(other_api, ndjson(*partner_file()))

    assert response.status_code == 201, response.get_data(as_text=True)
    record = response.get_json()
    assert record["stored"] == {"party": 2, "item": 0, "euc": 0, "event": 1}
    assert record["linked"] == {"party": 0, "item": 1, "euc": 0}
    assert rows_in(db, "parties") == 3  # the restricted one, and the partner's maker and army
    maker = db.execute(
        "SELECT record_id FROM import_references WHERE reference = 'UG-P-FN'"
    ).fetchone()["record_id"]
    assert maker != UUID(covert["id"])
    chain = other_api.get(f"/v1/items/{rifle['id']}/custody").get_json()
    assert chain["events"][-1]["from_party"]["name"] == "FN Herstal SA"
    for answer in (response, other_api.get(f"/v1/imports/{record['id']}")):
        text = answer.get_data(as_text=True)
        assert covert["id"] not in text and "Front SARL" not in text


@pytest.mark.parametrize("spelling", ["0403 451 577", "0403451577", "0403-451-577"])
def test_another_spelling_of_the_number_is_linked_and_found_present_when_sent_again(
    other_api: ContractClient, db: Connection, recorded_first: Any, spelling: str
) -> None:
    body = ndjson(*partner_file(registration_number=spelling))

    first = send(other_api, body)
    again = send(other_api, body + b"\n")  # other bytes: compared record by record

    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["linked"] == {"party": 1, "item": 1, "euc": 0}
    assert rows_in(db, "parties") == 2
    assert again.status_code == 201, again.get_data(as_text=True)
    assert again.get_json()["already_present"]["party"] == 2


def test_a_linked_party_sent_again_with_another_number_is_a_problem(
    other_api: ContractClient, recorded_first: Any
) -> None:
    first = send(other_api, ndjson(*partner_file())).get_json()

    response = send(other_api, ndjson(partner_file(registration_number="0403.451.578")[0]))

    assert response.status_code == 400
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (1, "/registration_number",
         f"party UG-P-FN was linked by import {first['id']} to the party another agency "
         'recorded with registration_number "0403451577", and this file says "0403451578" (as '
         "the registry compares them): a reference names one record, send it as it was"),
    ]  # fmt: skip


def test_a_restricted_party_of_the_file_is_stored_as_its_senders_own(
    api: ContractClient, other_api: ContractClient, db: Connection, recorded_first: Any
) -> None:
    # Its sender keeps it from the other agencies' eyes, which the shared record would not.
    response = send(other_api, ndjson(*partner_file(classification="RESTRICTED")))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["linked"] == {"party": 0, "item": 1, "euc": 0}
    assert rows_in(db, "parties") == 3
    chain = api.get(f"/v1/items/{recorded_first['item']['id']}/custody").get_json()
    assert chain["events"][-1]["from_party"]["redacted"] is True


def test_two_spellings_of_one_number_in_a_file_are_a_problem(
    other_api: ContractClient, db: Connection
) -> None:
    twice = {**partner_file()[0], "ref": "UG-P-FN-2", "registration_number": "0403 451 577"}

    response = send(other_api, ndjson(*partner_file(), twice))

    assert response.status_code == 400
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (5, "/registration_number", "line 1 has the same registration number and country"),
    ]
    assert rows_in(db, "parties") == 0


def test_a_number_of_separators_alone_is_a_problem_of_its_line(other_api: ContractClient) -> None:
    response = send(other_api, ndjson(partner_file(registration_number=" - / ")[0]))

    assert response.status_code == 400
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (1, "/registration_number", "needs more than spaces and separators (- . /)"),
    ]


def test_the_agencys_own_record_under_no_reference_is_still_a_problem(
    other_api: ContractClient, db: Connection
) -> None:
    # Recorded by the partner's own single POST: two records of one weapon in its registry.
    own = other_api.created(
        "/v1/items",
        {"manufacturer": "FN Herstal", "model": "FAL", "category": "RIFLE",
         "serial_number": "1502-001"},
    )  # fmt: skip

    response = send(other_api, ndjson(*partner_file()))

    assert response.status_code == 400
    assert [(e["line"], e["detail"]) for e in response.get_json()["errors"]] == [
        (3, f"item {own['id']} already has this serial, manufacturer and model"),
    ]
    assert rows_in(db, "items") == 1


def test_two_records_of_one_linked_identity_in_a_file_are_a_problem(
    other_api: ContractClient, db: Connection, recorded_first: Any
) -> None:
    twice = {**partner_file()[2], "ref": "UG-I-2", "serial_number": "1502001"}

    response = send(other_api, ndjson(*partner_file(), twice))

    assert response.status_code == 400
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (5, "/serial_number", "line 3 has the same serial, manufacturer and model"),
    ]
    assert rows_in(db, "import_references") == 0


def test_a_file_sent_again_finds_its_linked_records_present_and_stores_nothing(
    api: ContractClient, other_api: ContractClient, db: Connection, recorded_first: Any
) -> None:
    first = send(other_api, ndjson(*partner_file())).get_json()
    before = {table: rows_in(db, table) for table in ("items", "parties", "custody_events")}

    same_bytes = send(other_api, ndjson(*partner_file()))
    reordered = send(other_api, ndjson(*reversed(partner_file())))

    assert same_bytes.status_code == reordered.status_code == 201
    for again in (same_bytes.get_json(), reordered.get_json()):
        assert again["stored"] == NOTHING
        assert again["already_present"] == {"party": 2, "item": 1, "euc": 0, "event": 1}
        assert again["linked"] == {"party": 0, "item": 0, "euc": 0}
    assert {table: rows_in(db, table) for table in before} == before
    assert rows_in(db, "import_references") == 4
    assert [i["linked"] for i in other_api.get("/v1/imports").get_json()["items"]] == [
        {"party": 0, "item": 0, "euc": 0}, {"party": 0, "item": 0, "euc": 0}, first["linked"],
    ]  # fmt: skip


def test_a_linked_reference_sent_again_for_another_weapon_is_a_problem(
    other_api: ContractClient, recorded_first: Any
) -> None:
    first = send(other_api, ndjson(*partner_file())).get_json()
    other_rifle = {**partner_file()[2], "serial_number": "1502-002", "caliber": "5.56mm"}

    response = send(other_api, ndjson(other_rifle))

    assert response.status_code == 400
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (1, "/serial_number",
         f"item UG-I-1 was linked by import {first['id']} to the item another agency recorded "
         'with serial_number "1502001", and this file says "1502002" (as the registry compares '
         "them): a reference names one record, send it as it was"),
    ]  # fmt: skip


def test_a_later_file_names_a_linked_record_by_its_reference(
    api: ContractClient, other_api: ContractClient, recorded_first: Any
) -> None:
    send(other_api, ndjson(*partner_file()))
    seized = {"record_type": "event", "ref": "UG-E-3", "event_type": "SEIZURE",
              "occurred_on": "2019-02-02", "country": "UG", "to_party_ref": "UG-P-FN",
              "item_refs": ["UG-I-1"]}  # fmt: skip

    response = send(other_api, ndjson(seized))

    assert response.status_code == 201, response.get_data(as_text=True)
    chain = api.get(f"/v1/items/{recorded_first['item']['id']}/custody").get_json()
    assert [e["event_type"] for e in chain["events"]] == ["MANUFACTURE", "IMPORT", "SEIZURE"]


def test_csv_items_are_linked_too(
    other_api: ContractClient, db: Connection, recorded_first: Any
) -> None:
    items = "ref,manufacturer,model,category,serial_number\nUG-I-1,FN Herstal,FAL,RIFLE,1502001\n"

    response = send(other_api, items.encode(), CSV, record_type="item")

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["linked"] == {"party": 0, "item": 1, "euc": 0}
    assert rows_in(db, "items") == 1


def certified_export(certificate_number: str, line: int) -> list[dict[str, Any]]:
    """The partner's copy of a certificate (its lines as it read them), and an export under it."""
    return [
        {"record_type": "euc", "ref": "UG-C-1", "certificate_number": certificate_number,
         "issuing_country": "IQ", "issuing_authority": "MoD", "issued_on": "2010-03-01",
         "exporter_party_ref": "UG-P-FN", "end_user_party_ref": "UG-P-ARMY",
         "destination_country": "IQ", "stated_end_use": "Army", "non_reexport_clause": True,
         "line_items": [{"description": "Rifles", "quantity": 10},
                        {"description": "Pistols", "quantity": 5}]},
        {"record_type": "event", "ref": "UG-E-4", "event_type": "EXPORT",
         "occurred_on": "2010-05-02", "country": "BE", "destination_country": "IQ",
         "from_party_ref": "UG-P-FN", "to_party_ref": "UG-P-ARMY", "euc_ref": "UG-C-1",
         "euc_line_number": line, "item_refs": ["UG-I-1"]},
    ]  # fmt: skip


def test_a_certificate_another_agency_recorded_is_linked_with_its_lines(
    api: ContractClient,
    other_api: ContractClient,
    db: Connection,
    recorded_first: Any,
    registry: Any,
) -> None:
    army = registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ")
    certificate = registry.euc(recorded_first["party"], army)
    number = certificate["certificate_number"]

    response = send(other_api, ndjson(*partner_file(), *certified_export(number, 1)))
    no_line_2 = send(other_api, ndjson({**certified_export(number, 2)[1], "ref": "UG-E-5"}))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["linked"] == {"party": 1, "item": 1, "euc": 1}
    # Found in review: the partner's end user and lines, which differ, were not named (the
    # exporter, linked to the same company, is the recorded one).
    assert response.get_json()["not_applied"][-1] == {
        "line": 5, "record_type": "euc", "ref": "UG-C-1",
        "fields": ["issuing_authority", "end_user_party_ref", "stated_end_use", "line_items"],
    }  # fmt: skip
    assert rows_in(db, "end_user_certificates") == 1
    assert rows_in(db, "euc_line_items") == 1  # the first recorder's one line
    chain = api.get(f"/v1/items/{recorded_first['item']['id']}/custody").get_json()
    export = next(e for e in chain["events"] if e["event_type"] == "EXPORT")
    assert export["euc"]["id"] == certificate["id"]
    # its lines are the recorded certificate's: the partner's second line is not one of them
    assert no_line_2.status_code == 400
    assert [(e["line"], e["detail"]) for e in no_line_2.get_json()["errors"]] == [
        (1, "certificate UG-C-1 has no line 2"),
    ]


def test_a_certificate_naming_another_agencys_restricted_party_is_not_linked(
    other_api: ContractClient, db: Connection, recorded_first: Any, registry: Any
) -> None:
    covert = registry.party(
        name="Front SARL", kind="BROKER", country="IQ", classification="RESTRICTED"
    )
    certificate = registry.euc(recorded_first["party"], covert)

    response = send(
        other_api, ndjson(*partner_file(), *certified_export(certificate["certificate_number"], 1))
    )

    assert response.status_code == 400
    assert [(e["line"], e["pointer"]) for e in response.get_json()["errors"]] == [
        (5, "/certificate_number"),
    ]
    assert rows_in(db, "import_references") == 0


def test_a_linked_certificate_sent_again_with_its_own_lines_stores_nothing(
    other_api: ContractClient, db: Connection, recorded_first: Any, registry: Any
) -> None:
    # The partner's copy says two lines, the recorded one has one: compared by its number only.
    army = registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ")
    number = registry.euc(recorded_first["party"], army)["certificate_number"]
    body = ndjson(*partner_file(), *certified_export(number, 1))
    send(other_api, body)

    again = send(other_api, body + b"\n")  # other bytes: read and found present record by record

    assert again.status_code == 201, again.get_data(as_text=True)
    assert again.get_json()["stored"] == NOTHING
    assert again.get_json()["already_present"] == {"party": 2, "item": 1, "euc": 1, "event": 2}
    assert rows_in(db, "euc_line_items") == 1


@pytest.mark.parametrize(
    ("record_type", "index", "field"),
    [("item", 2, "serial_number"), ("party", 0, "registration_number")],
)
def test_a_linked_record_sent_again_under_another_reference_is_a_problem(
    other_api: ContractClient,
    db: Connection,
    recorded_first: Any,
    record_type: str,
    index: int,
    field: str,
) -> None:
    first = send(other_api, ndjson(*partner_file())).get_json()
    renamed = {**partner_file()[index], "ref": "UG-NEW-1"}
    before = rows_in(db, "import_references")

    response = send(other_api, ndjson(renamed))

    assert response.status_code == 400
    linked_ref = partner_file()[index]["ref"]
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (1, f"/{field}",
         f"{record_type} UG-NEW-1 is the {record_type} another agency recorded that import "
         f"{first['id']} linked to reference {linked_ref} of this agency: "
         "a record has one reference"),
    ]  # fmt: skip
    assert rows_in(db, "import_references") == before


def test_a_linked_certificate_sent_again_under_another_reference_is_a_problem(
    other_api: ContractClient, db: Connection, recorded_first: Any, registry: Any
) -> None:
    army = registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ")
    number = registry.euc(recorded_first["party"], army)["certificate_number"]
    first = send(other_api, ndjson(*partner_file(), *certified_export(number, 1))).get_json()
    renamed = {**certified_export(number, 1)[0], "ref": "UG-C-2"}

    response = send(other_api, ndjson(renamed))

    assert response.status_code == 400
    assert [(e["line"], e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        (1, "/certificate_number",
         f"euc UG-C-2 is the euc another agency recorded that import {first['id']} linked to "
         "reference UG-C-1 of this agency: a record has one reference"),
    ]  # fmt: skip
