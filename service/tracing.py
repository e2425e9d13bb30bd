"""A trace request, end to end: read the serial, search the registry tier by tier, weigh the
candidates, and attach their chains of custody; the view keeps the answer as it was given.

The hot path is two round trips: the candidates of the strong tiers with their chains (two
queries in one pipeline), then the stored trace with its audit entry (one statement, written by
the view: service.api.traces); a near-miss search is added only when no strong candidate fits
the description, and the exports of a certificate line only when a candidate's export took the
line over its quantity (its finding is worded by them for the tracing agency).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

from service.db import Connection
from service.domain import disclosure, matching
from service.domain.findings import ChainFacts
from service.domain.ids import uuid7
from service.domain.manufacturers import Directory
from service.domain.matching import Assessment, Candidate, Observation
from service.domain.records import AgencyRef
from service.domain.serials import normalise_name
from service.domain.traces import (
    CANDIDATES_SEARCHED,
    CANDIDATES_SHOWN,
    Interpretation,
    ManufacturerRef,
    ObservedWeapon,
    TraceAnswer,
    TraceCandidate,
    TraceContext,
)
from service.repository import chains, traces
from service.repository.rows import Row

# The longest normalised reading a near-miss search compares (PostgreSQL's levenshtein takes at
# most 255 characters; a 64-character reading may normalise to more: U+FDFA is 15 letters).
NEAR_MISS_LONGEST = 255
# Readings this long or shorter are also searched one edit from their skeleton (890 skeletons
# for 16 characters: 2.4 ms on the million-item data set).
SKELETON_ONE_EDIT_LONGEST = 20
STRONG_TIERS = ("EXACT", "NORMALISED", "CONFUSABLE", "NCIC")


@dataclass(frozen=True)
class Tracer:
    """Who traces, and what the registry is known by (the manufacturers' names)."""

    conn: Connection
    directory: Directory
    agency: AgencyRef
    verification_days: int

    def answer(
        self,
        weapon: ObservedWeapon,
        context: TraceContext,
        batch_id: UUID | None = None,
        max_candidates: int = CANDIDATES_SHOWN,
    ) -> TraceAnswer:
        """Answer one trace request, listing its best `max_candidates` candidates and every
        exact or normalised serial match (the caller stores it: repository.traces.insert)."""
        observation, manufacturer = self._observe(weapon)
        search = self._search(observation)
        ranked = matching.rank(search.assessments, max_candidates)
        today = datetime.now(UTC).date()
        item_ids = [a.candidate.item.id for a in ranked]
        facts = chains.facts(
            self.conn, item_ids, today, self.verification_days, prefetched=search.chain_entries
        )
        reading = observation.reading
        return TraceAnswer(
            id=uuid7(),
            status=matching.verdict(ranked),
            created_at=datetime.now(UTC),
            agency=self.agency,
            batch_id=batch_id,
            weapon=weapon,
            context=context,
            interpretation=Interpretation(
                reading.normalised,
                reading.pattern,
                manufacturer,
                search.tiers,
                candidates_found=len(search.assessments),
                search_limited=search.limited,
                max_candidates=max_candidates,
            ),
            candidates=tuple(
                _candidate(
                    self.agency.id, position, assessment, facts[assessment.candidate.item.id]
                )
                for position, assessment in enumerate(ranked, start=1)
            ),
        )

    def _observe(self, weapon: ObservedWeapon) -> tuple[Observation, ManufacturerRef | None]:
        known = None
        manufacturer_key = None
        resembles: frozenset[str] = frozenset()
        if weapon.manufacturer is not None:
            name_key = normalise_name(weapon.manufacturer)
            found = self.directory.resolve(name_key)
            manufacturer_key = found.key if found else name_key
            known = ManufacturerRef(found.key, found.name, found.country) if found else None
            if found is None:
                resembles = self.directory.resembled(name_key)
        observation = Observation(
            reading=matching.read_serial(weapon.serial_number),
            manufacturer=weapon.manufacturer,
            manufacturer_key=manufacturer_key,
            manufacturer_name=known.name if known else None,
            manufacturer_resembles=resembles,
            model=weapon.model,
            category=weapon.category,
            caliber=weapon.caliber,
            country_of_manufacture=weapon.country_of_manufacture,
            import_marking_countries=tuple(m.country for m in weapon.import_markings),
            obliterated=weapon.obliterated,
        )
        return observation, known

    def _search(self, observation: Observation) -> Search:
        reading, sought = observation.reading, _sought(observation)
        if reading.pattern is not None:
            return self._partial(observation, reading.pattern, sought)
        found, entries = traces.strong_candidates(
            self.conn, reading.normalised, matching.as_marked(reading), sought, CANDIDATES_SEARCHED
        )
        assessments = self._assess_all(observation, found)
        limited = _full(found)
        # A restored (obliterated) serial may be misread anywhere: search near misses anyway.
        near_misses_wanted = observation.obliterated or not any(a.is_strong for a in assessments)
        if near_misses_wanted and len(reading.normalised) <= NEAR_MISS_LONGEST:
            seen = {candidate.item.id for candidate in found}
            near, near_limited = self._near_misses(observation, sought, seen)
            tiers = (*STRONG_TIERS, "NEAR_MISS")
            return Search(assessments + near, tiers, entries, limited or near_limited)
        return Search(assessments, STRONG_TIERS, entries, limited)

    def _partial(self, observation: Observation, pattern: str, sought: traces.Sought) -> Search:
        """A partial reading by its pattern; then, when that found nothing sought (none of the
        named manufacturer's items, however many of other makers'; none at all when none is
        named), read loosely: a `?` where the marking has a separator, or a look-alike
        character read for another, found nothing before."""
        found = traces.wildcard_candidates(self.conn, pattern, sought, CANDIDATES_SEARCHED)
        limited = _full(found)
        if not any(_of_sought_maker(c, observation) for c in found):
            seen = {candidate.item.id for candidate in found}
            loose = traces.loose_wildcard_candidates(
                self.conn, matching.loose_regex(pattern), sought, CANDIDATES_SEARCHED
            )
            limited = limited or _full(loose)
            found += [candidate for candidate in loose if candidate.item.id not in seen]
        return Search(self._assess_all(observation, found), ("WILDCARD",), {}, limited)

    def _assess_all(
        self, observation: Observation, candidates: list[Candidate]
    ) -> list[Assessment]:
        assessed = (
            matching.assess(observation, self._with_recorded_name(observation, candidate))
            for candidate in candidates
        )
        return [assessment for assessment in assessed if assessment is not None]

    def _with_recorded_name(self, observation: Observation, candidate: Candidate) -> Candidate:
        """The candidate with the makers its recorded name reads like, when that name is not
        in the table and the trace names a maker that is (matching._manufacturer)."""
        key = candidate.manufacturer_key
        if (
            observation.manufacturer_name is None
            or key == observation.manufacturer_key
            or self.directory.resolve(key) is not None
        ):
            return candidate
        return replace(candidate, recorded_resembles=self.directory.resembled(key))

    def _near_misses(
        self, observation: Observation, sought: traces.Sought, seen: set[UUID]
    ) -> tuple[list[Assessment], bool]:
        """Serials within two edits (look-alikes read for one another costing none), until a
        near miss of the named manufacturer (of any, when none is named) is found: for a serial
        of SKELETON_ONE_EDIT_LONGEST characters or fewer, those whose skeleton is one edit from
        the reading's; every item of the named maker within two edits (for a longer reading,
        the narrow search follows whatever it found); a narrow trigram search; the same with
        the reading's skeleton when it has look-alike letters; then a wide trigram search. A
        near miss of another maker's stopped the search before: the named maker's item, which
        only the wide search reached, was not listed. The one-edit search runs first whatever
        the length: after the trigram searches, for 7 to 20 characters, a near miss two edits
        away that they found ended the search before the one a single edit away (`BOSS12345`
        read `80551234`) was sought. With them, whether a search found as many items as it
        keeps."""
        serial = observation.reading.normalised
        own_skeleton = matching.skeleton(serial)
        searched = CANDIDATES_SEARCHED

        def one_edit() -> list[Candidate]:
            skeletons = matching.one_edit_skeletons(serial)
            return traces.one_edit_candidates(self.conn, skeletons, sought, searched)

        near_miss = partial(traces.near_miss_candidates, self.conn)
        # Each search, and whether a near miss of the named maker found by it ends the search.
        searches: list[tuple[Callable[[], list[Candidate]], bool]] = []
        # Trigrams miss a short serial's transpositions (`3958`, `3598`), and a registered
        # serial with look-alike letters (`BOSS12345`) shares none with a reading of digits
        # (`80551234`): one edit from its skeleton, on the skeleton's btree (a few hundred
        # probes, 1-3 ms), first, so that no near miss two edits away ends the search before.
        if len(serial) <= SKELETON_ONE_EDIT_LONGEST:
            searches.append((one_edit, True))
        # The named maker's items within two edits, every one: the trigram searches lose a
        # short serial two characters wrong, and of several two edits away they found one and
        # ended the search before the others (readings two edits from weapons of the benchmark's
        # million items listed them 375 times in 1,000, 599 now: bench/near_misses). Read
        # whole, the maker's serials are a btree's range (8-25 ms for the biggest maker there),
        # and a trigram search follows only when none of them is near: for another maker's.
        # Past SKELETON_ONE_EDIT_LONGEST no search has sought another maker's serials one edit
        # away, and past SWAPPED_TWICE_LONGEST the maker's two transpositions are not sought:
        # the narrow trigram search follows, whatever the maker's search found (ended there, a
        # reading of 22 characters lost another maker's serial one edit away when the maker had
        # one two edits away).
        if sought.manufacturer_key is not None:
            of_maker = partial(traces.maker_near_miss_candidates, self.conn, serial, sought,
                               searched)  # fmt: skip
            searches.append((of_maker, len(serial) <= SKELETON_ONE_EDIT_LONGEST))
        searches.append((partial(near_miss, serial, sought, searched), True))
        # A reading with look-alike letters (`WI234S6`) shares few trigrams with its serial
        # (`W1234567`); its skeleton shares them with the serials of digits most serials are.
        if own_skeleton != serial:
            searches.append((partial(near_miss, own_skeleton, sought, searched), True))
        searches.append((partial(near_miss, serial, sought, searched, wide=True), True))
        near: list[Assessment] = []
        limited = False
        for search, ends in searches:
            found = search()
            limited = limited or _full(found)
            fresh = [candidate for candidate in found if candidate.item.id not in seen]
            seen = seen | {candidate.item.id for candidate in fresh}
            near += self._assess_all(observation, fresh)
            if ends and any(_is_sought(a, observation) for a in near):
                break
        return near, limited


def _full(found: list[Candidate]) -> bool:
    """Whether a search found as many items as it keeps: more may match."""
    return len(found) >= CANDIDATES_SEARCHED


def _is_sought(assessment: Assessment, observation: Observation) -> bool:
    """A near miss, of the named manufacturer when one is named."""
    of_maker = _of_sought_maker(assessment.candidate, observation)
    return assessment.basis is matching.Basis.NEAR_MISS and of_maker


def _sought(observation: Observation) -> traces.Sought:
    """What the searches keep first when more items match than they keep: the named maker's
    items, then the named model's."""
    model = observation.model
    return traces.Sought(
        observation.manufacturer_key,
        _resembled_key(observation),
        normalise_name(model) if model is not None else None,
    )


def _resembled_key(observation: Observation) -> str | None:
    """The key of the one maker a name not in the table reads like (matching.names_alike), which
    the searches put first with the name's own key, as _of_sought_maker seeks both: with only
    the name's key first (no item of the table's maker has it), a misspelt `Glok` lost the Glock
    pistol past a search's limit to fifty other makers' serials, though `Glock` found it first."""
    resembles = observation.manufacturer_resembles
    if observation.manufacturer_name is None and len(resembles) == 1:
        return next(iter(resembles))
    return None


def _of_sought_maker(candidate: Candidate, observation: Observation) -> bool:
    """Whether a candidate is of the manufacturer named (any, when none is): for a name not in
    the table, of the one maker it reads like (matching.names_alike). The key of such a name
    is no item's, and every further search ran for it."""
    named, resembles = observation.manufacturer_key, observation.manufacturer_resembles
    if named is None or candidate.manufacturer_key == named:
        return True
    return len(resembles) == 1 and candidate.manufacturer_key in resembles


@dataclass(frozen=True)
class Search:
    """What the tiers found, which tiers ran, and the chain entries already read with them."""

    assessments: list[Assessment]
    tiers: tuple[str, ...]
    chain_entries: dict[UUID, list[Row]]
    # a search found as many items as it keeps: more may match
    limited: bool = False


def _candidate(
    viewer: UUID, rank: int, assessment: Assessment, facts: ChainFacts
) -> TraceCandidate:
    """A candidate with its chain as the tracing agency may see it."""
    chain = disclosure.chain_for(viewer, assessment.candidate.item, facts)
    return TraceCandidate(
        rank=rank,
        score=assessment.score,
        match_basis=assessment.basis.name,
        differences=assessment.differences,
        item=chain.item,
        status=chain.status,
        status_since=chain.status_since,
        current_holder=chain.current_holder,
        current_owner=chain.current_owner,
        last_known_holder=chain.last_known_holder,
        findings=chain.findings,
        events=chain.events,
    )
