"""A re-export consent that gives a quantity and names no items covers that many items of its
certificate: the first to need it, in the order the moves were made
(service/domain/consent_shares.py). Before, a consent for one rifle covered every rifle of the
certificate handed to its new end user, and the second, third and hundredth re-transfer read as
consented.

The story: Zastava Arms exports rifles to the Iraqi Army under a certificate that forbids
re-export; the exporting state consents, on 2015-01-01, to the army handing some of them on to
the Iraqi Federal Police."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from service import alerts, consent_shares
from service.config import Settings
from service.db import Connection, connect
from service.domain.consent_shares import share_out
from service.domain.inputs import NewConsent, NewEvent
from service.recording import Recorder
from service.repository import consent_shares as consent_share_store
from tests.api.test_imports import ndjson, send
from tests.conftest import second_waits_for_first
from tests.contract import ContractClient

GRANTED_ON = "2015-01-01"
SPENT_ONE = (
    f"The consent of {GRANTED_ON} that would cover it allowed 1 item, taken by another item of "
    "the certificate that moved under it first."
)


class Rifles:
    def __init__(self, api: ContractClient, registry: Any) -> None:
        self.api = api
        self.registry = registry
        self.exporter = registry.party(name="Zastava Arms", kind="EXPORTER", country="RS")
        self.army = registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ")
        self.police = registry.party(name="Iraqi Federal Police", kind="LAW_ENFORCEMENT",
                                     country="IQ")  # fmt: skip
        self.euc = registry.euc(self.exporter, self.army)
        self.items = [registry.item(manufacturer="Zastava Arms", model="M70") for _ in range(3)]
        registry.event("EXPORT", self.items, occurred_on="2011-05-02", country="RS",
                       destination_country="IQ", euc_id=self.euc["id"], euc_line_number=1,
                       from_party_id=self.exporter["id"],
                       to_party_id=self.army["id"])  # fmt: skip

    def consent(self, quantity: int | None, **fields: Any) -> dict[str, Any]:
        body = {"granted_on": GRANTED_ON, "granted_by": "Serbian Ministry of Trade",
                "new_end_user_party_id": self.police["id"], "new_destination_country": "IQ",
                **({"quantity": quantity} if quantity else {}), **fields}  # fmt: skip
        recorded = self.api.created(f"/v1/eucs/{self.euc['id']}/consents", body)
        return max(recorded["consents"], key=lambda c: c["recorded_at"])  # type: ignore[no-any-return]

    def handed_on(self, item: dict[str, Any], on: str, **fields: Any) -> dict[str, Any]:
        body = {"country": "IQ", "from_party_id": self.army["id"],
                "to_party_id": self.police["id"], **fields}  # fmt: skip
        return self.registry.event("TRANSFER", [item], occurred_on=on, **body)  # type: ignore[no-any-return]

    def findings(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        chain = self.api.get(f"/v1/items/{item['id']}/custody").get_json()
        return [f for f in chain["findings"] if f["code"] == "RETRANSFER_WITHOUT_CONSENT"]

    def listed(self) -> dict[str, list[str]]:
        """The alert list (as stored): each listed item's id and codes."""
        entries = self.api.get("/v1/alerts").get_json()["items"]
        return {entry["item"]["id"]: entry["codes"] for entry in entries}


@pytest.fixture
def rifles(api: ContractClient, registry: Any) -> Rifles:
    return Rifles(api, registry)


def unconsented(rifles: Rifles, db: Connection) -> list[str]:
    """The rifles whose hand-over no consent covers, as chains read them; the alert list stored
    says the same as the ledger derived again."""
    today = datetime.now(UTC).date()
    assert alerts.rebuild(db, today, 180, write=False).differences == ()
    return [item["id"] for item in rifles.items if rifles.findings(item)]


def test_a_consent_for_one_rifle_covers_the_first_handed_on_not_the_second(
    rifles: Rifles, db: Connection
) -> None:
    consent = rifles.consent(1)
    first, second, third = rifles.items
    rifles.handed_on(first, "2015-02-01")
    moved = rifles.handed_on(second, "2015-03-01")

    (finding,) = rifles.findings(second)

    assert rifles.findings(first) == []
    assert finding["severity"] == "ALERT"  # the certificate forbids re-export
    assert finding["message"] == (
        "Transfer on 2015-03-01 moved the item away from its authorised end user, exported "
        f"under {rifles.euc['certificate_number']} (which forbids re-export); no consent to "
        f"re-transfer covers it. {SPENT_ONE}"
    )
    assert {ref["id"] for ref in finding["references"]} == {
        moved["id"],
        rifles.euc["id"],
        consent["id"],
        finding["references"][1]["id"],
    }
    assert "RETRANSFER_WITHOUT_CONSENT" in rifles.listed()[second["id"]]
    assert first["id"] not in rifles.listed()
    assert unconsented(rifles, db) == [second["id"]]
    assert third["id"] not in rifles.listed()


def test_the_rifle_handed_on_first_takes_the_consent_whatever_was_recorded_first(
    rifles: Rifles, db: Connection
) -> None:
    rifles.consent(1)
    first, second, _ = rifles.items
    rifles.handed_on(second, "2015-03-01")
    assert unconsented(rifles, db) == []

    # Recorded later, made earlier: the first rifle takes the consent, and the second, which
    # this record does not name, is derived again and listed.
    rifles.handed_on(first, "2015-02-01")

    assert unconsented(rifles, db) == [second["id"]]
    assert "RETRANSFER_WITHOUT_CONSENT" in rifles.listed()[second["id"]]
    assert first["id"] not in rifles.listed()


def test_a_hand_over_declared_erroneous_gives_the_consent_back(
    rifles: Rifles, api: ContractClient, db: Connection
) -> None:
    rifles.consent(1)
    first, second, _ = rifles.items
    mistaken = rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-03-01")
    assert unconsented(rifles, db) == [second["id"]]

    api.created(f"/v1/events/{mistaken['id']}/error-declaration",
                {"reason": "INCORRECT_DATA",
                 "explanation": "the rifle never left the army"})  # fmt: skip

    assert unconsented(rifles, db) == []
    assert second["id"] not in rifles.listed()


