"""Records sent again under their references (README, "A reference names one record"): the same
records in another order, in the other format, or spelt otherwise, are present and nothing is
reported; one field changed is one problem, of that record's line, naming the field.

Hypothesis makes a registry of every record type (unicode text, optional fields there or not,
certificates with line items, events with items) and the ways a sender may spell it; each example
imports it for an agency of its own, with importing.run (as the API, the CLI and the worker run
it) against the real PostgreSQL, then sends it again.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service.db import Connection
from service.domain import custody
from service.domain.serials import fold_serial
from service.domain.text import KEPT_FORMAT_CHARACTERS
from service.repository.imports import ImportRecord
from service.schemas.fields import InputContext, refused_character
from service.schemas.imports import SCHEMAS
from service.schemas.registry import CLASSIFICATIONS, ITEM_CATEGORIES, PARTY_KINDS
from tests.api.test_imports import CSV, NDJSON, import_file

# Each example imports a few files: few examples. The `db` fixture is made once per test, not
# per example; each example is a fresh agency, and its serials, registration and certificate
# numbers carry the example's number (the registry keeps them unique across agencies).
PROPERTY = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_examples = itertools.count()

Record = dict[str, Any]
Draw = Callable[..., Any]
COUNTRIES = ("BE", "FR", "KE", "UG", "DE", "RU", "BR", "JP")
RECORD_TYPES = ("party", "item", "euc", "event")
# The fields a record type may be sent with (a certificate's line items are CSV's line_* columns).
FIELDS = {
    "party": ("name", "kind", "country", "registration_number", "address", "classification"),
    "item": ("manufacturer", "model", "category", "serial_number", "caliber",
             "country_of_manufacture", "year_of_manufacture", "import_markings",
             "other_markings"),
    "euc": ("certificate_number", "issuing_country", "issuing_authority", "issued_on",
            "expires_on", "exporter_party_ref", "end_user_party_ref", "destination_country",
            "stated_end_use", "non_reexport_clause", "line_items"),
    "event": ("event_type", "occurred_on", "country", "destination_country", "from_party_ref",
              "to_party_ref", "owner_party_ref", "euc_ref", "euc_line_number", "licence_number",
              "document_reference", "notes", "classification", "item_refs"),
}  # fmt: skip
LINE_COLUMNS = ("line_number", "line_description", "line_category", "line_model", "line_quantity")
# Free text: stripped on the way in, so a sender may pad it (NDJSON pads nothing else; CSV strips
# every cell).
TEXT = {
    "name", "registration_number", "address", "manufacturer", "model", "serial_number",
    "caliber", "other_markings", "certificate_number", "issuing_authority", "stated_end_use",
    "licence_number", "document_reference", "notes", "description",
}  # fmt: skip
CHOICES = {
    "kind": PARTY_KINDS,
    "category": ITEM_CATEGORIES,
    "classification": CLASSIFICATIONS,
    "event_type": custody.EVENT_TYPES,
}
# The fields, but markings and names, that the service takes on one line only.
ONE_LINE = ("registration_number", "caliber", "licence_number", "document_reference")
REFERENCES = {"exporter_party_ref", "end_user_party_ref", "from_party_ref", "to_party_ref",
              "owner_party_ref", "euc_ref"}  # fmt: skip

# Any character a text field takes: no control characters but tab, line feed and carriage return,
# no noncharacters, and no format characters but the direction marks and joiners
# (service.domain.text).
_characters = st.one_of(
    st.characters(exclude_categories=("Cc", "Cs", "Cf")).filter(
        lambda character: refused_character(character) is None
    ),
    st.sampled_from(["\t", "\n", "\r", *sorted(KEPT_FORMAT_CHARACTERS)]),
)
# The same but the line breaks and tabs, for a field on one line (an identifier, a reference, a
# marking): within such a value the service refuses them (service.schemas.fields.on_one_line).
_one_line_characters = st.one_of(
    st.characters(exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp")).filter(
        lambda character: refused_character(character) is None
    ),
    st.sampled_from(sorted(KEPT_FORMAT_CHARACTERS)),
)
_padding = st.text(st.sampled_from(" \t\n\u00a0\u3000"), max_size=2)
# A sender's references: its own text (never "|", CSV's list separator)
_suffixes = st.sampled_from(["", "/ü", " 東京", "-Ж"])
countries = st.sampled_from(COUNTRIES)
years = st.integers(1800, date.today().year)  # a year still to come is refused
days = st.dates(date(1990, 1, 1), date(2024, 12, 31))


def _recorded(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def text(
    max_size: int = 12, marking: bool = False, one_line: bool = False
) -> st.SearchStrategy[str]:
    """Text as the registry records it (in NFC, stripped; a marking with a letter or digit; a
    marking, or with `one_line`, on one line)."""
    characters = _one_line_characters if marking or one_line else _characters
    if marking:
        words = st.text(characters, max_size=max_size // 2)
        alphanumeric = st.characters(categories=("Lu", "Ll", "Lo", "Nd"))
        made = st.builds("{}{}{}".format, words, alphanumeric, words).map(_recorded)
        return made.filter(fold_serial)
    return st.text(characters, min_size=1, max_size=max_size).map(_recorded).filter(bool)


def party_name(max_size: int = 20) -> st.SearchStrategy[str]:
    """A party's name as the registry records it: text on one line, with something to see."""
    return text(max_size).filter(_one_visible_line)


