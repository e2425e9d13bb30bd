"""Hit notifications, and their delivery to agencies' webhooks through the outbox."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import orjson
import pytest
from flask.testing import FlaskClient

from service import create_app, delivery
from service.db import Connection
from service.domain import webhooks as signing
from service.repository import webhooks
from tests.builders import RegistryBuilder
from tests.conftest import create_agency_key, service_url_for
from tests.contract import ContractClient
from tests.receivers import trickling

CONTEXT = {"case_reference": "BR-2025-031", "purpose": "tracing a seized pistol"}
# Development's reach: the receivers of these tests listen on 127.0.0.1.
ANYWHERE = delivery.sender(signing.Reach(anywhere=True), timeout=5.0)


@pytest.fixture
def recorded(registry: Any) -> dict[str, Any]:
    """A pistol the National Tracing Office recorded."""
    return registry.item(manufacturer="Taurus", model="PT92", category="PISTOL",
                         serial_number="TAU-889911")  # fmt: skip


@pytest.fixture
def admin_api(client: FlaskClient, db: Connection) -> ContractClient:
    """The National Tracing Office's key for its own configuration."""
    scopes = ("trace:read", "registry:write")
    return ContractClient(client, create_agency_key(db, "National Tracing Office", scopes)[1])


def the_pistol_traced_by_another(admin: ContractClient, other: ContractClient) -> Any:
    """The one notification the recording agency gets when another agency traces its pistol."""
    trace(other, "TAU-889911")
    (notification,) = admin.get("/v1/notifications").get_json()["items"]
    return notification


def trace(api: ContractClient, serial: str) -> dict[str, Any]:
    response = api.post("/v1/traces", {"weapon": {"serial_number": serial}, "context": CONTEXT})
    assert response.status_code == 201
    answer: dict[str, Any] = response.get_json()
    return answer


def test_another_agencys_hit_tells_the_recording_agency(
    api: ContractClient, other_api: ContractClient, recorded: dict[str, Any]
) -> None:
    answer = trace(other_api, "tau 889911")

    (notification,) = api.get("/v1/notifications").get_json()["items"]
    assert notification["kind"] == "TRACE_HIT"
    assert notification["item_id"] == recorded["id"]
    assert notification["trace_id"] == answer["id"]
    assert notification["by_agency"]["name"] == "Border Police Directorate"
    assert notification["case_reference"] == "BR-2025-031"
    assert (notification["match_basis"], notification["observed_serial"]) == (
        "NORMALISED",
        "tau 889911",
    )
    assert notification["acknowledged_at"] is None
    assert other_api.get("/v1/notifications").get_json()["items"] == []


def test_tracing_your_own_records_or_missing_them_tells_nobody(
    api: ContractClient, other_api: ContractClient, recorded: dict[str, Any]
) -> None:
    trace(api, "TAU-889911")
    trace(other_api, "TAU-889?11")  # a partial reading is not a hit

    assert api.get("/v1/notifications").get_json()["items"] == []


def test_reading_a_chain_is_a_lookup_the_recorder_is_told_of(
    api: ContractClient, other_api: ContractClient, recorded: dict[str, Any]
) -> None:
    other_api.get(f"/v1/items/{recorded['id']}/custody")

    (notification,) = api.get("/v1/notifications").get_json()["items"]
    assert (notification["kind"], notification["trace_id"]) == ("ITEM_LOOKUP", None)


