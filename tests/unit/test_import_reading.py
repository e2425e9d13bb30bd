"""Reading import files (service.domain.imports): lines and rows as record documents."""

from __future__ import annotations

import gc
import io
import itertools
import tracemalloc
from dataclasses import replace

import pytest

from service.domain import imports
from service.domain.certificates import MAX_EUC_LINES
from service.domain.imports import BOM, CSV, NDJSON, Document, Problem, csv_fields, documents
from service.domain.streams import PiecesStream
from service.import_reading import load_record, parallel_blocks, refused_names
from service.schemas.fields import InputContext
from service.schemas.imports import CSV_COLUMNS
from service.schemas.registry import MAX_ITEMS_PER_EVENT


def read(body: bytes, media_type: str = NDJSON, record_type: str | None = None) -> list[object]:
    # the header's names are not checked against the record type's columns (read_checked does)
    return list(documents(io.BytesIO(body), media_type, record_type, None))


def test_ndjson_lines_are_numbered_and_blank_lines_skipped() -> None:
    found = read(b'{"a": 1}\n\n{"b": 2}\r\n')

    assert found == [Document(1, {"a": 1}), Document(3, {"b": 2})]


def test_what_is_not_one_json_object_is_a_problem_of_its_line() -> None:
    found = read(b'{"a": 1}\n[1, 2]\n{oops\n')

    assert found[0] == Document(1, {"a": 1})
    assert found[1] == Problem(2, "", "each line must be one JSON object")
    assert isinstance(found[2], Problem) and found[2].line == 3


def test_json_that_does_not_parse_is_placed_on_its_own_line() -> None:
    # orjson's "line 1 column 1 (char 0)" was quoted beside the file's line 3, and read as
    # another line of the file.
    found = read(b'{"a": 1}\n{}\nnul\n{"a": "\xc3\xa9\xc3\xa9", x}\n')

    assert found[2:] == [
        Problem(3, "", "not a JSON object: unexpected end of data at character 4 of the line"),
        Problem(4, "", (  # characters, not bytes
            "not a JSON object: unexpected character, expected a string key at character 13 of "
            "the line"
        )),
    ]  # fmt: skip


def test_a_file_whose_lines_end_with_cr_alone_is_told_how_ndjson_lines_end() -> None:
    # It read as one line, "unexpected content after document", without a word on why.
    found = read(b'{"a": 1}\r{"b": 2}\r{"c": 3}\r')

    assert found == [
        Problem(1, "", (
            "not a JSON object: unexpected content after document at character 10 of the line"
            + imports.CR_ALONE
        )),
    ]  # fmt: skip
    assert "end with a line feed (LF) or CR LF" in imports.CR_ALONE
    # a line that ends with CR LF, or with CR alone at the end of the file, is no such line
    assert read(b'{"a": 1}\r\n{"b": 2}\r') == [Document(1, {"a": 1}), Document(2, {"b": 2})]
    assert imports.CR_ALONE not in str(read(b'{"a": 1}\r\n{"b": 2\r\n'))


def test_a_line_too_long_is_skipped_whole_and_reading_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "LONGEST_LINE", 16)

    found = read(b'{"a": "' + b"x" * 100 + b'"}\n{"b": 2}\n')

    assert isinstance(found[0], Problem) and "longer than" in found[0].detail
    assert found[1] == Document(2, {"b": 2})


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (BOM + b'{"a": 1}\n{"b": 2}\n', [Document(1, {"a": 1}), Document(2, {"b": 2})]),
        (BOM + b'{"a": 1}', [Document(1, {"a": 1})]),  # no line ending
        (BOM + b"\n\n{}\n", [Document(3, {})]),
        (BOM, []),
        (BOM + b"\r\n", []),
        (b"{}\n{}", [Document(1, {}), Document(2, {})]),  # a first line shorter than a BOM
        (b"\n{}", [Document(2, {})]),
        (b"{", [Problem(1, "", "not a JSON object: unexpected end of data at character 2 of "
                              "the line")]),
    ],
)  # fmt: skip
def test_a_byte_order_mark_at_the_start_of_ndjson_is_skipped(
    body: bytes, found: list[object]
) -> None:
    # It was refused at line 1 ("BOM is not supported"), where CSV skipped it.
    assert read(body) == found


