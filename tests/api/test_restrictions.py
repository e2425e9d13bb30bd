"""RESTRICTED records: the recording agency sees them whole; every other agency sees that they
exist, their date and whom to contact, in every output that could carry them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

import orjson
import pytest
from flask.testing import FlaskClient

from service import alerts
from service.db import Connection
from tests.conftest import create_agency_key
from tests.contract import ContractClient

CONTEXT = {
    "case_reference": "BE-2024-0412",
    "purpose": "criminal investigation: trafficking",
    "legal_basis": "Code d'instruction criminelle, art. 56",
}
# What the Border Police restricts: none of it may reach another agency in any form.
SECRETS = ("Nightjar Holdings", "OP-NIGHTJAR-7", "BPD-LIC-0099", "informant handled by BPD")
REDACTED_EVENT_FIELDS = {
    "id", "occurred_on", "recorded_by", "recorded_at", "declared_erroneous", "classification",
    "redacted",
}  # fmt: skip


def assert_nothing_restricted(body: str) -> None:
    for secret in SECRETS:
        assert secret not in body, f"{secret!r} leaked"


@pytest.fixture
def story(api: ContractClient, other_api: ContractClient, registry: Any) -> dict[str, Any]:
    """The National Tracing Office records an export to an army; the Border Police then
    records, as RESTRICTED, a covert buyer and the army's sale of the rifle to it."""
    exporter = registry.party(name="FN Export", kind="EXPORTER", country="BE")
    army = registry.party(name="Armée de Terre", kind="ARMED_FORCES", country="FR")
    rifle = registry.item(serial_number="FN-770011")
    registry.event("MANUFACTURE", [rifle], occurred_on="2010-01-05", to_party_id=exporter["id"])
    euc = registry.euc(exporter, army, line_items=[{"description": "Rifles", "quantity": 10}])
    registry.event(
        "EXPORT",
        [rifle],
        occurred_on="2010-05-02",
        from_party_id=exporter["id"],
        to_party_id=army["id"],
        destination_country="FR",
        euc_id=euc["id"],
        euc_line_number=1,
    )
    buyer = other_api.created(
        "/v1/parties",
        {
            "name": "Nightjar Holdings",
            "kind": "BROKER",
            "country": "FR",
            "registration_number": "OP-NIGHTJAR-7",
            "classification": "RESTRICTED",
        },
    )
    covert = other_api.created(
        "/v1/events",
        {
            "event_type": "TRANSFER",
            "occurred_on": "2018-06-01",
            "country": "FR",
            "item_ids": [rifle["id"]],
            "from_party_id": army["id"],
            "to_party_id": buyer["id"],
            "licence_number": "BPD-LIC-0099",
            "document_reference": "OP-NIGHTJAR-7",
            "notes": "informant handled by BPD",
            "classification": "RESTRICTED",
        },
    )
    return {
        "rifle": rifle,
        "exporter": exporter,
        "army": army,
        "buyer": buyer,
        "covert": covert,
        "euc": euc,
    }


def test_the_recorder_sees_its_restricted_records_whole(
    other_api: ContractClient, story: dict[str, Any]
) -> None:
    chain = other_api.get(f"/v1/items/{story['rifle']['id']}/custody").get_json()

    covert = chain["events"][-1]
    assert covert["classification"] == "RESTRICTED"
    assert covert["document_reference"] == "OP-NIGHTJAR-7"
    assert covert["to_party"]["name"] == "Nightjar Holdings"
    assert covert["to_party"]["recorded_by"]["name"] == "Border Police Directorate"
    assert chain["current_holder"]["name"] == "Nightjar Holdings"
    assert "RESTRICTED_RECORDS" not in {finding["code"] for finding in chain["findings"]}
    party = other_api.get(f"/v1/parties/{story['buyer']['id']}").get_json()
    assert party["registration_number"] == "OP-NIGHTJAR-7"
    assert party["classification"] == "RESTRICTED"


def test_another_agency_sees_that_a_restricted_event_exists_and_whom_to_ask(
    api: ContractClient, story: dict[str, Any]
) -> None:
    response = api.get(f"/v1/items/{story['rifle']['id']}/custody")
    chain = response.get_json()

    assert_nothing_restricted(response.get_data(as_text=True))
    covert = chain["events"][-1]
    assert set(covert) == REDACTED_EVENT_FIELDS
    assert covert["id"] == story["covert"]["id"]
    assert covert["occurred_on"] == "2018-06-01"
    assert covert["recorded_by"]["name"] == "Border Police Directorate"
    assert covert["redacted"] is True
    # What stands is what the caller may see: the army still holds the rifle by its records.
    assert chain["current_holder"]["name"] == "Armée de Terre"
    restricted = [f for f in chain["findings"] if f["code"] == "RESTRICTED_RECORDS"]
    assert len(restricted) == 1
    assert restricted[0]["severity"] == "INFO"
    assert "Border Police Directorate" in restricted[0]["message"]