def test_a_rifle_moving_on_within_the_new_end_user_takes_no_more_of_the_quantity(
    rifles: Rifles, db: Connection
) -> None:
    rifles.consent(2)
    first, second, third = rifles.items
    rifles.handed_on(first, "2015-02-01")
    armoury = rifles.registry.party(name="Federal Police armoury, Baghdad", kind="LAW_ENFORCEMENT",
                                    country="IQ")  # fmt: skip
    rifles.handed_on(first, "2015-02-10", from_party_id=rifles.police["id"],
                     to_party_id=armoury["id"], owner_party_id=rifles.police["id"])  # fmt: skip
    rifles.handed_on(second, "2015-03-01")
    rifles.handed_on(third, "2015-04-01")

    assert unconsented(rifles, db) == [third["id"]]
    (finding,) = rifles.findings(third)
    assert finding["message"].endswith(
        f"The consent of {GRANTED_ON} that would cover it allowed 2 items, taken by other items "
        "of the certificate that moved under it first."
    )


def test_two_consents_share_their_quantities_out_and_a_third_rifle_is_said_to_exceed_both(
    rifles: Rifles, db: Connection
) -> None:
    rifles.consent(1)
    rifles.consent(1, granted_on="2015-01-20", document_reference="RS/RX/2015/2")
    for item, on in zip(rifles.items, ("2015-02-01", "2015-03-01", "2015-04-01"), strict=True):
        rifles.handed_on(item, on)

    assert unconsented(rifles, db) == [rifles.items[2]["id"]]
    (finding,) = rifles.findings(rifles.items[2])
    assert finding["message"].endswith(
        "The 2 consents that would cover it, of 2015-01-01 and 2015-01-20, allowed 2 items, "
        "taken by other items of the certificate that moved under them first."
    )


def test_a_consent_with_no_quantity_or_naming_its_rifles_is_shared_with_none(
    rifles: Rifles, db: Connection
) -> None:
    rifles.consent(None)
    for item, on in zip(rifles.items, ("2015-02-01", "2015-03-01", "2015-04-01"), strict=True):
        rifles.handed_on(item, on)
    assert unconsented(rifles, db) == []

    # A consent that names its rifle covers it whoever moved first.
    other = Rifles(rifles.api, rifles.registry)
    other.consent(1, item_ids=[other.items[2]["id"]])
    other.handed_on(other.items[0], "2015-02-01")
    other.handed_on(other.items[2], "2015-04-01")
    assert [item["id"] for item in other.items if other.findings(item)] == [other.items[0]["id"]]
    assert other.findings(other.items[0])[0]["message"].endswith("no consent to re-transfer "
                                                                "covers it.")  # fmt: skip


def test_a_withdrawn_consent_covers_nothing_and_is_said_withdrawn_where_it_covered(
    rifles: Rifles, api: ContractClient, db: Connection
) -> None:
    # It keeps the share it had: the first rifle's finding says the consent that covered it was
    # withdrawn; the second's, which it never covered, says nothing of it (nor of its quantity).
    consent = rifles.consent(1)
    first, second, _ = rifles.items
    rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-03-01")

    api.created(f"/v1/eucs/{rifles.euc['id']}/consents/{consent['id']}/withdrawal",
                {"reason": "recorded against the wrong certificate"})  # fmt: skip

    assert unconsented(rifles, db) == [first["id"], second["id"]]
    (covered,) = rifles.findings(first)
    assert covered["message"].endswith(
        "The consent of 2015-01-01 that covered it was withdrawn as recorded in error."
    )
    (never,) = rifles.findings(second)
    assert never["message"].endswith("no consent to re-transfer covers it.")


def certificate_file(count: int) -> list[dict[str, Any]]:
    """The records of a file: Zastava Arms, the Iraqi Army and Police, `count` rifles (refs
    I-1, I-2, ...) and their export to the army under a certificate forbidding re-export."""
    parties = [
        {"record_type": "party", "ref": "P-ZASTAVA", "name": "Zastava Arms", "kind": "EXPORTER",
         "country": "RS"},
        {"record_type": "party", "ref": "P-ARMY", "name": "Iraqi Army", "kind": "ARMED_FORCES",
         "country": "IQ"},
        {"record_type": "party", "ref": "P-POLICE", "name": "Iraqi Federal Police",
         "kind": "LAW_ENFORCEMENT", "country": "IQ"},
    ]  # fmt: skip
    rifles = [{"record_type": "item", "ref": f"I-{n}", "manufacturer": "Zastava Arms",
               "model": "M70", "category": "RIFLE", "serial_number": f"M70-{n:04}"}
              for n in range(1, count + 1)]  # fmt: skip
    certificate = {
        "record_type": "euc", "ref": "C-1", "certificate_number": "IQ-2012-44",
        "issuing_country": "IQ", "issuing_authority": "Ministry of Defence",
        "issued_on": "2012-03-01", "exporter_party_ref": "P-ZASTAVA",
        "end_user_party_ref": "P-ARMY", "destination_country": "IQ", "stated_end_use": "Army",
        "non_reexport_clause": True,
        "line_items": [{"description": "Rifles", "category": "RIFLE", "quantity": count}],
    }  # fmt: skip
    export = {"record_type": "event", "ref": "E-1", "event_type": "EXPORT",
              "occurred_on": "2012-05-02", "country": "RS", "destination_country": "IQ",
              "from_party_ref": "P-ZASTAVA", "to_party_ref": "P-ARMY", "euc_ref": "C-1",
              "euc_line_number": 1,
              "item_refs": [f"I-{n}" for n in range(1, count + 1)]}  # fmt: skip
    return [*parties, *rifles, certificate, export]


def test_an_imported_hand_over_made_earlier_takes_the_consent_from_a_stored_one(
    api: ContractClient, db: Connection
) -> None:
    """A file that hands a rifle on before a stored hand-over takes the consent: the rifle the
    stored one moved, which the file does not name, is derived again and listed."""
    assert send(api, ndjson(*certificate_file(2))).status_code == 201
    ids = {row["serial_number"]: str(row["id"])
           for row in db.execute("SELECT id, serial_number FROM items")}  # fmt: skip
    police = db.execute("SELECT id FROM parties WHERE name = 'Iraqi Federal Police'").fetchone()
    euc = db.execute("SELECT id FROM end_user_certificates").fetchone()
    api.created(f"/v1/eucs/{euc['id']}/consents",
                {"granted_on": GRANTED_ON, "granted_by": "Serbian Ministry of Trade",
                 "new_end_user_party_id": str(police["id"]), "new_destination_country": "IQ",
                 "quantity": 1})  # fmt: skip
    army = db.execute("SELECT id FROM parties WHERE name = 'Iraqi Army'").fetchone()
    api.created("/v1/events", {"event_type": "TRANSFER", "occurred_on": "2015-03-01",
                               "country": "IQ", "item_ids": [ids["M70-0002"]],
                               "from_party_id": str(army["id"]),
                               "to_party_id": str(police["id"])})  # fmt: skip
    assert ids["M70-0002"] not in api.get("/v1/alerts").get_json()["items"]

    earlier = {"record_type": "event", "ref": "E-2", "event_type": "TRANSFER",
               "occurred_on": "2015-02-01", "country": "IQ", "from_party_ref": "P-ARMY",
               "to_party_ref": "P-POLICE", "item_refs": ["I-1"]}  # fmt: skip
    assert send(api, ndjson(earlier)).status_code == 201

    listed = {entry["item"]["id"]: entry["codes"]
              for entry in api.get("/v1/alerts").get_json()["items"]}  # fmt: skip
    assert set(listed) == {ids["M70-0002"]}
    assert "RETRANSFER_WITHOUT_CONSENT" in listed[ids["M70-0002"]]
    today = datetime.now(UTC).date()
    assert alerts.rebuild(db, today, 180, write=False).differences == ()