def _one_visible_line(made: str) -> bool:
    return not re.search(r"[\t\n\r\u2028\u2029]", made) and any(
        unicodedata.category(character)[0] in "LNS" for character in made
    )


def optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


# A registry, as recorded: every field of every record, None where it is absent ----------------


def _party(draw: Draw, number: int) -> Record:
    return {
        "record_type": "party", "ref": f"P-{number}{draw(_suffixes)}", "name": draw(party_name()),
        "kind": draw(st.sampled_from(PARTY_KINDS)), "country": draw(countries),
        "registration_number": draw(optional(text(10, one_line=True))),
        "address": draw(optional(text(20))),
        "classification": draw(st.sampled_from(CLASSIFICATIONS)),
    }  # fmt: skip


def _item(draw: Draw, number: int) -> Record:
    markings = st.fixed_dictionaries({"country": countries, "year": optional(years)})
    return {
        "record_type": "item", "ref": f"I-{number}{draw(_suffixes)}",
        "manufacturer": draw(text(12, True)),
        "model": draw(text(8, True)), "category": draw(st.sampled_from(ITEM_CATEGORIES)),
        "serial_number": draw(text(10, True)), "caliber": draw(optional(text(8, one_line=True))),
        "country_of_manufacture": draw(optional(countries)),
        "year_of_manufacture": draw(optional(years)),
        "import_markings": draw(st.lists(markings, max_size=3)),
        "other_markings": draw(optional(text(20))),
    }  # fmt: skip


def _line_items(draw: Draw) -> list[Record]:
    count = draw(st.integers(1, 3))
    # numbered by the sender, or by their positions, or some each way (no two the same)
    numbers = draw(st.lists(optional(st.integers(1, 40)), min_size=count, max_size=count))
    numbers = draw(st.sampled_from([numbers, [None] * count]))
    effective = [number or position for position, number in enumerate(numbers, start=1)]
    assume(len(set(effective)) == count)
    return [
        {"line_number": number, "description": draw(text(16)),
         "category": draw(optional(st.sampled_from(ITEM_CATEGORIES))),
         "model": draw(optional(text(8, one_line=True))),
         "quantity": draw(st.integers(1, 10_000_000))}
        for number in numbers
    ]  # fmt: skip


