"""Traces and chains of custody as plain text, for an investigator reading them in a terminal.

The reports are made from the documents the API answers in JSON (a stored trace is kept as
JSON, and is reported from what it answered on the day), so they say nothing the JSON does
not. Stored traces are kept for years: a change to the answer's shape must still report the
shape stored before it (tests/unit/test_reports.py writes that shape out).

Each record is one line where it fits in a terminal's width (WIDTH); a longer one goes on, on
the lines after, indented under its text (a word is never cut: an id or a serial longer than the
width keeps a line of its own). A record's details follow it, indented. Text from the
registry is shown on one line (its line breaks and tabs as spaces), and the characters that
would turn a terminal's text around (bidirectional controls, which could make a serial or a
name read as another) are shown as escapes. The viewer's own restricted records, which it
sees whole, are marked RESTRICTED, so that a report passed on still says what is not to be
shown to other agencies.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from service.domain.custody import EVENT_TYPES, OWNERSHIP_PASSING_TYPES
from service.domain.matching import with_wildcards
from service.domain.records import RESTRICTED
from service.domain.traces import CANDIDATES_SEARCHED, CANDIDATES_SHOWN
from service.domain.wording import counted

Document = Mapping[str, Any]

# Line breaks and tabs (the only control characters a record's text may hold) and the Unicode
# line and paragraph separators: one space, so that a value never starts a line of its own.
_BREAKS = re.compile(r"[\t\n\r\u2028\u2029]+")
# What must not reach a terminal raw: bidirectional formatting characters (U+202E would show
# "AK7410" as "0147KA"), and any other control character (ESC starts the terminal's own
# commands). The API refuses controls in what it stores, but an agency's name comes from the
# command line and older records from older rules: the report does not count on either.
_UNSHOWABLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
    # and what shows nothing, so that "FN\u200bHerstal" does not read as "FNHerstal" (a
    # reading's manufacturer and model are kept as typed): soft hyphen, grapheme joiner,
    # fillers, zero-width space, word joiner and invisible operators, byte-order mark,
    # variation selectors, tags. Not the joiners (U+200C, U+200D) that Persian and Indic
    # names need.
    r"|[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u2060-\u2064"
    r"\u206a-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    r"\U0001bca0-\U0001bca3\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_INDENT = "    "
# The columns a report's lines keep to. A finding's message, a party's name with its notes ran
# on for 300 characters, which a terminal folds back to its first column, into the indentation
# that says what each line belongs to.
WIDTH = 100


def shown(text: object) -> str:
    """A value on one line, with nothing in it that reorders what a terminal shows or that
    the terminal would take as a command."""
    flat = _BREAKS.sub(" ", str(text))
    return _UNSHOWABLE.sub(lambda found: f"<U+{ord(found.group()):04X}>", flat)


def _wrapped(text: str, hang: int) -> str:
    """A line as lines of at most WIDTH columns, those after the first indented by `hang`.

    Columns, not characters: a wide character (a Chinese, Japanese or Korean ideograph, a
    full-width form) takes two of a terminal's columns. Text in those scripts has no spaces
    between its words, and a line may break between any two wide characters: a Chinese note of
    500 characters was one line of 1,000 columns, which the terminal folded back to its first
    column (found in review)."""
    if _columns(text) <= WIDTH:
        return text
    indent = " " * hang
    # textwrap counts characters and breaks at spaces: each wide character is counted twice
    # (followed by a NUL, which shown() has already written as an escape wherever the text
    # held one) and is a piece of its own, then the NULs are taken out again.
    wrapper = _WideAwareWrapper(
        WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
    first, *rest = wrapper.wrap(_marked(text))
    # What goes on starts at the indentation, whatever blank characters the text held there
    # (textwrap drops only ASCII spaces): no value starts a line in a record's column.
    after = (line[hang:].lstrip() for line in rest)
    lines = [first, *(indent + line for line in after if line)]
    return "\n".join(line.replace("\x00", "") for line in lines)


def _columns(text: str) -> int:
    """How many of a terminal's columns the text takes: two for each wide character."""
    return len(text) if text.isascii() else len(_marked(text))


