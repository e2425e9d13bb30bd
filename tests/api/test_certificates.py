"""End-user certificates after issue: status, revocation, consents, verifications, usage, and the
one-call check a border officer makes."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from flask.testing import FlaskClient

from service.config import Settings
from service.db import Connection, connect
from service.domain.inputs import NewDeliveryVerification, NewRevocation
from service.domain.records import AgencyRef
from service.errors import Duplicate, PermissionDenied
from service.recording import Recorder
from service.repository import agencies, alerts, eucs
from tests.conftest import create_agency_key, rows_in, second_waits_for_first, waits_for_lock
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
    assert revoked["revocations"] == [revoked["revocation"]]
    again = api.post(
        f"/v1/eucs/{live['id']}/revocation", {"revoked_on": "2020-01-02", "reason": "x"}
    )
    assert again.status_code == 409
    assert "already been revoked (from 2020-01-01)" in again.get_json()["detail"]
    assert "withdraw that revocation first" in again.get_json()["detail"]


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


def test_items_not_shipped_under_the_certificate_are_counted_and_each_named_in_errors(
    api: ContractClient, registry: Any, parties: Any
) -> None:
    # Found in the messages review: every id went into the detail, on one line.
    euc = registry.euc(parties["exporter"], parties["army"])
    elsewhere = sorted(registry.item()["id"] for _ in range(7))
    check = {"verified_on": "2010-09-01", "verifying_authority": "Embassy", "country": "IQ"}

    many = api.post(f"/v1/eucs/{euc['id']}/verifications", {**check, "item_ids": elsewhere})
    one = api.post(f"/v1/eucs/{euc['id']}/verifications", {**check, "item_ids": elsewhere[:1]})

    assert many.status_code == 409
    named = many.get_json()["detail"].removeprefix(
        "no event under this certificate covers these 7 items: "
    )
    assert named.endswith(" and 2 more")
    assert len(named.split(", ")) == 5
    assert sorted(e["detail"].rsplit(" ", 1)[1] for e in many.get_json()["errors"]) == elsewhere
    assert one.get_json()["detail"] == (
        f"no event under this certificate covers item {elsewhere[0]}"
    )


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

    def test_a_certificate_dated_tomorrow_is_not_yet_issued(
        self, api: ContractClient, registry: Any, parties: Any
    ) -> None:
        # Found in review: recorded dated tomorrow (UTC; the issuing country's day may be
        # ahead), it read VALID to an officer verifying it, while a shipment made today under
        # it is EUC_NOT_YET_ISSUED.
        tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
        euc = registry.euc(parties["exporter"], parties["army"], certificate_number="IQ-10",
                           issued_on=tomorrow, expires_on=far_future())  # fmt: skip

        body = api.get("/v1/eucs/verify?certificate_number=IQ-10&issuing_country=IQ").get_json()

        assert (body["registered"], body["valid"], body["status"]) == (
            True,
            False,
            "NOT_YET_ISSUED",
        )
        assert body["issued_on"] == tomorrow
        assert api.get(f"/v1/eucs/{euc['id']}").get_json()["status"] == "NOT_YET_ISSUED"

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


# Revocations are the certificate's recorder's alone, and one recorded in error is withdrawn ---

REVOKE = {"revoked_on": "2011-01-01", "reason": "forged signature"}
WITHDRAW = {"reason": "the signature was checked again: genuine"}


def test_only_the_agency_that_recorded_a_certificate_may_revoke_it(
    api: ContractClient, other_api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    # Found in review: any agency with registry:write could revoke any agency's certificate,
    # once and for good, changing every agency's findings and alert list.
    covert = registry.party(name="Covert End User", kind="ARMED_FORCES", country="IQ",
                            classification="RESTRICTED")  # fmt: skip
    euc = registry.euc(parties["exporter"], covert)

    refused = other_api.post(f"/v1/eucs/{euc['id']}/revocation", REVOKE)

    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    assert problem["code"] == "forbidden"
    assert problem["detail"] == (
        "only the agency that recorded this certificate (National Tracing Office) may record "
        "its revocation"
    )
    # no more than the certificate shows another agency: its recorder, not its restricted party
    shown = other_api.get(f"/v1/eucs/{euc['id']}").get_json()
    assert shown["recorded_by"]["name"] == "National Tracing Office"
    assert "Covert End User" not in refused.get_data(as_text=True)
    assert rows_in(db, "euc_revocations") == 0
    assert shown["revocation"] is None
    assert api.created(f"/v1/eucs/{euc['id']}/revocation", REVOKE)["status"] == "REVOKED"


def test_only_the_agency_that_recorded_a_certificate_may_record_a_re_export_consent(
    api: ContractClient, other_api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    # A consent makes a re-transfer lawful and takes its finding off every agency's chain: any
    # agency could record one under any certificate, and so make a diversion read as consented.
    euc = registry.euc(parties["exporter"], parties["army"])
    consent = {"granted_on": "2015-01-01", "granted_by": "Serbian Ministry of Trade",
               "new_destination_country": "IQ"}  # fmt: skip

    refused = other_api.post(f"/v1/eucs/{euc['id']}/consents", consent)

    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.get_json()["detail"] == (
        "only the agency that recorded this certificate (National Tracing Office) may record "
        "a re-export consent under it"
    )
    assert rows_in(db, "reexport_consents") == 0
    assert len(api.created(f"/v1/eucs/{euc['id']}/consents", consent)["consents"]) == 1


def test_a_consent_cannot_be_granted_once_the_certificate_is_revoked(
    api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    # Found in review: a consent dated after the revocation was taken, and made a re-transfer
    # under a revoked certificate read as lawful in every agency's chains.
    euc = registry.euc(parties["exporter"], parties["army"])
    api.created(f"/v1/eucs/{euc['id']}/revocation", REVOKE)  # from 2011-01-01
    consent = {"granted_by": "Serbian Ministry of Trade", "new_destination_country": "IQ"}

    refused = api.post(f"/v1/eucs/{euc['id']}/consents", {**consent, "granted_on": "2011-01-01"})
    earlier = api.created(f"/v1/eucs/{euc['id']}/consents", {**consent, "granted_on": "2010-12-31"})

    assert (refused.status_code, refused.get_json()["code"]) == (409, "state_conflict")
    assert refused.get_json()["detail"] == (
        "this certificate is revoked from 2011-01-01: a re-export consent granted on 2011-01-01 "
        "cannot stand under it (withdraw the revocation first if it was recorded in error)"
    )
    assert [c["granted_on"] for c in earlier["consents"]] == ["2010-12-31"]
    assert rows_in(db, "reexport_consents") == 1


# Delivery verifications: the recorder's, or the importing or exporting state's -------------------

CHECK = {"verified_on": "2010-09-01", "verifying_authority": "Embassy", "country": "IQ"}


def agency_api(client: FlaskClient, db: Connection, name: str, country: str | None) -> Any:
    return ContractClient(client, create_agency_key(db, name, country=country)[1])


def test_a_delivery_verification_is_the_recorders_or_the_importing_or_exporting_states(
    api: ContractClient, client: FlaskClient, registry: Any, parties: Any, db: Connection
) -> None:
    # Found in review: any agency could record that any certificate's delivery was verified,
    # which takes EUC_NOT_VERIFIED off every agency's chains and alert list.
    euc = registry.euc(parties["exporter"], parties["army"])  # Serbia to Iraq
    path = f"/v1/eucs/{euc['id']}/verifications"
    nowhere = agency_api(client, db, "Border Police Directorate", None)
    third_state = agency_api(client, db, "Gendarmerie nationale", "FR")

    refusals = [nowhere.post(path, CHECK), third_state.post(path, CHECK)]

    for refused, yours in zip(
        refusals, ["this agency has none", "this agency's is FR"], strict=True
    ):
        assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden")
        assert refused.get_json()["detail"] == (
            "a delivery verification is recorded by the agency that recorded this certificate "
            f"(National Tracing Office) or by an agency of the importing or exporting state "
            f"(IQ, RS) on record: {yours}"
        )
    assert rows_in(db, "delivery_verifications") == 0
    importing = agency_api(client, db, "Iraqi Customs", "IQ")
    exporting = agency_api(client, db, "Serbian Export Control", "RS")
    for verifier in (importing, exporting, api):
        verifier.created(path, CHECK)
    recorders = [v["recorded_by"]["name"] for v in api.get(f"/v1/eucs/{euc['id']}").get_json()[
        "verifications"]]  # fmt: skip
    assert sorted(recorders) == ["Iraqi Customs", "National Tracing Office",
                                 "Serbian Export Control"]  # fmt: skip


def test_a_restricted_exporters_country_neither_admits_a_verifier_nor_shows_in_a_refusal(
    api: ContractClient, client: FlaskClient, registry: Any, parties: Any, db: Connection
) -> None:
    # The exporting state is known by the exporter's country: where the caller may not read the
    # exporter, admitting its state's agencies (or naming the country) would disclose it.
    covert = registry.party(name="Covert Broker", kind="BROKER", country="BG",
                            classification="RESTRICTED")  # fmt: skip
    euc = registry.euc(covert, parties["army"])
    bulgarian = agency_api(client, db, "Bulgarian Customs", "BG")

    refused = bulgarian.post(f"/v1/eucs/{euc['id']}/verifications", CHECK)

    assert refused.status_code == 403
    assert refused.get_json()["detail"].endswith("state (IQ) on record: this agency's is BG")
    assert rows_in(db, "delivery_verifications") == 0


def test_a_revocation_recorded_in_error_is_withdrawn_and_the_certificate_revoked_again(
    api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    euc = registry.euc(parties["exporter"], parties["army"], expires_on=far_future())
    path = f"/v1/eucs/{euc['id']}/revocation"
    first = api.created(path, REVOKE)

    withdrawn = api.created(f"{path}/withdrawal", WITHDRAW)
    revoked_again = api.created(path, {"revoked_on": "2012-06-01", "reason": "embargo"})

    assert first["status"] == "REVOKED"
    assert (withdrawn["status"], withdrawn["revocation"]) == ("VALID", None)
    (history,) = withdrawn["revocations"]
    assert history["id"] == first["revocation"]["id"]
    assert history["withdrawal"]["reason"] == WITHDRAW["reason"]
    assert history["withdrawal"]["recorded_by"]["name"] == "National Tracing Office"
    assert revoked_again["status"] == "REVOKED"
    assert revoked_again["revocation"]["revoked_on"] == "2012-06-01"
    assert revoked_again["revocation"]["withdrawal"] is None
    assert [r["revoked_on"] for r in revoked_again["revocations"]] == ["2011-01-01", "2012-06-01"]
    assert revoked_again["revocations"][0] == history  # the withdrawn one, as it was
    assert api.get(f"/v1/eucs/{euc['id']}").get_json() == revoked_again
    verified = api.get(
        f"/v1/eucs/verify?certificate_number={euc['certificate_number']}&issuing_country=IQ"
    ).get_json()
    assert verified["revoked_on"] == "2012-06-01"
    assert (rows_in(db, "euc_revocations"), rows_in(db, "euc_revocation_withdrawals")) == (2, 1)


def test_a_withdrawal_is_refused_when_it_cannot_be_made(
    api: ContractClient, other_api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    euc = registry.euc(parties["exporter"], parties["army"])
    path = f"/v1/eucs/{euc['id']}/revocation/withdrawal"
    nothing_stands = api.post(path, WITHDRAW)
    api.created(f"/v1/eucs/{euc['id']}/revocation", REVOKE)

    by_another = other_api.post(path, WITHDRAW)
    without_reason = api.post(path, {})
    unknown = api.post("/v1/eucs/01a20319-0000-7000-8000-000000000000/revocation/withdrawal",
                       WITHDRAW)  # fmt: skip
    api.created(path, WITHDRAW)
    twice = api.post(path, WITHDRAW)

    assert (nothing_stands.status_code, nothing_stands.get_json()["code"]) == (
        409,
        "state_conflict",
    )
    assert "no standing revocation" in nothing_stands.get_json()["detail"]
    assert by_another.status_code == 403
    assert by_another.get_json()["detail"] == (
        "only the agency that recorded this certificate's revocation (National Tracing Office), "
        "or an administrator, may withdraw it"
    )
    assert without_reason.get_json()["errors"][0]["pointer"] == "/reason"
    assert unknown.status_code == 404
    assert twice.status_code == 409
    assert rows_in(db, "euc_revocation_withdrawals") == 1


def test_a_withdrawal_changes_the_chain_and_each_event_is_read_once(
    api: ContractClient, registry: Any, parties: Any
) -> None:
    euc = registry.euc(parties["exporter"], parties["army"], expires_on=far_future())
    rifle = registry.item()
    registry.event("EXPORT", [rifle], occurred_on="2011-05-01", country="RS",
                   destination_country="IQ", from_party_id=parties["exporter"]["id"],
                   to_party_id=parties["army"]["id"], euc_id=euc["id"])  # fmt: skip
    path = f"/v1/eucs/{euc['id']}/revocation"
    custody = f"/v1/items/{rifle['id']}/custody"

    api.created(path, REVOKE)
    revoked = api.get(custody).get_json()
    api.created(f"{path}/withdrawal", WITHDRAW)
    withdrawn = api.get(custody).get_json()
    withdrawn_text = api.get(custody, headers={"Accept": "text/plain"}).get_data(as_text=True)
    api.created(path, {"revoked_on": "2012-06-01", "reason": "embargo"})
    api.created(f"{path}/withdrawal", WITHDRAW)
    api.created(path, {"revoked_on": "2013-06-01", "reason": "embargo again"})
    again = api.get(custody).get_json()
    text = api.get(custody, headers={"Accept": "text/plain"}).get_data(as_text=True)

    def codes(chain: dict[str, Any]) -> list[str]:
        return [finding["code"] for finding in chain["findings"]]

    assert "EUC_REVOKED" in codes(revoked)
    assert "EUC_REVOKED" not in codes(withdrawn)
    assert withdrawn["events"][0]["euc"]["revoked_on"] is None
    # three revocations, two withdrawn: the export is read once, under the one that stands
    assert [event["id"] for event in again["events"]] == [e["id"] for e in revoked["events"]]
    assert again["events"][0]["euc"]["revoked_on"] == "2013-06-01"
    (finding,) = [f for f in again["findings"] if f["code"] == "EUC_REVOKED"]
    assert "2013-06-01" in finding["message"]
    assert text.count("EUC_REVOKED") == 1
    assert ", revoked from 2013-06-01; recorded by" in text
    assert "2011-01-01" not in text and "2012-06-01" not in text
    assert "revoked from" not in withdrawn_text


def test_the_database_keeps_one_revocation_standing_whoever_writes(
    registry: Any, parties: Any, db: Connection, settings: Settings
) -> None:
    """The rule holds below the API (a script, the seed): a second standing revocation is
    refused by the database, and a writer waits for whoever holds the certificate's lock
    (every writer of facts about it), so two sent at once cannot both see none standing."""
    euc = registry.euc(parties["exporter"], parties["army"])
    agency = db.execute("SELECT recorded_by_agency_id AS id FROM end_user_certificates").fetchone()
    insert = (
        "INSERT INTO euc_revocations (euc_id, revoked_on, reason, recorded_by_agency_id) "
        "VALUES (%s, '2011-01-01', 'x', %s)"
    )
    with connect(settings) as holder, connect(settings) as writer:
        with holder.transaction():
            alerts.lock_certificates(holder, [UUID(euc["id"])])
            done = threading.Event()

            def write() -> None:
                writer.execute(insert, [euc["id"], agency["id"]])
                done.set()

            thread = threading.Thread(target=write)
            thread.start()
            assert waits_for_lock(db, writer, holder)
            assert not done.is_set()
        thread.join(timeout=10)
        assert done.is_set()

    with pytest.raises(psycopg.errors.UniqueViolation, match="standing revocation"):
        db.execute(insert, [euc["id"], agency["id"]])


def test_two_revocations_sent_at_once_store_one(
    registry: Any, parties: Any, db: Connection, settings: Settings,
    agency_key: tuple[AgencyRef, str],
) -> None:  # fmt: skip
    euc_id = UUID(registry.euc(parties["exporter"], parties["army"])["id"])
    agency_id = agency_key[0].id
    refused: list[Exception] = []

    def second(conn: Connection) -> None:
        try:
            Recorder(conn, agency_id, 180).revocation(euc_id, NewRevocation(date(2012, 1, 1), "b"))
        except Duplicate as exc:
            refused.append(exc)

    second_waits_for_first(
        settings,
        lambda conn: Recorder(conn, agency_id, 180).revocation(
            euc_id, NewRevocation(date(2011, 1, 1), "a")
        ),
        second,
    )

    assert [str(exc) for exc in refused] == [
        "this certificate has already been revoked (from 2011-01-01): withdraw that revocation "
        "first if it was recorded in error"
    ]
    assert rows_in(db, "euc_revocations") == 1


def test_a_withdrawal_is_idempotent_and_audited(
    api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    euc = registry.euc(parties["exporter"], parties["army"])
    api.created(f"/v1/eucs/{euc['id']}/revocation", REVOKE)
    path = f"/v1/eucs/{euc['id']}/revocation/withdrawal"
    headers = {"Idempotency-Key": "withdraw-forgery-1"}

    first = api.post(path, WITHDRAW, headers=headers)
    again = api.post(path, WITHDRAW, headers=headers)
    other_body = api.post(path, {"reason": "another"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["Location"] == f"/v1/eucs/{euc['id']}"
    assert other_body.get_json()["code"] == "idempotency_key_reused"
    assert rows_in(db, "euc_revocation_withdrawals") == 1
    trail = db.execute(
        "SELECT status, record_ids, details FROM audit_log WHERE route = %s ORDER BY id",
        ["/v1/eucs/<uuid:euc_id>/revocation/withdrawal"],
    ).fetchall()
    assert [row["status"] for row in trail] == [201, 201, 409]
    assert all(row["record_ids"] == [UUID(euc["id"])] for row in trail)
    assert trail[1]["details"]["idempotent_replay"] is True


# Consents and verifications are dated within the certificate's life ----------------------------


@pytest.mark.parametrize(
    ("route", "field", "body"),
    [
        ("consents", "granted_on",
         {"granted_by": "Serbian Ministry of Trade", "new_destination_country": "IQ"}),
        ("verifications", "verified_on", {"verifying_authority": "Embassy", "country": "IQ"}),
    ],
)  # fmt: skip
def test_a_consent_or_verification_cannot_be_dated_before_the_certificate_was_issued(
    api: ContractClient, registry: Any, parties: Any, db: Connection,
    route: str, field: str, body: dict[str, Any],
) -> None:  # fmt: skip
    # Found in review: a consent of 1900 or a verification of the day before the certificate
    # was issued were recorded, vouching for shipments no certificate had authorised yet.
    euc = registry.euc(parties["exporter"], parties["army"], issued_on="2010-03-01")
    path = f"/v1/eucs/{euc['id']}/{route}"

    refused = [api.post(path, {**body, field: day})
               for day in ("1900-01-01", "2010-02-28", far_future())]  # fmt: skip
    on_the_day = api.created(path, {**body, field: "2010-03-01"})

    for response in refused:
        assert response.status_code == 400
        assert [e["pointer"] for e in response.get_json()["errors"]] == [f"/{field}"]
    assert (
        "before its certificate was issued (on 2010-03-01)"
        in (refused[1].get_json()["errors"][0]["detail"])
    )
    assert len(on_the_day[route]) == 1
    assert rows_in(db, "reexport_consents") + rows_in(db, "delivery_verifications") == 1


def test_a_consent_covers_no_more_items_than_were_shipped_under_the_certificate(
    api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    euc = registry.euc(parties["exporter"], parties["army"])
    rifles = [registry.item() for _ in range(3)]
    ship = {"country": "RS", "destination_country": "IQ", "euc_id": euc["id"],
            "from_party_id": parties["exporter"]["id"], "to_party_id": parties["army"]["id"],
            "euc_line_number": 1}  # fmt: skip
    consent = {"granted_on": "2015-01-01", "granted_by": "Serbian Ministry of Trade",
               "new_destination_country": "IQ"}  # fmt: skip
    path = f"/v1/eucs/{euc['id']}/consents"
    before_any = api.post(path, {**consent, "quantity": 1})
    registry.event("EXPORT", rifles[:2], **ship)
    wrong = registry.event("EXPORT", rifles[2:], **ship)
    api.post(f"/v1/events/{wrong['id']}/error-declaration",
             {"reason": "DID_NOT_OCCUR", "explanation": "never shipped"})  # fmt: skip

    too_many = api.post(path, {**consent, "quantity": 3})  # the third's export does not stand
    as_many = api.created(path, {**consent, "quantity": 2})

    assert before_any.get_json()["errors"][0] == {
        "location": "body",
        "pointer": "/quantity",
        "detail": "a consent covers items shipped under its certificate, and no item was "
        "shipped under this one: it cannot cover 1",
    }
    assert too_many.status_code == 400
    assert too_many.get_json()["errors"][0]["detail"].endswith(
        "only 2 items were shipped under this one: it cannot cover 3"
    )
    assert [c["quantity"] for c in as_many["consents"]] == [2]
    assert rows_in(db, "reexport_consents") == 1


def test_a_consent_names_no_more_items_than_its_quantity(
    api: ContractClient, registry: Any, parties: Any, db: Connection
) -> None:
    # Found by the certificates review: a consent for 1 naming 2 rifles was taken, and both
    # rifles' re-exports then read as consented.
    euc = registry.euc(parties["exporter"], parties["army"])
    rifles = [registry.item() for _ in range(2)]
    ship = {"from_party_id": parties["exporter"]["id"], "to_party_id": parties["army"]["id"]}
    registry.event(
        "EXPORT", rifles, country="RS", destination_country="IQ", euc_id=euc["id"], **ship
    )
    consent = {"granted_on": "2015-01-01", "granted_by": "Serbian Ministry of Trade",
               "new_destination_country": "IQ", "item_ids": [r["id"] for r in rifles]}  # fmt: skip
    path = f"/v1/eucs/{euc['id']}/consents"

    fewer = api.post(path, {**consent, "quantity": 1})
    as_many = api.created(path, {**consent, "quantity": 2})

    assert fewer.status_code == 400
    assert fewer.get_json()["errors"] == [{
        "location": "body",
        "pointer": "/quantity",
        "detail": "the consent names 2 items, more than its quantity (1): name only the items "
        "it covers, or give the quantity they make",
    }]  # fmt: skip
    assert [c["quantity"] for c in as_many["consents"]] == [2]
    assert rows_in(db, "reexport_consents") == 1


def test_an_agency_s_new_country_decides_its_verifications_from_then_on(
    api: ContractClient, client: FlaskClient, registry: Any, parties: Any, db: Connection
) -> None:
    """What a country change means for delivery verification: the agency verifies for its new
    state from the change on, no longer for the old; what it recorded before stands (a record
    names its agency, not the agency's country, and the ledger is never rewritten)."""
    euc = registry.euc(parties["exporter"], parties["army"])  # Serbia to Iraq
    path = f"/v1/eucs/{euc['id']}/verifications"
    agency, key = create_agency_key(db, "Customs Service", country="FR")
    customs = ContractClient(client, key)
    _, admin_key = create_agency_key(db, "Registry Operations", ("registry:admin",))
    admin = ContractClient(client, admin_key)

    before = customs.post(path, CHECK)
    moved = admin.request("PATCH", f"/v1/admin/agencies/{agency.id}", json={"country": "IQ"})
    verified = customs.created(path, CHECK)
    cleared = admin.request("PATCH", f"/v1/admin/agencies/{agency.id}", json={"country": None})
    after = customs.post(path, CHECK)

    assert (before.status_code, moved.status_code, cleared.status_code) == (403, 200, 200)
    assert after.status_code == 403
    assert after.get_json()["detail"].endswith("on record: this agency has none")
    stands = api.get(f"/v1/eucs/{euc['id']}").get_json()["verifications"]
    assert [v["id"] for v in stands] == [v["id"] for v in verified["verifications"]]
    assert [v["recorded_by"]["name"] for v in stands] == ["Customs Service"]


def test_a_verification_sent_while_the_agency_s_country_changes_is_judged_by_the_new_one(
    registry: Any, parties: Any, db: Connection, settings: Settings
) -> None:
    """The verification reads its agency's row FOR SHARE: sent while a change of the agency's
    country is being committed, it waits for the change and is refused by the new country.
    Read as the statement began, it was judged by the old country, and stored after the change
    had committed (its foreign-key check waited for the change, then found the agency)."""
    euc = registry.euc(parties["exporter"], parties["army"])  # Serbia to Iraq
    agency, _ = create_agency_key(db, "Iraqi Customs", country="IQ")
    refusals: list[PermissionDenied] = []

    def verify(conn: Connection) -> None:
        check = NewDeliveryVerification(date(2010, 9, 1), "Embassy", "IQ")
        try:
            eucs.add_verification(conn, agency.id, UUID(euc["id"]), check)
        except PermissionDenied as refused:
            refusals.append(refused)

    second_waits_for_first(
        settings, lambda conn: agencies.set_agency_country(conn, agency.id, "FR"), verify
    )

    assert rows_in(db, "delivery_verifications") == 0
    assert [str(refused).endswith("this agency's is FR") for refused in refusals] == [True]
