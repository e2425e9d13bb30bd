"""Diversion analysis: what is wrong with a chain of custody, how sure we are, and which records
prove it. One small function per rule, fed by the facts the repository loads with the chain.

An end-user certificate (EUC) promises that the weapons stay with the named end user in the named
country and are not re-exported without the exporter's written consent; diversion is the moment
that promise breaks. The rules read the chain's standing events in order (events declared
erroneous do not count) and the certificates, consents and verifications behind them.

Severity: ALERT (the record shows a breach or a weapon out of lawful hands), WARNING (the record
is inconsistent or incomplete where it should not be), INFO (worth knowing, not wrong).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from uuid import UUID

from service.domain.custody import (
    BACK_IN_HAND,
    OUT_OF_LAWFUL_HANDS,
    TRANSFER_TYPES,
    holders_after,
    summarise,
    under,
)
from service.domain.records import (
    CustodyChain,
    CustodyEvent,
    CustodyState,
    Finding,
    Item,
    RedactedParty,
    Reference,
)
from service.domain.serials import normalise_name

SEVERITIES = ("ALERT", "WARNING", "INFO")


@dataclass(frozen=True, slots=True)
class Certificate:
    """What the rules need to know about an end-user certificate."""

    id: UUID
    certificate_number: str
    destination_country: str
    end_user_party_id: UUID
    expires_on: date | None
    non_reexport_clause: bool
    revoked_on: date | None = None
    revocation_id: UUID | None = None
    issued_on: date | None = None
    # the exporter the certificate names (None: it names none)
    exporter_party_id: UUID | None = None

    def in_force(self, on: date) -> bool:
        """Whether the certificate was not yet revoked on that day: a consent granted once its
        revocation took effect (one recorded before a revocation backdated past it) allows
        nothing."""
        return self.revoked_on is None or on < self.revoked_on


@dataclass(frozen=True, slots=True)
class LineUse:
    """How many items had been shipped under a certificate line once a shipment was made (that
    shipment and every standing one before it)."""

    euc_id: UUID
    line_number: int
    quantity: int
    shipped_through: int
    # Set for a reader from whom some export under the line is withheld (another agency's
    # restricted one: service.domain.disclosure): the finding then says no number it could not
    # count itself. How many of the items shipped through were shipped by exports it may see
    # (None: not known).
    partly_withheld: bool = False
    seen_through: int | None = None
    # the goods the line authorises (None: it names no category, or no model)
    category: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class LineExport:
    """A standing export under a certificate line, as the wording of a line taken over its
    quantity needs it: where it falls in the line's order, its items, and who may see it."""

    id: UUID
    occurred_on: date
    # when the act it records was first recorded: a correction's is that of the export it
    # corrects (corrected_acts in schema.sql)
    act_recorded_at: datetime
    recorded_at: datetime
    item_ids: frozenset[UUID]
    classification: str | None
    recorded_by: UUID

    @property
    def place(self) -> tuple[date, datetime, datetime, UUID]:
        """Where it falls among the line's exports (the order of event_details'
        euc_line_shipped_through)."""
        return (self.occurred_on, self.act_recorded_at, self.recorded_at, self.id)


@dataclass(frozen=True, slots=True)
class Consent:
    """The exporter's consent to re-transfer (re-export) items of a certificate."""

    id: UUID
    euc_id: UUID
    granted_on: date
    new_end_user_party_id: UUID | None
    new_destination_country: str
    # whether it covers the chain's item (a consent that names no item covers every one)
    covers_item: bool = True
    # withdrawn as recorded in error: it allows nothing, and never did
    withdrawn: bool = False
    # it gives a quantity and names no items, and other items of the certificate, which moved
    # under it first, took all of it (service.domain.consent_shares): covers_item is False
    spent: bool = False
    quantity: int | None = None  # at most this many items (None: no number given)

    def covers(self, event: CustodyEvent) -> bool:
        """Whether this consent allowed the event's re-transfer of the chain's item."""
        return not self.withdrawn and self.would_cover(event)

    def would_cover(self, event: CustodyEvent) -> bool:
        """Whether this consent, were it not withdrawn, would allow the event's re-transfer."""
        return self.covers_item and self.reaches(event)

    def spent_before(self, event: CustodyEvent) -> bool:
        """Whether this consent would allow the event's re-transfer but for its quantity,
        which other items took before it."""
        return self.spent and not self.withdrawn and self.reaches(event)

    def reaches(self, event: CustodyEvent) -> bool:
        """Whether the move goes where, and when, this consent allows re-transfers."""
        if self.granted_on > event.occurred_on:
            return False
        # Its new end user may hold the item, or own it in a forwarder's or an importing
        # agency's hands, as Authorisation.allows takes the certificate's end user.
        keepers = {p.id for p in (event.to_party, event.owner_party) if p is not None}
        goes_to = self.new_end_user_party_id is None or self.new_end_user_party_id in keepers
        return goes_to and _destination(event) in (self.new_destination_country, None)


@dataclass(frozen=True, slots=True)
class Verification:
    """A post-shipment check that goods under a certificate reached its end user."""

    id: UUID
    euc_id: UUID
    verified_on: date
    # whether the chain's item was seen (a verification that names no item saw the shipment)
    covers_item: bool = True