def test_a_restricted_event_and_party_read_alone_are_redacted(
    api: ContractClient, story: dict[str, Any]
) -> None:
    event = api.get(f"/v1/events/{story['covert']['id']}")
    party = api.get(f"/v1/parties/{story['buyer']['id']}")

    assert set(event.get_json()) == REDACTED_EVENT_FIELDS
    assert party.get_json() == {
        "id": story["buyer"]["id"],
        "classification": "RESTRICTED",
        "redacted": True,
        "recorded_by": story["buyer"]["recorded_by"],
        "recorded_at": story["buyer"]["recorded_at"],
    }
    for response in (event, party):
        assert_nothing_restricted(response.get_data(as_text=True))


def test_a_restricted_party_in_another_agencys_unrestricted_event_is_redacted(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
) -> None:
    pistol = registry.item(serial_number="FN-770012")
    police = registry.party(name="Police Nationale", kind="LAW_ENFORCEMENT", country="FR")
    seizure = other_api.created(
        "/v1/events",
        {
            "event_type": "SEIZURE",
            "occurred_on": "2019-02-01",
            "country": "FR",
            "item_ids": [pistol["id"]],
            "from_party_id": story["buyer"]["id"],
            "to_party_id": police["id"],
        },
    )

    response = api.get(f"/v1/events/{seizure['id']}")
    shown = response.get_json()

    assert shown["event_type"] == "SEIZURE"
    assert shown["from_party"]["redacted"] is True
    assert "name" not in shown["from_party"]
    assert_nothing_restricted(response.get_data(as_text=True))


def test_traces_single_batch_and_stored_are_redacted(
    api: ContractClient, story: dict[str, Any]
) -> None:
    single = api.post("/v1/traces", {"weapon": {"serial_number": "FN-770011"}, "context": CONTEXT})
    batch = api.post(
        "/v1/traces/batch",
        {"context": CONTEXT, "weapons": [{"serial_number": "FN-770011"}, {"serial_number": "X"}]},
    )
    stored = api.get(f"/v1/traces/{single.get_json()['id']}")

    for response in (single, batch, stored):
        assert response.status_code in {200, 201}
        assert_nothing_restricted(response.get_data(as_text=True))
    candidate = single.get_json()["candidates"][0]
    assert candidate["events"][-1]["redacted"] is True
    batch_candidate = batch.get_json()["traces"][0]["candidates"][0]
    assert batch_candidate["events"][-1]["redacted"] is True


def test_certificates_redact_a_restricted_end_user_in_reads_and_verification(
    api: ContractClient, other_api: ContractClient, story: dict[str, Any]
) -> None:
    certificate = other_api.created(
        "/v1/eucs",
        {
            "certificate_number": "FR-BPD-2018-3",
            "issuing_country": "FR",
            "issuing_authority": "SGDSN",
            "issued_on": "2018-01-10",
            "end_user_party_id": story["buyer"]["id"],
            "destination_country": "FR",
            "stated_end_use": "Controlled delivery",
            "non_reexport_clause": True,
            "line_items": [{"description": "Rifles", "quantity": 1}],
        },
    )
    assert certificate["end_user"]["name"] == "Nightjar Holdings"

    read = api.get(f"/v1/eucs/{certificate['id']}")
    verified = api.get(
        "/v1/eucs/verify", query={"certificate_number": "FR-BPD-2018-3", "issuing_country": "FR"}
    )

    assert read.get_json()["end_user"]["redacted"] is True
    assert verified.get_json()["end_user"]["redacted"] is True
    assert verified.get_json()["valid"] is True
    for response in (read, verified):
        assert_nothing_restricted(response.get_data(as_text=True))


