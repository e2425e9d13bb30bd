"""`trace-registry seed --items N --seed S`: what the synthetic registry holds, that its SQL
normalises serials exactly as the domain does, that every event obeys the custody rules, that the
same seed gives the same data, and that a second run adds nothing."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from service.cli import main
from service.config import Settings
from service.db import Connection, connect
from service.domain import custody
from service.domain.serials import normalise_name, normalise_serial
from service.seed import demo, synthetic
from service.seed.synthetic import SyntheticLoad
from tests.conftest import create_database, database_url_for, drop_database

ITEMS = 2_000
SEED = 7
_second_databases = itertools.count()


def load(db: Connection, items: int = ITEMS, seed: int = SEED) -> SyntheticLoad:
    return synthetic.load(db, items, seed)


@pytest.fixture
def loaded(db: Connection) -> SyntheticLoad:
    return load(db)


@pytest.fixture
def other_db(postgres_admin_url: str, template_database: str) -> Iterator[Connection]:
    """A second fresh database beside `db`."""
    name = f"trace_registry_synthetic_{os.getpid()}_{next(_second_databases)}"
    create_database(postgres_admin_url, name, template=template_database)
    settings = Settings(database_url=database_url_for(postgres_admin_url, name))
    with connect(settings) as conn:
        yield conn
    drop_database(postgres_admin_url, name)


def rows(db: Connection, query: str, *params: Any) -> list[dict[str, Any]]:
    return db.execute(query, params or None).fetchall()


def digest(db: Connection, query: str) -> str:
    text = "\n".join(repr(tuple(row.values())) for row in db.execute(query))
    return hashlib.sha256(text.encode()).hexdigest()


ITEM_DIGEST = """
    SELECT id, manufacturer, manufacturer_key, model, model_key, category, caliber, serial_number,
           serial_norm, country_of_manufacture, year_of_manufacture, import_markings::text
    FROM items ORDER BY id
"""
EVENT_DIGEST = """
    SELECT e.id, e.event_type, e.occurred_on, e.country, e.destination_country, fp.name,
           tp.name, e.euc_id, e.euc_line_number, e.licence_number, e.document_reference,
           array(SELECT item_id FROM custody_event_items ei
                 WHERE ei.event_id = e.id ORDER BY item_id)::text
    FROM custody_events e
    LEFT JOIN parties fp ON fp.id = e.from_party_id
    LEFT JOIN parties tp ON tp.id = e.to_party_id
    ORDER BY e.id
"""


def schema_objects(db: Connection) -> set[tuple[str, str]]:
    """Every index and constraint of the registry's tables, with its definition."""
    indexes = rows(db, "SELECT indexname AS name, indexdef AS definition FROM pg_indexes "
                       "WHERE schemaname = 'public'")  # fmt: skip
    constraints = rows(
        db,
        "SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace",
    )
    return {(row["name"], row["definition"]) for row in indexes + constraints}


# What the load records -------------------------------------------------------------------------


def test_the_load_records_the_requested_items_and_about_eight_events_each(
    db: Connection, loaded: SyntheticLoad
) -> None:
    assert not loaded.already_loaded
    assert loaded.rebuilt_indexes
    assert loaded.counts.items == ITEMS
    assert 7.0 <= loaded.event_items / ITEMS <= 9.0
    assert loaded.counts.events < loaded.event_items  # shipments cover several items
    assert loaded.counts.eucs > 0
    assert loaded.counts.declarations == 0
    assert rows(db, "SELECT name FROM agencies") == [{"name": "Synthetic Registry (seed 7)"}]
    per_item = rows(db, "SELECT count(*) AS n FROM custody_event_items GROUP BY item_id ORDER BY n")
    assert len(per_item) == ITEMS
    assert per_item[0]["n"] >= 3
    assert per_item[-1]["n"] <= 15
    tables = rows(
        db,
        "SELECT (SELECT count(*) FROM custody_event_items) AS links, "
        "(SELECT count(*) FROM custody_events) AS events, "
        "(SELECT count(*) FROM parties) AS parties",
    )[0]
    assert tables == {
        "links": loaded.event_items,
        "events": loaded.counts.events,
        "parties": loaded.counts.parties,
    }


