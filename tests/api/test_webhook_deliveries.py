"""A webhook's deliveries: deactivating it and sending to it exclude each other, the ports
deliveries may use, and the agency's own view of what was delivered and what is failing."""

from __future__ import annotations

import json
import re
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


def forty_webhooks_deliveries(db: Connection) -> UUID:
    """40 webhooks' deliveries, a third of them delivered: 500 each but the first webhook's 10.
    The id of that first webhook."""
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
    return UUID(str(rare["id"]))


@pytest.mark.parametrize("state", [None, "FAILING"])
def test_a_page_of_a_webhook_s_deliveries_is_read_from_an_index_led_by_the_webhook(
    db: Connection, state: str | None
) -> None:
    # A webhook with 30 deliveries among 400,000 was paged by reading the primary key backwards
    # past every other webhook's rows (44 ms on PostgreSQL 15): the generic plan preferred it
    # even with an index led by the webhook, until the query bounded the page by both columns.
    rare = {"id": forty_webhooks_deliveries(db)}

    scans = generic_plan_of_a_page(db, rare["id"], state)

    assert '"Index Name": "webhook_deliveries_webhook_pages"' in scans, scans
    assert '"webhook_deliveries_pkey"' not in scans, scans
    assert '"Node Type": "Seq Scan"' not in scans, scans


# Giving up, suspension, health ---------------------------------------------------------------

# The policy's defaults (72 hours, 120), and the back-off without its jitter.
STEADY = delivery.Policy(give_up_hours=72, suspend_hours=120, draw=lambda: 0.0)


def failing(status: int = 503) -> delivery.Sender:
    def send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        return status, ""

    return send


def states_of(api: ContractClient, hook_id: str, **query: str) -> list[str]:
    items = api.get(f"/v1/webhooks/{hook_id}/deliveries", query=query).get_json()["items"]
    return [item["state"] for item in items]


def listed(api: ContractClient, hook_id: str) -> dict[str, Any]:
    (found,) = [hook for hook in api.get("/v1/webhooks").get_json()["items"]
                if hook["id"] == hook_id]  # fmt: skip
    return found


def all_due(db: Connection) -> None:
    """Time passes: every delivery still to be tried is due."""
    db.execute("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1s'")


