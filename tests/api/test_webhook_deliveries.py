"""A webhook's deliveries: deactivating it and sending to it exclude each other, the ports
deliveries may use, and the agency's own view of what was delivered and what is failing."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient
from psycopg import sql

from service import create_app, delivery
from service.config import Settings
from service.db import Connection, connect
from service.domain import delivery_failures
from service.domain import webhooks as signing
from service.domain.ids import NEWEST
from service.domain.records import AgencyRef
from service.repository import webhooks
from tests.builders import RegistryBuilder
from tests.conftest import (
    create_agency_key,
    rows_in,
    second_waits_for_first,
    service_url_for,
    waits_for_lock,
)
from tests.contract import ContractClient

CONTEXT = {"case_reference": "BR-2025-031", "purpose": "tracing a seized pistol"}
HOOK_URL = "https://receiver.example.org/hook"
Sent = list[tuple[str, dict[str, str]]]


@pytest.fixture
def owner(client: FlaskClient, db: Connection) -> tuple[AgencyRef, ContractClient]:
    """The National Tracing Office, which recorded a pistol, and its write key's client."""
    agency, key = create_agency_key(db, "National Tracing Office", ("trace:read", "registry:write"))
    api = ContractClient(client, key)
    RegistryBuilder(api).item(
        manufacturer="Taurus", model="PT92", category="PISTOL", serial_number="TAU-889911"
    )
    return agency, api


def traced(other_api: ContractClient, times: int = 1) -> None:
    """Another agency traces the pistol: a notification, a delivery to each active webhook."""
    for _ in range(times):
        response = other_api.post(
            "/v1/traces", {"weapon": {"serial_number": "TAU-889911"}, "context": CONTEXT}
        )
        assert response.status_code == 201


def recording(sent: Sent, status: int = 204) -> delivery.Sender:
    def send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        sent.append((url, headers))
        return status, ""

    return send


# Deactivation and sending exclude each other -----------------------------------------------


def test_a_delivery_about_to_start_waits_for_a_deactivation_under_way_and_sends_nothing(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
) -> None:
    # The worker read the webhook as active (the deactivation not yet committed) and sent:
    # an agency that had been answered 204 to its DELETE got one more delivery.
    agency, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api)
    (claimed,) = webhooks.claim_due(db, 20, 120)
    sent: Sent = []

    second_waits_for_first(
        settings,
        lambda conn: webhooks.deactivate(conn, agency.id, UUID(hook["id"])),
        lambda conn: delivery._deliver(conn, claimed, recording(sent)),
    )

    assert sent == []
    assert rows_in(db, "webhook_deliveries") == 0


