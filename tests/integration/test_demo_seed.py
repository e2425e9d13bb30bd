"""`trace-registry seed --demo`: what it records, that each scenario's chain reads back as the
README will show it (every finding the contract names on some example, none but INFO on the clean
ones), and that it loads once, all or nothing."""

from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any
from uuid import UUID

import pytest
import yaml

from service.db import Connection
from service.domain import disclosure
from service.domain.inputs import (
    NewDeliveryVerification,
    NewEuc,
    NewEucLine,
    NewEvent,
    NewItem,
    NewParty,
    NewRevocation,
)
from service.domain.records import CustodyChain, CustodyEvent
from service.repository import agencies, chains, eucs, parties
from service.seed import demo, sipri, writer
from service.seed.demo import DemoLoad, ShownItem
from service.seed.plan import Plan, PlanError, Scenario
from tests.contract import ContractClient
from tests.paths import ROOT

FULL_EXTRACT = ROOT.parent / "shared" / "data" / "sipri-light-weapons-deliveries.csv"
LEDGER_TABLES = (
    "agencies", "parties", "items", "end_user_certificates", "euc_line_items", "custody_events",
    "custody_event_items", "event_error_declarations", "euc_revocations", "reexport_consents",
    "reexport_consent_items", "delivery_verifications", "delivery_verification_items",
    "party_verifications",
)  # fmt: skip
CLEAN = (Scenario.CLEAN_EXPORT, Scenario.CONSENTED_RETRANSFER)
# The findings each example is there to show (it may show more, as the rules read its chain).
SHOWS = {
    Scenario.LOST: {"REPORTED_LOST": "ALERT"},
    Scenario.STOLEN: {"REPORTED_STOLEN": "ALERT"},
    Scenario.RECOVERED: {"REPORTED_STOLEN": "INFO"},
    Scenario.SEIZED_ABROAD: {"SEIZED_OUTSIDE_END_USE_COUNTRY": "ALERT", "SEIZED": "WARNING"},
    Scenario.RETRANSFERRED: {"RETRANSFER_WITHOUT_CONSENT": "ALERT"},
    Scenario.PAST_THE_CONSENT: {"RETRANSFER_WITHOUT_CONSENT": "ALERT"},
    Scenario.EXPIRED_EUC: {"EUC_EXPIRED": "ALERT"},
    Scenario.BACKDATED_EUC: {"EUC_NOT_YET_ISSUED": "ALERT"},
    Scenario.REVOKED_EUC: {"EUC_REVOKED": "ALERT"},
    Scenario.OVER_SHIPPED: {"EUC_QUANTITY_EXCEEDED": "ALERT"},
    Scenario.WRONG_DESTINATION: {"DESTINATION_MISMATCH": "ALERT"},
    Scenario.BORROWED_EUC: {"EXPORTER_MISMATCH": "WARNING"},
    Scenario.WRONG_GOODS: {"EUC_LINE_MISMATCH": "ALERT"},
    Scenario.UNVERIFIED_DELIVERY: {"EUC_NOT_VERIFIED": "WARNING", "UNVERIFIED_LAST_HOLDER": "INFO"},
    Scenario.CUSTODY_GAP: {"CUSTODY_GAP": "WARNING"},
    Scenario.CONFLICTING_CUSTODY: {"CONFLICTING_CUSTODY": "ALERT", "SEIZED": "WARNING"},
}


@pytest.fixture
def loaded(db: Connection) -> DemoLoad:
    return demo.load_demo(db)


def chain_of(db: Connection, item_id: UUID) -> CustodyChain:
    chain = chains.chain(
        db, item_id, datetime.now(UTC).date(), verification_days=180, viewer=disclosure.EVERYONE
    )
    assert chain is not None
    return chain


def shown(result: DemoLoad, scenario: Scenario) -> ShownItem:
    (example,) = [e for e in result.examples if e.scenario is scenario]
    return example


def codes(chain: CustodyChain) -> dict[str, str]:
    """Each finding's code and its gravest severity on the chain."""
    found: dict[str, str] = {}
    for finding in reversed(chain.findings):  # the most severe come first
        found[finding.code] = finding.severity
    return found


def warnings_and_alerts(chain: CustodyChain) -> list[str]:
    return [f.code for f in chain.findings if f.severity in {"WARNING", "ALERT"}]