def test_an_event_declared_erroneous_gives_its_recorder_no_interest_in_the_item(
    client: FlaskClient,
    db: Connection,
    api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
) -> None:
    # Any agency may record an event on any item. Were a bogus event, declared erroneous at once
    # so that no chain shows it, enough to be told of every later hit and lookup (with their
    # case references and purposes), any agency could listen in on any weapon's investigations.
    customs = ContractClient(
        client, create_agency_key(db, "Customs Intelligence", ("trace:read", "registry:write"))[1]
    )
    customs_builder = RegistryBuilder(customs)
    seller = customs_builder.party(name="Depot 7", kind="DEALER", country="BE")
    buyer = customs_builder.party(name="Depot 8", kind="DEALER", country="BE")
    standing = customs_builder.event(
        "TRANSFER", [recorded], from_party_id=seller["id"], to_party_id=buyer["id"]
    )
    bogus = customs_builder.event(
        "SEIZURE", [recorded], occurred_on="2011-06-01", to_party_id=buyer["id"]
    )
    declared = customs.post(
        f"/v1/events/{bogus['id']}/error-declaration",
        {"reason": "DID_NOT_OCCUR", "explanation": "recorded against the wrong item"},
    )
    assert declared.status_code == 201, declared.get_json()

    trace(other_api, "TAU-889911")
    other_api.get(f"/v1/items/{recorded['id']}/custody")

    # its standing transfer still gives it an interest: both told
    kinds = {n["kind"] for n in customs.get("/v1/notifications").get_json()["items"]}
    assert kinds == {"TRACE_HIT", "ITEM_LOOKUP"}

    # an agency whose only event on the item is declared erroneous is told nothing
    snoop = ContractClient(
        client, create_agency_key(db, "Curious Agency", ("trace:read", "registry:write"))[1]
    )
    snoop_builder = RegistryBuilder(snoop)
    officers = snoop_builder.party(name="Port Police", kind="LAW_ENFORCEMENT", country="BE")
    only = snoop_builder.event(
        "SEIZURE", [recorded], occurred_on="2012-01-01", to_party_id=officers["id"]
    )
    snoop.post(
        f"/v1/events/{only['id']}/error-declaration",
        {"reason": "DID_NOT_OCCUR", "explanation": "never happened"},
    )
    trace(other_api, "TAU-889911")
    other_api.get(f"/v1/items/{recorded['id']}/custody")
    assert snoop.get("/v1/notifications").get_json()["items"] == []
    assert standing["id"]


def test_acknowledging_is_once_and_filters_the_list(
    api: ContractClient, other_api: ContractClient, recorded: dict[str, Any]
) -> None:
    trace(other_api, "TAU-889911")
    trace(other_api, "TAU889911")
    first, second = api.get("/v1/notifications").get_json()["items"]

    acknowledged = api.post(f"/v1/notifications/{first['id']}/acknowledgement")
    again = api.post(f"/v1/notifications/{first['id']}/acknowledgement")
    theirs = other_api.post(f"/v1/notifications/{first['id']}/acknowledgement")

    assert acknowledged.status_code == 200
    assert acknowledged.get_json()["acknowledged_at"] is not None
    assert again.get_json() == acknowledged.get_json()
    assert theirs.status_code == 404
    unread = api.get("/v1/notifications?unacknowledged=true").get_json()["items"]
    assert [n["id"] for n in unread] == [second["id"]]


@pytest.mark.parametrize("spelt", ["1", "yes", "on", "TRUE", "ture", ""])
def test_the_unacknowledged_filter_is_true_or_false_as_the_contract_spells_it(
    api: ContractClient, spelt: str
) -> None:
    response = api.get(f"/v1/notifications?unacknowledged={spelt}")

    assert response.status_code == 400  # "1", "yes", "on" and "TRUE" were taken as true
    assert [(e["location"], e["parameter"]) for e in response.get_json()["errors"]] == [
        ("query", "unacknowledged")
    ]
    assert api.get("/v1/notifications?unacknowledged=false").status_code == 200


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that records what it gets and answers with the next queued status."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    statuses: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.statuses.pop(0) if self.statuses else 204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    Receiver.received, Receiver.statuses = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/trace", Receiver
    server.shutdown()
    server.server_close()


