"""Reading an import file: NDJSON lines or CSV rows as record documents, with the line each came
from, and the problems found in them. Pure: no database, no Flask.

CSV carries one record type per file, its columns the fields of that record (each named once
in the header row). Values that are not text are written as text: integers and dates as such,
booleans as true/false (or yes/no, 1/0), lists joined with `|` (an event's `item_refs`; an
item's `import_markings` as `KE:2010|UG`). A certificate takes one row per line item
(`line_number`, `line_description`, `line_category`, `line_model`, `line_quantity`), its
consecutive rows of one `ref` (at most MAX_EUC_LINES), its other columns repeated on each of
its rows (a blank cell is not a repetition).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from service.domain.certificates import MAX_EUC_LINES
from service.domain.json_text import loads, undecodable_byte

NDJSON = "application/x-ndjson"
CSV = "text/csv"
MEDIA_TYPES = (NDJSON, CSV)
# UTF-8's byte order mark, which some tools write at the start of a file.
BOM = codecs.BOM_UTF8
BOM_INSIDE = (
    "holds a byte order mark (U+FEFF), which only the very start of a file may: files joined "
    "into one, perhaps"
)
# The byte order marks of the encodings a file is refused in whole, longest first (UTF-32 LE's
# starts with UTF-16 LE's): read as UTF-8, every line of such a file was a problem of its own.
OTHER_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# The signatures of compressed files and archives, which a file sent as it is was read as
# NDJSON or CSV: each run of bytes between two 0x0A bytes a problem of its own ("not UTF-8
# text ...: save the file as UTF-8"), up to 1,000, naming neither the compression nor what to do.
COMPRESSED = (
    (b"\x1f\x8b", "gzip-compressed"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
)
# Bytes enough to tell any of them
LONGEST_MARK = max(len(mark) for mark, _ in (*OTHER_ENCODINGS, *COMPRESSED))
LIST_SEPARATOR = "|"
# Longest line or row read whole; anything longer is a problem of its own, not a memory spike.
LONGEST_LINE = 1 << 20

_INTEGERS = {"year_of_manufacture", "euc_line_number", "line_number", "line_quantity"}
_BOOLEANS = {"non_reexport_clause"}
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}
# A certificate's line item columns in CSV, and the field of a line item each is.
LINE_COLUMNS = {
    "line_number": "line_number",
    "line_description": "description",
    "line_category": "category",
    "line_model": "model",
    "line_quantity": "quantity",
}
_COLUMN_OF_LINE_FIELD = {field: column for column, field in LINE_COLUMNS.items()}
LINE_ITEMS_COLUMN = (
    "a certificate's line items are not a column: each is a row of its own, in the columns "
    + ", ".join(LINE_COLUMNS)
)


@dataclass(frozen=True)
class Columns:
    """The columns a CSV file of one record type may name (`known`) and must name (`required`),
    as its import schema declares its fields (service.schemas.imports.CSV_COLUMNS: this module
    reads files, and knows no schema)."""

    # in the schema's order, as a problem lists them
    known: tuple[str, ...]
    required: tuple[str, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the file: the 1-based line, the field (empty for the whole line)."""

    line: int
    field: str
    detail: str

    def clipped(self, field: int, detail: int) -> Problem:
        """The problem with its field and detail cut to at most so many characters (the last
        one an ellipsis): they may quote what the file said, as long as its line."""
        if len(self.field) <= field and len(self.detail) <= detail:
            return self
        return Problem(self.line, _clip(self.field, field), _clip(self.detail, detail))


def _clip(text: str, longest: int) -> str:
    return text if len(text) <= longest else text[: longest - 1] + "…"


