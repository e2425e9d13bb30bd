"""/v1/parties"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from service.db import Connection
from tests.conftest import create_agency_key
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


# One number as clerks write it (the last in full-width forms): what the registry compares is
# its key, "HRB12345".
SPELLINGS = (
    "HRB 12345",
    "hrb12345",
    "HRB-12345",
    "\uff28\uff32\uff22\uff11\uff12\uff13\uff14\uff15",
)


@pytest.mark.parametrize("spelling", SPELLINGS[1:])
def test_another_spelling_of_a_number_recorded_is_a_conflict(
    api: ContractClient, other_api: ContractClient, spelling: str
) -> None:
    api.created("/v1/parties", {**PARTY, "registration_number": SPELLINGS[0]})

    own = api.post("/v1/parties", {**PARTY, "name": "Other", "registration_number": spelling})
    others = other_api.post("/v1/parties", {**PARTY, "registration_number": spelling})

    assert (own.status_code, others.status_code) == (409, 409)
    assert own.get_json()["detail"] == (
        "your agency has already recorded a party with this registration number in this country"
    )
    assert others.get_json()["detail"] == (
        "a party with this registration number is already recorded in this country"
    )


def test_a_number_is_kept_as_written(api: ContractClient, db: Connection) -> None:
    created = api.created("/v1/parties", {**PARTY, "registration_number": "hrb-12.345"})

    assert created["registration_number"] == "hrb-12.345"
    stored = db.execute("SELECT registration_number_key FROM parties").fetchone()
    assert stored == {"registration_number_key": "HRB12345"}


@pytest.mark.parametrize("number", ["-", " / ", "- . /", "\u3000\u2014"])
def test_a_number_of_separators_alone_is_refused(api: ContractClient, number: str) -> None:
    response = api.post("/v1/parties", {**PARTY, "registration_number": number})

    assert response.status_code == 400
    assert [(e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        ("/registration_number", "needs more than spaces and separators (- . /)")
    ]


class TestARestrictedParty:
    """A restricted party is unique among its own agency's parties only: any agency could
    otherwise squat a real company's number with one, and a refusal would tell the others that
    somebody keeps a restricted record of the company."""

    def restricted(self, other_api: ContractClient, number: str = "HRB 12345") -> dict[str, Any]:
        return other_api.created(
            "/v1/parties",
            {"name": "Nightjar Holdings", "kind": "BROKER", "country": "RS",
             "registration_number": number, "classification": "RESTRICTED"},
        )  # fmt: skip

    @pytest.mark.parametrize("classification", ["UNRESTRICTED", "RESTRICTED"])
    def test_blocks_no_other_agencys_record_of_the_number(
        self, api: ContractClient, other_api: ContractClient, classification: str
    ) -> None:
        squatted = self.restricted(other_api)

        answers = [
            api.post(
                "/v1/parties",
                {**PARTY, "registration_number": number, "classification": classification},
            )
            for number in ("HRB 12345", "hrb-12345")
        ]

        assert answers[0].status_code == 201
        text = answers[0].get_data(as_text=True)
        assert squatted["id"] not in text and "Nightjar" not in text
        # the caller's own record of the number, whatever the spelling, from then on
        assert answers[1].status_code == 409
        assert "your agency" in answers[1].get_json()["detail"]

    def test_is_unique_among_its_own_agencys_parties(self, other_api: ContractClient) -> None:
        self.restricted(other_api)

        again = [
            other_api.post(
                "/v1/parties",
                {**PARTY, "registration_number": "HRB/12345", "classification": classification},
            )
            for classification in ("RESTRICTED", "UNRESTRICTED")
        ]

        assert [answer.status_code for answer in again] == [409, 409]

    def test_an_unrestricted_party_is_still_one_across_agencies(
        self, client: FlaskClient, db: Connection, api: ContractClient, other_api: ContractClient
    ) -> None:
        self.restricted(other_api)
        api.created("/v1/parties", {**PARTY, "registration_number": "HRB 12345"})
        third = ContractClient(client, create_agency_key(db, "Customs Intelligence")[1])

        answer = third.post("/v1/parties", {**PARTY, "registration_number": "HRB12345"})

        assert answer.status_code == 409
        assert answer.get_json()["detail"] == (
            "a party with this registration number is already recorded in this country"
        )


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