def test_a_byte_order_mark_after_the_start_is_still_a_problem() -> None:
    found = read(b"{}\n" + BOM + b"{}\n" + BOM + BOM + b"{}\n")

    assert found[0] == Document(1, {})
    assert [(p.line, p.field) for p in found[1:] if isinstance(p, Problem)] == [(2, ""), (3, "")]


def test_a_byte_order_mark_after_the_start_of_csv_is_a_problem_of_its_row() -> None:
    # Found in review: files joined into one, the second file's mark went into its first row's
    # reference, which no later file could name.
    found = read(BOM + b"ref,name\nP-1,Arsenal\n" + BOM + b"P-2,Army\nP-3,Po\xef\xbb\xbflice\n",
                 CSV, "party")  # fmt: skip

    assert found[0] == Document(2, {"record_type": "party", "ref": "P-1", "name": "Arsenal"})
    assert [(p.line, p.field) for p in found[1:] if isinstance(p, Problem)] == [
        (3, "ref"),
        (4, "name"),
    ]
    assert "byte order mark" in str(found[1])


def test_the_longest_line_is_counted_without_the_byte_order_mark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "LONGEST_LINE", 16)
    longest = b'{"a": "' + b"x" * 7 + b'"}'  # 16 bytes
    assert len(longest) == 16

    with_bom = read(BOM + longest + b"\n" + longest)
    without = read(longest + b"\n" + longest)
    too_long = read(BOM + longest + b' \n{"b": 2}\n')

    assert with_bom == without == [Document(1, {"a": "x" * 7}), Document(2, {"a": "x" * 7})]
    assert isinstance(too_long[0], Problem) and "longer than" in too_long[0].detail
    assert too_long[1] == Document(2, {"b": 2})


TOO_LONG_16 = Problem(2, "", "the line is longer than 16 bytes")


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_the_longest_line_is_counted_without_its_line_ending(
    monkeypatch: pytest.MonkeyPatch, ending: bytes
) -> None:
    # A line of exactly LONGEST_LINE bytes was refused as too long when it ended in "\r\n"
    # (a file written on Windows), and taken when it ended in "\n".
    monkeypatch.setattr(imports, "LONGEST_LINE", 16)
    longest = b'{"a": "' + b"x" * 7 + b'"}'  # 16 bytes

    found = read(longest + ending + longest + b" " + ending + longest + ending)
    first = read(BOM + longest + ending + b"{}")

    document = Document(1, {"a": "x" * 7})
    assert found == [document, TOO_LONG_16, replace(document, line=3)]
    assert first == [document, Document(2, {})]


def test_ndjson_read_in_several_processes_skips_the_byte_order_mark_too() -> None:
    body = BOM + b'{"record_type": "party", "ref": "P-1", "name": "Arsenal", "kind": ' \
        b'"MANUFACTURER", "country": "BE"}\n'  # fmt: skip

    blocks = list(parallel_blocks(io.BytesIO(body), None, frozenset({"BE"}), readers=2))

    assert [(b.records, b.problems, b.last_entry_line) for b in blocks] == [(1, [], 1)]


def test_csv_cells_become_typed_fields_and_empty_cells_are_left_out() -> None:
    row = {"ref": "I-1", "year_of_manufacture": "2009", "caliber": "",
           "import_markings": "FR:2011|KE", "item_refs": "I-1| I-2"}  # fmt: skip

    fields = csv_fields("item", row)

    assert fields == {
        "record_type": "item", "ref": "I-1", "year_of_manufacture": 2009,
        "import_markings": [{"country": "FR", "year": 2011}, {"country": "KE"}],
        "item_refs": ["I-1", "I-2"],
    }  # fmt: skip
    assert csv_fields("item", {"year_of_manufacture": "nineteen"})["year_of_manufacture"] == (
        "nineteen"
    )
    assert csv_fields("euc", {"non_reexport_clause": "Yes"})["non_reexport_clause"] is True