# The share-out against the findings rules, and under writers at once ----------------------------
# Found by a review of its first version, which counted every move to the consent's end user (one
# downstream of a breach, or judged under a later certificate), gave the earliest-granted consent
# first, and read which certificates share out a consent before taking any lock.


def differences(db: Connection) -> tuple[object, ...]:
    today = datetime.now(UTC).date()
    return tuple(alerts.rebuild(db, today, 180, write=False).differences)


def as_migrated_to_18(db: Connection) -> None:
    """What migration 0018 leaves: no consent shared out, no share stored."""
    db.execute("DELETE FROM consent_shares")
    db.execute("DELETE FROM consent_share_outs")


def flagged(rifles: Rifles) -> list[str]:
    """The rifles whose hand-over no consent covers."""
    return [item["id"] for item in rifles.items if rifles.findings(item)]


# Semantics


def test_a_move_downstream_of_a_breach_takes_no_share_of_the_consent(
    rifles: Rifles, db: Connection
) -> None:
    """The first rifle is diverted to a militia (a breach, flagged), which later hands it to the
    police: the rules read that second move as downstream of the breach, not as a consented
    re-transfer. It took the consent for one all the same, and the second rifle, handed to the
    police lawfully, reads as re-transferred without consent."""
    rifles.consent(1)
    first, second, _ = rifles.items
    militia = rifles.registry.party(name="Militia", kind="OTHER", country="IQ")
    rifles.handed_on(first, "2015-01-15", to_party_id=militia["id"])  # the breach
    rifles.handed_on(first, "2015-02-01", from_party_id=militia["id"])  # militia -> police
    rifles.handed_on(second, "2015-03-01")  # army -> police, lawful under the consent

    assert flagged(rifles) == [first["id"]]


def test_two_consents_are_shared_so_that_both_moves_they_allow_are_covered(
    rifles: Rifles, db: Connection
) -> None:
    """The exporting state consents to one rifle going to anyone in Iraq, then to one going to
    the police. The first rifle goes to the police, the second to the ministry: each consent
    covers one of them. The share-out gives the police's rifle the earlier (any-party) consent,
    and the ministry's rifle, which only that one covers, reads as re-transferred without
    consent."""
    rifles.consent(1, new_end_user_party_id=None)
    rifles.consent(1, granted_on="2015-01-10", document_reference="RS/RX/2015/2")
    first, second, _ = rifles.items
    ministry = rifles.registry.party(name="Ministry of Interior", kind="GOVERNMENT",
                                     country="IQ")  # fmt: skip
    rifles.handed_on(first, "2015-02-01")  # to the police
    rifles.handed_on(second, "2015-03-01", to_party_id=ministry["id"])

    assert flagged(rifles) == []