def test_a_notification_reaches_the_webhook_signed_and_retried_until_delivered(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    url, server = receiver
    registered = admin_api.created("/v1/webhooks", {"url": url})
    server.statuses = [500]  # the receiver is down the first time
    notification = the_pistol_traced_by_another(admin_api, other_api)

    first = delivery.deliver_due(db, ANYWHERE)
    (state,) = webhooks.delivery_state(db, notification["id"])
    second = delivery.deliver_due(db, ANYWHERE)  # not due yet: backing off

    assert (first.claimed, first.delivered, second.claimed) == (1, 0, 0)
    assert (state["attempts"], state["last_status"], state["delivered_at"]) == (1, 500, None)
    db.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")  # time passes
    third = delivery.deliver_due(db, ANYWHERE)
    (state,) = webhooks.delivery_state(db, notification["id"])
    assert (third.delivered, state["attempts"], state["delivered_at"] is not None) == (1, 2, True)

    (headers_1, body_1), (headers_2, body_2) = server.received
    assert body_1 == body_2
    assert headers_1[signing.DELIVERY_HEADER] == headers_2[signing.DELIVERY_HEADER]
    assert signing.signature_matches(
        registered["secret"], headers_2[signing.SIGNATURE_HEADER], body_2
    )
    assert not signing.signature_matches(
        "another-secret" * 3, headers_2[signing.SIGNATURE_HEADER], body_2
    )
    assert b'"observed_serial":"TAU-889911"' in body_2


def test_a_deactivated_webhook_gets_nothing(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    url, server = receiver
    registered = admin_api.created("/v1/webhooks", {"url": url})
    assert admin_api.request("DELETE", f"/v1/webhooks/{registered['id']}").status_code == 204
    trace(other_api, "TAU-889911")

    assert delivery.deliver_due(db, ANYWHERE).claimed == 0
    assert server.received == []
    listed = admin_api.get("/v1/webhooks").get_json()["items"]
    assert listed[0]["deactivated_at"] is not None and "secret" not in listed[0]


def test_a_production_worker_delivers_only_where_its_reach_allows(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    # A receiver on this machine, by address and by name (localhost resolves to it): a
    # production worker, which reaches public addresses only, connects to neither.
    url, server = receiver
    by_name = url.replace("127.0.0.1", "localhost")
    admin_api.created("/v1/webhooks", {"url": url})  # development registers both
    admin_api.created("/v1/webhooks", {"url": by_name})
    notification = the_pistol_traced_by_another(admin_api, other_api)
    ports = frozenset({urlsplit(url).port or 0})  # the receiver's port is allowed: not the issue

    public_only = delivery.sender(signing.Reach(anywhere=False, ports=ports), timeout=5.0)
    refused = delivery.deliver_due(db, public_only)
    states = webhooks.delivery_state(db, notification["id"])

    assert (refused.claimed, refused.delivered, server.received) == (2, 0, [])
    errors = set()
    for state in states:
        assert (state["attempts"], state["last_status"], state["delivered_at"]) == (1, None, None)
        errors.add(state["last_error"])
    # Where the name led is the worker's to know (its log's), not the agency's.
    assert errors == {
        "127.0.0.1 does not resolve to an address deliveries may reach",
        "localhost does not resolve to an address deliveries may reach",
    }

    # The deployment names the receivers' network: both are delivered, by address and by name.
    db.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")
    own_network = signing.Reach(
        anywhere=False, networks=signing.parse_networks("127.0.0.0/8"), ports=ports
    )
    delivered = delivery.deliver_due(db, delivery.sender(own_network, timeout=5.0))

    assert delivered.delivered == 2
    assert len(server.received) == 2


@pytest.fixture
def babbler() -> Iterator[str]:
    """A receiver that answers what is not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"HELLO THERE\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    listener.close()


def test_one_receiver_s_failure_of_any_kind_does_not_stop_the_others(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    babbler: str,
    db: Connection,
) -> None:
    # A receiver answering garbage, and a URL stored before today's checks that cannot be
    # sent: each is a failed attempt of its own delivery. Either stopped the whole round (an
    # exception out of the sender), and the round after it, for every agency's deliveries.
    url, server = receiver
    admin_api.created("/v1/webhooks", {"url": babbler})
    unsendable = admin_api.created("/v1/webhooks", {"url": "https://example.org/unsendable"})
    db.execute(
        "UPDATE agency_webhooks SET url = 'https://exa\u200bmple.org/x' WHERE id = %(id)s",
        {"id": unsendable["id"]},
    )
    admin_api.created("/v1/webhooks", {"url": url})
    notification = the_pistol_traced_by_another(admin_api, other_api)

    done = delivery.deliver_due(db, ANYWHERE)

    assert (done.claimed, done.delivered, len(server.received)) == (3, 1, 1)
    errors = sorted(
        str(state["last_error"])
        for state in webhooks.delivery_state(db, notification["id"])
        if state["delivered_at"] is None
    )
    # Neither the babbler's words nor Python's: what the agency may read.
    assert errors == [
        "127.0.0.1 did not answer in HTTP",
        "the webhook's URL cannot be sent as stored: register it again",
    ]


def closed_port_url() -> str:
    """A URL on this machine where nothing listens: its deliveries get no answer at all."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def deliveries_to(db: Connection, webhook_id: str) -> list[dict[str, Any]]:
    return list(
        db.execute(
            "SELECT attempts, last_error, next_attempt_at > clock_timestamp() AS waiting "
            "FROM webhook_deliveries WHERE webhook_id = %(id)s ORDER BY attempts DESC",
            {"id": webhook_id},
        )
    )


def test_a_webhook_that_does_not_answer_costs_the_round_one_delivery(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    # Each delivery to a dead receiver takes the whole of its time (10 s): a round of them
    # held every other agency's deliveries, and the queued imports, for minutes.
    url, server = receiver
    dead = admin_api.created("/v1/webhooks", {"url": closed_port_url()})
    admin_api.created("/v1/webhooks", {"url": url})
    for _ in range(3):
        trace(other_api, "TAU-889911")

    done = delivery.deliver_due(db, ANYWHERE)

    assert (done.claimed, done.delivered, len(server.received)) == (6, 3, 3)
    tried, *handed_back = deliveries_to(db, dead["id"])
    assert (tried["attempts"], tried["waiting"]) == (1, True)
    assert tried["last_error"]
    assert [(d["attempts"], d["last_error"], d["waiting"]) for d in handed_back] == [
        (0, None, True),
        (0, None, True),
    ]
    # Due again with the failed one, and then each is tried again.
    db.execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE delivered_at IS NULL")
    again = delivery.deliver_due(db, ANYWHERE)
    assert (again.claimed, again.delivered) == (3, 0)
    assert sorted(d["attempts"] for d in deliveries_to(db, dead["id"])) == [0, 0, 2]


def test_no_delivery_starts_once_half_the_lease_is_gone(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    # A delivery sent after its lease ran out may be claimed and sent by another worker too.
    url, _ = receiver
    hook = admin_api.created("/v1/webhooks", {"url": url})
    for _ in range(4):
        trace(other_api, "TAU-889911")
    sent: list[str] = []

    def slow(target: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        sent.append(headers[signing.DELIVERY_HEADER])
        time.sleep(0.6)
        return 204, ""

    done = delivery.deliver_due(db, slow, lease_seconds=2)  # no delivery starts after 1 s

    assert (done.claimed, done.delivered, len(sent)) == (4, 2, 2)
    unsent = [d for d in deliveries_to(db, hook["id"]) if d["attempts"] == 0]
    assert [(d["last_error"], d["waiting"]) for d in unsent] == [(None, False), (None, False)]
    assert delivery.deliver_due(db, ANYWHERE).delivered == 2  # due at once, in the next round


@pytest.fixture
def trickler() -> Iterator[str]:
    """A receiver that answers one byte of a header every 0.2 s, forever."""
    with trickling() as port:
        yield f"http://127.0.0.1:{port}/hook"


def test_a_receiver_that_never_finishes_is_cut_off(trickler: str) -> None:
    # Each read gets a byte within the socket's timeout; only the cut of the whole exchange
    # ends it.
    send = delivery.sender(signing.Reach(anywhere=True), timeout=1.0)
    started = time.monotonic()

    status, error = send(trickler, b"{}", {})

    assert status is None and error
    assert time.monotonic() - started < 5


def test_a_delivery_tries_three_of_a_name_s_addresses_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A name may resolve to many addresses that do not answer: each would take its timeout.
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: each connection is refused
    tried: list[object] = []
    connect = socket.socket.connect

    def counted(self: socket.socket, address: Any) -> None:
        tried.append(address)
        connect(self, address)

    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))] * 5
    monkeypatch.setattr(delivery.socket, "getaddrinfo", lambda *args: addresses)
    monkeypatch.setattr(delivery.socket.socket, "connect", counted)

    status, error = ANYWHERE(f"http://many.example:{port}/hook", b"{}", {})

    assert status is None and "refused" in error.lower()
    assert len(tried) == delivery.ADDRESSES_TRIED


def test_a_delivery_s_time_counts_from_before_it_connects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolve = socket.getaddrinfo

    def slow(*args: Any) -> Any:
        time.sleep(1.2)  # a slow resolver: the exchange's second is gone
        return resolve(*args)

    monkeypatch.setattr(delivery.socket, "getaddrinfo", slow)
    send = delivery.sender(signing.Reach(anywhere=True), timeout=1.0)

    status, error = send("http://127.0.0.1:9/hook", b"{}", {})

    assert status is None
    assert error in (
        "127.0.0.1 was not resolved within 1 s",
        "127.0.0.1 did not answer within 1 s",
        "no complete answer within 1 s",
    )


@pytest.fixture
def hanging_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """getaddrinfo that answers only once the event is set (a DNS server that never answers,
    as far as a delivery can wait); set at the end, so that no lookup outlives the test."""
    answer = threading.Event()

    def hanging(host: str, *args: Any) -> Any:
        answer.wait(30)
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name")

    monkeypatch.setattr(delivery.socket, "getaddrinfo", hanging)
    yield answer
    answer.set()


def test_a_name_that_is_not_resolved_in_time_fails_its_delivery_only(
    hanging_resolver: threading.Event,
) -> None:
    # The system resolver's own timeouts add up to half a minute, and the webhook's owner
    # chooses the DNS server: each delivery would hold the worker that long.
    send = delivery.sender(signing.Reach(anywhere=True), timeout=1.0)
    started = time.monotonic()

    status, error = send("http://slow-dns.example/hook", b"{}", {})

    assert status is None
    # the lookup's wait and the exchange's cut end at the same moment: either may say so
    assert error in (
        "slow-dns.example was not resolved within 1 s",
        "no complete answer within 1 s",
    )
    assert time.monotonic() - started < 3


def test_a_lookup_that_gets_no_thread_fails_its_delivery_and_keeps_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery, "_lookups", threading.BoundedSemaphore(1))
    start = threading.Thread.start

    def no_thread(self: threading.Thread) -> None:
        if self.name.startswith("lookup of"):  # the lookup's, not the exchange's timer
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    send = delivery.sender(signing.Reach(anywhere=True), timeout=1.0)

    status, error = send("http://127.0.0.1:9/hook", b"{}", {})  # a failed delivery, not a crash

    assert (status, error) == (
        None,
        "127.0.0.1 was not looked up: the worker could not start a lookup",
    )
    monkeypatch.setattr(threading.Thread, "start", start)
    assert delivery._lookups.acquire(blocking=False)  # its place was given back


def test_lookups_left_running_are_bounded(
    hanging_resolver: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "_lookups", threading.BoundedSemaphore(2))
    send = delivery.sender(signing.Reach(anywhere=True), timeout=0.2)
    for _ in range(2):  # two lookups given up on, still running
        assert send("http://slow-dns.example/hook", b"{}", {})[0] is None
    started = time.monotonic()

    status, error = send("http://slow-dns.example/hook", b"{}", {})

    assert status is None
    assert error == "slow-dns.example was not looked up: too many slow name lookups are running"
    assert time.monotonic() - started < 0.1
    hanging_resolver.set()  # the resolver answers them at last: lookups may start again
    time.sleep(0.1)
    assert send("http://slow-dns.example/hook", b"{}", {})[1] == (
        "slow-dns.example does not resolve to an address deliveries may reach"
    )


@pytest.fixture
def production_admin_api(database_url: str, db: Connection) -> Iterator[ContractClient]:
    """The National Tracing Office's write key on a service in production mode."""
    application = create_app(
        {
            "database_url": service_url_for(database_url),
            "database_owner_url": database_url,
            "environment": "production",
            "secret_key": "production-test-secret-" + "k" * 32,
            "webhook_networks": "10.20.0.0/16",
            "webhook_ports": "443, 8443",
        }
    )
    scopes = ("trace:read", "registry:write")
    yield ContractClient(
        application.test_client(), create_agency_key(db, "National Tracing Office", scopes)[1]
    )
    application.extensions["trace_registry"].database.close()


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://[::ffff:192.168.0.10]/hook",
        "https://10.21.0.5/hook",
        "http://receiver.example.org/hook",  # production delivers over HTTPS only
    ],
)
def test_production_refuses_a_webhook_that_leads_inside(
    production_admin_api: ContractClient, url: str
) -> None:
    response = production_admin_api.post("/v1/webhooks", {"url": url})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "/url"


