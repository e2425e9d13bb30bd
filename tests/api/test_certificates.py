"""End-user certificates after issue: status, revocation, consents, verifications, usage, and the
one-call check a border officer makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.contract import ContractClient


@pytest.fixture
def parties(registry: Any) -> dict[str, Any]:
    return {
        "exporter": registry.party(name="Zastava Arms", kind="EXPORTER", country="RS"),
        "army": registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ"),
        "new_user": registry.party(name="Peshmerga", kind="ARMED_FORCES", country="IQ"),
    }


def far_future() -> str:
    return (datetime.now(UTC).date() + timedelta(days=400)).isoformat()


def test_a_certificate_is_valid_until_it_expires_or_is_revoked(
    api: ContractClient, registry: Any, parties: Any
) -> None:
    live = registry.euc(parties["exporter"], parties["army"], expires_on=far_future())
    old = registry.euc(parties["exporter"], parties["army"], expires_on="2012-03-01")

    assert (live["status"], old["status"]) == ("VALID", "EXPIRED")

    revoked = api.created(f"/v1/eucs/{live['id']}/revocation",
                          {"revoked_on": "2020-01-01", "reason": "forged signature"})  # fmt: skip

    assert revoked["status"] == "REVOKED"
    assert revoked["revocation"]["reason"] == "forged signature"
    again = api.post(
        f"/v1/eucs/{live['id']}/revocation", {"revoked_on": "2020-01-02", "reason": "x"}
    )
    assert again.status_code == 409
    assert "already been revoked" in again.get_json()["detail"]


def test_usage_counts_the_items_shipped_per_line(
    api: ContractClient, registry: Any, parties: Any
) -> None:
    lines = [{"description": "M70 rifles", "quantity": 3},
             {"description": "M84 machine guns", "quantity": 1}]  # fmt: skip
    euc = registry.euc(parties["exporter"], parties["army"], line_items=lines)
    rifles = [registry.item(manufacturer="Zastava", model="M70") for _ in range(4)]
    ship = {"country": "RS", "destination_country": "IQ", "euc_id": euc["id"],
            "from_party_id": parties["exporter"]["id"], "to_party_id": parties["army"]["id"],
            "euc_line_number": 1}  # fmt: skip
    registry.event("EXPORT", rifles[:2], occurred_on="2010-04-01", **ship)
    registry.event("EXPORT", rifles[2:], occurred_on="2010-05-01", **ship)

    usage = api.get(f"/v1/eucs/{euc['id']}/usage").get_json()

    first, second = usage["lines"]
    assert (first["authorised"], first["shipped"], first["remaining"]) == (3, 4, -1)
    assert first["item_ids"] == sorted(item["id"] for item in rifles)
    assert (second["shipped"], second["remaining"], second["item_ids"]) == (0, 1, [])


def test_consents_and_verifications_name_only_items_shipped_under_the_certificate(
    api: ContractClient, registry: Any, parties: Any, db: Any
) -> None:
    euc = registry.euc(parties["exporter"], parties["army"])
    shipped, elsewhere = registry.item(), registry.item()
    registry.event("EXPORT", [shipped], country="RS", destination_country="IQ",
                   from_party_id=parties["exporter"]["id"], to_party_id=parties["army"]["id"],
                   euc_id=euc["id"])  # fmt: skip

    consent = {"granted_on": "2015-01-01", "granted_by": "Serbian Ministry of Trade",
               "new_end_user_party_id": parties["new_user"]["id"],
               "new_destination_country": "IQ"}  # fmt: skip
    refused = api.post(f"/v1/eucs/{euc['id']}/consents", {**consent, "item_ids": [elsewhere["id"]]})
    recorded = api.created(
        f"/v1/eucs/{euc['id']}/consents", {**consent, "item_ids": [shipped["id"]]}
    )
    check = {"verified_on": "2010-09-01", "verifying_authority": "Embassy", "country": "IQ"}
    verified = api.created(f"/v1/eucs/{euc['id']}/verifications", check)

    assert refused.status_code == 409
    assert db.execute("SELECT count(*) AS n FROM reexport_consents").fetchone()["n"] == 1
    assert recorded["consents"][0]["item_ids"] == [shipped["id"]]
    assert verified["verifications"][0]["item_ids"] == []


def test_records_about_an_unknown_certificate_are_404(api: ContractClient) -> None:
    ghost = "01a20319-0000-7000-8000-000000000000"
    body = {"revoked_on": "2020-01-01", "reason": "x"}

    assert api.post(f"/v1/eucs/{ghost}/revocation", body).status_code == 404
    assert api.get(f"/v1/eucs/{ghost}/usage").status_code == 404


def test_dates_in_the_future_are_refused(api: ContractClient, registry: Any, parties: Any) -> None:
    euc = registry.euc(parties["exporter"], parties["army"])

    response = api.post(
        f"/v1/eucs/{euc['id']}/revocation", {"revoked_on": far_future(), "reason": "x"}
    )

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "/revoked_on"


def test_a_certificate_cannot_be_revoked_before_it_was_issued(
    api: ContractClient, registry: Any, parties: Any, db: Any
) -> None:
    # A revocation of 0001-01-01 was recorded: the certificate read REVOKED, and every export
    # under it an ALERT "after it was revoked", as if a certificate could be revoked before
    # it existed (one may not expire before it is issued).
    euc = registry.euc(parties["exporter"], parties["army"], issued_on="2010-03-01")
    path = f"/v1/eucs/{euc['id']}/revocation"

    refused = [api.post(path, {"revoked_on": day, "reason": "forged"})
               for day in ("0001-01-01", "2010-02-28")]  # fmt: skip
    on_the_day = api.created(path, {"revoked_on": "2010-03-01", "reason": "forged"})

    for response in refused:
        assert response.status_code == 400
        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/revoked_on"]
    assert on_the_day["revocation"]["revoked_on"] == "2010-03-01"
    assert db.execute("SELECT count(*) AS n FROM euc_revocations").fetchone()["n"] == 1


def test_a_certificate_stored_as_issued_in_the_future_can_still_be_revoked(
    api: ContractClient, registry: Any, parties: Any, db: Any
) -> None:
    # Found by a helper's review: certificates stored before issued_on was held to tomorrow may
    # say 9999-12-31 and read VALID; no revocation could be dated on or after that day (none may
    # be dated after tomorrow), so such a certificate could never be revoked.
    euc = registry.euc(parties["exporter"], parties["army"], issued_on="2010-03-01")
    stored = db.execute(
        "INSERT INTO end_user_certificates (certificate_number, certificate_key, "
        "issuing_country, issuing_authority, issued_on, end_user_party_id, destination_country, "
        "stated_end_use, non_reexport_clause, recorded_by_agency_id) "
        "SELECT 'FUTURE-1', 'FUTURE1', issuing_country, issuing_authority, '9999-12-31', "
        "end_user_party_id, destination_country, stated_end_use, non_reexport_clause, "
        "recorded_by_agency_id FROM end_user_certificates WHERE id = %s RETURNING id",
        [euc["id"]],
    ).fetchone()["id"]
    path = f"/v1/eucs/{stored}/revocation"
    today = datetime.now(UTC).date()

    yesterday = api.post(path, {"revoked_on": str(today - timedelta(days=1)), "reason": "x"})
    revoked = api.created(path, {"revoked_on": str(today), "reason": "issue date mistyped"})

    assert yesterday.status_code == 400
    assert yesterday.get_json()["errors"][0]["pointer"] == "/revoked_on"
    assert "can be revoked from" in yesterday.get_json()["errors"][0]["detail"]
    assert revoked["status"] == "REVOKED"


class TestVerify:
    def test_a_registered_valid_certificate(
        self, api: ContractClient, registry: Any, parties: Any
    ) -> None:
        number = "IQ/MOD/2024/17"
        euc = registry.euc(
            parties["exporter"], parties["army"], certificate_number=number, expires_on=far_future()
        )

        answer = api.get("/v1/eucs/verify?certificate_number=iq-mod-2024-17&issuing_country=IQ")

        body = answer.get_json()
        assert (body["registered"], body["valid"], body["status"]) == (True, True, "VALID")
        assert body["euc_id"] == euc["id"]
        assert body["end_user"]["name"] == "Iraqi Army"

    def test_an_unknown_number_is_not_registered(self, api: ContractClient) -> None:
        body = api.get("/v1/eucs/verify?certificate_number=FAKE-1&issuing_country=IQ").get_json()

        assert (body["registered"], body["valid"], body["status"]) == (False, False, None)

    def test_a_revoked_certificate_is_not_valid(
        self, api: ContractClient, registry: Any, parties: Any
    ) -> None:
        euc = registry.euc(parties["exporter"], parties["army"], certificate_number="IQ-9",
                           expires_on=far_future())  # fmt: skip
        api.created(f"/v1/eucs/{euc['id']}/revocation", {"revoked_on": "2021-01-01", "reason": "x"})

        body = api.get("/v1/eucs/verify?certificate_number=IQ-9&issuing_country=IQ").get_json()

        assert (body["valid"], body["status"], body["revoked_on"]) == (
            False,
            "REVOKED",
            "2021-01-01",
        )

    def test_both_parameters_are_required(self, api: ContractClient) -> None:
        response = api.get("/v1/eucs/verify?certificate_number=IQ-9")

        assert response.status_code == 400
        assert response.get_json()["errors"][0]["parameter"] == "issuing_country"


def test_a_party_carries_its_verifications(api: ContractClient, registry: Any) -> None:
    party = registry.party(name="Dealer", kind="DEALER", country="CZ", registration_number="1")

    verified = api.created(f"/v1/parties/{party['id']}/verifications",
                           {"verified_on": "2020-05-05", "method": "site visit"})  # fmt: skip

    assert [v["method"] for v in verified["verifications"]] == ["site visit"]
    assert api.get(f"/v1/parties/{party['id']}").get_json() == verified


def test_an_unknown_reference_is_named_by_its_field_not_by_the_database(
    api: ContractClient, registry: Any, parties: Any, db: Any
) -> None:
    # The database's own words were answered: 'Key (new_end_user_party_id)=(...) is not present
    # in table "parties".', and an export's unknown line named the table euc_line_items.
    euc = registry.euc(parties["exporter"], parties["army"])
    ghost = "01a20319-0000-7000-8000-000000000000"
    consent = {"granted_on": "2015-01-01", "granted_by": "Serbian Ministry of Trade",
               "new_end_user_party_id": ghost, "new_destination_country": "IQ"}  # fmt: skip
    export = {"event_type": "EXPORT", "occurred_on": "2010-04-01", "country": "RS",
              "destination_country": "IQ", "item_ids": [registry.item()["id"]],
              "from_party_id": parties["exporter"]["id"], "to_party_id": parties["army"]["id"],
              "euc_id": euc["id"], "euc_line_number": 9}  # fmt: skip

    unknown_party = api.post(f"/v1/eucs/{euc['id']}/consents", consent)
    unknown_line = api.post("/v1/events", export)
    unknown_certificate = api.post("/v1/events", {**export, "euc_id": ghost})

    assert unknown_party.get_json()["detail"] == "new_end_user_party_id names no recorded party"
    assert unknown_line.get_json()["detail"] == (
        "euc_line_number names no line of the certificate (euc_id)"
    )
    assert unknown_certificate.get_json()["detail"] == (
        "euc_id names no recorded end-user certificate"
    )
    for refused in (unknown_party, unknown_line, unknown_certificate):
        assert (refused.status_code, refused.get_json()["code"]) == (409, "unknown_reference")
        assert "Key (" not in refused.get_data(as_text=True)
    assert db.execute("SELECT count(*) AS n FROM reexport_consents").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM custody_events").fetchone()["n"] == 0
