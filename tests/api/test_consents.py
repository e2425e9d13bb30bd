"""Re-export consents after they are recorded: withdrawal of one recorded in error, the cap on
what the standing consents cover, what other agencies see of the items they name, and an
administrator's withdrawal of another agency's record."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient

from service.config import Settings
from service.db import Connection
from service.domain.inputs import NewConsent
from service.domain.records import AgencyRef
from service.errors import StateConflict
from service.repository import eucs
from tests.conftest import create_agency_key, rows_in, second_waits_for_first
from tests.contract import ContractClient

CONSENT = {"granted_on": "2015-01-01", "granted_by": "Serbian Ministry of Trade",
           "new_destination_country": "IQ"}  # fmt: skip
WITHDRAW = {"reason": "recorded against the wrong certificate"}
ADMIN_SCOPES = ("trace:read", "registry:write", "registry:admin")


@pytest.fixture
def parties(registry: Any) -> dict[str, Any]:
    return {
        "exporter": registry.party(name="Zastava Arms", kind="EXPORTER", country="RS"),
        "army": registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ"),
    }


@pytest.fixture
def euc(registry: Any, parties: Any) -> dict[str, Any]:
    return registry.euc(parties["exporter"], parties["army"])


def ship(registry: Any, parties: Any, euc: dict[str, Any], count: int, **fields: Any) -> list[Any]:
    """`count` items exported under the certificate, in one export."""
    items = [registry.item() for _ in range(count)]
    registry.event("EXPORT", items, country="RS", destination_country="IQ", euc_id=euc["id"],
                   from_party_id=parties["exporter"]["id"], to_party_id=parties["army"]["id"],
                   euc_line_number=1, **fields)  # fmt: skip
    return items


def consent(api: ContractClient, euc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Record a consent; the one just recorded."""
    recorded = api.created(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, **fields})
    found: dict[str, Any] = max(recorded["consents"], key=lambda c: c["recorded_at"])
    return found


def withdrawal_path(euc: dict[str, Any], consent_id: str) -> str:
    return f"/v1/eucs/{euc['id']}/consents/{consent_id}/withdrawal"


# Withdrawal ------------------------------------------------------------------------------------


def test_a_consent_recorded_in_error_is_withdrawn_and_stays_in_history(
    api: ContractClient, registry: Any, parties: Any, euc: Any, db: Connection
) -> None:
    # An exporter that consented in error, or an agency that recorded a consent against the
    # wrong certificate, had no recourse: the consent stood for good in every agency's chains.
    ship(registry, parties, euc, 2)
    recorded = consent(api, euc, quantity=2)

    withdrawn = api.created(withdrawal_path(euc, recorded["id"]), WITHDRAW)

    (history,) = withdrawn["consents"]
    assert {key: value for key, value in history.items() if key != "withdrawal"} == {
        key: value for key, value in recorded.items() if key != "withdrawal"
    }
    assert recorded["withdrawal"] is None
    assert history["withdrawal"]["reason"] == WITHDRAW["reason"]
    assert history["withdrawal"]["recorded_by"]["name"] == "National Tracing Office"
    assert api.get(f"/v1/eucs/{euc['id']}").get_json() == withdrawn
    assert (rows_in(db, "reexport_consents"), rows_in(db, "reexport_consent_withdrawals")) == (1, 1)


