"""Abuse resistance: per-key rate limits shared by every worker, constant-time key checks,
security headers, and CORS only where configured."""

from __future__ import annotations

import hmac
import io
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.api import idempotency
from service.api.headers import SECURITY_HEADERS
from service.config import Settings
from service.db import Connection, connect
from service.domain import api_keys
from service.repository import agencies
from tests.conftest import create_agency_key, rows_in, service_url_for
from tests.contract import ContractClient


def limited_app(database_url: str, **settings: Any) -> Flask:
    return create_app(
        {"database_url": service_url_for(database_url), "pool_max_size": 2, **settings}
    )


@pytest.fixture
def strict_apps(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two apps on one database, as two gunicorn workers or hosts: 60 a minute, bursts of 3."""
    apps = tuple(
        limited_app(database_url, rate_limit_per_minute=60, rate_limit_burst=3) for _ in range(2)
    )
    yield apps[0], apps[1]
    for application in apps:
        application.extensions["trace_registry"].database.close()


@pytest.fixture
def slow_apps(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two apps on one database: 6 a minute, bursts of 3. For tests that need a fourth request
    refused: at 60 a minute, a machine under load that took over a second for the first four
    let the rate admit the fourth, and such a test failed."""
    apps = tuple(
        limited_app(database_url, rate_limit_per_minute=6, rate_limit_burst=3) for _ in range(2)
    )
    yield apps[0], apps[1]
    for application in apps:
        application.extensions["trace_registry"].database.close()


def test_a_key_over_its_rate_gets_429_on_every_worker(
    slow_apps: tuple[Flask, Flask], db: Connection
) -> None:
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    first, second = (ContractClient(a.test_client(), key) for a in slow_apps)

    answers = [client.get("/v1/items").status_code for client in (first, second, first)]
    refused = second.get("/v1/items")

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "rate_limited"
    # 10 s apart, less the time the three admitted requests took
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert first.get("/v1/items").status_code == 429


def test_each_key_has_its_own_rate(slow_apps: tuple[Flask, Flask], db: Connection) -> None:
    _, busy = create_agency_key(db, "Border Police", ("trace:read",))
    _, quiet = create_agency_key(db, "Customs", ("trace:read",))
    client = slow_apps[0].test_client()
    for _ in range(3):
        ContractClient(client, busy).get("/v1/items")

    assert ContractClient(client, busy).get("/v1/items").status_code == 429
    assert ContractClient(client, quiet).get("/v1/items").status_code == 200


def test_a_key_may_carry_a_higher_rate(strict_apps: tuple[Flask, Flask], db: Connection) -> None:
    key = api_keys.generate_key()
    agency, _ = agencies.ensure_agency(db, "Bulk Tracing Desk")
    agencies.insert_api_key(
        db, agency.id, key.prefix, key.secret_hash, ("trace:read",), rate_limit_per_minute=1_000_000
    )
    client = ContractClient(strict_apps[0].test_client(), key.plaintext)

    # 60 µs apart at that rate: a request takes longer than that, so none is early
    statuses = [client.get("/v1/items").status_code for _ in range(6)]

    assert statuses == [200] * 6


def test_a_request_that_waited_for_the_counter_is_judged_when_it_gets_it(
    settings: Settings, db: Connection
) -> None:
    """The rate is judged by the time a request reaches the key's counter, not by when its
    statement began: on a busy machine a statement can start, lose its core for a few
    milliseconds and find that others have moved the counter on meanwhile (with the
    benchmark's fast key, such a request was refused once in about 10,000)."""
    key = api_keys.generate_key()
    agency, _ = agencies.ensure_agency(db, "Bulk Tracing Desk")
    # 1 ms apart, bursts of 3: a request may come at most 2 ms early
    agencies.insert_api_key(
        db, agency.id, key.prefix, key.secret_hash, ("trace:read",), rate_limit_per_minute=60_000
    )
    with connect(settings) as late, late.transaction():
        late.execute("SELECT 1")  # its transaction, so now(), starts here...
        time.sleep(0.05)
        on_time = agencies.authenticate(db, key.prefix, key.secret_hash, 6_000, 3)
        # ...and it asks 50 ms later, right after one other request: 2 requests in 50 ms
        waited = agencies.authenticate(late, key.prefix, key.secret_hash, 6_000, 3)

    assert on_time is not None and on_time.admitted
    assert waited is not None and waited.admitted


def test_refused_keys_do_not_spend_the_rate(
    strict_apps: tuple[Flask, Flask], db: Connection
) -> None:
    """Someone who knows a key's public prefix cannot exhaust its rate with wrong secrets."""
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    client = strict_apps[0].test_client()
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for _ in range(5):
        assert ContractClient(client, wrong).get("/v1/items").status_code == 401

    assert ContractClient(client, key).get("/v1/items").status_code == 200


def test_an_unknown_prefix_costs_the_same_comparison_as_a_wrong_secret(
    client: FlaskClient, agency_key: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[int] = []
    original = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        compared.append(len(b))
        return original(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", counting)
    _, key = agency_key
    prefix = key.split("_")[1]
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown_prefix = key.replace(prefix, "zzzzzzzz")

    for presented in (wrong_secret, unknown_prefix):
        assert ContractClient(client, presented).get("/v1/items").status_code == 401

    assert compared == [32, 32]


def test_security_headers_on_every_answer(api: ContractClient, client: FlaskClient) -> None:
    answers = [
        api.get("/v1/items"),
        api.get("/v1/items/not-a-uuid"),
        api.post("/v1/parties", {"unknown": 1}),
        client.get("/healthz"),
        client.get("/openapi.yaml"),
        client.get("/no-such-route"),
        client.delete("/v1/items"),  # 405
        client.options("/v1/items"),
    ]

    for response in answers:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.request.path, name)
        assert "Access-Control-Allow-Origin" not in response.headers
        # an unaudited answer had none (/healthz, /openapi.yaml, 404, 405, OPTIONS)
        assert UUID(response.headers["X-Request-Id"]).version == 7, response.request.path
    assert answers[-2].status_code == 405
    assert len({response.headers["X-Request-Id"] for response in answers}) == len(answers)


def test_cors_only_for_the_origins_configured(database_url: str, db: Connection) -> None:
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    application = limited_app(database_url, cors_origins="https://tracing.example.org")
    try:
        client = ContractClient(application.test_client(), key)
        allowed = client.get("/v1/items", headers={"Origin": "https://tracing.example.org"})
        other = client.get("/v1/items", headers={"Origin": "https://evil.example.com"})
        preflight = application.test_client().options(
            "/v1/items",
            headers={
                "Origin": "https://tracing.example.org",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
    finally:
        application.extensions["trace_registry"].database.close()

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://tracing.example.org"
    assert "X-Request-Id" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers
    assert preflight.status_code == 204  # a preflight takes any 2xx
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS, POST"


def seconds_ahead(db: Connection, key: str) -> float:
    """How far the key's counter is ahead of the clock: the rate it has spent and not yet
    earned back."""
    row = db.execute(
        "SELECT extract(epoch FROM r.allowed_at - clock_timestamp())::float AS ahead "
        "FROM rate_limits r JOIN api_keys k ON k.id = r.key_id WHERE k.prefix = %s",
        [api_keys.prefix_of(key)],
    ).fetchone()
    assert row is not None
    return float(row["ahead"])


BATCH_CONTEXT = {"case_reference": "CASE/RATE/1", "purpose": "criminal investigation"}


def test_a_batch_counts_each_weapon_against_the_rate(
    strict_apps: tuple[Flask, Flask], db: Connection
) -> None:
    """60 a minute in bursts of 3: a batch of 5 weapons is answered, and the key then waits as
    if it had sent 5 traces (before, a batch was one request: a thousand traces for one)."""
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    client = ContractClient(strict_apps[0].test_client(), key)
    weapons = [{"serial_number": f"RATE-{n}"} for n in range(5)]

    answered = client.post("/v1/traces/batch", {"context": BATCH_CONTEXT, "weapons": weapons})
    ahead = seconds_ahead(db, key)
    refused = client.get("/v1/items")

    assert answered.status_code == 201
    assert 4.0 < ahead <= 5.0  # 5 spacings of 1 s from a fresh key, less the time since
    assert refused.status_code == 429
    assert 2 <= int(refused.headers["Retry-After"]) <= 3  # 5 s ahead, 2 of them allowed early


def test_a_batch_replayed_or_refused_costs_one_request(
    strict_apps: tuple[Flask, Flask], db: Connection
) -> None:
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    client = ContractClient(strict_apps[0].test_client(), key)
    batch = {"context": BATCH_CONTEXT, "weapons": [{"serial_number": "RATE-1"}] * 2}
    headers = {"Idempotency-Key": "rate-batch"}

    assert client.post("/v1/traces/batch", batch, headers=headers).status_code == 201
    after_answer = seconds_ahead(db, key)
    replayed = client.post("/v1/traces/batch", batch, headers=headers)
    after_replay = seconds_ahead(db, key)

    assert 1.0 < after_answer <= 2.0
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert 0.5 < after_replay - after_answer <= 1.0
    too_many = {"context": BATCH_CONTEXT, "weapons": [{"serial_number": "RATE-1"}] * 1001}
    assert client.post("/v1/traces/batch", too_many).status_code == 429  # 3 s ahead: over
    db.execute("UPDATE rate_limits SET allowed_at = clock_timestamp()")
    assert client.post("/v1/traces/batch", too_many).status_code == 400
    assert 0.5 < seconds_ahead(db, key) <= 1.0


def test_a_request_that_waited_behind_a_batchs_charge_is_told_the_whole_wait(
    strict_apps: tuple[Flask, Flask], db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request of the key that arrives while a batch holds the key's counter (charged, not
    yet committed) waits, is refused, and is told when the key admits again counting the
    batch's charge (it was told 1 s: its statement read the counter as it stood before)."""
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    batch_app, other_app = strict_apps
    charged = threading.Event()
    release = threading.Event()
    replay_from_batch = idempotency.replay_from_batch

    def hold_after_the_charge(batch_id: Any) -> None:
        charged.set()
        release.wait(10)
        replay_from_batch(batch_id)

    monkeypatch.setattr(idempotency, "replay_from_batch", hold_after_the_charge)
    weapons = [{"serial_number": f"RATE-{n}"} for n in range(20)]
    answers: dict[str, Any] = {}

    def send_batch() -> None:
        client = ContractClient(batch_app.test_client(), key)
        answers["batch"] = client.post(
            "/v1/traces/batch", {"context": BATCH_CONTEXT, "weapons": weapons}
        )

    def send_other() -> None:
        answers["other"] = ContractClient(other_app.test_client(), key).get("/v1/items")

    batch = threading.Thread(target=send_batch)
    batch.start()
    assert charged.wait(10)
    other = threading.Thread(target=send_other)
    other.start()
    waiting = "SELECT count(*) AS n FROM pg_locks WHERE NOT granted"
    deadline = time.monotonic() + 10
    while db.execute(waiting).fetchone()["n"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    batch.join(10)
    other.join(10)

    assert answers["batch"].status_code == 201
    assert answers["other"].status_code == 429
    assert 16 <= int(answers["other"].headers["Retry-After"]) <= 18  # 20 s owed, 2 early


PROXY_SECRET = "proxy-" + "s" * 40


@pytest.mark.parametrize(
    ("trusted_proxies", "proxy_secret", "said", "spacings"),
    [
        ("", PROXY_SECRET, PROXY_SECRET, 2),
        ("10.0.0.0/8", PROXY_SECRET, PROXY_SECRET, 1),
        ("10.0.0.0/8", PROXY_SECRET, "counted", 2),
        ("10.0.0.0/8", PROXY_SECRET, PROXY_SECRET[:-1], 2),
        ("10.0.0.0/8", "", "", 2),
        ("10.0.0.0/8", "", "counted", 2),
    ],
    ids=[
        "direct",
        "via proxy with the secret",
        "via proxy without the secret",
        "via proxy with another secret",
        "no secret set, header empty",
        "no secret set",
    ],
)
def test_an_import_the_proxy_checked_is_counted_once_only_when_the_proxy_says_so(
    database_url: str,
    db: Connection,
    trusted_proxies: str,
    proxy_secret: str,
    said: str,
    spacings: int,
) -> None:
    # The proxy's check (GET /v1/imports) counts; the import it then sends on says so, with
    # the secret it shares with the API (TRACE_REGISTRY_PROXY_SECRET). A client that reaches the
    # API itself cannot say it: not from an untrusted address, and not from a trusted one (in
    # compose, the worker or any container on the network) without the secret.
    application = limited_app(
        database_url,
        rate_limit_per_minute=6,
        rate_limit_burst=3,
        trusted_proxies=trusted_proxies,
        proxy_secret=proxy_secret,
    )
    try:
        _, key = create_agency_key(db, "National Registry", ("registry:write",))
        peer = application.test_client()
        peer.environ_base["REMOTE_ADDR"] = "10.1.2.3"
        client = ContractClient(peer, key)
        party = b'{"record_type": "party", "ref": "p1", "name": "Arsenal", "kind": "MANUFACTURER", "country": "BE"}\n'  # noqa: E501

        checked = client.get("/v1/imports", query={"limit": "1"})
        imported = client.request(
            "POST",
            "/v1/imports",
            data=party,
            headers={"Content-Type": "application/x-ndjson", "X-Import-Key-Checked": said},
        )
        ahead = seconds_ahead(db, key)
    finally:
        application.extensions["trace_registry"].database.close()

    assert (checked.status_code, imported.status_code) == (200, 201)
    assert 10 * (spacings - 1) < ahead <= 10 * spacings  # spacings of 10 s from a fresh key


def _batch_of(size: int) -> bytes:
    """A batch of one weapon, padded with spaces (JSON takes them) to `size` bytes."""
    batch = orjson.dumps({"context": BATCH_CONTEXT, "weapons": [{"serial_number": "SIZE-1"}]})
    return batch + b" " * (size - len(batch))


@pytest.mark.parametrize("chunked", [False, True], ids=["with a length", "chunked"])
@pytest.mark.parametrize("idempotent", [False, True], ids=["", "with an idempotency key"])
@pytest.mark.parametrize(("over", "status"), [(0, 201), (1, 413)], ids=["at", "over"])
def test_a_body_at_the_limit_is_taken_and_one_over_refused_chunked_or_not(
    client: FlaskClient,
    agency_key: tuple[Any, str],
    db: Connection,
    chunked: bool,
    idempotent: bool,
    over: int,
    status: int,
) -> None:
    # A chunked body of exactly the limit (1 MiB) was 413, the same with a Content-Length 201:
    # Werkzeug reads a chunked body up to the limit, so one that filled it was taken as longer.
    body = _batch_of(client.application.config["MAX_CONTENT_LENGTH"] + over)
    headers = {"Authorization": f"Bearer {agency_key[1]}", "Content-Type": "application/json"}
    if idempotent:
        headers["Idempotency-Key"] = "batch-at-the-limit"
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(len(body))

    response = client.post(
        "/v1/traces/batch",
        input_stream=io.BytesIO(body),
        headers=headers,
        # as gunicorn says of a chunked body it reads
        environ_overrides={"wsgi.input_terminated": True} if chunked else {},
    )
    answer = response.get_data(as_text=True)
    response.close()  # the batch's answer is streamed from a spooled file

    assert response.status_code == status, answer
    assert rows_in(db, "traces") == (1 if status == 201 else 0)
