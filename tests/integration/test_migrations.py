"""Migrations: a database of an earlier schema version is brought to this code's, with what it
holds, and ends with the schema a new database gets from schema.sql."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from flask import Flask
from psycopg import errors, sql

from service import auditing, create_app, refolding, schema_setup
from service import cli as cli_module
from service.config import Settings
from service.db import Connection, connect
from service.domain import api_keys
from service.domain.ids import uuid7
from service.domain.inputs import NewParty
from service.domain.records import AgencyRef
from service.domain.registrations import registration_key
from service.domain.serials import normalise_name, normalise_serial
from service.repository import clients, key_folding, parties, traces, webhooks
from service.schema_setup import (
    FINGERPRINTS,
    SCHEMA_VERSION,
    FoldedUnderAnotherUnicode,
    MigrationFailed,
    NotYetMigrated,
    SchemaSetUp,
    ensure_schema,
    ensure_service_role,
    fingerprint,
    installed,
    migrations,
    require_keys_folded_alike,
)
from service.schemas.fields import SoughtText
from tests.catalog import differences, schema_of
from tests.conftest import (
    SERVICE_ROLE,
    create_agency_key,
    create_database,
    database_url_for,
    drop_database,
    rows_in,
    service_url_for,
)
from tests.contract import ContractClient
from tests.live import CLI, environment
from tests.paths import ROOT

# schema.sql as each version had it: what databases set up before the first migration hold (1),
# and those set up from 2026-12-06 until the next version (3 to 11, 13 to 19).
OLD_SCHEMAS = {
    version: ROOT / "tests" / "data" / f"schema-v{version}.sql"
    for version in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19)
}
VERSION_1_SCHEMA = OLD_SCHEMAS[1]


@pytest.mark.parametrize(("version", "kept"), OLD_SCHEMAS.items())
def test_a_kept_schema_is_of_its_version(version: int, kept: Path) -> None:
    text = kept.read_text(encoding="utf-8").encode()

    assert hashlib.sha256(text).hexdigest() == FINGERPRINTS[version]


def test_schema_sql_is_the_schema_of_this_codes_version() -> None:
    assert fingerprint() == FINGERPRINTS[SCHEMA_VERSION], (
        "schema.sql changed: a change to it is a new version. Add its migration "
        "(service/sql/migrations/NNNN_name.sql) and its fingerprint to FINGERPRINTS"
    )


def test_there_is_one_migration_to_each_version_after_the_first() -> None:
    assert [migration.version for migration in migrations()] == list(range(2, SCHEMA_VERSION + 1))


@pytest.fixture
def version_1_url(empty_database_url: str) -> str:
    """A database as the code of version 1 set it up: its schema.sql whole, and its record."""
    with connect(Settings(database_url=empty_database_url)) as conn, conn.transaction():
        conn.execute(VERSION_1_SCHEMA.read_text(encoding="utf-8").encode())
        conn.execute(
            "INSERT INTO schema_version (version, fingerprint) VALUES (1, %s)", [FINGERPRINTS[1]]
        )
        ensure_service_role(conn, service_url_for(empty_database_url))
    return empty_database_url


@pytest.fixture
def version_1(version_1_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=version_1_url)) as conn:
        yield conn


def columns_of(conn: Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return [row["attname"] for row in rows]


def test_a_version_1_database_migrated_has_the_schema_a_new_database_gets(
    version_1: Connection, db: Connection
) -> None:
    before = schema_of(version_1)

    assert ensure_schema(version_1) == SchemaSetUp(found=1)

    assert differences(before, schema_of(db)) != []  # the comparison sees what 0002 adds
    assert differences(schema_of(version_1), schema_of(db)) == []
    recorded = version_1.execute("SELECT version, fingerprint FROM schema_version ORDER BY 1")
    assert [(row["version"], row["fingerprint"]) for row in recorded] == [
        (version, FINGERPRINTS[version]) for version in range(1, SCHEMA_VERSION + 1)
    ]
    assert ensure_schema(version_1) == SchemaSetUp(found=SCHEMA_VERSION)


def set_up_as_version(version: int, url: str) -> str:
    """The database at `url` as the code of `version` set it up: that version's schema.sql
    whole, and its record (versions 3 and later; version 1 recorded no fingerprint)."""
    with connect(Settings(database_url=url)) as conn, conn.transaction():
        conn.execute(OLD_SCHEMAS[version].read_text(encoding="utf-8").encode())
        conn.execute(
            "INSERT INTO schema_version (version, fingerprint) VALUES (%s, %s)",
            [version, FINGERPRINTS[version]],
        )
        ensure_service_role(conn, service_url_for(url))
    return url


@pytest.fixture
def version_3_url(empty_database_url: str) -> str:
    return set_up_as_version(3, empty_database_url)


@pytest.fixture
def version_3(version_3_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=version_3_url)) as conn:
        yield conn


@pytest.fixture
def version_4(empty_database_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=set_up_as_version(4, empty_database_url))) as conn:
        yield conn


@pytest.fixture
def version_5(empty_database_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=set_up_as_version(5, empty_database_url))) as conn:
        yield conn


@pytest.fixture
def version_6(empty_database_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=set_up_as_version(6, empty_database_url))) as conn:
        yield conn


@pytest.fixture
def version_8(empty_database_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=set_up_as_version(8, empty_database_url))) as conn:
        yield conn


@pytest.fixture
def version_9(empty_database_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=set_up_as_version(9, empty_database_url))) as conn:
        yield conn


@pytest.fixture
def version_10(empty_database_url: str) -> Iterator[Connection]:
    with connect(Settings(database_url=set_up_as_version(10, empty_database_url))) as conn:
        yield conn


@pytest.mark.parametrize("version", [3, 4, 5, 6, 7, 8, 9, 10, 11, 13])
def test_a_database_of_a_recorded_version_migrated_has_the_schema_a_new_database_gets(
    version: int, empty_database_url: str, db: Connection
) -> None:
    with connect(Settings(database_url=set_up_as_version(version, empty_database_url))) as old:
        before = schema_of(old)

        assert ensure_schema(old) == SchemaSetUp(found=version)

        # the comparison sees what the next migration adds (0014 at least: 0010 changes rows)
        assert differences(before, schema_of(db)) != []
        assert differences(schema_of(old), schema_of(db)) == []
        recorded = old.execute("SELECT version, fingerprint FROM schema_version ORDER BY 1")
        assert [(row["version"], row["fingerprint"]) for row in recorded] == [
            (number, FINGERPRINTS[number]) for number in range(version, SCHEMA_VERSION + 1)
        ]


def test_a_version_11_database_records_its_keys_folded_under_unicode_14(
    empty_database_url: str, db: Connection
) -> None:
    with connect(Settings(database_url=set_up_as_version(11, empty_database_url))) as old:
        ensure_schema(old)
        migrated = old.execute("SELECT folding, unicode_version FROM key_folding").fetchall()
        if unicodedata.unidata_version == "14.0.0":
            require_keys_folded_alike(old)
        else:  # a later Python: its keys are not this interpreter's until folded again
            with pytest.raises(FoldedUnderAnotherUnicode, match=r"folded under Unicode 14\.0\.0"):
                require_keys_folded_alike(old)

    # every key so far was folded under Python 3.11's Unicode; a new database, under this one's
    assert migrated == [{"folding": 1, "unicode_version": "14.0.0"}]
    assert key_folding.folded_under(db) == unicodedata.unidata_version


def record_party(
    conn: Connection,
    agency: AgencyRef,
    number: str | None,
    *,
    day: int = 1,
    country: str = "DE",
    classification: str = "UNRESTRICTED",
) -> UUID:
    """A party as version 5 recorded it (no key), on the given day of 2020."""
    row = conn.execute(
        "INSERT INTO parties (name, kind, country, registration_number, classification,"
        " recorded_by_agency_id, recorded_at) VALUES ('Party', 'DEALER', %s, %s, %s, %s,"
        " make_date(2020, 1, %s)) RETURNING id",
        [country, number, classification, agency.id, day],
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def keys_of(conn: Connection) -> dict[UUID, str | None]:
    rows = conn.execute("SELECT id, registration_number_key FROM parties")
    return {row["id"]: row["registration_number_key"] for row in rows}


# Numbers of every kind parties of version 5 hold, none of them another's spelling: those whose
# letters are ASCII once NFKC-normalised (full-width, a no-break space, "º"), keyed exactly as the
# code keys them whatever the database's locale; and letters of other scripts, keyed by the
# database's upper case, the code's under a UTF-8 locale (the embedded server's C.UTF-8).
ASCII_ONCE_NORMALISED = (
    "0403.451.577", "hrb 98765 b", "B-1/2.3", "\uff21\uff22\uff11\uff12", "Inn\u00a07707",
    "FR\u2013RCS\u2014441", "N\u00ba 12", "X\u200bY", "Z\t9", "\u2160-\u2163",
)  # fmt: skip
OTHER_SCRIPTS = (
    "\u0438\u043d\u043d 7707083893", "\u03b1\u03c6\u03bc-0994", "\u00e9tat 7",
)  # fmt: skip


def test_the_parties_of_a_version_5_database_are_keyed_as_the_code_keys_them(
    version_5: Connection,
) -> None:
    agency, _ = create_agency_key(version_5, "Migrated Tracing Office")
    with version_5.transaction():
        written = {record_party(version_5, agency, number): number
                   for number in (*ASCII_ONCE_NORMALISED, *OTHER_SCRIPTS)}  # fmt: skip
        unnumbered = record_party(version_5, agency, None)
        separators_alone = record_party(version_5, agency, " - / ")
    unicode_case = version_5.execute("SELECT upper('\u00e9t\u0430') = '\u00c9T\u0410' AS yes")

    ensure_schema(version_5)

    keys = keys_of(version_5)
    expected = ASCII_ONCE_NORMALISED + (OTHER_SCRIPTS if unicode_case.fetchone()["yes"] else ())
    assert {party: keys[party] for party, number in written.items() if number in expected} == {
        party: registration_key(number) for party, number in written.items() if number in expected
    }
    assert keys[unnumbered] is None and keys[separators_alone] is None
    numbers = version_5.execute("SELECT registration_number FROM parties")
    assert {row["registration_number"] for row in numbers} == {*written.values(), None, " - / "}


def test_spellings_of_one_number_at_version_5_are_kept_and_the_first_recorded_keeps_the_key(
    version_5: Connection,
) -> None:
    # Two under the exact comparison of version 5, one number under version 6's. The ledger's
    # records stand as recorded; a refusal would leave the operator nothing to do but stay.
    first, _ = create_agency_key(version_5, "National Tracing Office")
    second, _ = create_agency_key(version_5, "Border Police Directorate")
    third, _ = create_agency_key(version_5, "Customs Intelligence")
    notices: list[str] = []
    version_5.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
    with version_5.transaction():
        kept = record_party(version_5, first, "HRB 12345", day=1)
        shared_again = record_party(version_5, second, "hrb-12345", day=2)
        # a restricted party collides with no other agency's, nor with a key given up
        restricted = record_party(
            version_5, second, "HRB/12345", day=3, classification="RESTRICTED"
        )
        own_again = record_party(version_5, first, "HRB.12345", day=4, classification="RESTRICTED")
        restricted_alone = record_party(
            version_5, third, "H R B 1 2 3 4 5", day=5, classification="RESTRICTED"
        )
        elsewhere = record_party(version_5, third, "HRB-12345", day=6, country="AT")

    assert ensure_schema(version_5) == SchemaSetUp(found=5)

    keys = keys_of(version_5)
    assert [keys[party] for party in (kept, restricted, restricted_alone, elsewhere)] == [
        "HRB12345"
    ] * 4
    assert keys[shared_again] is None and keys[own_again] is None
    numbers = version_5.execute(
        "SELECT registration_number FROM parties WHERE id = ANY(%s) ORDER BY recorded_at",
        [[shared_again, own_again]],
    )
    assert [row["registration_number"] for row in numbers] == ["hrb-12345", "HRB.12345"]
    assert len(notices) == 2
    assert str(shared_again) in notices[0] and str(kept) in notices[0]
    assert str(own_again) in notices[1] and str(kept) in notices[1]
    # and the number is the first party's from now on
    with pytest.raises(errors.UniqueViolation, match="parties_registration_unique"):
        parties.insert(
            version_5, third.id, NewParty("Party", "DEALER", "DE", registration_number="hrb12345")
        )


def test_a_tally_counted_at_version_6_is_named_by_the_worker_after_the_migration(
    version_6: Connection,
) -> None:
    # Version 6 kept neither the client nor the time of its last refusal: the count is named
    # all the same, with no client, once quiet from the migration on.
    version_6.execute(
        "INSERT INTO refused_authentications (tally_id, refused) VALUES (%s, 7)", [uuid7()]
    )

    ensure_schema(version_6)
    recorded = sum(clients.record_quiet_tallies(version_6, timedelta(0), batch=10))

    assert recorded == 1
    assert rows_in(version_6, "refused_authentications") == 0
    entry = version_6.execute("SELECT method, status, details FROM audit_log").fetchone()
    assert (entry["method"], entry["status"]) == ("WORKER", 429)
    assert entry["details"]["refused_unrecorded"] == 7 and entry["details"]["client"] is None
    assert auditing.verify(version_6).intact


LINKED_REFERENCES_INDEX = (
    "import_references_record ON import_references (record_id) WHERE record_type <> 'event'"
)


def index_of_linked_references(conn: Connection) -> tuple[int, bool] | None:
    row = conn.execute(
        "SELECT i.indexrelid::integer AS oid, i.indisvalid AS valid FROM pg_index i"
        " WHERE i.indexrelid = to_regclass('import_references_record')"
    ).fetchone()
    return None if row is None else (row["oid"], row["valid"])


def test_the_index_built_concurrently_before_the_migration_is_kept(version_6: Connection) -> None:
    """On a big registry the operator builds it beforehand (the migration, one transaction,
    cannot build it CONCURRENTLY): the migration keeps it rather than fail or build it twice."""
    version_6.execute(f"CREATE INDEX CONCURRENTLY {LINKED_REFERENCES_INDEX}")
    built = index_of_linked_references(version_6)

    ensure_schema(version_6)

    assert built is not None and index_of_linked_references(version_6) == built


def test_an_index_left_invalid_by_a_failed_concurrent_build_is_built_again(
    version_6: Connection,
) -> None:
    version_6.execute(f"CREATE INDEX CONCURRENTLY {LINKED_REFERENCES_INDEX}")
    # what a concurrent build that failed leaves behind (a test may set the flag directly)
    version_6.execute(
        "UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = to_regclass('import_references_record')"
    )
    invalid = index_of_linked_references(version_6)

    ensure_schema(version_6)

    rebuilt = index_of_linked_references(version_6)
    assert invalid is not None and rebuilt is not None
    assert rebuilt[1] and rebuilt[0] != invalid[0]


def test_another_index_of_that_name_fails_the_migration_and_is_left_alone(
    version_6: Connection,
) -> None:
    version_6.execute("CREATE INDEX import_references_record ON import_references (import_id)")
    before = index_of_linked_references(version_6)

    with pytest.raises(MigrationFailed, match="it is not the one version 7 builds"):
        ensure_schema(version_6)

    assert installed(version_6) == (6, FINGERPRINTS[6])
    assert index_of_linked_references(version_6) == before


def test_deliveries_recorded_at_version_4_are_kept_by_the_migration_and_purged_by_age(
    version_4: Connection,
) -> None:
    # Version 4 kept every delivered row; the migration deletes none of them (the worker does,
    # by age, in batches), and the pending one is the worker's to send, as before.
    agency, _ = create_agency_key(version_4, "Migrated Webhook Office")
    other, _ = create_agency_key(version_4, "Migrated Tracing Office")
    with version_4.transaction():
        item = version_4.execute(
            "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category,"
            " serial_number, serial_norm, recorded_by_agency_id) VALUES ('FN', 'FN', 'FAL',"
            " 'FAL', 'RIFLE', 'MIG-5', 'MIG5', %s) RETURNING id",
            [agency.id],
        ).fetchone()["id"]
        hook = version_4.execute(
            "INSERT INTO agency_webhooks (agency_id, url, secret) VALUES (%s,"
            " 'https://hooks.example.org/in', repeat('s', 32)) RETURNING id",
            [agency.id],
        ).fetchone()["id"]
        for delivered in ("now() - interval '400 days'", "now() - interval '1 day'", "NULL"):
            notification = version_4.execute(
                "INSERT INTO notifications (agency_id, kind, item_id, by_agency_id)"
                " VALUES (%s, 'ITEM_LOOKUP', %s, %s) RETURNING id",
                [agency.id, item, other.id],
            ).fetchone()["id"]
            version_4.execute(
                "INSERT INTO webhook_deliveries (notification_id, webhook_id, delivered_at)"
                f" VALUES (%s, %s, {delivered})",
                [notification, hook],
            )

    ensure_schema(version_4)

    assert rows_in(version_4, "webhook_deliveries") == 3
    assert sum(webhooks.purge_delivered(version_4, retention_days=30, batch=100)) == 1
    left = version_4.execute(
        "SELECT delivered_at IS NULL AS pending FROM webhook_deliveries ORDER BY 1"
    )
    assert [row["pending"] for row in left] == [False, True]


def certificate_stored(
    conn: Connection, agency_id: UUID, country: str, number: str, quantity: int
) -> tuple[UUID, UUID, UUID]:
    """An exporter in Belgium, an army in `country`, and the army's certificate `number` with
    one line of `quantity` rifles, as any version's tables hold them: their ids."""
    exporter, army = (
        conn.execute(
            "INSERT INTO parties (name, kind, country, recorded_by_agency_id) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            [name, kind, where, agency_id],
        ).fetchone()["id"]
        for name, kind, where in (("Arsenal", "EXPORTER", "BE"), ("Army", "ARMED_FORCES", country))
    )
    euc = conn.execute(
        "INSERT INTO end_user_certificates (certificate_number, certificate_key, "
        "issuing_country, issuing_authority, issued_on, end_user_party_id, "
        "destination_country, stated_end_use, non_reexport_clause, recorded_by_agency_id) "
        "VALUES (%(number)s, %(key)s, %(country)s, 'MoD', '2010-03-01', %(army)s, %(country)s, "
        "'army', true, %(agency)s) RETURNING id",
        {"number": number, "key": number.replace("-", ""), "country": country, "army": army,
         "agency": agency_id},
    ).fetchone()["id"]  # fmt: skip
    conn.execute(
        "INSERT INTO euc_line_items (euc_id, line_number, description, quantity) "
        "VALUES (%s, 1, 'rifles', %s)",
        [euc, quantity],
    )
    return exporter, army, euc


