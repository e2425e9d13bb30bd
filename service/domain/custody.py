"""Custody events: which parties each kind of event needs, the order a chain reads them in, and
where a chain leaves an item.

Pure functions over the records in `service.domain.records`. The repository reads a chain by day
and recording time; `in_chain_order` puts a correction in its place and each day's events in
the order custody passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from itertools import groupby, pairwise
from uuid import UUID

from service.domain import dates
from service.domain.inputs import NewEvent
from service.domain.records import CustodyEvent, CustodyState, ShownParty
from service.errors import FieldError, PermissionDenied, StateConflict

EVENT_TYPES = (
    "MANUFACTURE", "EXPORT", "IMPORT", "TRANSFER", "LOSS", "THEFT", "SEIZURE", "RECOVERY",
    "DESTRUCTION", "DEACTIVATION",
)  # fmt: skip
TRANSFER_TYPES = frozenset({"EXPORT", "IMPORT", "TRANSFER"})
OUT_OF_LAWFUL_HANDS = frozenset({"LOSS", "THEFT"})
# Events that take the item from whoever had it: their sender need not have held it lawfully.
BACK_IN_HAND = frozenset({"RECOVERY", "SEIZURE"})

# Events under which an end-user certificate can be cited.
EUC_EVENT_TYPES = frozenset({"EXPORT", "IMPORT", "TRANSFER"})
# Events after which the holder also becomes the owner unless another owner is named.
OWNERSHIP_PASSING_TYPES = frozenset({"MANUFACTURE", "EXPORT", "IMPORT", "TRANSFER"})


class Need(Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class PartyRule:
    from_party: Need
    to_party: Need
    # DESTRUCTION and DEACTIVATION name the holder on either side, but must name one.
    at_least_one: bool = False


PARTY_RULES: dict[str, PartyRule] = {
    "MANUFACTURE": PartyRule(Need.FORBIDDEN, Need.REQUIRED),
    "EXPORT": PartyRule(Need.REQUIRED, Need.REQUIRED),
    "IMPORT": PartyRule(Need.OPTIONAL, Need.REQUIRED),
    "TRANSFER": PartyRule(Need.REQUIRED, Need.REQUIRED),
    "LOSS": PartyRule(Need.REQUIRED, Need.FORBIDDEN),
    "THEFT": PartyRule(Need.REQUIRED, Need.FORBIDDEN),
    "SEIZURE": PartyRule(Need.OPTIONAL, Need.REQUIRED),
    "RECOVERY": PartyRule(Need.OPTIONAL, Need.REQUIRED),
    "DESTRUCTION": PartyRule(Need.OPTIONAL, Need.OPTIONAL, at_least_one=True),
    "DEACTIVATION": PartyRule(Need.OPTIONAL, Need.OPTIONAL, at_least_one=True),
}

STATUS_AFTER = {
    "MANUFACTURE": "IN_SERVICE",
    "EXPORT": "IN_TRANSIT",
    "IMPORT": "IN_SERVICE",
    "TRANSFER": "IN_SERVICE",
    "LOSS": "LOST",
    "THEFT": "STOLEN",
    "SEIZURE": "SEIZED",
    "RECOVERY": "RECOVERED",
    "DESTRUCTION": "DESTROYED",
    "DEACTIVATION": "DEACTIVATED",
}
STATUSES = ("UNRECORDED", *dict.fromkeys(STATUS_AFTER.values()))
# The refusal of a second declaration that an event was erroneous, however it is met (the
# check below, or the unique index a declaration racing another meets: service.db).
ALREADY_DECLARED = "this event has already been declared erroneous"
# After these the record no longer says who has the item.
_HOLDER_UNKNOWN_AFTER = frozenset({"LOSS", "THEFT", "DESTRUCTION"})


@dataclass(frozen=True)
class EventDraft:
    """The parts of a new event that the rules look at."""

    event_type: str
    occurred_on: date
    from_party_id: UUID | None
    to_party_id: UUID | None
    has_euc: bool
    has_euc_line: bool
    has_destination_country: bool
    # an EXPORT whose destination is the country it leaves (a slip for an IMPORT or TRANSFER,
    # or for the destination): the findings would read it as a shipment abroad
    exports_to_its_own_country: bool = False

    @classmethod
    def of(cls, event: NewEvent) -> EventDraft:
        return cls(
            event_type=event.event_type,
            occurred_on=event.occurred_on,
            from_party_id=event.from_party_id,
            to_party_id=event.to_party_id,
            has_euc=event.euc_id is not None,
            has_euc_line=event.euc_line_number is not None,
            has_destination_country=event.destination_country is not None,
            exports_to_its_own_country=event.event_type == "EXPORT"
            and event.destination_country == event.country,
        )


def event_problems(draft: EventDraft, today: date) -> list[FieldError]:
    """Everything wrong with a new event before it reaches the database (empty when valid)."""
    problems = _party_problems(draft)
    if draft.event_type == "EXPORT" and not draft.has_destination_country:
        problems.append(_body("destination_country", "an EXPORT must name its destination country"))
    if draft.exports_to_its_own_country:
        problems.append(
            _body(
                "destination_country",
                "an EXPORT leaves its country: its destination cannot be the country it leaves "
                "(a move within one country is a TRANSFER)",
            )
        )
    if draft.has_euc and draft.event_type not in EUC_EVENT_TYPES:
        problems.append(
            _body(
                "euc_id", "only EXPORT, IMPORT and TRANSFER events can cite an end-user certificate"
            )
        )
    if draft.has_euc_line and not draft.has_euc:
        problems.append(
            _body("euc_line_number", "a certificate line needs the certificate (euc_id)")
        )
    if draft.occurred_on < dates.EARLIEST:
        problems.append(_body("occurred_on", dates.TOO_EARLY))
    if draft.occurred_on > dates.latest(today):
        problems.append(_body("occurred_on", "an event cannot be recorded before it happens"))
    return problems


def _party_problems(draft: EventDraft) -> list[FieldError]:
    rule = PARTY_RULES[draft.event_type]
    kind = f"an event of type {draft.event_type}"
    problems = []
    has_from, has_to = draft.from_party_id is not None, draft.to_party_id is not None
    for field, need, present in (
        ("from_party_id", rule.from_party, has_from),
        ("to_party_id", rule.to_party, has_to),
    ):
        if need is Need.REQUIRED and not present:
            problems.append(_body(field, f"{kind} must name this party"))
        if need is Need.FORBIDDEN and present:
            problems.append(_body(field, f"{kind} has no such party"))
    if rule.at_least_one and not (has_from or has_to):
        problems.append(
            _body(
                "to_party_id",
                f"{kind} must name the holder (from or to)",
            )
        )
    if has_from and draft.from_party_id == draft.to_party_id:
        problems.append(_body("to_party_id", "the receiving party must differ from the sender"))
    return problems


def _body(field: str, detail: str) -> FieldError:
    return FieldError("body", field, detail)


def in_chain_order(events: Sequence[CustodyEvent]) -> list[int]:
    """The positions of an item's events (read by day, then by recording time) in chain order:
    by day; within a day, in the order custody passed (_as_custody_passed); otherwise by when
    the act they record was first recorded, then by when each was recorded, then by id.

    A correction records again an act recorded before: it takes the place of the event it
    corrects (and of the one that event corrected, and so on), not the end of its day. By when
    it was recorded alone, correcting one of a day's events moved the act after the day's later
    events (a manufacture after the transfer that followed it), which changed the holder."""
    first_recorded = acts_first_recorded(events)
    order = list(range(len(events)))  # the order the database reads them in
    if any(first_recorded[event.id] != event.recorded_at for event in events):
        order.sort(key=lambda n: _chain_key(events[n], first_recorded))
    if all(events[a].occurred_on != events[b].occurred_on for a, b in pairwise(order)):
        return order  # a day an event (nearly every chain a trace reads)
    return _as_custody_passed(events, order)


def acts_first_recorded(events: Sequence[CustodyEvent]) -> dict[UUID, datetime]:
    """When the act each of an item's events records was first recorded: its own recording
    time, or, for a correction, that of the event it corrects (and of the one that event
    corrected, and so on), as corrected_acts in schema.sql has it."""
    first_recorded = {event.id: event.recorded_at for event in events}
    corrections = [
        (event.id, corrective)
        for event in events
        if event.error_declaration is not None
        for corrective in event.error_declaration.corrective_event_ids
        if corrective in first_recorded
    ]
    # Until nothing moves: a correction of a correction takes the first one's place too (the
    # times only fall, so this ends, corrections that name each other included).
    changed = bool(corrections)
    while changed:
        changed = False
        for corrected, corrective in corrections:
            if first_recorded[corrected] < first_recorded[corrective]:
                first_recorded[corrective] = first_recorded[corrected]
                changed = True
    return first_recorded


def _as_custody_passed(events: Sequence[CustodyEvent], order: list[int]) -> list[int]:
    """The order, with each day's events put in the order custody passed: each in turn, the
    first (in recording order) whose sender held the item after the events before it, or that
    needs no such sender (a manufacture, an event that no longer stands); a recovery or a
    seizure once no loss, theft or handover of the day by a holder waits; an import after the
    day's export by its sender, under its certificate, or (naming neither) to its country. When
    none follows on, the first as recorded.

    Recording order alone, a handover recorded after the same day's export it led to read as a
    custody gap and a re-transfer out of the end user's country, and an import recorded before
    its export as imported before it: files and clerks record a day's events in any order."""
    placed: list[int] = []
    holders: set[UUID] = set()
    for _, day in groupby(order, key=lambda n: events[n].occurred_on):
        waiting = list(day)
        while waiting:
            follows = (n for n in waiting if _follows_on(events[n], holders, events, waiting))
            chosen = next(follows, waiting[0])
            waiting.remove(chosen)
            placed.append(chosen)
            if events[chosen].stands:
                holders = holders_after(events[chosen])
    return placed


