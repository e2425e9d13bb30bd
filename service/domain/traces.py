"""Trace requests and the answers they get (kept whole, as given on the day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from service.domain.matching import Difference
from service.domain.records import (
    AgencyRef,
    CustodyEvent,
    Finding,
    ImportMarking,
    Item,
    RedactedEvent,
    ShownParty,
)

# Candidates listed in an answer unless the request asks for more (max_candidates), and the most
# it may ask for: as many as a search keeps of each tier (service.tracing), so that a partial
# reading that fits a few dozen serials of one maker and model, which the rest of the
# description cannot tell apart, can list every one it found.
CANDIDATES_SHOWN = 10
CANDIDATES_SEARCHED = 50


@dataclass(frozen=True, slots=True)
class ObservedWeapon:
    """What was read off the weapon. `?` in the serial is one unreadable character, `*` a run."""

    serial_number: str
    manufacturer: str | None = None
    model: str | None = None
    category: str | None = None
    caliber: str | None = None
    country_of_manufacture: str | None = None
    import_markings: tuple[ImportMarking, ...] = ()
    obliterated: bool = False


@dataclass(frozen=True, slots=True)
class TraceContext:
    """Why the weapon is traced, as tracing practice asks."""

    case_reference: str
    purpose: str
    legal_basis: str | None = None
    requesting_officer: str | None = None
    seizure_country: str | None = None
    seized_on: date | None = None


@dataclass(frozen=True, slots=True)
class ManufacturerRef:
    key: str
    name: str
    country: str | None


@dataclass(frozen=True, slots=True)
class Interpretation:
    """How the service read the request: what it searched for, and how much it found."""

    serial_normalised: str
    serial_pattern: str | None
    manufacturer: ManufacturerRef | None
    tiers_searched: tuple[str, ...]
    # Every item whose serial matched (the answer lists the best of them), and whether a search
    # found as many items as it keeps (CANDIDATES_SEARCHED), so that more may match: a partial
    # reading that fits thousands of serials listed ten, and said nothing. (Absent from the
    # answers stored before 2026-12-07.)
    candidates_found: int = 0
    search_limited: bool = False
    # The most candidates the request asked to list (absent before 2026-12-08: ten).
    max_candidates: int = CANDIDATES_SHOWN


@dataclass(frozen=True, slots=True)
class TraceCandidate:
    """A registered item that may be the weapon, with its chain of custody."""

    rank: int
    score: float
    match_basis: str
    differences: tuple[Difference, ...]
    item: Item
    status: str
    status_since: date | None
    current_holder: ShownParty | None
    current_owner: ShownParty | None
    last_known_holder: ShownParty | None
    findings: tuple[Finding, ...]
    events: tuple[CustodyEvent | RedactedEvent, ...]


@dataclass(frozen=True, slots=True)
class TraceAnswer:
    id: UUID
    status: str
    created_at: datetime
    agency: AgencyRef
    batch_id: UUID | None
    weapon: ObservedWeapon
    context: TraceContext
    interpretation: Interpretation
    candidates: tuple[TraceCandidate, ...]


@dataclass(frozen=True, slots=True)
class TraceDisclosure:
    """What a stored trace disclosed: its case, the serial read and the candidate items."""

    id: UUID
    case_reference: str | None
    purpose: str | None
    serial_number: str
    candidate_item_ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """A stored trace in a list (GET /v1/traces)."""

    id: UUID
    status: str
    created_at: datetime
    batch_id: UUID | None
    case_reference: str | None
    serial_number: str
    candidate_count: int