def test_a_certificates_rows_are_one_record_with_its_lines() -> None:
    body = (
        b"ref,certificate_number,line_number,line_description,line_quantity\n"
        b"C-1,FR-7,1,Rifles,10\n"
        b"C-1,FR-7,2,Pistols,5\n"
        b"C-2,FR-8,1,Mortars,2\n"
    )

    found = read(body, CSV, "euc")

    assert [(d.line, d.fields["ref"], len(d.fields["line_items"])) for d in found] == [
        (2, "C-1", 2), (4, "C-2", 1),
    ]  # fmt: skip


def test_a_csv_row_with_more_values_than_the_header_is_a_problem() -> None:
    found = read(b"ref,name\nP-1,Arsenal,extra\nP-2,Army\n", CSV, "party")

    assert found[0] == Problem(2, "", "the row has more values than the header")
    assert found[1] == Document(3, {"record_type": "party", "ref": "P-2", "name": "Army"})


def test_a_csv_row_with_fewer_values_than_the_header_is_a_problem() -> None:
    # It used to end the import with a 500 (the missing cells are None, not text).
    found = read(b"ref,name,country\nP-1,Arsenal\nP-2,Army,KE\n", CSV, "party")

    assert found[0] == Problem(2, "", "the row has fewer values than the header")
    assert found[1] == Document(
        3, {"record_type": "party", "ref": "P-2", "name": "Army", "country": "KE"}
    )


def test_an_empty_csv_file_needs_a_header() -> None:
    assert read(b"", CSV, "party") == [
        Problem(1, "", "the file is empty: a CSV import needs a header row")
    ]


def problems(found: list[object]) -> list[Problem]:
    return [entry for entry in found if isinstance(entry, Problem)]


PARTIES = b"ref,name,kind,country\n"


def parties(first: int, last: int) -> bytes:
    """Good party rows for lines first to last."""
    return b"".join(b"P-%d,Arsenal,MANUFACTURER,BE\n" % line for line in range(first, last + 1))


def test_a_csv_row_that_is_not_utf8_is_a_problem_of_its_own_line_and_reading_goes_on() -> None:
    # The bytes used to be decoded 8 KiB ahead, the error blamed on line 271, and nothing after
    # it read.
    body = PARTIES + parties(2, 500) + b"P-501,Ars\xc3\x28nal,MANUFACTURER,BE\n"
    body += parties(502, 503) + b"P-504,Arsenal\n"

    found = read(body, CSV, "party")

    assert problems(found) == [
        Problem(501, "name", "not UTF-8 text (byte 0xC3): save the file as UTF-8"),
        Problem(504, "", "the row has fewer values than the header"),
    ]
    assert [entry.line for entry in found if isinstance(entry, Document)][-2:] == [502, 503]


def test_a_csv_header_that_is_not_utf8_is_a_problem_of_line_1() -> None:
    assert read(b"ref,n\xe9me\nP-1,Army\n", CSV, "party") == [
        Problem(1, "", "the header row is not UTF-8 text")
    ]


def test_a_row_that_is_not_csv_is_a_problem_of_its_own_line_and_reading_goes_on() -> None:
    # A stray quote used to end the reading, blamed on the line before.
    body = PARTIES + parties(2, 9) + b'P-10,"N"x,MANUFACTURER,BE\nP-11,Arsenal\n' + parties(12, 12)

    found = read(body, CSV, "party")

    assert problems(found) == [
        Problem(10, "", "not a readable CSV row: ',' expected after '\"'"),
        Problem(11, "", "the row has fewer values than the header"),
    ]
    assert isinstance(found[-1], Document) and found[-1].line == 12


def test_a_cell_over_the_csv_limit_is_a_problem_of_its_own_line_and_reading_goes_on() -> None:
    body = PARTIES + parties(2, 2) + b"P-3," + b"x" * 200_000 + b",MANUFACTURER,BE\n"
    body += b"P-4,Arsenal\n" + parties(5, 5)

    found = read(body, CSV, "party")

    assert [(p.line, p.field) for p in problems(found)] == [(3, ""), (4, "")]
    assert "a cell is longer than 131072 characters" in problems(found)[0].detail
    assert isinstance(found[-1], Document) and found[-1].line == 5


ROW_TOO_LONG = f"the row is longer than {imports.LONGEST_LINE} bytes"
WIDE_CELL = b'"' + b"x" * 50_000 + b"\n" + b"x" * 50_000 + b'"'  # under the csv limit, on 2 lines


