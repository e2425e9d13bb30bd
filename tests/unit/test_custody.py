"""Custody rules: which parties each event needs, where a chain leaves an item, who may retract."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import custody, findings
from service.domain.custody import (
    EVENT_TYPES,
    PARTY_RULES,
    EventDraft,
    check_error_declaration,
    event_problems,
    summarise,
)
from service.domain.findings import ChainFacts
from service.domain.inputs import NewEvent
from service.domain.records import (
    AgencyRef,
    CustodyEvent,
    CustodyState,
    ErrorDeclaration,
    Item,
    PartyRef,
)
from service.errors import FieldError, PermissionDenied, StateConflict

PROPERTY = settings(max_examples=50, deadline=None, database=None)

TODAY = date(2024, 6, 15)
AGENCY = AgencyRef(uuid4(), "National Tracing Office")
OTHER_AGENCY = AgencyRef(uuid4(), "Border Police Directorate")

# Factories ----------------------------------------------------------------------------------------


def party(name: str, kind: str = "OTHER", country: str = "BE") -> PartyRef:
    return PartyRef(uuid4(), name, kind, country)


FACTORY = party("FN Herstal", "MANUFACTURER", "BE")
EXPORTER = party("Belgian Arms Export", "EXPORTER", "BE")
CONSIGNEE = party("Ministry of Defence of Kenya", "GOVERNMENT", "KE")
ARMOURY = party("Kenya Defence Forces", "ARMED_FORCES", "KE")
POLICE = party("Kenya Police Service", "LAW_ENFORCEMENT", "KE")
DEALER = party("Nairobi Arms Dealer", "DEALER", "KE")
ARMED_GROUP = party("Armed group", "NON_STATE_ARMED_GROUP", "SS")

_days = itertools.count()


def declaration(corrective: tuple[UUID, ...] = ()) -> ErrorDeclaration:
    return ErrorDeclaration(
        id=uuid4(),
        reason="INCORRECT_DATA",
        explanation="recorded against the wrong serial",
        corrective_event_ids=corrective,
        declared_by=AGENCY,
        declared_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def event(
    event_type: str,
    *,
    from_party: PartyRef | None = None,
    to_party: PartyRef | None = None,
    owner: PartyRef | None = None,
    on: date | None = None,
    destination_country: str | None = None,
    declared_erroneous: bool = False,
    classification: str = "UNRESTRICTED",
    recorded_by: AgencyRef = AGENCY,
) -> CustodyEvent:
    """A custody event as the repository returns it; dates advance by a day per event."""
    occurred_on = on or date(2010, 1, 1) + timedelta(days=next(_days))
    return CustodyEvent(
        id=uuid4(),
        event_type=event_type,
        occurred_on=occurred_on,
        country="BE",
        destination_country=destination_country,
        from_party=from_party,
        to_party=to_party,
        owner_party=owner,
        euc=None,
        euc_line_number=None,
        licence_number=None,
        document_reference=None,
        notes=None,
        classification=classification,
        recorded_by=recorded_by,
        recorded_at=datetime.combine(occurred_on, datetime.min.time(), tzinfo=UTC),
        error_declaration=declaration() if declared_erroneous else None,
    )


def item() -> Item:
    return Item(
        id=uuid4(),
        manufacturer="FN Herstal",
        model="FAL",
        category="RIFLE",
        caliber="7.62x51mm",
        serial_number="1234567",
        serial_normalised="1234567",
        country_of_manufacture="BE",
        year_of_manufacture=1975,
        import_markings=(),
        other_markings=None,
        recorded_by=AGENCY,
        recorded_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def manufactured() -> CustodyEvent:
    return event("MANUFACTURE", to_party=FACTORY)


# event_problems -----------------------------------------------------------------------------------

# The rules as the API contract states them, written out independently of PARTY_RULES:
# (from_party, to_party, at least one of the two).
REQ, OPT, FORBID = "required", "optional", "forbidden"
EXPECTED_PARTIES = {
    "MANUFACTURE": (FORBID, REQ, False),
    "EXPORT": (REQ, REQ, False),
    "IMPORT": (OPT, REQ, False),
    "TRANSFER": (REQ, REQ, False),
    "LOSS": (REQ, FORBID, False),
    "THEFT": (REQ, FORBID, False),
    "SEIZURE": (OPT, REQ, False),
    "RECOVERY": (OPT, REQ, False),
    "DESTRUCTION": (OPT, OPT, True),
    "DEACTIVATION": (OPT, OPT, True),
}
BOTH = [(False, False), (True, False), (False, True), (True, True)]


def draft(
    event_type: str,
    *,
    from_party: bool | None = None,
    to_party: bool | None = None,
    euc: bool = False,
    destination: bool | None = None,
    occurred_on: date = TODAY,
) -> EventDraft:
    """The draft of a new event; parties and destination default to what the type needs."""
    from_need, to_need, _ = EXPECTED_PARTIES[event_type]
    from_party = from_need == REQ if from_party is None else from_party
    to_party = to_need != FORBID if to_party is None else to_party
    destination = event_type == "EXPORT" if destination is None else destination
    new_event = NewEvent(
        event_type=event_type,
        occurred_on=occurred_on,
        country="BE",
        item_ids=(uuid4(),),
        destination_country="KE" if destination else None,
        from_party_id=uuid4() if from_party else None,
        to_party_id=uuid4() if to_party else None,
        euc_id=uuid4() if euc else None,
    )
    return EventDraft.of(new_event)


def fields_of(problems: list[FieldError]) -> set[str]:
    assert all(problem.location == "body" and problem.detail for problem in problems)
    return {problem.field for problem in problems}


def test_the_rules_cover_every_event_type() -> None:
    assert set(PARTY_RULES) == set(EVENT_TYPES) == set(EXPECTED_PARTIES)
    assert set(custody.STATUS_AFTER) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_complete_draft_has_no_problem(event_type: str) -> None:
    assert event_problems(draft(event_type), TODAY) == []


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize(("has_from", "has_to"), BOTH)
def test_parties_required_and_forbidden(event_type: str, has_from: bool, has_to: bool) -> None:
    from_need, to_need, at_least_one = EXPECTED_PARTIES[event_type]
    expected = set()
    if (from_need == REQ and not has_from) or (from_need == FORBID and has_from):
        expected.add("from_party_id")
    if (to_need == REQ and not has_to) or (to_need == FORBID and has_to):
        expected.add("to_party_id")
    if at_least_one and not (has_from or has_to):
        expected.add("to_party_id")
    problems = event_problems(draft(event_type, from_party=has_from, to_party=has_to), TODAY)
    assert fields_of(problems) == expected


def test_messages_name_the_event_type() -> None:
    (missing,) = event_problems(draft("EXPORT", to_party=False), TODAY)
    assert missing.field == "to_party_id"
    assert "EXPORT" in missing.detail and "must name" in missing.detail
    (extra,) = event_problems(draft("THEFT", to_party=True), TODAY)
    assert extra.field == "to_party_id"
    assert "THEFT" in extra.detail


@pytest.mark.parametrize("event_type", ["DESTRUCTION", "DEACTIVATION"])
def test_destruction_and_deactivation_must_name_the_holder_on_one_side(event_type: str) -> None:
    (problem,) = event_problems(draft(event_type, from_party=False, to_party=False), TODAY)
    assert problem.field == "to_party_id"
    assert "from or to" in problem.detail
    for has_from, has_to in BOTH[1:]:
        assert event_problems(draft(event_type, from_party=has_from, to_party=has_to), TODAY) == []


@pytest.mark.parametrize("event_type", ["EXPORT", "TRANSFER", "SEIZURE", "DESTRUCTION"])
def test_an_event_cannot_pass_an_item_from_a_party_to_itself(event_type: str) -> None:
    same = uuid4()
    new_event = NewEvent(
        event_type=event_type,
        occurred_on=TODAY,
        country="BE",
        item_ids=(uuid4(),),
        destination_country="KE",
        from_party_id=same,
        to_party_id=same,
    )
    problems = event_problems(EventDraft.of(new_event), TODAY)
    assert fields_of(problems) == {"to_party_id"}
    assert "differ" in problems[0].detail


def test_an_export_to_the_country_it_leaves_is_refused() -> None:
    # Found by the investigators' review: EXPORT CZ -> CZ was stored, and read as a shipment.
    new_event = NewEvent(
        event_type="EXPORT",
        occurred_on=TODAY,
        country="CZ",
        item_ids=(uuid4(),),
        destination_country="CZ",
        from_party_id=uuid4(),
        to_party_id=uuid4(),
    )

    problems = event_problems(EventDraft.of(new_event), TODAY)

    assert fields_of(problems) == {"destination_country"}
    assert "a move within one country is a TRANSFER" in problems[0].detail


def test_an_export_must_name_its_destination_country() -> None:
    problems = event_problems(draft("EXPORT", destination=False), TODAY)
    assert fields_of(problems) == {"destination_country"}


@pytest.mark.parametrize("event_type", [t for t in EVENT_TYPES if t != "EXPORT"])
def test_other_events_need_no_destination_country(event_type: str) -> None:
    assert event_problems(draft(event_type, destination=False), TODAY) == []


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_only_export_import_and_transfer_cite_a_certificate(event_type: str) -> None:
    problems = event_problems(draft(event_type, euc=True), TODAY)
    if event_type in {"EXPORT", "IMPORT", "TRANSFER"}:
        assert problems == []
    else:
        assert fields_of(problems) == {"euc_id"}


@pytest.mark.parametrize(
    ("offset_days", "refused"),
    [(-36500, False), (-1, False), (0, False), (1, False), (2, True), (3650, True)],
)
def test_future_dates_are_refused_with_one_day_of_slack(offset_days: int, refused: bool) -> None:
    occurred_on = TODAY + timedelta(days=offset_days)
    problems = event_problems(draft("TRANSFER", occurred_on=occurred_on), TODAY)
    assert fields_of(problems) == ({"occurred_on"} if refused else set())


def test_every_problem_is_reported_at_once() -> None:
    bad = draft(
        "EXPORT",
        from_party=False,
        to_party=False,
        destination=False,
        occurred_on=TODAY + timedelta(days=5),
    )
    assert fields_of(event_problems(bad, TODAY)) == {
        "from_party_id",
        "to_party_id",
        "destination_country",
        "occurred_on",
    }


# summarise ----------------------------------------------------------------------------------------


def test_an_empty_chain_is_unrecorded() -> None:
    assert summarise([]) == CustodyState("UNRECORDED", None, None, None, None)


def test_manufacture_puts_the_item_in_service_with_its_maker() -> None:
    made = manufactured()
    state = summarise([made])
    assert state == CustodyState("IN_SERVICE", made.occurred_on, FACTORY, FACTORY, FACTORY)


def test_export_then_import() -> None:
    made = manufactured()
    exported = event("EXPORT", from_party=FACTORY, to_party=CONSIGNEE, destination_country="KE")
    in_transit = summarise([made, exported])
    assert in_transit.status == "IN_TRANSIT"
    assert in_transit.status_since == exported.occurred_on
    assert in_transit.current_holder == CONSIGNEE
    assert in_transit.current_owner == CONSIGNEE
    assert in_transit.last_known_holder == CONSIGNEE

    imported = event("IMPORT", from_party=FACTORY, to_party=CONSIGNEE)
    arrived = summarise([made, exported, imported])
    assert arrived == CustodyState(
        "IN_SERVICE", imported.occurred_on, CONSIGNEE, CONSIGNEE, CONSIGNEE
    )


def test_an_import_may_leave_out_the_sender() -> None:
    imported = event("IMPORT", to_party=DEALER)
    assert summarise([imported]) == CustodyState(
        "IN_SERVICE", imported.occurred_on, DEALER, DEALER, DEALER
    )


def test_transfer_passes_holding_and_ownership() -> None:
    state = summarise([manufactured(), event("TRANSFER", from_party=FACTORY, to_party=ARMOURY)])
    assert (state.status, state.current_holder, state.current_owner) == (
        "IN_SERVICE",
        ARMOURY,
        ARMOURY,
    )


def test_theft_leaves_no_holder_but_remembers_the_victim_and_the_owner() -> None:
    chain = [manufactured(), event("TRANSFER", from_party=FACTORY, to_party=ARMOURY)]
    stolen = event("THEFT", from_party=ARMOURY)
    state = summarise([*chain, stolen])
    assert state == CustodyState("STOLEN", stolen.occurred_on, None, ARMOURY, ARMOURY)


def test_loss_then_recovery() -> None:
    chain = [manufactured(), event("TRANSFER", from_party=FACTORY, to_party=ARMOURY)]
    lost = event("LOSS", from_party=ARMOURY)
    assert summarise([*chain, lost]) == CustodyState(
        "LOST", lost.occurred_on, None, ARMOURY, ARMOURY
    )
    recovered = event("RECOVERY", to_party=POLICE)
    assert summarise([*chain, lost, recovered]) == CustodyState(
        "RECOVERED", recovered.occurred_on, POLICE, ARMOURY, POLICE
    )


def test_recovery_may_name_who_had_the_item() -> None:
    chain = [manufactured(), event("THEFT", from_party=FACTORY)]
    recovered = event("RECOVERY", from_party=ARMED_GROUP, to_party=POLICE)
    state = summarise([*chain, recovered])
    assert (state.current_holder, state.current_owner) == (POLICE, FACTORY)


def test_seizure_gives_the_authority_the_item_but_not_its_ownership() -> None:
    chain = [manufactured(), event("TRANSFER", from_party=FACTORY, to_party=DEALER)]
    seized = event("SEIZURE", from_party=DEALER, to_party=POLICE)
    assert summarise([*chain, seized]) == CustodyState(
        "SEIZED", seized.occurred_on, POLICE, DEALER, POLICE
    )


def test_destruction_ends_holding() -> None:
    chain = [manufactured(), event("SEIZURE", to_party=POLICE)]
    destroyed = event("DESTRUCTION", from_party=POLICE)
    assert summarise([*chain, destroyed]) == CustodyState(
        "DESTROYED", destroyed.occurred_on, None, FACTORY, POLICE
    )


@pytest.mark.parametrize(
    ("from_party", "to_party", "holder"),
    [(POLICE, None, POLICE), (None, POLICE, POLICE), (ARMOURY, POLICE, POLICE)],
)
def test_deactivation_keeps_a_holder(
    from_party: PartyRef | None, to_party: PartyRef | None, holder: PartyRef
) -> None:
    chain = [manufactured(), event("TRANSFER", from_party=FACTORY, to_party=ARMOURY)]
    deactivated = event("DEACTIVATION", from_party=from_party, to_party=to_party)
    assert summarise([*chain, deactivated]) == CustodyState(
        "DEACTIVATED", deactivated.occurred_on, holder, ARMOURY, holder
    )


def test_a_named_owner_differs_from_the_holder() -> None:
    made = event("MANUFACTURE", to_party=FACTORY, owner=CONSIGNEE)
    state = summarise([made])
    assert (state.current_holder, state.current_owner) == (FACTORY, CONSIGNEE)

    lent = event("TRANSFER", from_party=FACTORY, to_party=ARMOURY, owner=CONSIGNEE)
    state = summarise([made, lent])
    assert (state.current_holder, state.current_owner) == (ARMOURY, CONSIGNEE)

    # Without a named owner, a transfer passes ownership to the receiver again.
    sold = event("TRANSFER", from_party=ARMOURY, to_party=DEALER)
    state = summarise([made, lent, sold])
    assert (state.current_holder, state.current_owner) == (DEALER, DEALER)


def test_a_named_owner_is_recorded_even_on_events_that_do_not_pass_ownership() -> None:
    chain = [manufactured(), event("SEIZURE", to_party=POLICE, owner=CONSIGNEE)]
    state = summarise(chain)
    assert (state.current_holder, state.current_owner) == (POLICE, CONSIGNEE)


def test_events_declared_erroneous_are_skipped_but_kept_in_the_chain() -> None:
    made = manufactured()
    wrong = event("TRANSFER", from_party=FACTORY, to_party=DEALER, declared_erroneous=True)
    right = event("TRANSFER", from_party=FACTORY, to_party=ARMOURY)
    wrong_theft = event("THEFT", from_party=ARMOURY, declared_erroneous=True)
    events = (made, wrong, right, wrong_theft)

    chain = findings.chain_of(item(), ChainFacts(uuid4(), events, date(2026, 1, 1)))
    assert chain.events == events
    assert [e.stands for e in chain.events] == [True, False, True, False]
    assert chain.status == "IN_SERVICE"
    assert chain.status_since == right.occurred_on
    assert chain.current_holder == ARMOURY
    assert chain.current_owner == ARMOURY
    assert chain.last_known_holder == ARMOURY


def test_a_chain_of_only_erroneous_events_is_unrecorded() -> None:
    events = (event("MANUFACTURE", to_party=FACTORY, declared_erroneous=True),)
    chain = findings.chain_of(item(), ChainFacts(uuid4(), events, date(2026, 1, 1)))
    assert chain.status == "UNRECORDED"
    assert chain.current_holder is None
    assert len(chain.events) == 1


def test_chain_of_carries_the_item_and_the_summary() -> None:
    recorded = item()
    events = (manufactured(), event("EXPORT", from_party=FACTORY, to_party=CONSIGNEE))
    chain = findings.chain_of(recorded, ChainFacts(recorded.id, events, date(2026, 1, 1)))
    state = summarise(events)
    assert chain.item == recorded
    assert (
        chain.status,
        chain.status_since,
        chain.current_holder,
        chain.current_owner,
        chain.last_known_holder,
    ) == (
        state.status,
        state.status_since,
        state.current_holder,
        state.current_owner,
        state.last_known_holder,
    )


def test_summarise_accepts_any_iterable() -> None:
    events = [manufactured(), event("LOSS", from_party=FACTORY)]
    assert summarise(iter(events)) == summarise(events)


# Chains generated by hypothesis ----------------------------------------------------------------

PARTIES = [FACTORY, EXPORTER, CONSIGNEE, ARMOURY, POLICE, DEALER, ARMED_GROUP]


@st.composite
def valid_events(draw: st.DrawFn) -> CustodyEvent:
    """Any event that event_problems would accept, perhaps declared erroneous."""
    event_type = draw(st.sampled_from(EVENT_TYPES))
    from_need, to_need, at_least_one = EXPECTED_PARTIES[event_type]

    def side(need: str) -> PartyRef | None:
        if need == FORBID:
            return None
        chosen = draw(st.sampled_from(PARTIES))
        return chosen if need == REQ or draw(st.booleans()) else None

    from_party, to_party = side(from_need), side(to_need)
    if at_least_one and from_party is None and to_party is None:
        to_party = draw(st.sampled_from(PARTIES))
    return event(
        event_type,
        from_party=from_party,
        to_party=to_party,
        owner=draw(st.none() | st.sampled_from(PARTIES)),
        declared_erroneous=draw(st.booleans()),
    )


chains = st.lists(valid_events(), max_size=8)


@PROPERTY
@given(chains)
def test_erroneous_events_count_for_nothing(events: list[CustodyEvent]) -> None:
    assert summarise(events) == summarise([e for e in events if e.stands])


@PROPERTY
@given(chains)
def test_the_last_standing_event_sets_status_and_holding(events: list[CustodyEvent]) -> None:
    state = summarise(events)
    standing = [e for e in events if e.stands]
    if not standing:
        assert state == CustodyState("UNRECORDED", None, None, None, None)
        return
    last = standing[-1]
    assert state.status in custody.STATUSES
    assert state.status == custody.STATUS_AFTER[last.event_type]
    assert state.status_since == last.occurred_on
    holderless = last.event_type in {"LOSS", "THEFT", "DESTRUCTION"}
    assert (state.current_holder is None) == holderless
    if not holderless:
        assert state.current_holder in (last.to_party, last.from_party)
        assert state.last_known_holder == state.current_holder
    if last.owner_party is not None:
        assert state.current_owner == last.owner_party


@PROPERTY
@given(chains)
def test_owner_changes_only_when_ownership_passes_or_is_named(events: list[CustodyEvent]) -> None:
    for cut in range(1, len(events) + 1):
        before, after = summarise(events[: cut - 1]), summarise(events[:cut])
        latest = events[cut - 1]
        passes = latest.event_type in custody.OWNERSHIP_PASSING_TYPES
        if not latest.stands or (latest.owner_party is None and not passes):
            assert after.current_owner == before.current_owner


# check_error_declaration --------------------------------------------------------------------------


def declare(
    event_id: UUID,
    *,
    recorded_by: UUID = AGENCY.id,
    already_declared: bool = False,
    declaring_agency: UUID = AGENCY.id,
    corrective_event_ids: tuple[UUID, ...] = (),
) -> None:
    check_error_declaration(
        event_id,
        recorded_by=recorded_by,
        already_declared=already_declared,
        declaring_agency=declaring_agency,
        corrective_event_ids=corrective_event_ids,
    )


def test_the_recording_agency_may_declare_its_event_erroneous() -> None:
    event_id = uuid4()
    assert declare(event_id) is None
    assert declare(event_id, corrective_event_ids=(uuid4(), uuid4())) is None


def test_another_agency_may_not() -> None:
    with pytest.raises(PermissionDenied, match="only the agency that recorded"):
        declare(uuid4(), declaring_agency=OTHER_AGENCY.id)


def test_an_event_is_declared_erroneous_once() -> None:
    with pytest.raises(StateConflict, match="already been declared"):
        declare(uuid4(), already_declared=True)


def test_an_event_cannot_correct_itself() -> None:
    event_id = uuid4()
    with pytest.raises(StateConflict, match="cannot correct itself"):
        declare(event_id, corrective_event_ids=(uuid4(), event_id))


def test_permission_is_checked_before_state() -> None:
    # Another agency learns nothing about the event's state from the answer.
    event_id = uuid4()
    with pytest.raises(PermissionDenied):
        declare(
            event_id,
            declaring_agency=OTHER_AGENCY.id,
            already_declared=True,
            corrective_event_ids=(event_id,),
        )


# Edge cases once wrong, now pinned ----------------------------------------------------------


def test_destruction_naming_the_holder_as_to_party_remembers_it() -> None:
    chain = [manufactured(), event("TRANSFER", from_party=FACTORY, to_party=ARMOURY)]
    destroyed = event("DESTRUCTION", to_party=POLICE)
    assert summarise([*chain, destroyed]).last_known_holder == POLICE
    assert summarise([destroyed]).last_known_holder == POLICE


def test_a_certificate_line_needs_a_certificate() -> None:
    new_event = NewEvent(
        event_type="TRANSFER",
        occurred_on=TODAY,
        country="BE",
        item_ids=(uuid4(),),
        from_party_id=uuid4(),
        to_party_id=uuid4(),
        euc_line_number=3,
    )
    assert "euc_line_number" in fields_of(event_problems(EventDraft.of(new_event), TODAY))


def test_corrections_that_name_each_other_still_have_an_order() -> None:
    # Declarations name their corrective events freely: two may name each other.
    day = date(2012, 2, 20)
    first, second, third = (event("TRANSFER", on=day) for _ in range(3))
    at = datetime(2024, 1, 1, tzinfo=UTC)
    first = replace(first, recorded_at=at, error_declaration=declaration((third.id,)))
    second = replace(second, recorded_at=at + timedelta(hours=1))
    third = replace(
        third, recorded_at=at + timedelta(hours=2), error_declaration=declaration((first.id,))
    )

    assert custody.in_chain_order([second, third, first]) == [2, 1, 0]


# A day's events in the order custody passed ------------------------------------------------------


def recorded_in_turn(*events: CustodyEvent) -> list[CustodyEvent]:
    """The events as recorded one after another (a second apart), in this order."""
    at = datetime(2024, 1, 1, tzinfo=UTC)
    return [replace(e, recorded_at=at + timedelta(seconds=n)) for n, e in enumerate(events)]


def test_a_handover_recorded_after_the_days_export_it_led_to_comes_before_it() -> None:
    day = date(2010, 5, 2)
    made = event("MANUFACTURE", to_party=FACTORY, on=date(2009, 5, 12))
    exported = event("EXPORT", from_party=EXPORTER, to_party=ARMOURY, on=day,
                     destination_country="KE")  # fmt: skip
    handed_over = event("TRANSFER", from_party=FACTORY, to_party=EXPORTER, on=day)
    chain = recorded_in_turn(made, exported, handed_over)

    assert custody.in_chain_order(chain) == [0, 2, 1]


def test_an_import_recorded_before_the_days_export_comes_after_it() -> None:
    day = date(2010, 5, 2)
    made = event("MANUFACTURE", to_party=EXPORTER, on=date(2009, 5, 12))
    imported = event("IMPORT", from_party=EXPORTER, to_party=ARMOURY, on=day)
    exported = event("EXPORT", from_party=EXPORTER, to_party=ARMOURY, on=day,
                     destination_country="KE")  # fmt: skip
    chain = recorded_in_turn(made, imported, exported)

    assert custody.in_chain_order(chain) == [0, 2, 1]


def test_a_days_events_that_do_not_follow_on_keep_the_order_they_were_recorded_in() -> None:
    # Sent twice the same day: neither follows the other, and the record says which came first.
    day = date(2012, 1, 1)
    made = event("MANUFACTURE", to_party=ARMOURY, on=date(2009, 5, 12))
    to_police = event("TRANSFER", from_party=ARMOURY, to_party=POLICE, on=day)
    to_dealer = event("TRANSFER", from_party=ARMOURY, to_party=DEALER, on=day)

    assert custody.in_chain_order(recorded_in_turn(made, to_police, to_dealer)) == [0, 1, 2]
    assert custody.in_chain_order(recorded_in_turn(made, to_dealer, to_police)) == [0, 1, 2]


@PROPERTY
@given(st.permutations(range(6)))
def test_a_days_handovers_recorded_in_any_order_read_as_they_passed(
    recording: list[int],
) -> None:
    # Made and handed on five times in a day (each holder to the next), recorded in any order.
    day = date(2015, 3, 1)
    holders = [party(f"holder {n}") for n in range(6)]
    passed = [event("MANUFACTURE", to_party=holders[0], on=day)] + [
        event("TRANSFER", from_party=holders[n - 1], to_party=holders[n], on=day)
        for n in range(1, 6)
    ]
    chain = recorded_in_turn(*(passed[n] for n in recording))

    order = custody.in_chain_order(chain)

    assert [chain[n].id for n in order] == [e.id for e in passed]
    assert summarise(chain[n] for n in order).current_holder == holders[5]
