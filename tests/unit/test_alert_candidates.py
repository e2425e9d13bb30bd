"""may_be_listed: the test an import runs (in SQL) before it derives a chain's alert state. It
may say yes to a chain that is not listed; it must never say no to one that is, for any viewer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import disclosure
from service.domain.alerts import LISTING_EVENT_TYPES, listing, may_be_listed
from service.domain.custody import EVENT_TYPES
from service.domain.findings import Certificate, ChainFacts, Consent
from service.domain.records import (
    RESTRICTED,
    CustodyEvent,
    EucRef,
    PartyRef,
    RestrictedPartyRef,
)
from tests.unit.test_custody import AGENCY as RECORDER
from tests.unit.test_custody import OTHER_AGENCY as OTHER_RECORDER
from tests.unit.test_custody import event as custody_event
from tests.unit.test_custody import item

PROPERTY = settings(max_examples=400, deadline=None, database=None)
TODAY = date(2024, 6, 15)
PARTIES = [
    PartyRef(uuid4(), "FN Herstal", "MANUFACTURER", "BE"),
    PartyRef(uuid4(), "Kenya Defence Forces", "ARMED_FORCES", "KE"),
    PartyRef(uuid4(), "Nairobi Arms Dealer", "DEALER", "KE"),
    RestrictedPartyRef(
        uuid4(), "Informant", "OTHER", "UG", RESTRICTED,
        recorded_by=OTHER_RECORDER, recorded_at=datetime(2020, 1, 1, tzinfo=UTC),
    ),
]  # fmt: skip
QUIET_TYPES = sorted(set(EVENT_TYPES) - LISTING_EVENT_TYPES)
ITEM = item()
CERTIFICATE = Certificate(
    id=uuid4(),
    certificate_number="BE-2010-7",
    destination_country="KE",
    end_user_party_id=PARTIES[1].id,
    expires_on=date(2010, 6, 1),
    non_reexport_clause=True,
)
EUC = EucRef(
    CERTIFICATE.id, CERTIFICATE.certificate_number, "BE", "KE", PARTIES[1].id, date(2010, 6, 1),
    non_reexport_clause=True, revoked_on=None,
)  # fmt: skip


@st.composite
def events(draw: st.DrawFn, types: list[str], with_certificates: bool) -> CustodyEvent:
    """Any event, on one of a few days (so that two may fall on the same one), in one of a few
    countries, perhaps restricted, perhaps erroneous, perhaps naming a restricted party."""
    parties = st.none() | st.sampled_from(PARTIES)
    made = custody_event(
        draw(st.sampled_from(types)),
        on=date(2010, 1, 1) + timedelta(days=draw(st.integers(0, 3))),
        from_party=draw(parties),
        to_party=draw(parties),
        owner=draw(parties),
        destination_country=draw(st.none() | st.sampled_from(["KE", "UG"])),
        declared_erroneous=draw(st.booleans()),
        classification=draw(st.sampled_from([RESTRICTED, "UNRESTRICTED"])),
        recorded_by=draw(st.sampled_from([RECORDER, OTHER_RECORDER])),
    )
    return replace(
        made,
        country=draw(st.sampled_from(["BE", "KE", "UG"])),
        euc=EUC if with_certificates and draw(st.booleans()) else None,
    )


def facts_of(chain: list[CustodyEvent]) -> ChainFacts:
    consent = Consent(uuid4(), CERTIFICATE.id, date(2010, 1, 2), None, "UG")
    return ChainFacts(
        item_id=ITEM.id,
        events=tuple(sorted(chain, key=lambda e: e.occurred_on)),
        today=TODAY,
        certificates={CERTIFICATE.id: CERTIFICATE},
        consents=(consent,),
    )


def listed_for_anyone(chain: list[CustodyEvent]) -> bool:
    return any(state is not None for state in listing(ITEM, facts_of(chain)).values())


@PROPERTY
@given(st.lists(events(list(EVENT_TYPES), with_certificates=True), max_size=6))
def test_a_chain_it_turns_away_is_on_nobodys_list(chain: list[CustodyEvent]) -> None:
    assert may_be_listed(chain) or not listed_for_anyone(chain)


@PROPERTY
@given(st.lists(events(QUIET_TYPES, with_certificates=False), min_size=1, max_size=8))
def test_quiet_chains_are_turned_away_unless_one_sender_sends_twice_a_day(
    chain: list[CustodyEvent],
) -> None:
    """Chains of the other types, with no certificate: the kind most of a registry holds."""
    senders_days = [
        e.occurred_on
        for e in chain
        if e.event_type in {"EXPORT", "IMPORT", "TRANSFER"} and e.from_party is not None
    ]
    assert may_be_listed(chain) == (len(senders_days) != len(set(senders_days)))
    if not may_be_listed(chain):
        assert not listed_for_anyone(chain)


def event(
    event_type: str,
    on: int,
    *,
    sender: int | None = None,
    receiver: int | None = None,
    euc: EucRef | None = None,
) -> CustodyEvent:
    made = custody_event(
        event_type,
        on=date(2010, 1, 1) + timedelta(days=on),
        from_party=None if sender is None else PARTIES[sender],
        to_party=None if receiver is None else PARTIES[receiver],
        destination_country="KE" if event_type == "EXPORT" else None,
    )
    return replace(made, euc=euc)


MADE = event("MANUFACTURE", 0, receiver=0)


@pytest.mark.parametrize(
    ("name", "chain"),
    [
        ("lost", [MADE, event("LOSS", 1, sender=0)]),
        ("stolen", [MADE, event("THEFT", 1, sender=0)]),
        ("seized", [MADE, event("SEIZURE", 1, receiver=1)]),
        ("moved after its destruction",
         [MADE, event("DESTRUCTION", 1, sender=0), event("TRANSFER", 2, sender=0, receiver=2)]),
        ("exported after its certificate expired",
         [MADE, event("EXPORT", 900, sender=0, receiver=1, euc=EUC)]),
        ("sent to two parties on one day",
         [MADE, event("TRANSFER", 1, sender=0, receiver=1),
          event("TRANSFER", 1, sender=0, receiver=2)]),
    ],
)  # fmt: skip
def test_each_way_onto_the_list_is_let_through(name: str, chain: list[CustodyEvent]) -> None:
    assert listed_for_anyone(chain), name
    assert may_be_listed(chain), name


def test_an_ordinary_chain_is_turned_away() -> None:
    chain = [
        MADE,
        event("EXPORT", 1, sender=0, receiver=1),
        event("IMPORT", 2, sender=0, receiver=1),
        event("TRANSFER", 3, sender=1, receiver=2),
        event("RECOVERY", 4, receiver=2),
        event("DEACTIVATION", 5, sender=2),
    ]
    assert not may_be_listed(chain)
    assert not listed_for_anyone(chain)


def test_everyone_and_each_restricting_agency_is_asked() -> None:
    """listed_for_anyone reads every audience listing() gives, not only everyone's."""
    secret_loss = replace(event("LOSS", 1, sender=0), classification=RESTRICTED)
    places = listing(ITEM, facts_of([MADE, secret_loss]))
    assert places[disclosure.EVERYONE] is None
    assert places[RECORDER.id] is not None
    assert may_be_listed([MADE, secret_loss])
