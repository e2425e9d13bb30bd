"""`trace-registry seed --demo`: a small, realistic registry for a first trace.

Missiles, mortars and guns follow real state-to-state deliveries from the SIPRI Arms Transfers
Database (see `service.seed.sipri`), each delivery verified after shipment, so that their chains
carry no warning or alert. Pistols and rifles of well-known manufacturers go to police, armed
forces, dealers and private holders; one is handed on with the exporter's consent, and the chains
of the others break so that every diversion finding shows on at least one named example (lost,
stolen, seized abroad, sold on abroad, exported on an expired, revoked, exceeded or mismatched
certificate, never verified, a custody gap, seized after its destruction, a corrected record).
Every item, serial, party record, certificate, consent, verification and event is synthetic.

The load is one transaction, recorded by one agency, and runs once: a second run finds that
agency's records and only reports them.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from service import alerts, consent_shares
from service.config import Settings
from service.db import Connection
from service.domain.records import CustodyChain, CustodyEvent, Finding, Item
from service.repository import agencies, chains, items
from service.repository.agencies import RecordCounts
from service.seed import deliveries, sipri, small_arms, writer
from service.seed.plan import Example, Plan, Scenario

AGENCY_NAME = "Demo Registry (synthetic data)"
SEED = 20260212
SYNTHETIC_NOTICE = (
    "The missile, mortar and gun chains follow real state-to-state deliveries recorded by "
    "SIPRI (states, designations, numbers, years). Every item, serial number, party record, "
    "end-user certificate, revocation, consent, verification and custody event in this demo "
    "is synthetic, and so are the small-arms chains and the scenarios where a chain breaks."
)
# Where `trace-registry serve` listens by default; `seed --demo` names where it is served.
API = "http://127.0.0.1:8000"
# The summary reads each example's findings as the service does with its default settings.
VERIFICATION_DAYS = Settings().euc_verification_days


@dataclass(frozen=True)
class ShownItem:
    """A scenario's example item as recorded, with its chain of custody read back today."""

    scenario: Scenario
    item: Item
    status: str
    chain: CustodyChain

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.chain.findings


@dataclass(frozen=True)
class DemoLoad:
    """What a run of the demo load found or recorded, and how long it took."""

    already_loaded: bool
    counts: RecordCounts
    sipri_deals: int
    examples: tuple[ShownItem, ...]
    seconds: float


def load(conn: Connection, api: str = API) -> str:
    """Load the demo registry (once) and return a summary to print, its curl commands sent to
    the service at `api`."""
    return summary(load_demo(conn), api)