def test_a_deactivation_waits_for_a_delivery_under_way_then_none_starts(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
) -> None:
    agency, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    first, second = webhooks.claim_due(db, 20, 120)
    sending, answer = threading.Event(), threading.Event()

    def slow(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        sending.set()
        answer.wait(10)
        return 204, ""

    # A statement timeout shorter than a delivery: the deactivation's wait is not cut by it.
    short = Settings(database_url=settings.database_url, statement_timeout_ms=300)
    outcomes: list[object] = []
    deactivated = threading.Event()

    def deactivate(conn: Connection) -> None:
        with conn.transaction():
            webhooks.deactivate(conn, agency.id, UUID(hook["id"]))
        deactivated.set()

    with connect(settings) as worker, connect(short) as api_side, connect(settings) as watcher:
        worker_thread = threading.Thread(
            target=lambda: outcomes.append(delivery._deliver(worker, first, slow))
        )
        worker_thread.start()
        assert sending.wait(10)
        deactivating = threading.Thread(target=deactivate, args=(api_side,))
        deactivating.start()

        assert waits_for_lock(watcher, api_side, worker)
        time.sleep(0.6)  # twice the statement timeout: the deactivation still waits
        assert not deactivated.is_set()
        answer.set()
        worker_thread.join(10)
        deactivating.join(10)

    assert deactivated.is_set()
    assert [getattr(outcome, "delivered", None) for outcome in outcomes] == [True]
    # The delivery under way is recorded as delivered; the other, not yet started, never starts.
    sent: Sent = []
    assert delivery._deliver(db, second, recording(sent)).delivered is False
    assert sent == []
    states = db.execute("SELECT id, delivered_at FROM webhook_deliveries").fetchall()
    assert [(row["id"], row["delivered_at"] is not None) for row in states] == [(first.id, True)]


def test_a_deactivation_waiting_for_one_worker_is_not_overtaken_by_another_workers_delivery(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
) -> None:
    # Share locks do not queue behind a waiting UPDATE: while worker A sent, worker B's FOR
    # SHARE was granted past the deactivation waiting for A, and B sent. Two workers taking
    # turns on a slow receiver's backlog starved the deactivation until its 15 s ran out: a 503
    # for every DELETE while the backlog lasted.
    agency, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    first, second = webhooks.claim_due(db, 20, 120)
    sending, answer = threading.Event(), threading.Event()

    def slow(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        sending.set()
        answer.wait(10)
        return 204, ""

    sent: Sent = []
    overtook = threading.Event()

    def noticed(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        overtook.set()
        return recording(sent)(url, body, headers)

    def deactivate(conn: Connection) -> None:
        with conn.transaction():
            webhooks.deactivate(conn, agency.id, UUID(hook["id"]))

    with (
        connect(settings) as worker_a,
        connect(settings) as worker_b,
        connect(settings) as api_side,
        connect(settings) as watcher,
    ):
        threads = [threading.Thread(target=delivery._deliver, args=(worker_a, first, slow))]
        threads[0].start()
        assert sending.wait(10)
        threads.append(threading.Thread(target=deactivate, args=(api_side,)))
        threads[-1].start()
        assert waits_for_lock(watcher, api_side, worker_a)
        threads.append(threading.Thread(target=delivery._deliver, args=(worker_b, second, noticed)))
        threads[-1].start()
        # B either sends at once (overtaking) or comes to wait behind the deactivation.
        assert overtook.wait(2) or waits_for_lock(watcher, worker_b, api_side)
        answer.set()
        for thread in threads:
            thread.join(10)

    assert sent == []


# Ports ---------------------------------------------------------------------------------------


@pytest.fixture
def production_api(database_url: str, db: Connection) -> Iterator[ContractClient]:
    """A write key on a service in production mode that allows deliveries to 443 and 8443."""
    application = create_app(
        {
            "database_url": service_url_for(database_url),
            "database_owner_url": database_url,
            "environment": "production",
            "secret_key": "production-test-secret-" + "k" * 32,
            "webhook_ports": "8443, 443",
        }
    )
    scopes = ("trace:read", "registry:write")
    yield ContractClient(
        application.test_client(), create_agency_key(db, "National Tracing Office", scopes)[1]
    )
    application.extensions["trace_registry"].database.close()


@pytest.mark.parametrize("url", ["https://receiver.example.org:8080/hook",
                                 "https://receiver.example.org:22/hook",
                                 "https://193.0.6.139:6379/hook"])  # fmt: skip
def test_production_refuses_a_port_it_does_not_list(
    production_api: ContractClient, url: str, db: Connection
) -> None:
    response = production_api.post("/v1/webhooks", {"url": url})

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    (error,) = response.get_json()["errors"]
    assert error["pointer"] == "/url"
    assert "443, 8443" in error["detail"] and "TRACE_REGISTRY_WEBHOOK_PORTS" in error["detail"]
    assert rows_in(db, "agency_webhooks") == 0


@pytest.mark.parametrize("url", ["https://receiver.example.org/hook",
                                 "https://receiver.example.org:443/hook",
                                 "https://receiver.example.org:8443/hook"])  # fmt: skip
def test_production_registers_a_listed_port(production_api: ContractClient, url: str) -> None:
    assert production_api.post("/v1/webhooks", {"url": url}).status_code == 201


def test_a_stored_webhook_on_a_port_no_longer_allowed_fails_without_a_lookup(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    db: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Registered before the port rule (or before the deployment's list changed): each attempt
    # fails, recorded for the agency to read, held to the back-off like any receiver that
    # takes nothing, and kept, to be delivered if the port is listed again.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": "https://receiver.example.org:8080/hook"})
    traced(other_api, times=2)
    looked_up: list[str] = []
    monkeypatch.setattr(delivery.socket, "getaddrinfo", lambda host, *_: looked_up.append(host))
    production = delivery.sender(signing.Reach(anywhere=False), timeout=2.0)

    done = delivery.deliver_due(db, production)

    assert (done.claimed, done.delivered, looked_up) == (2, 0, [])
    page = api.get(f"/v1/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert [(d["state"], d["attempts"], d["last_error"]) for d in page] == [
        ("PENDING", 0, None),  # handed back, due with the failed one's retry
        ("FAILING", 1, "port 8080 is not one deliveries may use: 443 "
                       "(TRACE_REGISTRY_WEBHOOK_PORTS)"),
    ]  # fmt: skip


class Redirecting(BaseHTTPRequestHandler):
    location = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(307)
        self.send_header("Location", self.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_a_redirect_is_not_followed() -> None:
    # A 307 keeps the POST and its body: followed, a Location would take the delivery to a
    # host and port no check has seen.
    target = socket.create_server(("127.0.0.1", 0))
    target.settimeout(0.5)
    Redirecting.location = f"http://127.0.0.1:{target.getsockname()[1]}/inside"
    server = HTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    send = delivery.sender(signing.Reach(anywhere=True), timeout=2.0)
    try:
        status, error = send(f"http://127.0.0.1:{server.server_port}/hook", b"{}", {})
        with pytest.raises(TimeoutError):
            target.accept()  # nobody came
    finally:
        server.shutdown()
        server.server_close()
        target.close()

    assert status == 307
    assert error == delivery_failures.describe("redirect", status=307)


# The agency's view of its deliveries ---------------------------------------------------------


@pytest.fixture
def three_states(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> tuple[ContractClient, str, list[str]]:
    """A webhook with a delivery delivered, one failing and one not tried yet (oldest first):
    the owner's client, the webhook's id and the deliveries' ids."""
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=3)
    ids = [str(row["id"]) for row in db.execute("SELECT id FROM webhook_deliveries ORDER BY id")]
    delivered, failing, _ = ids
    webhooks.delivered(db, UUID(delivered), 204)
    webhooks.failed(db, UUID(failing), 503, delivery_failures.describe("status", status=503), 30)
    return api, hook["id"], ids


def test_an_agency_sees_its_webhook_s_deliveries_newest_first(
    three_states: tuple[ContractClient, str, list[str]],
) -> None:
    api, hook_id, (delivered, failing, pending) = three_states

    page = api.get(f"/v1/webhooks/{hook_id}/deliveries").get_json()

    assert page["next_cursor"] is None
    shown = [
        (d["id"], d["state"], d["attempts"], d["last_status"], d["last_error"])
        for d in page["items"]
    ]
    assert shown == [
        (pending, "PENDING", 0, None, None),
        (failing, "FAILING", 1, 503, "HTTP 503"),
        (delivered, "DELIVERED", 1, 204, None),
    ]
    by_state = {d["state"]: d for d in page["items"]}
    assert (
        by_state["DELIVERED"]["delivered_at"] and by_state["DELIVERED"]["next_attempt_at"] is None
    )
    assert by_state["FAILING"]["next_attempt_at"] and by_state["FAILING"]["delivered_at"] is None
    assert all(d["notification_id"] for d in page["items"])


@pytest.mark.parametrize("state", ["PENDING", "FAILING", "DELIVERED"])
def test_the_deliveries_are_filtered_by_state(
    three_states: tuple[ContractClient, str, list[str]], state: str
) -> None:
    api, hook_id, _ = three_states

    items = api.get(f"/v1/webhooks/{hook_id}/deliveries", query={"state": state}).get_json()[
        "items"
    ]

    assert [d["state"] for d in items] == [state]


def test_the_deliveries_are_paged_with_a_cursor_bound_to_the_webhook_and_state(
    three_states: tuple[ContractClient, str, list[str]],
) -> None:
    api, hook_id, ids = three_states
    other_hook = api.created("/v1/webhooks", {"url": "https://other.example.org/hook"})
    path = f"/v1/webhooks/{hook_id}/deliveries"

    first = api.get(path, query={"limit": "2"}).get_json()
    second = api.get(path, query={"limit": "2", "cursor": first["next_cursor"]}).get_json()

    assert [d["id"] for d in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    for elsewhere, query in (
        (f"/v1/webhooks/{other_hook['id']}/deliveries", {"cursor": first["next_cursor"]}),
        (path, {"cursor": first["next_cursor"], "state": "FAILING"}),
        ("/v1/webhooks", {"cursor": first["next_cursor"]}),
    ):
        refused = api.get(elsewhere, query=query)
        assert refused.status_code == 400, elsewhere
        assert refused.get_json()["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize("query", [{"state": "failing"}, {"state": "LOST"}, {"limit": "0"}])
def test_a_bad_deliveries_query_is_refused(
    three_states: tuple[ContractClient, str, list[str]], query: dict[str, str]
) -> None:
    api, hook_id, _ = three_states

    response = api.get(f"/v1/webhooks/{hook_id}/deliveries", query=query)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["parameter"] in query


def test_another_agency_s_webhook_s_deliveries_are_not_found(
    three_states: tuple[ContractClient, str, list[str]],
    client: FlaskClient,
    db: Connection,
) -> None:
    _, hook_id, _ = three_states
    stranger = ContractClient(
        client, create_agency_key(db, "Customs", ("trace:read", "registry:write"))[1]
    )

    for asked in (hook_id, "0190a000-0000-7000-8000-000000000000"):
        response = stranger.get(f"/v1/webhooks/{asked}/deliveries")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"] == f"your agency has no webhook with id {asked}"


def test_reading_the_deliveries_needs_the_write_scope_and_is_audited(
    three_states: tuple[ContractClient, str, list[str]],
    client: FlaskClient,
    db: Connection,
) -> None:
    api, hook_id, _ = three_states
    reader = ContractClient(
        client, create_agency_key(db, "National Tracing Office", ("trace:read",))[1]
    )

    assert reader.get(f"/v1/webhooks/{hook_id}/deliveries").status_code == 403
    api.get(f"/v1/webhooks/{hook_id}/deliveries", query={"state": "FAILING"})

    entry = db.execute(
        "SELECT status, record_ids, records_returned, details FROM audit_log"
        " WHERE route = '/v1/webhooks/<uuid:webhook_id>/deliveries' AND status = 200"
    ).fetchone()
    assert entry is not None
    assert entry["record_ids"] == [UUID(hook_id)]
    assert entry["records_returned"] == 1
    assert "FAILING" in str(entry["details"])


def test_a_stored_error_that_is_not_one_of_the_sentences_is_not_shown(
    three_states: tuple[ContractClient, str, list[str]], db: Connection
) -> None:
    # Written before failures were recorded in fixed words: the address a name resolved to
    # inside the deployment, or the banner of whatever answered instead of HTTP.
    api, hook_id, (_, failing, _) = three_states
    for detail in (
        "db.internal was not reached: 10.1.2.3 is not a public address (loopback, private, ...)",
        "BadStatusLine: SSH-2.0-OpenSSH_9.6",
    ):
        db.execute("UPDATE webhook_deliveries SET last_error = %s WHERE id = %s", [detail, failing])

        items = api.get(f"/v1/webhooks/{hook_id}/deliveries", query={"state": "FAILING"})

        assert items.get_json()["items"][0]["last_error"] == delivery_failures.GENERIC


def generic_plan_of_a_page(conn: Connection, webhook_id: UUID, state: str | None) -> str:
    """The plan the service's connections run the page with: generic (plan_cache_mode), which
    knows neither the webhook, nor the bound, nor the page's size."""
    query = webhooks.SQL["list_deliveries"]
    for number, name in enumerate(("webhook_id", "before", "state", "limit"), start=1):
        query = query.replace(f"%({name})s", f"${number}")
    conn.execute(f"PREPARE page_of_deliveries (uuid, uuid, text, integer) AS {query}")
    # the values written in: EXECUTE's arguments are not bound as a statement's parameters
    arguments = sql.SQL(", ").join(map(sql.Literal, (webhook_id, NEWEST, state, 50)))
    plan = conn.execute(
        sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE page_of_deliveries ({})").format(arguments)
    ).fetchone()
    assert plan is not None
    return json.dumps(plan["QUERY PLAN"])


@pytest.mark.parametrize("state", [None, "FAILING"])
def test_a_page_of_a_webhook_s_deliveries_is_read_from_an_index_led_by_the_webhook(
    db: Connection, state: str | None
) -> None:
    # A webhook with 30 deliveries among 400,000 was paged by reading the primary key backwards
    # past every other webhook's rows (44 ms on PostgreSQL 15): the generic plan preferred it
    # even with an index led by the webhook, until the query bounded the page by both columns.
    assert db.execute("SHOW plan_cache_mode").fetchone() == {
        "plan_cache_mode": "force_generic_plan"
    }
    with db.transaction():
        # the rows' references are beside the point: a plan is all the test reads
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute(
            "INSERT INTO agency_webhooks (agency_id, url, secret)"
            " SELECT gen_random_uuid(), 'https://receiver-' || n || '.example.org/hook',"
            "        repeat('s', 32)"
            " FROM generate_series(1, 40) n"
        )
        db.execute(
            "INSERT INTO webhook_deliveries (notification_id, webhook_id, attempts, delivered_at)"
            " SELECT gen_random_uuid(), w.id, n % 3, CASE WHEN n % 3 = 1 THEN now() END"
            " FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM agency_webhooks) w,"
            "      generate_series(1, 500) n"
            " WHERE w.k > 1 OR n <= 10"
        )
    db.execute("ANALYZE webhook_deliveries")
    rare = db.execute("SELECT id FROM agency_webhooks ORDER BY id LIMIT 1").fetchone()
    assert rare is not None

    scans = generic_plan_of_a_page(db, rare["id"], state)

    assert '"Index Name": "webhook_deliveries_webhook_pages"' in scans, scans
    assert '"webhook_deliveries_pkey"' not in scans, scans
    assert '"Node Type": "Seq Scan"' not in scans, scans