@dataclass(frozen=True)
class ChainFacts:
    """An item's events in chain order (erroneous ones included) and the records behind them."""

    item_id: UUID
    events: tuple[CustodyEvent, ...]
    today: date
    certificates: Mapping[UUID, Certificate] = field(default_factory=dict)
    line_use: Mapping[UUID, LineUse] = field(default_factory=dict)  # by event id
    # The standing exports of each line (by certificate and line number) that an export of the
    # chain took over its quantity; None when they were not read (service.repository.chains
    # reads them for the chains it shows that hold such an export; the alert list, which keeps
    # codes only, does not).
    line_exports: Mapping[tuple[UUID, int], tuple[LineExport, ...]] | None = None
    consents: tuple[Consent, ...] = ()
    verifications: tuple[Verification, ...] = ()
    verified_parties: frozenset[UUID] = frozenset()
    verification_period_days: int = 180
    # The events the reader may not see (another agency's restricted ones: set by
    # service.domain.disclosure). The chain's course is judged on every event; where it leaves
    # the item, as the reader sees it: the status shown, and the rules that speak of it.
    withheld: frozenset[UUID] = frozenset()
    # The restricted events the chain's error declarations name as corrective, by the agency
    # that recorded each (read by service.repository.chains.facts; the alert list, which keeps
    # codes only, does not): a declaration's explanation is withheld with them.
    restricted_correctives: Mapping[UUID, UUID] = field(default_factory=dict)
    # The item the chain is of (what a certificate line's goods are held against), set by
    # chain_of and disclosure.chain_for: the rules that read it pass over a chain without it.
    item: Item | None = None

    @cached_property
    def standing(self) -> list[CustodyEvent]:
        """The events not declared erroneous (every rule reads them: worked out once)."""
        return [event for event in self.events if event.stands]

    @cached_property
    def seen_standing(self) -> list[CustodyEvent]:
        """The standing events the reader may see."""
        if not self.withheld:
            return self.standing
        return [event for event in self.standing if event.id not in self.withheld]

    def withheld_after(self, event: CustodyEvent) -> bool:
        """Whether a standing event the reader may not see comes after this one."""
        if not self.withheld:
            return False
        later = self.standing[self.standing.index(event) + 1 :]
        return any(other.id in self.withheld for other in later)

    @cached_property
    def state(self) -> CustodyState:
        """Where the events the reader may see leave the item (the chain and three rules read
        it: worked out once)."""
        if not self.withheld:
            return summarise(self.events)
        return summarise(event for event in self.events if event.id not in self.withheld)

    @cached_property
    def exported_under(self) -> frozenset[UUID]:
        """The certificates a standing export of the chain was made under (read per import by
        six rules: worked out once)."""
        return frozenset(
            e.euc.id for e in self.standing if e.event_type == "EXPORT" and e.euc is not None
        )

    def certificate_of(self, event: CustodyEvent) -> Certificate | None:
        return self.certificates.get(event.euc.id) if event.euc else None


Rule = Callable[[ChainFacts], Iterator[Finding]]


def chain_of(item: Item, facts: ChainFacts) -> CustodyChain:
    """The item's chain of custody: its events, where they leave it, and what is wrong."""
    facts = of_item(item, facts)
    state = facts.state
    return CustodyChain(
        item=item,
        status=state.status,
        status_since=state.status_since,
        current_holder=state.current_holder,
        current_owner=state.current_owner,
        last_known_holder=state.last_known_holder,
        findings=analyse(facts),
        events=facts.events,
    )


def of_item(item: Item, facts: ChainFacts) -> ChainFacts:
    """The facts with the item they are of."""
    return facts if facts.item is item else replace(facts, item=item)


def analyse(facts: ChainFacts) -> tuple[Finding, ...]:
    """Every finding on the chain, the most severe first, each rule's in chain order."""
    found = [finding for rule in RULES for finding in rule(facts)]
    return tuple(sorted(found, key=lambda finding: SEVERITIES.index(finding.severity)))


def _event(event: CustodyEvent) -> Reference:
    return Reference("event", event.id)


def _certificate(certificate: Certificate) -> Reference:
    return Reference("certificate", certificate.id)


def _consent(consent: Consent) -> Reference:
    return Reference("consent", consent.id)


def _shipped(event: CustodyEvent) -> str:
    """ "Exported", or "Imported" for an import that is the shipment of its certificate."""
    return "Imported" if event.event_type == "IMPORT" else "Exported"


def _destination(event: CustodyEvent) -> str:
    return event.destination_country or event.country


def _shipments(facts: ChainFacts) -> Iterator[tuple[CustodyEvent, Certificate]]:
    """The standing exports made under a certificate the registry holds; under one with no
    export on record, its imports (an importing state's records: the import stands for the
    shipment where a rule judges where, when and under what it went, and one into another
    country, to another party, or under a certificate revoked, expired or not yet issued raised
    nothing, nor did what followed it). A certificate line's count and the delivery's
    verification are the exports' alone (an import names no line)."""
    for event in facts.standing:
        certificate = facts.certificate_of(event)
        if certificate is None:
            continue
        if event.event_type == "EXPORT" or (
            event.event_type == "IMPORT" and certificate.id not in facts.exported_under
        ):
            yield event, certificate