def test_every_loaded_item_is_in_the_serial_search_table(
    db: Connection, loaded: SyntheticLoad
) -> None:
    """item_serials (what wildcard and near-miss traces search) holds each item once, with its
    serial and maker, although the load set its trigram index aside."""
    mismatched = rows(
        db,
        "SELECT count(*) AS n FROM items i FULL JOIN item_serials s ON s.item_id = i.id"
        " WHERE s.item_id IS NULL OR i.id IS NULL OR s.serial_norm <> i.serial_norm"
        " OR s.manufacturer_key <> i.manufacturer_key",
    )
    assert mismatched == [{"n": 0}]
    assert rows(db, "SELECT count(*) AS n FROM item_serials") == [{"n": ITEMS}]


def test_the_summary_gives_counts_and_rates(loaded: SyntheticLoad) -> None:
    text = synthetic.summary(loaded)
    assert "2,000 items" in text
    assert "rows/s" in text
    assert "Synthetic Registry (seed 7)" in text
    assert "`trace-registry alerts rebuild` lists the items on alert" in text


def test_the_indexes_and_constraints_are_back_after_the_load(
    db: Connection, other_db: Connection
) -> None:
    before = schema_objects(other_db)

    load(db)

    assert schema_objects(db) == before


def test_parties_of_every_kind_in_many_countries(db: Connection, loaded: SyntheticLoad) -> None:
    kinds = {
        row["kind"]: row["countries"]
        for row in rows(
            db, "SELECT kind, count(DISTINCT country) AS countries FROM parties GROUP BY kind"
        )
    }
    assert kinds.keys() >= {
        "MANUFACTURER", "EXPORTER", "ARMED_FORCES", "LAW_ENFORCEMENT", "DEALER", "PRIVATE_HOLDER",
    }  # fmt: skip
    assert kinds["ARMED_FORCES"] >= 100
    assert kinds["MANUFACTURER"] >= 15


# Serials ---------------------------------------------------------------------------------------


def test_serials_follow_their_makers_formats(db: Connection, loaded: SyntheticLoad) -> None:
    patterns = {(m.manufacturer, m.name): m.serial_pattern for m in synthetic.MODELS}
    found = rows(db, "SELECT manufacturer, model, serial_number FROM items")
    for row in found:
        pattern = patterns[(row["manufacturer"], row["model"])]
        assert pattern.fullmatch(row["serial_number"]), row
    serials = [row["serial_number"] for row in found]
    assert any(serial.startswith("АК ") for serial in serials)  # Cyrillic A and K
    assert any(set(serial) & set("БГДЖИЛПФ") for serial in serials)  # no Latin twin
    for separator in "-/ ":
        assert any(separator in serial for serial in serials), separator
    assert len({row["model"] for row in found}) >= 40


def test_sql_normalises_as_the_domain_does(db: Connection, loaded: SyntheticLoad) -> None:
    aliases = {
        row["alias_key"]: row["manufacturer_key"]
        for row in rows(db, "SELECT alias_key, manufacturer_key FROM manufacturer_aliases")
    }
    found = rows(
        db, "SELECT serial_number, serial_norm, manufacturer, manufacturer_key, model, model_key "
            "FROM items"
    )  # fmt: skip
    assert len(found) == ITEMS
    for row in found:
        assert row["serial_norm"] == normalise_serial(row["serial_number"]), row
        name_key = normalise_name(row["manufacturer"])
        assert row["manufacturer_key"] == aliases.get(name_key, name_key), row
        assert row["model_key"] == normalise_name(row["model"]), row
    for row in rows(db, "SELECT certificate_number, certificate_key FROM end_user_certificates"):
        assert row["certificate_key"] == normalise_serial(row["certificate_number"]), row