def test_a_consent_withdrawal_is_refused_when_it_cannot_be_made(
    api: ContractClient, other_api: ContractClient, registry: Any, parties: Any, euc: Any,
    db: Connection,
) -> None:  # fmt: skip
    recorded = consent(api, euc)
    other_euc = registry.euc(parties["exporter"], parties["army"])
    ghost = "01a20319-0000-7000-8000-000000000000"
    path = withdrawal_path(euc, recorded["id"])

    by_another = other_api.post(path, WITHDRAW)
    without_reason = api.post(path, {})
    unknown_consent = api.post(withdrawal_path(euc, ghost), WITHDRAW)
    under_another_certificate = api.post(withdrawal_path(other_euc, recorded["id"]), WITHDRAW)
    unknown_certificate = api.post(f"/v1/eucs/{ghost}/consents/{recorded['id']}/withdrawal",
                                   WITHDRAW)  # fmt: skip
    api.created(path, WITHDRAW)
    twice = api.post(path, {"reason": "again"})

    assert (by_another.status_code, by_another.get_json()["code"]) == (403, "forbidden")
    assert by_another.get_json()["detail"] == (
        "only the agency that recorded this consent (National Tracing Office), or an "
        "administrator, may withdraw it"
    )
    assert without_reason.get_json()["errors"][0]["pointer"] == "/reason"
    for missing in (unknown_consent, under_another_certificate):
        assert missing.status_code == 404
        assert "no re-export consent is recorded with id" in missing.get_json()["detail"]
    assert unknown_certificate.status_code == 404
    assert "no end-user certificate" in unknown_certificate.get_json()["detail"]
    assert (twice.status_code, twice.get_json()["code"]) == (409, "state_conflict")
    assert twice.get_json()["detail"].startswith(
        "this consent was withdrawn already (by National Tracing Office at "
    )
    assert rows_in(db, "reexport_consent_withdrawals") == 1


def test_a_consent_withdrawal_is_idempotent_and_audited(
    api: ContractClient, euc: Any, db: Connection
) -> None:
    path = withdrawal_path(euc, consent(api, euc)["id"])
    headers = {"Idempotency-Key": "withdraw-consent-1"}

    first = api.post(path, WITHDRAW, headers=headers)
    again = api.post(path, WITHDRAW, headers=headers)
    without_key = api.post(path, WITHDRAW)

    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert without_key.status_code == 409
    assert rows_in(db, "reexport_consent_withdrawals") == 1
    trail = db.execute(
        "SELECT status, record_ids, details FROM audit_log WHERE route = %s ORDER BY id",
        ["/v1/eucs/<uuid:euc_id>/consents/<uuid:consent_id>/withdrawal"],
    ).fetchall()
    assert [row["status"] for row in trail] == [201, 201, 409]
    consent_id = UUID(path.split("/")[-2])
    assert all(row["record_ids"] == [UUID(euc["id"]), consent_id] for row in trail)
    assert all("override" not in row["details"] for row in trail)


# The cap: the standing consents cover no more items than were shipped --------------------------


def test_the_standing_consents_cover_no_more_items_than_were_shipped(
    api: ContractClient, registry: Any, parties: Any, euc: Any, db: Connection
) -> None:
    # A consent's quantity was held to the items shipped, one consent at a time: three
    # consents for 2 each stood under a certificate that shipped 3 items.
    first, second, _ = ship(registry, parties, euc, 3)
    path = f"/v1/eucs/{euc['id']}/consents"
    for_two = consent(api, euc, quantity=2)

    too_many = api.post(path, {**CONSENT, "quantity": 2})
    naming_one = consent(api, euc, item_ids=[first["id"]])  # 2 + 1: every item shipped
    # an onward move of an item already consented names it again: it counts once
    onward = consent(api, euc, item_ids=[first["id"]], granted_on="2016-01-01")
    another_item = api.post(path, {**CONSENT, "item_ids": [second["id"]]})
    every_item = api.post(path, CONSENT)

    assert (too_many.status_code, too_many.get_json()["code"]) == (409, "state_conflict")
    assert too_many.get_json()["detail"] == (
        "3 items were shipped under this certificate and its standing re-export consents "
        "already cover 2: a consent for 2 would make them cover 4 (withdraw a consent recorded "
        "in error first)"
    )
    assert naming_one["item_ids"] == onward["item_ids"] == [first["id"]]
    assert another_item.get_json()["detail"] == (
        "3 items were shipped under this certificate and its standing re-export consents "
        "already cover 3: a consent for 1 named would make them cover 4 (withdraw a consent "
        "recorded in error first)"
    )
    assert every_item.get_json()["detail"] == (
        "3 items were shipped under this certificate and its standing re-export consents "
        "already cover 3: a consent for every one shipped would make them cover 5 (withdraw a "
        "consent recorded in error first)"
    )
    assert rows_in(db, "reexport_consents") == 3

    api.created(withdrawal_path(euc, for_two["id"]), WITHDRAW)

    # a withdrawn consent counts no more: 1 named, and 2 more
    assert consent(api, euc, quantity=2)["quantity"] == 2
    assert rows_in(db, "reexport_consents") == 4