def test_usage_counts_a_restricted_shipment_without_naming_its_items(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
) -> None:
    hidden = registry.item(serial_number="FN-770013")
    other_api.created(
        "/v1/events",
        {
            "event_type": "EXPORT",
            "occurred_on": "2010-06-01",
            "country": "BE",
            "destination_country": "FR",
            "item_ids": [hidden["id"]],
            "from_party_id": story["exporter"]["id"],
            "to_party_id": story["army"]["id"],
            "euc_id": story["euc"]["id"],
            "euc_line_number": 1,
            "classification": "RESTRICTED",
        },
    )

    mine = api.get(f"/v1/eucs/{story['euc']['id']}/usage").get_json()["lines"][0]
    theirs = other_api.get(f"/v1/eucs/{story['euc']['id']}/usage").get_json()["lines"][0]

    assert mine["shipped"] == theirs["shipped"] == 2
    assert mine["item_ids"] == [story["rifle"]["id"]]
    assert mine["withheld"] == 1
    assert sorted(theirs["item_ids"]) == sorted([story["rifle"]["id"], hidden["id"]])
    assert theirs["withheld"] == 0


def test_the_alert_list_shows_a_restricted_theft_only_to_its_recorder(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
) -> None:
    quietly_stolen = registry.item(serial_number="FN-770021")
    openly_stolen = registry.item(serial_number="FN-770022")
    for item, classification in ((quietly_stolen, "RESTRICTED"), (openly_stolen, "UNRESTRICTED")):
        other_api.created(
            "/v1/events",
            {
                "event_type": "THEFT",
                "occurred_on": "2020-03-03",
                "country": "FR",
                "item_ids": [item["id"]],
                "from_party_id": story["army"]["id"],
                "classification": classification,
                "notes": "informant handled by BPD",
            },
        )

    mine = api.get("/v1/alerts")
    theirs = other_api.get("/v1/alerts").get_json()["items"]

    assert {entry["item"]["id"] for entry in mine.get_json()["items"]} == {openly_stolen["id"]}
    assert_nothing_restricted(mine.get_data(as_text=True))
    stolen = {quietly_stolen["id"], openly_stolen["id"]}
    assert {
        entry["item"]["id"]: entry["status"] for entry in theirs if entry["item"]["id"] in stolen
    } == dict.fromkeys(stolen, "STOLEN")
    # and the rifle: by the Border Police's own records, re-transferred without consent
    rifle = [entry for entry in theirs if entry["item"]["id"] == story["rifle"]["id"]]
    assert rifle[0]["codes"] == ["RETRANSFER_WITHOUT_CONSENT"]


def test_a_restricted_recovery_keeps_the_item_on_other_agencies_lists_only(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
) -> None:
    # Stolen openly; recovered by the Border Police under restriction: for everyone else the
    # rifle is still stolen, for the Border Police it is off its list.
    pistol = registry.item(serial_number="FN-770031")
    police = registry.party(name="Police Nationale", kind="LAW_ENFORCEMENT", country="FR")
    for event in (
        {"event_type": "THEFT", "occurred_on": "2020-03-03", "from_party_id": story["army"]["id"]},
        {"event_type": "RECOVERY", "occurred_on": "2021-04-04", "to_party_id": police["id"],
         "classification": "RESTRICTED"},
    ):  # fmt: skip
        other_api.created("/v1/events", {"country": "FR", "item_ids": [pistol["id"]], **event})

    mine = {entry["item"]["id"] for entry in api.get("/v1/alerts").get_json()["items"]}
    theirs = {entry["item"]["id"] for entry in other_api.get("/v1/alerts").get_json()["items"]}

    assert pistol["id"] in mine
    assert pistol["id"] not in theirs