def test_a_few_percent_of_serials_are_shared_by_two_makers(
    db: Connection, loaded: SyntheticLoad
) -> None:
    shared = rows(
        db,
        """
        SELECT serial_norm, count(*) AS items, count(DISTINCT manufacturer_key) AS makers
        FROM items GROUP BY serial_norm HAVING count(*) > 1
        """,
    )
    assert shared
    assert all(row["makers"] == row["items"] for row in shared)
    share = sum(row["items"] for row in shared) / ITEMS
    assert 0.01 <= share <= 0.08


# Chains ----------------------------------------------------------------------------------------


def test_every_event_obeys_the_custody_rules(db: Connection, loaded: SyntheticLoad) -> None:
    events = rows(
        db,
        """
        SELECT event_type, occurred_on, from_party_id, to_party_id, euc_id, euc_line_number,
               country, destination_country
        FROM custody_events
        """,
    )
    assert len(events) == loaded.counts.events
    today = date.today()
    for event in events:
        draft = custody.EventDraft(
            event_type=event["event_type"],
            occurred_on=event["occurred_on"],
            from_party_id=event["from_party_id"],
            to_party_id=event["to_party_id"],
            has_euc=event["euc_id"] is not None,
            has_euc_line=event["euc_line_number"] is not None,
            has_destination_country=event["destination_country"] is not None,
            exports_to_its_own_country=event["event_type"] == "EXPORT"
            and event["destination_country"] == event["country"],
        )
        assert custody.event_problems(draft, today) == [], event
    types = Counter(event["event_type"] for event in events)
    assert types.keys() >= {"MANUFACTURE", "TRANSFER", "EXPORT", "IMPORT", "LOSS", "THEFT",
                            "SEIZURE", "DESTRUCTION"}  # fmt: skip


def test_chains_run_in_date_order_and_hand_on_from_holder_to_holder(
    db: Connection, loaded: SyntheticLoad
) -> None:
    chains: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows(
        db,
        """
        SELECT ei.item_id, e.event_type, e.occurred_on, e.from_party_id, e.to_party_id
        FROM custody_event_items ei JOIN custody_events e ON e.id = ei.event_id
        ORDER BY ei.item_id, e.occurred_on
        """,
    ):
        chains[row["item_id"]].append(row)
    shapes = Counter()
    for chain in chains.values():
        dates = [event["occurred_on"] for event in chain]
        assert dates == sorted(set(dates)), chain  # strictly increasing
        kinds = [event["event_type"] for event in chain]
        assert kinds[0] == "MANUFACTURE"
        exported = kinds[2:4] == ["EXPORT", "IMPORT"]
        shapes[exported] += 1
        assert kinds[1] == "TRANSFER"
        for previous, event in itertools.pairwise(chain):
            if event["event_type"] == "IMPORT":  # the exporter ships, the consignee receives
                assert event["from_party_id"] == previous["from_party_id"]
                assert event["to_party_id"] == previous["to_party_id"]
            else:
                assert event["from_party_id"] == previous["to_party_id"], chain
        assert kinds.count("MANUFACTURE") == 1
        assert all(kind == "TRANSFER" for kind in kinds[4 if exported else 2 : -1]), kinds
    assert 0.7 <= shapes[True] / len(chains) <= 0.9


