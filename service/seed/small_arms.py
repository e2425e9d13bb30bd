"""Small-arms chains, wholly synthetic: pistols and rifles of well-known manufacturers going to
police, armed forces, dealers and private holders, and the scenarios where a chain breaks, so
that each diversion finding shows on at least one chain, besides a re-transfer that a consent
makes lawful.

The manufacturers and the national bodies are real names; every item, serial, certificate,
revocation, consent, verification and event is invented, and each record of a scenario says so
in its notes. The countries of the scenarios were picked to give a varied demo, not from any real
case. Flows added later come last, so that the serials drawn before them stay as they were.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from service.domain.inputs import (
    Correction,
    NewConsent,
    NewDeliveryVerification,
    NewEuc,
    NewEucLine,
    NewEvent,
    NewItem,
    NewPartyVerification,
    NewRevocation,
)
from service.domain.records import ImportMarking
from service.seed import markings
from service.seed.markings import SerialStyle
from service.seed.plan import Plan, Scenario

SCENARIO_NOTE = "Synthetic demo scenario, not a real event."
VERIFICATION_NOTE = "Synthetic post-shipment check, not a real one."


@dataclass(frozen=True)
class Model:
    manufacturer: str
    name: str
    category: str
    caliber: str
    country: str
    serials: SerialStyle


GLOCK_17 = Model("Glock", "Glock 17", "PISTOL", "9x19mm", "AT", markings.letters_then_digits)
CZ_75 = Model(
    "Česká zbrojovka", "CZ 75 SP-01", "PISTOL", "9x19mm", "CZ", markings.letter_and_six_digits
)
AK_74M = Model("Izhmash", "AK-74M", "ASSAULT_RIFLE", "5.45x39mm", "RU", markings.cyrillic_prefix)
AK_12 = Model(
    "Kalashnikov Concern",
    "AK-12",
    "ASSAULT_RIFLE",
    "5.45x39mm",
    "RU",
    markings.year_then_cyrillic,
)
G36 = Model("Heckler & Koch", "G36", "ASSAULT_RIFLE", "5.56x45mm", "DE", markings.two_part_numeric)
BERETTA_92FS = Model(
    "Beretta", "92FS", "PISTOL", "9x19mm", "IT", markings.prefixed("BER", 6, suffix="Z")
)
M70 = Model("Zastava Arms", "M70AB2", "ASSAULT_RIFLE", "7.62x39mm", "RS", markings.numeric(6))
SCAR_L = Model(
    "FN Herstal", "SCAR-L", "ASSAULT_RIFLE", "5.56x45mm", "BE", markings.prefixed("LC", 5)
)
TYPE_56 = Model("Norinco", "Type 56", "ASSAULT_RIFLE", "7.62x39mm", "CN", markings.numeric(7))


def plan_small_arms(plan: Plan, rng: random.Random) -> None:
    """Add every small-arms flow and its scenarios."""
    _police_pistols_lost(plan, rng)
    _civilian_pistols(plan, rng)
    _rifles_seized_abroad(plan, rng)
    _rifles_in_national_service(plan, rng)
    _rifles_after_expiry(plan, rng)
    _pistols_to_other_destination(plan, rng)
    _pistols_under_another_exporters_certificate(plan, rng)
    _pistols_under_a_line_for_rifles(plan, rng)
    _rifles_destroyed(plan, rng)
    _rifles_handed_on_with_consent(plan, rng)
    _rifles_never_verified(plan, rng)
    _pistols_on_a_revoked_certificate(plan, rng)
    _pistols_over_the_line(plan, rng)
    _rifles_before_their_certificate(plan, rng)
    _rifles_handed_on_past_a_consent(plan, rng)


# Flows ------------------------------------------------------------------------------------------


def _police_pistols_lost(plan: Plan, rng: random.Random) -> None:
    maker = _maker(plan, GLOCK_17)
    police = plan.party("Ghana Police Service", "LAW_ENFORCEMENT", "GH")
    items = _batch(plan, rng, GLOCK_17, 2015, 30, ImportMarking("GH", 2015, "GH 15"))
    euc = _euc(
        plan,
        number="GH/MINT/EUC/2015/017",
        authority="Ministry of the Interior of Ghana",
        issued_on=date(2015, 2, 10),
        exporter=maker,
        end_user=police,
        end_use="Service pistols of the Ghana Police Service",
        model=GLOCK_17,
        quantity=len(items),
    )
    _made(plan, maker, GLOCK_17, date(2015, 4, 8), items)
    _exported(plan, date(2015, 6, 2), items, maker, police, euc)
    _verified(plan, euc, date(2015, 9, 15), "Export control authority of Austria")
    _event(
        plan,
        "LOSS",
        date(2019, 8, 14),
        "GH",
        items[:1],
        from_party_id=police,
        notes=f"{SCENARIO_NOTE} Missing at a station's annual inventory.",
    )
    plan.example(Scenario.LOST, items[0], "LOST")


def _civilian_pistols(plan: Plan, rng: random.Random) -> None:
    """Made and sold in Czechia: two dealers, private holders, a burglary, a theft, a custody
    gap and a sale recorded against the wrong buyer."""
    maker = _maker(plan, CZ_75)
    brno = plan.party("Gun shop Brno (synthetic)", "DEALER", "CZ")
    ostrava = plan.party("Gun shop Ostrava (synthetic)", "DEALER", "CZ")
    holders = [
        plan.party(f"Private holder CZ-{n:03d} (synthetic)", "PRIVATE_HOLDER", "CZ")
        for n in range(1, 10)
    ]
    items = _batch(plan, rng, CZ_75, 2017, 24)
    _made(plan, maker, CZ_75, date(2017, 3, 6), items)
    _transfer(plan, date(2017, 5, 15), "CZ", items[:16], maker, brno)
    _transfer(plan, date(2017, 5, 16), "CZ", items[16:], maker, ostrava)
    for n, (item, holder) in enumerate(zip(items[:8], holders[:8], strict=True)):
        _transfer(plan, date(2017, 9, 1) + timedelta(days=35 * n), "CZ", [item], brno, holder)
    police = plan.party("Police of the Czech Republic", "LAW_ENFORCEMENT", "CZ")
    _stolen(plan, items[0], holders[0])
    _recovered(plan, items[16:19], ostrava, police)
    _custody_gap(plan, items[10], ostrava, holders[8])
    _corrected(plan, items[12], brno, wrong=holders[1], right=holders[2])


def _rifles_seized_abroad(plan: Plan, rng: random.Random) -> None:
    maker = _maker(plan, AK_74M)
    exporter = plan.party("Rosoboronexport", "EXPORTER", "RU")
    forces = plan.party("Armed Forces of Mongolia", "ARMED_FORCES", "MN")
    police = plan.party("Police of Kyrgyzstan", "LAW_ENFORCEMENT", "KG")
    items = _batch(plan, rng, AK_74M, 2011, 40, ImportMarking("MN", 2011, "MN 11"))
    euc = _euc(
        plan,
        number="MN/MOD/EUC/2010/044",
        authority="Ministry of Defence of Mongolia",
        issued_on=date(2010, 9, 1),
        exporter=exporter,
        end_user=forces,
        end_use="Equipment of the Armed Forces of Mongolia",
        model=AK_74M,
        quantity=len(items),
    )
    _made(plan, maker, AK_74M, date(2011, 2, 14), items)
    _transfer(plan, date(2011, 4, 4), "RU", items, maker, exporter)
    _exported(plan, date(2011, 6, 1), items, exporter, forces, euc)
    _verified(plan, euc, date(2011, 9, 20), "Export control authority of Russia")
    # Items whose serial carries the Cyrillic "AK", so that the example traces with Latin letters.
    seized = [
        key for key in items if plan.items[key].serial_number.startswith(markings.CYRILLIC_AK)
    ]
    _event(
        plan,
        "SEIZURE",
        date(2019, 10, 3),
        "KG",
        seized[:3],
        to_party_id=police,
        notes=f"{SCENARIO_NOTE} Seized at a road checkpoint; exported under a certificate that "
        "forbids re-export, and no consent to re-export is recorded.",
    )
    plan.example(Scenario.SEIZED_ABROAD, seized[0], "SEIZED")
    _sold_abroad(plan, [key for key in items if key not in seized[:3]][:4], forces)


def _rifles_in_national_service(plan: Plan, rng: random.Random) -> None:
    maker = _maker(plan, AK_12)
    forces = plan.party("Armed Forces of Russia", "ARMED_FORCES", "RU")
    items = _batch(plan, rng, AK_12, 2019, 20)
    _made(plan, maker, AK_12, date(2019, 3, 18), items)
    _transfer(plan, date(2019, 5, 27), "RU", items, maker, forces)


def _rifles_after_expiry(plan: Plan, rng: random.Random) -> None:
    maker = _maker(plan, G36)
    forces = plan.party("Armed Forces of Lithuania", "ARMED_FORCES", "LT")
    items = _batch(plan, rng, G36, 2013, 20)
    euc = _euc(
        plan,
        number="LT/KAM/EUC/2012/0087",
        authority="Ministry of National Defence of Lithuania",
        issued_on=date(2012, 3, 1),
        exporter=maker,
        end_user=forces,
        end_use="Equipment of the Armed Forces of Lithuania",
        model=G36,
        quantity=len(items),
        valid_for=timedelta(days=365),
    )
    _made(plan, maker, G36, date(2013, 2, 11), items)
    _exported(
        plan,
        date(2013, 5, 20),
        items,
        maker,
        forces,
        euc,
        notes=f"{SCENARIO_NOTE} Shipped after the certificate expired on 2013-03-01.",
    )
    _verified(plan, euc, date(2013, 8, 20), "Export control authority of Germany")
    plan.example(Scenario.EXPIRED_EUC, items[0], "IN_SERVICE")


def _pistols_to_other_destination(plan: Plan, rng: random.Random) -> None:
    maker = _maker(plan, BERETTA_92FS)
    police = plan.party("National Police of Peru", "LAW_ENFORCEMENT", "PE")
    broker = plan.party("Broker BO-01 (synthetic)", "BROKER", "BO")
    items = _batch(plan, rng, BERETTA_92FS, 2014, 15)
    euc = _euc(
        plan,
        number="PE/MININTER/EUC/2014/112",
        authority="Ministry of the Interior of Peru",
        issued_on=date(2014, 1, 20),
        exporter=maker,
        end_user=police,
        end_use="Service pistols of the National Police of Peru",
        model=BERETTA_92FS,
        quantity=len(items),
    )
    _made(plan, maker, BERETTA_92FS, date(2014, 3, 10), items)
    # Exported to Bolivia on a certificate whose destination is Peru.
    _exported(
        plan,
        date(2014, 5, 6),
        items,
        maker,
        broker,
        euc,
        destination="BO",
        notes=f"{SCENARIO_NOTE} Shipped to Bolivia under a certificate whose destination is Peru.",
    )
    plan.example(Scenario.WRONG_DESTINATION, items[0], "IN_SERVICE")


def _pistols_under_another_exporters_certificate(plan: Plan, rng: random.Random) -> None:
    """A broker ships pistols it bought from the maker under a certificate made out for another
    exporter's deal, which never held them."""
    maker = _maker(plan, GLOCK_17)
    named = plan.party("Alpine Defence Export GmbH (synthetic)", "EXPORTER", "AT")
    broker = plan.party("Broker AT-03 (synthetic)", "BROKER", "AT")
    police = plan.party("Ghana Police Service", "LAW_ENFORCEMENT", "GH")
    items = _batch(plan, rng, GLOCK_17, 2016, 12)
    euc = _euc(
        plan,
        number="GH/MOI/EUC/2016/041",
        authority="Ministry of the Interior of Ghana",
        issued_on=date(2016, 2, 8),
        exporter=named,
        end_user=police,
        end_use="Service pistols of the Ghana Police Service",
        model=GLOCK_17,
        quantity=len(items),
    )
    _made(plan, maker, GLOCK_17, date(2016, 3, 14), items)
    _transfer(plan, date(2016, 4, 4), "AT", items, maker, broker)
    _exported(
        plan,
        date(2016, 5, 23),
        items,
        broker,
        police,
        euc,
        notes=f"{SCENARIO_NOTE} Shipped by a broker under a certificate that names another "
        "exporter.",
    )
    _verified(plan, euc, date(2016, 9, 12), "Export control authority of Austria")
    plan.example(Scenario.BORROWED_EUC, items[0], "IN_SERVICE")


