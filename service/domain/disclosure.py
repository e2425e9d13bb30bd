"""What an agency may see of records another agency restricted.

A recording agency may mark an event or a party RESTRICTED (the way tracing partners agree what
may be disclosed). Every other agency then sees that the record exists, its date and the agency
to contact, never its parties, documents or references:

- a restricted event becomes a RedactedEvent (id, date, recorder, whether it was declared
  erroneous); a restricted party becomes a RedactedParty wherever it appears;
- the item's status and holders are what the events the viewer may see establish, and so are
  the findings that speak of where the chain leaves the item (lost or stolen with no recovery,
  seized, its last holder unverified): before, a restricted recovery made another agency's
  loss report read "and back in hand on" its date, under a status still LOST;
- the chain's course is judged on the whole chain, so that a restriction neither hides a
  diversion the viewer's own records show nor invents one where a restricted record fills a
  gap (a move out of the end user's hands that only a restricted event records is no
  diversion to the viewer: what follows is judged against what was authorised before it); but
  a finding that rests on a restricted event is left out, and no message names a restricted
  party nor says more of restricted records than the chain and the certificate's usage do
  (nor a declaration's explanation, withheld with the restricted record that corrects it): a
  line taken over its quantity is counted only by the exports the viewer may see where another
  agency restricted some export under it, and a last holder the viewer may not see is flagged
  whether or not anyone verified it (findings.unverified_last_holder; README, "Restricted
  records", says what the presence of such a finding still tells, and why);
- a RESTRICTED_RECORDS finding says how many records are withheld, when, and by whom.

The recorder itself sees its records whole. An administrator's key manages agencies, keys and
the audit trail; it does not lift restrictions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from itertools import groupby
from typing import TypeVar
from uuid import UUID

from service.domain import findings
from service.domain.findings import ChainFacts, LineExport
from service.domain.records import (
    RESTRICTED,
    CustodyChain,
    CustodyEvent,
    DeliveryVerification,
    EndUserCertificate,
    EventRecord,
    Finding,
    Item,
    ItemLink,
    Party,
    RedactedEvent,
    RedactedParty,
    ReexportConsent,
    Reference,
    RestrictedPartyRef,
    ShownParty,
)
from service.errors import PermissionDenied

RESTRICTED_RECORDS = "RESTRICTED_RECORDS"
# The viewer no agency is: what every agency may see (no agency has the nil id).
EVERYONE = UUID(int=0)
AnyEvent = TypeVar("AnyEvent", bound=CustodyEvent)
ItemList = TypeVar("ItemList", ReexportConsent, DeliveryVerification)


def hides_event(viewer: UUID, event: CustodyEvent) -> bool:
    return _restricted_from(viewer, event.classification, event.recorded_by.id)


def chain_for(viewer: UUID, item: Item, facts: ChainFacts) -> CustodyChain:
    """The item's chain of custody as the viewer's agency may see it."""
    facts = _line_use_for(viewer, findings.of_item(item, facts))
    withheld = [event for event in facts.events if hides_event(viewer, event)]
    hidden_correctives = _hidden(viewer, facts.restricted_correctives)
    if (
        not withheld
        and not hidden_correctives
        and not any(_names_hidden_party(viewer, e) for e in facts.events)
    ):
        return findings.chain_of(item, facts)
    withheld_ids = frozenset(event.id for event in withheld)
    concealed = replace(
        facts,
        events=tuple(
            _explained_for(viewer, _conceal(viewer, event), hidden_correctives)
            for event in facts.events
        ),
        withheld=withheld_ids,
    )
    judged = [
        finding
        for finding in findings.analyse(concealed)
        if not any(r.kind == "event" and r.id in withheld_ids for r in finding.references)
    ]
    if withheld:
        judged.append(_restricted_records(withheld))
    state = concealed.state
    return CustodyChain(
        item=item,
        status=state.status,
        status_since=state.status_since,
        current_holder=state.current_holder,
        current_owner=state.current_owner,
        last_known_holder=state.last_known_holder,
        findings=tuple(judged),
        events=tuple(
            redacted_event(event) if event.id in withheld_ids else event
            for event in concealed.events
        ),
    )


def _line_use_for(viewer: UUID, facts: ChainFacts) -> ChainFacts:
    """The facts with the use of each line taken over its quantity as the viewer may count it:
    marked partly withheld, with what it may count itself, where another agency restricted
    some export under the line (even one of a later day: the certificate's usage says only
    that the line holds such exports today, not when they were made). Not read, the line's
    exports are taken to hold such an export: the sentence then says no number."""
    shown = {}
    for event in facts.events:
        use = facts.line_use.get(event.id)
        if use is None or use.shipped_through <= use.quantity:
            continue
        exports = (facts.line_exports or {}).get((use.euc_id, use.line_number))
        if exports is None:
            shown[event.id] = replace(use, partly_withheld=True)
        elif any(_hides_export(viewer, export) for export in exports):
            own = next((export for export in exports if export.id == event.id), None)
            # Not among them: declared erroneous between the two reads (no number, then).
            # Each item once, as the line counts them: one shipped again under it (back from
            # a repair) took no more of the quantity.
            seen = (
                None
                if own is None
                else len(
                    frozenset().union(
                        *(
                            export.item_ids
                            for export in exports
                            if export.place <= own.place and not _hides_export(viewer, export)
                        )
                    )
                )
            )
            shown[event.id] = replace(use, partly_withheld=True, seen_through=seen)
    if not shown:
        return facts
    return replace(facts, line_use={**facts.line_use, **shown})


def _hides_export(viewer: UUID, export: LineExport) -> bool:
    return _restricted_from(viewer, export.classification, export.recorded_by)


def event_for(
    viewer: UUID, event: EventRecord, restricted_correctives: Mapping[UUID, UUID] | None = None
) -> EventRecord | RedactedEvent:
    """One event as the viewer may see it (`restricted_correctives`: the restricted events its
    error declaration names as corrective, by the agency that recorded each)."""
    if hides_event(viewer, event):
        return redacted_event(event)
    hidden = _hidden(viewer, restricted_correctives or {})
    return _explained_for(viewer, _conceal(viewer, event), hidden)


def _hidden(viewer: UUID, restricted: Mapping[UUID, UUID]) -> frozenset[UUID]:
    return frozenset(event_id for event_id, by in restricted.items() if by != viewer)


def _explained_for(viewer: UUID, event: AnyEvent, hidden_correctives: frozenset[UUID]) -> AnyEvent:
    """The event with its error declaration's explanation withheld where a restricted event the
    viewer may not see corrects it: the explanation says what the correction holds (found in
    review: "made for covert front Nightjar Holdings, op NIGHTJAR" reached every agency). Its
    declarer reads it whole."""
    declaration = event.error_declaration
    if (
        declaration is None
        or declaration.declared_by.id == viewer
        or hidden_correctives.isdisjoint(declaration.corrective_event_ids)
    ):
        return event
    withheld = (
        f"Withheld with the restricted record that corrects it: ask {declaration.declared_by.name}."
    )
    return replace(event, error_declaration=replace(declaration, explanation=withheld))


def party_for(viewer: UUID, party: Party) -> Party | RedactedParty:
    if _restricted_from(viewer, party.classification, party.recorded_by.id):
        return RedactedParty(party.id, party.recorded_by, party.recorded_at)
    return party


def check_may_verify(viewer: UUID, party: Party) -> None:
    """Refuse the viewer's verification of a party it may not see: it sees that the party
    exists and whom to ask, not who it is, so it could vouch for nobody it knows, and the
    recorder's findings would count the verification."""
    if _restricted_from(viewer, party.classification, party.recorded_by.id):
        raise PermissionDenied(
            f"party {party.id} is restricted by {party.recorded_by.name}, whose record it is "
            "to verify: ask them"
        )


