"""What ledger records refer to is checked by PostgreSQL once per statement (schema.sql,
"References within the ledger"): a row that names a record, country or agency that does not
exist is refused as a foreign key would refuse it, a statement of many rows stores none of them,
and the rows that are referred to cannot go away."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from service.db import Connection, translate
from service.errors import InvalidInput, LedgerViolation, UnknownReference
from tests.builders import RegistryBuilder
from tests.conftest import create_agency_key, rows_in

UNKNOWN_ID = uuid.UUID("00000000-0000-7000-8000-00000000dead")
UNKNOWN_COUNTRY = "QQ"  # user-assigned in ISO 3166: never in the countries table

# (table, reference name, columns, table referred to) for every reference schema.sql lists
REFERENCES = [
    ("parties", "parties_country_ref", ["country"], "countries"),
    ("parties", "parties_recorded_by_agency_id_ref", ["recorded_by_agency_id"], "agencies"),
    ("items", "items_country_of_manufacture_ref", ["country_of_manufacture"], "countries"),
    ("items", "items_recorded_by_agency_id_ref", ["recorded_by_agency_id"], "agencies"),
    ("end_user_certificates", "end_user_certificates_issuing_country_ref",
     ["issuing_country"], "countries"),
    ("end_user_certificates", "end_user_certificates_exporter_party_id_ref",
     ["exporter_party_id"], "parties"),
    ("end_user_certificates", "end_user_certificates_end_user_party_id_ref",
     ["end_user_party_id"], "parties"),
    ("end_user_certificates", "end_user_certificates_destination_country_ref",
     ["destination_country"], "countries"),
    ("end_user_certificates", "end_user_certificates_recorded_by_agency_id_ref",
     ["recorded_by_agency_id"], "agencies"),
    ("euc_line_items", "euc_line_items_euc_id_ref", ["euc_id"], "end_user_certificates"),
    ("custody_events", "custody_events_country_ref", ["country"], "countries"),
    ("custody_events", "custody_events_destination_country_ref", ["destination_country"],
     "countries"),
    ("custody_events", "custody_events_from_party_id_ref", ["from_party_id"], "parties"),
    ("custody_events", "custody_events_to_party_id_ref", ["to_party_id"], "parties"),
    ("custody_events", "custody_events_owner_party_id_ref", ["owner_party_id"], "parties"),
    ("custody_events", "custody_events_euc_id_ref", ["euc_id"], "end_user_certificates"),
    ("custody_events", "custody_events_euc_line_ref", ["euc_line_number"], "euc_line_items"),
    ("custody_events", "custody_events_recorded_by_agency_id_ref", ["recorded_by_agency_id"],
     "agencies"),
    ("custody_event_items", "custody_event_items_item_id_ref", ["item_id"], "items"),
    ("custody_event_items", "custody_event_items_event_id_ref", ["event_id"], "custody_events"),
    ("import_references", "import_references_agency_id_ref", ["agency_id"], "agencies"),
    ("import_references", "import_references_import_id_ref", ["import_id"], "imports"),
]  # fmt: skip

# What a copied row changes besides the reference, so that no key or unique index refuses it
# before the reference is checked: NEW_ID a new id, SUFFIXED the original text with the copy's
# number, SQL an expression, anything else the value itself.
NEW_ID = sql.SQL("uuid_v7()")
SUFFIXED = sql.SQL("{column} || n")
LATEST_ITEM = sql.SQL("(SELECT id FROM items ORDER BY id DESC LIMIT 1)")
UNIQUE_ANEW: dict[str, dict[str, Any]] = {
    "parties": {"id": NEW_ID, "registration_number": None},
    "items": {"id": NEW_ID, "serial_norm": SUFFIXED},
    "end_user_certificates": {"id": NEW_ID, "certificate_key": SUFFIXED},
    "euc_line_items": {"line_number": 99},
    "custody_events": {"id": NEW_ID},
    # the history's second item, which no event covers yet
    "custody_event_items": {"item_id": LATEST_ITEM},
    "import_references": {"reference": SUFFIXED},
}


@pytest.fixture
def history(registry: RegistryBuilder, db: Connection) -> None:
    """A row in every table that refers to others, each with all its references set."""
    registry.export()
    registry.item()  # made last: LATEST_ITEM, which no event covers
    db.execute(
        """WITH import AS (
               INSERT INTO imports (agency_id, status, media_type, sha256, lines, stored,
                                    already_present, error_count, errors, started_at)
               SELECT recorded_by_agency_id, 'COMPLETED', 'application/x-ndjson', '\\x00', 1,
                      '{}', '{}', 0, '[]', now()
               FROM items LIMIT 1
               RETURNING id, agency_id)
           INSERT INTO import_references (agency_id, record_type, reference, record_id,
                                          import_id)
           SELECT agency_id, 'item', 'I-1', (SELECT id FROM items LIMIT 1), id FROM import"""
    )


def _copy_with(
    db: Connection,
    table: str,
    changes: dict[str, Any],
    copies: int = 1,
    last_only: dict[str, Any] | None = None,
) -> None:
    """Insert `copies` copies of the table's first row, in one statement, with `changes`, and
    in the last copy only, `last_only` too."""
    columns = [
        row["column_name"]
        for row in db.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
    ]

    def value(column: str) -> sql.Composable:
        if last_only and column in last_only:
            return sql.SQL("CASE WHEN n = {copies} THEN {last} ELSE {other} END").format(
                copies=sql.Literal(copies),
                last=_expression(column, last_only[column]),
                other=_expression(column, changes.get(column, sql.Identifier(column))),
            )
        return _expression(column, changes.get(column, sql.Identifier(column)))

    query = sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {values} "
        "FROM (SELECT * FROM {table} LIMIT 1) AS original, generate_series(1, {copies}) AS n"
    ).format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(map(value, columns)),
        copies=sql.Literal(copies),
    )
    db.execute(query)


def _expression(column: str, change: Any) -> sql.Composable:
    if isinstance(change, sql.Identifier):
        return change
    if isinstance(change, sql.SQL):
        return change.format(column=sql.Identifier(column))
    return sql.Literal(change)


def _unknown(column: str) -> object:
    if "country" in column:
        return UNKNOWN_COUNTRY
    if column == "euc_line_number":
        return 42
    return UNKNOWN_ID


@pytest.mark.parametrize(("table", "name", "columns", "parent"), REFERENCES)
def test_a_row_that_names_what_does_not_exist_is_refused_as_by_a_foreign_key(
    db: Connection, history: None, table: str, name: str, columns: list[str], parent: str
) -> None:
    before = rows_in(db, table)
    changes = {**UNIQUE_ANEW[table], **{column: _unknown(column) for column in columns}}

    with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
        _copy_with(db, table, changes)

    error = caught.value
    assert error.diag.constraint_name == name
    assert error.diag.table_name == table
    if columns == ["euc_line_number"]:  # the line is named with its certificate, which exists
        assert error.diag.message_detail.startswith("Key (euc_id, euc_line_number)=(")
        assert error.diag.message_detail.endswith(', 42) is not present in table "euc_line_items".')
    else:
        value = changes[columns[0]]
        assert error.diag.message_detail == (
            f'Key ({columns[0]})=({value}) is not present in table "{parent}".'
        )
    translated = translate(error)
    assert isinstance(translated, UnknownReference)
    assert "table" not in translated.detail  # the client is not told the database's detail
    assert rows_in(db, table) == before


@pytest.mark.parametrize(("table", "name", "columns", "parent"), REFERENCES)
def test_a_copy_whose_references_exist_is_stored(
    db: Connection, history: None, table: str, name: str, columns: list[str], parent: str
) -> None:
    """The same copy with its references left as they are (the checks refuse only what is
    missing)."""
    before = rows_in(db, table)

    _copy_with(db, table, UNIQUE_ANEW[table])

    assert rows_in(db, table) == before + 1


def test_one_missing_reference_among_many_rows_stores_none_of_them(
    db: Connection, history: None
) -> None:
    before = rows_in(db, "custody_events")
    _copy_with(db, "custody_events", {"id": NEW_ID}, copies=500)
    assert rows_in(db, "custody_events") == before + 500

    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute(
            """INSERT INTO custody_events (event_type, occurred_on, country, item_count,
                                           to_party_id, recorded_by_agency_id)
               SELECT 'TRANSFER', '2020-01-01', 'IQ', 1,
                      CASE WHEN n = 250 THEN %(unknown)s ELSE e.to_party_id END,
                      e.recorded_by_agency_id
               FROM (SELECT * FROM custody_events LIMIT 1) AS e, generate_series(1, 500) AS n""",
            {"unknown": UNKNOWN_ID},
        )

    assert rows_in(db, "custody_events") == before + 500


# The references that a statement of MANY_ROWS rows or more checks otherwise than row by row
# (schema.sql): against a hash of the table for the two small tables, once for each distinct
# value for the others but items and events. Each way must refuse what the other refuses.
CHECKED_BY_STATEMENT = [
    reference for reference in REFERENCES if reference[3] not in ("items", "custody_events")
]
MANY_ROWS = 100
# euc_line_items' line numbers are its key: each copy takes its own
COPIED_LINE = {"line_number": sql.SQL("98 + n")}


@pytest.mark.parametrize("copies", [MANY_ROWS - 1, MANY_ROWS, 3 * MANY_ROWS])
@pytest.mark.parametrize(("table", "name", "columns", "parent"), CHECKED_BY_STATEMENT)
def test_a_statement_of_any_size_is_refused_for_one_missing_reference(
    db: Connection,
    history: None,
    table: str,
    name: str,
    columns: list[str],
    parent: str,
    copies: int,
) -> None:
    """The last of the statement's rows names what does not exist: nothing is stored, and the
    refusal is the foreign key's, naming that row's value, whichever way it was checked."""
    before = rows_in(db, table)
    (column,) = columns
    anew = {**UNIQUE_ANEW[table], **(COPIED_LINE if table == "euc_line_items" else {})}

    with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
        _copy_with(db, table, anew, copies, last_only={column: _unknown(column)})

    assert caught.value.diag.constraint_name == name
    detail = caught.value.diag.message_detail
    if column == "euc_line_number":  # named with its certificate, which exists
        assert detail.startswith("Key (euc_id, euc_line_number)=(")
        assert detail.endswith(', 42) is not present in table "euc_line_items".')
    else:
        assert detail == f'Key ({column})=({_unknown(column)}) is not present in table "{parent}".'
    assert rows_in(db, table) == before
    _copy_with(db, table, anew, copies)
    assert rows_in(db, table) == before + copies


def test_a_sessions_first_statement_does_not_decide_how_later_ones_are_checked(
    db: Connection, history: None
) -> None:
    """Each way is a static query, whose plan the session keeps: after a statement of many rows
    and one of a single row (each way planned once), either size is still refused, and stored
    when its references exist."""
    before = rows_in(db, "custody_events")
    for copies in (3 * MANY_ROWS, 1, 3 * MANY_ROWS, 1):
        for column, name in (
            ("country", "custody_events_country_ref"),
            ("to_party_id", "custody_events_to_party_id_ref"),
        ):
            with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
                _copy_with(
                    db,
                    "custody_events",
                    {"id": NEW_ID},
                    copies,
                    last_only={column: _unknown(column)},
                )
            assert caught.value.diag.constraint_name == name
        _copy_with(db, "custody_events", {"id": NEW_ID}, copies)
    assert rows_in(db, "custody_events") == before + 2 * (3 * MANY_ROWS + 1)


def test_a_reference_left_empty_is_not_checked(db: Connection, history: None) -> None:
    before = rows_in(db, "custody_events")

    _copy_with(
        db,
        "custody_events",
        {"id": NEW_ID, "owner_party_id": None, "euc_id": None, "euc_line_number": None},
    )

    assert rows_in(db, "custody_events") == before + 1


def test_a_certificate_named_without_a_line_is_checked_alone(db: Connection, history: None) -> None:
    """(euc_id, euc_line_number) refers to a line only when both are given, as a foreign key
    MATCH SIMPLE does; the certificate is still checked."""
    before = rows_in(db, "custody_events")

    _copy_with(db, "custody_events", {"id": NEW_ID, "euc_line_number": None})
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
        _copy_with(db, "custody_events", {"id": NEW_ID, "euc_line_number": None,
                                           "euc_id": UNKNOWN_ID})  # fmt: skip

    assert caught.value.diag.constraint_name == "custody_events_euc_id_ref"
    assert rows_in(db, "custody_events") == before + 1


def test_a_temporary_table_cannot_stand_in_for_what_is_referred_to(
    db: Connection, history: None
) -> None:
    """A session's temporary table comes first in its search path: the checks name the
    registry's own tables, so an agency made up in one is still unknown."""
    before = rows_in(db, "parties")
    db.execute("CREATE TEMP TABLE agencies (id uuid)")
    db.execute("INSERT INTO agencies VALUES (%s)", [UNKNOWN_ID])
    try:
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
            _copy_with(
                db, "parties", {**UNIQUE_ANEW["parties"], "recorded_by_agency_id": UNKNOWN_ID}
            )
    finally:
        db.execute("DROP TABLE pg_temp.agencies")

    assert caught.value.diag.constraint_name == "parties_recorded_by_agency_id_ref"
    assert rows_in(db, "parties") == before


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM countries WHERE code = 'IQ'",
        "UPDATE countries SET code = 'QQ' WHERE code = 'IQ'",
        "TRUNCATE countries CASCADE",
        "DELETE FROM agencies",
        "UPDATE agencies SET id = uuid_v7()",
        "TRUNCATE agencies CASCADE",
    ],
)
def test_what_ledger_records_refer_to_cannot_go_away(
    db: Connection, history: None, statement: str
) -> None:
    countries, agencies = rows_in(db, "countries"), rows_in(db, "agencies")

    with pytest.raises(psycopg.Error) as caught:
        db.execute(statement)

    assert caught.value.sqlstate == "TRL01"
    assert isinstance(translate(caught.value), LedgerViolation)
    assert (rows_in(db, "countries"), rows_in(db, "agencies")) == (countries, agencies)