def test_a_move_judged_under_a_later_certificate_takes_no_share(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    """The first rifle is re-exported to Jordan's army under a Jordanian certificate before the
    consent (a breach of the Iraqi one, flagged); in Jordan, years later, the army hands it to
    the Jordanian police: the rules judge that move under the Jordanian certificate. The Iraqi
    consent for one rifle to anyone in Jordan went to it, and the second rifle, re-exported
    under the consent, reads as re-exported without one."""
    rifles = Rifles(api, registry)
    jo_army, jo_police, jordanian = jordanian_certificate(rifles, registry)
    rifles.consent(1, new_end_user_party_id=None, new_destination_country="JO")
    first, second, _ = rifles.items
    for item, on in ((first, "2014-06-01"), (second, "2015-03-01")):
        registry.event("EXPORT", [item], occurred_on=on, country="IQ", destination_country="JO",
                       euc_id=jordanian["id"], euc_line_number=1,
                       from_party_id=rifles.army["id"], to_party_id=jo_army["id"])  # fmt: skip
    registry.event("TRANSFER", [first], occurred_on="2015-02-01", country="JO",
                   from_party_id=jo_army["id"], to_party_id=jo_police["id"],
                   owner_party_id=jo_army["id"])  # fmt: skip

    assert flagged(rifles) == [first["id"]]


# Writers at once


def _recorder(conn: Connection, agency: Any) -> Recorder:
    return Recorder(conn, agency.id, 180)


def _handed_on(rifles: Rifles, item: dict[str, Any], on: date) -> NewEvent:
    return NewEvent("TRANSFER", on, "IQ", (UUID(item["id"]),),
                    from_party_id=UUID(rifles.army["id"]),
                    to_party_id=UUID(rifles.police["id"]))  # fmt: skip


def _consent_for_one(rifles: Rifles) -> NewConsent:
    return NewConsent(date(2015, 1, 1), "Serbian Ministry of Trade", "IQ",
                      new_end_user_party_id=UUID(rifles.police["id"]), quantity=1)  # fmt: skip


def test_two_hand_overs_at_once_under_a_consent_for_one_see_each_other(
    rifles: Rifles, settings: Settings, agency_key: Any, db: Connection
) -> None:
    """Both lock the certificate (the consent stands before either); the second waits, then
    shares the consent out again over both moves."""
    rifles.consent(1)
    first, second, _ = rifles.items
    agency = agency_key[0]
    second_waits_for_first(
        settings,
        lambda conn: _recorder(conn, agency).event(_handed_on(rifles, second, date(2015, 3, 1))),
        lambda conn: _recorder(conn, agency).event(_handed_on(rifles, first, date(2015, 2, 1))),
    )
    assert differences(db) == ()
    assert flagged(rifles) == [second["id"]]


def test_a_hand_over_recorded_while_the_consent_is_recorded_leaves_no_item_stale(
    rifles: Rifles, settings: Settings, agency_key: Any, db: Connection
) -> None:
    """The second rifle was handed on before any consent. The consent for one is recorded
    (shared out: the second takes it) while the first rifle's earlier hand-over is recorded on
    another connection, which waits for the certificate the rifle was shipped under, then
    shares it out again: the first rifle takes the consent, and the second is listed. (Before,
    the hand-over asked which certificates share out a consent before taking any lock, saw
    none, and derived its own rifle only, leaving the second listed as consented.)"""
    first, second, _ = rifles.items
    rifles.handed_on(second, "2015-03-01")
    agency = agency_key[0]
    euc_id = UUID(rifles.euc["id"])
    second_waits_for_first(
        settings,
        lambda conn: _recorder(conn, agency).consent(euc_id, _consent_for_one(rifles)),
        lambda conn: _recorder(conn, agency).event(_handed_on(rifles, first, date(2015, 2, 1))),
    )
    assert flagged(rifles) == [second["id"]]
    assert second["id"] in rifles.listed()
    assert differences(db) == ()


def test_a_hand_over_recorded_while_the_rifle_is_shipped_leaves_no_item_stale(
    rifles: Rifles, settings: Settings, agency_key: Any, db: Connection
) -> None:
    """A fourth rifle's export under the certificate and its hand-over to the police are
    recorded at once (an importing agency's record of the hand-over, say). The hand-over waits
    for the export (both write the rifle's events), then sees the certificate it was shipped
    under: the fourth rifle, handed on before the second, takes the consent from it, and the
    second is listed."""
    rifles.consent(1)
    _, second, _ = rifles.items
    rifles.handed_on(second, "2015-03-01")
    fourth = rifles.registry.item(manufacturer="Zastava Arms", model="M70")
    agency = agency_key[0]
    export = NewEvent("EXPORT", date(2011, 5, 2), "RS", (UUID(fourth["id"]),),
                      destination_country="IQ", euc_id=UUID(rifles.euc["id"]),
                      euc_line_number=1, from_party_id=UUID(rifles.exporter["id"]),
                      to_party_id=UUID(rifles.army["id"]))  # fmt: skip
    second_waits_for_first(
        settings,
        lambda conn: _recorder(conn, agency).event(export),
        lambda conn: _recorder(conn, agency).event(_handed_on(rifles, fourth, date(2015, 2, 1))),
    )
    assert rifles.findings(fourth) == []
    assert rifles.findings(second) != []
    assert second["id"] in rifles.listed()
    assert differences(db) == ()


def test_an_import_loaded_while_the_consent_is_recorded_leaves_no_item_stale(
    rifles: Rifles,
    other_api: ContractClient,
    settings: Settings,
    agency_key: Any,
    db: Connection,
) -> None:
    """As with a request: the import (a partner's registry, which links the stored rifle and
    police) waits for the certificate the rifle was shipped under while the consent is
    recorded, then shares it out again, and lists the rifle its move took the consent from."""
    first, second, _ = rifles.items
    police = rifles.registry.party(name="Iraqi Federal Police HQ", kind="LAW_ENFORCEMENT",
                                   country="IQ", registration_number="IQ-FP-1")  # fmt: skip
    rifles.handed_on(second, "2015-03-01", to_party_id=police["id"])
    agency = agency_key[0]
    euc_id = UUID(rifles.euc["id"])
    consent = NewConsent(date(2015, 1, 1), "Serbian Ministry of Trade", "IQ",
                         new_end_user_party_id=UUID(police["id"]), quantity=1)  # fmt: skip
    serial = db.execute("SELECT serial_number FROM items WHERE id = %s",
                        (first["id"],)).fetchone()["serial_number"]  # fmt: skip
    _imported_while_held(
        settings,
        lambda one: _recorder(one, agency).consent(euc_id, consent),
        other_api,
        _partners_hand_over(serial),
    )
    linked = [r["id"] for r in db.execute("SELECT id FROM items WHERE serial_number = %s",
                                          (serial,))]  # fmt: skip
    assert linked == [UUID(first["id"])]  # the file's rifle is the stored one
    assert rifles.findings(first) == []  # the file's hand-over, the first, took the consent
    assert flagged(rifles) == [second["id"]]
    assert second["id"] in rifles.listed()
    assert differences(db) == ()


def test_an_import_loaded_while_the_rifle_is_shipped_leaves_no_item_stale(
    rifles: Rifles,
    other_api: ContractClient,
    settings: Settings,
    agency_key: Any,
    db: Connection,
) -> None:
    """A partner's import hands a fourth rifle to the police while the rifle's export under
    the certificate is being recorded: the import waits for the writer of the rifle's events
    (alerts.lock_item_writes), then sees the certificate it was shipped under, whose consent
    its earlier hand-over takes from the second rifle, which is listed."""
    _, second, _ = rifles.items
    police = rifles.registry.party(name="Iraqi Federal Police HQ", kind="LAW_ENFORCEMENT",
                                   country="IQ", registration_number="IQ-FP-1")  # fmt: skip
    rifles.consent(1, new_end_user_party_id=police["id"])
    rifles.handed_on(second, "2015-03-01", to_party_id=police["id"])
    fourth = rifles.registry.item(manufacturer="Zastava Arms", model="M70")
    agency = agency_key[0]
    export = NewEvent("EXPORT", date(2011, 5, 2), "RS", (UUID(fourth["id"]),),
                      destination_country="IQ", euc_id=UUID(rifles.euc["id"]),
                      euc_line_number=1, from_party_id=UUID(rifles.exporter["id"]),
                      to_party_id=UUID(rifles.army["id"]))  # fmt: skip
    body = _partners_hand_over(fourth["serial_number"])
    _imported_while_held(
        settings, lambda one: _recorder(one, agency).event(export), other_api, body
    )
    assert rifles.findings(fourth) == []  # its hand-over, the earlier, took the consent
    assert rifles.findings(second) != []
    assert second["id"] in rifles.listed()
    assert differences(db) == ()


def _partners_hand_over(serial: str) -> bytes:
    """A partner's file: its army hands the rifle of this serial to the Federal Police HQ on
    2015-02-01 (the police stored by registration number, the rifle by serial)."""
    return ndjson(
        {"record_type": "party", "ref": "P-ARMY", "name": "Iraqi Army (partner)",
         "kind": "ARMED_FORCES", "country": "IQ"},
        {"record_type": "party", "ref": "P-POLICE", "name": "Iraqi Federal Police HQ",
         "kind": "LAW_ENFORCEMENT", "country": "IQ", "registration_number": "IQ-FP-1"},
        {"record_type": "item", "ref": "I-1", "manufacturer": "Zastava Arms", "model": "M70",
         "category": "RIFLE", "serial_number": serial},
        {"record_type": "event", "ref": "E-1", "event_type": "TRANSFER",
         "occurred_on": "2015-02-01", "country": "IQ", "from_party_ref": "P-ARMY",
         "to_party_ref": "P-POLICE", "item_refs": ["I-1"]},
    )  # fmt: skip


def _imported_while_held(
    settings: Settings, hold: Callable[[Connection], object], api: ContractClient, body: bytes
) -> None:
    """Import the file while `hold` runs in a transaction left open: the import must come to
    wait for a lock it took, and is stored (201) once it commits."""
    answers: list[Any] = []
    with connect(settings) as one, connect(settings) as watcher, one.transaction():
        hold(one)
        thread = threading.Thread(target=lambda: answers.append(send(api, body)))
        thread.start()
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and not watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE %s = ANY (pg_blocking_pids(pid))",
                (one.info.backend_pid,),
            ).fetchone()
        ):
            time.sleep(0.02)
        assert thread.is_alive(), _errors(api, answers)
    thread.join(timeout=20)
    assert answers and answers[0].status_code == 201, answers[0].get_json() if answers else None