def test_a_revocation_recorded_at_version_3_stands_after_it_is_migrated_and_may_be_withdrawn(
    version_3_url: str, version_3: Connection
) -> None:
    agency, key = create_agency_key(version_3, "Migrated Tracing Office")
    with version_3.transaction():
        exporter, army, euc = certificate_stored(version_3, agency.id, "IQ", "IQ-3", quantity=10)
        revoked = version_3.execute(
            "INSERT INTO euc_revocations (euc_id, revoked_on, reason, recorded_by_agency_id) "
            "VALUES (%s, '2010-04-01', 'forged', %s) RETURNING id",
            [euc, agency.id],
        ).fetchone()["id"]

    ensure_schema(version_3)

    app = migrated_app(version_3_url)
    try:
        api = ContractClient(app.test_client(), key)
        rifle = api.created(
            "/v1/items", {"manufacturer": "FN Herstal", "model": "FAL", "category": "RIFLE",
                          "serial_number": "MIG-3"},
        )  # fmt: skip
        api.created(
            "/v1/events",
            {"event_type": "EXPORT", "occurred_on": "2010-05-02", "country": "BE",
             "destination_country": "IQ", "from_party_id": str(exporter),
             "to_party_id": str(army), "euc_id": str(euc),
             "euc_line_number": 1, "item_ids": [rifle["id"]]},
        )  # fmt: skip
        certificate = api.get(f"/v1/eucs/{euc}").get_json()
        chain = api.get(f"/v1/items/{rifle['id']}/custody").get_json()
        withdrawn = api.created(
            f"/v1/eucs/{euc}/revocation/withdrawal", {"reason": "the forgery was ours"}
        )
        after = api.get(f"/v1/items/{rifle['id']}/custody").get_json()
        again = api.created(
            f"/v1/eucs/{euc}/revocation", {"revoked_on": "2011-01-01", "reason": "embargo"}
        )
    finally:
        app.extensions["trace_registry"].database.close()

    assert (certificate["status"], certificate["revocation"]["id"]) == ("REVOKED", str(revoked))
    assert "EUC_REVOKED" in [finding["code"] for finding in chain["findings"]]
    assert (withdrawn["revocation"], withdrawn["revocations"][0]["id"]) == (None, str(revoked))
    assert "EUC_REVOKED" not in [finding["code"] for finding in after["findings"]]
    assert again["status"] == "REVOKED"
    assert [r["withdrawal"] is None for r in again["revocations"]] == [False, True]