def test_a_consent_for_every_item_leaves_room_for_those_that_name_items(
    api: ContractClient, registry: Any, parties: Any, euc: Any
) -> None:
    (rifle, _) = ship(registry, parties, euc, 2)
    consent(api, euc)

    named = consent(api, euc, item_ids=[rifle["id"]])
    by_quantity = api.post(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, "quantity": 1})

    assert named["item_ids"] == [rifle["id"]]
    assert by_quantity.status_code == 409
    assert (
        "already cover 2: a consent for 1 would make them cover 3"
        in (by_quantity.get_json()["detail"])
    )


def test_items_named_by_consents_count_only_while_shipped_under_the_certificate(
    api: ContractClient, registry: Any, parties: Any, euc: Any
) -> None:
    # A consent names items shipped under the certificate; once the export that shipped one is
    # declared erroneous, the consent covers no re-transfer of it (no standing export of it
    # under the certificate), and counted against the cap it refused the consents the items
    # still shipped needed: "1 item was shipped ... already cover 1".
    (misfiled,) = ship(registry, parties, euc, 1)
    (shipped,) = ship(registry, parties, euc, 1)
    consent(api, euc, item_ids=[misfiled["id"]])
    export = custody_of(api, misfiled)["events"][-1]
    declared = {"reason": "DID_NOT_OCCUR", "explanation": "shipped under another certificate"}
    api.created(f"/v1/events/{export['id']}/error-declaration", declared)

    naming_the_shipped_one = consent(api, euc, item_ids=[shipped["id"]])
    one_more = api.post(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, "quantity": 1})

    assert naming_the_shipped_one["item_ids"] == [shipped["id"]]
    assert (one_more.status_code, one_more.get_json()["code"]) == (409, "state_conflict")
    assert (
        "already cover 1: a consent for 1 would make them cover 2"
        in (one_more.get_json()["detail"])
    )


def test_consents_left_covering_more_than_stands_shipped_say_so_and_why(
    api: ContractClient, registry: Any, parties: Any, euc: Any
) -> None:
    # An export declared erroneous after a consent by quantity leaves the standing consents
    # covering more than stands shipped. Nothing said so, and the next consent was refused with
    # numbers that did not add up ("1 item was shipped ... already cover 2") and no cause.
    ship(registry, parties, euc, 1)
    (misfiled,) = ship(registry, parties, euc, 1)
    recorded = consent(api, euc, quantity=2)
    usage = f"/v1/eucs/{euc['id']}/usage"
    within = api.get(usage).get_json()["consents_cover"]
    export = custody_of(api, misfiled)["events"][-1]
    declared = {"reason": "DID_NOT_OCCUR", "explanation": "shipped under another certificate"}
    api.created(f"/v1/events/{export['id']}/error-declaration", declared)

    over = api.get(usage).get_json()["consents_cover"]
    refused = api.post(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, "quantity": 1})
    api.created(withdrawal_path(euc, recorded["id"]), WITHDRAW)
    after_withdrawal = api.get(usage).get_json()["consents_cover"]

    assert within == {"shipped": 2, "covered": 2, "over_cover": 0, "message": None}
    cause = f"since the export of 2010-05-02 (event {export['id']}) was declared erroneous"
    assert over == {
        "shipped": 1,
        "covered": 2,
        "over_cover": 1,
        "message": "The standing re-export consents cover 2 items, 1 more than the 1 shipped "
        f"under this certificate by the events you may know of, {cause}: a new consent is "
        "refused until one recorded in error is withdrawn.",
    }
    assert (refused.status_code, refused.get_json()["code"]) == (409, "state_conflict")
    assert refused.get_json()["detail"] == (
        "1 item was shipped under this certificate and its standing re-export consents already "
        f"cover 2, 1 more than were shipped {cause}: a consent for 1 would make them cover 3 "
        "(withdraw a consent recorded in error first)"
    )
    assert after_withdrawal == {"shipped": 1, "covered": 0, "over_cover": 0, "message": None}
    assert consent(api, euc, quantity=1)["quantity"] == 1


