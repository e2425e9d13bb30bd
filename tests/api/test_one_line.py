"""One-line fields: the identifiers and references of traces and records (a case reference, an
officer, a serial, a manufacturer, a model, a caliber, a certificate's or registration's
number, a licence or document reference, a key's label) refuse line breaks and tabs, by POST
and by import alike; the free text beside them (a purpose, a legal basis, notes, an address, an
end use) keeps its lines. A case reference on two lines was stored in the trace and its audit
entry, shown on one line in the text report, and could never be sent in X-Case-Reference."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from service.db import Connection
from service.schemas.traces import TraceQuery
from tests.conftest import create_agency_key, pointers, rows_in
from tests.contract import ContractClient

WEAPON = {"serial_number": "7741"}
CONTEXT = {"case_reference": "KG-2019-1003", "purpose": "criminal investigation"}
PARTY = {"name": "Arsenal Nord", "kind": "MANUFACTURER", "country": "BE"}
ITEM = {"manufacturer": "FN Herstal", "model": "FAL", "category": "RIFLE", "serial_number": "7741"}
# What ends a line, and a tab: each inside a value (at its ends they go with the spaces).
BREAKS = ["\n", "\r", "\r\n", "\t", "\u2028", "\u2029"]


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


@pytest.mark.parametrize("line_break", BREAKS)
@pytest.mark.parametrize(
    ("part", "field"),
    [
        ("context", "case_reference"),
        ("context", "requesting_officer"),
        ("weapon", "serial_number"),
        ("weapon", "manufacturer"),
        ("weapon", "model"),
        ("weapon", "caliber"),
    ],
)
def test_a_trace_refuses_a_line_break_in_a_one_line_field(
    api: ContractClient, db: Connection, part: str, field: str, line_break: str
) -> None:
    body: dict[str, Any] = {"weapon": dict(WEAPON), "context": dict(CONTEXT)}
    body[part][field] = f"KG{line_break}77"

    single = api.post("/v1/traces", body)
    batch = api.post("/v1/traces/batch", {"context": body["context"], "weapons": [body["weapon"]]})

    assert single.status_code == batch.status_code == 400
    pointer = f"/{part}/{field}"
    assert pointers(single) == {pointer}
    assert pointers(batch) == {pointer.replace("/weapon/", "/weapons/0/")}
    assert "one line" in single.get_json()["errors"][0]["detail"]
    assert rows_in(db, "traces") == 0


def test_a_trace_s_free_text_keeps_its_lines_and_its_ends_are_stripped(
    api: ContractClient,
) -> None:
    context = {
        "case_reference": "\tKG-2019-1003\r\n",
        "purpose": "criminal investigation:\nthe seizure of 3 May",
        "legal_basis": "art. 163\u2028art. 164",
    }

    trace = api.created("/v1/traces", {"weapon": WEAPON, "context": context})

    stored = api.get(f"/v1/traces/{trace['id']}").get_json()["context"]
    assert stored["case_reference"] == "KG-2019-1003"
    assert stored["purpose"] == context["purpose"]
    assert stored["legal_basis"] == context["legal_basis"]


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/v1/parties", {**PARTY, "registration_number": "BE\n0403"}, "/registration_number"),
        ("/v1/items", {**ITEM, "serial_number": "77\n41"}, "/serial_number"),
        ("/v1/items", {**ITEM, "manufacturer": "FN\r\nHerstal"}, "/manufacturer"),
        ("/v1/items", {**ITEM, "model": "F\u2028AL"}, "/model"),
        ("/v1/items", {**ITEM, "caliber": "7.62\tNATO"}, "/caliber"),
    ],
)
def test_a_record_refuses_a_line_break_in_a_one_line_field(
    api: ContractClient, db: Connection, path: str, body: dict[str, Any], pointer: str
) -> None:
    response = api.post(path, body)

    assert response.status_code == 400
    assert pointers(response) == {pointer}
    assert rows_in(db, "parties") + rows_in(db, "items") == 0


def test_certificates_and_events_refuse_line_breaks_in_their_numbers_and_references(
    api: ContractClient, registry: Any
) -> None:
    maker = registry.party(name="Arsenal", kind="MANUFACTURER", country="BG")
    army = registry.party(name="Army", kind="ARMED_FORCES", country="IQ")
    item = registry.item()
    euc = {
        "certificate_number": "EUC/1\n2", "issuing_country": "IQ",
        "issuing_authority": "Ministry of Defence", "issued_on": "2010-03-01",
        "end_user_party_id": army["id"], "destination_country": "IQ",
        "stated_end_use": "Equipment of\nthe national army", "non_reexport_clause": True,
        "line_items": [{"description": "Rifles,\nassault", "model": "AK\n47", "quantity": 1}],
    }  # fmt: skip
    event = {
        "event_type": "MANUFACTURE", "occurred_on": "2001-01-01", "country": "BG",
        "item_ids": [item["id"]], "to_party_id": maker["id"], "licence_number": "L\n1",
        "document_reference": "D\u20292", "notes": "made\nin Kazanlak",
    }  # fmt: skip

    certificate = api.post("/v1/eucs", euc)
    recorded = api.post("/v1/events", event)

    assert certificate.status_code == recorded.status_code == 400
    assert pointers(certificate) == {"/certificate_number", "/line_items/0/model"}
    assert pointers(recorded) == {"/licence_number", "/document_reference"}


def test_free_text_of_records_keeps_its_lines(api: ContractClient, registry: Any) -> None:
    maker = registry.party(address="Rue de l'Arsenal 1\n4000 Liège")
    army = registry.party(name="Army", kind="ARMED_FORCES", country="IQ")
    item = registry.item(other_markings="proof marks\nacceptance stamp")
    euc = registry.euc(
        maker,
        army,
        stated_end_use="Equipment of\nthe national army",
        line_items=[{"description": "Rifles,\nassault", "quantity": 1}],
    )
    event = registry.event("MANUFACTURE", [item], to_party_id=maker["id"], notes="made\nhere")

    assert maker["address"] == "Rue de l'Arsenal 1\n4000 Liège"
    assert item["other_markings"] == "proof marks\nacceptance stamp"
    assert euc["stated_end_use"] == "Equipment of\nthe national army"
    assert event["notes"] == "made\nhere"


def test_an_import_names_the_line_and_field_of_a_line_break_and_stores_nothing(
    api: ContractClient, db: Connection
) -> None:
    body = ndjson(
        {"record_type": "party", "ref": "P-1", **PARTY, "address": "Rue 1\nLiège"},
        {"record_type": "party", "ref": "P-2", **PARTY, "country": "FR",
         "registration_number": "FR\u2028123"},
        {"record_type": "item", "ref": "I-1", **ITEM, "serial_number": "77\n41"},
        {"record_type": "item", "ref": "I-2", **ITEM, "serial_number": "7742",
         "other_markings": "proof\nmarks"},
    )  # fmt: skip

    response = api.request(
        "POST", "/v1/imports", data=body, headers={"Content-Type": "application/x-ndjson"}
    )

    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert [(e["line"], e["pointer"]) for e in errors] == [
        (2, "/registration_number"), (3, "/serial_number"),
    ]  # fmt: skip
    assert rows_in(db, "parties") + rows_in(db, "items") == 0


def test_a_csv_import_refuses_a_quoted_cell_on_two_lines_in_a_serial(
    api: ContractClient, db: Connection
) -> None:
    items = (
        "ref,manufacturer,model,category,serial_number,other_markings\n"
        'I-1,FN Herstal,FAL,RIFLE,"77\n41",\n'
        'I-2,FN Herstal,FAL,RIFLE,7742,"proof\nmarks"\n'
    )

    response = api.request(
        "POST", "/v1/imports", data=items.encode(), headers={"Content-Type": "text/csv"},
        query={"record_type": "item"},
    )  # fmt: skip

    assert response.status_code == 400
    assert [(e["line"], e["pointer"]) for e in response.get_json()["errors"]] == [
        (2, "/serial_number")
    ]
    assert rows_in(db, "items") == 0


def test_a_key_s_label_is_one_line(client: FlaskClient, db: Connection) -> None:
    agency, key = create_agency_key(db, "Registry Operations", ("registry:admin",))
    admin = ContractClient(client, key)

    response = admin.post("/v1/admin/keys", {"agency_id": str(agency.id), "label": "border\ndesk"})

    assert response.status_code == 400
    assert pointers(response) == {"/label"}


def test_a_case_reference_is_still_sought_as_typed() -> None:
    # A filter finds what was stored before the rule: the audit trail, a hash chain, keeps the
    # case references of traces on two lines as they were written.
    assert TraceQuery().load({"case_reference": "KG\n77"})["case_reference"] == "KG\n77"