def contract_finding_codes() -> list[str]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    codes: list[str] = spec["components"]["schemas"]["FindingCode"]["enum"]
    return codes


def standing(chain: CustodyChain) -> list[CustodyEvent]:
    return [event for event in chain.events if event.stands]


def only(chain: CustodyChain, event_type: str) -> CustodyEvent:
    (event,) = [e for e in standing(chain) if e.event_type == event_type]
    return event


def table_counts(db: Connection) -> dict[str, int]:
    return {
        table: db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
        for table in LEDGER_TABLES
    }


# What the load records --------------------------------------------------------------------------


def test_load_records_hundreds_of_items_quickly(loaded: DemoLoad) -> None:
    assert not loaded.already_loaded
    assert 300 <= loaded.counts.items <= 1000
    assert loaded.counts.parties >= 50
    assert loaded.counts.eucs >= 30
    assert loaded.counts.events >= 200
    assert loaded.counts.declarations == 1
    assert loaded.sipri_deals >= 24
    assert loaded.seconds < 30


def test_every_item_has_a_chain_that_starts_with_its_manufacture(
    db: Connection, loaded: DemoLoad
) -> None:
    first_events = db.execute(
        """
        SELECT DISTINCT ON (i.id) i.id, e.event_type
        FROM items i
        LEFT JOIN custody_event_items ei ON ei.item_id = i.id
        LEFT JOIN custody_events e ON e.id = ei.event_id
        ORDER BY i.id, e.occurred_on
        """
    ).fetchall()
    assert len(first_events) == loaded.counts.items
    assert Counter(row["event_type"] for row in first_events) == {
        "MANUFACTURE": loaded.counts.items
    }


def test_items_cover_light_weapons_and_small_arms(db: Connection, loaded: DemoLoad) -> None:
    categories = {
        row["category"]: row["n"]
        for row in db.execute("SELECT category, count(*) AS n FROM items GROUP BY category")
    }
    for category in ("MANPADS", "ATGM", "MORTAR", "ARTILLERY", "PISTOL", "ASSAULT_RIFLE"):
        assert categories.get(category, 0) >= 20, category
    manufacturers = {row["manufacturer"] for row in db.execute("SELECT manufacturer FROM items")}
    assert {"FN Herstal", "Glock", "Beretta", "Heckler & Koch", "Izhmash", "Norinco"} <= (
        manufacturers
    )


def test_sipri_chains_follow_the_recorded_deliveries(db: Connection, loaded: DemoLoad) -> None:
    deals = sipri.deals()
    assert len(deals) == loaded.sipri_deals
    for deal in deals:
        rows = db.execute("SELECT id FROM items WHERE model = %s", [deal.designation]).fetchall()
        assert rows, deal
        exports = [check_sipri_chain(db, deal, row["id"]) for row in rows]
        (euc_id,) = {export.euc.id for export in exports if export.euc}
        euc = eucs.get(db, euc_id)
        assert euc is not None and euc.expires_on is not None
        assert euc.issuing_country == euc.destination_country == deal.recipient_code
        assert euc.non_reexport_clause
        assert euc.line_items[0].model == deal.designation
        assert euc.line_items[0].quantity == len(rows)
        assert all(euc.issued_on <= e.occurred_on <= euc.expires_on for e in exports), deal
        assert {item for v in euc.verifications for item in v.item_ids} == {r["id"] for r in rows}


def check_sipri_chain(db: Connection, deal: sipri.Deal, item_id: UUID) -> CustodyEvent:
    """Assert that the item's chain is the delivery's; returns its export."""
    chain = chain_of(db, item_id)
    assert [e.event_type for e in chain.events] == ["MANUFACTURE", "TRANSFER", "EXPORT", "IMPORT"]
    assert chain.status == "IN_SERVICE"
    export = only(chain, "EXPORT")
    assert (export.country, export.destination_country) == (
        deal.supplier_code,
        deal.recipient_code,
    )
    assert export.occurred_on.year in {d.year for d in deal.deliveries}
    assert f"SIPRI deal {deal.sipri_id}" in (export.notes or "")
    assert sipri.CREDIT_LINE in (export.notes or "")
    assert chain.current_holder is not None
    assert chain.current_holder.country == deal.recipient_code
    assert export.euc is not None
    # The lawful background: a break scenario never lands on a SIPRI delivery.
    assert warnings_and_alerts(chain) == [], deal
    return export