def test_consents_over_the_cap_with_no_erroneous_event_name_the_surplus(
    api: ContractClient, registry: Any, parties: Any, euc: Any, db: Connection
) -> None:
    # Consents recorded before the cap held each to the items shipped on its own: two for 1
    # each under a certificate that shipped 1 (written here as those versions stored them).
    ship(registry, parties, euc, 1)
    consent(api, euc, quantity=1)
    db.execute(
        "INSERT INTO reexport_consents (euc_id, granted_on, granted_by, new_destination_country,"
        " quantity, recorded_by_agency_id) SELECT euc_id, granted_on, granted_by,"
        " new_destination_country, quantity, recorded_by_agency_id FROM reexport_consents"
    )

    over = api.get(f"/v1/eucs/{euc['id']}/usage").get_json()["consents_cover"]
    refused = api.post(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, "quantity": 1})

    assert over["over_cover"] == 1
    assert over["message"] == (
        "The standing re-export consents cover 2 items, 1 more than the 1 shipped under this "
        "certificate by the events you may know of: a new consent is refused until one recorded "
        "in error is withdrawn."
    )
    assert refused.get_json()["detail"] == (
        "1 item was shipped under this certificate and its standing re-export consents already "
        "cover 2, 1 more than were shipped: a consent for 1 would make them cover 3 (withdraw a "
        "consent recorded in error first)"
    )


def test_an_item_whose_export_was_declared_erroneous_is_named_by_no_new_consent_or_verification(
    api: ContractClient, registry: Any, parties: Any, euc: Any
) -> None:
    # The cap leaves such an item out (above); a consent or a verification that names it is
    # refused by the same rule of what shipped under the certificate.
    (misfiled,) = ship(registry, parties, euc, 1)
    export = custody_of(api, misfiled)["events"][-1]
    declared = {"reason": "DID_NOT_OCCUR", "explanation": "shipped under another certificate"}
    api.created(f"/v1/events/{export['id']}/error-declaration", declared)
    seen = {"verified_on": "2010-09-02", "verifying_authority": "Embassy", "country": "IQ"}

    named = [
        api.post(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, "item_ids": [misfiled["id"]]}),
        api.post(f"/v1/eucs/{euc['id']}/verifications", {**seen, "item_ids": [misfiled["id"]]}),
    ]

    for answer in named:
        assert (answer.status_code, answer.get_json()["code"]) == (409, "state_conflict")
        assert misfiled["id"] in answer.get_json()["detail"]


def custody_of(api: ContractClient, item: dict[str, Any]) -> dict[str, Any]:
    chain: dict[str, Any] = api.get(f"/v1/items/{item['id']}/custody").get_json()
    return chain


def test_two_consents_sent_at_once_cannot_both_pass_the_cap(
    registry: Any, parties: Any, euc: Any, db: Connection, settings: Settings,
    agency_key: tuple[AgencyRef, str],
) -> None:  # fmt: skip
    """Below the API too (a script, the seed): the second waits for the certificate's lock,
    which the first holds to its commit, and then counts the first's consent."""
    ship(registry, parties, euc, 2)
    euc_id, agency_id = UUID(euc["id"]), agency_key[0].id
    refused: list[StateConflict] = []

    def second(conn: Connection) -> None:
        try:
            eucs.add_consent(conn, agency_id, euc_id, for_items(1))
        except StateConflict as exc:
            refused.append(exc)

    second_waits_for_first(
        settings, lambda conn: eucs.add_consent(conn, agency_id, euc_id, for_items(2)), second
    )

    assert [str(exc) for exc in refused] == [
        "2 items were shipped under this certificate and its standing re-export consents "
        "already cover 2: a consent for 1 would make them cover 3 (withdraw a consent recorded "
        "in error first)"
    ]
    assert rows_in(db, "reexport_consents") == 1