def _certificate(draw: Draw, number: int, parties: list[str]) -> Record:
    issued_on = draw(days)
    return {
        "record_type": "euc", "ref": f"C-{number}{draw(_suffixes)}",
        "certificate_number": draw(text(10, True)),
        "issuing_country": draw(countries), "issuing_authority": draw(text(16)),
        "issued_on": issued_on,
        "expires_on": draw(optional(st.dates(issued_on, date(2030, 12, 31)))),
        "exporter_party_ref": draw(optional(st.sampled_from(parties))),
        "end_user_party_ref": draw(st.sampled_from(parties)),
        "destination_country": draw(countries), "stated_end_use": draw(text(20)),
        "non_reexport_clause": draw(st.booleans()), "line_items": _line_items(draw),
    }  # fmt: skip


def _party_of(draw: Draw, need: custody.Need, parties: list[str]) -> str | None:
    if need is custody.Need.FORBIDDEN:
        return None
    chosen = st.sampled_from(parties)
    return draw(chosen if need is custody.Need.REQUIRED else optional(chosen))


def _event(draw: Draw, number: int, records: list[Record]) -> Record:
    parties, items, certificates = (
        [r for r in records if r["record_type"] == kind] for kind in ("party", "item", "euc")
    )
    party_refs = [p["ref"] for p in parties]
    event_type = draw(st.sampled_from(custody.EVENT_TYPES))
    rule = custody.PARTY_RULES[event_type]
    sender = _party_of(draw, rule.from_party, party_refs)
    others = [ref for ref in party_refs if ref != sender]
    receiver = _party_of(draw, rule.to_party, others)
    if rule.at_least_one and sender is None and receiver is None:
        receiver = draw(st.sampled_from(others))
    certificate = None
    if event_type in custody.EUC_EVENT_TYPES and certificates:
        certificate = draw(optional(st.sampled_from(certificates)))
    line_number = None
    if certificate is not None:
        line_number = draw(optional(st.sampled_from(line_numbers(certificate))))
    country = draw(countries)
    abroad = countries.filter(lambda code: code != country)  # an export leaves its country
    return {
        "record_type": "event", "ref": f"E-{number}{draw(_suffixes)}", "event_type": event_type,
        "occurred_on": draw(days), "country": country,
        "destination_country": draw(abroad if event_type == "EXPORT" else optional(countries)),
        "from_party_ref": sender, "to_party_ref": receiver,
        "owner_party_ref": draw(optional(st.sampled_from(party_refs))),
        "euc_ref": None if certificate is None else certificate["ref"],
        "euc_line_number": line_number,
        "licence_number": draw(optional(text(10, one_line=True))),
        "document_reference": draw(optional(text(10, one_line=True))),
        "notes": draw(optional(text(30))),
        "classification": draw(st.sampled_from(CLASSIFICATIONS)),
        "item_refs": draw(st.lists(st.sampled_from([i["ref"] for i in items]), min_size=1,
                                   unique=True)),
    }  # fmt: skip


def line_numbers(certificate: Record) -> list[int]:
    """The numbers a certificate's lines are stored under (a line without one: its position)."""
    return [
        line["line_number"] or position
        for position, line in enumerate(certificate["line_items"], start=1)
    ]


@st.composite
def registries(draw: Draw) -> list[Record]:
    """Two to four parties, one to four items, up to two certificates and four events."""
    records = [_party(draw, n) for n in range(draw(st.integers(2, 4)))]
    records += [_item(draw, n) for n in range(draw(st.integers(1, 4)))]
    party_refs = [r["ref"] for r in records if r["record_type"] == "party"]
    records += [_certificate(draw, n, party_refs) for n in range(draw(st.integers(0, 2)))]
    records += [_event(draw, n, records) for n in range(draw(st.integers(0, 4)))]
    return records


