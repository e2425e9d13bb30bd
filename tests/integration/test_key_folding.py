"""The Unicode version the stored keys were folded under: recorded by `db init`, and a database
recorded under another version refused by everything that folds keys or compares against them,
with one message that names both versions and what to do."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import orjson
import psycopg
import pytest
from flask import Flask
from psycopg import sql

from service import cli, create_app, schema_setup
from service.config import Settings
from service.db import Connection, connect
from service.domain import registrations, serials
from service.domain.records import AgencyRef
from service.repository import key_folding
from service.schema_setup import (
    FoldedUnderAnotherUnicode,
    SchemaSetUp,
    ensure_schema,
    require_current,
)
from tests.api.test_imports import registry_file
from tests.conftest import create_agency_key, rows_in, service_url_for

RUNNING = unicodedata.unidata_version
# A version other than this interpreter's, as a database folded by another Python records it.
OTHER = "15.0.0" if RUNNING != "15.0.0" else "14.0.0"


def fold_under(conn: Connection, version: str) -> None:
    """Record a folding under `version` as the one in force (as the schema's owner)."""
    key_folding.record(conn, version)


def test_a_new_database_records_the_unicode_version_of_its_python(
    empty_database_url: str,
) -> None:
    with connect(Settings(database_url=empty_database_url)) as conn:
        assert ensure_schema(conn) == SchemaSetUp(found=None)

        recorded = conn.execute("SELECT folding, unicode_version FROM key_folding").fetchall()

    assert recorded == [{"folding": 1, "unicode_version": RUNNING}]


def test_keys_folded_under_the_same_unicode_are_served(db: Connection) -> None:
    require_current(db)  # nothing raised

    assert key_folding.folded_under(db) == RUNNING


def test_keys_folded_under_another_unicode_are_refused_naming_both_versions(
    db: Connection,
) -> None:
    fold_under(db, OTHER)

    with pytest.raises(FoldedUnderAnotherUnicode) as refused:
        require_current(db)

    said = str(refused.value)
    assert f"the registry's keys were folded under Unicode {OTHER}" in said
    assert f"has Unicode {RUNNING}" in said
    assert f"Run trace-registry under a Python with Unicode {OTHER}" in said
    assert "`trace-registry db refold`" in said


def test_the_refusal_names_the_python_of_a_known_unicode_version(db: Connection) -> None:
    recorded, python = ("15.1.0", "3.13") if RUNNING == "14.0.0" else ("14.0.0", "3.11")
    fold_under(db, recorded)

    with pytest.raises(FoldedUnderAnotherUnicode) as refused:
        require_current(db)

    assert f"under a Python with Unicode {recorded} (Python {python}), or" in str(refused.value)


def test_a_database_that_records_no_version_is_refused(db: Connection) -> None:
    db.execute("DELETE FROM key_folding")

    with pytest.raises(FoldedUnderAnotherUnicode, match="records no Unicode version"):
        require_current(db)


@pytest.fixture
def on_the_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database as the commands' DATABASE_URL (the service's role) and
    DATABASE_OWNER_URL."""
    monkeypatch.setenv("DATABASE_URL", service_url_for(database_url))
    monkeypatch.setenv("DATABASE_OWNER_URL", database_url)
    return database_url


def registry_ndjson(path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in registry_file("-UNI")))
    return path


COMMANDS = {
    "import": ["import", "--agency", "Gendarmerie Nationale", "{file}"],
    "seed": ["seed", "--demo"],
    "worker": ["worker", "--once"],
    "keys": ["keys", "create", "--agency", "Gendarmerie Nationale"],
    "db status": ["db", "status"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_command_refuses_keys_folded_under_another_unicode_and_stores_nothing(
    on_the_database: str,
    db: Connection,
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fold_under(db, OTHER)
    file = registry_ndjson(tmp_path / "registry.ndjson")

    code = cli.main([part.format(file=file) for part in command])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"trace-registry: the registry's keys were folded under Unicode {OTHER}")
    assert f"has Unicode {RUNNING}" in err
    assert {table: rows_in(db, table) for table in ("agencies", "items", "parties")} == {
        "agencies": 0,
        "items": 0,
        "parties": 0,
    }


def test_db_init_sets_up_the_schema_then_refuses_to_go_on(
    on_the_database: str, db: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    fold_under(db, OTHER)

    code = cli.main(["db", "init"])

    assert code == 1  # so the start-up script stops before gunicorn
    out, err = capsys.readouterr()
    assert f"schema version {schema_setup.SCHEMA_VERSION} already in place" in out
    assert f"folded under Unicode {OTHER}" in err


def test_commands_serve_keys_folded_under_their_unicode(
    on_the_database: str, db: Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = registry_ndjson(tmp_path / "registry.ndjson")

    assert cli.main(["db", "status"]) == 0
    assert cli.main(["import", "--agency", "Gendarmerie Nationale", str(file)]) == 0, (
        capsys.readouterr().err
    )

    assert rows_in(db, "items") == 2


def app_on(database_url: str) -> Flask:
    return create_app(
        {
            "database_url": service_url_for(database_url),
            "database_owner_url": database_url,
            "pool_min_size": 1,
            "pool_max_size": 1,
            "pool_timeout_seconds": 1,
        }
    )


@pytest.fixture
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[Connection]:
    """The connections the service checked the folding of, in order."""
    checked: list[Connection] = []
    check = schema_setup.require_keys_folded_alike

    def counting(conn: Connection) -> None:
        checked.append(conn)
        check(conn)

    monkeypatch.setattr(schema_setup, "require_keys_folded_alike", counting)
    return checked


@pytest.fixture
def served(database_url: str) -> Iterator[Flask]:
    app = app_on(database_url)
    yield app
    app.extensions["trace_registry"].database.close()


def test_the_service_refuses_keys_folded_under_another_unicode(
    database_url: str, db: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    fold_under(db, OTHER)
    caplog.set_level(logging.ERROR, logger="service")

    app = app_on(database_url)
    try:
        ready = app.test_client().get("/readyz")
    finally:
        app.extensions["trace_registry"].database.close()

    assert ready.status_code == 503
    assert ready.mimetype == "application/problem+json"
    refusals = [r.getMessage() for r in caplog.records if "refuses this database" in r.getMessage()]
    assert refusals, caplog.text
    assert f"folded under Unicode {OTHER}" in refusals[0]
    assert f"has Unicode {RUNNING}" in refusals[0]


def test_the_service_checks_the_folding_once_per_connection_not_per_request(
    counted_checks: list[Connection], served: Flask
) -> None:
    client = served.test_client()

    answers = [client.get("/readyz").status_code for _ in range(20)]

    assert answers == [200] * 20
    assert len(counted_checks) == 1  # the pool's one connection, when it opened it


# `db refold` -----------------------------------------------------------------------------------
#
# The interpreter's Unicode cannot be changed for a test: its folding is, for one letter, as a
# later Unicode might fold a letter otherwise. Under it, "Ж" folds to "ZH" (in serials, names
# and certificate numbers, and in registration numbers).


def fold_zhe_to_zh(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, "Ж" folds to "ZH"."""
    character, number = serials._normalise_character, registrations._fold
    monkeypatch.setattr(
        serials, "_normalise_character", lambda c: "ZH" if c in "Жж" else character(c)
    )
    monkeypatch.setattr(registrations, "_fold", lambda text: number(text).replace("Ж", "ZH"))