def _restricted_from(viewer: UUID, classification: str | None, recorded_by: UUID) -> bool:
    """Whether a record of this classification and recorder is withheld from the viewer."""
    return classification == RESTRICTED and recorded_by != viewer


def certificate_for(viewer: UUID, certificate: EndUserCertificate) -> EndUserCertificate:
    """A certificate with the restricted parties it names redacted, and its consents' and
    verifications' items named only where the viewer may know they were shipped under it."""
    exporter = party_ref_for(viewer, certificate.exporter)
    end_user = party_ref_for(viewer, certificate.end_user)
    assert end_user is not None
    links = certificate._item_links
    return replace(
        certificate,
        exporter=exporter,
        end_user=end_user,
        consents=tuple(_items_for(viewer, links, consent) for consent in certificate.consents),
        verifications=tuple(
            _items_for(viewer, links, verification) for verification in certificate.verifications
        ),
    )


def _items_for(viewer: UUID, links: Mapping[UUID, ItemLink], record: ItemList) -> ItemList:
    """A consent's or verification's items as the viewer may see them. Usage names the items
    of a restricted export only to its recorder, and counts them for the others, and so do these
    lists: a consent or verification that names an item says that it was shipped under the
    certificate, which is the restricted export's to disclose. Its recorder, which named the
    items, sees them all."""
    if record.recorded_by.id == viewer:
        return record
    shown = tuple(item for item in record.item_ids if _knows_link(viewer, links.get(item)))
    if len(shown) == len(record.item_ids):
        return record
    return replace(record, item_ids=shown, withheld_items=len(record.item_ids) - len(shown))