# The certificate behind each shipment (an export; an import under a certificate with no export) -


def destination_mismatch(facts: ChainFacts) -> Iterator[Finding]:
    """A shipment under a certificate went to another party or country than the certificate's."""
    for event, certificate in _shipments(facts):
        receivers = {p.id for p in (event.to_party, event.owner_party) if p is not None}
        country = _destination(event)
        wrong_country = country != certificate.destination_country
        if wrong_country or certificate.end_user_party_id not in receivers:
            where = (
                f"to {country}, the certificate names {certificate.destination_country}"
                if wrong_country
                else "to a party other than the certificate's end user"
            )
            yield Finding(
                "DESTINATION_MISMATCH",
                "ALERT",
                f"{_shipped(event)} on {event.occurred_on} under {certificate.certificate_number} "
                f"{where}.",
                (_event(event), _certificate(certificate)),
            )


def exporter_mismatch(facts: ChainFacts) -> Iterator[Finding]:
    """A shipment under a certificate was sent by a party other than the exporter it names, and
    the record never shows that exporter with the item before it: the certificate, made out for
    one supplier's deal, covered another's shipment (a forwarder's export of goods the exporter
    handed it, or owns in its hands, shows the exporter before, and is no mismatch)."""
    for event, certificate in _shipments(facts):
        exporter = certificate.exporter_party_id
        if exporter is None or event.from_party is None:
            continue
        upto = facts.standing[: facts.standing.index(event) + 1]
        if any(exporter in _parties_of(earlier) for earlier in upto):
            continue
        yield Finding(
            "EXPORTER_MISMATCH",
            "WARNING",
            f"{_shipped(event)} on {event.occurred_on} under {certificate.certificate_number}, "
            "sent by a party other than the exporter the certificate names, whom the record does "
            "not show with the item before it.",
            (_event(event), _certificate(certificate)),
        )


def _parties_of(event: CustodyEvent) -> set[UUID]:
    return {p.id for p in (event.from_party, event.to_party, event.owner_party) if p is not None}


def euc_expired(facts: ChainFacts) -> Iterator[Finding]:
    """Shipped after the certificate had expired."""
    for event, certificate in _shipments(facts):
        if certificate.expires_on is not None and event.occurred_on > certificate.expires_on:
            yield Finding(
                "EUC_EXPIRED",
                "ALERT",
                f"{_shipped(event)} on {event.occurred_on} under {certificate.certificate_number}, "
                f"which expired on {certificate.expires_on}.",
                (_event(event), _certificate(certificate)),
            )


def euc_not_yet_issued(facts: ChainFacts) -> Iterator[Finding]:
    """Shipped before the certificate was issued: no certificate authorised the shipment, and
    one dated after it is the mark of papers made to cover a shipment already made."""
    for event, certificate in _shipments(facts):
        if certificate.issued_on is not None and event.occurred_on < certificate.issued_on:
            yield Finding(
                "EUC_NOT_YET_ISSUED",
                "ALERT",
                f"{_shipped(event)} on {event.occurred_on} under {certificate.certificate_number}, "
                f"which was issued only on {certificate.issued_on}.",
                (_event(event), _certificate(certificate)),
            )


def euc_revoked(facts: ChainFacts) -> Iterator[Finding]:
    """Shipped under a revoked certificate (an alert), or under one revoked since (a warning)."""
    for event, certificate in _shipments(facts):
        revoked_on = certificate.revoked_on
        if revoked_on is None or certificate.revocation_id is None:
            continue
        after = event.occurred_on >= revoked_on
        if event.occurred_on == revoked_on:  # it read "after it was revoked, on" the same day
            when = ", the day it was revoked"
        else:
            when = " after it was revoked" if after else " and the certificate was revoked later"
            when += f", on {revoked_on}"
        yield Finding(
            "EUC_REVOKED",
            "ALERT" if after else "WARNING",
            f"{_shipped(event)} on {event.occurred_on} under "
            f"{certificate.certificate_number}{when}.",
            (
                _event(event),
                _certificate(certificate),
                Reference("revocation", certificate.revocation_id),
            ),
        )


def euc_quantity_exceeded(facts: ChainFacts) -> Iterator[Finding]:
    """This item's shipment took the certificate line over its authorised quantity."""
    for event, certificate in _shipments(facts):
        use = facts.line_use.get(event.id)
        if use is not None and use.shipped_through > use.quantity:
            yield Finding(
                "EUC_QUANTITY_EXCEEDED",
                "ALERT",
                f"With the shipment of {event.occurred_on}, {_shipped_said(use, certificate)}",
                (_event(event), _certificate(certificate)),
            )


