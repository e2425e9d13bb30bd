"""Compiled import schemas (service.schemas.compiled): the same record as the marshmallow schema
for every document the schema loads, and None (the schema decides) for everything else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service.schemas.compiled import CompiledSchema, NotCompilable
from service.schemas.fields import InputContext
from service.schemas.imports import COMPILED, SCHEMAS, EventImport, ImportedRecord

PROPERTY = settings(max_examples=600, deadline=None, database=None)
COUNTRIES = frozenset({"BE", "RU", "KE", "UG", "DE", "IT"})

# Documents the schemas load, one per shape an import sends most.
VALID: dict[str, list[dict[str, Any]]] = {
    "party": [
        {
            "record_type": "party",
            "ref": "P-M0",
            "name": "FN Herstal",
            "kind": "MANUFACTURER",
            "country": "BE",
            "registration_number": "BE-REG-0",
        },
        {
            "record_type": "party",
            "ref": "P-H1",
            "name": " Unit 1 of KE ",
            "kind": "ARMED_FORCES",
            "country": "KE",
            "address": "Nairobi",
            "classification": "RESTRICTED",
        },
    ],
    "item": [
        {
            "record_type": "item",
            "ref": "I-0",
            "manufacturer": "Kalashnikov Concern",
            "model": "AK-74M",
            "category": "ASSAULT_RIFLE",
            "serial_number": "04-00000001",
            "country_of_manufacture": "RU",
            "year_of_manufacture": 2004,
        },
        {
            "record_type": "item",
            "ref": "I-1",
            "manufacturer": "Beretta",
            "model": "92FS",
            "category": "PISTOL",
            "serial_number": "BER 123456Z",
            "caliber": "9x19mm",
            "import_markings": [],
            "other_markings": "proof marks",
        },
    ],
    "event": [
        {
            "record_type": "event",
            "ref": "E-M0",
            "event_type": "MANUFACTURE",
            "occurred_on": "2004-03-01",
            "country": "RU",
            "to_party_ref": "P-M1",
            "item_refs": ["I-0"],
        },
        {
            "record_type": "event",
            "ref": "E-X0",
            "event_type": "EXPORT",
            "occurred_on": "2004-09-01",
            "country": "RU",
            "destination_country": "KE",
            "from_party_ref": "P-M1",
            "to_party_ref": "P-H3",
            "item_refs": ["I-0", "I-1"],
            "licence_number": "LIC-1",
            "euc_ref": "C-1",
            "euc_line_number": 1,
        },
        {
            "record_type": "event",
            "ref": "E-T0",
            "event_type": "TRANSFER",
            "occurred_on": "2010-01-01",
            "country": "KE",
            "from_party_ref": "P-H3",
            "to_party_ref": "P-H4",
            "item_refs": ["I-1"],
            "notes": "handed over",
        },
        {
            "record_type": "event",
            "ref": "E-L0",
            "event_type": "THEFT",
            "occurred_on": "2012-05-05",
            "country": "KE",
            "from_party_ref": "P-H4",
            "item_refs": ["I-1"],
            "classification": "RESTRICTED",
        },
    ],
}

# Values every field is tried with: right, wrong in type, wrong in content, borderline.
ODD_VALUES: list[Any] = [
    None, "", "   ", " padded ", "x" * 65, "x" * 201, "a\x07b", "-", "Ж-12", 0, 1, -1, 1799, 1800,
    2100, 2101, 32767, 32768, 2000.0, 2.5, True, "1990", [], ["I-0"], ["I-0", "I-0"], ["I-0", None],
    [" I-9 "], [1], {"country": "KE"}, [{"country": "KE"}], "KE", "ke", "ZZ", "RU", "P-H3", "P-M1",
    "2004-03-01", "2004-3-1", "20040301", "2004-W09-1", "2004-02-30", "2999-01-01",
    "２００４-03-01", "MANUFACTURE", "EXPORT", "TRANSFER", "SEIZURE", "LOSS", "PISTOL", "pistol",
    "UNRESTRICTED", "RESTRICTED", "MANUFACTURER", "party", "item", "event", "euc", "- / .",
    # format characters: refused (an override, a zero-width space) or kept (a mark, a joiner);
    # decomposed (NFC makes it one character); a name on two lines; nothing visible
    "AK\u202e7410", "Arsenal\u200bNord", "\u05e9\u05de\u05e9\u200f", "\u0645\u06cc\u200c",
    "Oruz\u030cje", "Arsenal\nNord", "\u200f", "...", "\u2605",
]  # fmt: skip


def _mutated(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    names = [*sorted(SCHEMAS[kind].load_fields), "unknown_field"]
    change = st.tuples(st.sampled_from(names), st.sampled_from([*ODD_VALUES, "<drop>"]))

    def apply(base: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
        document = dict(base)
        for name, value in changes:
            if value == "<drop>":
                document.pop(name, None)
            else:
                document[name] = value
        return document

    return st.builds(apply, st.sampled_from(VALID[kind]), st.lists(change, max_size=3))


def _loaded_by_schema(kind: str, document: dict[str, Any]) -> ImportedRecord | None:
    with InputContext({"countries": COUNTRIES}):
        try:
            record: ImportedRecord = SCHEMAS[kind].load(dict(document))
        except ValidationError:
            return None
    return record


def _same_or_unsure(kind: str, document: dict[str, Any]) -> None:
    compiled = COMPILED[kind].load(dict(document), COUNTRIES)
    if compiled is not None:
        assert compiled == _loaded_by_schema(kind, document)


def test_every_record_type_but_certificates_is_compiled() -> None:
    # A certificate's line items are nested records; certificates are few.
    assert set(COMPILED) == {"party", "item", "event"}


@pytest.mark.parametrize(
    ("kind", "document"), [(kind, doc) for kind, docs in VALID.items() for doc in docs]
)
def test_a_valid_document_takes_the_compiled_path_to_the_schemas_record(
    kind: str, document: dict[str, Any]
) -> None:
    compiled = COMPILED[kind].load(dict(document), COUNTRIES)

    assert compiled is not None
    assert compiled == _loaded_by_schema(kind, document)


@PROPERTY
@given(_mutated("party"))
def test_compiled_parties_match_the_schema(document: dict[str, Any]) -> None:
    _same_or_unsure("party", document)


@PROPERTY
@given(_mutated("item"))
def test_compiled_items_match_the_schema(document: dict[str, Any]) -> None:
    _same_or_unsure("item", document)


@PROPERTY
@given(_mutated("event"))
def test_compiled_events_match_the_schema(document: dict[str, Any]) -> None:
    _same_or_unsure("event", document)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("party", {"country": "ZZ"}),
        ("party", {"name": "   "}),
        ("party", {"surprise": 1}),
        ("party", {"registration_number": " - / . "}),
        ("item", {"serial_number": "-"}),
        ("item", {"year_of_manufacture": 2000.0}),
        ("item", {"import_markings": [{"country": "KE"}]}),
        ("event", {"item_refs": ["I-0", "I-0"]}),
        ("event", {"occurred_on": "2999-01-01"}),
        ("event", {"occurred_on": "20040301"}),
        ("event", {"to_party_ref": None}),
        ("party", {"name": "\u202edroN lanesrA"}),
        ("party", {"name": "\u200f"}),
        ("party", {"address": "Rue\u200b10"}),
        ("item", {"serial_number": "AK\u202e7410"}),
        ("event", {"notes": "\u2067x\u2069"}),
    ],
)
def test_what_the_compiled_path_is_unsure_of_is_left_to_the_schema(
    kind: str, change: dict[str, Any]
) -> None:
    assert COMPILED[kind].load({**VALID[kind][0], **change}, COUNTRIES) is None


@pytest.mark.parametrize("day", ["20040301", "2004-W09-1"])
def test_a_date_the_contract_does_not_write_is_refused_by_both_paths(day: str) -> None:
    # date.fromisoformat reads these; the contract's format is YYYY-MM-DD.
    event = {**VALID["event"][0], "occurred_on": day}

    assert COMPILED["event"].load(event, COUNTRIES) is None
    assert _loaded_by_schema("event", event) is None


@pytest.mark.parametrize(
    ("kind", "valid", "change"),
    [
        ("item", 0, {"year_of_manufacture": 2000.0}),
        ("item", 0, {"import_markings": [{"country": "KE", "year": 2010.0}]}),
        ("event", 1, {"euc_line_number": 1.0}),  # an export under a certificate's line
    ],
)
def test_an_integer_written_with_a_point_is_refused_by_both_paths(
    kind: str, valid: int, change: dict[str, Any]
) -> None:
    # The schema took 2000.0 as 2000, as JSON Schema counts it; the compiled path was unsure.
    document = {**VALID[kind][valid], **change}
    assert _loaded_by_schema(kind, VALID[kind][valid]) is not None

    assert COMPILED[kind].load(document, COUNTRIES) is None
    assert _loaded_by_schema(kind, document) is None


def test_a_schema_with_hooks_the_compiler_does_not_know_is_not_compiled() -> None:
    class Reshaped(EventImport):
        from marshmallow import pre_load

        @pre_load
        def reshape(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return data

    with pytest.raises(NotCompilable):
        CompiledSchema(Reshaped())


@pytest.mark.parametrize(
    ("kind", "change", "stored"),
    [
        ("party", {"name": "Oruz\u030cje"}, {"name": "Oru\u017eje"}),
        ("party", {"name": "\u05e9\u05de\u05e9\u200f"}, {"name": "\u05e9\u05de\u05e9\u200f"}),
        ("item", {"model": "Oruz\u030cje"}, {"model": "Oru\u017eje"}),
    ],
)
def test_both_paths_store_text_in_nfc_and_keep_direction_marks(
    kind: str, change: dict[str, Any], stored: dict[str, str]
) -> None:
    document = {**VALID[kind][0], **change}

    compiled = COMPILED[kind].load(document, COUNTRIES)

    assert compiled is not None
    assert compiled == _loaded_by_schema(kind, document)
    record = compiled.party if kind == "party" else compiled.item
    assert {field: getattr(record, field) for field in stored} == stored