def _pistols_under_a_line_for_rifles(plan: Plan, rng: random.Random) -> None:
    """Pistols shipped under a certificate whose only line authorises assault rifles."""
    maker = _maker(plan, CZ_75)
    forces = plan.party("Armed Forces of Senegal", "ARMED_FORCES", "SN")
    items = _batch(plan, rng, CZ_75, 2018, 10)
    euc = _euc(
        plan,
        number="SN/MFA/EUC/2018/0213",
        authority="Ministry of the Armed Forces of Senegal",
        issued_on=date(2018, 1, 15),
        exporter=maker,
        end_user=forces,
        end_use="Equipment of the Armed Forces of Senegal",
        model=SCAR_L,
        quantity=len(items),
    )
    _made(plan, maker, CZ_75, date(2018, 2, 19), items)
    _exported(
        plan,
        date(2018, 4, 9),
        items,
        maker,
        forces,
        euc,
        notes=f"{SCENARIO_NOTE} Pistols shipped under a line for assault rifles.",
    )
    _verified(plan, euc, date(2018, 7, 2), "Export control authority of the Czech Republic")
    plan.example(Scenario.WRONG_GOODS, items[0], "IN_SERVICE")


def _rifles_destroyed(plan: Plan, rng: random.Random) -> None:
    maker = _maker(plan, M70)
    forces = plan.party("Armed Forces of Serbia", "ARMED_FORCES", "RS")
    items = _batch(plan, rng, M70, 2008, 30)
    _made(plan, maker, M70, date(2008, 4, 7), items)
    _transfer(plan, date(2008, 6, 16), "RS", items, maker, forces)
    _event(
        plan,
        "DESTRUCTION",
        date(2022, 6, 21),
        "RS",
        items[:10],
        from_party_id=forces,
        notes=f"{SCENARIO_NOTE} Surplus rifles cut and melted.",
    )
    plan.example(Scenario.DESTROYED, items[0], "DESTROYED")
    police = plan.party("Police of Serbia", "LAW_ENFORCEMENT", "RS")
    _event(
        plan,
        "SEIZURE",
        date(2024, 9, 17),
        "RS",
        items[1:2],
        to_party_id=police,
        notes=f"{SCENARIO_NOTE} Found in a raid; the record says it was destroyed in 2022.",
    )
    plan.example(Scenario.CONFLICTING_CUSTODY, items[1], "SEIZED")