def of_the_example(records: list[Record]) -> tuple[str, list[Record]]:
    """A fresh agency, and the records with what the registry keeps unique across agencies made
    the example's own (a prefix that folding keeps, which no other example's is a prefix of)."""
    example = next(_examples)
    unique = {"item": "serial_number", "party": "registration_number",
              "euc": "certificate_number"}  # fmt: skip
    made = []
    for position, record in enumerate(records):
        field = unique.get(record["record_type"])
        if field is not None and record[field] is not None:
            record = {**record, field: f"X{example}N{position}Z{record[field]}"}
        made.append(record)
    return f"Resending agency {example}", made


# The same records spelt as a sender may spell them ---------------------------------------------


def _padded(draw: Draw, value: str) -> str:
    return f"{draw(_padding)}{value}{draw(_padding)}"


def _json_lines(draw: Draw, lines: list[Record]) -> list[Record]:
    spelt = []
    for position, line in enumerate(lines, start=1):
        number = line["line_number"]
        if number is None and draw(st.booleans()):
            number = position  # written out as the number it is given anyway
        document = {"description": _padded(draw, line["description"]),
                    "quantity": line["quantity"]}  # fmt: skip
        for name, value in (("line_number", number), ("category", line["category"]),
                            ("model", line["model"])):  # fmt: skip
            if value is not None:
                document[name] = value if name != "model" else _padded(draw, value)
            elif draw(st.booleans()):
                document[name] = None
        spelt.append(document)
    if all(d.get("line_number") is not None for d in spelt):
        spelt = draw(st.permutations(spelt))  # numbered lines may come in any order
    return spelt


def json_document(draw: Draw, record: Record) -> Record:
    """The record as an NDJSON line may say it."""
    document: Record = {"record_type": record["record_type"], "ref": _padded(draw, record["ref"])}
    for field in FIELDS[record["record_type"]]:
        value = record[field]
        if value is None or (field == "classification" and value == "UNRESTRICTED"):
            if draw(st.booleans()):  # left out, or written out (null, the default)
                document[field] = None if value is None else value
        elif field == "import_markings":
            if value or draw(st.booleans()):
                document[field] = [_json_marking(draw, marking) for marking in value]
        elif field == "line_items":
            document[field] = _json_lines(draw, value)
        elif field == "item_refs":
            document[field] = [_padded(draw, ref) for ref in draw(st.permutations(value))]
        elif isinstance(value, int):  # a boolean too; an integer as written (7.0 is refused)
            document[field] = value
        elif isinstance(value, date):
            document[field] = value.isoformat()
        elif field in TEXT or field in REFERENCES:
            document[field] = _padded(draw, value)
        else:
            document[field] = value
    return document


def _json_marking(draw: Draw, marking: Record) -> Record:
    spelt: Record = {"country": marking["country"]}
    if marking["year"] is not None:
        spelt["year"] = marking["year"]
    elif draw(st.booleans()):
        spelt["year"] = None
    if draw(st.booleans()):
        spelt["marking"] = None
    return spelt


def _cell(draw: Draw, field: str, value: Any) -> str:
    """A CSV cell saying the value (every cell is stripped; an empty one says nothing)."""
    if value is None:
        return draw(st.sampled_from(["", " ", "\t", "\u00a0"]))
    if isinstance(value, bool):
        word = draw(st.sampled_from(["true", "yes", "1"] if value else ["false", "no", "0"]))
        return _padded(draw, draw(st.sampled_from([word, word.upper(), word.title()])))
    if isinstance(value, int):
        return _padded(draw, draw(st.sampled_from([str(value), f"0{value}"])))
    if isinstance(value, date):
        return _padded(draw, value.isoformat())
    if field == "item_refs":
        return "|".join(_padded(draw, ref) for ref in draw(st.permutations(value)))
    if field == "import_markings":
        return "|".join(_csv_marking(draw, marking) for marking in value)
    return _padded(draw, str(value))


def _csv_marking(draw: Draw, marking: Record) -> str:
    year = marking["year"]
    after = f":{_padded(draw, str(year))}" if year is not None else draw(st.sampled_from(["", ":"]))
    return f"{_padded(draw, marking['country'])}{after}"