@dataclass(frozen=True)
class Document:
    """A record as read: the line it starts on, its fields, and for a certificate read from CSV
    the line of each of its line items (NDJSON holds a record on one line)."""

    line: int
    fields: dict[str, Any]
    item_lines: tuple[int, ...] = ()
    # fields an NDJSON line gives more than once (JSON Pointers without "/"): it is no record
    repeated: tuple[str, ...] = ()

    @property
    def last_line(self) -> int:
        """The record's last line (a certificate read from CSV has a row per line item)."""
        return self.item_lines[-1] if self.item_lines else self.line

    def line_of(self, field: str) -> int:
        """The line a problem of the field (a JSON Pointer without its "/") is on: the row of
        a certificate's line item (`line_items/1/quantity`), the record's line otherwise."""
        item = self._line_item(field)
        return self.item_lines[item[0]] if item else self.line

    def spelled(self, field: str) -> str:
        """The field (a JSON Pointer without its "/") as the file spelled it: for a certificate
        read from CSV, a line item's field is its row's column (`line_items/1/quantity` is that
        row's `line_quantity`: the file has no `line_items`); the field itself otherwise."""
        item = self._line_item(field)
        column = _COLUMN_OF_LINE_FIELD.get(item[1]) if item else None
        return column or field

    def _line_item(self, field: str) -> tuple[int, str] | None:
        """For a field of a CSV certificate's line item, which item it is (its row among
        item_lines) and its name within it (`line_items/1/quantity`: 1, "quantity")."""
        if not self.item_lines or not field.startswith("line_items/"):
            return None
        index, _, name = field.removeprefix("line_items/").partition("/")
        if not index.isdigit() or int(index) >= len(self.item_lines):
            return None
        return int(index), name


def not_utf_8(head: bytes) -> Problem | None:
    """The problem of a file that begins with `head` (its first LONGEST_MARK bytes, or all of
    it if shorter) when its byte order mark says it is UTF-16 or UTF-32, not UTF-8, or its
    first bytes that it is compressed (gzip, ZIP, xz, zstd): the file's one problem, told once
    rather than on each of its lines. Looked for once, at the start, so
    that reading the lines of a UTF-8 file costs nothing more."""
    for mark, encoding in OTHER_ENCODINGS:
        if head.startswith(mark):
            return Problem(
                1, "", f"the file is {encoding} (by its byte order mark): send it as UTF-8"
            )
    for mark, compression in COMPRESSED:
        if head.startswith(mark):
            return Problem(
                1,
                "",
                f"the file is {compression} (by its first bytes): decompress it and send the "
                "NDJSON or CSV file itself",
            )
    return None


def documents(
    stream: BinaryIO, media_type: str, record_type: str | None, columns: Columns | None
) -> Iterator[Document | Problem]:
    """Each record of the file in order, or the problem that keeps a line from being one.
    `columns`: those a CSV file's header row may and must name, checked once, on that row
    (None: any, for reading alone; an NDJSON line's fields are the schema's to check)."""
    if media_type == NDJSON:
        yield from _ndjson(stream)
    else:
        yield from _csv(stream, record_type or "", columns)


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
        document = loads(raw)
    except orjson.JSONDecodeError as exc:
        return Problem(number, "", _not_json(raw, exc))
    if not isinstance(document, dict):
        return Problem(number, "", "each line must be one JSON object")
    try:
        repeated = repeated_fields(raw, document)
    except NestedTooDeeply:
        return Problem(number, "", f"not a record: nested more than {DEEPEST} levels deep")
    return Document(number, document, repeated=repeated)