def _marked(text: str) -> str:
    """The text with a NUL after each wide character (East Asian Wide or Fullwidth)."""
    return "".join(c + "\x00" if unicodedata.east_asian_width(c) in "WF" else c for c in text)


class _WideAwareWrapper(textwrap.TextWrapper):
    """textwrap's wrapper, which also breaks between wide characters (each followed by a NUL)."""

    def _split(self, text: str) -> list[str]:
        return [
            piece
            for chunk in super()._split(text)
            for piece in re.split(r"([^\x00]\x00)", chunk)
            if piece
        ]


def trace_report(trace: Document) -> str:
    """A stored trace as text: the request and how it was read, then each candidate with its
    differences, findings and chain of custody."""
    lines = [*_trace_heading(trace), "", *_reading(trace)]
    candidates: Sequence[Document] = trace["candidates"]
    found = trace["interpretation"].get("candidates_found", 0)  # not in traces of before
    of_found = f" (the best of {found} found)" if found > len(candidates) else ""
    lines += ["", counted(len(candidates), "CANDIDATE", "CANDIDATES") + of_found]
    asked = trace["interpretation"].get("max_candidates", CANDIDATES_SHOWN)
    if found > len(candidates) and asked < CANDIDATES_SEARCHED:
        more = f"a trace with max_candidates lists up to {CANDIDATES_SEARCHED}"
        lines.append(f"The rest are not listed: {more}.")
    if not candidates:
        lines.append("Nothing registered fits the reading.")
    for candidate in candidates:
        lines += ["", *_candidate(candidate)]
    return "\n".join(lines) + "\n"


def chain_report(chain: Document) -> str:
    """An item's chain of custody as text: the item, where its history leaves it, what is
    wrong with that history, and the events in order."""
    return "\n".join(_chain(chain, f"ITEM {chain['item']['id']}")) + "\n"


# The trace -------------------------------------------------------------------------------------


def _trace_heading(trace: Document) -> Iterator[str]:
    yield f"TRACE {trace['id']}  {trace['status']}"
    yield f"answered {_moment(trace['created_at'])} to {shown(trace['agency']['name'])}"
    context = trace["context"]
    yield from _labelled("case", context["case_reference"])
    yield from _labelled("purpose", context["purpose"])
    yield from _labelled("legal basis", context["legal_basis"])
    yield from _labelled("officer", context["requesting_officer"])
    seizure = _words(
        context["seizure_country"] and f"in {context['seizure_country']}",
        context["seized_on"] and f"on {context['seized_on']}",
    )
    yield from _labelled("seized", seizure)
    yield from _labelled("batch", trace["batch_id"])


def _reading(trace: Document) -> Iterator[str]:
    weapon, reading = trace["weapon"], trace["interpretation"]
    yield "WEAPON AS READ"
    # A partial reading is searched by its pattern; its normalised form, the readable
    # characters run together (1502-34 5?7 as 15023457), read as another weapon's serial.
    pattern = reading["serial_pattern"]
    searched = reading["serial_normalised"] if pattern is None else with_wildcards(pattern)
    serial = f"{shown(weapon['serial_number'])} (searched as {shown(searched)})"
    yield from _labelled("serial", serial)
    if weapon["obliterated"]:
        # Said only of the near misses searched: a partial reading is matched by its pattern
        # alone, and a reading too long once normalised is not compared (tiers_searched).
        if "NEAR_MISS" in reading["tiers_searched"]:
            searched_too = "near misses searched too"
        elif pattern is not None:
            searched_too = "a partial reading is matched by its pattern alone"
        else:
            searched_too = "too long once normalised to be searched for near misses"
        yield from _labelled("", f"obliterated and restored: {searched_too}")
    maker = reading["manufacturer"]
    if weapon["manufacturer"] is not None:
        known = f"{shown(maker['name'])}{_country(maker['country'])}" if maker else "not known"
        yield from _labelled("maker", f"{shown(weapon['manufacturer'])} (registry: {known})")
    yield from _labelled("model", weapon["model"])
    yield from _labelled("category", weapon["category"])
    yield from _labelled("caliber", weapon["caliber"])
    yield from _labelled("made in", weapon["country_of_manufacture"])
    yield from _labelled("imported", _markings(weapon["import_markings"]))
    yield from _labelled("searched", ", ".join(reading["tiers_searched"]))
    if reading.get("search_limited"):
        yield from _labelled(
            "", "more items may match than a search keeps: give more of the serial, or the maker"
        )