def for_items(quantity: int) -> NewConsent:
    return NewConsent(date(2015, 1, 1), "Serbian Ministry of Trade", "IQ", quantity=quantity)


# What other agencies see of the items a consent or verification names --------------------------


def test_items_shipped_by_a_restricted_export_are_counted_not_named_to_other_agencies(
    api: ContractClient, other_api: ContractClient, client: FlaskClient, registry: Any,
    parties: Any, euc: Any, db: Connection,
) -> None:  # fmt: skip
    # Usage names a restricted export's items only to its recorder, and counts them for the
    # others; a consent or verification that named them said to every agency that they were
    # shipped under the certificate, which is the restricted export's recorder's to disclose.
    (open_item,) = ship(registry, parties, euc, 1)
    (covert_item,) = ship(registry, parties, euc, 1, classification="RESTRICTED")
    named = sorted([open_item["id"], covert_item["id"]])
    consent(api, euc, item_ids=named)
    api.created(f"/v1/eucs/{euc['id']}/verifications",
                {"verified_on": "2010-09-01", "verifying_authority": "Embassy",
                 "country": "IQ", "item_ids": named})  # fmt: skip
    importing = ContractClient(client, create_agency_key(db, "Iraqi Customs", country="IQ")[1])
    importing.created(f"/v1/eucs/{euc['id']}/verifications",
                      {"verified_on": "2010-09-02", "verifying_authority": "Customs",
                       "country": "IQ", "item_ids": [open_item["id"]]})  # fmt: skip

    as_recorded = api.get(f"/v1/eucs/{euc['id']}").get_json()
    as_verifier = importing.get(f"/v1/eucs/{euc['id']}").get_json()
    as_another = other_api.get(f"/v1/eucs/{euc['id']}").get_json()
    usage = other_api.get(f"/v1/eucs/{euc['id']}/usage").get_json()

    # the recorder of the restricted export (and of the consent) sees every item
    assert [(record["item_ids"], record["withheld_items"])
            for record in (*as_recorded["consents"], *as_recorded["verifications"])] == [
        (named, 0), (named, 0), ([open_item["id"]], 0)]  # fmt: skip
    # the verifier sees every item it named, and of the others' records what another agency sees
    assert [(record["item_ids"], record["withheld_items"])
            for record in (*as_verifier["consents"], *as_verifier["verifications"])] == [
        ([open_item["id"]], 1), ([open_item["id"]], 1), ([open_item["id"]], 0)]  # fmt: skip
    for record in as_another["consents"]:
        assert (record["item_ids"], record["withheld_items"]) == ([open_item["id"]], 1)
    assert [(record["item_ids"], record["withheld_items"])
            for record in as_another["verifications"]] == [
        ([open_item["id"]], 1), ([open_item["id"]], 0)]  # fmt: skip
    assert covert_item["id"] not in str(as_another)
    # as usage shows them
    assert (usage["lines"][0]["item_ids"], usage["lines"][0]["withheld"]) == ([open_item["id"]], 1)
    # and what the consents cover, counted as the cap counts it for them: the item it may see
    assert usage["consents_cover"] == {"shipped": 1, "covered": 1, "over_cover": 0, "message": None}


# An administrator may withdraw another agency's revocation or consent ---------------------------