def euc_line_mismatch(facts: ChainFacts) -> Iterator[Finding]:
    """This item was shipped under a certificate line that authorises other goods: another
    category (an ALERT: a pistol is no rifle, whatever the papers say), or, of the same
    category, a model whose name neither holds the other's (a WARNING: makers and clerks spell
    one model several ways, "FAL" and "FN FAL 50.00")."""
    item = facts.item
    if item is None:
        return
    for event, certificate in _shipments(facts):
        use = facts.line_use.get(event.id)
        if use is None:
            continue
        if use.category is not None and use.category != item.category:
            severity, goods = "ALERT", f"{_a(item.category)} {item.model}"
            authorised = _goods(use.category, use.model)
        elif use.model is not None and not _models_alike(use.model, item.model):
            severity, goods = "WARNING", f"the model {item.model}"
            authorised = f"the model {use.model}"
        else:
            continue
        yield Finding(
            "EUC_LINE_MISMATCH",
            severity,
            f"{_shipped(event)} on {event.occurred_on} under line {use.line_number} of "
            f"{certificate.certificate_number}, which authorises {authorised}, though the item "
            f"is {goods}.",
            (_event(event), _certificate(certificate)),
        )


def _goods(category: str, model: str | None) -> str:
    named = category.lower().replace("_", " ") + "s"
    return named if model is None else f"{named} ({model})"


def _a(category: str) -> str:
    named = category.lower().replace("_", " ")
    return f"{'an' if named[0] in 'aeiou' else 'a'} {named}"


def _models_alike(authorised: str, shipped: str) -> bool:
    line, item = normalise_name(authorised), normalise_name(shipped)
    return bool(line and item) and (line in item or item in line)


def _shipped_said(use: LineUse, certificate: Certificate) -> str:
    """How many items the line held by then, as the reader may count them: to a reader from
    whom some of its exports are withheld, the number counted with them would tell how many
    items those exports shipped before the day, where the certificate's usage tells only how
    many the line holds today (its `withheld`); so it is told that the count went over, and
    what it may count itself."""
    line = f"line {use.line_number} of {certificate.certificate_number}"
    if not use.partly_withheld:
        return (
            f"{use.shipped_through} items had been shipped under {line}, which authorises "
            f"{use.quantity}."
        )
    seen = (
        ""
        if use.seen_through is None
        else f"; {use.seen_through} of them, this one included, by the exports you may see"
    )
    return (
        f"more items had been shipped under {line} than the {use.quantity} it authorises, "
        "counting the exports under the line that other agencies restricted, whose items and "
        f"days are withheld from you{seen}."
    )


def euc_not_verified(facts: ChainFacts) -> Iterator[Finding]:
    """No delivery verification of the item within the configured period after the export (a
    warning), or only a late one (for information)."""
    days = facts.verification_period_days
    for event, certificate in _shipments(facts):
        if event.event_type != "EXPORT":
            continue  # an importing state's own record of the import is its delivery
        deadline = event.occurred_on + timedelta(days=days)
        checks = sorted(
            v.verified_on
            for v in facts.verifications
            if v.euc_id == certificate.id and v.covers_item and v.verified_on >= event.occurred_on
        )
        if (checks and checks[0] <= deadline) or (not checks and facts.today <= deadline):
            continue
        late = f", only on {checks[0]}" if checks else ""
        yield Finding(
            "EUC_NOT_VERIFIED",
            "INFO" if checks else "WARNING",
            f"The delivery to the end user of {certificate.certificate_number} was not verified "
            f"in the {days} days after the export of {event.occurred_on}{late}.",
            (_event(event), _certificate(certificate)),
        )


# After delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorisation:
    """Who may hold the item, and where, under the last certificate it was exported (or, with
    no export under it on record, imported) under and the consents recorded since."""

    start: CustodyEvent  # the export, or the import, the certificate was first used for
    certificate: Certificate
    end_user_party_id: UUID | None  # None: a consent that names no new end user
    country: str
    consent: Consent | None = None

    def allows(self, event: CustodyEvent) -> bool:
        """Whether the item is still with an allowed keeper (holder or owner), in the country."""
        keepers = {p.id for p in (event.to_party, event.owner_party) if p is not None}
        holder_allowed = self.end_user_party_id is None or self.end_user_party_id in keepers
        return holder_allowed and _destination(event) == self.country

    def references(self) -> tuple[Reference, ...]:
        consent = (_consent(self.consent),) if self.consent else ()
        return (_event(self.start), _certificate(self.certificate), *consent)


@dataclass(frozen=True)
class Step:
    """A standing event, what was authorised before it, and what it did: KEEPS (within what is
    allowed), CONSENTED (a move a consent covers), BREAKS (a move nothing covers), or OTHER."""

    event: CustodyEvent
    before: Authorisation | None
    outcome: str


def steps(facts: ChainFacts) -> Iterator[Step]:
    """Each standing event with what was authorised before it and what it did, in chain order
    (the re-transfer rules read them; so does the share-out of consents of a quantity,
    service.domain.consent_shares)."""
    current: Authorisation | None = None
    for event in facts.standing:
        outcome, after = "OTHER", current
        if current is not None and event.event_type in TRANSFER_TYPES:
            outcome, after = _move(facts, current, event)
            if outcome == "BREAKS" and event.id in facts.withheld:
                # Its finding is left out for the reader (it rests on a withheld event), and
                # what follows is judged against what was authorised before it. Taken as
                # downstream of the breach, a move the reader's own records show from the end
                # user out of its country went unflagged, where after a withheld lawful move
                # it was flagged: the finding told which the withheld move was.
                after = current
        yield Step(event, current, outcome)
        current = after
        certificate = facts.certificate_of(event)
        if certificate is not None and _starts_authorisation(facts, event, certificate, current):
            # A misdirected export authorises nothing: its breach is DESTINATION_MISMATCH.
            start = Authorisation(event, certificate, certificate.end_user_party_id,
                                  certificate.destination_country)  # fmt: skip
            current = start if start.allows(event) else None