@pytest.mark.parametrize(
    "row",
    [
        b"P-3," + b"x" * 10_000_000 + b",MANUFACTURER,BE",  # one cell, on one line
        b"P-3," + b",".join([b"x" * 100_000] * 20),  # many cells, each under the csv limit
        b"P-3," + b",".join([WIDE_CELL] * 20),  # and each on two lines
        b"P-3," + "é".encode() * 600_000,  # 600,000 characters, 1,200,000 bytes
    ],
    ids=["one-cell", "many-cells", "many-lines", "bytes-not-characters"],
)
def test_a_csv_row_too_long_is_a_problem_of_its_first_line_and_reading_goes_on(
    row: bytes,
) -> None:
    # Such a row was read whole, however long (up to the 1 GiB an import may be).
    body = PARTIES + parties(2, 2) + row + b"\n" + parties(4 + row.count(b"\n"), 50)

    found = read(body, CSV, "party")

    assert isinstance(found[0], Document) and found[0].line == 2
    assert found[1] == Problem(3, "", ROW_TOO_LONG)
    after = [entry.line for entry in found[2:] if isinstance(entry, Document)]
    assert after == list(range(4 + row.count(b"\n"), 51))
    if b"\n" not in row:
        assert len(found) == 49


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_a_csv_row_may_be_as_long_as_an_ndjson_line(
    monkeypatch: pytest.MonkeyPatch, ending: bytes
) -> None:
    monkeypatch.setattr(imports, "LONGEST_LINE", 16)
    longest = b"P-12345,Ars\xc3\xa9nal"  # 16 bytes, 15 characters
    assert len(longest) == 16
    body = BOM + b"ref,name" + ending + longest + ending + longest + b"x" + ending
    body += b'P-2,"A' + ending + b'rsenal"' + ending  # 13 bytes on two lines
    body += b'P-3,"Ars' + ending + b"enal Nord" + ending + b'Est"' + ending + longest

    found = read(body, CSV, "party")

    too_long = Problem(0, "", "the row is longer than 16 bytes")
    assert found == [
        Document(2, {"record_type": "party", "ref": "P-12345", "name": "Arsénal"}),
        replace(too_long, line=3),
        Document(4, {"record_type": "party", "ref": "P-2",
                     "name": "A" + ending.decode() + "rsenal"}),
        # Over on its second line: reading goes on with the line after it, which reads as a
        # row of its own (as after any row that cannot be read).
        replace(too_long, line=6),
        Problem(8, "", "the row has fewer values than the header"),
        Document(9, {"record_type": "party", "ref": "P-12345", "name": "Arsénal"}),
    ]  # fmt: skip


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_the_rest_of_a_csv_row_too_long_is_skipped_to_its_lines_end(
    monkeypatch: pytest.MonkeyPatch, ending: bytes
) -> None:
    monkeypatch.setattr(imports, "LONGEST_LINE", 16)
    monkeypatch.setattr(imports, "_SKIP_PIECE", 3)
    for length in range(10, 30):  # its end falls anywhere in the pieces it is skipped in
        body = b"ref,name" + ending + b"P-1," + b"x" * length + ending + b"P-2,Army" + ending

        found = read(body, CSV, "party")

        if length <= 12:
            assert found[0] == Document(2, {"record_type": "party", "ref": "P-1",
                                            "name": "x" * length})  # fmt: skip
        else:
            assert found[0] == Problem(2, "", "the row is longer than 16 bytes"), length
        assert found[1:] == [Document(3, {"record_type": "party", "ref": "P-2", "name": "Army"})]


def test_a_csv_header_too_long_is_a_problem_of_line_1() -> None:
    body = b"ref," + b",".join([b"x" * 100_000] * 20) + b"\n" + parties(2, 2)

    assert read(body, CSV, "party") == [
        Problem(1, "", f"the header row is longer than {imports.LONGEST_LINE} bytes")
    ]