def findings_of(client: ContractClient, item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    chain = client.get(f"/v1/items/{item['id']}/custody").get_json()
    return {finding["code"]: finding for finding in chain["findings"]}


def listed(client: ContractClient, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The item's entries on the alert list the client reads."""
    entries: list[dict[str, Any]] = client.get("/v1/alerts").get_json()["items"]
    return [entry for entry in entries if entry["item"]["id"] == item["id"]]


def test_a_restricted_recovery_leaves_a_loss_report_what_the_status_shown_says(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any],
    db: Connection,
) -> None:  # fmt: skip
    # Found in review: the National Tracing Office read its loss report as "and back in hand on
    # 2021-04-04" (INFO), under a status still LOST: the finding told what the withheld record
    # was, and took the pistol's code off the list every agency reads.
    pistol = registry.item(serial_number="FN-770032")
    police = registry.party(name="Police Nationale", kind="LAW_ENFORCEMENT", country="FR")
    registry.event("MANUFACTURE", [pistol], occurred_on="2015-01-01", to_party_id=police["id"])
    registry.event("LOSS", [pistol], occurred_on="2016-01-01", from_party_id=police["id"])
    other_api.created(
        "/v1/events",
        {"event_type": "RECOVERY", "occurred_on": "2021-04-04", "country": "FR",
         "item_ids": [pistol["id"]], "to_party_id": story["buyer"]["id"],
         "classification": "RESTRICTED"},
    )  # fmt: skip

    mine = findings_of(api, pistol)["REPORTED_LOST"]
    theirs = findings_of(other_api, pistol)["REPORTED_LOST"]

    assert api.get(f"/v1/items/{pistol['id']}/custody").get_json()["status"] == "LOST"
    assert (mine["severity"], mine["message"]) == (
        "ALERT",
        "Reported lost by Police Nationale on 2016-01-01; no recovery is on record among the "
        "records you may see.",
    )
    assert (theirs["severity"], theirs["message"]) == (
        "INFO", "Reported lost by Police Nationale on 2016-01-01, and back in hand on 2021-04-04.",
    )  # fmt: skip
    assert [(e["status"], e["codes"]) for e in listed(api, pistol)] == [("LOST", ["REPORTED_LOST"])]
    assert alerts.rebuild(db, datetime.now(UTC).date(), 180, write=False).differences == ()


def test_a_restricted_destruction_leaves_another_agency_s_seizure_what_the_status_shown_says(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
) -> None:
    pistol = registry.item(serial_number="FN-770033")
    police = registry.party(name="Police Nationale", kind="LAW_ENFORCEMENT", country="FR")
    registry.event("SEIZURE", [pistol], occurred_on="2019-02-02", country="FR",
                   to_party_id=police["id"])  # fmt: skip
    other_api.created(
        "/v1/events",
        {"event_type": "DESTRUCTION", "occurred_on": "2020-02-02", "country": "FR",
         "item_ids": [pistol["id"]], "from_party_id": police["id"],
         "classification": "RESTRICTED"},
    )  # fmt: skip

    mine = findings_of(api, pistol)

    assert mine["SEIZED"]["message"] == "Seized by Police Nationale in FR on 2019-02-02."
    assert "Police Nationale" in mine["UNVERIFIED_LAST_HOLDER"]["message"]
    assert "SEIZED" not in findings_of(other_api, pistol)


@pytest.mark.parametrize("restricted_move", ["out of the country", "within the country"])
def test_a_move_only_a_restricted_record_shows_neither_hides_nor_reveals_a_diversion(
    api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any],
    restricted_move: str, db: Connection,
) -> None:  # fmt: skip
    # Found in review: the army's restricted sale abroad (a diversion) made the National Tracing
    # Office's own record of the army selling the rifle abroad read as downstream of it, with no
    # finding; after a restricted move within France it was flagged. The finding's presence
    # told which the withheld move was, and hid a diversion the reader's own records show.
    rifle = registry.item(serial_number=f"FN-77005{len(restricted_move)}")
    dealer = registry.party(name="Geneva Arms Dealer", kind="DEALER", country="CH")
    registry.event("EXPORT", [rifle], occurred_on="2010-05-02", country="BE",
                   from_party_id=story["exporter"]["id"], to_party_id=story["army"]["id"],
                   destination_country="FR", euc_id=story["euc"]["id"],
                   euc_line_number=1)  # fmt: skip
    abroad = restricted_move == "out of the country"
    other_api.created(
        "/v1/events",
        {"event_type": "TRANSFER", "occurred_on": "2012-01-01",
         "country": "FR", "destination_country": "DE" if abroad else None,
         "item_ids": [rifle["id"]], "from_party_id": story["army"]["id"],
         "to_party_id": story["buyer"]["id"],
         "owner_party_id": None if abroad else story["army"]["id"],
         "classification": "RESTRICTED"},
    )  # fmt: skip
    sold = registry.event("TRANSFER", [rifle], occurred_on="2013-03-03", country="FR",
                          destination_country="CH", from_party_id=story["army"]["id"],
                          to_party_id=dealer["id"])  # fmt: skip

    finding = findings_of(api, rifle)["RETRANSFER_WITHOUT_CONSENT"]

    assert finding["severity"] == "ALERT"
    assert finding["message"].startswith("Transfer on 2013-03-03 moved the item out of FR")
    assert sold["id"] in {ref["id"] for ref in finding["references"]}
    assert ["RETRANSFER_WITHOUT_CONSENT" in e["codes"] for e in listed(api, rifle)] == [True]
    assert alerts.rebuild(db, datetime.now(UTC).date(), 180, write=False).differences == ()


