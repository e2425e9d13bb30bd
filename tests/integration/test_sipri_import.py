"""The SIPRI extract imports through the bulk-import path as state-to-state deliveries, with
synthetic items that say they are synthetic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service import importing
from service.db import Connection
from service.domain.imports import NDJSON
from service.repository import agencies, chains
from service.repository.imports import ImportRecord
from service.seed import sipri_records
from service.seed.sipri import CREDIT_LINE

EXTRACT = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "sipri-light-weapons-deliveries.csv"
)
# Two real rows of the trade register's layout (a deal delivered over two years), for when the
# shared extract is not beside the project.
SAMPLE = """\
sipri_at_database_id,supplier,recipient,designation,description,armament_category,order_date,order_date_is_estimate,numbers_delivered,numbers_delivered_is_estimate,delivery_year,delivery_year_is_estimate,status,sipri_estimate,tiv_deal_unit,tiv_delivery_values,local_production
99001,Sweden,Latvia,RBS-70,portable SAM,Missiles,2015,No,12,No,2016,No,New,,0.03,0.36,No
99001,Sweden,Latvia,RBS-70,portable SAM,Missiles,2015,No,8,Yes,2017,No,New,,0.03,0.24,No
99002,Sweden,Sweden,RBS-70,portable SAM,Missiles,2015,No,8,No,2016,No,New,,0.03,0.24,No
"""


def run(
    db: Connection, lines: list[str], agency_name: str = "SIPRI extract (synthetic)"
) -> ImportRecord:
    agency, _ = agencies.ensure_agency(db, agency_name)
    request = importing.Request(
        agency_id=agency.id,
        media_type=NDJSON,
        record_type=None,
        countries=frozenset(agencies.known_countries(db)),
        today=datetime.now(UTC).date(),
        verification_days=180,
    )
    return importing.run(db, sipri_records.ndjson_stream(lines), request)


def test_deliveries_become_export_chains_of_synthetic_items(db: Connection) -> None:
    record = run(db, SAMPLE.splitlines(keepends=True))

    assert record.status == "COMPLETED", record.errors
    # the Swedish "delivery" to Sweden is not state-to-state: left out
    assert record.stored == {"party": 2, "item": 20, "euc": 1, "event": 6}
    item = db.execute("SELECT id, serial_number, other_markings FROM items LIMIT 1").fetchone()
    assert item is not None
    assert item["other_markings"].startswith("SYNTHETIC") and CREDIT_LINE in item["other_markings"]
    agency, _ = agencies.ensure_agency(db, "SIPRI extract (synthetic)")
    chain = chains.chain(db, item["id"], datetime.now(UTC).date(), 180, agency.id)
    assert chain is not None
    assert [e.event_type for e in chain.events] == ["MANUFACTURE", "EXPORT", "IMPORT"]
    assert chain.current_holder is not None and chain.current_holder.country == "LV"
    assert not [f for f in chain.findings if f.severity == "ALERT"]


def test_the_extract_sent_again_stores_nothing(db: Connection) -> None:
    run(db, SAMPLE.splitlines(keepends=True))

    again = run(db, SAMPLE.splitlines(keepends=True))

    assert sum(again.stored.values()) == 0
    assert again.already_present == {"party": 2, "item": 20, "euc": 1, "event": 6}


def test_another_agency_importing_the_extract_links_its_items_and_certificate(
    db: Connection,
) -> None:
    # The CLI's path (`trace-registry import --sipri`): the second agency's items and
    # certificate are the first one's; its parties (no registration number) are its own.
    run(db, SAMPLE.splitlines(keepends=True))

    second = run(db, SAMPLE.splitlines(keepends=True), agency_name="Another Tracing Unit")

    assert second.status == "COMPLETED", second.errors
    assert second.stored == {"party": 2, "item": 0, "euc": 0, "event": 6}
    assert second.linked == {"party": 0, "item": 20, "euc": 1}
    item = db.execute("SELECT id FROM items LIMIT 1").fetchone()
    assert item is not None
    agency, _ = agencies.ensure_agency(db, "Another Tracing Unit")
    chain = chains.chain(db, item["id"], datetime.now(UTC).date(), 180, agency.id)
    assert chain is not None
    assert [e.event_type for e in chain.events] == ["MANUFACTURE"] * 2 + ["EXPORT"] * 2 + [
        "IMPORT"
    ] * 2


@pytest.mark.skipif(not EXTRACT.exists(), reason="the shared SIPRI extract is not here")
def test_the_shared_extract_turns_into_records() -> None:
    with EXTRACT.open(encoding="utf-8") as extract:
        deals = sipri_records.deals_in(extract)
    counted = {"party": 0, "item": 0, "euc": 0, "event": 0}
    for record in sipri_records.records(deals[:40]):
        counted[str(record["record_type"])] += 1

    assert counted["euc"] == 40
    assert counted["item"] == sum(d.number for deal in deals[:40] for d in deal.deliveries)
    assert counted["event"] >= 3 * sum(len(deal.deliveries) for deal in deals[:40])