def _not_json(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """Why orjson refused a line: its own words and where on the line, unless the line is not
    UTF-8 ("str is not valid UTF-8: surrogates not allowed", which names neither the byte nor
    where it is). orjson's own position ("line 1 column 1 (char 0)") counted the lines of the
    one line it was given, and read as a line of the file next to the problem's."""
    undecodable = undecodable_byte(raw, "the line's")
    if undecodable is not None:
        return f"{undecodable}: save the file as UTF-8"
    # pos counts characters from the start of the text orjson read, here the line
    detail = f"not a JSON object: {exc.msg} at character {exc.pos + 1} of the line"
    if b"\r" in raw:  # its ending was stripped: this carriage return has more after it
        detail += CR_ALONE
    return detail


CR_ALONE = (
    "; the line holds a carriage return (CR) with more after it: NDJSON lines end with a line "
    "feed (LF) or CR LF, and a file whose lines end with CR alone reads as one line"
)


GIVEN_TWICE = (
    "the line gives this field more than once: which of its values is meant cannot be told"
)


def repeated_fields(raw: bytes, document: dict[str, Any]) -> tuple[str, ...]:
    """The fields a JSON object names more than once (JSON Pointers without their "/"), of
    which orjson keeps the last value without a word. Every name is followed by a colon, so a
    text with no more colons than the object has names names none twice: that costs a scan,
    and a walk of the objects in it where the object's own names are fewer or the text has
    brackets enough to nest deeper than DEEPEST (an import's records nest little: most lines
    stop at the scans, under 1 µs an event against 2.6 µs with the walk). Only a text with colons in
    its values is read again, by `json`, to be sure.
    NestedTooDeeply for one nested more than DEEPEST levels deep."""
    colons = raw.count(b":")
    if colons <= len(document) and raw.count(b"[") + raw.count(b"{") <= DEEPEST:
        return ()
    if colons <= _names_in(document):
        return ()
    # Numbers are left as text: only names count, and int() refuses more than 4,300 digits.
    names = json.loads(raw, object_pairs_hook=_Names, parse_int=str)
    return tuple(_repeated_in(names, ""))


# A record nests three levels (a certificate's line items); orjson reads 1,024, and Python
# recursed no deeper than about 1,000 looking for names given twice.
DEEPEST = 32


class NestedTooDeeply(Exception):
    """A JSON object nested more than DEEPEST levels deep."""


def _names_in(value: Any, depth: int = 1) -> int:
    """The names of the object and of the objects in it."""
    if depth > DEEPEST:
        raise NestedTooDeeply
    count = 0
    if type(value) is dict:
        count = len(value)
        value = value.values()
    elif type(value) is not list:
        return 0
    for inner in value:
        if type(inner) is dict or type(inner) is list:
            count += _names_in(inner, depth + 1)
    return count


class _Names(dict[str, Any]):
    """An object as `json` reads it, with the names it gave more than once."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counted = Counter(name for name, _ in pairs)
        self.repeated = [name for name, count in counted.items() if count > 1]


def _repeated_in(value: Any, pointer: str) -> Iterator[str]:
    if isinstance(value, _Names):
        yield from (pointer + _segment(name) for name in value.repeated)
        inner: Iterable[tuple[object, Any]] = value.items()
    elif isinstance(value, list):
        inner = enumerate(value)
    else:
        return
    for key, item in inner:
        yield from _repeated_in(item, f"{pointer}{_segment(str(key))}/")


def lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Lines without their ending; None for a line too long to read (it is skipped whole). A
    UTF-8 byte order mark at the very start of the file is left out, as CSV's reader does
    (`utf-8-sig`); anywhere else it stays, and orjson refuses it."""
    line = _first_line(stream)
    while line:
        content = line.rstrip(b"\r\n")
        if len(content) > LONGEST_LINE:
            while line and not line.endswith(b"\n"):
                line = stream.readline(LONGEST_LINE)
            yield None
        else:
            yield content
        line = stream.readline(_read_limit())


def _read_limit() -> int:
    # A line of LONGEST_LINE bytes, read whole with its ending, "\r\n" too: at LONGEST_LINE + 1
    # such a line of a file written on Windows was cut before its "\n" and refused as too long.
    return LONGEST_LINE + 2


def _first_line(stream: BinaryIO) -> bytes:
    """The file's first line as `lines` reads every line, without a byte order mark before it
    (which does not count towards LONGEST_LINE). Read apart so that the loop over the others
    does not look for one on each."""
    head = stream.readline(len(BOM))  # stops at a line's end: never reads into the second line
    if head == BOM:
        return stream.readline(_read_limit())
    if not head or head.endswith(b"\n"):
        return head
    return head + stream.readline(_read_limit() - len(head))


def _csv(
    stream: BinaryIO, record_type: str, columns: Columns | None
) -> Iterator[Document | Problem]:
    # Bytes that are not UTF-8 are read as lone surrogates, so that the row holding them is
    # found as it is read (the wrapper decodes 8 KiB ahead) and reading goes on after it.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        yield from _csv_records(_Lines(text), record_type, columns)
    finally:
        text.detach()


# Characters read at a time while skipping the rest of a CSV row too long to read.
_SKIP_PIECE = 1 << 16


class _RowTooLong(Exception):
    """A CSV row is longer than LONGEST_LINE bytes (raised through the csv reader)."""


class _Lines:
    """A CSV file's lines, for the csv reader, which takes those of one row at a time, never
    more; `start_row` is called before each row. Counts the lines (`number`: the csv reader's
    `line_num`, lines of rows too long included), notes whether the row held bytes that are not
    UTF-8 (`undecodable`), and reads a row no further than LONGEST_LINE bytes, its last line
    ending aside, as `lines` reads NDJSON: past that, the rest of the line it went over on is
    skipped a piece at a time, never held whole, and _RowTooLong raised in the csv reader, which
    starts again on the next line (as after any row it cannot read)."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.number = 0
        self.undecodable = False
        self.left = LONGEST_LINE  # bytes the row may still take
        self.skipped_to_cr = False  # the line skipped ended in "\r", perhaps a "\r\n" cut in two

    def start_row(self) -> None:
        self.undecodable = False
        self.left = LONGEST_LINE

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.left < 0:  # the row went over with the line break it goes on after
            raise _RowTooLong
        limit = self.left + 2  # in characters (each a byte or more): room for a "\r\n" too
        line = self._read(limit)
        if not line:
            raise StopIteration
        self.number += 1
        size = self._bytes_in(line)
        ending = 2 if line.endswith("\r\n") else 1 if line.endswith(("\n", "\r")) else 0
        if size - ending > self.left:
            if len(line) == limit and not line.endswith("\n"):  # the line goes on
                self._skip_rest(line)
            raise _RowTooLong
        self.left -= size  # a line break inside a quoted cell is the row's too
        return line

    def _read(self, limit: int) -> str:
        line = self.text.readline(limit)
        if self.skipped_to_cr:
            self.skipped_to_cr = False
            if line == "\n":  # the end of the line skipped
                return self.text.readline(limit)
        return line

    def _bytes_in(self, line: str) -> int:
        """The line's length in bytes as they came (noting bytes that are not UTF-8)."""
        if line.isascii():
            return len(line)
        if _SURROGATE.search(line):
            self.undecodable = True
        return len(line.encode("utf-8", "surrogateescape"))

    def _skip_rest(self, piece: str) -> None:
        """Read on to the end of the line whose first piece this is, holding one piece at a
        time. A piece ending in "\r" ends the line; if it was cut from a "\r\n" (a piece is
        cut at its limit; the reader keeps a "\r\n" whole otherwise), the next line read is
        the "\n" alone, which `__next__` leaves out."""
        while piece and not piece.endswith(("\n", "\r")):
            piece = self.text.readline(_SKIP_PIECE)
        self.skipped_to_cr = piece.endswith("\r")


def _csv_records(
    lines: _Lines, record_type: str, columns: Columns | None
) -> Iterator[Document | Problem]:
    """The records of a CSV file's rows; each row that cannot be read, or is too long to, is a
    problem of the line it starts on, and reading goes on with the next (the csv reader starts
    again on the line after the one where it gave up)."""
    rows = csv.reader(lines, strict=True)
    try:
        header: list[str] = next(rows, [])
    except csv.Error as exc:
        yield Problem(1, "", f"the header row is not readable CSV: {_csv_error(exc)}")
        return
    except _RowTooLong:
        yield Problem(1, "", f"the header row is longer than {LONGEST_LINE} bytes")
        return
    if not header:
        if lines.number == 0:
            yield Problem(1, "", "the file is empty: a CSV import needs a header row")
        else:  # "the file is empty" sent its sender looking at a file of 100,000 rows
            yield Problem(1, "", "line 1 is blank: a CSV file's header row is its first line")
        return
    if lines.undecodable:
        yield Problem(1, "", "the header row is not UTF-8 text")
        return
    # Stripped as the values are: " name" was an unknown field of every row.
    header = [name.strip() for name in header]
    if not all(header):
        yield Problem(1, "", "every column of the header row needs a name")
        return
    problems = _header_problems(header, record_type, columns)
    if problems:
        # The header's problems are the file's, told once: told on each row (an unknown column
        # and a missing one each), a file of 100,000 rows had 200,000 problems of one typo.
        yield from problems
        return
    width = len(header)
    pending: _Certificate | None = None
    while True:
        lines.start_row()
        line = lines.number + 1  # the row's first line (a quoted cell may hold line breaks)
        try:
            values: list[str] = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Problem(line, "", f"not a readable CSV row: {_csv_error(exc)}")
            continue
        except _RowTooLong:
            yield Problem(line, "", f"the row is longer than {LONGEST_LINE} bytes")
            continue
        if not any(value.strip() for value in values):
            # A blank line, or a row of empty cells (`,,,`), as spreadsheets save rows once
            # touched: read as a record of no fields, each was refused once per required column.
            continue
        if lines.undecodable:
            yield from _undecodable(line, header, values)
            continue
        marked = [name for name, value in zip(header, values, strict=False) if "\ufeff" in value]
        if marked:
            # Files joined into one (each with its mark): in NDJSON orjson refuses the line, and
            # here the mark went into the row's first cell, a reference no later file could name.
            for name in marked:
                yield Problem(line, _segment(name), BOM_INSIDE)
            continue
        if len(values) != width:
            more = "more" if len(values) > width else "fewer"
            yield Problem(line, "", f"the row has {more} values than the header")
            continue
        fields = csv_fields(record_type, dict(zip(header, values, strict=True)))
        if record_type != "euc":
            yield Document(line, fields)
        elif pending is not None and pending.continued_by(fields):
            if pending.full:
                # Read out now, and each row past it a problem as it comes: a certificate's
                # rows are otherwise held until it ends, however many its file has.
                yield from pending.read()
                yield pending.one_too_many(line)
            else:
                pending.add(header, line, fields)
        else:
            if pending is not None:
                yield from pending.read()
            pending = _Certificate(line, fields)
    if pending is not None:
        yield from pending.read()


def _header_problems(header: list[str], record_type: str, columns: Columns | None) -> list[Problem]:
    """The problems of a CSV file's header row (its names stripped), each of line 1: a name
    holding a byte order mark, a name given twice, a column that is no field of the record type,
    and a field it requires that no column names."""
    marked = [name for name in header if "\ufeff" in name]
    if marked:
        # Files joined into one, or a column pasted from one: an invisible mark, which the
        # problem of an unknown column would have named without showing it.
        return [Problem(1, _segment(name.replace("\ufeff", "")), BOM_INSIDE) for name in marked]
    twice = [name for name, count in Counter(header).items() if count > 1]
    if twice:  # which of a row's cells is the field's could not be told (the last one was)
        detail = "the header row names this column more than once"
        return [Problem(1, _segment(name), detail) for name in twice]
    if record_type == "euc" and "line_items" in header:  # its cells were dropped without a word
        return [Problem(1, "line_items", LINE_ITEMS_COLUMN)]
    if columns is None:
        return []
    problems: list[Problem] = []
    meant: set[str] = set()
    for name in header:
        if name in columns.known:
            continue
        guess = _SPACING.sub("_", name.lower())
        if guess in columns.known:
            meant.add(guess)
            detail = f"not a column of {record_type} records: did you mean `{guess}`?"
        else:
            detail = f"not a column of {record_type} records, which are: " + ", ".join(
                f"`{known}`" for known in columns.known
            )
        problems.append(Problem(1, _segment(name), detail))
    for name in columns.required:
        if name in header or name in meant:
            continue
        detail = f"the header row has no `{name}` column, which every {record_type} record needs"
        problems.append(Problem(1, _segment(name), detail))
    return problems


# Spaces and hyphens where a column's name has an underscore ("Line Quantity", "line-quantity").
_SPACING = re.compile(r"[\s-]+")


class _Certificate:
    """A certificate's rows in CSV, one per line item: the consecutive rows of one `ref`. Each
    repeats the certificate's columns; one that says otherwise than the first row is a problem
    of its own line, naming the column (a line item's problems are of its row's line)."""

    def __init__(self, line: int, fields: dict[str, Any]) -> None:
        self.line = line
        self.fields = fields
        self.columns = {name: value for name, value in fields.items() if name != "line_items"}
        self.item_lines = [line]
        self.problems: list[Problem] = []
        self.read_out = False

    @property
    def full(self) -> bool:
        """Whether it has as many rows as a certificate may have line items."""
        return len(self.item_lines) >= MAX_EUC_LINES

    def one_too_many(self, line: int) -> Problem:
        detail = (
            f"one row too many for the certificate of line {self.line}: a certificate has at "
            f"most {MAX_EUC_LINES} line items, a row each"
        )
        return Problem(line, "ref", detail)

    def continued_by(self, fields: dict[str, Any]) -> bool:
        ref = fields.get("ref")
        return ref is not None and ref == self.fields.get("ref")

    def add(self, header: list[str], line: int, fields: dict[str, Any]) -> None:
        self.fields["line_items"].extend(fields.pop("line_items"))
        self.item_lines.append(line)
        if fields == self.columns:
            return
        for column in header:
            if column not in LINE_COLUMNS and fields.get(column) != self.columns.get(column):
                detail = (
                    f"not as on line {self.line}, the certificate's first row (each row of a "
                    "certificate repeats its columns)"
                )
                self.problems.append(Problem(line, _segment(column), detail))

    def read(self) -> Iterator[Document | Problem]:
        """The certificate and its rows' problems (once: nothing after it has been read)."""
        if self.read_out:
            return
        self.read_out = True
        yield Document(self.line, self.fields, tuple(self.item_lines))
        yield from self.problems


_SURROGATE = re.compile("[\udc80-\udcff]")
# An integer as CSV writes it: ASCII digits, perhaps signed (the schemas bound it).
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")


def _undecodable(line: int, header: list[str], values: list[str]) -> Iterator[Problem]:
    """A problem for each cell of a row that holds bytes that are not UTF-8 (read as lone
    surrogates), naming the first such byte; the row as a whole if the row is longer than the
    header names."""
    found = False
    for column, value in zip(header, values, strict=False):
        match = _SURROGATE.search(value)
        if match is not None:
            found = True
            byte = ord(match.group()) - 0xDC00
            detail = f"not UTF-8 text (byte 0x{byte:02X}): save the file as UTF-8"
            yield Problem(line, _segment(column), detail)
    if not found:
        yield Problem(line, "", "the row is not UTF-8 text")


def _csv_error(exc: csv.Error) -> str:
    message = str(exc)
    if message.startswith("field larger than field limit"):
        limit = csv.field_size_limit()
        return f"a cell is longer than {limit} characters (or a quote is left open)"
    if message == "unexpected end of data":
        return "the file ends inside a quoted cell (a quote is left open)"
    return message


def _segment(name: str) -> str:
    """A column's name as a JSON Pointer segment (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")


def csv_fields(record_type: str, row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the fields of a record document (empty cells left out)."""
    document: dict[str, Any] = {"record_type": record_type}
    line: dict[str, Any] = {}
    for column, raw in row.items():
        value = raw.strip()
        if not value:
            continue
        if record_type == "euc" and column in LINE_COLUMNS:
            line[LINE_COLUMNS[column]] = _typed(column, value)
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
        # Not int() alone: it reads "2_001" and digits of other scripts ("٢٠٠١") as 2001.
        return int(value) if _WHOLE_NUMBER.fullmatch(value) else value
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