def _errors(api: ContractClient, answers: list[Any]) -> object:
    if not answers:
        return None
    detail = answers[0].get_json()["detail"]
    return api.get("/v1/imports/" + detail.rsplit("/", 1)[1]).get_json().get("errors")


# A second review: corrections, consents never shared out, a day's order, the demo, writes
# that change nothing


def test_a_correction_of_a_hand_over_keeps_its_place_in_the_share_out(
    rifles: Rifles, registry: Any, db: Connection
) -> None:
    """Two rifles are handed to the police the same day; the first recorded takes the consent
    for one. The first record is then corrected (a document reference added, same day, same
    parties): the correction takes the place of the act it corrects (corrected_acts, as a
    line's exports are counted), so the first rifle keeps the consent. Ordered by the
    correction's own recording time, the consent went to the second rifle and the first, whose
    hand-over nobody changed, was flagged RETRANSFER_WITHOUT_CONSENT."""
    rifles.consent(1)
    first, second, _ = rifles.items
    mistaken = rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-02-01")
    assert flagged(rifles) == [second["id"]]

    correction = {"event_id": mistaken["id"], "reason": "INCORRECT_DATA",
                  "explanation": "the transfer order's number was left out"}  # fmt: skip
    rifles.handed_on(first, "2015-02-01", document_reference="IQ/MOI/2015/7", corrects=correction)

    assert differences(db) == ()
    assert [f["message"] for f in rifles.findings(first)] == []
    assert flagged(rifles) == [second["id"]]


def test_a_move_under_a_consent_never_shared_out_lists_the_rifles_it_uncovers(
    rifles: Rifles, db: Connection
) -> None:
    """A database migrated to version 18 has consents with no row in consent_share_outs: each
    covers every item (chain_entries), and the alert list agrees. README: "until the rebuild
    (or a new fact about its certificate) shares it out". The new fact here is a third rifle's
    move: the consent is shared out (the first rifle takes it), so the second rifle's chain
    reads RETRANSFER_WITHOUT_CONSENT, and its alert entry must say so, though it never had a
    stored share to lose (it was left as it was)."""
    rifles.consent(1)
    first, second, third = rifles.items
    rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-03-01")
    # What migration 0018 leaves: no share-out stored, and the alert list of version 17.
    as_migrated_to_18(db)
    today = datetime.now(UTC).date()
    alerts.refresh(db, [UUID(i["id"]) for i in rifles.items], today, 180)
    db.commit()
    assert second["id"] not in rifles.listed()

    rifles.registry.event(
        "TRANSFER",
        [third],
        occurred_on="2015-04-01",
        country="IQ",
        from_party_id=rifles.army["id"],
        to_party_id=rifles.exporter["id"],
    )  # unrelated to the consent

    assert flagged(rifles) == [second["id"], third["id"]]
    assert second["id"] in rifles.listed()
    assert differences(db) == ()


def test_a_recovery_that_reorders_the_day_shares_the_consent_out_again(
    rifles: Rifles, db: Connection
) -> None:
    """An event that is no move, names no certificate and corrects nothing shared nothing out
    again ("findings.steps judges nothing else"). But a day's events are read in the order
    custody passed (custody.in_chain_order), which a recovery changes. The
    first rifle, lost by the army, is handed by the army to the police (taking the consent for
    one) and by the police to a militia on one day: read in recording order, army -> police ->
    militia. A recovery by the police that day, recorded after, starts the day: recovery,
    police -> militia (a breach), army -> police (downstream of it, needing no consent). The
    first rifle no longer takes the consent and the second rifle, handed on later, does (the
    stored share-out gave it to the first)."""
    rifles.consent(1)
    first, second, _ = rifles.items
    militia = rifles.registry.party(name="Militia", kind="OTHER", country="IQ")
    rifles.registry.event("LOSS", [first], occurred_on="2014-06-01", country="IQ",
                          from_party_id=rifles.army["id"])  # fmt: skip
    rifles.handed_on(first, "2015-02-01")  # army -> police
    rifles.handed_on(first, "2015-02-01", from_party_id=rifles.police["id"],
                     to_party_id=militia["id"])  # fmt: skip
    rifles.handed_on(second, "2015-03-01")
    assert differences(db) == ()
    assert second["id"] in flagged(rifles)

    rifles.registry.event("RECOVERY", [first], occurred_on="2015-02-01", country="IQ",
                          to_party_id=rifles.police["id"])  # fmt: skip

    assert differences(db) == ()


def test_the_demo_load_shares_out_its_own_certificates_only(rifles: Rifles, db: Connection) -> None:
    """The demo load shared out every certificate in the database, taking none of their locks
    and refreshing only the demo's items: on a database migrated to version 18 (no consent
    shared out yet) the stored registry's second rifle lost its cover and stayed off the
    alert list."""
    from service.seed import demo

    consent = rifles.consent(1)
    first, second, _ = rifles.items
    rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-03-01")
    as_migrated_to_18(db)
    db.commit()
    assert second["id"] in rifles.listed()  # listed by the share-out deleted above
    today = datetime.now(UTC).date()
    alerts.refresh(db, [UUID(i["id"]) for i in rifles.items], today, 180)  # as version 17 left it
    db.commit()
    assert second["id"] not in rifles.listed()

    demo.load_demo(db)

    # The demo shares out its own certificates' consents only: this one is left as the
    # migration left it, and `alerts rebuild --check` says so.
    marked = db.execute(
        "SELECT count(*) AS n FROM consent_share_outs WHERE consent_id = %s", [consent["id"]]
    ).fetchone()
    assert marked is not None and marked["n"] == 0
    assert f"consent {consent['id']}: not shared out yet" in differences(db)
    assert second["id"] not in rifles.listed()