def test_only_its_recorder_may_verify_a_restricted_party(
    api: ContractClient, other_api: ContractClient, story: dict[str, Any]
) -> None:
    # Found in review: another agency verified a party it could not see, and the recorder's
    # chains ending with it lost their UNVERIFIED_LAST_HOLDER.
    buyer = f"/v1/parties/{story['buyer']['id']}"
    body = {"verified_on": "2019-10-10", "method": "company register"}

    refused = api.post(f"{buyer}/verifications", body)

    assert refused.status_code == 403
    assert refused.get_json()["detail"].endswith(
        "is restricted by Border Police Directorate, whose record it is to verify: ask them"
    )
    assert other_api.get(buyer).get_json()["verifications"] == []
    assert "UNVERIFIED_LAST_HOLDER" in findings_of(other_api, story["rifle"])
    assert len(other_api.created(f"{buyer}/verifications", body)["verifications"]) == 1


@pytest.mark.parametrize("corrected_for", ["the same pistol", "another pistol"])
def test_a_declaration_corrected_by_a_restricted_record_keeps_its_explanation_from_others(
    api: ContractClient, other_api: ContractClient, story: dict[str, Any], registry: Any,
    corrected_for: str,
) -> None:  # fmt: skip
    # Found in review: the Border Police corrected its own open record with a restricted one,
    # and every agency read why ("informant handled by BPD") on the open record's declaration.
    police = registry.party(name="Police Nationale", kind="LAW_ENFORCEMENT", country="FR")
    pistol, other_pistol = (registry.item(serial_number=f"FN-77006{n}") for n in (1, 2))
    opened = other_api.created(
        "/v1/events",
        {"event_type": "SEIZURE", "occurred_on": "2019-05-05", "country": "FR",
         "item_ids": [pistol["id"]], "to_party_id": police["id"]},
    )  # fmt: skip
    corrects = {"event_id": opened["id"], "reason": "INCORRECT_DATA",
                "explanation": "informant handled by BPD"}  # fmt: skip
    other_api.created(
        "/v1/events",
        {"event_type": "SEIZURE", "occurred_on": "2019-05-05", "country": "FR",
         "item_ids": [(pistol if corrected_for == "the same pistol" else other_pistol)["id"]],
         "to_party_id": story["buyer"]["id"],
         "classification": "RESTRICTED", "corrects": corrects},
    )  # fmt: skip

    withheld = (
        "Withheld with the restricted record that corrects it: ask Border Police Directorate."
    )
    for client, explanation in ((api, withheld), (other_api, "informant handled by BPD")):
        event = client.get(f"/v1/events/{opened['id']}").get_json()
        chain = client.get(f"/v1/items/{pistol['id']}/custody")
        (declared,) = [e for e in chain.get_json()["events"] if e["id"] == opened["id"]]
        assert event["error_declaration"]["explanation"] == explanation
        assert declared["error_declaration"]["explanation"] == explanation
    trace = api.post("/v1/traces", {"weapon": {"serial_number": "FN-770061"}, "context": CONTEXT})
    assert_nothing_restricted(trace.get_data(as_text=True))
    report = api.get(f"/v1/items/{pistol['id']}/custody", headers={"Accept": "text/plain"})
    assert_nothing_restricted(report.get_data(as_text=True))


def test_notifications_of_a_lookup_carry_nothing_restricted(
    api: ContractClient, other_api: ContractClient, story: dict[str, Any]
) -> None:
    # The Border Police's trace tells the National Tracing Office, which recorded the rifle.
    other_api.post("/v1/traces", {"weapon": {"serial_number": "FN-770011"}, "context": CONTEXT})

    response = api.get("/v1/notifications")

    assert response.get_json()["items"], "the recorder of the item is told of the lookup"
    assert_nothing_restricted(response.get_data(as_text=True))


def test_an_administrators_key_does_not_lift_a_restriction(
    client: FlaskClient, db: Connection, story: dict[str, Any]
) -> None:
    _, key = create_agency_key(
        db, "National Tracing Office", ("trace:read", "registry:write", "registry:admin")
    )
    admin = ContractClient(client, key)

    response = admin.get(f"/v1/items/{story['rifle']['id']}/custody")

    assert response.get_json()["events"][-1]["redacted"] is True
    assert_nothing_restricted(response.get_data(as_text=True))