def _starts_authorisation(
    facts: ChainFacts, event: CustodyEvent, certificate: Certificate, current: Authorisation | None
) -> bool:
    """An export under a certificate; or an import under one when no export under it is on
    record (an importing state's registry often records the import alone: the certificate
    binds its end user and country all the same, and a re-export or a seizure abroad after it
    went unflagged, as it did once the export before it was declared erroneous). Where an
    export under it stands, the export decides: a misdirected one authorises nothing, and an
    import dated before its export is a record out of order, not a start."""
    if event.event_type == "EXPORT":
        return True
    if event.event_type != "IMPORT" or certificate.id in facts.exported_under:
        return False
    return current is None or current.certificate.id != certificate.id


def _move(
    facts: ChainFacts, current: Authorisation, event: CustodyEvent
) -> tuple[str, Authorisation | None]:
    """What a transfer does to what is authorised (and what is authorised after it)."""
    if current.allows(event):
        return "KEEPS", current
    certificate = current.certificate
    # Revoked by the day of the move, the certificate allows nothing, under a consent granted
    # before the revocation too (a consent granted on or after it never allowed anything).
    consent = next(iter(_covering(facts, certificate, event)), None)
    if not certificate.in_force(event.occurred_on):
        consent = None
    if consent is None:
        return "BREAKS", None  # what follows is downstream of the breach
    moved = Authorisation(current.start, certificate, consent.new_end_user_party_id,
                          consent.new_destination_country, consent)  # fmt: skip
    return "CONSENTED", moved


def retransfer_without_consent(facts: ChainFacts) -> Iterator[Finding]:
    """Custody left the certificate's end user, or its destination country (or those a consent
    allowed since), with no consent covering the move."""
    for step in steps(facts):
        if step.outcome != "BREAKS":
            continue
        allowed, event = step.before, step.event
        assert allowed is not None
        certificate = allowed.certificate
        abroad = _destination(event) != allowed.country
        severity = "ALERT" if abroad or certificate.non_reexport_clause else "WARNING"
        where = f"out of {allowed.country}" if abroad else "away from its authorised end user"
        forbids = " (which forbids re-export)" if certificate.non_reexport_clause else ""
        withdrawn = _withdrawn_cover(facts, certificate, event)
        lapsed = _lapsed_cover(facts, certificate, event)
        spent = _spent_cover(facts, certificate, event)
        if abroad and _arrival(facts, allowed, event):
            # The shipment itself, imported elsewhere: it never reached the end use country.
            moved = (
                f"Import on {event.occurred_on} into {_destination(event)} under "
                f"{certificate.certificate_number}{forbids}, a certificate for end use in "
                f"{certificate.destination_country}: diverted in transit, perhaps"
            )
        else:
            moved = (
                f"{event.event_type.capitalize()} on {event.occurred_on} moved the item {where}, "
                f"{_DONE[allowed.start.event_type]} under {certificate.certificate_number}"
                f"{forbids}"
            )
        yield Finding(
            "RETRANSFER_WITHOUT_CONSENT",
            severity,
            f"{moved}; no consent to re-transfer covers it."
            + _withdrawn_said(withdrawn)
            + _lapsed_said(lapsed, certificate)
            + _spent_said(spent),
            (
                _event(event),
                *allowed.references(),
                *(_consent(c) for c in withdrawn + lapsed + spent),
            ),
        )


def _arrival(facts: ChainFacts, allowed: Authorisation, event: CustodyEvent) -> bool:
    """Whether an import is the arrival of the export under the certificate that began what is
    allowed: the first import under it since, with no consent between (an import abroad years
    after the delivery, or after a consented re-export, is no shipment diverted in transit)."""
    start = allowed.start
    if event.event_type != "IMPORT" or start.event_type != "EXPORT" or allowed.consent:
        return False
    certificate = allowed.certificate.id
    if not under(event, certificate):
        return False
    between = facts.standing[facts.standing.index(start) + 1 : facts.standing.index(event)]
    return not any(e.event_type == "IMPORT" and under(e, certificate) for e in between)


def _withdrawn_said(withdrawn: list[Consent]) -> str:
    """What the withdrawn consents that covered a move were, in one sentence: a sentence per
    consent said the same words twice for two consents of one day."""
    if not withdrawn:
        return ""
    if len(withdrawn) == 1:
        return (
            f" The consent of {withdrawn[0].granted_on} that covered it was withdrawn as "
            "recorded in error."
        )
    return (
        f" The {len(withdrawn)} consents that covered it, of {_days_said(withdrawn)}, were "
        "withdrawn as recorded in error."
    )


def _days_said(consents: list[Consent]) -> str:
    """The days the consents were granted on, each once: "2013-01-10 and 2013-01-20"."""
    days = [str(day) for day in sorted({c.granted_on for c in consents})]
    return days[0] if len(days) == 1 else ", ".join(days[:-1]) + " and " + days[-1]