def _knows_link(viewer: UUID, link: ItemLink | None) -> bool:
    return link is not None and (link.open or viewer in link.restricted_by)


def redacted_event(event: CustodyEvent) -> RedactedEvent:
    return RedactedEvent(
        id=event.id,
        occurred_on=event.occurred_on,
        recorded_by=event.recorded_by,
        recorded_at=event.recorded_at,
        declared_erroneous=not event.stands,
    )


def _names_hidden_party(viewer: UUID, event: CustodyEvent) -> bool:
    return any(
        party_ref_for(viewer, party) is not party
        for party in (event.from_party, event.to_party, event.owner_party)
    )


def _conceal(viewer: UUID, event: AnyEvent) -> AnyEvent:
    sender = party_ref_for(viewer, event.from_party)
    receiver = party_ref_for(viewer, event.to_party)
    owner = party_ref_for(viewer, event.owner_party)
    if (sender, receiver, owner) == (event.from_party, event.to_party, event.owner_party):
        return event
    return replace(event, from_party=sender, to_party=receiver, owner_party=owner)


def party_ref_for(viewer: UUID, party: ShownParty | None) -> ShownParty | None:
    """A party named in another record, redacted unless the viewer may see it."""
    if isinstance(party, RestrictedPartyRef) and party.recorded_by.id != viewer:
        return RedactedParty(party.id, party.recorded_by, party.recorded_at)
    return party


def _restricted_records(withheld: Iterable[CustodyEvent]) -> Finding:
    by_recorder = groupby(
        sorted(withheld, key=lambda e: (e.recorded_by.name, e.occurred_on)),
        key=lambda e: e.recorded_by,
    )
    parts = []
    references: list[Reference] = []
    for recorder, events in by_recorder:
        dated = list(events)
        days = ", ".join(str(e.occurred_on) for e in dated)
        records = "record" if len(dated) == 1 else "records"
        parts.append(f"{len(dated)} restricted {records} by {recorder.name} ({days})")
        references.extend(Reference("event", e.id) for e in dated)
    return Finding(
        RESTRICTED_RECORDS,
        "INFO",
        "This chain holds "
        + "; ".join(parts)
        + ": only their dates and recorders are shown, and the status rests on the records you"
        " may see. Ask the recording agency for what they hold.",
        tuple(references),
    )
