"""Reading an import file: NDJSON lines or CSV rows as record documents, with the line each came
from, and the problems found in them. Pure: no database, no Flask.

CSV carries one record type per file, its columns the fields of that record. Values that are not
text are written as text: integers and dates as such, booleans as true/false (or yes/no, 1/0),
lists joined with `|` (an event's `item_refs`; an item's `import_markings` as `KE:2010|UG`). A
certificate takes one row per line item (`line_number`, `line_description`, `line_category`,
`line_model`, `line_quantity`), its other columns repeated on each of its rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

NDJSON = "application/x-ndjson"
CSV = "text/csv"
MEDIA_TYPES = (NDJSON, CSV)
# UTF-8's byte order mark, which some tools write at the start of a file.
BOM = codecs.BOM_UTF8
LIST_SEPARATOR = "|"
# Longest line or row read whole; anything longer is a problem of its own, not a memory spike.
LONGEST_LINE = 1 << 20

_INTEGERS = {"year_of_manufacture", "euc_line_number", "line_number", "line_quantity"}
_BOOLEANS = {"non_reexport_clause"}
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}
_LINE_COLUMNS = {
    "line_number": "line_number",
    "line_description": "description",
    "line_category": "category",
    "line_model": "model",
    "line_quantity": "quantity",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the file: the 1-based line, the field (empty for the whole line)."""

    line: int
    field: str
    detail: str


@dataclass(frozen=True)
class Document:
    line: int
    fields: dict[str, Any]


def documents(
    stream: BinaryIO, media_type: str, record_type: str | None
) -> Iterator[Document | Problem]:
    """Each record of the file in order, or the problem that keeps a line from being one."""
    if media_type == NDJSON:
        yield from _ndjson(stream)
    else:
        yield from _csv(stream, record_type or "")


def _ndjson(stream: BinaryIO) -> Iterator[Document | Problem]:
    for number, raw in enumerate(lines(stream), start=1):
        entry = ndjson_line(number, raw)
        if entry is not None:
            yield entry


def ndjson_line(number: int, raw: bytes | None) -> Document | Problem | None:
    """The record one NDJSON line holds (as `lines` gives it), its problem, or None (blank)."""
    if raw is None:
        return Problem(number, "", f"the line is longer than {LONGEST_LINE} bytes")
    if not raw.strip():
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Problem(number, "", f"not a JSON object: {exc}")
    if not isinstance(document, dict):
        return Problem(number, "", "each line must be one JSON object")
    return Document(number, document)


def lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Lines without their ending; None for a line too long to read (it is skipped whole). A
    UTF-8 byte order mark at the very start of the file is left out, as CSV's reader does
    (`utf-8-sig`); anywhere else it stays, and orjson refuses it."""
    line = _first_line(stream)
    while line:
        if len(line) > LONGEST_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(LONGEST_LINE)
            yield None
        else:
            yield line.rstrip(b"\r\n")
        line = stream.readline(LONGEST_LINE + 1)


def _first_line(stream: BinaryIO) -> bytes:
    """The file's first line as `lines` reads every line, without a byte order mark before it
    (which does not count towards LONGEST_LINE). Read apart so that the loop over the others
    does not look for one on each."""
    head = stream.readline(len(BOM))  # stops at a line's end: never reads into the second line
    if head == BOM:
        return stream.readline(LONGEST_LINE + 1)
    if not head or head.endswith(b"\n"):
        return head
    return head + stream.readline(LONGEST_LINE + 1 - len(head))


def _csv(stream: BinaryIO, record_type: str) -> Iterator[Document | Problem]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    rows = csv.DictReader(text, strict=True)
    try:
        if not rows.fieldnames:
            yield Problem(1, "", "the file is empty: a CSV import needs a header row")
            return
        blank = [name for name in rows.fieldnames if not name.strip()]
        if blank:
            yield Problem(1, "", "every column of the header row needs a name")
            return
        pending: Document | None = None
        for row in rows:
            if None in row:
                yield Problem(rows.line_num, "", "the row has more values than the header")
                continue
            if None in row.values():  # DictReader's restval for the columns a row lacks
                yield Problem(rows.line_num, "", "the row has fewer values than the header")
                continue
            document = Document(rows.line_num, csv_fields(record_type, row))
            if record_type != "euc":
                yield document
            elif pending is not None and pending.fields.get("ref") == document.fields.get("ref"):
                pending.fields["line_items"].extend(document.fields["line_items"])
            else:
                if pending is not None:
                    yield pending
                pending = document
        if pending is not None:
            yield pending
    except (csv.Error, UnicodeDecodeError) as exc:
        yield Problem(rows.line_num or 1, "", f"not a readable UTF-8 CSV row: {exc}")
    finally:
        text.detach()


def csv_fields(record_type: str, row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the fields of a record document (empty cells left out)."""
    document: dict[str, Any] = {"record_type": record_type}
    line: dict[str, Any] = {}
    for column, raw in row.items():
        value = raw.strip()
        if not value:
            continue
        if record_type == "euc" and column in _LINE_COLUMNS:
            line[_LINE_COLUMNS[column]] = _typed(column, value)
        elif column == "item_refs":
            document[column] = [ref.strip() for ref in value.split(LIST_SEPARATOR)]
        elif column == "import_markings":
            document[column] = [_marking(marking) for marking in value.split(LIST_SEPARATOR)]
        else:
            document[column] = _typed(column, value)
    if record_type == "euc":
        document["line_items"] = [line]
    return document


def _typed(column: str, value: str) -> Any:
    """Integers and booleans from their text; what does not parse stays text, for the schema to
    refuse with its own message."""
    if column in _INTEGERS:
        try:
            return int(value)
        except ValueError:
            return value
    if column in _BOOLEANS:
        lowered = value.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    return value


def _marking(text: str) -> dict[str, Any]:
    country, _, year = text.strip().partition(":")
    marking: dict[str, Any] = {"country": country.strip()}
    if year.strip():
        marking["year"] = _typed("year_of_manufacture", year.strip())
    return marking