def _rifles_handed_on_with_consent(plan: Plan, rng: random.Random) -> None:
    """Delivered and verified; six rifles later go to a police force, with the written consent
    of the exporting state on record and the new end user verified."""
    licensing = "Licensing authority of the Walloon Region, Belgium"
    items, euc, forces = _rifles_for_the_forces(
        plan,
        rng,
        SCAR_L,
        2019,
        "PT",
        "Armed Forces of Portugal",
        "Ministry of National Defence of Portugal",
    )
    _verified(plan, euc, date(2019, 9, 10), "Export control authority of Belgium")
    guard = plan.party("National Republican Guard of Portugal", "LAW_ENFORCEMENT", "PT")
    plan.party_verification(
        guard,
        NewPartyVerification(
            date(2021, 1, 20),
            "Confirmed with the Ministry of Internal Administration as a state security force",
            notes=SCENARIO_NOTE,
        ),
    )
    handed_on = items[:6]
    plan.consent(
        euc,
        NewConsent(
            granted_on=date(2021, 2, 8),
            granted_by=licensing,
            new_destination_country="PT",
            new_end_user_party_id=guard,
            quantity=len(handed_on),
            document_reference="WAL/RX/2021/0042",
            item_ids=tuple(handed_on),
        ),
    )
    _transfer(
        plan,
        date(2021, 3, 15),
        "PT",
        handed_on,
        forces,
        guard,
        notes=f"{SCENARIO_NOTE} Handed on with the exporting state's written consent.",
    )
    plan.example(Scenario.CONSENTED_RETRANSFER, handed_on[0], "IN_SERVICE")


