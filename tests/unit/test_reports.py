"""The text reports (service.domain.reports): what a terminal shows of a chain or a trace."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.domain.reports import WIDTH, chain_report, shown, trace_report

AGENCY = {"id": "01938a7e-0000-7000-8000-00000000000a", "name": "Tracing Unit"}
OTHERS = {"id": "01938a7e-0000-7000-8000-00000000000b", "name": "Border Police"}
ARMY = {"id": "01938a7e-0000-7000-8000-000000000001", "name": "Army", "kind": "ARMED_FORCES",
        "country": "IQ", "classification": "UNRESTRICTED"}  # fmt: skip
COVERT = {"id": "01938a7e-0000-7000-8000-000000000002", "classification": "RESTRICTED",
          "redacted": True, "recorded_by": OTHERS,
          "recorded_at": "2018-06-02T10:00:00Z"}  # fmt: skip


def item(**fields: Any) -> dict[str, Any]:
    return {
        "id": "01938a7e-0000-7000-8000-0000000000f1", "manufacturer": "FN Herstal",
        "model": "FAL", "category": "RIFLE", "caliber": None, "serial_number": "FN-1",
        "serial_normalised": "FN1", "country_of_manufacture": None, "year_of_manufacture": None,
        "import_markings": [], "other_markings": None, "recorded_by": AGENCY,
        "recorded_at": "2026-12-06T07:00:00.123456Z", **fields,
    }  # fmt: skip


def event(**fields: Any) -> dict[str, Any]:
    return {
        "id": "01938a7e-0000-7000-8000-0000000000e1", "event_type": "TRANSFER",
        "occurred_on": "2015-03-01", "country": "IQ", "destination_country": None,
        "from_party": None, "to_party": None, "owner_party": None, "euc": None,
        "euc_line_number": None, "licence_number": None, "document_reference": None,
        "notes": None, "classification": "UNRESTRICTED", "recorded_by": AGENCY,
        "recorded_at": "2015-03-02T00:00:00Z", "error_declaration": None, **fields,
    }  # fmt: skip


def chain(**fields: Any) -> dict[str, Any]:
    return {
        "item": item(), "status": "UNRECORDED", "status_since": None, "current_holder": None,
        "current_owner": None, "last_known_holder": None, "findings": [], "events": [],
        **fields,
    }  # fmt: skip


def test_a_value_is_shown_on_one_line() -> None:
    assert shown("Shipped by air,\r\nvia\tAmman\u2028(see file)") == (
        "Shipped by air, via Amman (see file)"
    )


def test_control_characters_are_shown_as_escapes() -> None:
    # ESC [ 2 J clears the screen; NEL (U+0085) is a line break to some terminals.
    assert shown("Tracing\x1b[2J Unit\x85") == "Tracing<U+001B>[2J Unit<U+0085>"


def test_bidirectional_controls_are_shown_as_escapes() -> None:
    # U+202E would show the serial below as "0147KA" in a terminal.
    assert shown("AK\u202e7410\u2069") == "AK<U+202E>7410<U+2069>"
    assert shown("\u200fاحمد\u200e") == "<U+200F>احمد<U+200E>"


def test_characters_that_show_nothing_are_shown_as_escapes() -> None:
    # Found in review: a reading's maker "FN\u200b Her\u00adstal" read as "FN Herstal".
    assert shown("FN\u200b Her\u00adstal") == "FN<U+200B> Her<U+00AD>stal"
    assert shown("FA\ufeffL\U000e0041\u2060") == "FA<U+FEFF>L<U+E0041><U+2060>"
    # the joiners a Persian or Indic name needs are kept
    assert (
        shown("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")
        == "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
    assert shown("\u0915\u094d\u200d\u0937") == "\u0915\u094d\u200d\u0937"


def test_an_empty_chain() -> None:
    assert chain_report(chain()).splitlines() == [
        "ITEM 01938a7e-0000-7000-8000-0000000000f1",
        "    item        01938a7e-0000-7000-8000-0000000000f1,"
        " recorded by Tracing Unit on 2026-12-06",
        "                07:00:00 UTC",
        "    weapon      FN Herstal FAL (RIFLE), serial FN-1",
        "    markings    no import markings",
        "    status      UNRECORDED",
        "    holder      none on record",
        "    0 findings",
        "    0 events of custody",
    ]


def test_a_record_too_long_for_a_terminal_goes_on_indented() -> None:
    # A finding's message, or a party's name and an event's notes, ran on for hundreds of
    # characters on one line, which a terminal folds back to its first column, into the
    # indentation that says what each line belongs to.
    finding = {"code": "RETRANSFER_WITHOUT_CONSENT", "severity": "ALERT", "references": [],
               "message": "Transfer on 2015-03-01 moved the item away from its authorised end "
               "user, exported under IQ/MOD/2010/17 (which forbids re-export); no consent to "
               "re-transfer covers it."}  # fmt: skip
    police = {**ARMY, "name": "Iraqi Federal Police, Directorate of Arms Control and Licensing",
              "kind": "LAW_ENFORCEMENT"}  # fmt: skip
    moved = event(from_party=ARMY, to_party=police, notes="Handed on under the consent of "
                  "2015-01-01 (RS/RX/2015/1); receipt signed at the Baghdad armoury by the duty "
                  "officer; serial read as 390583.")  # fmt: skip

    lines = chain_report(chain(findings=[finding], events=[moved])).splitlines()

    assert lines[8:] == [
        "        ALERT    RETRANSFER_WITHOUT_CONSENT: Transfer on"
        " 2015-03-01 moved the item away from its",
        "                 authorised end user, exported under"
        " IQ/MOD/2010/17 (which forbids re-export); no",
        "                 consent to re-transfer covers it.",
        "    1 event of custody",
        "        2015-03-01  TRANSFER     IQ        from Army"
        " (ARMED_FORCES, IQ) to Iraqi Federal Police,",
        "                                           Directorate of Arms Control and Licensing",
        "                                           (LAW_ENFORCEMENT, IQ)",
        "                    recorded by Tracing Unit",
        "                    notes: Handed on under the consent of 2015-01-01 (RS/RX/2015/1); "
        "receipt signed",
        "                           at the Baghdad armoury by the duty officer; serial read as "
        "390583.",
    ]
    assert max(map(len, lines)) <= WIDTH


def test_parties_another_agency_restricted_are_named_by_whom_to_ask() -> None:
    sold = event(from_party=ARMY, to_party=COVERT, owner_party=COVERT)
    report = records_of(chain_report(
        chain(status="IN_SERVICE", status_since="2015-03-01", current_holder=COVERT,
              current_owner=COVERT, last_known_holder=COVERT, events=[sold])
    ))  # fmt: skip

    assert "    holder      (a party restricted by Border Police: ask them)" in report
    assert not any(line.startswith(("    owner", "    last held")) for line in report)
    assert report[-2] == (
        "        2015-03-01  TRANSFER     IQ        from Army (ARMED_FORCES, IQ) "
        "to (a party restricted by Border Police: ask them)"
    )


def test_the_owner_and_the_last_holder_when_they_differ_from_the_holder() -> None:
    report = records_of(
        chain_report(
            chain(status="LOST", current_holder=None, current_owner=ARMY, last_known_holder=ARMY)
        )
    )

    assert report[5:8] == [
        "    holder      none on record",
        "    last held   Army (ARMED_FORCES, IQ)",
        "    owner       Army (ARMED_FORCES, IQ)",
    ]


def test_a_report_says_how_many_matched_and_when_a_search_was_cut() -> None:
    interpretation = {**trace()["interpretation"], "candidates_found": 37, "search_limited": True}

    lines = trace_report(trace(interpretation=interpretation)).splitlines()

    assert "0 CANDIDATES (the best of 37 found)" in lines
    assert (
        "            more items may match than a search keeps: give more of the serial, or the "
        "maker" in lines
    )


def test_the_longest_event_type_is_set_apart_from_its_country() -> None:
    deactivated = event(event_type="DEACTIVATION", country="BE", from_party=ARMY)

    assert records_of(chain_report(chain(events=[deactivated])))[-2] == (
        "        2015-03-01  DEACTIVATION BE        from Army (ARMED_FORCES, IQ)"
    )


def test_a_partial_reading_is_shown_as_searched_with_its_wildcards() -> None:
    # Its readable characters run together, 15023457, read as another weapon's serial.
    reading = trace(
        weapon={**trace()["weapon"], "serial_number": "1502-34 5?7"},
        interpretation={**trace()["interpretation"], "serial_normalised": "15023457",
                        "serial_pattern": "1502345_7"},
    )  # fmt: skip

    assert "serial      1502-34 5?7 (searched as 1502345?7)" in trace_report(reading).splitlines()


def test_an_event_another_agency_restricted_says_when_and_whom_to_ask() -> None:
    withheld = {"id": "01938a7e-0000-7000-8000-0000000000e2", "occurred_on": "2018-06-01",
                "recorded_by": OTHERS, "recorded_at": "2018-06-02T10:00:00Z",
                "declared_erroneous": True, "classification": "RESTRICTED",
                "redacted": True}  # fmt: skip

    assert records_of(chain_report(chain(events=[withheld])))[-1] == (
        "        2018-06-01  (restricted by Border Police: ask them, since declared erroneous)"
    )


def trace(**fields: Any) -> dict[str, Any]:
    return {
        "id": "01938a7e-0000-7000-8000-0000000000a1", "status": "NO_MATCH",
        "created_at": "2026-12-06T07:12:40.5Z", "agency": AGENCY, "batch_id": None,
        "weapon": {"serial_number": "AK11?4*", "manufacturer": "Ishmash", "model": None,
                   "category": None, "caliber": None, "country_of_manufacture": None,
                   "import_markings": [{"country": "KE", "year": None, "marking": "KE/2010"}],
                   "obliterated": True},
        "context": {"case_reference": "C-1", "purpose": "seizure", "legal_basis": None,
                    "requesting_officer": None, "seizure_country": None, "seized_on": None},
        "interpretation": {"serial_normalised": "AK114", "serial_pattern": "AK11_4%",
                           "manufacturer": None, "tiers_searched": ["WILDCARD", "NEAR_MISS"]},
        "candidates": [], **fields,
    }  # fmt: skip


def test_a_partial_obliterated_reading_of_an_unknown_maker() -> None:
    assert trace_report(trace()).splitlines() == [
        "TRACE 01938a7e-0000-7000-8000-0000000000a1  NO_MATCH",
        "answered 2026-12-06 07:12:40 UTC to Tracing Unit",
        "case        C-1",
        "purpose     seizure",
        "",
        "WEAPON AS READ",
        "serial      AK11?4* (searched as AK11?4*)",
        "            obliterated and restored: near misses searched too",
        "maker       Ishmash (registry: not known)",
        'imported    KE "KE/2010"',
        "searched    WILDCARD, NEAR_MISS",
        "",
        "0 CANDIDATES",
        "Nothing registered fits the reading.",
    ]


# Text as a report may meet it: any character (the API refuses control characters but tab, line
# feed and carriage return; an agency's name from the command line or an older record may hold
# any), with Unicode's line separators and bidi controls drawn often.
_texts = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from("\t\n\r\x1b\x85\u2028\u2029\u202e\u2066\u200f"),
    ),
    min_size=1,
    max_size=20,
)


# Where a chain report's records start: its heading, the item's details, the findings and
# events, and each event's papers, notes and declaration.
_RECORD_COLUMNS = (0, 4, 8, 20)


def _records(report: str) -> list[str]:
    """The report's lines that start in a record's column (whatever blank character leads)."""
    return [
        line for line in report.split("\n") if len(line) - len(line.lstrip()) in _RECORD_COLUMNS
    ]


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _plain_lines(report: str) -> list[str]:
    return report.split("\n")


def records_of(report: str) -> list[str]:
    """A chain report's lines with each record whole: the lines a record too long for the width
    went on on joined to it again (test_a_record_too_long_for_a_terminal_goes_on_indented
    shows the layout)."""
    records: list[str] = []
    for line in _plain_lines(report.removesuffix("\n")):
        if records and len(line) - len(line.lstrip()) not in _RECORD_COLUMNS:
            records[-1] += " " + line.strip()
        else:
            records.append(line)
    return records


@given(name=_texts, notes=_texts, model=_texts, marking=_texts)
def test_text_from_the_registry_never_breaks_a_line_nor_turns_it_around(
    name: str, notes: str, model: str, marking: str
) -> None:
    party = {**ARMY, "name": name}
    moved = event(from_party=party, to_party=ARMY, notes=notes, licence_number=marking)
    made = chain(item=item(model=model, other_markings=marking), current_holder=party,
                 events=[moved])  # fmt: skip
    plain = chain(item=item(model="M", other_markings="O"), current_holder={**ARMY, "name": "N"},
                  events=[event(from_party={**ARMY, "name": "N"}, to_party=ARMY, notes="T",
                                licence_number="O")])  # fmt: skip

    report = chain_report(made)

    # A record too long for the width goes on, on the lines after it, indented where no record
    # starts: a value never starts a line of its own in a record's column.
    assert len(_records(report)) == len(_records(chain_report(plain)))
    # Counted in a terminal's columns: two for a wide character (a Chinese ideograph).
    assert all(_columns(line) <= WIDTH or " " not in line.strip() for line in _plain_lines(report))
    assert not any(c in report for c in "\t\r\u2028\u2029\u202e\u2066\u200f")
    assert not any(unicodedata.category(c) == "Cc" for c in report.replace("\n", ""))


def test_an_event_declared_erroneous_names_the_events_that_correct_it() -> None:
    declaration = {"id": "01938a7e-0000-7000-8000-0000000000d1", "reason": "INCORRECT_DATA",
                   "explanation": "destination typed as UG",
                   "corrective_event_ids": ["01938a7e-0000-7000-8000-0000000000e9"],
                   "declared_by": AGENCY, "declared_at": "2016-01-02T03:04:05Z"}  # fmt: skip
    report = chain_report(chain(events=[event(error_declaration=declaration)]))

    assert records_of(report)[-1] == (
        " " * 20 + "DECLARED ERRONEOUS (INCORRECT_DATA) by Tracing Unit on 2016-01-02 03:04:05 "
        "UTC: destination typed as UG (it does not count; corrected by event "
        "01938a7e-0000-7000-8000-0000000000e9)"
    )


DEPOT = {**ARMY, "id": "01938a7e-0000-7000-8000-000000000003", "name": "Depot", "kind": "OTHER"}


def test_an_event_names_its_owner_unless_the_owner_is_the_receiver_it_passes_to() -> None:
    # An owner named on an event says where ownership stands after it (service.domain.custody):
    # the sender keeping it (a loan, a repair) or a seizing receiver taking it differ from the
    # default, so the report names them; a transfer's receiver becomes owner anyway.
    lent = event(from_party=ARMY, to_party=DEPOT, owner_party=ARMY)
    forfeited = event(event_type="SEIZURE", to_party=DEPOT, owner_party=DEPOT)
    sold = event(from_party=ARMY, to_party=DEPOT, owner_party=DEPOT)

    hands = [
        records_of(chain_report(chain(events=[moved])))[-2].split("IQ        ", 1)[1]
        for moved in (lent, forfeited, sold)
    ]

    assert hands == [
        "from Army (ARMED_FORCES, IQ) to Depot (OTHER, IQ) owner Army (ARMED_FORCES, IQ)",
        "to Depot (OTHER, IQ) owner Depot (OTHER, IQ)",
        "from Army (ARMED_FORCES, IQ) to Depot (OTHER, IQ)",
    ]


def test_records_the_viewer_restricted_say_so() -> None:
    # The recorder sees its restricted records whole; a report pasted into a message to
    # another agency must still show which of them are not to be passed on.
    buyer = {**ARMY, "name": "Nightjar Holdings", "kind": "BROKER", "classification": "RESTRICTED",
             "recorded_by": AGENCY, "recorded_at": "2018-06-02T10:00:00Z"}  # fmt: skip
    sold = event(from_party=ARMY, to_party=buyer, classification="RESTRICTED",
                 document_reference="OP-NIGHTJAR-7")  # fmt: skip

    report = records_of(chain_report(chain(current_holder=buyer, events=[sold])))

    assert "    holder      Nightjar Holdings (BROKER, IQ, RESTRICTED)" in report
    assert report[-2].endswith("to Nightjar Holdings (BROKER, IQ, RESTRICTED)")
    assert report[-1] == " " * 20 + (
        "document OP-NIGHTJAR-7; recorded by Tracing Unit; RESTRICTED: not shown to other agencies"
    )
