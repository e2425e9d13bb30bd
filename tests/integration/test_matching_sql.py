"""schema.sql and service/domain/matching.py say the same thing twice: the SQL functions behind
the `serial_skeleton` and `serial_ncic` columns (which the strong tiers search on) must give what
matching.skeleton and matching.ncic give, or a trace misses what the matcher would accept."""

from __future__ import annotations

import re
import string
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.db import Connection
from service.domain.matching import (
    CONFUSABLE_GROUPS,
    SEPARATOR,
    loose_regex,
    loosely_alike,
    ncic,
    skeleton,
)
from service.domain.serials import LOOKALIKE_TO_LATIN, normalise_name, normalise_serial

# The `db` fixture is made once per test, not per example: the examples only read through it.
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# What serials are made of, weighted towards what the two functions act on: the confusable
# letters, digits around letters, and letters of other scripts that stay as they are.
_MARKS = "".join(CONFUSABLE_GROUPS) + string.ascii_uppercase + string.digits * 2
markings = st.one_of(
    st.text(st.sampled_from(_MARKS + "-/ "), max_size=24),
    st.text(st.sampled_from([*_MARKS, *LOOKALIKE_TO_LATIN, "Б", "Ж", "Ł", "ß", "½", "٣", "Ⅻ"])),
    st.text(max_size=24),
)
serials = markings.map(normalise_serial).filter(bool)


def storable(marking: str) -> bool:
    """A serial the registry can hold as marked (the API refuses NUL, PostgreSQL cannot store
    it) and search on."""
    return "\x00" not in marking and normalise_serial(marking) != ""


def in_sql(db: Connection, serials: list[str]) -> list[dict[str, Any]]:
    return db.execute(
        "SELECT serial, serial_skeleton(serial) AS skeleton, serial_ncic(serial) AS ncic"
        " FROM unnest(%s::text[]) WITH ORDINALITY AS given (serial, n) ORDER BY n",
        [serials],
    ).fetchall()


def test_the_database_holds_any_character_a_serial_may_have(db: Connection) -> None:
    # Under SQL_ASCII the functions would see bytes, not characters, and "Б" would not be one.
    row = db.execute("SELECT current_setting('server_encoding') AS encoding").fetchone()
    assert row is not None
    assert row["encoding"] == "UTF8"


@PROPERTY
@given(st.lists(serials, min_size=1, max_size=20))
@example(["OQD0ILSBZG1", "12A34", "A1234B", "1A2B3", "AK1174X094", "12Б34", "Б1Б", "ΩZ9Z"])
def test_sql_functions_agree_with_python(db: Connection, serials: list[str]) -> None:
    rows = in_sql(db, serials)

    assert [row["serial"] for row in rows] == serials
    assert [row["skeleton"] for row in rows] == [skeleton(serial) for serial in serials]
    assert [row["ncic"] for row in rows] == [ncic(serial) for serial in serials]


def test_the_functions_are_strict_and_immutable(db: Connection) -> None:
    row = db.execute("SELECT serial_skeleton(NULL) AS s, serial_ncic(NULL) AS n").fetchone()
    assert row == {"s": None, "n": None}
    volatility = db.execute(
        "SELECT proname, provolatile FROM pg_proc"
        " WHERE proname IN ('serial_skeleton', 'serial_ncic') ORDER BY proname"
    ).fetchall()
    # Generated columns and their indexes require IMMUTABLE.
    assert volatility == [
        {"proname": "serial_ncic", "provolatile": "i"},
        {"proname": "serial_skeleton", "provolatile": "i"},
    ]


# The generated columns ---------------------------------------------------------------------------


@pytest.fixture
def agency_id(db: Connection) -> Any:
    row = db.execute(
        "INSERT INTO agencies (name) VALUES ('National Tracing Office') RETURNING id"
    ).fetchone()
    assert row is not None
    return row["id"]