def _follows_on(
    event: CustodyEvent, holders: set[UUID], events: Sequence[CustodyEvent], waiting: list[int]
) -> bool:
    if not event.stands:
        return True
    if event.event_type in BACK_IN_HAND:
        # A recovery or a seizure ends the day's loss, theft or handover by a holder: it waits
        # for them. Taken first because recorded first, a recovery read before its loss left
        # the item LOST "with no recovery on record", and a seizure from a dealer before the
        # sale to it left the item in service with the dealer. It waits for nothing else: the
        # day's destruction naming no sender is its end, not its start.
        return not any(
            _handed_on_by_holder(events[n], holders) for n in waiting if events[n] is not event
        )
    return _passes_on(event, holders, events, waiting)


def _handed_on_by_holder(event: CustodyEvent, holders: set[UUID]) -> bool:
    """A standing loss, theft or transfer by a party that holds the item."""
    handed_on = event.event_type in OUT_OF_LAWFUL_HANDS | TRANSFER_TYPES
    by_holder = event.from_party is not None and event.from_party.id in holders
    return event.stands and handed_on and by_holder


def _passes_on(
    event: CustodyEvent, holders: set[UUID], events: Sequence[CustodyEvent], waiting: list[int]
) -> bool:
    """Whether a standing event that is no recovery or seizure follows on from the holders."""
    if event.event_type == "IMPORT" and any(
        _exports_for(events[n], event) for n in waiting if events[n] is not event
    ):
        return False
    return event.from_party is None or event.from_party.id in holders


