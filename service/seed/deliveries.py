"""Export chains built on real SIPRI deliveries of missiles, mortars and guns.

For each deal: the supplier's manufacturer, its government as exporter, the recipient's armed
forces as end user, an end-user certificate issued by the recipient's ministry of defence, and a
few synthetic items per delivery year, each going MANUFACTURE -> TRANSFER to the exporter ->
EXPORT under the certificate -> IMPORT, and a post-shipment check that saw them with the end user.
These chains are the lawful background the scenarios break against: none carries a warning or an
alert. Only the deal (states, designation, numbers, years) comes from SIPRI; everything recorded
about it is synthetic.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from service.domain.inputs import (
    NewDeliveryVerification,
    NewEuc,
    NewEucLine,
    NewEvent,
    NewItem,
)
from service.seed import markings
from service.seed.plan import Plan, Scenario
from service.seed.sipri import CREDIT_LINE, Deal, Delivery

# Enough to show a chain per delivery year while keeping the registry in the hundreds of items.
ITEMS_PER_DELIVERY = 6
DELIVERIES_PER_DEAL = 3
# A post-shipment check six weeks after arrival; a fixed delay, so that it draws nothing from the
# random source and the serials and dates drawn after it stay as they were.
VERIFIED_AFTER = timedelta(weeks=6)

# Makers named only where the designation's maker is well established under this name for every
# delivery year the demo records; other deals get a generic, clearly unnamed manufacturer.
KNOWN_MAKERS = {
    ("France", "Akeron-MP"): "MBDA",
    ("France", "LG-1 105mm"): "Nexter",
    ("Israel", "CARDOM 120mm"): "Soltam Systems",
    ("Israel", "Spike-MR"): "Rafael Advanced Defense Systems",
    ("Russia", "Kornet"): "KBP Instrument Design Bureau",
    ("South Korea", "Chiron"): "LIG Nex1",
    ("Sweden", "RBS-70"): "Saab",
    ("Sweden", "RBS-70-3"): "Saab",
    ("United Kingdom", "L-118 105mm"): "BAE Systems",
    ("United Kingdom", "UFH 155mm"): "BAE Systems",
    ("United States", "AGM-114 Hellfire-2"): "Lockheed Martin",
    ("United States", "FGM-148 Javelin"): "Javelin Joint Venture (Raytheon / Lockheed Martin)",
    ("United States", "TOW"): "Raytheon",
}
# SIPRI's country names that read better with an article ("the Armed Forces of the UAE").
_WITH_ARTICLE = {"United States", "United Kingdom", "UAE", "Netherlands", "Philippines"}
_CALIBER = re.compile(r"(\d+)mm")


@dataclass(frozen=True)
class DealParties:
    manufacturer: UUID
    maker_name: str
    exporter: UUID
    end_user: UUID


def plan_deliveries(plan: Plan, rng: random.Random, deals: Sequence[Deal]) -> None:
    """Add the chains of every deal; the first item of the first deal whose maker is named is
    the clean example."""
    example_shown = False
    for number, deal in enumerate(deals, start=1):
        items = _plan_deal(plan, rng, deal, number)
        if not example_shown and (deal.supplier, deal.designation) in KNOWN_MAKERS:
            plan.example(Scenario.CLEAN_EXPORT, items[0], "IN_SERVICE")
            example_shown = True


def _plan_deal(plan: Plan, rng: random.Random, deal: Deal, number: int) -> list[UUID]:
    parties = _parties(plan, deal)
    deliveries = deal.deliveries[:DELIVERIES_PER_DEAL]
    counts = [min(delivery.number, ITEMS_PER_DELIVERY) for delivery in deliveries]
    euc = plan.euc(_euc(rng, deal, parties, sum(counts), number))
    shipped: list[UUID] = []
    for delivery, count in zip(deliveries, counts, strict=True):
        items = _items(plan, rng, deal, parties.maker_name, delivery.year, count)
        _ship(plan, rng, deal, parties, euc, delivery, items)
        shipped += items
    return shipped


def the(country: str) -> str:
    """The country's name as it reads after "of" ("of the United States")."""
    return f"the {country}" if country in _WITH_ARTICLE else country


def _parties(plan: Plan, deal: Deal) -> DealParties:
    supplier, recipient = deal.supplier_code, deal.recipient_code
    maker = KNOWN_MAKERS.get(
        (deal.supplier, deal.designation),
        f"Defence industry of {the(deal.supplier)} (maker not named)",
    )
    return DealParties(
        manufacturer=plan.party(maker, "MANUFACTURER", supplier),
        maker_name=maker,
        exporter=plan.party(f"Government of {the(deal.supplier)}", "EXPORTER", supplier),
        end_user=plan.party(f"Armed Forces of {the(deal.recipient)}", "ARMED_FORCES", recipient),
    )