def test_an_administrator_withdraws_another_agencys_revocation_or_consent_audited(
    api: ContractClient, other_api: ContractClient, client: FlaskClient, registry: Any,
    parties: Any, euc: Any, db: Connection,
) -> None:  # fmt: skip
    # The agency that recorded a certificate may have left, or not act on its own error: what
    # everyone knows to be wrong then stood in every agency's findings for good.
    recorded = consent(api, euc)
    api.created(f"/v1/eucs/{euc['id']}/revocation",
                {"revoked_on": "2011-01-01", "reason": "forged"})  # fmt: skip
    admin = ContractClient(client, create_agency_key(db, "Registry Administration",
                                                     scopes=ADMIN_SCOPES)[1])  # fmt: skip
    revocation = f"/v1/eucs/{euc['id']}/revocation/withdrawal"
    reasons = {"reason": "the recording agency confirmed the error in writing, ref. 2024/17"}

    refused = [other_api.post(withdrawal_path(euc, recorded["id"]), reasons),
               other_api.post(revocation, reasons)]  # fmt: skip
    withdrawn_consent = admin.created(withdrawal_path(euc, recorded["id"]), reasons)
    withdrawn_revocation = admin.created(revocation, reasons)

    assert [response.status_code for response in refused] == [403, 403]
    assert withdrawn_consent["consents"][0]["withdrawal"]["recorded_by"]["name"] == (
        "Registry Administration"
    )
    assert withdrawn_revocation["revocation"] is None
    assert withdrawn_revocation["revocations"][0]["withdrawal"]["recorded_by"]["name"] == (
        "Registry Administration"
    )
    trail = db.execute(
        "SELECT details FROM audit_log WHERE route LIKE %s AND status = 201 ORDER BY id",
        ["%/withdrawal"],
    ).fetchall()
    override = {"recorded_by": {"id": str(api_agency(db)), "name": "National Tracing Office"},
                **reasons}  # fmt: skip
    assert [row["details"]["override"] for row in trail] == [override, override]


def test_an_administrators_withdrawal_replayed_is_audited_as_the_override_it_was(
    api: ContractClient, client: FlaskClient, euc: Any, db: Connection
) -> None:
    # A replay does not run the view, which named the override: the replay's entry had none, so
    # a filter on details.override missed the request that disclosed the withdrawal again.
    recorded = consent(api, euc)
    api.created(f"/v1/eucs/{euc['id']}/revocation",
                {"revoked_on": "2011-01-01", "reason": "forged"})  # fmt: skip
    admin = ContractClient(client, create_agency_key(db, "Registry Administration",
                                                     scopes=ADMIN_SCOPES)[1])  # fmt: skip
    reasons = {"reason": "the recording agency confirmed the error in writing, ref. 2024/17"}
    paths = (withdrawal_path(euc, recorded["id"]), f"/v1/eucs/{euc['id']}/revocation/withdrawal")

    answers = [admin.post(path, reasons, headers={"Idempotency-Key": f"override-{n}"})
               for n, path in enumerate(paths) for _ in range(2)]  # fmt: skip

    assert [answer.status_code for answer in answers] == [201] * 4
    replayed = [answer.headers.get("Idempotent-Replayed") for answer in answers]
    assert replayed == [None, "true", None, "true"]
    trail = db.execute(
        "SELECT details FROM audit_log WHERE route LIKE %s ORDER BY id", ["%/withdrawal"]
    ).fetchall()
    override = {"recorded_by": {"id": str(api_agency(db)), "name": "National Tracing Office"},
                **reasons}  # fmt: skip
    assert [row["details"].get("override") for row in trail] == [override] * 4
    assert [row["details"].get("idempotent_replay") for row in trail] == [None, True, None, True]