def _share_rows(db: Connection) -> list[tuple[Any, ...]]:
    """Each stored share and share-out, with the transaction that wrote it."""
    return [tuple(row.values()) for row in db.execute(
        "SELECT consent_id, item_id, xmin::text AS x FROM consent_shares "
        "UNION ALL SELECT consent_id, NULL, xmin::text FROM consent_share_outs ORDER BY 1, 2"
    )]  # fmt: skip


def test_a_write_that_changes_no_share_leaves_the_stored_shares_alone(
    rifles: Rifles, api: ContractClient, db: Connection
) -> None:
    """Every share of the certificate (and its share-out marks) was deleted and inserted again
    on every write under it, changed or not: with a consent of 1,600 items, every event POST
    about any rifle of the certificate rewrote 1,600 rows (WAL, dead tuples, autovacuum on a
    table the chains read), under the certificate's lock; a delivery verification, which
    cannot change the share-out, did it too. Only what changed is written now."""
    rifles.consent(2)
    first, second, third = rifles.items
    rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-03-01")
    db.commit()
    before = _share_rows(db)
    assert len(before) == 3

    api.created(f"/v1/eucs/{rifles.euc['id']}/verifications",
                {"verified_on": "2011-09-01", "verifying_authority": "Embassy",
                 "country": "IQ"})  # fmt: skip
    armoury = rifles.registry.party(name="Army armoury, Taji", kind="ARMED_FORCES", country="IQ")
    rifles.registry.event(
        "TRANSFER",
        [third],
        occurred_on="2016-01-01",
        country="IQ",
        from_party_id=rifles.army["id"],
        to_party_id=armoury["id"],
        owner_party_id=rifles.army["id"],
    )  # within the army: no share

    db.commit()
    assert _share_rows(db) == before


def test_an_export_declared_erroneous_gives_its_rifles_share_back(
    rifles: Rifles, registry: Any, api: ContractClient, db: Connection
) -> None:
    rifles.consent(1)
    first, second, _ = rifles.items
    fourth = registry.item(manufacturer="Zastava Arms", model="M70")
    export = registry.event("EXPORT", [fourth], occurred_on="2011-06-01", country="RS",
                            destination_country="IQ", euc_id=rifles.euc["id"],
                            euc_line_number=1, from_party_id=rifles.exporter["id"],
                            to_party_id=rifles.army["id"])  # fmt: skip
    rifles.handed_on(fourth, "2015-02-01")
    rifles.handed_on(first, "2015-03-01")
    assert flagged(rifles) == [first["id"]]
    api.created(f"/v1/events/{export['id']}/error-declaration",
                {"reason": "DID_NOT_OCCUR", "explanation": "wrong certificate"})  # fmt: skip
    assert differences(db) == ()
    assert flagged(rifles) == []
    assert second["id"] not in rifles.listed()


def jordanian_certificate(
    rifles: Rifles, registry: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The Jordanian army and police, and a Jordanian certificate of the Iraqi army's (the
    exporter) for the Jordanian army."""
    jo_army = registry.party(name="Jordan Armed Forces", kind="ARMED_FORCES", country="JO")
    jo_police = registry.party(name="Jordan Public Security", kind="LAW_ENFORCEMENT",
                               country="JO")  # fmt: skip
    jordanian = registry.euc(rifles.army, jo_army, issuing_country="JO",
                             destination_country="JO", expires_on="2030-01-01")  # fmt: skip
    return jo_army, jo_police, jordanian


def re_exported_to_jordan(
    rifles: Rifles, registry: Any, api: ContractClient
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first two rifles re-exported to the Jordanian army under a Jordanian certificate,
    with a consent of the Iraqi one for two; the Jordanian certificate has a consent for one to
    the Jordanian police. The Jordanian army and police."""
    jo_army, jo_police, jordanian = jordanian_certificate(rifles, registry)
    rifles.consent(2, new_end_user_party_id=jo_army["id"], new_destination_country="JO")
    first, second, _ = rifles.items
    for item, on in ((first, "2015-02-01"), (second, "2015-02-02")):
        registry.event("EXPORT", [item], occurred_on=on, country="IQ", destination_country="JO",
                       euc_id=jordanian["id"], euc_line_number=1,
                       from_party_id=rifles.army["id"], to_party_id=jo_army["id"])  # fmt: skip
    api.created(f"/v1/eucs/{jordanian['id']}/consents",
                {"granted_on": "2015-01-01", "granted_by": "Iraq", "quantity": 1,
                 "new_end_user_party_id": jo_police["id"],
                 "new_destination_country": "JO"})  # fmt: skip
    return jo_army, jo_police


def test_a_move_of_a_rifle_shipped_under_two_certificates_shares_both_out_again(
    rifles: Rifles, registry: Any, api: ContractClient, db: Connection
) -> None:
    """The first rifle is re-exported to Jordan under a Jordanian certificate with a consent
    of the Iraqi one; both certificates have a consent for one. A correction of its Jordanian
    hand-over changes the Jordanian share-out; the Iraqi one is derived too."""
    jo_army, jo_police = re_exported_to_jordan(rifles, registry, api)
    first, second, _ = rifles.items
    mistaken = registry.event(
        "TRANSFER",
        [second],
        occurred_on="2015-06-01",
        country="JO",
        from_party_id=jo_army["id"],
        to_party_id=jo_police["id"],
    )
    registry.event("TRANSFER", [first], occurred_on="2015-07-01", country="JO",
                   from_party_id=jo_army["id"], to_party_id=jo_police["id"])  # fmt: skip
    assert differences(db) == ()
    assert flagged(rifles) == [first["id"]]
    registry.event("TRANSFER", [second], occurred_on="2015-08-01", country="JO",
                   from_party_id=jo_army["id"], to_party_id=jo_police["id"],
                   corrects={"event_id": mistaken["id"], "reason": "INCORRECT_DATA",
                             "explanation": "wrong date"})  # fmt: skip
    assert differences(db) == ()
    assert flagged(rifles) == [second["id"]]


def test_a_revocation_between_two_hand_overs_gives_the_share_to_neither_after_it(
    rifles: Rifles, api: ContractClient, db: Connection
) -> None:
    rifles.consent(1)
    first, second, _ = rifles.items
    rifles.handed_on(first, "2015-06-01")
    rifles.handed_on(second, "2015-03-01")
    assert flagged(rifles) == [first["id"]]
    api.created(f"/v1/eucs/{rifles.euc['id']}/revocation",
                {"revoked_on": "2015-02-01", "reason": "diversion suspected"})  # fmt: skip
    assert differences(db) == ()
    assert sorted(flagged(rifles)) == sorted([first["id"], second["id"]])