def test_an_agency_may_still_be_renamed(db: Connection, history: None) -> None:
    renamed = db.execute("UPDATE agencies SET name = name || ' (renamed)'").rowcount
    assert renamed == rows_in(db, "agencies") > 0
    assert db.execute("UPDATE countries SET name = name WHERE code = 'IQ'").rowcount == 1


def test_every_reference_of_the_ledger_tables_is_checked(db: Connection) -> None:
    """No foreign key is left on the tables an import fills, and each has its check."""
    tables = sorted({table for table, *_ in REFERENCES})
    keys = db.execute(
        "SELECT conrelid::regclass::text AS t FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        [tables],
    ).fetchall()
    assert keys == []
    triggers = {
        row["tgname"]
        for row in db.execute(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%_references_exist'"
        )
    }
    assert triggers == {f"{table}_references_exist" for table in tables}


@pytest.mark.parametrize(
    ("column_values", "error"),
    [
        ({"url": "HTTPS://example.org/hook"}, psycopg.errors.CheckViolation),
        ({"url": None}, psycopg.errors.NotNullViolation),
    ],
    ids=["check", "not-null"],
)
def test_a_row_the_database_refuses_is_never_spelt_out(
    db: Connection, column_values: dict[str, Any], error: type[psycopg.Error]
) -> None:
    # PostgreSQL's detail is "Failing row contains (...)": every column, a webhook's signing
    # secret among them. It once went out in the 400's detail.
    agency, _ = create_agency_key(db, "Leaky Webhooks Agency")
    secret = "a-signing-secret-that-must-stay-hidden"
    with pytest.raises(error) as caught, db.transaction():
        db.execute(
            "INSERT INTO agency_webhooks (agency_id, url, secret) VALUES (%s, %s, %s)",
            [agency.id, column_values["url"], secret],
        )

    translated = translate(caught.value)

    assert isinstance(translated, InvalidInput)
    told = repr(translated.detail) + repr(translated.errors)
    assert secret not in told and "Failing row" not in told