def insert_items(db: Connection, agency_id: Any, markings: list[str]) -> list[dict[str, Any]]:
    """Items with these serials, as marked; one model each, so that equal serials may repeat."""
    rows = []
    for number, marking in enumerate(markings):
        model = f"Model {number}"
        rows.append(
            db.execute(
                "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category,"
                " serial_number, serial_norm, recorded_by_agency_id)"
                " VALUES ('Kalashnikov Concern', 'KALASHNIKOVCONCERN', %s, %s, 'ASSAULT_RIFLE',"
                " %s, %s, %s)"
                " RETURNING serial_norm, serial_skeleton, serial_ncic",
                [model, normalise_name(model), marking, normalise_serial(marking), agency_id],
            ).fetchone()
        )
    return rows


@pytest.mark.parametrize(
    "marking",
    [
        "АК 11 74094",  # Cyrillic letters, as stamped in Izhevsk
        "AK1174094",
        "BOSS-1GL",
        "12A34",
        "55-A-1234",
        "A1234B",
        "1A2B3C4",
        "ZG-0D0Q",
        "Б 12 Ж 34",
    ],
)
def test_the_generated_columns_are_the_python_functions(
    db: Connection, agency_id: Any, marking: str
) -> None:
    (row,) = insert_items(db, agency_id, [marking])

    serial_norm = normalise_serial(marking)
    assert row == {
        "serial_norm": serial_norm,
        "serial_skeleton": skeleton(serial_norm),
        "serial_ncic": ncic(serial_norm),
    }


@PROPERTY
@given(st.lists(markings.filter(storable), min_size=1, max_size=10))
def test_generated_columns_agree_with_python_on_any_serial(
    db: Connection, agency_id: Any, markings: list[str]
) -> None:
    # The registry is append-only: each example's items are rolled back, not deleted.
    with db.transaction(force_rollback=True):
        rows = insert_items(db, agency_id, markings)

    for marking, row in zip(markings, rows, strict=True):
        serial_norm = normalise_serial(marking)
        assert row["serial_norm"] == serial_norm
        assert row["serial_skeleton"] == skeleton(serial_norm)
        assert row["serial_ncic"] == ncic(serial_norm)


def test_the_generated_columns_cannot_be_written(db: Connection, agency_id: Any) -> None:
    with pytest.raises(psycopg.errors.GeneratedAlways):
        db.execute(
            "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category,"
            " serial_number, serial_norm, serial_skeleton, recorded_by_agency_id)"
            " VALUES ('FN Herstal', 'FNHERSTAL', 'FAL', 'FAL', 'RIFLE', 'BOSS', 'BOSS', 'BOSS',"
            " %s)",
            [agency_id],
        )


# A partial reading's pattern (normalised known characters, `_` and `%`), and a registered serial
# as marked_with_separators gives it, from the characters the loose rules act on.
_LOOSE_MARKS = "0OQD1IL8BA7"
loose_patterns = st.text(st.sampled_from([*_LOOSE_MARKS, "_", "%"]), max_size=10).map(
    lambda pattern: re.sub("%+", "%", pattern)
)
marked_serials = st.text(st.sampled_from([*_LOOSE_MARKS, SEPARATOR]), max_size=10).map(
    lambda marked: re.sub(f"{SEPARATOR}+", SEPARATOR, marked).strip(SEPARATOR)
)


@PROPERTY
@given(st.lists(st.tuples(loose_patterns, marked_serials), min_size=1, max_size=30))
@example([("A_12", "A-12"), ("8_1O", "B-10"), ("%O_", "DQ-"), ("_", "")])
def test_the_loose_search_finds_whatever_the_matcher_takes_loosely(
    db: Connection, cases: list[tuple[str, str]]
) -> None:
    # The database is asked loose_regex on the serial without its separators; the matcher then
    # keeps what loosely_alike takes. A serial the matcher would take but the search missed is a
    # weapon not found.
    taken = [
        (loose_regex(pattern), marked.replace(SEPARATOR, ""))
        for pattern, marked in cases
        if loosely_alike(pattern, marked) is not None
    ]
    rows = db.execute(
        "SELECT serial ~ regex AS found FROM unnest(%s::text[], %s::text[]) AS c (regex, serial)",
        [[regex for regex, _ in taken], [serial for _, serial in taken]],
    ).fetchall()

    assert all(row["found"] for row in rows)