def _candidate(candidate: Document) -> list[str]:
    heading = f"#{candidate['rank']}  {candidate['match_basis']}  score {candidate['score']:.2f}"
    differences: Sequence[Document] = candidate["differences"]
    explained = [
        _wrapped(
            f"{_INDENT * 2}{shown(d['field'])}: read {_quoted(d['observed'])}, registered "
            f"{_quoted(d['registered'])}: {shown(d['explanation'])}",
            len(_INDENT * 3),
        )
        for d in differences
    ]
    return _chain(candidate, heading, [f"{_INDENT}differences", *explained] if explained else [])


# The chain -------------------------------------------------------------------------------------


def _chain(chain: Document, heading: str, about_item: Sequence[str] = ()) -> list[str]:
    """The chain's lines; `about_item` (a candidate's differences) follows the item's."""
    item = chain["item"]
    lines = [
        heading,
        _detail("item", f"{item['id']}, recorded by {shown(item['recorded_by']['name'])} on "
                f"{_moment(item['recorded_at'])}"),
        _detail("weapon", _weapon(item)),
        _detail("markings", _item_markings(item)),
        *about_item,
    ]  # fmt: skip
    since = f" since {chain['status_since']}" if chain["status_since"] else ""
    lines.append(_detail("status", f"{chain['status']}{since}"))
    holder = chain["current_holder"]
    lines.append(_detail("holder", _party(holder) if holder else "none on record"))
    last = chain["last_known_holder"]
    if last is not None and last != holder:
        lines.append(_detail("last held", _party(last)))
    owner = chain["current_owner"]
    if owner is not None and owner != holder:
        lines.append(_detail("owner", _party(owner)))
    findings: Sequence[Document] = chain["findings"]
    lines.append(f"{_INDENT}{counted(len(findings), 'finding')}")
    lines += [
        _wrapped(
            f"{_INDENT * 2}{f['severity']:<8} {f['code']}: {shown(f['message'])}",
            len(_INDENT * 2) + 9,  # under the code
        )
        for f in findings
    ]
    events: Sequence[Document] = chain["events"]
    lines.append(f"{_INDENT}{counted(len(events), 'event')} of custody")
    for event in events:
        lines += _event(event)
    return lines


def _weapon(item: Document) -> str:
    kind = ", ".join(shown(part) for part in (item["category"], item["caliber"]) if part)
    made = _words(
        item["country_of_manufacture"] and f"in {item['country_of_manufacture']}",
        item["year_of_manufacture"] and f"in {item['year_of_manufacture']}",
    )
    return (
        f"{shown(item['manufacturer'])} {shown(item['model'])} ({kind}), serial "
        f"{shown(item['serial_number'])}" + (f", made {made}" if made else "")
    )


def _item_markings(item: Document) -> str:
    imported = _markings(item["import_markings"])
    parts = [f"import {imported}" if imported else "no import markings"]
    if item["other_markings"]:
        parts.append(f"other: {_quoted(item['other_markings'])}")
    return "; ".join(parts)


# The longest type and a space: at 12, DEACTIVATION ran into its country (DEACTIVATIONBE).
_EVENT_TYPE_WIDTH = max(map(len, EVENT_TYPES)) + 1