class TestWhoMayDeclareAnEventErroneous:
    DECLARATION: ClassVar[dict[str, str]] = {
        "reason": "INCORRECT_DATA",
        "explanation": "Recorded against the wrong item.",
    }

    def test_another_agency_may_not(self, api: ContractClient, story: dict[str, Any]) -> None:
        response = api.post(
            f"/v1/events/{story['covert']['id']}/error-declaration", self.DECLARATION
        )

        assert response.status_code == 403
        covert = api.get(f"/v1/events/{story['covert']['id']}").get_json()
        assert covert["declared_erroneous"] is False

    def test_an_administrator_may_and_the_redaction_holds(
        self,
        client: FlaskClient,
        db: Connection,
        other_api: ContractClient,
        story: dict[str, Any],
    ) -> None:
        _, key = create_agency_key(
            db, "Registry Operations", ("trace:read", "registry:write", "registry:admin")
        )
        admin = ContractClient(client, key)

        response = admin.post(
            f"/v1/events/{story['covert']['id']}/error-declaration", self.DECLARATION
        )

        assert response.status_code == 201
        assert response.get_json()["declared_erroneous"] is True
        assert_nothing_restricted(response.get_data(as_text=True))
        declared = other_api.get(f"/v1/events/{story['covert']['id']}").get_json()
        assert declared["error_declaration"]["declared_by"]["name"] == "Registry Operations"


def test_a_classification_must_be_one_of_the_two(api: ContractClient) -> None:
    response = api.post(
        "/v1/parties",
        {"name": "X", "kind": "BROKER", "country": "FR", "classification": "SECRET"},
    )

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_the_per_agency_rows_rebuild_from_the_ledger_as_stored(
    other_api: ContractClient, registry: Any, story: dict[str, Any], db: Connection
) -> None:
    quietly_stolen = registry.item(serial_number="FN-770041")
    other_api.created(
        "/v1/events",
        {"event_type": "THEFT", "occurred_on": "2020-03-03", "country": "FR",
         "item_ids": [quietly_stolen["id"]], "from_party_id": story["army"]["id"],
         "classification": "RESTRICTED"},
    )  # fmt: skip

    result = alerts.rebuild(db, datetime.now(UTC).date(), 180, write=False)

    assert result.differences == ()
    audiences = {row["audience"] for row in db.execute("SELECT audience FROM item_alerts")}
    assert len(audiences) == 1 and UUID(int=0) not in audiences  # the Border Police's rows only


class TestARegistrationNumberAlreadyRecorded:
    """A restricted party is unique among its own agency's parties only: it blocks no other
    agency's record of its number (any agency could squat a real company's number with one), so
    that no refusal says that another agency keeps a restricted record of the number. Another
    agency's unrestricted party, shared, is refused (or, in an import, linked) as before."""

    def open_party(self, other_api: ContractClient) -> dict[str, Any]:
        return other_api.created(
            "/v1/parties",
            {"name": "Arsenal Sud", "kind": "MANUFACTURER", "country": "FR",
             "registration_number": "FR-RCS-4410"},
        )  # fmt: skip

    def test_a_single_record_is_refused_only_beside_the_unrestricted_party(
        self, api: ContractClient, other_api: ContractClient, story: dict[str, Any]
    ) -> None:
        self.open_party(other_api)
        party = {"name": "Nightjar", "kind": "BROKER", "country": "FR"}
        answers = [
            api.post("/v1/parties", {**party, "registration_number": number})
            for number in ("OP-NIGHTJAR-7", "FR-RCS-4410")
        ]

        assert [answer.status_code for answer in answers] == [201, 409]
        recorded = answers[0].get_data(as_text=True)
        assert story["buyer"]["id"] not in recorded and "Nightjar Holdings" not in recorded
        assert answers[0].get_json()["recorded_by"]["name"] == "National Tracing Office"

    def test_an_import_names_neither_party(
        self, api: ContractClient, other_api: ContractClient, story: dict[str, Any]
    ) -> None:
        opened = self.open_party(other_api)
        records = [
            {"record_type": "party", "ref": f"P-{number}", "name": "Nightjar", "kind": "BROKER",
             "country": "FR", "registration_number": number}
            for number in ("OP-NIGHTJAR-7", "FR-RCS-4410")
        ]  # fmt: skip
        body = b"".join(orjson.dumps(record) + b"\n" for record in records)

        response = api.request(
            "POST", "/v1/imports", data=body, headers={"Content-Type": "application/x-ndjson"}
        )

        # Another agency's unrestricted party is linked (its record is anyone's to read); the
        # number of a restricted one is the importer's own record, stored beside it unnamed.
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["stored"]["party"] == 1
        assert response.get_json()["linked"]["party"] == 1
        kept = api.get(f"/v1/imports/{response.get_json()['id']}")
        for answer in (response, kept):
            text = answer.get_data(as_text=True)
            assert story["buyer"]["id"] not in text
            assert opened["id"] not in text

    def test_an_import_names_the_agencys_own_party(
        self, other_api: ContractClient, story: dict[str, Any]
    ) -> None:
        record = {"record_type": "party", "ref": "P-again", "name": "Nightjar Holdings",
                  "kind": "BROKER", "country": "FR",
                  "registration_number": "op/nightjar/7"}  # fmt: skip

        response = other_api.request(
            "POST",
            "/v1/imports",
            data=orjson.dumps(record) + b"\n",
            headers={"Content-Type": "application/x-ndjson"},
        )

        assert response.status_code == 400
        assert story["buyer"]["id"] in response.get_json()["errors"][0]["detail"]