def test_a_file_queued_at_version_3_names_the_key_its_request_was_audited_with(
    version_3: Connection,
) -> None:
    agency, key = create_agency_key(version_3, "Migrated Import Office")
    prefix = api_keys.prefix_of(key)
    # a request's id (its audit entry's) is made before the job it queues
    requests = uuid7(), uuid7()
    sent, unnamed = uuid7(), uuid7()
    with version_3.transaction():
        for job in (sent, unnamed):
            version_3.execute(
                "INSERT INTO import_jobs (id, agency_id, media_type, sha256, size)"
                " VALUES (%s, %s, 'application/x-ndjson', %s, 0)",
                [job, agency.id, b"\0" * 32],
            )
        # the entry of the request that queued `sent` (the other's names no key: a replay)
        for request, job, details in (
            (requests[0], sent, "{}"),
            (requests[1], unnamed, '{"idempotent_replay": true}'),
        ):
            version_3.execute(
                "INSERT INTO audit_log (id, agency_id, key_prefix, method, route, path, status,"
                " record_ids, details) VALUES (%s, %s, %s, 'POST', '/v1/imports', '/v1/imports',"
                " 202, %s, %s)",
                [request, agency.id, prefix, [job], details],
            )

    ensure_schema(version_3)

    named = version_3.execute("SELECT id, sent_by_key_prefix FROM import_jobs ORDER BY id")
    assert [(row["id"], row["sent_by_key_prefix"]) for row in named] == [
        (sent, prefix),
        (unnamed, None),
    ]