def _rifles_handed_on_past_a_consent(plan: Plan, rng: random.Random) -> None:
    """The exporting state consents to two rifles, naming none, going to the border police;
    the forces hand three on. The first two take the consent; the third has none."""
    items, euc, forces = _rifles_for_the_forces(
        plan, rng, M70, 2017, "GE", "Defence Forces of Georgia", "Ministry of Defence of Georgia"
    )
    _verified(plan, euc, date(2017, 10, 2), "Export control authority of Serbia")
    border_police = plan.party("Border Police of Georgia", "LAW_ENFORCEMENT", "GE")
    plan.consent(
        euc,
        NewConsent(
            granted_on=date(2019, 4, 1),
            granted_by="Ministry of Trade, Tourism and Telecommunications of Serbia",
            new_destination_country="GE",
            new_end_user_party_id=border_police,
            quantity=2,
            document_reference="RS/RX/2019/0107",
        ),
    )
    for handed_on, on in zip(items[:3], (date(2019, 5, 6), date(2019, 5, 20), date(2019, 6, 3)),
                             strict=True):  # fmt: skip
        _transfer(
            plan,
            on,
            "GE",
            [handed_on],
            forces,
            border_police,
            notes=f"{SCENARIO_NOTE} Handed on under a consent for two rifles that names none.",
        )
    plan.example(Scenario.PAST_THE_CONSENT, items[2], "IN_SERVICE")