def _csv_rows(draw: Draw, record: Record) -> list[dict[str, str]]:
    """A record's rows: one, or a certificate's one per line item, each repeating the
    certificate's columns (spelt otherwise, perhaps, but saying the same)."""
    fields = [f for f in FIELDS[record["record_type"]] if f != "line_items"]

    def row() -> dict[str, str]:
        return {"ref": _padded(draw, record["ref"])} | {
            field: _cell(draw, field, record[field]) for field in fields
        }

    if record["record_type"] != "euc":
        return [row()]
    lines = list(enumerate(record["line_items"], start=1))
    if all(line["line_number"] is not None for _, line in lines):
        lines = draw(st.permutations(lines))
    rows = []
    for position, line in lines:
        number = line["line_number"]
        if number is None and draw(st.booleans()):
            number = position
        values = (number, line["description"], line["category"], line["model"], line["quantity"])
        rows.append(
            row() | {c: _cell(draw, c, v) for c, v in zip(LINE_COLUMNS, values, strict=True)}
        )
    return rows


def csv_file(draw: Draw, records: list[Record]) -> tuple[bytes, dict[str, int]]:
    """One record type's CSV file (columns in any order, a column no row fills perhaps left
    out), and the line each record starts on."""
    kind = records[0]["record_type"]
    rows = [(record["ref"], row) for record in records for row in _csv_rows(draw, record)]
    columns = ["ref", *(f for f in FIELDS[kind] if f != "line_items")]
    if kind == "euc":
        columns += LINE_COLUMNS
    empty = [c for c in columns if all(not row[c].strip() for _, row in rows)]
    left_out = draw(st.lists(st.sampled_from(empty), unique=True)) if empty else []
    header = draw(st.permutations([c for c in columns if c not in left_out]))
    out = io.StringIO()
    # Every cell quoted, or those that need it: then a cell with a line break of either kind
    # (QUOTE_MINIMAL looks for those of the rows' line ending only)
    ending, quoting = draw(st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
    writer = csv.writer(out, lineterminator=ending, quoting=quoting)
    writer.writerow(header)
    starts: dict[str, int] = {}
    for ref, row in rows:
        # the lines as the reader counts them: a cell's line breaks are lines too
        starts.setdefault(ref, len(re.findall("\r\n|\r|\n", out.getvalue())) + 1)
        writer.writerow([row[c] for c in header])
    return _marked(draw, out.getvalue().encode()), starts


def ndjson_file(draw: Draw, records: list[Record]) -> tuple[bytes, dict[str, int]]:
    """An NDJSON file of the records (a blank line here and there), and each record's line."""
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines: list[bytes] = []
    starts: dict[str, int] = {}
    for record in records:
        if draw(st.integers(0, 4)) == 0:
            lines.append(b"")
        starts[record["ref"]] = len(lines) + 1
        lines.append(orjson.dumps(json_document(draw, record)))
    return _marked(draw, b"".join(line + ending for line in lines)), starts


def _marked(draw: Draw, body: bytes) -> bytes:
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + body  # a byte order mark, or none


Sent = list[tuple[ImportRecord, list[Record], dict[str, int]]]


def send(db: Connection, draw: Draw, agency: str, media_type: str, records: list[Record]) -> Sent:
    """The records imported in one NDJSON file, or in one CSV file per record type (parties
    first: each may name the records of the files before it). Each import with the records it
    held and the line each started on."""
    if media_type == NDJSON:
        body, starts = ndjson_file(draw, records)
        return [(import_file(db, body, agency=agency), records, starts)]
    sent = []
    for kind in RECORD_TYPES:
        of_kind = [r for r in records if r["record_type"] == kind]
        if of_kind:
            body, starts = csv_file(draw, of_kind)
            result = import_file(db, body, media_type=CSV, record_type=kind, agency=agency)
            sent.append((result, of_kind, starts))
    return sent


def counted(records: list[Record]) -> dict[str, int]:
    return {kind: sum(r["record_type"] == kind for r in records) for kind in RECORD_TYPES}


def assert_stored(sent: Sent) -> dict[str, str]:
    """Every record stored; the import that stored each (by reference)."""
    stored_in = {}
    for result, records, _ in sent:
        assert (result.status, result.errors) == ("COMPLETED", ()), result.errors
        assert result.stored == counted(records)
        stored_in |= {record["ref"]: str(result.id) for record in records}
    return stored_in


def assert_present(sent: Sent) -> None:
    for result, records, _ in sent:
        assert (result.status, result.errors) == ("COMPLETED", ()), result.errors
        assert result.stored == dict.fromkeys(RECORD_TYPES, 0)
        assert result.already_present == counted(records)


def some_of(draw: Draw, records: list[Record], kept: Record | None = None) -> list[Record]:
    """Some of the records (`kept` among them), in any order."""
    chosen = [r for r in records if r is kept or draw(st.booleans())] or [records[0]]
    return list(draw(st.permutations(chosen)))


@pytest.mark.parametrize("first", [NDJSON, CSV], ids=["ndjson-first", "csv-first"])
@PROPERTY
@given(registry=registries(), data=st.data())
def test_records_sent_again_as_they_were_are_present(
    db: Connection, first: str, registry: list[Record], data: st.DataObject
) -> None:
    agency, records = of_the_example(registry)
    assert_stored(send(db, data.draw, agency, first, records))
    other = CSV if first == NDJSON else NDJSON

    # some of them in another order and other spellings (their parties, certificates and items
    # in this file or the first), then all of them in the other format
    assert_present(send(db, data.draw, agency, first, some_of(data.draw, records)))
    assert_present(send(db, data.draw, agency, other, list(data.draw(st.permutations(records)))))


# One field changed --------------------------------------------------------------------------


def as_recorded(record: Record) -> Any:
    """What the registry keeps of a record: a certificate's lines by their numbers, an event's
    items as a set."""
    kept = dict(record)
    if record["record_type"] == "euc":
        kept["line_items"] = sorted(
            (number, line["description"], line["category"], line["model"], line["quantity"])
            for number, line in zip(line_numbers(record), record["line_items"], strict=True)
        )
    if record["record_type"] == "event":
        kept["item_refs"] = frozenset(record["item_refs"])
    return kept


def loads(record: Record) -> bool:
    """Whether the import schema takes the record."""
    document = {k: v.isoformat() if isinstance(v, date) else v for k, v in record.items()}
    with InputContext({"countries": frozenset(COUNTRIES)}):
        try:
            SCHEMAS[record["record_type"]].load(document)
        except ValidationError:
            return False
    return True


def _new_lines(draw: Draw, lines: list[Record]) -> list[Record]:
    """A certificate's lines, one changed, added or taken away."""
    lines = [dict(line) for line in lines]
    line = draw(st.sampled_from(lines))
    change = draw(st.sampled_from(["description", "category", "model", "quantity", "add",
                                   "remove", "model into description"]))  # fmt: skip
    if change == "add":
        numbered = line["line_number"] is not None
        number = max(n or 0 for n in (x["line_number"] for x in lines)) + 1 if numbered else None
        lines.append({**line, "line_number": number})
    elif change == "remove":
        assume(len(lines) > 1)
        lines.remove(line)
    elif change == "model into description":  # the same words, in another field
        assume(line["model"] is not None)
        line["description"] = f"{line['description']} {line['model']}"
        line["model"] = None
    else:
        line[change] = draw(
            {"description": text(16), "category": optional(st.sampled_from(ITEM_CATEGORIES)),
             "model": optional(text(8, one_line=True)),
             "quantity": st.integers(1, 10_000_000)}[change]
        )  # fmt: skip
    return lines


def _other_value(draw: Draw, records: list[Record], record: Record, field: str) -> Any:
    refs = {kind: [r["ref"] for r in records if r["record_type"] == kind] for kind in RECORD_TYPES}
    value = record[field]
    if field == "line_items":
        return _new_lines(draw, value)
    if field == "item_refs":
        return draw(st.lists(st.sampled_from(refs["item"]), min_size=1, unique=True))
    if field == "import_markings":
        marking = st.fixed_dictionaries({"country": countries, "year": optional(years)})
        return draw(st.lists(marking, max_size=3))
    if field in REFERENCES:
        named = [ref for ref in refs["euc" if field == "euc_ref" else "party"] if ref != value]
        return draw(optional(st.sampled_from(named)) if named else st.none())
    if field in CHOICES:
        return draw(st.sampled_from([choice for choice in CHOICES[field] if choice != value]))
    if isinstance(value, bool):
        return not value
    made = {
        "country": countries, "issuing_country": countries, "destination_country": countries,
        "country_of_manufacture": countries, "year_of_manufacture": years,
        "euc_line_number": st.integers(1, 40), "issued_on": days, "expires_on": days,
        "occurred_on": days,
        "manufacturer": text(12, True), "model": text(8, True), "serial_number": text(10, True),
        "certificate_number": text(10, True), "name": party_name(),
        **dict.fromkeys(ONE_LINE, text(20, one_line=True)),
    }.get(field, text(20))  # fmt: skip
    optional_fields = {"registration_number", "address", "caliber", "country_of_manufacture",
                       "year_of_manufacture", "other_markings", "expires_on", "euc_line_number",
                       "licence_number", "document_reference", "notes"}  # fmt: skip
    if record["record_type"] == "event":  # a certificate's is required, an export's too
        optional_fields.add("destination_country")
    return draw(optional(made) if field in optional_fields else made)


def _exported_home(record: Record) -> bool:
    """An export to the country it leaves, which every import refuses."""
    return record.get("event_type") == "EXPORT" and (
        record.get("destination_country") == record.get("country")
    )


def changed_record(draw: Draw, records: list[Record]) -> tuple[Record, str]:
    """One of the records with one field changed to another value it may have."""
    record = draw(st.sampled_from(records))
    field = draw(st.sampled_from(FIELDS[record["record_type"]]))
    changed = {**record, field: _other_value(draw, records, record, field)}
    assume(as_recorded(changed)[field] != as_recorded(record)[field])
    assume(not _exported_home(changed))
    assume(loads(changed))
    return changed, field


@pytest.mark.parametrize("first", [NDJSON, CSV], ids=["ndjson-first", "csv-first"])
@PROPERTY
@given(registry=registries(), data=st.data())
def test_a_record_sent_again_with_one_field_changed_is_one_problem_naming_it(
    db: Connection, first: str, registry: list[Record], data: st.DataObject
) -> None:
    agency, records = of_the_example(registry)
    changed, field = changed_record(data.draw, records)  # before any import: it may be refused
    stored_in = assert_stored(send(db, data.draw, agency, first, records))
    again = data.draw(st.sampled_from([NDJSON, CSV]))
    kind, ref = changed["record_type"], changed["ref"]
    resent = [changed if r["ref"] == ref else r for r in records]
    if again == CSV:  # the changed record's file: its record type's
        resent = [r for r in resent if r["record_type"] == kind]

    ((result, _, starts),) = [
        sent
        for sent in send(db, data.draw, agency, again, some_of(data.draw, resent, changed))
        if any(r["ref"] == ref for r in sent[1])
    ]

    assert result.status == "FAILED"
    assert [(p.line, p.field) for p in result.errors] == [(starts[ref], field)]
    (problem,) = result.errors
    assert problem.detail.startswith(
        f"{kind} {ref} was imported before (import {stored_in[ref]}) with {field} "
    ), problem.detail