def test_a_consent_granted_after_a_hand_over_is_kept_for_a_later_one(
    rifles: Rifles, db: Connection
) -> None:
    first, second, _ = rifles.items
    rifles.handed_on(first, "2014-12-01")
    rifles.handed_on(second, "2015-03-01")
    rifles.consent(1)
    assert differences(db) == ()
    assert flagged(rifles) == [first["id"]]


# A third review: what a reader from whom a move is withheld reads, lapsed and withdrawn
# consents, the wording of several


def _withheld_probe(
    api: ContractClient, other_api: ContractClient, registry: Any, lawful: bool
) -> tuple[list[dict[str, Any]], Rifles]:
    """The National Tracing Office records a certificate, a consent for one rifle to the police,
    and a hand-over of a rifle from a forwarder to the police. Between, the Border Police
    recorded a RESTRICTED hand-over of the rifle from the army to that forwarder: holding it for
    the army (lawful) or on its own (a breach). The tracing office may not see which."""
    rifles = Rifles(api, registry)
    rifles.consent(1)
    first = rifles.items[0]
    forwarder = registry.party(name="Basra Logistics", kind="OTHER", country="IQ")
    other_api.created("/v1/events", {
        "event_type": "TRANSFER", "occurred_on": "2015-01-15", "country": "IQ",
        "item_ids": [first["id"]], "classification": "RESTRICTED",
        "from_party_id": rifles.army["id"], "to_party_id": forwarder["id"],
        **({"owner_party_id": rifles.army["id"]} if lawful else {})})  # fmt: skip
    rifles.handed_on(first, "2015-02-01", from_party_id=forwarder["id"])
    return rifles.findings(first), rifles


def test_a_withheld_move_lawful_or_a_breach_reads_alike_to_the_reader(
    api: ContractClient, other_api: ContractClient, registry: Any, db: Connection
) -> None:
    """findings.steps judges what follows a withheld breach against what was authorised before
    it, so that a finding's presence does not tell the reader whether the withheld move was
    lawful. The share-out reads the full chain: after a withheld breach the reader's own
    hand-over to the police takes no share. It read to the reader as re-transferred with no
    consent covering it, while the consent for one rifle was taken by nobody; after a withheld
    lawful move it takes the share and reads as consented. A consent with room left now covers
    a move that took no share (with every record read, such a move needed none), so both read
    alike, as they did before version 18."""
    after_lawful, _ = _withheld_probe(api, other_api, registry, lawful=True)
    after_breach, rifles = _withheld_probe(api, other_api, registry, lawful=False)

    today = datetime.now(UTC).date()
    assert alerts.rebuild(db, today, 180, write=False).differences == ()
    assert after_lawful == []
    # The shared alert list (derived as every agency sees the chain) says the same: it listed
    # the rifle after the withheld breach, and not after the withheld lawful move.
    listed = rifles.listed().get(rifles.items[0]["id"], [])
    assert (listed, [f["message"] for f in after_breach]) == ([], [])


def _revoked_then_handed_on(api: ContractClient, registry: Any, quantity: int | None) -> str:
    rifles = Rifles(api, registry)
    rifles.consent(quantity)
    api.created(f"/v1/eucs/{rifles.euc['id']}/revocation",
                {"revoked_on": "2015-02-01", "reason": "diversion suspected"})  # fmt: skip
    rifles.handed_on(rifles.items[0], "2015-03-01")
    (finding,) = rifles.findings(rifles.items[0])
    return finding["message"]  # type: ignore[no-any-return]


def test_a_consent_of_a_quantity_is_said_to_lapse_with_the_revocation_as_one_of_none(
    api: ContractClient, registry: Any
) -> None:
    """A move after the certificate's revocation that a consent would cover says the consent
    lapsed (findings._lapsed_said). A consent of a quantity, shared out, had covers_item False
    for every item that took no share (none can, once revoked) and spent False: the
    investigator read a standing consent for the move on the certificate and a finding that
    said nothing of it."""
    lapsed = ("The consent of 2015-01-01 that would cover it lapsed with the certificate's "
              "revocation on 2015-02-01.")  # fmt: skip
    assert _revoked_then_handed_on(api, registry, None).endswith(lapsed)
    assert _revoked_then_handed_on(api, registry, 1).endswith(lapsed)


def test_a_withdrawn_consent_is_not_said_to_have_covered_a_rifle_it_never_covered(
    rifles: Rifles, api: ContractClient
) -> None:
    """Consents for one rifle each, of 2015-01-01 and 2015-01-10: the first rifle takes the
    first, the second the second, the third neither. The second is withdrawn: the third rifle's
    finding said the withdrawn consent "covered it" (it covered the second rifle only; a
    withdrawn consent now keeps the shares it had)."""
    rifles.consent(1)
    later = rifles.consent(1, granted_on="2015-01-10", document_reference="RS/RX/2015/2")
    first, second, third = rifles.items
    for item, on in ((first, "2015-02-01"), (second, "2015-03-01"), (third, "2015-04-01")):
        rifles.handed_on(item, on)
    api.created(f"/v1/eucs/{rifles.euc['id']}/consents/{later['id']}/withdrawal",
                {"reason": "recorded against the wrong certificate"})  # fmt: skip

    (after,) = rifles.findings(third)
    assert "2015-01-10 that covered it was withdrawn" not in after["message"]


def test_two_consents_spent_are_said_to_have_been_moved_under_them(rifles: Rifles) -> None:
    """_spent_said, for several consents, said "... taken by other items of the certificate
    that moved under it first": "it" is the move; the other items moved under them, the
    consents."""
    rifles.consent(1)
    rifles.consent(1, granted_on="2015-01-10", document_reference="RS/RX/2015/2")
    first, second, third = rifles.items
    for item, on in ((first, "2015-02-01"), (second, "2015-03-01"), (third, "2015-04-01")):
        rifles.handed_on(item, on)
    (finding,) = rifles.findings(third)
    assert finding["message"].endswith(
        "The 2 consents that would cover it, of 2015-01-01 and 2015-01-10, allowed 2 items, "
        "taken by other items of the certificate that moved under them first.")  # fmt: skip