def _rifles_never_verified(plan: Plan, rng: random.Random) -> None:
    """A lawful export whose delivery no one has verified since."""
    items, _, _ = _rifles_for_the_forces(
        plan, rng, TYPE_56, 2009, "ZM", "Armed Forces of Zambia", "Ministry of Defence of Zambia"
    )
    plan.example(Scenario.UNVERIFIED_DELIVERY, items[0], "IN_SERVICE")


def _rifles_for_the_forces(
    plan: Plan,
    rng: random.Random,
    model: Model,
    year: int,
    country: str,
    forces_name: str,
    authority: str,
) -> tuple[list[UUID], UUID, UUID]:
    """Thirty rifles made and exported under a certificate to a country's armed forces; the
    items, the certificate and the forces."""
    maker = _maker(plan, model)
    forces = plan.party(forces_name, "ARMED_FORCES", country)
    items = _batch(
        plan, rng, model, year, 30, ImportMarking(country, year, f"{country} {year % 100:02d}")
    )
    euc = _euc(
        plan,
        number=f"{country}/MOD/EUC/{year}/{rng.randrange(1000):03d}",
        authority=authority,
        issued_on=date(year, 1, 15),
        exporter=maker,
        end_user=forces,
        end_use=f"Equipment of the {forces_name}",
        model=model,
        quantity=len(items),
    )
    _made(plan, maker, model, date(year, 3, 4), items)
    _exported(plan, date(year, 6, 10), items, maker, forces, euc)
    return items, euc, forces


def _pistols_on_a_revoked_certificate(plan: Plan, rng: random.Random) -> None:
    """The issuing ministry revokes the certificate; the maker ships under it all the same."""
    maker = _maker(plan, GLOCK_17)
    police = plan.party("National Police of Uruguay", "LAW_ENFORCEMENT", "UY")
    items = _batch(plan, rng, GLOCK_17, 2016, 12)
    euc = _euc(
        plan,
        number="UY/MI/EUC/2015/031",
        authority="Ministry of the Interior of Uruguay",
        issued_on=date(2015, 11, 2),
        exporter=maker,
        end_user=police,
        end_use="Service pistols of the National Police of Uruguay",
        model=GLOCK_17,
        quantity=len(items),
    )
    plan.revocation(
        euc,
        NewRevocation(
            date(2016, 2, 1),
            f"{SCENARIO_NOTE} Withdrawn by the issuing ministry when the procurement was "
            "cancelled.",
        ),
    )
    _made(plan, maker, GLOCK_17, date(2016, 1, 18), items)
    _exported(
        plan,
        date(2016, 3, 22),
        items,
        maker,
        police,
        euc,
        notes=f"{SCENARIO_NOTE} Shipped after the certificate was revoked on 2016-02-01.",
    )
    plan.example(Scenario.REVOKED_EUC, items[0], "IN_SERVICE")


def _rifles_before_their_certificate(plan: Plan, rng: random.Random) -> None:
    """Rifles shipped in June on a certificate issued in September: papers made afterwards to
    cover a shipment already made. (Added last: the flows before it draw as they always did.)"""
    maker = _maker(plan, M70)
    forces = plan.party("Armed Forces of Zambia", "ARMED_FORCES", "ZM")
    items = _batch(plan, rng, M70, 2017, 12)
    euc = _euc(
        plan,
        number="ZM/MOD/EUC/2017/219",
        authority="Ministry of Defence of Zambia",
        issued_on=date(2017, 9, 14),
        exporter=maker,
        end_user=forces,
        end_use="Equipment of the Zambia Army",
        model=M70,
        quantity=len(items),
    )
    _made(plan, maker, M70, date(2017, 3, 6), items)
    _exported(
        plan,
        date(2017, 6, 2),
        items,
        maker,
        forces,
        euc,
        notes=f"{SCENARIO_NOTE} Shipped before the certificate was issued on 2017-09-14.",
    )
    _verified(plan, euc, date(2017, 11, 20), "Export control authority of Serbia")
    plan.example(Scenario.BACKDATED_EUC, items[0], "IN_SERVICE")