@pytest.mark.parametrize(
    "url", ["https://receiver.example.org/hook", "https://10.20.3.4:8443/hook"]
)
def test_production_registers_a_public_or_named_network_webhook(
    production_admin_api: ContractClient, url: str
) -> None:
    assert production_admin_api.post("/v1/webhooks", {"url": url}).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/x",
        "https://user:pw@example.org/x",
        "https:///nohost",
        "hooks",
        "https://exa mple.org/x",
        "https://example.org:99999/x",
        "https://example.org:0/x",
        "https://[::1/x",
        "https://[abc]/x",
        # could never be sent: the request line and the Host header are ASCII
        "https://exa\u200bmple.org/x",
        "https://example.org/h\u00e9",
        "https://example.org/x\x7f",
        "https://b\u00fccher.example/x",
        # not host names
        "https://" + "a" * 64 + ".org/x",
        "https://a..b/x",
        "https://xn--/x",
        "https://-receiver.example.org/x",
        "https://under_score.example.org/x",
        "https://127.1/x",
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://0x7f.1/x",
    ],
)
def test_a_webhook_url_must_be_usable(admin_api: ContractClient, url: str) -> None:
    response = admin_api.post("/v1/webhooks", {"url": url})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "/url"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://h.example/%ZZ", "%ZZ"),
        ("https://h.example/a%2", "%2"),
        ("https://h.example/x?q=100%", "%"),
        ("https://h.example/x#%g1", "%g1"),
        ("https://xn--zz-ooo.com/", "xn--zz-ooo"),  # punycode for an unassigned code point
        ("https://XN--ZZ-OOO.com/", "xn--zz-ooo"),
        ("https://hooks.xn--a.example/", "xn--a"),  # no punycode at all
    ],
)
def test_a_webhook_url_that_could_only_fail_at_delivery_is_refused(
    admin_api: ContractClient, db: Connection, url: str, named: str
) -> None:
    response = admin_api.post("/v1/webhooks", {"url": url})

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    error = response.get_json()["errors"][0]
    assert error["pointer"] == "/url"
    assert named in error["detail"]
    assert db.execute("SELECT count(*) AS n FROM agency_webhooks").fetchone() == {"n": 0}