def _withdrawn_cover(
    facts: ChainFacts, certificate: Certificate, event: CustodyEvent
) -> list[Consent]:
    """The withdrawn consents that would have covered a move: an investigator who saw it read
    as consented before is told why it no longer is."""
    return [
        c
        for c in facts.consents
        if c.withdrawn
        and c.euc_id == certificate.id
        and c.would_cover(event)
        and certificate.in_force(event.occurred_on)
    ]


def _lapsed_cover(
    facts: ChainFacts, certificate: Certificate, event: CustodyEvent
) -> list[Consent]:
    """The standing consents, granted before the certificate's revocation, that would cover a
    move made once it was revoked: the investigator reading the certificate sees a consent for
    the move, and is told why it does not count."""
    if certificate.in_force(event.occurred_on):
        return []
    # A consent of a quantity whose share the item never took (the share-out gives none once
    # the certificate is revoked) lapsed all the same, and is said to.
    return [
        c
        for c in facts.consents
        if c.euc_id == certificate.id
        and not c.withdrawn
        and (c.covers_item or c.spent)
        and c.reaches(event)
        and certificate.in_force(c.granted_on)
    ]


def _spent_cover(facts: ChainFacts, certificate: Certificate, event: CustodyEvent) -> list[Consent]:
    """The consents that would cover a move but for their quantity, which other items of the
    certificate took, moving under them first: an investigator reading the certificate sees a
    consent for the move, and is told why it does not count."""
    if not certificate.in_force(event.occurred_on):
        return []
    return [c for c in facts.consents if c.euc_id == certificate.id and c.spent_before(event)]


def _spent_said(spent: list[Consent]) -> str:
    """What the consents whose quantity went to other items were, in one sentence."""
    if not spent:
        return ""
    items = sum(c.quantity or 0 for c in spent)
    counted = "1 item" if items == 1 else f"{items:,} items"
    if len(spent) == 1:
        granted = f"The consent of {spent[0].granted_on} that would cover it allowed"
        under = "it"
    else:
        granted = f"The {len(spent)} consents that would cover it, of {_days_said(spent)}, allowed"
        under = "them"
    taken = "another item" if items == 1 else "other items"
    return (
        f" {granted} {counted}, taken by {taken} of the certificate that moved under {under} first."
    )


def _covering(facts: ChainFacts, certificate: Certificate, event: CustodyEvent) -> list[Consent]:
    """The standing consents to re-transfer under the certificate that cover the move."""
    return [c for c in facts.consents if c.euc_id == certificate.id and c.covers(event)]


def _lapsed_said(lapsed: list[Consent], certificate: Certificate) -> str:
    if not lapsed:
        return ""
    days = _days_said(lapsed)
    granted = f"The consent of {days}" if len(lapsed) == 1 else f"The consents of {days}"
    return (
        f" {granted} that would cover it lapsed with the certificate's revocation on "
        f"{certificate.revoked_on}."
    )


def seized_outside_end_use_country(facts: ChainFacts) -> Iterator[Finding]:
    """Seized, or recovered, outside the country the last certificate (or a consent since)
    authorised: a weapon for one country surfacing in another is the diversion signal whoever
    takes it back (a recovery in a third country raised nothing before)."""
    last: Authorisation | None = None
    keepers_when_missing: set[UUID] = set()
    for step in steps(facts):
        last = step.before or last
        event = step.event
        if event.event_type in OUT_OF_LAWFUL_HANDS:
            keepers_when_missing = {
                p.id for p in (event.from_party, event.owner_party) if p is not None
            }
        if last is None or event.country == last.country:
            continue
        lawful = event.event_type == "RECOVERY" and _by_lawful_keeper(
            event, last, keepers_when_missing
        )
        if event.event_type in BACK_IN_HAND and not lawful:
            yield _seized_outside(event, last)


def _by_lawful_keeper(
    recovery: CustodyEvent, allowed: Authorisation, keepers_when_missing: set[UUID]
) -> bool:
    """Whether a recovery put the item back with a lawful keeper: a party that kept it when
    it went missing (an exporter's shipment lost and found in transit), or the end user allowed
    to keep it."""
    # The holder it went back to, not the owner named: police abroad record the rightful owner
    # of what they recover, which would make every recovery lawful.
    keeper = recovery.to_party.id if recovery.to_party else None
    end_user = allowed.end_user_party_id
    return keeper is not None and (keeper in keepers_when_missing or keeper == end_user)


def _seized_outside(event: CustodyEvent, last: Authorisation) -> Finding:
    taken = "Seized" if event.event_type == "SEIZURE" else "Recovered"
    certificate = last.certificate
    since = (
        f", for end use in {last.country} since the consent of {last.consent.granted_on}"
        if last.consent
        else f" for end use in {last.country}"
    )
    return Finding(
        "SEIZED_OUTSIDE_END_USE_COUNTRY",
        "ALERT",
        f"{taken} in {event.country} on {event.occurred_on}; "
        f"{_DONE[last.start.event_type]} on {last.start.occurred_on} under "
        f"{certificate.certificate_number}{since}.",
        (_event(event), *last.references()),
    )


# The chain itself -------------------------------------------------------------------------------


