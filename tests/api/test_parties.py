"""/v1/parties"""

from __future__ import annotations

from typing import Any

from tests.contract import ContractClient

PARTY = {"name": "Zastava Oružje", "kind": "MANUFACTURER", "country": "RS"}


def test_a_recorded_party_reads_back_with_who_recorded_it(api: ContractClient) -> None:
    created = api.created("/v1/parties", {**PARTY, "registration_number": "07117450"})

    fetched = api.get(f"/v1/parties/{created['id']}").get_json()

    assert fetched == created
    assert fetched["name"] == "Zastava Oružje"
    assert fetched["registration_number"] == "07117450"
    assert fetched["recorded_by"]["name"] == "National Tracing Office"
    assert fetched["recorded_at"].endswith("Z")


def test_text_is_stripped(api: ContractClient) -> None:
    created = api.created(
        "/v1/parties", {**PARTY, "name": "  Zastava  ", "address": " Kragujevac "}
    )

    assert (created["name"], created["address"]) == ("Zastava", "Kragujevac")


def test_the_same_registration_number_twice_in_one_country_is_a_conflict(
    api: ContractClient,
) -> None:
    api.created("/v1/parties", {**PARTY, "registration_number": "07117450"})

    again = api.post("/v1/parties", {**PARTY, "name": "Other", "registration_number": "07117450"})
    elsewhere = api.post(
        "/v1/parties", {**PARTY, "country": "BA", "registration_number": "07117450"}
    )

    assert again.status_code == 409
    assert again.get_json()["code"] == "duplicate"
    assert "registration number" in again.get_json()["detail"]
    assert elsewhere.status_code == 201


def test_every_bad_field_is_named_with_a_pointer(api: ContractClient) -> None:
    response = api.post(
        "/v1/parties", {"name": "  ", "kind": "WARLORD", "country": "ZZ", "colour": "red"}
    )

    problem = response.get_json()
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert problem["code"] == "invalid_input"
    pointers = {error["pointer"] for error in problem["errors"]}
    assert pointers == {"/name", "/kind", "/country", "/colour"}


def test_lower_case_codes_are_refused(api: ContractClient) -> None:
    response = api.post("/v1/parties", {**PARTY, "kind": "manufacturer", "country": "rs"})

    assert response.status_code == 400
    assert {e["pointer"] for e in response.get_json()["errors"]} == {"/kind", "/country"}


def test_missing_fields_are_named(api: ContractClient) -> None:
    response = api.post("/v1/parties", {})

    assert response.status_code == 400
    assert {e["pointer"] for e in response.get_json()["errors"]} == {"/name", "/kind", "/country"}


def test_an_unknown_party_is_404(api: ContractClient) -> None:
    response = api.get("/v1/parties/01a20319-0000-7000-8000-000000000000")

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_a_party_refused_is_not_stored(api: ContractClient, db: Any) -> None:
    api.post("/v1/parties", {**PARTY, "country": "ZZ"})

    assert db.execute("SELECT count(*) AS n FROM parties").fetchone()["n"] == 0
