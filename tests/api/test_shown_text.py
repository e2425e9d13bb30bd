"""Text that other agencies read: a party's name, and the free text of the records (addresses,
markings, descriptions, notes), by POST and by import alike. No format character may hide text or
show it in another order; the direction marks and joiners of real names are kept; all is NFC."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from service.db import Connection
from tests.conftest import pointers, rows_in
from tests.contract import ContractClient

PARTY = {"name": "Arsenal Nord", "kind": "MANUFACTURER", "country": "BE"}
ITEM = {"manufacturer": "FN Herstal", "model": "FAL", "category": "RIFLE", "serial_number": "7741"}

# Names that read as another, or as nothing at all.
MISLEADING_NAMES = [
    "\u202edroN lanesrA",  # a right-to-left override: shown as "Arsenal Nord"
    "Arsenal \u202aNord\u202c",  # an embedding
    "Arsenal \u2067Nord\u2069",  # an isolate
    "Arsenal\u200bNord",  # a zero-width space
    "\ufeffArsenal Nord",  # a byte-order mark
    "Arsen\u00adal Nord",  # a soft hyphen
    "\u200b",  # nothing to see
    "\u200f\u200e",  # direction marks alone
    "\u0301",  # an accent on nothing
    "...",  # no letter, number or symbol
    "Arsenal\nNord",
    "Arsenal\u2028Nord",
    "Arsenal\tNord",
]


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def send(api: ContractClient, body: bytes, media_type: str, **query: str) -> Any:
    return api.request(
        "POST", "/v1/imports", data=body, headers={"Content-Type": media_type}, query=query
    )


@pytest.mark.parametrize("name", MISLEADING_NAMES)
def test_a_party_name_that_reads_as_another_or_as_nothing_is_refused(
    api: ContractClient, db: Connection, name: str
) -> None:
    response = api.post("/v1/parties", {**PARTY, "name": name})

    assert response.status_code == 400
    assert pointers(response) == {"/name"}
    assert rows_in(db, "parties") == 0


@pytest.mark.parametrize("blank", ["", "   ", " \t\n ", "\u3000"])
def test_a_blank_text_is_told_so_in_every_kind_of_field(
    api: ContractClient, registry: Any, blank: str
) -> None:
    # Found in the messages review: "   " was told "Length must be between 1 and 1000.", or a
    # field's own rule ("needs at least one letter or digit"), though nothing was written.
    euc = registry.euc(registry.party(kind="EXPORTER"), registry.party(kind="ARMED_FORCES"))
    refused = [
        api.post(f"/v1/eucs/{euc['id']}/revocation", {"revoked_on": "2020-01-01", "reason": blank}),
        api.post("/v1/parties", {**PARTY, "name": blank}),
        api.post("/v1/items", {**ITEM, "serial_number": blank}),
        api.post("/v1/parties", {**PARTY, "address": blank}),
    ]

    assert [[(e["pointer"], e["detail"]) for e in r.get_json()["errors"]] for r in refused] == [
        [("/reason", "must not be blank")],
        [("/name", "must not be blank")],
        [("/serial_number", "must not be blank")],
        [("/address", "must not be blank")],
    ]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("\u05e9\u05de\u05e9 \u05d1\u05e2\u05f4\u05de\u200f", None),  # Hebrew, a right-to-left mark
        ("\u0634\u0631\u0643\u0629 \u061c(2)\u061c", None),  # Arabic, the Arabic letter mark
        ("\u200eAl-Noor \u0627\u0644\u0646\u0648\u0631", None),  # a left-to-right mark
        ("\u0645\u06cc\u200c\u0634\u0648\u062f", None),  # Persian, a zero-width non-joiner
        ("\u0915\u094d\u200d\u0937 Arms", None),  # Devanagari, a zero-width joiner
        ("Zastava Oruz\u030cje", "Zastava Oru\u017eje"),  # decomposed: stored in NFC
        ("\u2605", None),  # a symbol is something to see
    ],
)
def test_real_names_keep_their_direction_marks_and_joiners_in_nfc(
    api: ContractClient, sent: str, stored: str | None
) -> None:
    created = api.created("/v1/parties", {**PARTY, "name": sent})

    assert created["name"] == (stored or sent)


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/v1/parties", {**PARTY, "address": "Rue \u202e01 eur"}, "/address"),
        ("/v1/parties", {**PARTY, "address": "Rue\u200b10"}, "/address"),
        ("/v1/items", {**ITEM, "serial_number": "AK\u202e7410"}, "/serial_number"),
        ("/v1/items", {**ITEM, "model": "F\u2066AL\u2069"}, "/model"),
        ("/v1/items", {**ITEM, "other_markings": "\u2068proof\u2069"}, "/other_markings"),
        (
            "/v1/items",
            {**ITEM, "import_markings": [{"country": "FR", "marking": "\u202dFR\u202c"}]},
            "/import_markings/0/marking",
        ),
    ],
)
def test_free_text_other_agencies_read_holds_no_hiding_or_reordering_character(
    api: ContractClient, db: Connection, path: str, body: dict[str, Any], pointer: str
) -> None:
    response = api.post(path, body)

    assert response.status_code == 400
    assert pointers(response) == {pointer}
    assert rows_in(db, "parties") + rows_in(db, "items") == 0


def test_an_event_note_with_an_isolate_is_refused(api: ContractClient) -> None:
    item = api.created("/v1/items", ITEM)

    response = api.post(
        "/v1/events",
        {"event_type": "LOSS", "occurred_on": "2020-01-02", "country": "BE",
         "item_ids": [item["id"]], "notes": "lost by \u2067\u05e9\u05de\u05e9\u2069"},
    )  # fmt: skip

    assert response.status_code == 400
    assert pointers(response) == {"/notes"}


def test_an_address_may_run_over_lines_and_keeps_its_marks(api: ContractClient) -> None:
    address = "\u05e8\u05d7\u05d5\u05d1 \u05d4\u05e8\u05e6\u05dc 12\u200f\nTel Aviv"

    created = api.created("/v1/parties", {**PARTY, "address": address})

    assert created["address"] == address


@pytest.mark.parametrize("name", ["\u202edroN lanesrA", "\u200f", "Arsenal\u2028Nord"])
def test_an_import_names_the_line_and_field_of_a_bad_party_name_and_stores_nothing(
    api: ContractClient, db: Connection, name: str
) -> None:
    body = ndjson(
        {"record_type": "party", "ref": "P-1", **PARTY},
        {"record_type": "party", "ref": "P-2", **PARTY, "name": name, "country": "FR"},
        {"record_type": "item", "ref": "I-1", **ITEM},
    )

    response = send(api, body, "application/x-ndjson")

    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert [(e["line"], e["pointer"]) for e in errors] == [(2, "/name")]
    assert rows_in(db, "parties") + rows_in(db, "items") == 0


def test_a_csv_import_holds_names_and_markings_to_the_same_rules(
    api: ContractClient, db: Connection
) -> None:
    parties = (
        "ref,name,kind,country,address\n"
        "P-1,Arsenal Nord,MANUFACTURER,BE,\n"
        "P-2,Arsenal\u2066 Nord,MANUFACTURER,FR,\n"
        "P-3,Armée de Terre,ARMED_FORCES,FR,Paris\u200b\n"
    )
    items = "ref,manufacturer,model,category,serial_number\nI-1,FN Herstal,FAL,RIFLE,15\u202e02\n"

    refused_parties = send(api, parties.encode(), "text/csv", record_type="party")
    refused_items = send(api, items.encode(), "text/csv", record_type="item")

    assert refused_parties.status_code == refused_items.status_code == 400
    assert {(e["line"], e["pointer"]) for e in refused_parties.get_json()["errors"]} == {
        (3, "/name"), (4, "/address"),
    }  # fmt: skip
    assert [(e["line"], e["pointer"]) for e in refused_items.get_json()["errors"]] == [
        (2, "/serial_number")
    ]
    assert rows_in(db, "parties") + rows_in(db, "items") == 0


def test_an_import_stores_real_names_in_nfc_as_a_post_does(
    api: ContractClient, db: Connection
) -> None:
    name = "\u0634\u0631\u0643\u0629 \u0627\u0644\u0646\u0648\u0631\u200f Oruz\u030cje"
    body = ndjson({"record_type": "party", "ref": "P-1", **PARTY, "name": name})

    response = send(api, body, "application/x-ndjson")
    posted = api.created("/v1/parties", {**PARTY, "name": name, "country": "FR"})

    assert response.status_code == 201, response.get_json()
    composed = name.replace("z\u030c", "\u017e")
    imported = db.execute("SELECT name FROM parties WHERE country = 'BE'").fetchone()
    assert imported is not None and imported["name"] == composed
    assert posted["name"] == composed


TRACE_CONTEXT = {"case_reference": "KG-2019-1003", "purpose": "criminal investigation"}


@pytest.mark.parametrize(
    ("weapon", "context", "pointer"),
    [
        ({}, {"case_reference": "KG-\u202e3001-9102"}, "/context/case_reference"),
        ({}, {"purpose": "trace \u2066for\u2069 a court"}, "/context/purpose"),
        ({}, {"legal_basis": "art.\u200b163"}, "/context/legal_basis"),
        ({}, {"requesting_officer": "\ufeffInsp. Sadykov"}, "/context/requesting_officer"),
        ({"serial_number": "AK\u202e7410"}, {}, "/weapon/serial_number"),
    ],
)
def test_a_trace_holds_the_text_other_agencies_are_told_of_to_the_same_rule(
    api: ContractClient,
    db: Connection,
    weapon: dict[str, Any],
    context: dict[str, Any],
    pointer: str,
) -> None:
    # The case reference, the purpose and the serial as read reach every agency that recorded a
    # candidate, in its hit notification.
    body = {
        "weapon": {"serial_number": "7741", **weapon},
        "context": {**TRACE_CONTEXT, **context},
    }

    single = api.post("/v1/traces", body)
    batch = api.post("/v1/traces/batch", {"context": body["context"], "weapons": [body["weapon"]]})

    assert single.status_code == batch.status_code == 400
    assert pointers(single) == {pointer}
    assert pointers(batch) == {pointer.replace("/weapon/", "/weapons/0/")}
    assert rows_in(db, "traces") == 0


def test_a_hit_notification_tells_other_agencies_the_trace_s_text_in_nfc_with_its_marks(
    api: ContractClient, other_api: ContractClient
) -> None:
    other_api.created("/v1/items", {**ITEM, "serial_number": "\u0416 7741"})
    case = "\u05ea\u05d9\u05e7 12\u200f/2024"  # Hebrew, a right-to-left mark
    purpose = "Oruz\u030cje trafficking"  # decomposed

    api.created(
        "/v1/traces",
        {"weapon": {"serial_number": "\u0416\u0306 7741"},  # Ж and a combining breve: Ӂ
         "context": {"case_reference": case, "purpose": purpose}},
    )  # fmt: skip
    (told,) = other_api.get("/v1/notifications").get_json()["items"]

    assert told["case_reference"] == case
    assert told["purpose"] == "Oru\u017eje trafficking"
    assert told["observed_serial"] == "\u04c1 7741"


def test_traces_are_found_by_their_case_reference_typed_in_another_normal_form(
    api: ContractClient,
) -> None:
    api.created(
        "/v1/traces",
        {"weapon": {"serial_number": "7741"},
         "context": {"case_reference": "Oruz\u030cje-7", "purpose": "trace"}},
    )  # fmt: skip

    found = api.get("/v1/traces", query={"case_reference": "Oru\u017eje-7"}).get_json()["items"]
    found_decomposed = api.get("/v1/traces", query={"case_reference": "Oruz\u030cje-7"}).get_json()[
        "items"
    ]

    assert len(found) == len(found_decomposed) == 1


def test_a_record_stored_before_nfc_was_kept_is_present_when_sent_again(
    api: ContractClient, db: Connection
) -> None:
    # Stored decomposed before the rule, a record sent again as it was reads composed (the
    # schema makes it NFC) and was refused as changed: "name "Zastava Oružje", and this file
    # says "Zastava Oružje"", which the sender could not change.
    decomposed = "Zastava Oruz\u030cje"
    records = ndjson(
        {"record_type": "party", "ref": "P-1", **PARTY, "name": decomposed},
        {"record_type": "item", "ref": "I-1", **ITEM, "model": "M70 Oruz\u030cje"},
        {"record_type": "event", "ref": "E-1", "event_type": "MANUFACTURE",
         "occurred_on": "2001-01-01", "country": "BE", "item_refs": ["I-1"],
         "to_party_ref": "P-1", "notes": "Kragujevac, Oruz\u030cje line"},
    )  # fmt: skip
    assert send(api, records, "application/x-ndjson").status_code == 201
    with db.transaction():
        # as the rows were stored before the rule (the ledger's triggers off to write them so)
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE parties SET name = %s", [decomposed])
        db.execute("UPDATE items SET model = %s", ["M70 Oruz\u030cje"])
        db.execute("UPDATE custody_events SET notes = %s", ["Kragujevac, Oruz\u030cje line"])

    # and one record more: a file sent again byte for byte is answered by its first import
    more = ndjson({"record_type": "party", "ref": "P-2", **PARTY, "country": "FR"})
    again = send(api, records + more, "application/x-ndjson")

    assert again.status_code == 201, again.get_json()
    assert sum(again.get_json()["already_present"].values()) == 3
    changed = ndjson({"record_type": "party", "ref": "P-1", **PARTY, "name": "Zastava Arms"})
    refused = send(api, changed, "application/x-ndjson")
    assert refused.status_code == 400
    assert [(e["line"], e["pointer"]) for e in refused.get_json()["errors"]] == [(1, "/name")]