def insert(db: Connection, table: str, **columns: object) -> UUID:
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    row = db.execute(statement, list(columns.values())).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def item(
    db: Connection,
    agency: AgencyRef,
    serial: str,
    manufacturer: str = "Izhmash",
    model: str = "AK-74",
) -> UUID:
    """An item keyed as the code keys it now (before the folding changes)."""
    key = serials.fold_serial(manufacturer)
    (resolved,) = db.execute("SELECT manufacturer_key_for(%s) AS k", [key]).fetchall()
    return insert(
        db, "items", manufacturer=manufacturer, manufacturer_key=resolved["k"], model=model,
        model_key=serials.fold_serial(model), category="RIFLE", serial_number=serial,
        serial_norm=serials.fold_serial(serial), recorded_by_agency_id=agency.id,
    )  # fmt: skip


def keys(db: Connection, query: str) -> dict[UUID, tuple[str, ...]]:
    return {row.pop("id"): tuple(row.values()) for row in db.execute(query).fetchall()}


def test_db_refold_folds_every_key_again_keeps_those_another_holds_and_records_the_version(
    on_the_database: str,
    db: Connection,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agency, _ = create_agency_key(db, "Refolding Office")
    with db.transaction():
        with_zhe = item(db, agency, "Ж-100")
        holder = item(db, agency, "ZH-200")
        blocked = item(db, agency, "Ж200")  # folds to the keys `holder` holds
        by_alias = item(db, agency, "D-1", manufacturer="Ижмаш")  # an alias of KALASHNIKOV...
        by_model = item(db, agency, "M-300", model="Ж-74")  # the model folds to another key
        party = insert(
            db, "parties", name="Ж Trading", kind="DEALER", country="KZ",
            registration_number="Ж 77", registration_number_key="Ж77",
            recorded_by_agency_id=agency.id,
        )  # fmt: skip
        certificate = insert(
            db, "end_user_certificates", certificate_number="Ж-5", certificate_key="Ж5",
            issuing_country="KZ", issuing_authority="MFA", issued_on=date(2024, 1, 2),
            end_user_party_id=party, destination_country="KZ", stated_end_use="police",
            non_reexport_clause=True, recorded_by_agency_id=agency.id,
        )  # fmt: skip
    fold_under(db, OTHER)
    fold_zhe_to_zh(monkeypatch)
    item_keys = "SELECT id, serial_norm, manufacturer_key, model_key FROM items"
    before = keys(db, item_keys)
    zhe_aliases = db.execute("SELECT count(*) AS n FROM manufacturer_aliases WHERE alias ~ '[Жж]'")

    code = cli.main(["db", "refold"])

    out = capsys.readouterr().out
    assert code == 0, out
    after = keys(db, item_keys)
    assert after[with_zhe] == ("ZH100", "KALASHNIKOVCONCERN", "AK74")
    assert after[blocked] == before[blocked] == ("Ж200", "KALASHNIKOVCONCERN", "AK74")
    assert after[holder] == before[holder] and after[by_alias] == before[by_alias]
    assert after[by_model] == ("M300", "KALASHNIKOVCONCERN", "ZH74")
    copied = "SELECT item_id AS id, serial_norm, manufacturer_key, model_key FROM item_serials"
    assert keys(db, copied) == after
    assert keys(db, "SELECT id, certificate_key FROM end_user_certificates") == {
        certificate: ("ZH5",)
    }
    assert keys(db, "SELECT id, registration_number_key FROM parties") == {party: ("ZH77",)}
    aliases = keys(db, "SELECT alias_key AS id, manufacturer_key FROM manufacturer_aliases")
    assert aliases["ИZHMAШ"] == ("KALASHNIKOVCONCERN",) and "ИЖMAШ" not in aliases
    assert f'notice: item {blocked} ("Ж200") keeps its keys (Ж200, KALASHNIKOVCONCERN, ' in out
    assert f'item {holder} ("ZH-200") holds those it folds to now (ZH200, ' in out
    assert out.splitlines()[-1] == (
        f"keys folded again under Unicode {RUNNING} (before: {OTHER}); new keys for "
        f"{zhe_aliases.fetchone()['n']} manufacturer aliases, 2 items, 1 certificate, 1 party; "
        "1 row kept its keys"
    )
    require_current(db)  # the registry is served again
    assert key_folding.folded_under(db) == RUNNING
    entry = db.execute("SELECT route, details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert entry is not None and entry["route"] == "trace-registry db refold"
    assert entry["details"]["key_folding"]["before"] == OTHER
    with pytest.raises(psycopg.Error, match="append-only"):  # the ledger's triggers are back
        db.execute("UPDATE items SET serial_norm = 'X' WHERE id = %s", [holder])


def test_db_refold_of_keys_folded_alike_changes_nothing_but_the_record(
    on_the_database: str, db: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    agency, _ = create_agency_key(db, "Refolding Office")
    item(db, agency, "Ж-100")
    before = keys(db, "SELECT id, serial_norm, manufacturer_key, model_key FROM items")

    assert cli.main(["db", "refold"]) == 0

    assert keys(db, "SELECT id, serial_norm, manufacturer_key, model_key FROM items") == before
    assert capsys.readouterr().out.endswith(
        "new keys for 0 manufacturer aliases, 0 items, 0 certificates, 0 parties; 0 rows kept "
        "their keys\n"
    )
    recorded = db.execute("SELECT folding, unicode_version FROM key_folding ORDER BY 1")
    assert recorded.fetchall() == [
        {"folding": 1, "unicode_version": RUNNING},
        {"folding": 2, "unicode_version": RUNNING},
    ]


@pytest.mark.parametrize("seeding", [["--demo"], ["--items", "300"]], ids=["demo", "synthetic"])
def test_db_refold_finds_the_keys_every_writer_stored_as_it_folds_them(
    on_the_database: str, db: Connection, capsys: pytest.CaptureFixture[str], seeding: list[str]
) -> None:
    # The seeds store keys as the API and the import do: folded again, each is the same.
    assert cli.main(["seed", *seeding]) == 0
    capsys.readouterr()

    assert cli.main(["db", "refold"]) == 0

    assert capsys.readouterr().out.endswith(
        "new keys for 0 manufacturer aliases, 0 items, 0 certificates, 0 parties; 0 rows kept "
        "their keys\n"
    )
    assert rows_in(db, "items") > 0
