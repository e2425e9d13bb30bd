"""Reading import files (service.domain.imports): lines and rows as record documents."""

from __future__ import annotations

import io

import pytest

from service.domain import imports
from service.domain.imports import CSV, NDJSON, Document, Problem, csv_fields, documents
from service.import_reading import parallel_blocks


def read(body: bytes, media_type: str = NDJSON, record_type: str | None = None) -> list[object]:
    return list(documents(io.BytesIO(body), media_type, record_type))


def test_ndjson_lines_are_numbered_and_blank_lines_skipped() -> None:
    found = read(b'{"a": 1}\n\n{"b": 2}\r\n')

    assert found == [Document(1, {"a": 1}), Document(3, {"b": 2})]


def test_what_is_not_one_json_object_is_a_problem_of_its_line() -> None:
    found = read(b'{"a": 1}\n[1, 2]\n{oops\n')

    assert found[0] == Document(1, {"a": 1})
    assert found[1] == Problem(2, "", "each line must be one JSON object")
    assert isinstance(found[2], Problem) and found[2].line == 3


def test_a_line_too_long_is_skipped_whole_and_reading_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "LONGEST_LINE", 16)

    found = read(b'{"a": "' + b"x" * 100 + b'"}\n{"b": 2}\n')

    assert isinstance(found[0], Problem) and "longer than" in found[0].detail
    assert found[1] == Document(2, {"b": 2})


BOM = b"\xef\xbb\xbf"


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
        (b"{", [Problem(1, "", "not a JSON object: unexpected end of data: line 1 column 2 "
                              "(char 1)")]),
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