def custody_gap(facts: ChainFacts) -> Iterator[Finding]:
    """An event's sender is not the holder the previous event left the item with."""
    holders: set[UUID] = set()
    previous: CustodyEvent | None = None
    for event in facts.standing:
        sender = event.from_party
        checked = event.event_type not in BACK_IN_HAND and previous is not None and holders
        if checked and sender is not None and sender.id not in holders:
            assert previous is not None
            left_with = _names_of(previous, holders) or "another party"
            # a move is sent by its sender; a loss or a theft is reported by its holder
            done = "sent" if event.event_type in TRANSFER_TYPES else "reported"
            yield Finding(
                "CUSTODY_GAP",
                "WARNING",
                f"{event.event_type.capitalize()} on {event.occurred_on} is {done} by "
                f"{sender.name}, but the record left the item with {left_with} on "
                f"{previous.occurred_on}.",
                (_event(previous), _event(event)),
            )
        holders = holders_after(event)
        previous = event


def _names_of(event: CustodyEvent, holders: set[UUID]) -> str:
    """The names of the event's parties that hold the item after it ("A and B")."""
    parties = (event.to_party, event.owner_party, event.from_party)
    names = list(dict.fromkeys(p.name for p in parties if p is not None and p.id in holders))
    return " and ".join(names)


def conflicting_custody(facts: ChainFacts) -> Iterator[Finding]:
    """Two holders at once, or events out of order in time."""
    standing = facts.standing
    yield from _before_manufacture(standing)
    yield from _after_destruction(standing)
    yield from _moved_while_missing(standing)
    yield from _imported_before_exported(standing)
    yield from _sent_twice(standing)


def _before_manufacture(standing: list[CustodyEvent]) -> Iterator[Finding]:
    # Events of the day it was made follow it (service.domain.custody.in_chain_order).
    made = next((e for e in standing if e.event_type == "MANUFACTURE"), None)
    if made is None:
        return
    for event in standing[: standing.index(made)]:
        if event.occurred_on < made.occurred_on:
            yield Finding(
                "CONFLICTING_CUSTODY",
                "WARNING",
                f"{event.event_type.capitalize()} on {event.occurred_on} is recorded before the "
                f"item was made on {made.occurred_on}.",
                (_event(event), _event(made)),
            )


def _after_destruction(standing: list[CustodyEvent]) -> Iterator[Finding]:
    destroyed = next((e for e in standing if e.event_type == "DESTRUCTION"), None)
    if destroyed is None:
        return
    for event in standing[standing.index(destroyed) + 1 :]:
        yield Finding(
            "CONFLICTING_CUSTODY",
            "ALERT",
            f"{event.event_type.capitalize()} on {event.occurred_on} is recorded after the item "
            f"was destroyed on {destroyed.occurred_on}.",
            (_event(destroyed), _event(event)),
        )


_DONE = {
    "EXPORT": "exported",
    "IMPORT": "imported",
    "TRANSFER": "transferred",
    "DESTRUCTION": "destroyed",
    "DEACTIVATION": "deactivated",
}
# The events after which the item is no weapon any more.
ENDED = frozenset({"DESTRUCTION", "DEACTIVATION"})


def _moved_while_missing(standing: list[CustodyEvent]) -> Iterator[Finding]:
    missing: CustodyEvent | None = None
    for event in standing:
        if event.event_type in OUT_OF_LAWFUL_HANDS:
            missing = event
        elif event.event_type in BACK_IN_HAND:
            missing = None
        elif missing is not None and event.event_type in TRANSFER_TYPES | ENDED:
            # Moved while missing is custody no one lawful had; ended while missing (destroyed
            # by the holder that reported it stolen) is the cover a diversion is given, or a
            # recovery left unrecorded.
            yield Finding(
                "CONFLICTING_CUSTODY",
                "ALERT" if event.event_type in TRANSFER_TYPES else "WARNING",
                f"Reported {'lost' if missing.event_type == 'LOSS' else 'stolen'} on "
                f"{missing.occurred_on}, yet {_DONE[event.event_type]} on "
                f"{event.occurred_on} with no recovery on record.",
                (_event(missing), _event(event)),
            )


def _imported_before_exported(standing: list[CustodyEvent]) -> Iterator[Finding]:
    """An import under a certificate that no earlier export under it is left to account for,
    and the export after it. Each import accounts for one export: an item shipped twice under
    one certificate (sent back, then again) has two exports, each before its import."""
    unimported: dict[UUID, int] = {}  # exports under each certificate not yet imported
    for position, event in enumerate(standing):
        if event.euc is None or event.event_type not in ("EXPORT", "IMPORT"):
            continue
        certificate = event.euc.id
        if event.event_type == "EXPORT":
            unimported[certificate] = unimported.get(certificate, 0) + 1
        elif unimported.get(certificate, 0) > 0:
            unimported[certificate] -= 1
        else:
            export = next(
                (
                    later
                    for later in standing[position + 1 :]
                    if later.event_type == "EXPORT" and under(later, certificate)
                ),
                None,
            )
            if export is not None:
                yield Finding(
                    "CONFLICTING_CUSTODY",
                    "WARNING",
                    f"Imported on {event.occurred_on}, before its export of "
                    f"{export.occurred_on} under the same certificate.",
                    (_event(event), _event(export)),
                )