def test_a_delivery_failing_longer_than_the_give_up_is_abandoned_listed_and_never_tried_again(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # A dead receiver's deliveries were tried every 6 hours for ever.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api)
    assert delivery.deliver_due(db, failing(), policy=STEADY).abandoned == 0
    db.execute(
        "UPDATE webhook_deliveries SET first_failed_at = first_failed_at - interval '73 hours'"
    )
    all_due(db)

    done = delivery.deliver_due(db, failing(), policy=STEADY)

    assert (done.claimed, done.delivered, done.abandoned) == (1, 0, 1)
    (given_up,) = api.get(
        f"/v1/webhooks/{hook['id']}/deliveries", query={"state": "ABANDONED"}
    ).get_json()["items"]
    assert (given_up["state"], given_up["attempts"], given_up["last_error"]) == (
        "ABANDONED", 2, "HTTP 503",
    )  # fmt: skip
    assert given_up["abandoned_at"] and given_up["next_attempt_at"] is None
    assert states_of(api, hook["id"], state="FAILING") == []
    all_due(db)
    sent: Sent = []
    assert delivery.deliver_due(db, recording(sent), policy=STEADY).claimed == 0
    assert sent == []
    health = listed(api, hook["id"])
    assert (health["status"], health["deliveries_abandoned"]) == ("ACTIVE", 1)
    # the notification itself stays
    assert len(api.get("/v1/notifications").get_json()["items"]) == 1


def test_a_delivery_given_up_while_claimed_in_the_same_round_is_not_sent(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # A receiver that answers 404 is not held back: each delivery is tried on its own. The
    # round's first failure gave up its overdue siblings, claimed in the same round, and they
    # were sent all the same (an attempt nothing recorded, to a delivery listed ABANDONED).
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    assert delivery.deliver_due(db, failing(404), policy=STEADY).claimed == 2
    db.execute(
        "UPDATE webhook_deliveries SET first_failed_at = first_failed_at - interval '73 hours'"
    )
    all_due(db)
    sent: Sent = []

    done = delivery.deliver_due(db, recording(sent, 404), policy=STEADY)

    assert (done.claimed, done.abandoned) == (2, 2)
    assert len(sent) == 1
    assert states_of(api, hook["id"]) == ["ABANDONED", "ABANDONED"]


def test_a_delivery_given_up_by_another_worker_while_it_was_sent_counts_delivered_not_abandoned(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
) -> None:
    # Another worker's failure gave the delivery up while this worker was sending it: the
    # receiver took it, so it is DELIVERED, and its webhook's health still counted it abandoned.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api)
    (claimed,) = webhooks.claim_due(db, 20, 120)

    def given_up_meanwhile(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        with connect(settings) as other_worker:
            assert webhooks.abandon(other_worker, UUID(hook["id"]), None) == 1
        assert listed(api, hook["id"])["deliveries_abandoned"] == 1
        return 204, ""

    assert delivery._deliver(db, claimed, given_up_meanwhile, STEADY).delivered

    assert states_of(api, hook["id"]) == ["DELIVERED"]
    health = listed(api, hook["id"])
    assert (health["deliveries_abandoned"], health["consecutive_failures"]) == (0, 0)
    assert health["last_success_at"]


def test_a_delivery_recorded_while_another_worker_gives_it_up_counts_delivered_not_abandoned(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
) -> None:
    # The same race, the give-up not yet committed as the delivery is recorded: the outcome
    # waits for it, and then sees it (a snapshot read before the wait would not).
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api)
    (claimed,) = webhooks.claim_due(db, 20, 120)

    second_waits_for_first(
        settings,
        lambda conn: webhooks.abandon(conn, UUID(hook["id"]), None),
        lambda conn: webhooks.delivered(conn, claimed.id, 204),
    )

    assert states_of(api, hook["id"]) == ["DELIVERED"]
    assert listed(api, hook["id"])["deliveries_abandoned"] == 0


def test_a_dead_webhook_s_deliveries_held_back_are_abandoned_once_made_before_the_give_up(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # The deliveries hold_webhook keeps back are never tried: giving up only the tried one left
    # the backlog to grow by every notification.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=3)
    assert delivery.deliver_due(db, failing(), policy=STEADY).claimed == 3  # one tried, 2 held
    newest = db.execute("SELECT id FROM webhook_deliveries ORDER BY id DESC LIMIT 1").fetchone()
    assert newest is not None
    db.execute("UPDATE webhook_health SET failing_since = failing_since - interval '73 hours'")
    db.execute(
        "UPDATE webhook_deliveries SET created_at = created_at - interval '73 hours'"
        " WHERE id <> %s",
        [newest["id"]],
    )
    all_due(db)

    done = delivery.deliver_due(db, failing(), policy=STEADY)

    assert done.abandoned == 2
    assert states_of(api, hook["id"]) == ["PENDING", "ABANDONED", "ABANDONED"]
    health = listed(api, hook["id"])
    assert (health["consecutive_failures"], health["deliveries_abandoned"]) == (2, 2)


def test_a_delivery_made_long_ago_but_never_tried_is_not_abandoned_at_its_first_failure(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # The worker was down for days: nothing had failed, so nothing is given up.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api)
    db.execute("UPDATE webhook_deliveries SET created_at = created_at - interval '100 hours'")

    assert delivery.deliver_due(db, failing(), policy=STEADY).abandoned == 0

    assert states_of(api, hook["id"]) == ["FAILING"]


def test_a_webhook_s_health_is_recorded_with_each_outcome(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    fresh = listed(api, hook["id"])
    assert (fresh["last_success_at"], fresh["last_failure_at"]) == (None, None)
    assert (fresh["consecutive_failures"], fresh["status"]) == (0, "ACTIVE")
    traced(other_api, times=2)

    delivery.deliver_due(db, failing(), policy=STEADY)
    all_due(db)
    delivery.deliver_due(db, failing(), policy=STEADY)
    after_failures = listed(api, hook["id"])
    all_due(db)
    delivery.deliver_due(db, recording([]), policy=STEADY)
    after_success = listed(api, hook["id"])

    assert after_failures["consecutive_failures"] == 2
    assert after_failures["last_failure_at"] and after_failures["last_success_at"] is None
    assert after_success["consecutive_failures"] == 0
    assert after_success["last_success_at"] > after_failures["last_failure_at"]
    assert after_success["last_failure_at"] == after_failures["last_failure_at"]


def test_webhooks_failing_together_are_tried_again_apart(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # Without jitter, every webhook that failed in one round was due again at the same moment.
    _, api = owner
    for n in range(2):
        api.created("/v1/webhooks", {"url": f"https://receiver-{n}.example.org/hook"})
    traced(other_api)
    draws = iter([0.0, 0.99])
    jittered = delivery.Policy(draw=lambda: next(draws))

    delivery.deliver_due(db, failing(), policy=jittered)

    waits = db.execute(
        "SELECT round(extract(epoch FROM next_attempt_at - clock_timestamp()))::int AS s"
        " FROM webhook_deliveries ORDER BY 1"
    ).fetchall()
    assert [row["s"] for row in waits] == [24, 30]  # 30 s less 0.2 * 0.99 of it, and 30 s


def make_failing_since(db: Connection, hours: int) -> None:
    db.execute(
        "UPDATE webhook_health SET failing_since = clock_timestamp() - make_interval(hours => %s)",
        [hours],
    )


def test_a_webhook_failing_for_the_suspension_hours_is_suspended_until_its_agency_resumes_it(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    delivery.deliver_due(db, failing(), policy=STEADY)
    make_failing_since(db, 121)
    all_due(db)

    done = delivery.deliver_due(db, failing(), policy=STEADY)

    assert (done.suspended, done.abandoned) == (1, 2)
    suspended = listed(api, hook["id"])
    assert suspended["status"] == "SUSPENDED" and suspended["suspended_at"]
    assert suspended["suspended_reason"].startswith(
        "every delivery attempt failed for 120 hours (since "
    )
    assert "the last: HTTP 503" in suspended["suspended_reason"]
    assert "POST /v1/webhooks/{webhook_id}/resumption" in suspended["suspended_reason"]
    assert states_of(api, hook["id"]) == ["ABANDONED", "ABANDONED"]
    traced(other_api)  # while suspended: notified, nothing to deliver made
    assert rows_in(db, "webhook_deliveries") == 2
    assert len(api.get("/v1/notifications").get_json()["items"]) == 3

    resumed = api.post(f"/v1/webhooks/{hook['id']}/resumption")

    assert resumed.status_code == 200
    body = resumed.get_json()
    assert (body["status"], body["suspended_at"], body["suspended_reason"]) == (
        "ACTIVE", None, None,
    )  # fmt: skip
    assert (body["consecutive_failures"], body["deliveries_abandoned"]) == (0, 2)
    traced(other_api)
    assert states_of(api, hook["id"]) == ["PENDING", "ABANDONED", "ABANDONED"]
    # its run of failures starts again: one more failure does not suspend it
    assert delivery.deliver_due(db, failing(), policy=STEADY).suspended == 0
    assert listed(api, hook["id"])["status"] == "ACTIVE"


def test_resuming_an_active_webhook_changes_nothing_and_a_deactivated_one_cannot_be_resumed(
    owner: tuple[AgencyRef, ContractClient], client: FlaskClient, db: Connection
) -> None:
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    before = listed(api, hook["id"])

    resumed = api.post(f"/v1/webhooks/{hook['id']}/resumption").get_json()
    assert resumed == {**before, "deliveries_redelivered": 0}
    stranger = ContractClient(client, create_agency_key(db, "Customs", ("registry:write",))[1])
    assert stranger.post(f"/v1/webhooks/{hook['id']}/resumption").status_code == 404
    assert api.request("DELETE", f"/v1/webhooks/{hook['id']}").status_code == 204
    refused = api.post(f"/v1/webhooks/{hook['id']}/resumption")
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "state_conflict"
    assert listed(api, hook["id"])["status"] == "DEACTIVATED"


def test_a_resumption_with_an_oversized_body_is_413_as_the_contract_says(
    owner: tuple[AgencyRef, ContractClient],
) -> None:
    # Its body is optional, but one is read when sent, and one over the request limit is refused
    # as every other's is: 413, which the contract did not list for this operation (found in
    # review: the response failed the contract's check of statuses).
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    huge = b'{"redeliver_abandoned": true, "x": "' + b"x" * 1_100_000 + b'"}'

    response = api.post(
        f"/v1/webhooks/{hook['id']}/resumption",
        data=huge,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "body_too_large"


def suspended_with_two_abandoned(
    api: ContractClient, other_api: ContractClient, db: Connection
) -> dict[str, Any]:
    """A webhook suspended after 120 hours of failures: its two deliveries given up."""
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    delivery.deliver_due(db, failing(), policy=STEADY)
    make_failing_since(db, 121)
    all_due(db)
    assert delivery.deliver_due(db, failing(), policy=STEADY).suspended == 1
    return hook


def test_a_resumption_asked_to_redeliver_puts_the_abandoned_deliveries_kept_back_due_now(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # A receiver back after its suspension got nothing of what it missed: its agency could
    # read the notifications, but no delivery of them was ever tried again.
    _, api = owner
    hook = suspended_with_two_abandoned(api, other_api, db)
    # one given up longer ago than the delivery retention: the purge's, not to be sent
    stale = db.execute(
        "UPDATE webhook_deliveries SET abandoned_at = now() - interval '31 days'"
        " WHERE id = (SELECT id FROM webhook_deliveries ORDER BY id LIMIT 1) RETURNING id"
    ).fetchone()
    assert stale is not None

    resumed = api.post(
        f"/v1/webhooks/{hook['id']}/resumption", {"redeliver_abandoned": True}
    ).get_json()

    assert (resumed["status"], resumed["deliveries_redelivered"]) == ("ACTIVE", 1)
    assert resumed["deliveries_abandoned"] == 1  # the one not redelivered
    # the newer, held back behind the older's failures and never tried itself
    assert states_of(api, hook["id"]) == ["PENDING", "ABANDONED"]
    (again,) = api.get(
        f"/v1/webhooks/{hook['id']}/deliveries", query={"state": "PENDING"}
    ).get_json()["items"]
    assert again["abandoned_at"] is None and again["next_attempt_at"] is not None
    sent: Sent = []
    done = delivery.deliver_due(db, recording(sent), policy=STEADY)  # due now: nothing waited
    assert (done.claimed, done.delivered, len(sent)) == (1, 1, 1)
    assert sent[0][1][signing.DELIVERY_HEADER] == again["id"]
    assert states_of(api, hook["id"]) == ["DELIVERED", "ABANDONED"]


def test_a_redelivered_delivery_is_given_up_again_only_after_the_give_up_hours_anew(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # its first failure, which the give-up counts from, was days ago: it starts again
    _, api = owner
    hook = suspended_with_two_abandoned(api, other_api, db)
    db.execute(
        "UPDATE webhook_deliveries SET first_failed_at = now() - interval '200 hours',"
        " created_at = created_at - interval '200 hours'"
    )
    api.post(f"/v1/webhooks/{hook['id']}/resumption", {"redeliver_abandoned": True})

    done = delivery.deliver_due(db, failing(), policy=STEADY)

    assert (done.claimed, done.abandoned) == (2, 0)
    assert states_of(api, hook["id"]) == ["PENDING", "FAILING"]  # the newer held back


def test_an_active_webhook_still_failing_keeps_its_redelivered_deliveries_the_give_up_anew(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # Its run of failures, older than the give-up, was left as it was by the redelivery: the
    # next failure gave up again every delivery made before the give-up (the tried one and
    # those held back behind it) after a single attempt to one of them.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    assert delivery.deliver_due(db, failing(), policy=STEADY).claimed == 2  # one tried, 1 held
    db.execute("UPDATE webhook_deliveries SET created_at = created_at - interval '73 hours'")
    make_failing_since(db, 73)  # not yet the suspension's 120
    all_due(db)
    assert delivery.deliver_due(db, failing(), policy=STEADY).abandoned == 2
    assert listed(api, hook["id"])["status"] == "ACTIVE"
    resumed = api.post(f"/v1/webhooks/{hook['id']}/resumption", {"redeliver_abandoned": True})
    assert resumed.get_json()["deliveries_redelivered"] == 2

    done = delivery.deliver_due(db, failing(), policy=STEADY)

    assert (done.claimed, done.abandoned) == (2, 0)
    assert states_of(api, hook["id"]) == ["PENDING", "FAILING"]  # the newer held back
    # its run of failures starts again with the redelivery, as a suspended one's resumption's
    health = listed(api, hook["id"])
    assert (health["consecutive_failures"], health["deliveries_abandoned"]) == (1, 0)


def test_an_active_webhook_s_abandoned_deliveries_may_be_redelivered_too(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # given up while the webhook stayed active (a receiver that answered 404 for days)
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api)
    assert webhooks.abandon(db, UUID(hook["id"]), None) == 1

    resumed = api.post(f"/v1/webhooks/{hook['id']}/resumption", {"redeliver_abandoned": True})

    assert resumed.status_code == 200
    body = resumed.get_json()
    assert (body["status"], body["deliveries_redelivered"], body["deliveries_abandoned"]) == (
        "ACTIVE", 1, 0,
    )  # fmt: skip
    assert states_of(api, hook["id"]) == ["PENDING"]


def test_a_resumption_without_a_body_or_not_asking_leaves_the_abandoned_deliveries_so(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    _, api = owner
    hook = suspended_with_two_abandoned(api, other_api, db)

    asked_not = api.post(f"/v1/webhooks/{hook['id']}/resumption", {"redeliver_abandoned": False})
    bodiless = api.post(f"/v1/webhooks/{hook['id']}/resumption")

    assert asked_not.get_json()["deliveries_redelivered"] == 0
    assert (bodiless.status_code, bodiless.get_json()["deliveries_redelivered"]) == (200, 0)
    assert states_of(api, hook["id"]) == ["ABANDONED", "ABANDONED"]


def test_a_bodiless_resumption_with_an_idempotency_key_is_answered_and_replayed(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    # The route took no body: a bare POST with a key was not checked for a media type, nor is it
    # now that a body may come.
    _, api = owner
    hook = suspended_with_two_abandoned(api, other_api, db)
    keyed = {"Idempotency-Key": "resume-after-the-outage"}

    first = api.post(f"/v1/webhooks/{hook['id']}/resumption", headers=keyed)
    again = api.post(f"/v1/webhooks/{hook['id']}/resumption", headers=keyed)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == first.get_json()
    assert first.get_json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"redeliver_abandoned": "yes"}', "application/json", 400),
        (b'{"redeliver_abandoned": true, "all": true}', "application/json", 400),
        (b"[true]", "application/json", 400),
        (b"redeliver_abandoned=true", "application/x-www-form-urlencoded", 415),
    ],
)
def test_a_resumption_s_body_that_is_not_one_is_refused_and_nothing_is_redelivered(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    client: FlaskClient,
    db: Connection,
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    _, api = owner
    hook = suspended_with_two_abandoned(api, other_api, db)

    refused = client.post(
        f"/v1/webhooks/{hook['id']}/resumption",
        data=body,
        headers=api.headers({"Content-Type": content_type}),
    )

    assert refused.status_code == status
    assert refused.mimetype == "application/problem+json"
    assert listed(api, hook["id"])["status"] == "SUSPENDED"
    assert states_of(api, hook["id"]) == ["ABANDONED", "ABANDONED"]


def test_a_delivery_about_to_start_waits_for_a_suspension_under_way_and_sends_nothing(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
) -> None:
    # The suspension takes the webhook's sends' lock exclusively, as a deactivation does.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    first, second = webhooks.claim_due(db, 20, 120)
    webhooks.failed(db, first.id, 503, "HTTP 503", 30)
    make_failing_since(db, 121)
    sent: Sent = []

    second_waits_for_first(
        settings,
        lambda conn: webhooks.suspend(conn, UUID(hook["id"]), 120, "every attempt failed"),
        lambda conn: delivery._deliver(conn, second, recording(sent)),
    )

    assert sent == []
    assert states_of(api, hook["id"]) == ["ABANDONED", "ABANDONED"]
    assert listed(api, hook["id"])["suspended_reason"] == "every attempt failed"


# What the statements that name one webhook's undelivered deliveries take, as (name, type, value).
ONE_WEBHOOK_S_UNDELIVERED = {
    "drop_undelivered": (("webhook_id", "uuid", None),),
    "hold_webhook": (
        ("webhook_id", "uuid", None), ("tried", "uuid", NEWEST), ("seconds", "integer", 21600),
    ),
    "abandon": (("webhook_id", "uuid", None), ("hours", "integer", 72)),
}  # fmt: skip


@pytest.mark.parametrize("name", ONE_WEBHOOK_S_UNDELIVERED)
def test_a_webhook_s_undelivered_deliveries_are_read_from_an_index_of_them_alone(
    db: Connection, name: str
) -> None:
    # drop_undelivered and hold_webhook ANDed a bitmap of every webhook's undelivered rows (the
    # due index) with one of every row of the webhook: among 400,000 deliveries on PostgreSQL
    # 15, 40,033 + 10,000 index entries read for a webhook's 1,000 undelivered.
    rare = forty_webhooks_deliveries(db)
    query, types, values = webhooks.SQL[name], [], []
    for number, (parameter, kind, value) in enumerate(ONE_WEBHOOK_S_UNDELIVERED[name], start=1):
        query = query.replace(f"%({parameter})s", f"${number}")
        types.append(kind)
        values.append(rare if value is None else value)
    db.execute(f"PREPARE one_webhook ({', '.join(types)}) AS {query}")
    arguments = sql.SQL(", ").join(map(sql.Literal, values))
    with db.transaction():
        explained = db.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE one_webhook ({})").format(arguments)
        ).fetchone()
    assert explained is not None
    scans = json.dumps(explained["QUERY PLAN"])

    assert '"Index Name": "webhook_deliveries_undelivered"' in scans, scans
    assert '"webhook_deliveries_due"' not in scans, scans
    assert '"webhook_deliveries_pkey"' not in scans, scans
    assert '"Node Type": "Seq Scan"' not in scans, scans


def test_a_deactivation_drops_the_webhook_s_abandoned_deliveries_with_the_pending_ones(
    owner: tuple[AgencyRef, ContractClient], other_api: ContractClient, db: Connection
) -> None:
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    kept = api.created("/v1/webhooks", {"url": HOOK_URL + "/other"})
    traced(other_api)
    assert webhooks.abandon(db, UUID(hook["id"]), None) == 1
    assert webhooks.abandon(db, UUID(kept["id"]), None) == 1
    traced(other_api)
    assert states_of(api, hook["id"]) == ["PENDING", "ABANDONED"]

    assert api.request("DELETE", f"/v1/webhooks/{hook['id']}").status_code == 204

    left = db.execute(
        "SELECT webhook_id FROM webhook_deliveries WHERE delivered_at IS NULL"
    ).fetchall()
    assert sorted(str(row["webhook_id"]) for row in left) == [kept["id"], kept["id"]]


def test_a_webhook_s_abandoned_deliveries_are_dropped_by_an_index_led_by_the_webhook(
    db: Connection,
) -> None:
    # deactivation's other half: the abandoned rows, not every row of the webhook. In the
    # abandoned rows' index, ordered by abandoned_at for the purge, the webhook's rows were
    # found by reading every webhook's (90,000 entries for 4,500 on PostgreSQL 15: migration 0013)
    rare = forty_webhooks_deliveries(db)
    db.execute("UPDATE webhook_deliveries SET abandoned_at = now() WHERE delivered_at IS NULL")
    db.execute("ANALYZE webhook_deliveries")
    query = webhooks.SQL["drop_abandoned"].replace("%(webhook_id)s", "$1")
    db.execute(f"PREPARE drop_abandoned (uuid) AS {query}")
    with db.transaction():
        explained = db.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE drop_abandoned ({})").format(sql.Literal(rare))
        ).fetchone()
    assert explained is not None
    scans = json.dumps(explained["QUERY PLAN"])
    read = re.findall(r'"Index Name": "(\w+)"', scans)
    leading = db.execute(
        "SELECT i.indexrelid::regclass::text AS name, a.attname AS first_column,"
        "       pg_get_expr(i.indpred, i.indrelid) AS rows_held"
        " FROM pg_index i JOIN pg_attribute a"
        "   ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indexrelid::regclass::text = ANY (%s)",
        [read],
    ).fetchall()

    assert [(row["first_column"], row["rows_held"]) for row in leading] == [
        ("webhook_id", "((delivered_at IS NULL) AND (abandoned_at IS NOT NULL))")
    ], scans
    assert '"Node Type": "Seq Scan"' not in scans, scans


@pytest.mark.parametrize("name", ["hold_webhook", "abandon"])
def test_after_a_resumption_a_failure_reads_none_of_the_webhook_s_abandoned_deliveries(
    db: Connection, name: str
) -> None:
    # A resumed webhook keeps its abandoned rows until the retention: in the undelivered rows'
    # index, hold_webhook and abandon read each of them, at each failure, and filtered it out.
    rare = forty_webhooks_deliveries(db)
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute(
            "INSERT INTO webhook_deliveries (notification_id, webhook_id, abandoned_at)"
            " SELECT gen_random_uuid(), %s, now() - interval '1 day'"
            " FROM generate_series(1, 2000)",
            [rare],
        )
    db.execute("ANALYZE webhook_deliveries")
    query, types, values = webhooks.SQL[name], [], []
    for number, (parameter, kind, value) in enumerate(ONE_WEBHOOK_S_UNDELIVERED[name], start=1):
        query = query.replace(f"%({parameter})s", f"${number}")
        types.append(kind)
        values.append(rare if value is None else value)
    db.execute(f"PREPARE after_resumption ({', '.join(types)}) AS {query}")
    arguments = sql.SQL(", ").join(map(sql.Literal, values))
    with db.transaction(force_rollback=True):
        explained = db.execute(
            sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE after_resumption ({})").format(
                arguments
            )
        ).fetchone()
    assert explained is not None
    scans = json.dumps(explained["QUERY PLAN"])

    assert '"Index Name": "webhook_deliveries_undelivered"' in scans, scans
    # rows read and passed over: the abandoned ones, if the index held them
    passed_over = sum(map(int, re.findall(r'"Rows Removed by Filter": (\d+)', scans)))
    assert passed_over < 2000, scans


def test_two_workers_failing_on_one_webhook_at_once_do_not_wait_for_each_other(
    owner: tuple[AgencyRef, ContractClient],
    other_api: ContractClient,
    settings: Settings,
    db: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Overdue deliveries given up inside the outcome's transaction: worker A, holding its
    # webhook's health row, came to lock worker B's delivery, while B, holding that delivery,
    # waited for the health row: a deadlock, and one of the two outcomes lost.
    _, api = owner
    hook = api.created("/v1/webhooks", {"url": HOOK_URL})
    traced(other_api, times=2)
    first, second = webhooks.claim_due(db, 20, 120)
    db.execute("UPDATE webhook_deliveries SET first_failed_at = now() - interval '73 hours'")
    a_giving_up, b_waited = threading.Event(), threading.Event()
    really_abandon = webhooks.abandon

    def abandon(conn: Connection, webhook_id: UUID, hours: int | None) -> int:
        if not a_giving_up.is_set():  # worker A's, once its outcome is recorded
            a_giving_up.set()
            assert b_waited.wait(10)
        return really_abandon(conn, webhook_id, hours)

    monkeypatch.setattr(webhooks, "abandon", abandon)
    errors: list[BaseException] = []

    def work(conn: Connection, claimed: webhooks.Claimed) -> None:
        try:
            delivery._deliver(conn, claimed, failing(), STEADY)
        except BaseException as error:  # the deadlock, raised in a thread
            errors.append(error)

    with connect(settings) as a, connect(settings) as b, connect(settings) as watcher:
        worker_a = threading.Thread(target=work, args=(a, first))
        worker_a.start()
        assert a_giving_up.wait(10)
        worker_b = threading.Thread(target=work, args=(b, second))
        worker_b.start()
        deadline = time.monotonic() + 5
        while worker_b.is_alive() and time.monotonic() < deadline:
            blocked = watcher.execute(
                "SELECT %s = ANY (pg_blocking_pids(%s)) AS yes",
                [a.info.backend_pid, b.info.backend_pid],
            ).fetchone()
            if blocked is not None and blocked["yes"]:
                break  # B waits for A: A's giving up now meets B's delivery
            time.sleep(0.02)
        b_waited.set()
        worker_a.join(15)
        worker_b.join(15)

    assert errors == []
    assert states_of(api, hook["id"]) == ["ABANDONED", "ABANDONED"]
    assert listed(api, hook["id"])["consecutive_failures"] == 2