def _peak_reading(row_bytes: int) -> int:
    """The peak of memory while reading a CSV file with a row of about row_bytes (cells of 99
    characters), made as it is read, through a buffered reader as importing reads a file."""
    cells = b"".join([b"," + b"x" * 99] * 655)
    pieces = itertools.chain(
        [PARTIES, b"P-1"], itertools.repeat(cells, row_bytes // len(cells)), [b"\n", parties(3, 3)]
    )
    stream = io.BufferedReader(PiecesStream(pieces), buffer_size=1 << 16)
    gc.collect()
    tracemalloc.start()
    try:
        found = list(documents(stream, CSV, "party", None))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found[0] == Problem(2, "", ROW_TOO_LONG)
    assert isinstance(found[1], Document) and found[1].line == 3
    return peak


def test_memory_does_not_grow_with_a_csv_rows_length() -> None:
    """A row is read a bounded piece at a time, and what is past LONGEST_LINE skipped unheld
    (such a row was read whole)."""
    short = _peak_reading(4 * imports.LONGEST_LINE)
    long = _peak_reading(32 * imports.LONGEST_LINE)

    assert long < short * 1.25, (short, long)
    assert short < 4 * imports.LONGEST_LINE, short


def test_a_csv_row_is_numbered_by_the_line_it_starts_on() -> None:
    body = PARTIES + b'P-2,"Arsenal\nNord",MANUFACTURER,BE\n\nP-5,"Ar"x\n"P-6",Army,,"FR\n'

    found = read(body, CSV, "party")

    assert [(entry.line, type(entry).__name__) for entry in found] == [
        (2, "Document"), (5, "Problem"), (6, "Problem"),
    ]  # fmt: skip
    assert isinstance(found[2], Problem) and "a quote is left open" in found[2].detail


def test_a_csv_header_naming_a_column_twice_is_refused() -> None:
    # The last of the two cells used to be taken, silently.
    body = b"ref,name,kind,country,country,ref\nP-1,Army,ARMED_FORCES,BE,FR,P-2\n"

    assert read(body, CSV, "party") == [
        Problem(1, "ref", "the header row names this column more than once"),
        Problem(1, "country", "the header row names this column more than once"),
    ]


def read_checked(body: bytes, record_type: str) -> list[object]:
    """A CSV file as the import reads it, its header checked against the record type's columns."""
    return list(documents(io.BytesIO(body), CSV, record_type, CSV_COLUMNS[record_type]))


def test_a_csv_header_with_misspelt_columns_is_one_problem_each_of_line_1() -> None:
    # Each row was refused for each unknown column and each required column missing: a file of
    # 100,000 rows and one misspelt column had up to 200,000 problems.
    body = b"REF,NAME,Kind ,country\n" + parties(2, 1_000)

    found = read_checked(body, "party")

    assert found == [
        Problem(1, "REF", "not a column of party records: did you mean `ref`?"),
        Problem(1, "NAME", "not a column of party records: did you mean `name`?"),
        Problem(1, "Kind", "not a column of party records: did you mean `kind`?"),
    ]


def test_a_csv_header_with_an_unknown_column_lists_the_record_types_columns() -> None:
    found = read_checked(b"ref,title,kind,country\n" + parties(2, 3), "party")

    assert found == [
        Problem(1, "title", (
            "not a column of party records, which are: `ref`, `name`, `kind`, `country`, "
            "`registration_number`, `address`, `classification`, `record_type`"
        )),
        Problem(1, "name", "the header row has no `name` column, which every party record needs"),
    ]  # fmt: skip


def test_a_csv_header_name_with_a_byte_order_mark_is_named_without_it() -> None:
    # It was an unknown field "\ufeffname" of every row, the mark invisible in the problem.
    found = read_checked(b"ref,\xef\xbb\xbfname,kind,country\n" + parties(2, 3), "party")

    assert found == [Problem(1, "name", imports.BOM_INSIDE)]


def test_a_csv_header_is_read_with_its_names_stripped_and_its_optional_columns_left_out() -> None:
    body = b" ref , name,kind,country ,record_type\nP-1,Arsenal,MANUFACTURER,BE,party\n"

    assert read_checked(body, "party") == [Document(2, {
        "record_type": "party", "ref": "P-1", "name": "Arsenal", "kind": "MANUFACTURER",
        "country": "BE",
    })]  # fmt: skip


def test_a_certificate_header_needs_the_required_line_columns() -> None:
    # A line's description and quantity are required (EucLineIn), its number, category and model
    # not.
    header = EUCS.replace(b",line_description", b"").replace(b"line_quantity", b"line_qty")

    found = read_checked(header + b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,1,10\n", "euc")

    assert [(p.line, p.field) for p in problems(found)] == [
        (1, "line_qty"), (1, "line_description"), (1, "line_quantity"),
    ]  # fmt: skip
    assert len(found) == 3


EUCS = (
    b"ref,certificate_number,issuing_country,issuing_authority,issued_on,exporter_party_ref,"
    b"end_user_party_ref,destination_country,stated_end_use,non_reexport_clause,line_number,"
    b"line_description,line_quantity\n"
)


def test_a_certificate_row_unlike_its_first_row_is_a_problem_of_its_own_line() -> None:
    # Such a row's certificate columns used to be dropped without a word.
    body = EUCS + (
        b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,1,Rifles,10\n"
        b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,true,2,Pistols,5\n"  # yes and true agree
        b"C-1,FR-8,FR,SGDSN,2010-03-02,P-1,P-3,FR,Army,no,3,Mortars,2\n"
        b"C-1,FR-7,,SGDSN,2010-03-01,P-1,P-2,FR,Navy,yes,4,Rounds,900\n"  # a blank cell differs
        b"C-2,FR-9,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,1,Rifles,1\n"
    )

    found = read(body, CSV, "euc")

    assert isinstance(found[0], Document) and found[0].item_lines == (2, 3, 4, 5)
    assert [line["description"] for line in found[0].fields["line_items"]] == [
        "Rifles", "Pistols", "Mortars", "Rounds",
    ]  # fmt: skip
    assert [(p.line, p.field) for p in problems(found)] == [
        (4, "certificate_number"), (4, "issued_on"), (4, "end_user_party_ref"),
        (4, "non_reexport_clause"), (5, "issuing_country"), (5, "stated_end_use"),
    ]  # fmt: skip
    assert problems(found)[0].detail == (
        "not as on line 2, the certificate's first row (each row of a certificate repeats its "
        "columns)"
    )
    assert isinstance(found[-1], Document) and found[-1].line == 6


def test_a_certificates_line_item_problems_are_of_the_line_items_own_row() -> None:
    # They used to be put on the certificate's first row.
    body = EUCS + (
        b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,1,Rifles,10\n"
        b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,2,Pistols,abc\n"
        b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,3,,-1\n"
    )
    [certificate] = read(body, CSV, "euc")
    assert isinstance(certificate, Document)

    with InputContext({"countries": frozenset({"FR"})}):
        loaded = load_record(certificate, "euc", frozenset({"FR"}))

    assert isinstance(loaded, list)
    # named by their columns: the file has no line_items (they were named as in JSON)
    assert sorted((p.line, p.field) for p in loaded) == [
        (3, "line_quantity"), (4, "line_description"), (4, "line_quantity"),
    ]  # fmt: skip


def test_only_a_line_items_field_is_put_on_its_row() -> None:
    certificate = Document(2, {}, item_lines=(2, 5))

    assert certificate.line_of("line_items/1/quantity") == 5
    assert certificate.line_of("line_items/0") == 2
    assert certificate.line_of("line_items/7/quantity") == 2
    assert certificate.line_of("line_items") == 2


def test_only_a_line_items_field_is_named_by_its_column() -> None:
    certificate = Document(2, {}, item_lines=(2, 5))

    assert certificate.spelled("line_items/1/quantity") == "line_quantity"
    assert certificate.spelled("line_items/0/line_number") == "line_number"
    assert certificate.spelled("line_items/0/description") == "line_description"
    assert certificate.spelled("line_items/0") == "line_items/0"
    assert certificate.spelled("line_items/7/quantity") == "line_items/7/quantity"
    assert certificate.spelled("line_items/0/colour") == "line_items/0/colour"
    assert certificate.spelled("certificate_number") == "certificate_number"
    # an NDJSON line's fields are as its JSON names them
    assert Document(3, {}).spelled("line_items/1/quantity") == "line_items/1/quantity"
    assert certificate.line_of("certificate_number") == 2
    assert Document(3, {}).line_of("line_items/1/quantity") == 3


def _peak_reading_certificate(rows: int) -> tuple[int, int]:
    """The peak of memory while reading a CSV file of one certificate's `rows` rows (made as it
    is read), and the problems found."""
    row = b"C-1,FR-7,FR,SGDSN,2010-03-01,P-1,P-2,FR,Army,yes,1,Rifles,10\n"
    stream = io.BufferedReader(PiecesStream(itertools.chain([EUCS], itertools.repeat(row, rows))))
    gc.collect()
    tracemalloc.start()
    try:
        found = sum(isinstance(entry, Problem) for entry in documents(stream, CSV, "euc", None))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, found


def test_memory_does_not_grow_with_a_certificates_rows() -> None:
    """A certificate's rows past its last line item are each a problem, not held (every row of
    one reference was held until the certificate ended)."""
    small, few = _peak_reading_certificate(10_000)
    large, many = _peak_reading_certificate(40_000)

    assert large < small * 1.25, (small, large)
    assert (few, many) == (10_000 - MAX_EUC_LINES, 40_000 - MAX_EUC_LINES)


@pytest.mark.parametrize(
    ("line", "repeated"),
    [
        (b'{"ref": "P-1", "name": "Arsenal", "name": "Armee"}', ("name",)),
        (b'{"ref": "P-1", "name" : "Arsenal", "ref"\t:"P-2", "name":"x"}', ("ref", "name")),
        (b'{"line_items": [{"quantity": 1}, {"quantity": 2, "quantity": 3}]}',
         ("line_items/1/quantity",)),
        (b'{"a/b": 1, "a/b": 2, "c~": 1, "c~": 2}', ("a~1b", "c~0")),
        (b'{"notes": "a:b:c\\":d", "ref": "P-1"}', ()),  # colons in text, each field once
        (b'{"x": {"y": 1}, "y": 2}', ()),  # one name in two objects
    ],
)  # fmt: skip
def test_an_ndjson_field_given_twice_is_a_problem_of_its_line(
    line: bytes, repeated: tuple[str, ...]
) -> None:
    # orjson keeps the last value without a word: the record was stored with one of the two.
    [document] = read(line + b"\n")
    assert isinstance(document, Document)

    assert document.repeated == repeated
    with InputContext({"countries": frozenset({"BE"})}):
        loaded = load_record(document, None, frozenset({"BE"}))
    if repeated:
        assert loaded == [Problem(1, field, imports.GIVEN_TWICE) for field in repeated]


@pytest.mark.parametrize(("depth", "colons"), [(32, b":"), (33, b""), (999, b":"), (1_023, b"")])
def test_a_line_nested_as_deep_as_json_is_read_is_a_problem_of_its_line(
    depth: int, colons: bytes
) -> None:
    # orjson reads 1,024 levels; looking for a field given twice recursed past Python's limit.
    line = b'{"x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b', "notes": "a' + colons
    found = read(line + b'"}\n')

    if depth <= imports.DEEPEST:
        assert isinstance(found[0], Document) and not found[0].repeated
    else:
        assert found == [Problem(1, "", "not a record: nested more than 32 levels deep")]


def test_a_refused_records_references_are_named_once_each_in_their_order() -> None:
    """A record refused as read (its date) names its references for checking, each once: a
    reference given twice is one problem, not two."""
    event = {"record_type": "event", "ref": "E-1", "occurred_on": "2010-13-01",
             "to_party_ref": "P-2", "euc_ref": "C-1",
             "item_refs": ["I-2", "I-1", "I-2", 7]}  # fmt: skip

    names = refused_names(Document(3, event), None)

    assert names == [("to_party_ref", "party", "P-2"), ("euc_ref", "euc", "C-1"),
                     ("item_refs", "item", "I-2"), ("item_refs", "item", "I-1")]  # fmt: skip


def test_a_refused_records_item_list_too_long_to_store_is_not_named() -> None:
    """An event's item references past the most an event may carry are a problem of their
    own, and are not checked one by one: a line of 1 MiB holds some 170,000, and each was
    compared with every one before it (20,000 cost 7.8 s of Python, 200,000 some 13 minutes)."""
    refs = [f"I-{n}" for n in range(MAX_ITEMS_PER_EVENT + 1)]
    event = {"record_type": "event", "ref": "E-1", "to_party_ref": "P-2", "item_refs": refs}

    assert refused_names(Document(3, event), None) == [("to_party_ref", "party", "P-2")]