# The scenarios the README will curl -------------------------------------------------------------


def test_every_scenario_has_an_example(loaded: DemoLoad) -> None:
    assert [e.scenario for e in loaded.examples] == list(Scenario)


def test_each_scenario_reads_back_with_its_status(db: Connection, loaded: DemoLoad) -> None:
    statuses = {e.scenario: chain_of(db, e.item.id).status for e in loaded.examples}
    assert statuses == {
        Scenario.CLEAN_EXPORT: "IN_SERVICE",
        Scenario.CONSENTED_RETRANSFER: "IN_SERVICE",
        Scenario.PAST_THE_CONSENT: "IN_SERVICE",
        Scenario.LOST: "LOST",
        Scenario.STOLEN: "STOLEN",
        Scenario.RECOVERED: "RECOVERED",
        Scenario.SEIZED_ABROAD: "SEIZED",
        Scenario.RETRANSFERRED: "IN_SERVICE",
        Scenario.EXPIRED_EUC: "IN_SERVICE",
        Scenario.BACKDATED_EUC: "IN_SERVICE",
        Scenario.REVOKED_EUC: "IN_SERVICE",
        Scenario.OVER_SHIPPED: "IN_SERVICE",
        Scenario.WRONG_DESTINATION: "IN_SERVICE",
        Scenario.BORROWED_EUC: "IN_SERVICE",
        Scenario.WRONG_GOODS: "IN_SERVICE",
        Scenario.UNVERIFIED_DELIVERY: "IN_SERVICE",
        Scenario.CUSTODY_GAP: "IN_SERVICE",
        Scenario.CONFLICTING_CUSTODY: "SEIZED",
        Scenario.DESTROYED: "DESTROYED",
        Scenario.CORRECTED: "IN_SERVICE",
    }
    assert all(statuses[e.scenario] == e.status for e in loaded.examples)


def test_every_finding_has_an_example(db: Connection, loaded: DemoLoad) -> None:
    shown_codes = {code for e in loaded.examples for code in codes(chain_of(db, e.item.id))}
    # The demo's records are all open; tests/api/test_restrictions.py shows RESTRICTED_RECORDS.
    assert set(contract_finding_codes()) - {disclosure.RESTRICTED_RECORDS} <= shown_codes


def test_each_scenario_shows_its_findings(db: Connection, loaded: DemoLoad) -> None:
    for example in loaded.examples:
        found = codes(chain_of(db, example.item.id))
        wanted = SHOWS.get(example.scenario, {})
        assert {code: found.get(code) for code in wanted} == wanted, example.scenario


def test_clean_examples_carry_no_warning_or_alert(db: Connection, loaded: DemoLoad) -> None:
    for scenario in CLEAN:
        assert warnings_and_alerts(chain_of(db, shown(loaded, scenario).item.id)) == [], scenario


def test_clean_export_keeps_to_its_certificate(db: Connection, loaded: DemoLoad) -> None:
    chain = chain_of(db, shown(loaded, Scenario.CLEAN_EXPORT).item.id)
    export = only(chain, "EXPORT")
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.expires_on is not None
    assert euc.issued_on <= export.occurred_on <= euc.expires_on
    assert export.destination_country == euc.destination_country
    assert chain.current_holder is not None
    assert chain.current_holder.id == euc.end_user.id
    # A post-shipment check saw this very item with the end user, after it arrived.
    (verification,) = [v for v in euc.verifications if chain.item.id in v.item_ids]
    assert verification.verified_on > only(chain, "IMPORT").occurred_on
    assert verification.country == euc.destination_country
    assert chain.findings == ()


def test_consented_retransfer_goes_to_a_verified_new_end_user(
    db: Connection, loaded: DemoLoad
) -> None:
    chain = chain_of(db, shown(loaded, Scenario.CONSENTED_RETRANSFER).item.id)
    export, handed_on = only(chain, "EXPORT"), standing(chain)[-1]
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.non_reexport_clause
    assert handed_on.event_type == "TRANSFER"
    assert handed_on.from_party is not None and handed_on.from_party.id == euc.end_user.id
    assert handed_on.to_party is not None and handed_on.to_party.id != euc.end_user.id
    (consent,) = euc.consents
    assert consent.new_end_user_party_id == handed_on.to_party.id
    assert chain.item.id in consent.item_ids
    assert consent.granted_on < handed_on.occurred_on
    new_end_user = parties.get(db, handed_on.to_party.id)
    assert new_end_user is not None and new_end_user.verifications
    assert chain.findings == ()