def build_plan(today: date) -> tuple[Plan, int]:
    """Every record of the demo, and how many SIPRI deals it is built on; deterministic."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not a secret
    plan = Plan(today)
    deals = sipri.deals()
    deliveries.plan_deliveries(plan, rng, deals)
    small_arms.plan_small_arms(plan, rng)
    return plan, len(deals)


def load_demo(conn: Connection) -> DemoLoad:
    """Record the demo in one transaction unless its agency has already recorded anything."""
    started = time.perf_counter()
    today = datetime.now(UTC).date()
    plan, deal_count = build_plan(today)
    with conn.transaction():
        agency, _ = agencies.ensure_agency(conn, AGENCY_NAME)
        already = agencies.recorded_counts(conn, agency.id)
        if already.total:
            found = _find_examples(conn, agency.id, plan)
        else:
            ids = writer.write(conn, agency.id, plan)
            found = [(example, ids[example.item]) for example in plan.examples]
            # The alert list is derived; the demo's facts go on it in the same transaction,
            # after the share-out of its certificates' consents of a quantity, which its chains
            # read (the demo's certificates only: nobody else knows them yet, so their locks
            # would hold no one off).
            certificates = sorted(ids[key] for key in plan.eucs)
            consent_shares.derive(conn, certificates, today, VERIFICATION_DAYS)
            recorded_items = [ids[key] for key in plan.items]
            alerts.refresh(conn, recorded_items, today, verification_days=VERIFICATION_DAYS)
        shown = _in_scenario_order(
            _shown(conn, example, item, today, agency.id) for example, item in found
        )
        counts = agencies.recorded_counts(conn, agency.id)
    return DemoLoad(bool(already.total), counts, deal_count, shown, time.perf_counter() - started)


def _shown(
    conn: Connection, example: Example, item_id: UUID, today: date, viewer: UUID
) -> ShownItem:
    chain = chains.chain(conn, item_id, today, VERIFICATION_DAYS, viewer)
    assert chain is not None
    return ShownItem(example.scenario, chain.item, example.status, chain)


def _in_scenario_order(shown: Iterable[ShownItem]) -> tuple[ShownItem, ...]:
    order = list(Scenario)
    return tuple(sorted(shown, key=lambda example: order.index(example.scenario)))


def _find_examples(conn: Connection, agency_id: UUID, plan: Plan) -> list[tuple[Example, UUID]]:
    """The examples of an earlier load, found again by their (deterministic) serials."""
    found = ((example, _find(conn, agency_id, example, plan)) for example in plan.examples)
    return [(example, item.id) for example, item in found if item is not None]


def _find(conn: Connection, agency_id: UUID, example: Example, plan: Plan) -> Item | None:
    wanted = plan.items[example.item]
    candidates = items.find(
        conn,
        serial_number=wanted.serial_number,
        manufacturer=wanted.manufacturer,
        after=None,
        limit=10,
    )
    return next(
        (c for c in candidates if c.model == wanted.model and c.recorded_by.id == agency_id),
        None,
    )


def summary(result: DemoLoad, api: str = API) -> str:
    """What was loaded, the credit line, the synthetic notice, and items ready to curl (from
    the service at `api`)."""
    counts = result.counts
    state = "was already loaded; nothing was added" if result.already_loaded else "loaded"
    lines = [
        f"Demo registry {state} ({result.seconds:.1f} s), recorded by {AGENCY_NAME!r}:",
        f"  {counts.parties} parties, {counts.items} items, {counts.eucs} end-user certificates, "
        f"{counts.events} custody events ({counts.declarations} declared erroneous); "
        f"export chains on {result.sipri_deals} SIPRI deals.",
        "",
        f"{sipri.CREDIT_LINE}.",
        SYNTHETIC_NOTICE,
        "",
        *_how_to_curl(result.examples, api),
    ]
    return "\n".join(lines)


def trace_request(seized: ShownItem) -> dict[str, object]:
    """The body of a trace of the seized example as an officer would send it: the serial typed
    in Latin letters, the manufacturer, and where the weapon was seized."""
    seizure = [
        event
        for event in seized.chain.events
        if isinstance(event, CustodyEvent) and event.event_type == "SEIZURE"
    ][-1]
    return {
        "weapon": {
            "serial_number": seized.item.serial_normalised,
            "manufacturer": seized.item.manufacturer,
        },
        "context": {
            "case_reference": "DEMO-SEIZURE-1",
            "purpose": "trace a rifle seized at a checkpoint",
            "seizure_country": seizure.country,
        },
    }


def _how_to_curl(shown: tuple[ShownItem, ...], api: str) -> list[str]:
    width = max((len(example.scenario) for example in shown), default=8)
    lines = [
        "Try it: `trace-registry serve`, then `trace-registry keys create --agency 'Demo reader' "
        "--scope trace:read` and export KEY=<the key it prints last>.",
        f'  curl -H "Authorization: Bearer $KEY" {api}/v1/items/<item id>/custody',
        "",
        f"  {'scenario':<{width}} {'status':<11} {'item id':<36}  serial (manufacturer, model)",
    ]
    for example in shown:
        item = example.item
        lines.append(
            f"  {example.scenario:<{width}} {example.status:<11} {item.id}  {item.serial_number} "
            f"({item.manufacturer}, {item.model}): {example.scenario.description}; "
            f"findings: {_findings(example.findings)}"
        )
    seized = next((e for e in shown if e.scenario is Scenario.SEIZED_ABROAD), None)
    if seized is not None:
        serial = seized.item.serial_normalised
        lines += [
            "",
            f"Serial {seized.item.serial_number!r} is marked in Cyrillic; a trace typed in Latin "
            "letters finds it:",
            f"  curl -H \"Authorization: Bearer $KEY\" '{api}/v1/items?serial_number={serial}'",
            "and a trace request answers with its chain and findings:",
            f'  curl -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" '
            f"-d '{json.dumps(trace_request(seized))}' {api}/v1/traces",
        ]
    return lines


def _findings(findings: tuple[Finding, ...]) -> str:
    named = dict.fromkeys(f"{finding.code} ({finding.severity})" for finding in findings)
    return ", ".join(named) or "none"