def _pistols_over_the_line(plan: Plan, rng: random.Random) -> None:
    """A line for twenty pistols: twenty shipped and verified, then five more under the same
    line, which the verification never saw."""
    maker = _maker(plan, CZ_75)
    police = plan.party("State Police of Latvia", "LAW_ENFORCEMENT", "LV")
    items = _batch(plan, rng, CZ_75, 2016, 25)
    authorised, extra = items[:20], items[20:]
    euc = _euc(
        plan,
        number="LV/IEM/EUC/2016/014",
        authority="Ministry of the Interior of Latvia",
        issued_on=date(2016, 1, 11),
        exporter=maker,
        end_user=police,
        end_use="Service pistols of the State Police of Latvia",
        model=CZ_75,
        quantity=len(authorised),
    )
    _made(plan, maker, CZ_75, date(2016, 2, 15), items)
    _exported(plan, date(2016, 4, 5), authorised, maker, police, euc)
    _verified(plan, euc, date(2016, 6, 14), "Export control authority of Czechia", authorised)
    _exported(
        plan,
        date(2017, 2, 7),
        extra,
        maker,
        police,
        euc,
        notes=f"{SCENARIO_NOTE} Five pistols more than line 1 of the certificate authorises.",
    )
    plan.example(Scenario.OVER_SHIPPED, extra[0], "IN_SERVICE")


# Scenarios on the civilian chain ----------------------------------------------------------------


def _stolen(plan: Plan, item: UUID, holder: UUID) -> None:
    _event(
        plan,
        "THEFT",
        date(2021, 3, 2),
        "CZ",
        [item],
        from_party_id=holder,
        notes=f"{SCENARIO_NOTE} Taken from the holder's car.",
    )
    plan.example(Scenario.STOLEN, item, "STOLEN")


def _recovered(plan: Plan, items: Sequence[UUID], dealer: UUID, police: UUID) -> None:
    """A burglary at a dealer: three pistols stolen, two recovered by the police."""
    _event(
        plan,
        "THEFT",
        date(2020, 11, 20),
        "CZ",
        items,
        from_party_id=dealer,
        notes=f"{SCENARIO_NOTE} Burglary at the shop.",
    )
    _event(
        plan,
        "RECOVERY",
        date(2021, 2, 11),
        "CZ",
        items[:2],
        to_party_id=police,
        notes=f"{SCENARIO_NOTE} Found during a house search.",
    )
    plan.example(Scenario.RECOVERED, items[0], "RECOVERED")


def _sold_abroad(plan: Plan, items: Sequence[UUID], forces: UUID) -> None:
    """The end user sells rifles to a broker abroad, on a certificate that forbids re-export."""
    broker = plan.party("Broker KZ-01 (synthetic)", "BROKER", "KZ")
    _transfer(
        plan,
        date(2016, 7, 12),
        "MN",
        items,
        forces,
        broker,
        destination_country="KZ",
        notes=f"{SCENARIO_NOTE} Sold as surplus to a broker abroad; no consent to re-export is "
        "recorded.",
    )
    plan.example(Scenario.RETRANSFERRED, items[0], "IN_SERVICE")


def _custody_gap(plan: Plan, item: UUID, sender: UUID, buyer: UUID) -> None:
    """The item went to one dealer; a sale is recorded from the other, which never held it."""
    _transfer(
        plan,
        date(2019, 6, 3),
        "CZ",
        [item],
        sender,
        buyer,
        notes=f"{SCENARIO_NOTE} Sold by a dealer that no record shows receiving it.",
    )
    plan.example(Scenario.CUSTODY_GAP, item, "IN_SERVICE")


def _corrected(plan: Plan, item: UUID, dealer: UUID, *, wrong: UUID, right: UUID) -> None:
    """A sale recorded against the wrong buyer, then corrected by a new event that declares the
    first one erroneous; both stay in the chain."""
    on = date(2018, 9, 12)
    mistaken = _transfer(plan, on, "CZ", [item], dealer, wrong, notes=SCENARIO_NOTE)
    _transfer(
        plan,
        on,
        "CZ",
        [item],
        dealer,
        right,
        notes=SCENARIO_NOTE,
        corrects=Correction(
            mistaken,
            "INCORRECT_DATA",
            "Recorded against the wrong buyer; the sale licence names Private holder CZ-003.",
        ),
    )
    plan.example(Scenario.CORRECTED, item, "IN_SERVICE")