def test_exports_cite_a_certificate_for_their_destination(
    db: Connection, loaded: SyntheticLoad
) -> None:
    exports = rows(
        db,
        """
        SELECT e.occurred_on, e.destination_country, e.to_party_id, c.destination_country AS cd,
               c.end_user_party_id, c.issued_on, c.expires_on, l.quantity,
               (SELECT count(*) FROM custody_event_items ei WHERE ei.event_id = e.id) AS shipped
        FROM custody_events e
        JOIN end_user_certificates c ON c.id = e.euc_id
        JOIN euc_line_items l ON l.euc_id = e.euc_id AND l.line_number = e.euc_line_number
        WHERE e.event_type = 'EXPORT'
        """,
    )
    assert exports
    for export in exports:
        assert export["destination_country"] == export["cd"]
        assert export["to_party_id"] == export["end_user_party_id"]
        assert export["issued_on"] <= export["occurred_on"] <= export["expires_on"]
        assert export["quantity"] == export["shipped"]
    assert max(export["shipped"] for export in exports) > 1


def test_most_weapons_are_in_service_and_some_are_lost_stolen_seized_or_destroyed(
    db: Connection, loaded: SyntheticLoad
) -> None:
    last_events = rows(
        db,
        """
        SELECT DISTINCT ON (ei.item_id) e.event_type
        FROM custody_event_items ei JOIN custody_events e ON e.id = ei.event_id
        ORDER BY ei.item_id, e.occurred_on DESC
        """,
    )
    statuses = Counter(custody.STATUS_AFTER[row["event_type"]] for row in last_events)
    assert set(statuses) == {"IN_SERVICE", "LOST", "STOLEN", "SEIZED", "DESTROYED"}
    assert 0.85 <= statuses["IN_SERVICE"] / ITEMS <= 0.97


def test_shipments_count_the_items_they_cover(db: Connection, loaded: SyntheticLoad) -> None:
    miscounted = rows(
        db,
        """
        SELECT e.id FROM custody_events e
        WHERE e.item_count <> (SELECT count(*) FROM custody_event_items ei WHERE ei.event_id = e.id)
        """,
    )
    assert miscounted == []


# Determinism and idempotence -------------------------------------------------------------------


def test_the_same_seed_gives_the_same_registry(db: Connection, other_db: Connection) -> None:
    load(db)
    load(other_db)

    for query in (ITEM_DIGEST, EVENT_DIGEST):
        assert digest(db, query) == digest(other_db, query)


def test_another_seed_gives_other_serials(db: Connection, other_db: Connection) -> None:
    load(db, seed=1)
    load(other_db, seed=2)

    serials = "SELECT serial_number FROM items ORDER BY serial_number"
    assert digest(db, serials) != digest(other_db, serials)


def test_running_again_adds_nothing_and_says_so(db: Connection, loaded: SyntheticLoad) -> None:
    before = digest(db, EVENT_DIGEST)

    again = load(db)

    assert again.already_loaded
    assert again.counts == loaded.counts
    assert digest(db, EVENT_DIGEST) == before
    assert "already loaded; nothing was added" in synthetic.summary(again)


def test_beside_other_records_the_indexes_stay_in_place(db: Connection) -> None:
    demo.load_demo(db)
    before = schema_objects(db)

    result = load(db, items=500)

    assert not result.rebuilt_indexes
    assert result.counts.items == 500
    assert schema_objects(db) == before


# The command -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["seed"], ["seed", "--demo", "--items", "10"], ["seed", "--items", "ten"]],
)
def test_the_command_wants_exactly_one_of_demo_and_items(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["seed", "--items", "0"],
        ["seed", "--items", str(synthetic.MAX_ITEMS + 1)],
        ["seed", "--items", "10", "--seed", "-1"],
        ["seed", "--demo", "--seed", "3"],
    ],
)
def test_the_command_refuses_what_it_cannot_make(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "trace-registry:" in capsys.readouterr().err


def test_the_catalogue_numbers_the_largest_registry_allowed() -> None:
    assert synthetic.largest_registry() >= synthetic.MAX_ITEMS
    assert len(synthetic.MODELS) < 100  # certificate numbers carry the model in two digits
    countries = {code for code, _ in synthetic.COUNTRIES}
    assert {model.country for model in synthetic.MODELS} <= countries
