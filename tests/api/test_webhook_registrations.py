"""Registering webhooks: how many an agency may have active, and their list, a page at a time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient
from psycopg import sql

from service import create_app
from service.config import Settings
from service.db import Connection
from service.domain.ids import NEWEST
from service.repository import webhooks
from tests.conftest import create_agency_key, rows_in, second_waits_for_first, service_url_for
from tests.contract import ContractClient

WRITER_SCOPES = ("trace:read", "registry:write")


@pytest.fixture
def writer(client: FlaskClient, db: Connection) -> ContractClient:
    return ContractClient(
        client, create_agency_key(db, "National Tracing Office", WRITER_SCOPES)[1]
    )


@pytest.fixture
def limited(database_url: str, db: Connection) -> Iterator[tuple[ContractClient, ContractClient]]:
    """Two agencies' write keys on a service that allows each 2 active webhooks."""
    application = create_app(
        {
            "database_url": service_url_for(database_url),
            "database_owner_url": database_url,
            "pool_min_size": 1,
            "pool_max_size": 2,
            "webhooks_per_agency": 2,
        }
    )
    client = application.test_client()
    yield (
        ContractClient(client, create_agency_key(db, "National Tracing Office", WRITER_SCOPES)[1]),
        ContractClient(client, create_agency_key(db, "Border Police", WRITER_SCOPES)[1]),
    )
    application.extensions["trace_registry"].database.close()


def hook(n: int) -> dict[str, str]:
    return {"url": f"https://receiver-{n}.example.org/hook"}


def test_an_agency_may_have_so_many_active_webhooks_and_is_told_how_to_free_one(
    limited: tuple[ContractClient, ContractClient], db: Connection
) -> None:
    mine, theirs = limited
    first = mine.created("/v1/webhooks", hook(1))
    mine.created("/v1/webhooks", hook(2))

    refused = mine.post("/v1/webhooks", hook(3))

    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["code"] == "too_many_webhooks"
    assert "2 active webhooks" in problem["detail"]
    assert "DELETE /v1/webhooks/" in problem["detail"]
    assert "TRACE_REGISTRY_WEBHOOKS_PER_AGENCY" in problem["detail"]
    assert rows_in(db, "agency_webhooks") == 2
    # The limit is each agency's own, and counts active webhooks only.
    assert theirs.post("/v1/webhooks", hook(4)).status_code == 201
    assert mine.request("DELETE", f"/v1/webhooks/{first['id']}").status_code == 204
    assert mine.post("/v1/webhooks", hook(3)).status_code == 201


def test_the_default_allows_ten_active_webhooks(writer: ContractClient) -> None:
    assert Settings().webhooks_per_agency == 10
    for n in range(10):
        writer.created("/v1/webhooks", hook(n))

    assert writer.post("/v1/webhooks", hook(10)).status_code == 409


def test_two_registrations_at_once_count_each_other(settings: Settings, db: Connection) -> None:
    # Each counted the active webhooks without the other's uncommitted one: sent at once, both
    # were under the limit and both were stored. The second now waits for the first's count.
    agency, _ = create_agency_key(db, "National Tracing Office", WRITER_SCOPES)
    counted: list[int] = []

    def register(conn: Connection) -> None:
        counted.append(webhooks.active_count(conn, agency.id))
        webhooks.register(conn, agency.id, "https://receiver.example.org/hook", "s" * 43)

    second_waits_for_first(settings, register, lambda conn: counted.append(
        webhooks.active_count(conn, agency.id)
    ))  # fmt: skip

    assert counted == [0, 1]


def test_the_list_is_paged_newest_first_with_a_signed_cursor(
    writer: ContractClient, other_api: ContractClient
) -> None:
    ids = [writer.created("/v1/webhooks", hook(n))["id"] for n in range(5)]
    other_api.created("/v1/webhooks", hook(99))
    writer.request("DELETE", f"/v1/webhooks/{ids[0]}")

    seen: list[dict[str, Any]] = []
    page = writer.get("/v1/webhooks", query={"limit": "2"}).get_json()
    pages = 1
    while page["next_cursor"]:
        seen.extend(page["items"])
        page = writer.get(
            "/v1/webhooks", query={"limit": "2", "cursor": page["next_cursor"]}
        ).get_json()
        pages += 1
    seen.extend(page["items"])

    assert pages == 3
    assert [w["id"] for w in seen] == ids[::-1]  # the deactivated one too, and no one else's
    assert seen[-1]["deactivated_at"] is not None
    assert all("secret" not in w for w in seen)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "501"}, {"cursor": "forged"}])
def test_a_bad_page_is_refused(writer: ContractClient, query: dict[str, str]) -> None:
    response = writer.get("/v1/webhooks", query=query)

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["parameter"] in query


def test_another_list_s_cursor_does_not_page_the_webhooks(
    writer: ContractClient, other_api: ContractClient, recorded_notifications: None
) -> None:
    cursor = writer.get("/v1/notifications", query={"limit": "1"}).get_json()["next_cursor"]
    assert cursor is not None

    response = writer.get("/v1/webhooks", query={"cursor": cursor})

    assert response.status_code == 400