def _sent_twice(standing: list[CustodyEvent]) -> Iterator[Finding]:
    transfers = [e for e in standing if e.event_type in TRANSFER_TYPES and e.from_party is not None]
    for position, event in enumerate(transfers):
        for other in transfers[position + 1 :]:
            assert event.from_party is not None and other.from_party is not None
            same_sender = event.from_party.id == other.from_party.id
            same_day = other.occurred_on == event.occurred_on
            if not (same_sender and same_day and other.to_party != event.to_party):
                continue
            if not _one_shipment(event, other):
                yield Finding(
                    "CONFLICTING_CUSTODY",
                    "ALERT",
                    f"On {event.occurred_on} {event.from_party.name} is recorded sending the item "
                    "to two different parties.",
                    (_event(event), _event(other)),
                )


def _one_shipment(a: CustodyEvent, b: CustodyEvent) -> bool:
    """Whether an export and an import by one sender of one day are the shipment leaving and
    arriving: into the export's destination, for its consignee (the importing agency receiving
    what the end user ordered, as its owner) or under its certificate. Not two sendings, where
    an import elsewhere, or to someone else, is."""
    pair = {a.event_type: a, b.event_type: b}
    export, imported = pair.get("EXPORT"), pair.get("IMPORT")
    if export is None or imported is None or export.destination_country != imported.country:
        return False
    consignee = export.to_party.id if export.to_party else None
    receivers = {p.id for p in (imported.to_party, imported.owner_party) if p is not None}
    same_certificate = export.euc is not None and under(imported, export.euc.id)
    return consignee in receivers or same_certificate


# Where the chain leaves the item ---------------------------------------------------------------


def reported_missing(facts: ChainFacts) -> Iterator[Finding]:
    """Lost or stolen now (an alert), or once and since back in hand (for information). Each
    report counts: a weapon reported lost and then stolen before it was found again carries
    both (the loss went missing from the chain once the theft was reported)."""
    missing: list[CustodyEvent] = []
    for event in facts.seen_standing:
        if event.event_type in OUT_OF_LAWFUL_HANDS:
            missing.append(event)
        elif event.event_type in BACK_IN_HAND:
            for report in missing:
                yield _missing(report, "INFO", f", and back in hand on {event.occurred_on}")
            missing = []
    for report in missing:
        on_record = " among the records you may see" if facts.withheld_after(report) else ""
        yield _missing(report, "ALERT", f"; no recovery is on record{on_record}")


def _missing(event: CustodyEvent, severity: str, since: str) -> Finding:
    lost = event.event_type == "LOSS"
    holder = f" by {event.from_party.name}" if event.from_party else ""
    return Finding(
        "REPORTED_LOST" if lost else "REPORTED_STOLEN",
        severity,
        f"Reported {'lost' if lost else 'stolen'}{holder} on {event.occurred_on}{since}.",
        (_event(event),),
    )


def seized(facts: ChainFacts) -> Iterator[Finding]:
    """The item is held after a seizure."""
    if facts.state.status == "SEIZED":
        seizure = [e for e in facts.seen_standing if e.event_type == "SEIZURE"][-1]
        by = f" by {seizure.to_party.name}" if seizure.to_party else ""
        yield Finding(
            "SEIZED",
            "WARNING",
            f"Seized{by} in {seizure.country} on {seizure.occurred_on}.",
            (_event(seizure),),
        )


def unverified_last_holder(facts: ChainFacts) -> Iterator[Finding]:
    """The chain ends with a holder nobody has verified, or with one the reader may not see."""
    holder = facts.state.current_holder
    # A delivery verification vouches for the end user who received the item.
    delivered_to = {
        facts.certificates[v.euc_id].end_user_party_id
        for v in facts.verifications
        if v.covers_item and v.euc_id in facts.certificates
    }
    if holder is None:
        return
    last = facts.seen_standing[-1]
    if isinstance(holder, RedactedParty):
        # A holder the reader may not see: whether anyone verified it is as withheld as its
        # record (a finding raised only for an unverified one would tell). So it is raised
        # either way, and says only that.
        yield Finding(
            "UNVERIFIED_LAST_HOLDER",
            "INFO",
            f"The record leaves the item with {holder.name}, whose record, and whether any "
            f"agency verified it, are withheld from you: ask {holder.recorded_by.name}.",
            (_event(last),),
        )
        return
    if holder.id in facts.verified_parties | delivered_to:
        return
    record = "The records you may see leave" if facts.withheld_after(last) else "The record leaves"
    yield Finding(
        "UNVERIFIED_LAST_HOLDER",
        "INFO",
        # A delivery verification of other items saw the holder with those, not with this one.
        f"{record} the item with {holder.name}, whom no agency has verified as a party or as "
        "this item's holder.",
        (_event(last),),
    )


RULES: tuple[Rule, ...] = (
    destination_mismatch,
    exporter_mismatch,
    euc_expired,
    euc_not_yet_issued,
    euc_revoked,
    euc_quantity_exceeded,
    euc_line_mismatch,
    euc_not_verified,
    retransfer_without_consent,
    seized_outside_end_use_country,
    custody_gap,
    conflicting_custody,
    reported_missing,
    seized,
    unverified_last_holder,
)