def test_lost_item_leaves_its_holder_as_last_known(db: Connection, loaded: DemoLoad) -> None:
    chain = chain_of(db, shown(loaded, Scenario.LOST).item.id)
    *before, loss = standing(chain)
    assert loss.event_type == "LOSS"
    assert loss.from_party == before[-1].to_party
    assert chain.current_holder is None
    assert chain.last_known_holder == loss.from_party


def test_stolen_item_was_taken_from_its_holder(db: Connection, loaded: DemoLoad) -> None:
    chain = chain_of(db, shown(loaded, Scenario.STOLEN).item.id)
    *before, theft = standing(chain)
    assert theft.event_type == "THEFT"
    assert theft.from_party is not None and theft.from_party.kind == "PRIVATE_HOLDER"
    assert theft.from_party == before[-1].to_party
    assert chain.current_holder is None


def test_recovered_item_was_stolen_then_recovered_by_police(
    db: Connection, loaded: DemoLoad
) -> None:
    chain = chain_of(db, shown(loaded, Scenario.RECOVERED).item.id)
    assert [e.event_type for e in standing(chain)][-2:] == ["THEFT", "RECOVERY"]
    assert chain.current_holder is not None
    assert chain.current_holder.kind == "LAW_ENFORCEMENT"


def test_seized_item_turned_up_outside_its_end_use_country(
    db: Connection, loaded: DemoLoad
) -> None:
    example = shown(loaded, Scenario.SEIZED_ABROAD)
    chain = chain_of(db, example.item.id)
    export, seizure = only(chain, "EXPORT"), standing(chain)[-1]
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.non_reexport_clause
    assert seizure.event_type == "SEIZURE"
    assert seizure.country not in {euc.destination_country, export.country}
    # Nothing recorded between the import into the end-use country and the seizure abroad.
    assert [e.event_type for e in standing(chain)][-2:] == ["IMPORT", "SEIZURE"]
    # The Cyrillic marking is found by a serial typed in Latin letters.
    assert example.item.serial_number.startswith("АК")
    assert example.item.serial_normalised.startswith("AK")


def test_expired_certificate_was_used_for_an_export(db: Connection, loaded: DemoLoad) -> None:
    export = only(chain_of(db, shown(loaded, Scenario.EXPIRED_EUC).item.id), "EXPORT")
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.expires_on is not None
    assert export.occurred_on > euc.expires_on


def test_a_certificate_issued_after_the_export(db: Connection, loaded: DemoLoad) -> None:
    export = only(chain_of(db, shown(loaded, Scenario.BACKDATED_EUC).item.id), "EXPORT")
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None
    assert export.occurred_on < euc.issued_on


def test_export_went_elsewhere_than_its_certificate_says(db: Connection, loaded: DemoLoad) -> None:
    chain = chain_of(db, shown(loaded, Scenario.WRONG_DESTINATION).item.id)
    export = only(chain, "EXPORT")
    assert export.euc is not None
    assert export.destination_country != export.euc.destination_country
    assert only(chain, "IMPORT").country == export.destination_country


def test_retransferred_item_left_the_country_without_consent(
    db: Connection, loaded: DemoLoad
) -> None:
    chain = chain_of(db, shown(loaded, Scenario.RETRANSFERRED).item.id)
    export, sold = only(chain, "EXPORT"), standing(chain)[-1]
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.non_reexport_clause and euc.consents == ()
    assert sold.event_type == "TRANSFER"
    assert sold.from_party is not None and sold.from_party.id == euc.end_user.id
    assert sold.destination_country not in {None, euc.destination_country}


def test_revoked_certificate_was_used_for_an_export(db: Connection, loaded: DemoLoad) -> None:
    export = only(chain_of(db, shown(loaded, Scenario.REVOKED_EUC).item.id), "EXPORT")
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.revocation is not None
    assert euc.issued_on <= euc.revocation.revoked_on <= export.occurred_on