def _euc(rng: random.Random, deal: Deal, parties: DealParties, quantity: int, n: int) -> NewEuc:
    last_year = deal.deliveries[:DELIVERIES_PER_DEAL][-1].year
    return NewEuc(
        certificate_number=f"{deal.recipient_code}/MOD/EUC/{deal.order_year}/{n:03d}",
        issuing_country=deal.recipient_code,
        issuing_authority=f"Ministry of Defence of {the(deal.recipient)}",
        # Early in the order year, so that it precedes every shipment of the deal.
        issued_on=date(deal.order_year, rng.randint(1, 2), rng.randint(1, 28)),
        expires_on=date(last_year + 1, 12, 31),
        exporter_party_id=parties.exporter,
        end_user_party_id=parties.end_user,
        destination_country=deal.recipient_code,
        stated_end_use=f"Equipment of the Armed Forces of {the(deal.recipient)}",
        non_reexport_clause=True,
        line_items=(
            NewEucLine(
                1,
                f"{deal.designation} ({deal.description})",
                quantity,
                deal.category,
                deal.designation,
            ),
        ),
    )


def _items(
    plan: Plan, rng: random.Random, deal: Deal, maker: str, year: int, count: int
) -> list[UUID]:
    style = markings.lot_style(deal.designation, deal.supplier_code, deal.category)
    caliber = _CALIBER.search(deal.designation)
    return [
        plan.item(
            NewItem(
                manufacturer=maker,
                model=deal.designation,
                category=deal.category,
                serial_number=serial,
                caliber=f"{caliber.group(1)} mm" if caliber else None,
                country_of_manufacture=deal.supplier_code,
                year_of_manufacture=year,
            )
        )
        for serial in markings.unique_serials(rng, style, year, count)
    ]


def _ship(
    plan: Plan,
    rng: random.Random,
    deal: Deal,
    parties: DealParties,
    euc: UUID,
    delivery: Delivery,
    items: list[UUID],
) -> None:
    """One delivery year: made, handed to the exporter, exported, imported, all in that year,
    and seen with the end user a few weeks later."""
    keys = tuple(items)
    supplier, recipient = deal.supplier_code, deal.recipient_code
    made = date(delivery.year, rng.randint(3, 4), rng.randint(1, 28))
    handed_over = made + timedelta(days=rng.randint(20, 50))
    shipped = handed_over + timedelta(days=rng.randint(10, 60))
    arrived = shipped + timedelta(days=rng.randint(2, 25))
    plan.event(NewEvent("MANUFACTURE", made, supplier, keys, to_party_id=parties.manufacturer))
    plan.event(
        NewEvent(
            "TRANSFER",
            handed_over,
            supplier,
            keys,
            from_party_id=parties.manufacturer,
            to_party_id=parties.exporter,
        )
    )
    plan.event(
        NewEvent(
            "EXPORT",
            shipped,
            supplier,
            keys,
            destination_country=recipient,
            from_party_id=parties.exporter,
            to_party_id=parties.end_user,
            euc_id=euc,
            euc_line_number=1,
            licence_number=f"{supplier}/EL/{delivery.year}/{rng.randrange(10_000):04d}",
            notes=_provenance(deal, delivery),
        )
    )
    plan.event(
        NewEvent(
            "IMPORT",
            arrived,
            recipient,
            keys,
            from_party_id=parties.exporter,
            to_party_id=parties.end_user,
            euc_id=euc,
            euc_line_number=1,
        )
    )
    plan.delivery_verification(
        euc,
        NewDeliveryVerification(
            verified_on=arrived + VERIFIED_AFTER,
            verifying_authority=f"Export control authority of {the(deal.supplier)}",
            country=recipient,
            notes=f"Synthetic post-shipment check: the items of the {delivery.year} delivery were "
            f"seen with the Armed Forces of {the(deal.recipient)}.",
            item_ids=keys,
        ),
    )


def _provenance(deal: Deal, delivery: Delivery) -> str:
    estimate = " (a SIPRI estimate)" if delivery.number_is_estimate else ""
    return (
        f"Built on SIPRI deal {deal.sipri_id}: {deal.supplier} to {deal.recipient}, "
        f"{delivery.number}{estimate} {deal.designation} ({deal.description}) delivered in "
        f"{delivery.year}. {CREDIT_LINE}. The items, serials, parties, certificate and events "
        "recorded here are synthetic."
    )