@pytest.fixture
def schema_owner(postgres_admin_url: str) -> str:
    """A role that owns the schema without being the login that migrates it (a superuser)."""
    role = f"trace_registry_schema_owner_{os.getpid()}"
    with (
        psycopg.connect(postgres_admin_url, autocommit=True) as admin,
        contextlib.suppress(errors.DuplicateObject),
    ):
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    # which schema.sql would create, and the owner may not (no CREATEROLE)
    with (
        psycopg.connect(postgres_admin_url, autocommit=True) as admin,
        contextlib.suppress(errors.DuplicateObject),
    ):
        admin.execute(
            sql.SQL("CREATE ROLE {} NOLOGIN").format(
                sql.Identifier(schema_setup.SERVICE_GROUP_ROLE)
            )
        )
    return role


def owned_by(admin_url: str, name: str, role: str) -> str:
    """An empty database that `role` owns (so it may create in its public schema)."""
    drop_database(admin_url, name)
    create_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
    return database_url_for(admin_url, name)


def test_a_migration_by_a_superuser_leaves_the_schema_the_owners(
    postgres_admin_url: str, schema_owner: str
) -> None:
    # Found by a helper's review: 0003 makes chain_entries again, and it was the migrating
    # superuser's (its privileges granted by it), not the owner's as schema.sql makes it.
    migrated = owned_by(postgres_admin_url, f"trace_registry_owned_v1_{os.getpid()}", schema_owner)
    fresh = owned_by(postgres_admin_url, f"trace_registry_owned_new_{os.getpid()}", schema_owner)
    as_owner = sql.SQL("SET ROLE {}").format(sql.Identifier(schema_owner))
    try:
        with (
            connect(Settings(database_url=migrated)) as old,
            connect(Settings(database_url=fresh)) as new,
        ):
            with old.transaction():
                old.execute(as_owner)
                old.execute(VERSION_1_SCHEMA.read_text(encoding="utf-8").encode())
                old.execute(
                    "INSERT INTO schema_version (version, fingerprint) VALUES (1, %s)",
                    [FINGERPRINTS[1]],
                )
                old.execute("RESET ROLE")
            new.execute(as_owner)
            assert ensure_schema(new) == SchemaSetUp(found=None)

            assert ensure_schema(old) == SchemaSetUp(found=1)  # as the superuser

            assert old.execute("SELECT current_user AS login").fetchone() != {
                "login": schema_owner
            }  # the owner's role was the migration's alone
            assert differences(schema_of(old), schema_of(new)) == []
    finally:
        drop_database(postgres_admin_url, f"trace_registry_owned_v1_{os.getpid()}")
        drop_database(postgres_admin_url, f"trace_registry_owned_new_{os.getpid()}")


def test_what_a_version_1_database_holds_is_served_after_it_is_migrated(
    version_1_url: str, version_1: Connection
) -> None:
    _, key = create_agency_key(version_1, "Migrated Tracing Office")
    counts = {table: rows_in(version_1, table) for table in ("agencies", "api_keys", "countries")}

    ensure_schema(version_1)

    assert {table: rows_in(version_1, table) for table in counts} == counts
    app = migrated_app(version_1_url)
    try:
        api = ContractClient(app.test_client(), key)  # the key made at version 1 opens the API
        item = api.created(
            "/v1/items",
            {"manufacturer": "FN Herstal", "model": "FAL", "category": "RIFLE",
             "serial_number": "MIG-1"},
        )  # fmt: skip
        batch = {
            "context": {"case_reference": "CASE/MIG/1", "purpose": "criminal investigation"},
            "weapons": [{"serial_number": "MIG-1"}, {"serial_number": "MIG 1"}],
        }
        headers = {"Idempotency-Key": "migrated-batch"}
        first = api.post("/v1/traces/batch", batch, headers=headers)
        again = api.post("/v1/traces/batch", batch, headers=headers)
    finally:
        app.extensions["trace_registry"].database.close()

    assert first.status_code == again.status_code == 201
    assert first.get_data() == again.get_data()  # made again from the batch's stored traces
    traces = first.get_json()["traces"]
    assert [trace["candidates"][0]["item"]["id"] for trace in traces] == [item["id"]] * 2
    kept = version_1.execute("SELECT batch_id, length(body) AS size FROM idempotency_keys")
    assert [(str(row["batch_id"]), row["size"]) for row in kept] == [
        (first.get_json()["batch_id"], 0)
    ]


def migrated_app(owner_url: str) -> Flask:
    """The service on a migrated database. Its keys were folded under Unicode 14.0.0 (0012): a
    later Python folds them again first, as an operator would (`db refold`), to serve them."""
    if unicodedata.unidata_version != "14.0.0":
        with connect(Settings(database_url=owner_url)) as conn:
            refolding.refold(conn)
    return create_app(
        {
            "database_url": service_url_for(owner_url),
            "database_owner_url": owner_url,
            "pool_min_size": 1,
            "pool_max_size": 2,
        }
    )


def test_a_failed_migration_leaves_the_database_as_it_was(version_1: Connection) -> None:
    # 0002 adds a column, then an index named traces_batch: a table of that name fails the index
    version_1.execute("CREATE TABLE traces_batch (standing_in_the_way integer)")

    with pytest.raises(MigrationFailed, match=r"0002_batch_answers.sql failed \(42P07") as failed:
        ensure_schema(version_1)

    assert "the database is at version 1" in str(failed.value)
    assert installed(version_1) == (1, FINGERPRINTS[1])
    assert "batch_id" not in columns_of(version_1, "idempotency_keys")


def test_a_migration_waits_only_so_long_for_a_table_the_earlier_version_holds(
    version_1_url: str, version_1: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema_setup, "MIGRATION_LOCK_WAIT_SECONDS", 1)
    reading = threading.Event()
    done = threading.Event()

    def a_long_read_of_the_earlier_version() -> None:
        with psycopg.connect(version_1_url) as other:
            other.execute("SELECT count(*) FROM idempotency_keys")  # its lock kept to the end
            reading.set()
            done.wait(10)

    reader = threading.Thread(target=a_long_read_of_the_earlier_version)
    reader.start()
    try:
        assert reading.wait(10)
        with pytest.raises(MigrationFailed, match="held by another session for 1 s"):
            ensure_schema(version_1)
    finally:
        done.set()
        reader.join()

    assert installed(version_1) == (1, FINGERPRINTS[1])
    assert ensure_schema(version_1) == SchemaSetUp(found=1)  # once the table is free


def test_processes_starting_together_migrate_it_once(version_1_url: str) -> None:
    def start() -> SchemaSetUp:
        with connect(Settings(database_url=version_1_url)) as conn:
            return ensure_schema(conn)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: start(), range(4)))

    assert (
        sorted(results, key=lambda done: done.found == SCHEMA_VERSION)
        == [SchemaSetUp(found=1)] + [SchemaSetUp(found=SCHEMA_VERSION)] * 3
    )