def _exports_for(export: CustodyEvent, imported: CustodyEvent) -> bool:
    """Whether a standing export is the one an import receives: by its sender, its certificate
    or its destination (an import that names neither sender nor certificate, read before the
    day's export to its country, left the item in transit with a custody gap)."""
    if export.event_type != "EXPORT" or not export.stands:
        return False
    same_sender = (
        export.from_party is not None
        and imported.from_party is not None
        and export.from_party.id == imported.from_party.id
    )
    same_certificate = export.euc is not None and under(imported, export.euc.id)
    names_neither = imported.from_party is None and imported.euc is None
    to_its_country = names_neither and export.destination_country == imported.country
    return same_sender or same_certificate or to_its_country


def under(event: CustodyEvent, certificate_id: UUID) -> bool:
    """Whether the event was made under this certificate."""
    return event.euc is not None and event.euc.id == certificate_id


def holders_after(event: CustodyEvent) -> set[UUID]:
    """Who may lawfully send the item on after this event (an import's exporter too)."""
    if event.event_type in OUT_OF_LAWFUL_HANDS:
        return set()
    parties = [event.to_party, event.owner_party]
    if event.event_type == "EXPORT" or event.to_party is None:
        parties.append(event.from_party)
    return {party.id for party in parties if party is not None}