@pytest.fixture
def recorded_notifications(writer: ContractClient, other_api: ContractClient) -> None:
    """Two notifications for the writer's agency: another agency traced its pistol twice."""
    from tests.builders import RegistryBuilder

    RegistryBuilder(writer).item(
        manufacturer="Taurus", model="PT92", category="PISTOL", serial_number="TAU-889911"
    )
    context = {"case_reference": "BR-2025-031", "purpose": "tracing a seized pistol"}
    for _ in range(2):
        other_api.created(
            "/v1/traces", {"weapon": {"serial_number": "TAU-889911"}, "context": context}
        )


def test_a_registration_sent_again_does_not_show_the_secret_twice(
    writer: ContractClient, db: Connection
) -> None:
    # The secret is shown once: the first answer was kept for its Idempotency-Key, secret and
    # all, and given again to whoever sent the key again (as an API key's creation is not).
    key = {"Idempotency-Key": "hook-once"}
    first = writer.post("/v1/webhooks", hook(1), headers=key)
    again = writer.post("/v1/webhooks", hook(1), headers=key)

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.get_json()["code"] == "idempotency_key_reused"
    assert first.headers["Location"] in again.get_json()["detail"]
    assert first.get_json()["secret"] not in again.get_data(as_text=True)
    stored = db.execute("SELECT body FROM idempotency_keys").fetchone()
    assert stored is not None and first.get_json()["secret"].encode() not in bytes(stored["body"])
    assert rows_in(db, "agency_webhooks") == 1


def test_a_page_of_an_agency_s_webhooks_is_read_from_an_index_led_by_the_agency(
    db: Connection,
) -> None:
    # The list was read from the primary key backwards, filtering out every other agency's
    # webhooks (or the whole table, sorted): a page cost what the table held, not what it shows.
    with db.transaction():
        db.execute(
            "INSERT INTO agencies (name) SELECT 'Agency ' || n FROM generate_series(1, 50) n"
        )
        db.execute(
            "INSERT INTO agency_webhooks (agency_id, url, secret, deactivated_at)"
            " SELECT a.id, 'https://receiver-' || n || '.example.org/hook', repeat('s', 32),"
            "        CASE WHEN n > 5 THEN now() END"
            " FROM agencies a, generate_series(1, 40) n"
        )
    db.execute("ANALYZE agency_webhooks")
    agency = db.execute("SELECT id FROM agencies ORDER BY id LIMIT 1").fetchone()
    assert agency is not None

    page = generic_plan_of_a_page(db, agency["id"])
    one = explained(db, webhooks.ONE_WEBHOOK, {"agency_id": agency["id"], "id": NEWEST})

    assert '"Index Name": "agency_webhooks_agency_pages"' in page, page
    assert '"Scan Direction": "Backward"' in page, page  # newest first, no sort
    assert '"Node Type": "Sort"' not in page, page
    # each webhook's health read by its key (a join hashed the whole table)
    assert '"Index Name": "webhook_health_pkey"' in page, page
    assert '"Node Type": "Seq Scan"' not in page, page
    assert '"Node Type": "Hash' not in page, page
    # one webhook: one entry of an index, by its id, and its health by its key
    assert re.search(r'"Index Cond": "\([^"]*\bid = ', one), one
    assert '"Index Name": "webhook_health_pkey"' in one, one
    assert '"Node Type": "Seq Scan"' not in one, one


def generic_plan_of_a_page(conn: Connection, agency_id: UUID) -> str:
    """The plan the service's connections run the page with: generic (plan_cache_mode), which
    knows neither the agency, nor the bound, nor the page's size. EXPLAIN of a statement with
    parameters plans it for their values, a custom plan the service never runs."""
    assert conn.execute("SHOW plan_cache_mode").fetchone() == {
        "plan_cache_mode": "force_generic_plan"
    }
    query = webhooks.LIST_WEBHOOKS.as_string(conn)
    for number, name in enumerate(("agency_id", "before", "limit"), start=1):
        query = query.replace(f"%({name})s", f"${number}")
    conn.execute(f"PREPARE page_of_webhooks (uuid, uuid, integer) AS {query}")
    # the values written in: EXECUTE's arguments are not bound as a statement's parameters
    arguments = sql.SQL(", ").join(map(sql.Literal, (agency_id, NEWEST, 20)))
    plan = conn.execute(
        sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE page_of_webhooks ({})").format(arguments)
    ).fetchone()
    assert plan is not None
    return json.dumps(plan["QUERY PLAN"])


def explained(conn: Connection, query: sql.Composed, parameters: dict[str, object]) -> str:
    plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), parameters).fetchone()
    assert plan is not None
    return json.dumps(plan["QUERY PLAN"])


def test_the_page_and_the_single_webhook_show_a_webhook_in_one_shape() -> None:
    # Its columns, status and health were written twice, in list_webhooks and one_webhook.
    for name in ("list_webhooks", "one_webhook"):
        assert "{shown_webhooks}" in webhooks.SQL[name], name
        assert "webhook_health" not in webhooks.SQL[name], name
        assert "'SUSPENDED'" not in webhooks.SQL[name], name