def test_a_database_the_code_of_version_2_recorded_as_1_is_taken_as_2(
    version_1: Connection,
) -> None:
    # Before migrations, every schema.sql recorded version 1; version 2's is known by its SHA-256.
    # A database of version 2 (version 1 and migration 0002: the same schema, a test above says),
    # for the migrations after it to run on, as they would on such a database (0004 ran on one
    # that already held version 4's schema, as this test used to make, and failed).
    with version_1.transaction():
        version_1.execute(migrations()[0].statements.encode())
        version_1.execute("DELETE FROM schema_version")
        version_1.execute(
            "INSERT INTO schema_version (version, fingerprint) VALUES (1, %s)", [FINGERPRINTS[2]]
        )
    db = version_1

    assert ensure_schema(db).found == 2

    recorded = db.execute("SELECT version, fingerprint FROM schema_version ORDER BY 1").fetchall()
    # and the migrations after version 2 ran on it
    assert [(row["version"], row["fingerprint"]) for row in recorded] == [
        (1, FINGERPRINTS[2]),
        (2, FINGERPRINTS[2]),
        *((version, FINGERPRINTS[version]) for version in range(3, SCHEMA_VERSION + 1)),
    ]


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=environment(
            DATABASE_URL=service_url_for(database_url), DATABASE_OWNER_URL=database_url
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


# Migration 0012 records every key so far folded under Python 3.11's Unicode (14.0.0).
FOLDED_AS_MIGRATED = unicodedata.unidata_version == "14.0.0"


def db_init(database_url: str) -> subprocess.CompletedProcess[str]:
    """`db init` on an earlier version's database, as an operator runs it under this Python:
    under 3.11 it migrates and serves; under a Python of a later Unicode it migrates, then stops
    (exit 1) naming `db refold`, which the operator runs next, as here. Its result, with the
    exit code it has under 3.11 once the keys are folded alike."""
    init = cli(database_url, "db", "init")
    if FOLDED_AS_MIGRATED:
        return init
    assert init.returncode == 1, init.stderr
    assert "`trace-registry db refold`" in init.stderr
    refold = cli(database_url, "db", "refold")
    assert refold.returncode == 0, refold.stderr
    return subprocess.CompletedProcess(init.args, 0, init.stdout, "")


@pytest.mark.slow
def test_db_status_says_what_db_init_will_do_and_db_init_does_it(version_1_url: str) -> None:
    before = cli(version_1_url, "db", "status")
    init = db_init(version_1_url)
    after = cli(version_1_url, "db", "status")

    assert before.returncode == 3, before.stderr
    assert before.stdout.strip() == (
        f"schema version 1, this code's is {SCHEMA_VERSION}: `trace-registry db init` applies "
        + ", ".join(migration.name for migration in migrations())
    )
    assert init.returncode == 0, init.stderr
    assert init.stdout.strip() == f"schema migrated from version 1 to {SCHEMA_VERSION}"
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == f"schema version {SCHEMA_VERSION}, this code's version"


@pytest.mark.slow
def test_db_status_and_init_refuse_a_database_they_do_not_know(
    version_1_url: str, version_1: Connection
) -> None:
    version_1.execute("UPDATE schema_version SET fingerprint = 'a schema.sql of nobody'")
    results = {action: cli(version_1_url, "db", action) for action in ("status", "init")}

    for action, result in results.items():
        assert result.returncode == 1, action
        assert "(a schema.sql) that no released version had" in result.stderr, action
        assert "Traceback" not in result.stderr, action
    assert installed(version_1) == (1, "a schema.sql of nobody")


@pytest.mark.slow
def test_the_worker_refuses_a_database_not_yet_migrated(version_1_url: str) -> None:
    refused = cli(version_1_url, "worker", "--once")
    db_init(version_1_url)
    after = cli(version_1_url, "worker", "--once")

    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"trace-registry: the database is at schema version 1, this code's is {SCHEMA_VERSION}: "
        "run `trace-registry db init` first (the API's start-up does)"
    )
    assert after.returncode == 0, after.stderr


@pytest.mark.slow
def test_commands_other_than_db_init_do_not_migrate(version_1_url: str) -> None:
    """An operator looking at the keys with the new release's command does not upgrade the
    database behind its back (without the backup the upgrade asks for)."""
    listed = cli(version_1_url, "keys", "list")

    assert listed.returncode == 1
    assert listed.stderr.strip() == (
        f"trace-registry: the database is at schema version 1, this code's is {SCHEMA_VERSION}: "
        "run `trace-registry db init` first (the API's start-up does)"
    )
    with connect(Settings(database_url=version_1_url)) as conn:
        assert installed(conn) == (1, FINGERPRINTS[1])


@pytest.mark.slow
def test_db_init_as_the_services_role_says_to_log_in_as_the_owner(version_1_url: str) -> None:
    env = {key: value for key, value in environment().items() if key != "DATABASE_OWNER_URL"}
    init = subprocess.run(
        [*CLI, "db", "init"],
        env={**env, "DATABASE_URL": service_url_for(version_1_url)},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert init.returncode == 1
    with connect(Settings(database_url=version_1_url)) as conn:
        owner = conn.execute("SELECT current_user AS owner").fetchone()["owner"]
        assert installed(conn) == (1, FINGERPRINTS[1])
    assert init.stderr.strip() == (
        f"trace-registry: migrating logs in as {SERVICE_ROLE}, not as the schema's owner "
        f"({owner}): set DATABASE_OWNER_URL to the owner's connection string; nothing was "
        "changed, the database is at version 1"
    )


def test_a_refusal_on_the_embedded_server_names_its_data_directory() -> None:
    """`db init` alone would set up the default data directory, and say so."""
    with (
        pytest.raises(NotYetMigrated) as embedded,
        cli_module._naming_the_data_dir(ROOT / "a data dir", embedded_server=True),
    ):
        raise NotYetMigrated(1)
    with (
        pytest.raises(NotYetMigrated) as own_server,
        cli_module._naming_the_data_dir(ROOT / "a data dir", embedded_server=False),
    ):
        raise NotYetMigrated(1)

    assert f"run `trace-registry db init --data-dir '{ROOT}/a data dir'` first" in str(
        embedded.value
    )
    assert "run `trace-registry db init` first" in str(own_server.value)


def test_an_interrupted_command_says_so_in_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "db_status", interrupted)

    assert cli_module.main(["db", "status"]) == 130
    said = capsys.readouterr().err
    assert said.startswith("trace-registry: interrupted; what it was writing was rolled back")
    assert said.count("\n") == 1


def test_agencies_whose_names_read_alike_at_version_8_are_kept_and_the_first_holds_the_name(
    version_8: Connection,
) -> None:
    # Before the code refused them, two agencies could be named alike but for a mark or a joiner:
    # the migration neither fails on them nor renames one (notifications named them as they are).
    name = "Customs Service"
    for written in (name, name + "\u200f", "\u200e" + name, "Border Police"):
        version_8.execute("INSERT INTO agencies (name) VALUES (%s)", [written])
    notices: list[str] = []
    version_8.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))

    ensure_schema(version_8)

    assert installed(version_8) == (SCHEMA_VERSION, FINGERPRINTS[SCHEMA_VERSION])
    assert rows_in(version_8, "agencies") == 4
    assert len([n for n in notices if "left out of agencies_name_as_read" in n]) == 2, notices
    for twin in (name + "\u200d", "Border\u200c Police"):
        with pytest.raises(errors.UniqueViolation) as refused:
            version_8.execute("INSERT INTO agencies (name) VALUES (%s)", [twin])
        assert refused.value.diag.constraint_name == "agencies_name_as_read"


@pytest.mark.slow
def test_db_init_prints_what_the_migrations_report(empty_database_url: str) -> None:
    # A migration's NOTICE names the records it left as they were, for the operator to look at:
    # it reached psql's output only, never db init's.
    url = set_up_as_version(8, empty_database_url)
    with connect(Settings(database_url=url)) as conn:
        for written in ("Customs Service", "Customs Service\u200f"):
            conn.execute("INSERT INTO agencies (name) VALUES (%s)", [written])

    init = db_init(url)

    assert init.returncode == 0, init.stderr
    lines = init.stdout.strip().splitlines()
    assert lines[-1] == f"schema migrated from version 8 to {SCHEMA_VERSION}"
    reported = [line for line in lines if "left out of agencies_name_as_read" in line]
    assert len(reported) == 1, lines
    assert reported[0].startswith(
        "notice: 0009_webhook_delivery_pages_agency_names_as_read.sql: agency "
    )