def _chain_key(
    event: CustodyEvent, first_recorded: dict[UUID, datetime]
) -> tuple[date, datetime, datetime, UUID]:
    return (event.occurred_on, first_recorded[event.id], event.recorded_at, event.id)


def summarise(events: Iterable[CustodyEvent]) -> CustodyState:
    """Where the standing events leave the item: status, holder, owner.

    Events declared erroneous are skipped; they stay in the history the caller shows.
    """
    state = CustodyState("UNRECORDED", None, None, None, None)
    for event in events:
        if event.stands:
            state = _apply(state, event)
    return state


def _apply(state: CustodyState, event: CustodyEvent) -> CustodyState:
    holder = _holder_after(state, event)
    owner: ShownParty | None
    if event.owner_party is not None:
        owner = event.owner_party
    elif event.event_type in OWNERSHIP_PASSING_TYPES:
        owner = event.to_party
    else:
        owner = state.current_owner
    return CustodyState(
        status=STATUS_AFTER[event.event_type],
        status_since=event.occurred_on,
        current_holder=holder,
        current_owner=owner,
        last_known_holder=holder or event.to_party or event.from_party or state.last_known_holder,
    )


def _holder_after(state: CustodyState, event: CustodyEvent) -> ShownParty | None:
    if event.event_type in _HOLDER_UNKNOWN_AFTER:
        return None
    return event.to_party or event.from_party or state.current_holder


def check_error_declaration(
    event_id: UUID,
    *,
    recorded_by: UUID,
    already_declared: bool,
    declaring_agency: UUID,
    corrective_event_ids: tuple[UUID, ...],
    correctives_recorded_by_others: Sequence[UUID] = (),
    administrator: bool = False,
) -> None:
    """Refuse a declaration that an event was erroneous when the rules do not allow it: only
    the agency that recorded the event, or an administrator, may make one, and it names as
    corrective only events its agency recorded."""
    if recorded_by != declaring_agency and not administrator:
        raise PermissionDenied(
            "only the agency that recorded an event (or an administrator) may declare it erroneous"
        )
    if correctives_recorded_by_others and not administrator:
        # A corrective event takes the place of the one it corrects, on a certificate line too
        # (corrected_acts): naming another agency's export moved it before that day's other
        # exports, and the line's EUC_QUANTITY_EXCEEDED onto other items, for good (found in
        # review).
        named = ", ".join(map(str, correctives_recorded_by_others))
        raise PermissionDenied(
            f"corrective_event_ids names events another agency recorded ({named}): an agency "
            "names as corrections only its own records"
        )
    if already_declared:
        raise StateConflict(ALREADY_DECLARED)
    if event_id in corrective_event_ids:
        raise StateConflict("an event cannot correct itself")
