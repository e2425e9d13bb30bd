"""The dates of records fall within the registry's span: not before 1800-01-01 (serialised
manufacture began in the 19th century; an event "on 0001-01-01" is a typing slip or a
placeholder, which a chain would put first), and not in the future (one day of slack for the
agencies east of UTC). The JSON API and imports (NDJSON and CSV) hold them alike and name the
field (and the line)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from service.db import Connection
from tests.conftest import pointers, rows_in
from tests.contract import ContractClient

GHOST = "01a20319-0000-7000-8000-000000000000"
TOO_EARLY = ["0001-01-01", "1799-12-31", "0202-05-01"]
NEXT_YEAR = datetime.now(UTC).date().year + 1
NEXT_WEEK = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()

EVENT = {"event_type": "LOSS", "country": "BE", "item_ids": [GHOST], "from_party_id": GHOST}
EUC = {
    "certificate_number": "EUC/1", "issuing_country": "BE", "issuing_authority": "Ministry",
    "end_user_party_id": GHOST, "destination_country": "BE", "stated_end_use": "army",
    "non_reexport_clause": True, "line_items": [{"description": "Rifles", "quantity": 1}],
}  # fmt: skip
ITEM = {"manufacturer": "FN Herstal", "model": "FAL", "category": "RIFLE", "serial_number": "7741"}
TRACE = {"case_reference": "C-1", "purpose": "trace"}
NDJSON = "application/x-ndjson"


@pytest.mark.parametrize("day", TOO_EARLY)
@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/v1/events", {**EVENT, "occurred_on": "{day}"}, "/occurred_on"),
        ("/v1/eucs", {**EUC, "issued_on": "{day}"}, "/issued_on"),
        (f"/v1/eucs/{GHOST}/revocation", {"revoked_on": "{day}", "reason": "forged"},
         "/revoked_on"),
        (f"/v1/eucs/{GHOST}/consents",
         {"granted_on": "{day}", "granted_by": "Ministry", "new_destination_country": "BE"},
         "/granted_on"),
        (f"/v1/eucs/{GHOST}/verifications",
         {"verified_on": "{day}", "verifying_authority": "Embassy", "country": "BE"},
         "/verified_on"),
        (f"/v1/parties/{GHOST}/verifications", {"verified_on": "{day}", "method": "visit"},
         "/verified_on"),
        ("/v1/traces", {"weapon": {"serial_number": "7741"},
                        "context": {**TRACE, "seized_on": "{day}"}}, "/context/seized_on"),
    ],
)  # fmt: skip
def test_a_record_dated_before_the_registry_s_span_is_refused_naming_the_field(
    api: ContractClient, db: Connection, path: str, body: dict[str, Any], pointer: str, day: str
) -> None:
    sent = orjson.loads(orjson.dumps(body).replace(b"{day}", day.encode()))

    response = api.post(path, sent)

    assert response.status_code == 400, response.get_json()
    assert pointers(response) == {pointer}
    assert "1800-01-01" in response.get_json()["errors"][0]["detail"]


DAY_AFTER_TOMORROW = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("path", "body", "pointer", "what"),
    [
        ("/v1/eucs", {**EUC, "issued_on": "{day}"}, "/issued_on", "a certificate's issue"),
        (f"/v1/eucs/{GHOST}/revocation", {"revoked_on": "{day}", "reason": "forged"},
         "/revoked_on", "a revocation"),
        (f"/v1/eucs/{GHOST}/consents",
         {"granted_on": "{day}", "granted_by": "Ministry", "new_destination_country": "BE"},
         "/granted_on", "a consent"),
        (f"/v1/eucs/{GHOST}/verifications",
         {"verified_on": "{day}", "verifying_authority": "Embassy", "country": "BE"},
         "/verified_on", "a verification"),
        (f"/v1/parties/{GHOST}/verifications", {"verified_on": "{day}", "method": "visit"},
         "/verified_on", "a verification"),
        ("/v1/traces", {"weapon": {"serial_number": "7741"},
                        "context": {**TRACE, "seized_on": "{day}"}}, "/context/seized_on",
         "a seizure"),
    ],
)  # fmt: skip
def test_a_record_dated_after_tomorrow_is_refused_naming_the_field_and_the_act(
    api: ContractClient, path: str, body: dict[str, Any], pointer: str, what: str
) -> None:
    # The span's other end, for every field held to it (a seizure's and a party verification's
    # were tested at its first day only).
    sent = orjson.loads(orjson.dumps(body).replace(b"{day}", DAY_AFTER_TOMORROW.encode()))

    response = api.post(path, sent)

    assert response.status_code == 400, response.get_json()
    assert pointers(response) == {pointer}
    assert (
        response.get_json()["errors"][0]["detail"] == f"{what} cannot be recorded before it happens"
    )


def test_the_first_day_of_the_span_is_taken(api: ContractClient, registry: Any) -> None:
    maker = registry.party()

    registry.event("MANUFACTURE", [registry.item()], occurred_on="1800-01-01",
                   to_party_id=maker["id"])  # fmt: skip


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({**ITEM, "year_of_manufacture": NEXT_YEAR + 1}, "/year_of_manufacture"),
        ({**ITEM, "import_markings": [{"country": "BE", "year": NEXT_YEAR + 1}]},
         "/import_markings/0/year"),
    ],
)  # fmt: skip
def test_a_weapon_made_or_marked_in_a_year_to_come_is_refused(
    api: ContractClient, db: Connection, body: dict[str, Any], pointer: str
) -> None:
    response = api.post("/v1/items", body)

    assert response.status_code == 400
    assert pointers(response) == {pointer}
    assert rows_in(db, "items") == 0


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def send(api: ContractClient, body: bytes, media_type: str, **query: str) -> Any:
    return api.request(
        "POST", "/v1/imports", data=body, headers={"Content-Type": media_type}, query=query
    )


def test_an_import_names_the_line_and_field_of_a_date_out_of_the_span_and_stores_nothing(
    api: ContractClient, db: Connection
) -> None:
    party = {"record_type": "party", "ref": "P-1", "name": "Arsenal", "kind": "MANUFACTURER",
             "country": "BE"}  # fmt: skip
    item = {"record_type": "item", "ref": "I-1", **ITEM}
    made = {"record_type": "event", "ref": "E-1", "event_type": "MANUFACTURE",
            "occurred_on": "0001-01-01", "country": "BE", "item_refs": ["I-1"],
            "to_party_ref": "P-1"}  # fmt: skip
    certificate = {"record_type": "euc", "ref": "C-1", **EUC, "issued_on": "1799-12-31",
                   "end_user_party_ref": "P-1"}  # fmt: skip
    del certificate["end_user_party_id"]
    future = {**item, "ref": "I-2", "serial_number": "7742", "year_of_manufacture": NEXT_YEAR + 1}

    response = send(api, ndjson(party, item, made, certificate, future), NDJSON)

    assert response.status_code == 400, response.get_json()
    assert {(e["line"], e["pointer"]) for e in response.get_json()["errors"]} == {
        (3, "/occurred_on"), (4, "/issued_on"), (5, "/year_of_manufacture"),
    }  # fmt: skip
    assert rows_in(db, "parties") + rows_in(db, "items") + rows_in(db, "custody_events") == 0


def test_a_csv_import_holds_event_dates_to_the_same_span(
    api: ContractClient, db: Connection
) -> None:
    party = {"record_type": "party", "ref": "P-1", "name": "Arsenal", "kind": "MANUFACTURER",
             "country": "BE"}  # fmt: skip
    first = send(api, ndjson(party, {"record_type": "item", "ref": "I-1", **ITEM}), NDJSON)
    assert first.status_code == 201, first.get_json()
    events = (
        "ref,event_type,occurred_on,country,item_refs,to_party_ref\n"
        "E-1,MANUFACTURE,1800-01-01,BE,I-1,P-1\n"
        f"E-2,SEIZURE,{NEXT_WEEK},BE,I-1,P-1\n"
        "E-3,SEIZURE,0999-01-01,BE,I-1,P-1\n"
    )

    response = send(api, events.encode(), "text/csv", record_type="event")

    assert response.status_code == 400, response.get_json()
    assert {(e["line"], e["pointer"]) for e in response.get_json()["errors"]} == {
        (3, "/occurred_on"), (4, "/occurred_on"),
    }  # fmt: skip
    assert rows_in(db, "custody_events") == 0