def test_ensure_schema_says_what_each_migration_reported(version_8: Connection) -> None:
    for written in ("Customs Service", "\u200eCustoms Service"):
        version_8.execute("INSERT INTO agencies (name) VALUES (%s)", [written])

    done = ensure_schema(version_8)

    assert [notice.split(":")[0] for notice in done.notices] == [
        "0009_webhook_delivery_pages_agency_names_as_read.sql"
    ]
    assert "left out of agencies_name_as_read" in done.notices[0]


# Version 10 -------------------------------------------------------------------------------------

# The modifier letters that version 9 dropped from a key and the code now folds to their letter.
FOLDED_MODIFIERS = [
    chr(code)
    for code in range(sys.maxunicode + 1)
    if unicodedata.category(chr(code)) == "Lm" and normalise_serial(chr(code))
]


def key_of_version_9(text: str) -> str:
    """The key version 9's code gave a text: the modifier letters dropped."""
    return normalise_serial("".join(char for char in text if char not in FOLDED_MODIFIERS))


def record_item(
    conn: Connection,
    agency: AgencyRef,
    serial: str,
    *,
    day: int = 1,
    manufacturer: str = "Zastava Arms",
    model: str = "M70",
) -> UUID:
    """An item as version 9 recorded it, keyed by its code, on the given day of 2020."""
    row = conn.execute(
        "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category,"
        " serial_number, serial_norm, recorded_by_agency_id, recorded_at)"
        " VALUES (%s, manufacturer_key_for(%s), %s, %s, 'RIFLE', %s, %s, %s,"
        " make_date(2020, 1, %s)) RETURNING id",
        [manufacturer, key_of_version_9(manufacturer), model, key_of_version_9(model), serial,
         key_of_version_9(serial), agency.id, day],
    ).fetchone()  # fmt: skip
    assert row is not None
    return UUID(str(row["id"]))


def item_keys(conn: Connection) -> dict[UUID, tuple[str, str, str]]:
    rows = conn.execute("SELECT id, serial_norm, manufacturer_key, model_key FROM items")
    return {row["id"]: (row["serial_norm"], row["manufacturer_key"], row["model_key"])
            for row in rows}  # fmt: skip


def keys_the_code_gives(conn: Connection) -> dict[UUID, tuple[str, str, str]]:
    rows = conn.execute("SELECT id, serial_number, manufacturer, model FROM items")
    return {
        row["id"]: (
            normalise_serial(row["serial_number"]),
            conn.execute(
                "SELECT manufacturer_key_for(%s) AS key", [normalise_name(row["manufacturer"])]
            ).fetchone()["key"],
            normalise_name(row["model"]),
        )
        for row in rows
    }


def noticed(conn: Connection) -> list[str]:
    notices: list[str] = []
    conn.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
    return notices


def test_items_of_a_version_9_database_with_modifier_letters_are_keyed_as_the_code_keys_them(
    version_9: Connection,
) -> None:
    agency, _ = create_agency_key(version_9, "Migrated Tracing Office")
    with version_9.transaction():
        # every modifier letter the code folds, between digits that keep the serials apart
        for number, modifier in enumerate(FOLDED_MODIFIERS):
            record_item(version_9, agency, f"{number}-{modifier}-{number}")
        for serial in ("АКᴬ-1234", "ᵸ-ИЖ 77", "№ ᴬ 9055", "ᴬ123 ПМ"):  # one run of other letters
            record_item(version_9, agency, serial)
        record_item(version_9, agency, "1", manufacturer="ᶠN Herstal", model="ᴾ90")
        unchanged = record_item(version_9, agency, "Ж-12")
    before = item_keys(version_9)
    assert sum(before[item] != keys for item, keys in keys_the_code_gives(version_9).items()) > 200

    assert ensure_schema(version_9).found == 9
    if not FOLDED_AS_MIGRATED:  # the migration keys as 3.11 does; this Python, once folded again
        refolding.refold(version_9)

    assert item_keys(version_9) == keys_the_code_gives(version_9)
    assert item_keys(version_9)[unchanged] == before[unchanged]
    assert item_keys(version_9)[unchanged][1] == "ZASTAVAARMS"
    searched = version_9.execute(
        "SELECT count(*) AS n FROM item_serials s JOIN items i ON i.id = s.item_id"
        " WHERE (s.serial_norm, s.manufacturer_key) = (i.serial_norm, i.manufacturer_key)"
    ).fetchone()
    assert searched["n"] == rows_in(version_9, "items") == rows_in(version_9, "item_serials")
    # the FN Herstal of a reference manufacturer now
    assert (
        version_9.execute(
            "SELECT manufacturer_key FROM items WHERE manufacturer = 'ᶠN Herstal'"
        ).fetchone()["manufacturer_key"]
        == "FNHERSTAL"
    )


def test_items_whose_new_keys_another_holds_at_version_9_keep_theirs_and_are_named(
    version_9: Connection,
) -> None:
    agency, _ = create_agency_key(version_9, "Migrated Tracing Office")
    with version_9.transaction():
        plain = record_item(version_9, agency, "A123", day=2)
        raised = record_item(version_9, agency, "ᴬ123", day=1)  # "123" until now
        of_another_model = record_item(version_9, agency, "ᴬ123", model="M76")
        # both would be "A12B": the earlier recorded takes it
        first, second = (record_item(version_9, agency, serial, day=day)
                         for serial, day in (("ᴬ12B", 3), ("A12ᴮ", 4)))  # fmt: skip
        # "A77" is free once the item that holds it moves to "A77B"
        waits = record_item(version_9, agency, "ᴬ77", day=5)
        moves = record_item(version_9, agency, "A77ᴮ", day=6)
        # two runs of other letters: its key does not place the new letter
        unplaced = record_item(version_9, agency, "Ж ᴬ Ж1")
    notices = noticed(version_9)

    ensure_schema(version_9)

    keys = {item: key[0] for item, key in item_keys(version_9).items()}
    assert [keys[item] for item in (plain, raised, of_another_model)] == ["A123", "123", "A123"]
    assert [keys[first], keys[second]] == ["A12B", "A12"]
    assert [keys[waits], keys[moves]] == ["A77", "A77B"]
    assert keys[unplaced] == "ЖЖ1"
    named = [notice for notice in notices if notice.startswith("item ")]
    assert len(named) == 3, notices
    assert str(unplaced) in named[0] and "could not be derived" in named[0]
    assert str(raised) in named[1] and str(plain) in named[1]
    assert str(second) in named[2] and str(first) in named[2]
    assert rows_in(version_9, "items") == 8