@pytest.mark.parametrize(
    "url",
    [
        "https://xn--bcher-kva.example/hook",
        "https://XN--BCHER-KVA.example/hook",
        "https://h.example/a%2Fb?q=100%25#%c3%a9",
        "https://[fe80::1%25eth0]/hook",
    ],
)
def test_a_webhook_url_with_good_escapes_and_a_labels_is_registered(
    client: FlaskClient, db: Connection, url: str
) -> None:
    _, key = create_agency_key(db, "Receiver Agency", scopes=("registry:write",))
    response = ContractClient(client, key).post("/v1/webhooks", {"url": url})

    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_webhook_url_s_scheme_is_stored_in_lower_case(admin_api: ContractClient) -> None:
    # The database holds the scheme to lower case: an upper-case one the checks let through was
    # refused there with the whole row in the answer, the new signing secret too.
    response = admin_api.post("/v1/webhooks", {"url": "HTTPS://EXAMPLE.ORG/hook"})

    assert response.status_code == 201
    assert response.get_json()["url"] == "https://EXAMPLE.ORG/hook"


def test_registering_webhooks_needs_the_write_scope(client: FlaskClient, db: Connection) -> None:
    _, key = create_agency_key(db, "Observer Mission", scopes=("trace:read",))
    reader = ContractClient(client, key)

    assert reader.post("/v1/webhooks", {"url": "https://example.org/x"}).status_code == 403


