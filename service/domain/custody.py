"""Custody events: which parties each kind of event needs, and where a chain leaves an item.

Pure functions over the records in `service.domain.records`; the chain's order is the
repository's (occurred_on, then recorded_at).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from service.domain import dates
from service.domain.inputs import NewEvent
from service.domain.records import CustodyEvent, CustodyState, ShownParty
from service.errors import FieldError, PermissionDenied, StateConflict

EVENT_TYPES = (
    "MANUFACTURE", "EXPORT", "IMPORT", "TRANSFER", "LOSS", "THEFT", "SEIZURE", "RECOVERY",
    "DESTRUCTION", "DEACTIVATION",
)  # fmt: skip

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
        )


def event_problems(draft: EventDraft, today: date) -> list[FieldError]:
    """Everything wrong with a new event before it reaches the database (empty when valid)."""
    problems = _party_problems(draft)
    if draft.event_type == "EXPORT" and not draft.has_destination_country:
        problems.append(_body("destination_country", "an EXPORT must name its destination country"))
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
    """The positions of an item's events in chain order: by day, then by when the act they
    record was first recorded, then by when each was recorded, then by id.

    A correction records again an act recorded before: it takes the place of the event it
    corrects (and of the one that event corrected, and so on), not the end of its day. By when
    it was recorded alone, correcting one of a day's events moved the act after the day's later
    events (a manufacture after the transfer that followed it), which changed the holder."""
    first_recorded = {event.id: event.recorded_at for event in events}
    corrections = [
        (event.id, corrective)
        for event in events
        if event.error_declaration is not None
        for corrective in event.error_declaration.corrective_event_ids
        if corrective in first_recorded
    ]
    if not corrections:  # the order the database reads them in (every trace's candidates)
        return list(range(len(events)))
    # Until nothing moves: a correction of a correction takes the first one's place too (the
    # times only fall, so this ends, corrections that name each other included).
    changed = True
    while changed:
        changed = False
        for corrected, corrective in corrections:
            if first_recorded[corrected] < first_recorded[corrective]:
                first_recorded[corrective] = first_recorded[corrected]
                changed = True
    return sorted(range(len(events)), key=lambda n: _chain_key(events[n], first_recorded))


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
    administrator: bool = False,
) -> None:
    """Refuse a declaration that an event was erroneous when the rules do not allow it: only
    the agency that recorded the event, or an administrator, may make one."""
    if recorded_by != declaring_agency and not administrator:
        raise PermissionDenied(
            "only the agency that recorded an event (or an administrator) may declare it erroneous"
        )
    if already_declared:
        raise StateConflict(ALREADY_DECLARED)
    if event_id in corrective_event_ids:
        raise StateConflict("an event cannot correct itself")