def test_over_shipped_item_came_after_the_line_was_used_up(
    db: Connection, loaded: DemoLoad
) -> None:
    item = shown(loaded, Scenario.OVER_SHIPPED).item
    export = only(chain_of(db, item.id), "EXPORT")
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None
    (line,) = eucs.usage(db, euc, disclosure.EVERYONE).lines
    assert line.remaining < 0
    earlier = db.execute(
        "SELECT sum(item_count) AS n FROM custody_events "
        "WHERE euc_id = %s AND event_type = 'EXPORT' AND occurred_on < %s",
        [euc.id, export.occurred_on],
    ).fetchone()["n"]
    assert earlier == line.authorised


def test_unverified_delivery_was_never_checked(db: Connection, loaded: DemoLoad) -> None:
    chain = chain_of(db, shown(loaded, Scenario.UNVERIFIED_DELIVERY).item.id)
    export = only(chain, "EXPORT")
    assert export.euc is not None
    euc = eucs.get(db, export.euc.id)
    assert euc is not None and euc.verifications == ()
    assert export.destination_country == euc.destination_country
    assert chain.current_holder is not None and chain.current_holder.id == euc.end_user.id
    assert (datetime.now(UTC).date() - export.occurred_on).days > 180


def test_conflicting_custody_is_a_seizure_after_destruction(
    db: Connection, loaded: DemoLoad
) -> None:
    events = standing(chain_of(db, shown(loaded, Scenario.CONFLICTING_CUSTODY).item.id))
    assert [e.event_type for e in events][-2:] == ["DESTRUCTION", "SEIZURE"]


def test_custody_gap_is_a_sender_that_never_held_the_item(db: Connection, loaded: DemoLoad) -> None:
    events = standing(chain_of(db, shown(loaded, Scenario.CUSTODY_GAP).item.id))
    gaps = [
        (before, after)
        for before, after in itertools.pairwise(events)
        if after.from_party is not None and after.from_party != before.to_party
    ]
    assert len(gaps) == 1
    before, after = gaps[0]
    assert (before.to_party, after.from_party) != (None, None)
    assert after.event_type == "TRANSFER"


def test_destroyed_item_has_no_holder(db: Connection, loaded: DemoLoad) -> None:
    chain = chain_of(db, shown(loaded, Scenario.DESTROYED).item.id)
    assert standing(chain)[-1].event_type == "DESTRUCTION"
    assert chain.current_holder is None


def test_corrected_record_keeps_both_events_and_follows_the_correction(
    db: Connection, loaded: DemoLoad
) -> None:
    chain = chain_of(db, shown(loaded, Scenario.CORRECTED).item.id)
    (wrong,) = [e for e in chain.events if not e.stands]
    assert wrong.error_declaration is not None
    assert wrong.error_declaration.reason == "INCORRECT_DATA"
    (correction_id,) = wrong.error_declaration.corrective_event_ids
    (correction,) = [e for e in chain.events if e.id == correction_id]
    assert correction.stands
    assert chain.current_holder == correction.to_party
    assert wrong.to_party != correction.to_party


def test_custody_route_shows_a_scenario_chain(api: ContractClient, loaded: DemoLoad) -> None:
    stolen = shown(loaded, Scenario.STOLEN).item
    response = api.get(f"/v1/items/{stolen.id}/custody")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "STOLEN"
    assert body["events"][-1]["event_type"] == "THEFT"


def test_cyrillic_serial_is_found_with_latin_letters(api: ContractClient, loaded: DemoLoad) -> None:
    seized = shown(loaded, Scenario.SEIZED_ABROAD).item
    response = api.get(f"/v1/items?serial_number={seized.serial_normalised}")
    assert response.status_code == 200
    assert [found["id"] for found in response.get_json()["items"]] == [str(seized.id)]


# Once, and all or nothing -----------------------------------------------------------------------


def test_second_load_changes_nothing(db: Connection, loaded: DemoLoad) -> None:
    before = table_counts(db)
    again = demo.load_demo(db)
    assert again.already_loaded
    assert table_counts(db) == before
    assert again.counts == loaded.counts
    assert [(e.scenario, e.item.id, e.findings) for e in again.examples] == [
        (e.scenario, e.item.id, e.findings) for e in loaded.examples
    ]
    assert "already loaded" in demo.summary(again)