class TestFindingsTellNoMoreThanTheChainAndUsage:
    """A finding is judged on the whole chain, restricted records included (an investigator
    loses no flag), but its sentence tells another agency nothing of them that the chain and
    the certificate's usage do not: the same words whatever the restricted records hold. Their
    recorder reads the finding whole."""

    def findings_everywhere(
        self, client: ContractClient, item: dict[str, Any], code: str
    ) -> list[dict[str, Any] | None]:
        """The item's finding of that code in its chain, a trace, a batch trace, and the two
        traces as stored."""
        weapon = {"serial_number": item["serial_number"]}
        single = client.post("/v1/traces", {"weapon": weapon, "context": CONTEXT}).get_json()
        batch = client.post("/v1/traces/batch", {"context": CONTEXT, "weapons": [weapon]})
        (batched,) = batch.get_json()["traces"]
        chains = [
            client.get(f"/v1/items/{item['id']}/custody").get_json(),
            *(
                next(c for c in trace["candidates"] if c["item"]["id"] == item["id"])
                for trace in (
                    single,
                    batched,
                    client.get(f"/v1/traces/{single['id']}").get_json(),
                    client.get(f"/v1/traces/{batched['id']}").get_json(),
                )
            ),
        ]
        return [next((f for f in chain["findings"] if f["code"] == code), None) for chain in chains]

    def over_shipped(
        self,
        api: ContractClient,
        other_api: ContractClient,
        registry: Any,
        story: dict[str, Any],
        restricted_days: tuple[str, ...],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A line for 2 rifles: one exported in May, one rifle on each of the days the Border
        Police exported under restriction, and the rifle exported on 2010-07-01 (returned with
        the certificate)."""
        euc = registry.euc(story["exporter"], story["army"],
                           line_items=[{"description": "Rifles", "quantity": 2}])  # fmt: skip
        shipment = {"event_type": "EXPORT", "country": "BE", "destination_country": "FR",
                    "from_party_id": story["exporter"]["id"], "to_party_id": story["army"]["id"],
                    "euc_id": euc["id"], "euc_line_number": 1}  # fmt: skip
        for day, client, classification in (
            ("2010-05-01", api, "UNRESTRICTED"),
            *((day, other_api, "RESTRICTED") for day in restricted_days),
        ):
            item = registry.item()
            client.created("/v1/events", {**shipment, "occurred_on": day,
                                          "item_ids": [item["id"]],
                                          "classification": classification})  # fmt: skip
        flagged = registry.item()
        api.created("/v1/events", {**shipment, "occurred_on": "2010-07-01",
                                   "item_ids": [flagged["id"]]})  # fmt: skip
        return flagged, euc

    def test_a_line_taken_over_its_quantity_says_no_more_than_usage(
        self, api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
    ) -> None:
        # "4 items had been shipped" told another agency how many items restricted exports had
        # shipped before the day, when usage tells only how many the line holds today.
        two_before = self.over_shipped(api, other_api, registry, story,
                                       ("2010-06-01", "2010-06-02"))  # fmt: skip
        one_before = self.over_shipped(api, other_api, registry, story,
                                       ("2010-06-01", "2010-08-01"))  # fmt: skip

        seen = [
            [
                finding["message"].replace(euc["certificate_number"], "EUC")
                for finding in self.findings_everywhere(client, item, "EUC_QUANTITY_EXCEEDED")
                if finding is not None
            ]
            for client in (api, other_api)
            for item, euc in (two_before, one_before)
        ]

        mine_two, mine_one, theirs_two, theirs_one = seen
        assert len(mine_two) == len(mine_one) == 5  # raised everywhere
        assert (
            set(mine_two)
            == set(mine_one)
            == {
                "With the shipment of 2010-07-01, more items had been shipped under line 1 of EUC "
                "than the 2 it authorises, counting the exports under the line that other agencies "
                "restricted, whose items and days are withheld from you; 2 of them, this one "
                "included, by the exports you may see."
            }
        )
        usage = [api.get(f"/v1/eucs/{euc['id']}/usage").get_json()["lines"][0]
                 for _, euc in (two_before, one_before)]  # fmt: skip
        assert [(line["shipped"], line["withheld"]) for line in usage] == [(4, 2), (4, 2)]
        # the Border Police, whose restricted exports they are, reads the number
        assert (
            theirs_two
            == [
                "With the shipment of 2010-07-01, 4 items had been shipped under line 1 of EUC, "
                "which authorises 2."
            ]
            * 5
        )
        assert set(theirs_one) == {theirs_one[0]} and "3 items had been shipped" in theirs_one[0]

    def test_a_line_with_nothing_withheld_reads_whole(
        self, api: ContractClient, other_api: ContractClient, registry: Any, story: dict[str, Any]
    ) -> None:
        flagged, euc = self.over_shipped(api, other_api, registry, story, ())
        export = {
            "euc_id": euc["id"],
            "euc_line_number": 1,
            "destination_country": "FR",
            "from_party_id": story["exporter"]["id"],
            "to_party_id": story["army"]["id"],
        }
        registry.event("EXPORT", [registry.item()], occurred_on="2010-06-01", **export)

        found = self.findings_everywhere(api, flagged, "EUC_QUANTITY_EXCEEDED")

        assert [finding and finding["message"] for finding in found] == [
            f"With the shipment of 2010-07-01, 3 items had been shipped under line 1 of "
            f"{euc['certificate_number']}, which authorises 2."
        ] * 5

    def left_with_restricted_buyer(
        self, api: ContractClient, other_api: ContractClient, registry: Any, verified: bool
    ) -> dict[str, Any]:
        """A rifle the Border Police saw sold, openly, to a buyer it restricted (verified or
        not)."""
        army = registry.party(name="Armée de Terre", kind="ARMED_FORCES", country="FR")
        buyer = other_api.created("/v1/parties", {"name": "Nightjar Holdings", "kind": "BROKER",
                                                  "country": "FR",
                                                  "classification": "RESTRICTED"})  # fmt: skip
        if verified:
            other_api.created(f"/v1/parties/{buyer['id']}/verifications",
                              {"verified_on": "2018-05-01", "method": "site visit"})  # fmt: skip
        rifle = registry.item()
        registry.event("MANUFACTURE", [rifle], occurred_on="2010-01-05", country="FR",
                       to_party_id=army["id"])  # fmt: skip
        other_api.created("/v1/events", {"event_type": "TRANSFER", "occurred_on": "2018-06-01",
                                         "country": "FR", "item_ids": [rifle["id"]],
                                         "from_party_id": army["id"],
                                         "to_party_id": buyer["id"]})  # fmt: skip
        return rifle

    def test_a_restricted_last_holder_is_flagged_alike_verified_or_not(
        self, api: ContractClient, other_api: ContractClient, registry: Any
    ) -> None:
        # Raised only for an unverified holder, the finding told another agency whether anyone
        # had verified a party whose very record is withheld from it.
        unverified = self.left_with_restricted_buyer(api, other_api, registry, verified=False)
        verified = self.left_with_restricted_buyer(api, other_api, registry, verified=True)

        mine = [self.findings_everywhere(api, rifle, "UNVERIFIED_LAST_HOLDER")
                for rifle in (unverified, verified)]  # fmt: skip
        theirs = [self.findings_everywhere(other_api, rifle, "UNVERIFIED_LAST_HOLDER")
                  for rifle in (unverified, verified)]  # fmt: skip

        expected = {
            "code": "UNVERIFIED_LAST_HOLDER",
            "severity": "INFO",
            "message": "The record leaves the item with a party restricted by Border Police "
            "Directorate, whose record, and whether any agency verified it, are withheld from "
            "you: ask Border Police Directorate.",
        }
        for found in mine:
            assert [{k: f[k] for k in expected} for f in found if f is not None] == [expected] * 5
        # its recorder knows it verified the buyer, and reads the finding as it stands
        assert [f is not None for f in theirs[0]] == [True] * 5
        assert theirs[0][0] is not None and "Nightjar Holdings" in theirs[0][0]["message"]
        assert theirs[1] == [None] * 5