def test_a_move_made_after_every_other_shares_out_alone_as_the_whole_share_out_would(
    rifles: Rifles, registry: Any, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A move dated after every other move of the items that may share the consents is the
    last in their order: it takes a share or not, and no other share changes, so only its own
    items' chains are read (consent_shares.Move; a move under a certificate of 1,600 rifles
    read all 1,600 chains, 331 ms). Each step below is checked against the whole share-out
    (`alerts rebuild --check`), and is made without it; a move dated before others is shared
    out whole."""
    iraq = registry.party(name="Iraqi Ministry of Interior", kind="GOVERNMENT", country="IQ")
    station = registry.party(name="Police station, Basra", kind="LAW_ENFORCEMENT", country="IQ")
    militia = registry.party(
        name="Militia, Deir ez-Zor", kind="NON_STATE_ARMED_GROUP", country="SY"
    )
    rifles.items += [registry.item(manufacturer="Zastava Arms", model="M70") for _ in range(3)]
    registry.event("EXPORT", rifles.items[3:], occurred_on="2011-05-02", country="RS",
                   destination_country="IQ", euc_id=rifles.euc["id"], euc_line_number=1,
                   from_party_id=rifles.exporter["id"],
                   to_party_id=rifles.army["id"])  # fmt: skip
    rifles.consent(2)  # for the police
    rifles.consent(1, new_end_user_party_id=None, granted_on="2015-01-05")  # for anyone in IQ
    first, second, third, fourth, fifth, sixth = rifles.items
    whole = []
    monkeypatch.setattr(
        consent_shares, "share_out", lambda *args: whole.append(args) or share_out(*args)
    )

    def step(items: list[dict[str, Any]], on: str, **fields: Any) -> int:
        """Record the move; how many times it shared a certificate out whole."""
        before = len(whole)
        rifles.registry.event("TRANSFER", items, occurred_on=on, **{
            "country": "IQ", "from_party_id": rifles.army["id"],
            "to_party_id": rifles.police["id"], **fields})  # fmt: skip
        made = len(whole) - before
        assert differences(db) == ()
        return made

    assert [
        step([first], "2015-02-01"),  # the police's first
        step([first], "2015-02-02", from_party_id=rifles.police["id"], to_party_id=station["id"],
             owner_party_id=rifles.police["id"]),  # on within the police: keeps its share
        step([second, third], "2015-03-01"),  # the police's second, and the one for anyone
        step([fourth], "2015-04-01"),  # none left
        step([fifth], "2015-05-01", country="IQ", destination_country="SY",
             to_party_id=militia["id"]),  # smuggled out: no consent reaches it
        step([fifth], "2015-06-01", country="SY", destination_country="IQ",
             from_party_id=militia["id"], to_party_id=iraq["id"]),  # downstream of the breach
    ] == [0] * 6  # fmt: skip
    assert flagged(rifles) == [fourth["id"], fifth["id"]]

    # Made before the others, recorded after them: shared out whole. The sixth rifle takes the
    # police's first share, the first rifle its second; the second and third, handed on
    # together, take the one for anyone in Iraq (the lower id first) and nothing.
    assert step([sixth], "2015-01-20") == 1
    higher = max(second, third, key=lambda item: UUID(item["id"]))
    assert flagged(rifles) == sorted(
        [higher["id"], fourth["id"], fifth["id"]], key=[i["id"] for i in rifles.items].index
    )


@pytest.mark.parametrize("seed", [7, 11])
def test_moves_made_one_after_another_share_out_as_the_whole_share_out_would(
    rifles: Rifles, registry: Any, db: Connection, seed: int
) -> None:
    """Twenty-four moves of six rifles among the army, the police (consents for 2 and, for
    anyone in Iraq, 1), a police station, a ministry and a militia across the border, each a
    day after the last and chosen at random (the seed fixed): after each, the shares stored (each
    move shared out from the shares before it) are those the whole share-out derives."""
    chooser = random.Random(seed)
    station = registry.party(name="Police station, Basra", kind="LAW_ENFORCEMENT", country="IQ")
    ministry = registry.party(name="Iraqi Ministry of Interior", kind="GOVERNMENT", country="IQ")
    militia = registry.party(name="Militia, Deir ez-Zor", kind="NON_STATE_ARMED_GROUP",
                             country="SY")  # fmt: skip
    rifles.items += [registry.item(manufacturer="Zastava Arms", model="M70") for _ in range(3)]
    registry.event("EXPORT", rifles.items[3:], occurred_on="2011-05-02", country="RS",
                   destination_country="IQ", euc_id=rifles.euc["id"], euc_line_number=1,
                   from_party_id=rifles.exporter["id"],
                   to_party_id=rifles.army["id"])  # fmt: skip
    rifles.consent(2)
    rifles.consent(1, new_end_user_party_id=None, granted_on="2015-01-05")
    keepers = [rifles.army, rifles.police, station, ministry, militia]
    held_by = {item["id"]: rifles.army for item in rifles.items}
    for day in range(24):
        first = chooser.choice(rifles.items)
        holder = held_by[first["id"]]
        alongside = [i for i in rifles.items if i is not first and held_by[i["id"]] is holder]
        moving = [first, *chooser.sample(alongside, min(len(alongside), chooser.choice([0, 0, 1])))]
        to = chooser.choice([k for k in keepers if k is not holder])
        for item in moving:
            held_by[item["id"]] = to
        registry.event("TRANSFER", moving, occurred_on=str(date(2015, 2, 1) + timedelta(day)),
                       country=holder["country"], destination_country=to["country"],
                       from_party_id=holder["id"], to_party_id=to["id"],
                       **({"owner_party_id": rifles.police["id"]} if to is station
                          else {}))  # fmt: skip
        assert differences(db) == (), f"after move {day}"
    assert unconsented(rifles, db) == flagged(rifles)


def test_a_move_of_rifles_no_consent_may_reach_shares_nothing_out(
    rifles: Rifles, registry: Any, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rifle handed on within the army, backdated among the hand-overs to the police: none of
    its moves goes where a consent allows, so the share-out, which reads only the items that
    moved there, is as it was, and neither it nor the day of the others' last move is read (it
    took two queries over every item of the certificate)."""
    rifles.consent(1)
    first, second, third = rifles.items
    rifles.handed_on(first, "2015-02-01")
    rifles.handed_on(second, "2015-04-01")
    armoury = registry.party(name="Army armoury, Taji", kind="ARMED_FORCES", country="IQ")
    asked: list[object] = []
    monkeypatch.setattr(consent_shares, "share_out", lambda *args: asked.append(args))
    monkeypatch.setattr(
        consent_share_store, "last_other_move_day", lambda *args: asked.append(args)
    )

    registry.event("TRANSFER", [third], occurred_on="2015-03-01", country="IQ",
                   from_party_id=rifles.army["id"], to_party_id=armoury["id"],
                   owner_party_id=rifles.army["id"])  # fmt: skip

    assert asked == []
    monkeypatch.undo()
    assert differences(db) == ()
    assert flagged(rifles) == [second["id"]]