def record_certificate(conn: Connection, agency: AgencyRef, number: str, day: int) -> UUID:
    party = record_party(conn, agency, None)
    row = conn.execute(
        "INSERT INTO end_user_certificates (certificate_number, certificate_key,"
        " issuing_country, issuing_authority, issued_on, end_user_party_id, destination_country,"
        " stated_end_use, non_reexport_clause, recorded_by_agency_id, recorded_at)"
        " VALUES (%s, %s, 'RS', 'Ministry', '2020-01-01', %s, 'RS', 'police', true, %s,"
        " make_date(2020, 1, %s)) RETURNING id",
        [number, key_of_version_9(number), party, agency.id, day],
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def test_certificate_numbers_of_a_version_9_database_are_keyed_as_the_code_keys_them(
    version_9: Connection,
) -> None:
    agency, _ = create_agency_key(version_9, "Migrated Tracing Office")
    with version_9.transaction():
        raised = record_certificate(version_9, agency, "EUCᴬ-17", day=1)
        plain = record_certificate(version_9, agency, "EUC-A18", day=2)
        colliding = record_certificate(version_9, agency, "EUCᴬ18", day=3)
    notices = noticed(version_9)

    ensure_schema(version_9)

    rows = version_9.execute("SELECT id, certificate_key FROM end_user_certificates")
    keys = {row["id"]: row["certificate_key"] for row in rows}
    assert [keys[raised], keys[plain], keys[colliding]] == ["EUCA17", "EUCA18", "EUC18"]
    named = [notice for notice in notices if notice.startswith("certificate ")]
    assert len(named) == 1 and str(colliding) in named[0] and str(plain) in named[0], notices


def test_a_case_reference_stored_decomposed_at_version_9_is_found_by_the_filter(
    version_9: Connection,
) -> None:
    agency, _ = create_agency_key(version_9, "Migrated Tracing Office")
    decomposed = unicodedata.normalize("NFD", "Opération Côte 7")
    version_9.execute(
        "INSERT INTO traces (agency_id, key_prefix, case_reference, serial_number, status,"
        " candidate_item_ids, answer) VALUES (%s, 'trk_x', %s, 'A1', 'NO_MATCH', '{}', '{}')",
        [agency.id, decomposed],
    )
    sought = SoughtText().deserialize(decomposed)  # the filter's own normalisation
    before = traces.find(version_9, agency.id, case_reference=sought, batch_id=None,
                         created_from=None, created_before=None, before=None, limit=10)  # fmt: skip

    ensure_schema(version_9)

    after = traces.find(version_9, agency.id, case_reference=sought, batch_id=None,
                        created_from=None, created_before=None, before=None, limit=10)  # fmt: skip
    assert before == [] and [trace.case_reference for trace in after] == [sought]


def test_agencies_named_alike_but_for_their_normal_form_at_version_9_are_named(
    version_9: Connection,
) -> None:
    composed = "Polícia Judiciária"
    for written in (composed, unicodedata.normalize("NFD", composed) + "\u200e"):
        version_9.execute("INSERT INTO agencies (name) VALUES (%s)", [written])
    alone = unicodedata.normalize("NFD", "Guardia di Finanza, Comando Généralé")
    version_9.execute("INSERT INTO agencies (name) VALUES (%s)", [alone])
    notices = noticed(version_9)

    ensure_schema(version_9)

    named = [notice for notice in notices if "but for its normal form" in notice]
    assert len(named) == 1, notices
    assert rows_in(version_9, "agencies") == 3
    # the agency without a twin is named in NFC, as the code names agencies: a twin is refused
    with pytest.raises(errors.UniqueViolation) as refused:
        version_9.execute(
            "INSERT INTO agencies (name) VALUES (%s)", [unicodedata.normalize("NFC", alone)]
        )
    assert refused.value.diag.constraint_name in {"agencies_name_key", "agencies_name_as_read"}


# What migration 0006 stored: the database's own upper case of the number's letters.
KEYED_BY_0006 = (
    "nullif(normalize(translate(upper(translate(normalize(%(n)s, NFKC),"
    " 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')),"
    " E' \\t\\n\\x0b\\f\\r\\x1c\\x1d\\x1e\\x1f\\u0085\\u1680\\u2028\\u2029'"
    " || E'-\\u2010\\u2011\\u2012\\u2013\\u2014\\u2015\\u2212./', ''), NFKC), '')"
)
# Every character whose case the code maps otherwise than to itself (ß, ǰ, ᾳ, é, ...).
CASED = [
    chr(code)
    for code in range(sys.maxunicode + 1)
    if not 0xD800 <= code <= 0xDFFF and chr(code).casefold().upper() != chr(code)
]


def test_registration_numbers_keyed_by_the_databases_upper_case_are_keyed_as_the_code_keys_them(
    version_9: Connection,
) -> None:
    agency, _ = create_agency_key(version_9, "Migrated Tracing Office")
    numbers = [f"{number}q{letter}q{number}" for number, letter in enumerate(CASED)]
    numbers += ["straße 1", "HRB ǰ-5", "ᾳ 7"]
    version_9.execute(
        f"INSERT INTO parties (name, kind, country, registration_number,"
        f" registration_number_key, classification, recorded_by_agency_id)"
        f" SELECT 'Party', 'DEALER', 'DE', n, {KEYED_BY_0006 % {'n': 'n'}}, 'UNRESTRICTED', %s"
        f" FROM unnest(%s::text[]) AS n",
        [agency.id, numbers],
    )
    stored = version_9.execute(f"SELECT {KEYED_BY_0006} AS key", {"n": "straße 1"}).fetchone()[
        "key"
    ]
    assert stored != registration_key("straße 1")  # "STRAßE1", not "STRASSE1"

    ensure_schema(version_9)

    rows = version_9.execute("SELECT registration_number, registration_number_key FROM parties")
    assert {row["registration_number"]: row["registration_number_key"] for row in rows} == {
        number: registration_key(number) for number in numbers
    }


def test_a_registration_key_another_party_holds_is_left_as_0006_gave_it_and_named(
    version_9: Connection,
) -> None:
    agency, _ = create_agency_key(version_9, "Migrated Tracing Office")
    recorded = {}
    for number, key, day in (("straße-2", "STRAßE2", 1), ("STRASSE 2", "STRASSE2", 2)):
        recorded[number] = version_9.execute(
            "INSERT INTO parties (name, kind, country, registration_number,"
            " registration_number_key, classification, recorded_by_agency_id, recorded_at)"
            " VALUES ('Party', 'DEALER', 'DE', %s, %s, 'UNRESTRICTED', %s, make_date(2020, 1, %s))"
            " RETURNING id",
            [number, key, agency.id, day],
        ).fetchone()["id"]
    notices = noticed(version_9)

    ensure_schema(version_9)

    keys = keys_of(version_9)
    assert [keys[recorded["straße-2"]], keys[recorded["STRASSE 2"]]] == ["STRAßE2", "STRASSE2"]
    named = [notice for notice in notices if notice.startswith("party ")]
    assert len(named) == 1, notices
    assert str(recorded["straße-2"]) in named[0] and str(recorded["STRASSE 2"]) in named[0]


# Version 11 -------------------------------------------------------------------------------------


def test_deliveries_stored_at_version_10_keep_their_states_and_none_is_given_up(
    version_10: Connection,
) -> None:
    # Their first failures were not recorded: a delivery failing for days before the upgrade
    # counts its give-up from its next failed attempt, not from when it was made.
    agency, _ = create_agency_key(version_10, "Migrated Tracing Office")
    with version_10.transaction():
        version_10.execute("SET LOCAL session_replication_role = replica")  # notifications aside
        hook = version_10.execute(
            "INSERT INTO agency_webhooks (agency_id, url, secret)"
            " VALUES (%s, 'https://receiver.example.org/hook', repeat('s', 32)) RETURNING id",
            [agency.id],
        ).fetchone()
        assert hook is not None
        version_10.execute(
            "INSERT INTO webhook_deliveries (notification_id, webhook_id, attempts, delivered_at,"
            " created_at, next_attempt_at)"
            " SELECT gen_random_uuid(), %s, n, CASE WHEN n = 1 THEN now() END,"
            "        now() - interval '10 days', now() - interval '1 minute'"
            " FROM generate_series(0, 2) n",
            [hook["id"]],
        )

    ensure_schema(version_10)

    listed = webhooks.deliveries(version_10, hook["id"], state=None, before=None, limit=10)
    assert sorted(d.state for d in listed) == ["DELIVERED", "FAILING", "PENDING"]
    assert all(d.abandoned_at is None for d in listed)
    (webhook,) = webhooks.of_agency(version_10, agency.id, before=None, limit=10)
    assert (webhook.status, webhook.consecutive_failures, webhook.last_failure_at) == (
        "ACTIVE", 0, None,
    )  # fmt: skip
    assert len(webhooks.claim_due(version_10, 10, 120)) == 2  # the failing one and the pending
    assert webhooks.abandon(version_10, hook["id"], 72) == 0


# Version 16 -------------------------------------------------------------------------------------


def test_corrections_declared_at_version_15_take_the_place_of_the_exports_they_correct(
    empty_database_url: str,
) -> None:
    # A line of two: two rifles, then the same day one more, then the two recorded twice again;
    # the second record declared erroneous (corrected by the third) before the first (corrected
    # by the second). Both records again take the first's place, before the one more.
    with connect(Settings(database_url=set_up_as_version(15, empty_database_url))) as old:
        agency, _ = create_agency_key(old, "Migrated Export Office")
        with old.transaction():
            exporter, army, euc = certificate_stored(old, agency.id, "BE", "BE-16", quantity=2)
            rifles = [
                old.execute(
                    "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, "
                    "category, serial_number, serial_norm, recorded_by_agency_id) VALUES ('FN', "
                    "'FN', 'FAL', 'FAL', 'RIFLE', %s, %s, %s) RETURNING id",
                    [f"MIG-16-{n}", f"MIG16{n}", agency.id],
                ).fetchone()["id"]
                for n in range(3)
            ]
            # The two rifles, the third, and the two recorded twice again: a line's count reads
            # each item once (version 17) where its exports' item counts pass its quantity.
            first, one_more, second, third = (
                old.execute(
                    "WITH e AS (INSERT INTO custody_events (event_type, occurred_on, country, "
                    "destination_country, from_party_id, to_party_id, euc_id, euc_line_number, "
                    "item_count, recorded_by_agency_id) VALUES ('EXPORT', '2010-05-02', 'BE', "
                    "'BE', %s, %s, %s, 1, %s, %s) RETURNING id, recorded_at), "
                    "i AS (INSERT INTO custody_event_items (event_id, item_id) "
                    "SELECT e.id, unnest(%s::uuid[]) FROM e) "
                    "SELECT id, recorded_at FROM e",
                    [exporter, army, euc, len(shipped), agency.id, shipped],
                ).fetchone()
                for shipped in (rifles[:2], rifles[2:], rifles[:2], rifles[:2])
            )
            for declared, corrective in ((second, third), (first, second)):
                old.execute(
                    "INSERT INTO event_error_declarations (event_id, reason, explanation, "
                    "corrective_event_ids, declared_by_agency_id) "
                    "VALUES (%s, 'INCORRECT_DATA', 'recorded again', %s, %s)",
                    [declared["id"], [corrective["id"]], agency.id],
                )

        ensure_schema(old)

        placed = old.execute("SELECT event_id, first_recorded_at FROM corrected_acts").fetchall()
        shipped = old.execute(
            "SELECT id, euc_line_shipped_through FROM event_details WHERE id = ANY(%s)",
            [[third["id"], one_more["id"]]],
        ).fetchall()
    assert {(row["event_id"], row["first_recorded_at"]) for row in placed} == {
        (second["id"], first["recorded_at"]), (third["id"], first["recorded_at"]),
    }  # fmt: skip
    assert {row["id"]: row["euc_line_shipped_through"] for row in shipped} == {
        third["id"]: 2, one_more["id"]: 3,
    }  # fmt: skip


def test_item_serials_of_a_version_19_database_carry_their_items_models(
    empty_database_url: str,
) -> None:
    # item_serials is a copy of the items' keys, made again from them with the model's; the
    # trigger writes the model of items recorded after.
    with connect(Settings(database_url=set_up_as_version(19, empty_database_url))) as old:
        agency, _ = create_agency_key(old, "Migrated Registry")
        with old.transaction():
            old.execute(
                "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, "
                "category, serial_number, serial_norm, recorded_by_agency_id) "
                "SELECT 'Colt', 'COLT', model, upper(model), 'RIFLE', serial, serial, %s "
                "FROM unnest(ARRAY['M16A2', 'M4', 'M16A2'], ARRAY['MIG191', 'MIG192', 'MIG193'])"
                "     AS i (model, serial)",
                [agency.id],
            )

        ensure_schema(old)
        old.execute(
            "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category, "
            "serial_number, serial_norm, recorded_by_agency_id) "
            "VALUES ('Colt', 'COLT', 'M4A1', 'M4A1', 'RIFLE', 'MIG194', 'MIG194', %s)",
            [agency.id],
        )
        copied = old.execute(
            "SELECT s.serial_norm, s.manufacturer_key, s.model_key, i.model_key AS items_model "
            "FROM item_serials s JOIN items i ON i.id = s.item_id ORDER BY s.serial_norm"
        ).fetchall()
        searched = old.execute(
            "SELECT count(*) AS n FROM item_serials WHERE serial_norm LIKE 'MIG19_'"
        ).fetchone()
    assert [(row["serial_norm"], row["model_key"]) for row in copied] == [
        ("MIG191", "M16A2"), ("MIG192", "M4"), ("MIG193", "M16A2"), ("MIG194", "M4A1"),
    ]  # fmt: skip
    assert all(row["model_key"] == row["items_model"] for row in copied)
    assert searched["n"] == 4  # the trigram index made again


def test_an_item_recorded_while_migration_0020_runs_is_copied_with_its_model(
    empty_database_url: str,
) -> None:
    # A service of the version before, still serving while another applies 0020 (a rolling
    # deploy), records an item: its insert waits for the migration, then is copied with its
    # model. The migration is held before it records its version by a session that holds the
    # version table; the item is recorded meanwhile.
    url = set_up_as_version(19, empty_database_url)
    with connect(Settings(database_url=url)) as setup:
        agency, _ = create_agency_key(setup, "Registry of the Version Before")
    settings = Settings(database_url=url)
    with connect(settings) as holder, connect(settings) as migrator, connect(settings) as writer:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE schema_version IN SHARE MODE")
        waiting = "SELECT wait_event_type = 'Lock' AS waits FROM pg_stat_activity WHERE pid = %s"

        def waits(conn: Connection) -> bool:
            row = holder.execute(waiting, [conn.info.backend_pid]).fetchone()
            return bool(row and row["waits"])

        def record_an_item() -> None:
            writer.execute(
                "INSERT INTO items (manufacturer, manufacturer_key, model, model_key, category, "
                "serial_number, serial_norm, recorded_by_agency_id) "
                "VALUES ('Colt', 'COLT', 'M16A2', 'M16A2', 'RIFLE', 'RACE1', 'RACE1', %s)",
                [agency.id],
            )

        with ThreadPoolExecutor(2) as pool:
            migrated = pool.submit(ensure_schema, migrator)
            _until(lambda: waits(migrator))
            recorded = pool.submit(record_an_item)
            _until(lambda: waits(writer))
            holder.execute("ROLLBACK")
            migrated.result(timeout=30)
            recorded.result(timeout=30)
        copied = writer.execute(
            "SELECT s.model_key FROM item_serials s JOIN items i ON i.id = s.item_id "
            "WHERE i.serial_norm = 'RACE1'"
        ).fetchall()
    assert copied == [{"model_key": "M16A2"}]


def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come to hold"
        time.sleep(0.05)