# Building blocks --------------------------------------------------------------------------------


def _maker(plan: Plan, model: Model) -> UUID:
    return plan.party(model.manufacturer, "MANUFACTURER", model.country)


def _batch(
    plan: Plan,
    rng: random.Random,
    model: Model,
    year: int,
    count: int,
    import_marking: ImportMarking | None = None,
) -> list[UUID]:
    serials = markings.unique_serials(rng, model.serials, year, count)
    marks = (import_marking,) if import_marking else ()
    return [
        plan.item(
            NewItem(
                manufacturer=model.manufacturer,
                model=model.name,
                category=model.category,
                serial_number=serial,
                caliber=model.caliber,
                country_of_manufacture=model.country,
                year_of_manufacture=year,
                import_markings=marks,
            )
        )
        for serial in serials
    ]


def _euc(
    plan: Plan,
    *,
    number: str,
    authority: str,
    issued_on: date,
    exporter: UUID,
    end_user: UUID,
    end_use: str,
    model: Model,
    quantity: int,
    valid_for: timedelta = timedelta(days=730),
) -> UUID:
    """A certificate issued by the end user's country, for that country, forbidding re-export."""
    country = plan.parties[end_user].country
    line = NewEucLine(
        1,
        f"{model.name} {model.category.lower().replace('_', ' ')}s, {model.caliber}",
        quantity,
        model.category,
        model.name,
    )
    return plan.euc(
        NewEuc(
            certificate_number=number,
            issuing_country=country,
            issuing_authority=authority,
            issued_on=issued_on,
            expires_on=issued_on + valid_for,
            exporter_party_id=exporter,
            end_user_party_id=end_user,
            destination_country=country,
            stated_end_use=end_use,
            non_reexport_clause=True,
            line_items=(line,),
        )
    )


def _verified(plan: Plan, euc: UUID, on: date, authority: str, items: Sequence[UUID] = ()) -> None:
    """A post-shipment check in the certificate's country that saw its goods (the named items,
    or every one shipped under it) with the end user."""
    country = plan.eucs[euc].destination_country
    verification = NewDeliveryVerification(
        on, authority, country, notes=VERIFICATION_NOTE, item_ids=tuple(items)
    )
    plan.delivery_verification(euc, verification)


def _event(
    plan: Plan, event_type: str, on: date, country: str, items: Sequence[UUID], **fields: Any
) -> UUID:
    return plan.event(NewEvent(event_type, on, country, tuple(items), **fields))


def _made(plan: Plan, maker: UUID, model: Model, on: date, items: Sequence[UUID]) -> None:
    _event(plan, "MANUFACTURE", on, model.country, items, to_party_id=maker)


def _transfer(
    plan: Plan,
    on: date,
    country: str,
    items: Sequence[UUID],
    sender: UUID,
    receiver: UUID,
    **fields: Any,
) -> UUID:
    return _event(
        plan, "TRANSFER", on, country, items, from_party_id=sender, to_party_id=receiver, **fields
    )


def _exported(
    plan: Plan,
    shipped_on: date,
    items: Sequence[UUID],
    exporter: UUID,
    consignee: UUID,
    euc: UUID,
    destination: str | None = None,
    notes: str | None = None,
) -> None:
    """EXPORT under line 1 of the certificate, and the IMPORT ten days later. The destination is
    the certificate's unless another is given; only an import there cites the certificate."""
    origin = plan.parties[exporter].country
    certified = plan.eucs[euc].destination_country
    to_country = destination or certified
    _event(
        plan,
        "EXPORT",
        shipped_on,
        origin,
        items,
        destination_country=to_country,
        from_party_id=exporter,
        to_party_id=consignee,
        euc_id=euc,
        euc_line_number=1,
        licence_number=f"{origin}/EL/{shipped_on.year}/{shipped_on.toordinal() % 10_000:04d}",
        notes=notes,
    )
    _event(
        plan,
        "IMPORT",
        shipped_on + timedelta(days=10),
        to_country,
        items,
        from_party_id=exporter,
        to_party_id=consignee,
        **({"euc_id": euc, "euc_line_number": 1} if to_country == certified else {}),
    )