def test_a_replayed_withdrawal_by_the_recorder_is_no_override(
    api: ContractClient, euc: Any, db: Connection
) -> None:
    path = withdrawal_path(euc, consent(api, euc)["id"])

    answers = [api.post(path, WITHDRAW, headers={"Idempotency-Key": "mine-1"}) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [201, 201]

    trail = db.execute(
        "SELECT details FROM audit_log WHERE route LIKE %s ORDER BY id", ["%/withdrawal"]
    ).fetchall()
    assert [row["details"].get("idempotent_replay") for row in trail] == [None, True]
    assert all("override" not in row["details"] for row in trail)


def test_an_administrators_withdrawal_of_its_own_agencys_record_is_no_override(
    client: FlaskClient, registry: Any, parties: Any, db: Connection
) -> None:
    admin = ContractClient(client, create_agency_key(db, "National Tracing Office",
                                                     scopes=ADMIN_SCOPES)[1])  # fmt: skip
    euc = registry.euc(parties["exporter"], parties["army"])

    admin.created(withdrawal_path(euc, consent(admin, euc)["id"]), WITHDRAW)

    (entry,) = db.execute(
        "SELECT details FROM audit_log WHERE route LIKE %s", ["%/withdrawal"]
    ).fetchall()
    assert "override" not in entry["details"]


def api_agency(db: Connection) -> UUID:
    row = db.execute("SELECT id FROM agencies WHERE name = 'National Tracing Office'").fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def test_an_agency_cannot_name_an_item_only_another_agencys_restricted_export_shipped(
    api: ContractClient, client: FlaskClient, registry: Any, parties: Any, euc: Any,
    db: Connection,
) -> None:  # fmt: skip
    # The lists withhold a restricted export's items from other agencies; naming them one by one
    # in a verification told which the export held (201 for one it shipped, 409 for another),
    # and each hit stayed in the ledger. Such an item is now answered as one never shipped.
    (covert_item,) = ship(registry, parties, euc, 1, classification="RESTRICTED")
    never_shipped = registry.item()
    importing = ContractClient(client, create_agency_key(db, "Iraqi Customs", country="IQ")[1])
    path = f"/v1/eucs/{euc['id']}/verifications"
    seen = {"verified_on": "2010-09-02", "verifying_authority": "Customs", "country": "IQ"}

    probes = [importing.post(path, {**seen, "item_ids": [item["id"]]})
              for item in (covert_item, never_shipped)]  # fmt: skip
    covert_detail, never_detail = (probe.get_json()["detail"] for probe in probes)

    assert [probe.status_code for probe in probes] == [409, 409]
    assert covert_detail.replace(covert_item["id"], "X") == never_detail.replace(
        never_shipped["id"], "X"
    )
    assert importing.get(f"/v1/eucs/{euc['id']}").get_json()["verifications"] == []
    # its recorder names it
    assert api.post(path, {**seen, "item_ids": [covert_item["id"]]}).status_code == 201


def test_the_cap_on_consents_tells_nothing_of_another_agencys_restricted_events(
    api: ContractClient, other_api: ContractClient, registry: Any, parties: Any
) -> None:
    # The cap counted the items that any standing event under the certificate covers, and a
    # named item while any such event did: once the export the recorder saw was declared
    # erroneous, the answer told whether another agency's restricted event still held the item
    # under the certificate, which its chain withholds.
    declared = {"reason": "DID_NOT_OCCUR", "explanation": "shipped under another certificate"}

    def probe(covert: bool) -> Any:
        euc = registry.euc(parties["exporter"], parties["army"])
        (item,) = ship(registry, parties, euc, 1)
        ship(registry, parties, euc, 1)
        if covert:
            other_api.created("/v1/events", {
                "event_type": "IMPORT", "occurred_on": "2010-07-01", "country": "IQ",
                "item_ids": [item["id"]], "euc_id": euc["id"], "classification": "RESTRICTED",
                "to_party_id": parties["army"]["id"]})  # fmt: skip
        consent(api, euc, item_ids=[item["id"]])
        export = next(e for e in custody_of(api, item)["events"] if e.get("event_type") == "EXPORT")
        api.created(f"/v1/events/{export['id']}/error-declaration", declared)
        return api.post(f"/v1/eucs/{euc['id']}/consents", {**CONSENT, "quantity": 2})

    plain, beside_restricted = probe(covert=False), probe(covert=True)

    # the restricted import made it 409 (the cap: "already cover 1"), without it 400 (the
    # consent's own quantity: "only 1 item was shipped")
    assert plain.status_code == beside_restricted.status_code == 400
    assert plain.get_json()["detail"] == beside_restricted.get_json()["detail"]
    assert "only 1 item was shipped under this one" in plain.get_json()["detail"]
