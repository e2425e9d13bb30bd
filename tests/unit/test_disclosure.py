"""What an agency may see of another agency's restricted records (service.domain.disclosure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from service.domain import disclosure, findings
from service.domain.findings import ChainFacts
from service.domain.records import (
    AgencyRef,
    CustodyEvent,
    EucRef,
    RedactedEvent,
    RedactedParty,
    RestrictedPartyRef,
)
from tests.unit.test_custody import (
    AGENCY,
    ARMED_GROUP,
    ARMOURY,
    EXPORTER,
    FACTORY,
    OTHER_AGENCY,
    POLICE,
    event,
    item,
)

TODAY = date(2026, 1, 1)
COVER = RestrictedPartyRef(
    uuid4(),
    "Nightjar Holdings",
    "BROKER",
    "KE",
    "RESTRICTED",
    recorded_by=OTHER_AGENCY,
    recorded_at=datetime(2020, 1, 1, tzinfo=UTC),
)


def story(restricted_transfer: CustodyEvent) -> ChainFacts:
    return ChainFacts(
        uuid4(),
        (
            event("MANUFACTURE", to_party=FACTORY, on=date(2010, 1, 5)),
            event(
                "EXPORT",
                from_party=FACTORY,
                to_party=ARMOURY,
                destination_country="KE",
                on=date(2010, 5, 2),
            ),
            restricted_transfer,
        ),
        TODAY,
    )


def covert_transfer(**fields: object) -> CustodyEvent:
    return event(
        "TRANSFER",
        from_party=ARMOURY,
        to_party=COVER,
        classification="RESTRICTED",
        recorded_by=OTHER_AGENCY,
        on=date(2018, 6, 1),
        **fields,  # type: ignore[arg-type]
    )


def test_the_recorder_sees_exactly_what_the_whole_chain_says() -> None:
    recorded, facts = item(), story(covert_transfer())

    assert disclosure.chain_for(OTHER_AGENCY.id, recorded, facts) == findings.chain_of(
        recorded, facts
    )


def test_another_agency_sees_the_event_redacted_and_the_status_its_records_give() -> None:
    facts = story(covert_transfer())

    chain = disclosure.chain_for(AGENCY.id, item(), facts)

    shown = chain.events[-1]
    assert isinstance(shown, RedactedEvent)
    assert (shown.id, shown.occurred_on, shown.recorded_by) == (
        facts.events[-1].id,
        facts.events[-1].occurred_on,
        OTHER_AGENCY,
    )
    assert chain.current_holder == ARMOURY
    # what the chain says of where it leaves the item, it says of what the reader may see
    assert [(f.code, f.message) for f in chain.findings[:1]] == [
        ("UNVERIFIED_LAST_HOLDER", "The records you may see leave the item with Kenya Defence "
         "Forces, whom no agency has verified as a party or as this item's holder."),
    ]  # fmt: skip
    assert [f.code for f in chain.findings[1:]] == ["RESTRICTED_RECORDS"]
    assert "Border Police Directorate" in chain.findings[1].message


def test_a_restricted_party_in_a_visible_event_is_redacted_everywhere_it_appears() -> None:
    seizure = event("SEIZURE", from_party=COVER, to_party=POLICE)
    facts = ChainFacts(uuid4(), (event("MANUFACTURE", to_party=COVER), seizure), TODAY)

    chain = disclosure.chain_for(AGENCY.id, item(), facts)

    made, seized = chain.events
    assert isinstance(made, CustodyEvent)
    assert isinstance(seized, CustodyEvent)
    assert isinstance(made.to_party, RedactedParty)
    assert isinstance(seized.from_party, RedactedParty)
    assert seized.to_party == POLICE
    assert chain.current_holder == POLICE
    assert chain.findings
    assert all("Nightjar" not in finding.message for finding in chain.findings)


def test_a_restriction_neither_invents_a_gap_nor_hides_one() -> None:
    # The army sells to the covert buyer (restricted), which sells on to an armed group:
    # the visible sale from the buyer is no custody gap, since the whole chain explains it.
    onward = event("TRANSFER", from_party=COVER, to_party=ARMED_GROUP, on=date(2019, 2, 1))
    facts = story(covert_transfer())
    facts = ChainFacts(facts.item_id, (*facts.events, onward), TODAY)

    chain = disclosure.chain_for(AGENCY.id, item(), facts)

    assert "CUSTODY_GAP" not in {f.code for f in chain.findings}
    assert "CUSTODY_GAP" not in {f.code for f in findings.chain_of(item(), facts).findings}


def test_a_finding_resting_on_a_restricted_event_is_withheld() -> None:
    # A theft reported under restriction: the alert would disclose it, so others do not get it.
    theft = event(
        "THEFT",
        from_party=ARMOURY,
        classification="RESTRICTED",
        recorded_by=OTHER_AGENCY,
        on=date(2019, 3, 3),
    )
    facts = story(theft)
    whole = findings.chain_of(item(), facts)
    resting_on_it = [f for f in whole.findings if any(r.id == theft.id for r in f.references)]
    assert "REPORTED_STOLEN" in {f.code for f in resting_on_it}
    assert whole.status == "STOLEN"

    shown = disclosure.chain_for(AGENCY.id, item(), facts)

    assert not set(resting_on_it) & set(shown.findings)
    assert shown.status != "STOLEN"


def test_an_erroneous_restricted_event_shows_as_declared_erroneous() -> None:
    facts = story(covert_transfer(declared_erroneous=True))

    chain = disclosure.chain_for(AGENCY.id, item(), facts)

    shown = chain.events[-1]
    assert isinstance(shown, RedactedEvent)
    assert shown.declared_erroneous is True


def test_everyone_sees_what_no_single_agency_is_spared() -> None:
    facts = story(covert_transfer())

    chain = disclosure.chain_for(disclosure.EVERYONE, item(), facts)

    assert isinstance(chain.events[-1], RedactedEvent)
    assert chain.current_holder == ARMOURY


def test_party_and_event_reads_follow_the_same_rule() -> None:
    assert disclosure.party_ref_for(OTHER_AGENCY.id, COVER) is COVER
    redacted = disclosure.party_ref_for(AGENCY.id, COVER)
    assert isinstance(redacted, RedactedParty)
    assert redacted.recorded_by == OTHER_AGENCY
    assert disclosure.party_ref_for(AGENCY.id, EXPORTER) is EXPORTER


def test_the_restricted_records_finding_counts_them_in_plain_words() -> None:
    # It read "holds restricted 1 record by ...": the count belongs before the adjective.
    second = event(
        "TRANSFER",
        from_party=COVER,
        to_party=COVER,
        classification="RESTRICTED",
        recorded_by=OTHER_AGENCY,
        on=date(2019, 2, 3),
    )
    facts = ChainFacts(uuid4(), (*story(covert_transfer()).events, second), TODAY)

    (message,) = [
        f.message
        for f in disclosure.chain_for(AGENCY.id, item(), facts).findings
        if f.code == "RESTRICTED_RECORDS"
    ]

    assert message.startswith(
        "This chain holds 2 restricted records by Border Police Directorate"
        " (2018-06-01, 2019-02-03):"
    )


def over_shipped_line(others: tuple[findings.LineExport, ...] | None) -> ChainFacts:
    """An export of the chain's item on 2010-07-01 that took line 1 (for 2 items) to 4, after
    the `others` under the line (the line's exports with it, when read)."""
    certificate = findings.Certificate(uuid4(), "KE-2010-7", "KE", ARMOURY.id, None, True)
    shipped = replace(
        event("EXPORT", from_party=FACTORY, to_party=ARMOURY, destination_country="KE",
              on=date(2010, 7, 1)),
        euc=EucRef(certificate.id, certificate.certificate_number, "KE", "KE", ARMOURY.id, None,
                   non_reexport_clause=True, revoked_on=None),
        euc_line_number=1,
    )  # fmt: skip
    own = findings.LineExport(shipped.id, shipped.occurred_on, shipped.recorded_at,
                              shipped.recorded_at, frozenset({uuid4()}), shipped.classification,
                              shipped.recorded_by.id)  # fmt: skip
    return ChainFacts(
        uuid4(),
        (shipped,),
        TODAY,
        certificates={certificate.id: certificate},
        line_use={shipped.id: findings.LineUse(certificate.id, 1, quantity=2, shipped_through=4)},
        line_exports=None if others is None else {(certificate.id, 1): (*others, own)},
    )


def line_export(
    on: date, recorded_by: AgencyRef, classification: str, item_id: UUID | None = None
) -> findings.LineExport:
    """An export of one item (a new one unless named)."""
    recorded_at = datetime.combine(on, datetime.min.time(), tzinfo=UTC)
    items = frozenset({item_id or uuid4()})
    return findings.LineExport(
        uuid4(), on, recorded_at, recorded_at, items, classification, recorded_by.id
    )


def quantity_message(viewer: AgencyRef, facts: ChainFacts) -> str:
    chain = disclosure.chain_for(viewer.id, item(), facts)
    (finding,) = [f for f in chain.findings if f.code == "EUC_QUANTITY_EXCEEDED"]
    return finding.message


def test_a_line_over_its_quantity_is_counted_by_the_exports_the_viewer_may_see() -> None:
    facts = over_shipped_line(
        (
            line_export(date(2010, 5, 1), AGENCY, "UNRESTRICTED"),
            line_export(date(2010, 6, 1), OTHER_AGENCY, "RESTRICTED"),
            line_export(date(2010, 6, 2), OTHER_AGENCY, "RESTRICTED"),
            line_export(date(2010, 8, 1), AGENCY, "UNRESTRICTED"),  # after it: not counted
        )
    )

    # the agency that restricted the exports reads the count; another, what it may count
    assert quantity_message(OTHER_AGENCY, facts) == (
        "With the shipment of 2010-07-01, 4 items had been shipped under line 1 of KE-2010-7, "
        "which authorises 2."
    )
    assert quantity_message(AGENCY, facts) == (
        "With the shipment of 2010-07-01, more items had been shipped under line 1 of KE-2010-7 "
        "than the 2 it authorises, counting the exports under the line that other agencies "
        "restricted, whose items and days are withheld from you; 2 of them, this one included, "
        "by the exports you may see."
    )


def test_an_item_shipped_again_under_the_line_is_counted_once_by_the_exports_seen() -> None:
    # Found in review: the exports the viewer may see were counted by their item counts, so a
    # rifle shipped again under its line (back from a repair) counted twice there, where the
    # line's own count (event_details) takes each item once.
    repaired = uuid4()
    facts = over_shipped_line(
        (
            line_export(date(2010, 5, 1), AGENCY, "UNRESTRICTED", repaired),
            line_export(date(2010, 6, 1), OTHER_AGENCY, "RESTRICTED"),
            line_export(date(2010, 6, 15), AGENCY, "UNRESTRICTED", repaired),
        )
    )

    assert quantity_message(AGENCY, facts).endswith(
        "; 2 of them, this one included, by the exports you may see."
    )


def test_a_correction_is_counted_from_the_place_of_the_export_it_corrects() -> None:
    # Recorded after the day's shipment but correcting an export recorded before it: the act
    # it records again came first, as event_details counts it (corrected_acts).
    day, hour = date(2010, 7, 1), timedelta(hours=1)
    shipped_at = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    correction = findings.LineExport(uuid4(), day, shipped_at - hour, shipped_at + hour,
                                     frozenset({uuid4()}),
                                     "UNRESTRICTED", AGENCY.id)  # fmt: skip
    recorded_after = findings.LineExport(uuid4(), day, shipped_at + hour, shipped_at + hour,
                                         frozenset({uuid4()}),
                                         "UNRESTRICTED", AGENCY.id)  # fmt: skip
    withheld = line_export(date(2010, 6, 1), OTHER_AGENCY, "RESTRICTED")

    facts = over_shipped_line((correction, recorded_after, withheld))

    assert quantity_message(AGENCY, facts).endswith(
        "; 2 of them, this one included, by the exports you may see."
    )


def test_a_line_whose_exports_were_not_read_is_worded_without_a_number() -> None:
    # (the alert list, which keeps codes only, does not read them)
    for viewer in (AGENCY, OTHER_AGENCY):
        assert quantity_message(viewer, over_shipped_line(None)).endswith(
            "than the 2 it authorises, counting the exports under the line that other agencies "
            "restricted, whose items and days are withheld from you."
        )