def test_backoff_doubles_and_stops_growing_at_six_hours() -> None:
    waits = [signing.retry_in_seconds(attempt) for attempt in range(1, 14)]

    assert waits[:4] == [30, 60, 120, 240]
    assert waits[-1] == 6 * 3600
    assert waits == sorted(waits)


@pytest.mark.parametrize("attempts", [1, 2, 5, 13])
def test_the_back_off_s_jitter_takes_up_to_a_fifth_off_and_never_adds(attempts: int) -> None:
    # Webhooks failing together (a network down between the registry and many receivers) were
    # all tried again at the same moment, every time.
    wait = signing.retry_in_seconds(attempts)
    almost_one = 1 - 2**-53  # the largest draw random.random() gives

    assert signing.retry_in_seconds(attempts, 0.0) == wait
    assert signing.retry_in_seconds(attempts, 0.5) == int(wait * 0.9)
    assert signing.retry_in_seconds(attempts, almost_one) == int(wait * 0.8)
    assert int(wait * 0.8) < wait
    for draw in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="a draw is in"):
            signing.retry_in_seconds(attempts, draw)


def test_a_deactivated_webhook_s_undelivered_notifications_leave_the_outbox(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    # They were tried every 6 hours for ever: a deactivated webhook is never active again.
    url, server = receiver
    hook = admin_api.created("/v1/webhooks", {"url": url})
    server.statuses = [500]
    notification = the_pistol_traced_by_another(admin_api, other_api)
    assert delivery.deliver_due(db, ANYWHERE).delivered == 0  # pending, backing off

    assert admin_api.request("DELETE", f"/v1/webhooks/{hook['id']}").status_code == 204
    db.execute("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '7 hours'")

    assert delivery.deliver_due(db, ANYWHERE).claimed == 0
    assert webhooks.delivery_state(db, notification["id"]) == []
    assert len(server.received) == 1
    # The notification itself stays.
    assert admin_api.get("/v1/notifications").get_json()["items"][0]["id"] == notification["id"]


def test_a_delivery_claimed_before_its_webhook_was_deactivated_is_dropped_unsent(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    url, server = receiver
    hook = admin_api.created("/v1/webhooks", {"url": url})
    notification = the_pistol_traced_by_another(admin_api, other_api)
    (claimed,) = webhooks.claim_due(db, 20, 120)
    db.execute("UPDATE agency_webhooks SET deactivated_at = now() WHERE id = %s", [hook["id"]])

    assert delivery._deliver(db, claimed, ANYWHERE).delivered is False

    assert webhooks.delivery_state(db, notification["id"]) == []
    assert server.received == []


@contextlib.contextmanager
def answering(status: int | None) -> Iterator[str]:
    """A receiver's URL that always answers `status` (None: where nothing listens)."""
    if status is None:
        yield closed_port_url()
        return

    class Unavailable(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()
        server.server_close()


# The back-off without its jitter, for waits to be compared exactly.
STEADY = delivery.Policy(draw=lambda: 0.0)


def unanswered_rounds(db: Connection, webhook_id: str) -> list[int]:
    """Each round's due deliveries of the webhook, after 'time passes' up to the first due."""
    waits = []
    for _ in range(3):
        db.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = next_attempt_at - ("
            " SELECT min(next_attempt_at) - clock_timestamp() FROM webhook_deliveries"
            " WHERE webhook_id = %(id)s AND delivered_at IS NULL)"
            " WHERE delivered_at IS NULL",
            {"id": webhook_id},
        )
        delivery.deliver_due(db, ANYWHERE, policy=STEADY)
        row = db.execute(
            "SELECT round(extract(epoch FROM min(next_attempt_at) - clock_timestamp()))::int AS s"
            " FROM webhook_deliveries WHERE webhook_id = %(id)s",
            {"id": webhook_id},
        ).fetchone()
        assert row is not None
        waits.append(row["s"])
    return waits


@pytest.mark.parametrize("status", [None, 503, 429])
def test_an_unavailable_webhook_is_tried_once_per_back_off_whatever_its_backlog(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
    status: int | None,
) -> None:
    # Only the deliveries claimed in the round were handed back: the rest of a backlog stayed
    # due, filled the next rounds' claims ahead of every other agency's deliveries, and each
    # was tried in turn with its own first back-off (30 s), so a dead receiver was called
    # every round and its back-off never grew.
    url, server = receiver
    with answering(status) as unavailable_url:
        hook = admin_api.created("/v1/webhooks", {"url": unavailable_url})
        for _ in range(25):
            trace(other_api, "TAU-889911")
        customs = ContractClient(
            admin_api.client, create_agency_key(db, "Customs", ("registry:write",))[1]
        )
        customs.created("/v1/webhooks", {"url": url})
        customs.created(
            "/v1/items",
            {"manufacturer": "Glock", "model": "17", "category": "PISTOL", "serial_number": "G-1"},
        )
        trace(admin_api, "G-1")  # one delivery to another agency, due after the backlog

        first = delivery.deliver_due(db, ANYWHERE)
        second = delivery.deliver_due(db, ANYWHERE)

        assert first.claimed == 20
        assert (second.claimed, second.delivered) == (1, 1)  # the other agency's only
        assert len(server.received) == 1
        tried = db.execute(
            "SELECT sum(attempts) AS n FROM webhook_deliveries WHERE webhook_id = %s",
            [hook["id"]],
        ).fetchone()
        assert tried is not None and tried["n"] == 1
        assert unanswered_rounds(db, hook["id"]) == [60, 120, 240]


@pytest.mark.parametrize("told", ["trace", "lookup"])
def test_a_delivery_made_after_a_failure_waits_for_the_failed_one_s_retry(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    db: Connection,
    told: str,
) -> None:
    # hold_webhook held only the deliveries there were at the failure: one made after it was
    # due at once, so the receiver that had just failed was called again the next round.
    with answering(503) as unavailable_url:
        hook = admin_api.created("/v1/webhooks", {"url": unavailable_url})
        trace(other_api, "TAU-889911")
        assert delivery.deliver_due(db, ANYWHERE, policy=STEADY).claimed == 1
        if told == "trace":
            trace(other_api, "TAU-889911")
        else:
            other_api.get(f"/v1/items/{recorded['id']}/custody")

        assert delivery.deliver_due(db, ANYWHERE, policy=STEADY).claimed == 0
        due = db.execute(
            "SELECT attempts, next_attempt_at FROM webhook_deliveries WHERE webhook_id = %s"
            " ORDER BY id",
            [hook["id"]],
        ).fetchall()
        assert [row["attempts"] for row in due] == [1, 0]
        assert due[0]["next_attempt_at"] == due[1]["next_attempt_at"]
        assert unanswered_rounds(db, hook["id"]) == [60, 120, 240]
        tried = db.execute(
            "SELECT array_agg(attempts ORDER BY id) AS n FROM webhook_deliveries"
            " WHERE webhook_id = %s",
            [hook["id"]],
        ).fetchone()
        assert tried is not None and tried["n"] == [4, 0]


def test_a_receiver_refusing_one_delivery_does_not_hold_its_others(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    url, server = receiver
    admin_api.created("/v1/webhooks", {"url": url})
    server.statuses = [400]
    for _ in range(3):
        trace(other_api, "TAU-889911")

    done = delivery.deliver_due(db, ANYWHERE)

    assert (done.claimed, done.delivered, len(server.received)) == (3, 2, 3)


def test_a_failure_recorded_after_another_worker_delivered_changes_nothing(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    # A worker whose lease ran out (paused, slow) records its failure after another worker
    # claimed the delivery again and delivered it: the delivered row was marked failed.
    url, _ = receiver
    admin_api.created("/v1/webhooks", {"url": url})
    notification = the_pistol_traced_by_another(admin_api, other_api)
    (claimed,) = webhooks.claim_due(db, 20, 120)
    webhooks.delivered(db, claimed.id, 204)

    webhooks.failed(db, claimed.id, None, "timed out", 30)

    (state,) = webhooks.delivery_state(db, notification["id"])
    assert (state["attempts"], state["last_status"], state["last_error"]) == (1, 204, None)


def test_the_signature_covers_the_delivery_s_id(
    admin_api: ContractClient,
    other_api: ContractClient,
    recorded: dict[str, Any],
    receiver: tuple[str, type[Receiver]],
    db: Connection,
) -> None:
    # Receivers drop duplicates by the delivery's id, which was in a header alone: a captured
    # delivery sent again with another id passed both the signature and the duplicate check.
    url, server = receiver
    registered = admin_api.created("/v1/webhooks", {"url": url})
    notification = the_pistol_traced_by_another(admin_api, other_api)
    delivery.deliver_due(db, ANYWHERE)

    ((headers, body),) = server.received
    document = orjson.loads(body)
    assert document["delivery_id"] == headers[signing.DELIVERY_HEADER]
    assert document["notification"]["id"] == notification["id"]
    assert signing.signature_matches(registered["secret"], headers[signing.SIGNATURE_HEADER], body)


def test_the_reference_check_refuses_old_and_malformed_signatures() -> None:
    secret, body = "s" * 43, b'{"type": "notification"}'
    header = signing.signature(secret, 1_700_000_000, body)

    assert signing.signature_matches(secret, header, body, now=1_700_000_100)
    assert not signing.signature_matches(secret, header, body, now=1_700_000_000 + 301)
    assert not signing.signature_matches(secret, header, body, now=1_700_000_000 - 301)
    assert not signing.signature_matches(secret, header + "\u00e9", body, now=1_700_000_000)
    assert not signing.signature_matches(secret, "t=" + "9" * 4000 + ",v1=ab", body)
    assert not signing.signature_matches(secret, header, body + b" ", now=1_700_000_000)


def test_another_agency_cannot_see_or_deactivate_a_webhook(
    admin_api: ContractClient, other_api: ContractClient, db: Connection
) -> None:
    hook = admin_api.created("/v1/webhooks", {"url": "https://receiver.example.org/hook"})

    response = other_api.request("DELETE", f"/v1/webhooks/{hook['id']}")

    assert response.status_code == 404
    assert other_api.get("/v1/webhooks").get_json()["items"] == []
    (listed,) = admin_api.get("/v1/webhooks").get_json()["items"]
    assert listed["deactivated_at"] is None