def test_an_agency_created_for_a_key_does_not_count_as_loaded(db: Connection) -> None:
    # A newcomer may create a key for the demo's agency before seeding.
    agencies.ensure_agency(db, demo.AGENCY_NAME)
    assert not demo.load_demo(db).already_loaded


@pytest.mark.parametrize(
    ("module", "function", "fails_at"),
    [(writer.events, "insert", 100), (writer.parties, "add_verification", 1)],
    ids=["an event", "the last record"],
)
def test_a_failed_load_leaves_nothing_behind(
    db: Connection, monkeypatch: pytest.MonkeyPatch, module: Any, function: str, fails_at: int
) -> None:
    calls = 0
    real = getattr(module, function)

    def failing(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == fails_at:
            raise RuntimeError("the database went away")
        return real(*args)

    monkeypatch.setattr(module, function, failing)
    empty = table_counts(db)
    with pytest.raises(RuntimeError):
        demo.load_demo(db)
    assert calls == fails_at
    assert table_counts(db) == empty


# The summary ------------------------------------------------------------------------------------


def test_summary_credits_sipri_and_lists_items_to_curl(loaded: DemoLoad) -> None:
    text = demo.summary(loaded)
    assert "Information from the SIPRI Arms Transfers Database" in text
    assert "synthetic" in text
    assert f"{loaded.counts.items} items" in text
    for example in loaded.examples:
        line = next(line for line in text.splitlines() if str(example.item.id) in line)
        assert example.item.serial_number in line
        assert example.scenario in line
        assert example.status in line
        found = line.partition("findings: ")[2]
        assert all(f"{f.code} ({f.severity})" in found for f in example.findings), line
        assert found == "none" or example.findings
    seized = shown(loaded, Scenario.SEIZED_ABROAD)
    assert f"serial_number={seized.item.serial_normalised}" in text
    assert f"-d '{json.dumps(demo.trace_request(seized))}' {demo.API}/v1/traces" in text


def test_summary_names_the_api_where_it_is_served(loaded: DemoLoad) -> None:
    # The curl commands named http://127.0.0.1:8000 wherever the service ran.
    text = demo.summary(loaded, "http://10.20.0.7:9000")
    curls = [line for line in text.splitlines() if "curl " in line]

    assert len(curls) == 3
    assert all("http://10.20.0.7:9000/v1/" in line for line in curls)
    assert demo.API not in text


def test_the_summary_trace_finds_the_seized_rifle_abroad(
    api: ContractClient, loaded: DemoLoad
) -> None:
    seized = shown(loaded, Scenario.SEIZED_ABROAD)
    response = api.post("/v1/traces", demo.trace_request(seized))
    assert response.status_code == 201
    best = response.get_json()["candidates"][0]
    assert best["item"]["id"] == str(seized.item.id)
    found = {f["code"]: f["severity"] for f in best["findings"]}
    assert found["SEIZED_OUTSIDE_END_USE_COUNTRY"] == "ALERT"


def test_load_returns_the_summary(db: Connection) -> None:
    text = demo.load(db)
    assert text.startswith("Demo registry loaded")
    assert demo.load(db).startswith("Demo registry was already loaded")


# The plan and the data it is built on -----------------------------------------------------------


def test_plan_is_deterministic() -> None:
    first, _ = demo.build_plan(date(2026, 1, 1))
    second, _ = demo.build_plan(date(2026, 1, 1))
    assert first.items == second.items
    assert first.parties == second.parties
    assert first.eucs == second.eucs
    assert first.events == second.events
    assert first.revocations == second.revocations
    assert first.consents == second.consents
    assert first.delivery_verifications == second.delivery_verifications
    assert first.party_verifications == second.party_verifications


def test_plan_refuses_events_that_break_the_rules() -> None:
    plan = Plan(date(2026, 1, 1))
    holder = plan.party("Holder", "PRIVATE_HOLDER", "CZ")
    other = plan.party("Other", "PRIVATE_HOLDER", "CZ")
    item = plan.item(NewItem("Maker", "Model", "PISTOL", "S-1"))
    plan.event(NewEvent("MANUFACTURE", date(2020, 1, 1), "CZ", (item,), to_party_id=holder))
    with pytest.raises(PlanError, match="to_party_id"):
        plan.event(
            NewEvent(
                "THEFT", date(2021, 1, 1), "CZ", (item,), from_party_id=holder, to_party_id=other
            )
        )
    with pytest.raises(PlanError, match="already has an event"):
        plan.event(NewEvent("LOSS", date(2020, 1, 1), "CZ", (item,), from_party_id=holder))
    with pytest.raises(PlanError, match="before it happens"):
        plan.event(NewEvent("LOSS", date(2027, 1, 1), "CZ", (item,), from_party_id=holder))
    assert plan.parties[holder] == NewParty(
        "Holder", "PRIVATE_HOLDER", "CZ", registration_number="DEMO-CZ-0001"
    )


def test_plan_refuses_records_after_the_fact_that_break_the_rules() -> None:
    plan = Plan(date(2026, 1, 1))
    maker = plan.party("Maker", "MANUFACTURER", "CZ")
    police = plan.party("Police", "LAW_ENFORCEMENT", "SK")
    line = NewEucLine(1, "Pistols", 1)
    euc = plan.euc(
        NewEuc("SK/1", "SK", "Ministry", date(2020, 1, 1), police, "SK", "Police", True, (line,))
    )
    item = plan.item(NewItem("Maker", "Model", "PISTOL", "S-1"))
    plan.event(NewEvent("MANUFACTURE", date(2020, 2, 1), "CZ", (item,), to_party_id=maker))
    with pytest.raises(PlanError, match="before it was issued"):
        plan.revocation(euc, NewRevocation(date(2019, 12, 31), "no"))
    with pytest.raises(PlanError, match="after 2026-01-01"):
        plan.revocation(euc, NewRevocation(date(2026, 1, 2), "not yet"))
    with pytest.raises(PlanError, match="not shipped under it"):
        plan.delivery_verification(
            euc, NewDeliveryVerification(date(2021, 1, 1), "Embassy", "SK", item_ids=(item,))
        )
    plan.revocation(euc, NewRevocation(date(2021, 1, 1), "withdrawn"))
    with pytest.raises(PlanError, match="already revoked"):
        plan.revocation(euc, NewRevocation(date(2021, 2, 1), "again"))


def test_every_sipri_country_is_a_registry_country(db: Connection) -> None:
    known = agencies.known_countries(db)
    assert set(sipri.COUNTRY_CODES.values()) <= set(known)
    assert len(set(sipri.COUNTRY_CODES.values())) == len(sipri.COUNTRY_CODES)


def test_packaged_extract_carries_the_credit_line() -> None:
    data = resources.files("service.seed") / "data"
    first_line = (data / sipri.DATA_FILE).read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("# Information from the SIPRI Arms Transfers Database")
    readme = (data / "README.md").read_text(encoding="utf-8")
    assert "Information from the SIPRI Arms Transfers Database" in readme
    assert "synthetic" in readme


@pytest.mark.skipif(not FULL_EXTRACT.exists(), reason="the full SIPRI extract is not at hand")
def test_packaged_extract_is_the_selection_from_the_full_extract() -> None:
    with FULL_EXTRACT.open(encoding="utf-8", newline="") as source:
        selected = sipri.select_deals(list(csv.DictReader(source)))
    packaged = sipri.read_rows(
        (resources.files("service.seed") / "data" / sipri.DATA_FILE).read_text(encoding="utf-8")
    )
    assert packaged == selected
    assert all(sipri.recordable(row) for row in packaged)


def test_the_demo_alerts_are_on_the_alert_list_and_match_the_ledger(
    db: Connection, loaded: DemoLoad
) -> None:
    from service import alerts

    listed = {row["item_id"]: row for row in db.execute("SELECT * FROM item_alerts")}
    stolen = shown(loaded, Scenario.STOLEN).item.id
    seized = shown(loaded, Scenario.SEIZED_ABROAD).item.id

    assert listed[stolen]["status"] == "STOLEN"
    assert "SEIZED_OUTSIDE_END_USE_COUNTRY" in listed[seized]["codes"]
    assert shown(loaded, Scenario.CLEAN_EXPORT).item.id not in listed
    rebuilt = alerts.rebuild(db, datetime.now(UTC).date(), 180, write=False)
    assert rebuilt.differences == ()