def _event(event: Document) -> list[str]:
    at = f"{_INDENT * 2}{event['occurred_on']}  "
    follow = " " * len(at)
    recorder = shown(event["recorded_by"]["name"])
    if event.get("redacted"):
        withdrawn = ", since declared erroneous" if event["declared_erroneous"] else ""
        return [f"{at}(restricted by {recorder}: ask them{withdrawn})"]
    route = event["country"]
    if event["destination_country"]:
        route += f" -> {event['destination_country']}"
    kind = f"{at}{event['event_type']:<{_EVENT_TYPE_WIDTH}}{route:<9} "
    lines = [_wrapped(f"{kind}{_hands(event)}".rstrip(), len(kind))]
    papers = []
    euc = event["euc"]
    if euc is not None:
        line = event["euc_line_number"]
        # The revocation that stands, as the JSON's `revoked_on`: one withdrawn as recorded in
        # error does not count, and is on the certificate's own record (GET /v1/eucs/{id}).
        revoked = euc["revoked_on"]
        papers.append(
            f"certificate {shown(euc['certificate_number'])} ({euc['issuing_country']})"
            + (f" line {line}" if line is not None else "")
            + (f", revoked from {revoked}" if revoked is not None else "")
        )
    if event["licence_number"]:
        papers.append(f"licence {shown(event['licence_number'])}")
    if event["document_reference"]:
        papers.append(f"document {shown(event['document_reference'])}")
    papers.append(f"recorded by {recorder}")
    if event["classification"] == RESTRICTED:
        papers.append(f"{RESTRICTED}: not shown to other agencies")
    lines.append(_wrapped(follow + "; ".join(papers), len(follow) + len(_INDENT)))
    if event["notes"]:
        lines.append(_wrapped(f"{follow}notes: {shown(event['notes'])}", len(follow) + 7))
    declaration = event["error_declaration"]
    if declaration is not None:
        declared = (
            f"{follow}DECLARED ERRONEOUS ({declaration['reason']}) by "
            f"{shown(declaration['declared_by']['name'])} on "
            f"{_moment(declaration['declared_at'])}: {shown(declaration['explanation'])}"
            f" (it does not count{_corrected_by(declaration['corrective_event_ids'])})"
        )
        lines.append(_wrapped(declared, len(follow) + len(_INDENT)))
    return lines


def _corrected_by(event_ids: Sequence[str]) -> str:
    if not event_ids:
        return ""
    return f"; corrected by {'event' if len(event_ids) == 1 else 'events'} {', '.join(event_ids)}"


def _hands(event: Document) -> str:
    """Who the event moved the item from and to, and the owner it names unless that goes
    without saying: a transfer's receiver becomes its owner anyway, but a sender that keeps
    ownership (a loan, a repair) or a seizing receiver that takes it changes where ownership
    stands (service.domain.custody), and left out would read as the default."""
    sender, receiver, owner = event["from_party"], event["to_party"], event["owner_party"]
    parts = []
    if sender is not None:
        parts.append(f"from {_party(sender)}")
    if receiver is not None:
        parts.append(f"to {_party(receiver)}")
    implied = event["event_type"] in OWNERSHIP_PASSING_TYPES and owner == receiver
    if owner is not None and not implied:
        parts.append(f"owner {_party(owner)}")
    return " ".join(parts)


def _party(party: Document) -> str:
    if party.get("redacted"):
        return f"(a party restricted by {shown(party['recorded_by']['name'])}: ask them)"
    # Only its recorder sees a restricted party whole: a report passed on must say so.
    restricted = f", {RESTRICTED}" if party.get("classification") == RESTRICTED else ""
    return f"{shown(party['name'])} ({party['kind']}, {party['country']}{restricted})"


# Small pieces ----------------------------------------------------------------------------------


def _labelled(label: str, value: object) -> Iterator[str]:
    """`label  value`, labels in a column; nothing when there is no value."""
    if value:
        yield _wrapped(f"{label:<12}{shown(value)}", 12)


def _detail(label: str, value: str) -> str:
    return _wrapped(f"{_INDENT}{label:<12}{value}", len(_INDENT) + 12)


def _markings(markings: Sequence[Document]) -> str:
    return ", ".join(
        _words(
            marking["country"],
            marking["year"] and str(marking["year"]),
            marking["marking"] and _quoted(marking["marking"]),
        )
        for marking in markings
    )


def _words(*parts: str | None) -> str:
    """The parts given (an absent one is None or empty), joined by spaces."""
    return " ".join(part for part in parts if part)


def _quoted(text: object) -> str:
    return "none" if text is None else f'"{shown(text)}"'


def _country(code: str | None) -> str:
    return f", {code}" if code else ""


def _moment(timestamp: str) -> str:
    """An answer's UTC timestamp to the second: 2026-12-06 06:40:12 UTC."""
    return f"{timestamp[:10]} {timestamp[11:19]} UTC"
