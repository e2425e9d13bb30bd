"""Failed authentications per client: 429 past the client's rate, with a bounded number of audit
entries that count every refusal; X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from werkzeug.test import TestResponse

from service import auditing, create_app, worker
from service.config import Settings
from service.db import Connection, connect
from service.domain.clients import counters_of
from service.repository import clients as client_limits
from tests.conftest import create_agency_key, rows_in, second_waits_for_first, service_url_for
from tests.contract import ContractClient

# 1 a minute, 3 at once: within a test, only the burst is admitted until time is made to pass.
BURST = 3
FLOOD_LIMITS = {"auth_failures_per_minute": 1, "auth_failure_burst": BURST}
FLOODER = "198.51.100.7"
BAD_KEY = "trk_abcdefgh_" + "x" * 43
# Every way of failing: a missing header, another scheme, a malformed key, an unknown one.
BAD_AUTHORIZATIONS = [None, "Basic dXNlcjpwYXNz", "Bearer not-a-key", f"Bearer {BAD_KEY}"]


def limited_app(database_url: str, **settings: Any) -> Flask:
    return create_app(
        {"database_url": service_url_for(database_url), "pool_max_size": 2, **settings}
    )


@pytest.fixture
def workers(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two apps on one database, as two gunicorn workers or hosts."""
    apps = tuple(limited_app(database_url, **FLOOD_LIMITS) for _ in range(2))
    yield apps[0], apps[1]
    for application in apps:
        application.extensions["trace_registry"].database.close()


def from_address(
    app: Flask, address: str, key: str | None = None, forwarded_for: str | None = None
) -> ContractClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    api = ContractClient(client, key)
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return api


def attempt(api: ContractClient, authorization: str | None = f"Bearer {BAD_KEY}") -> TestResponse:
    headers = {} if authorization is None else {"Authorization": authorization}
    return api.get("/v1/items", headers=headers)


def entries_from(db: Connection, client: str) -> list[dict[str, Any]]:
    """The audit entries that name `client`, oldest first."""
    rows = db.execute(
        "SELECT status, key_prefix, details FROM audit_log"
        " WHERE details->>'client' = %s ORDER BY id",
        (client,),
    )
    return list(rows)


def let_a_spacing_pass(db: Connection, client: str) -> None:
    """As if a minute had passed since the client's rate was spent: it admits one failure
    more (its tally untouched)."""
    db.execute(
        "UPDATE rate_limits SET allowed_at = clock_timestamp() + make_interval(mins => %s)"
        " - interval '1 second' WHERE key_id = %s",
        (BURST - 1, counters_of(client).limiter),
    )


def test_a_flood_of_bad_keys_from_one_address_is_429_past_its_burst(
    workers: tuple[Flask, Flask], db: Connection
) -> None:
    flooder = [from_address(app, FLOODER) for app in workers]

    statuses = [attempt(flooder[n % 2], BAD_AUTHORIZATIONS[n % 4]).status_code for n in range(10)]
    refused = attempt(flooder[0])

    assert statuses == [401] * BURST + [429] * (10 - BURST)
    assert refused.get_json()["code"] == "rate_limited"
    assert "failed authentications" in refused.get_json()["detail"]
    # 1 a minute: the next failure is admitted in about a minute
    assert 50 <= int(refused.headers["Retry-After"]) <= 60
    # another address is judged on its own; a good key is served from anywhere
    assert attempt(from_address(workers[1], "198.51.100.8")).status_code == 401
    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    for app, address in ((workers[0], FLOODER), (workers[1], "203.0.113.1")):
        assert from_address(app, address, key).get("/v1/items").status_code == 200


def test_a_flood_adds_a_bounded_number_of_entries_that_count_every_refusal(
    workers: tuple[Flask, Flask], db: Connection
) -> None:
    flooder = from_address(workers[0], FLOODER)
    trail_before = rows_in(db, "audit_log")

    statuses = [attempt(flooder).status_code for _ in range(40)]

    assert statuses.count(429) == 40 - BURST
    entries = entries_from(db, FLOODER)
    assert [(e["status"], e["key_prefix"]) for e in entries] == [(401, "abcdefgh")] * BURST
    assert not any("refused_unrecorded" in e["details"] for e in entries)
    assert rows_in(db, "audit_log") - trail_before == BURST

    # Once the client's rate admits a failure again, its entry counts the refusals since the
    # last one, and takes them: the entry after names none.
    let_a_spacing_pass(db, FLOODER)
    assert attempt(flooder).status_code == 401
    let_a_spacing_pass(db, FLOODER)
    assert attempt(flooder, None).status_code == 401

    entries = entries_from(db, FLOODER)
    assert len(entries) == BURST + 2
    assert entries[-2]["details"]["refused_unrecorded"] == 40 - BURST
    assert (entries[-1]["status"], entries[-1]["key_prefix"]) == (401, None)
    assert "refused_unrecorded" not in entries[-1]["details"]
    assert rows_in(db, "audit_log") - trail_before == BURST + 2


def test_every_refusal_is_counted_once_across_workers(
    workers: tuple[Flask, Flask], db: Connection
) -> None:
    assert attempt(from_address(workers[0], FLOODER)).status_code == 401  # the counter exists
    statuses: list[int] = []

    def flood(app: Flask) -> None:
        flooder = from_address(app, FLOODER)
        statuses.extend(attempt(flooder).status_code for _ in range(15))

    threads = [threading.Thread(target=flood, args=(workers[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    let_a_spacing_pass(db, FLOODER)
    assert attempt(from_address(workers[1], FLOODER)).status_code == 401

    entries = entries_from(db, FLOODER)
    assert statuses.count(401) == BURST - 1
    assert len(entries) == BURST + 1
    # The flood's own 401s may be written after refusals sent beside them were counted, and
    # take those (their entries name them): each refusal is in one entry or another, once.
    # Read only off the last entry, this failed about once in ten runs.
    counts = [entry["details"].get("refused_unrecorded", 0) for entry in entries]
    assert counts[-1] > 0
    assert sum(counts) == statuses.count(429) == 60 - BURST + 1
    assert rows_in(db, "refused_authentications") == 0


def test_a_refusal_counted_while_an_entry_takes_the_tally_is_counted_once(
    workers: tuple[Flask, Flask], db: Connection, settings: Settings
) -> None:
    """The entry takes the tally in the statement that writes it, after whatever holds the
    tally's row: a refusal counted meanwhile is in that entry, and in no other."""
    flooder = from_address(workers[0], FLOODER)
    for _ in range(BURST + 2):
        attempt(flooder)
    let_a_spacing_pass(db, FLOODER)
    counters = counters_of(FLOODER)
    with connect(settings) as holder:
        with holder.transaction():
            holder.execute(
                "SELECT 1 FROM refused_authentications WHERE tally_id = %s FOR UPDATE",
                (counters.tally,),
            )
            waiting = threading.Thread(target=lambda: attempt(flooder))
            waiting.start()
            waiting.join(timeout=0.5)
            assert waiting.is_alive()  # the admitted failure's entry waits for the tally
            judged = client_limits.failed_authentication(holder, counters, FLOODER, 1, BURST)
            assert not judged.admitted  # another refusal, counted in the held tally
        waiting.join()
    let_a_spacing_pass(db, FLOODER)
    attempt(flooder)

    counts = [e["details"].get("refused_unrecorded") for e in entries_from(db, FLOODER)]
    assert counts == [None] * BURST + [3, None]


def test_a_good_keys_request_sends_no_statement_of_the_failure_limits(
    workers: tuple[Flask, Flask], db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure limits cost a good key nothing: its request runs the same statements from a
    flooding address as from a quiet one, and none of them is the limits'."""
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def recording(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    _, key = create_agency_key(db, "Border Police", ("trace:read",))
    served = from_address(workers[0], FLOODER, key)
    assert served.get("/v1/items").status_code == 200  # what a worker reads once, read
    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    assert served.get("/v1/items").status_code == 200
    before_the_flood = list(sent)
    for _ in range(BURST + 2):
        sent.clear()
        attempt(from_address(workers[0], FLOODER))
        assert client_limits.SQL["failed_authentication"] in sent
    sent.clear()
    assert served.get("/v1/items").status_code == 200

    assert sent == before_the_flood
    assert not any(query in sent for query in client_limits.SQL.values())


def test_x_forwarded_for_is_ignored_from_a_peer_not_trusted(
    workers: tuple[Flask, Flask], db: Connection
) -> None:
    # a new address in the header each time: the peer is the client all the same
    statuses = [
        attempt(from_address(workers[0], FLOODER, forwarded_for=f"192.0.2.{n}")).status_code
        for n in range(BURST + 1)
    ]

    assert statuses == [401] * BURST + [429]
    assert {e["details"]["client"] for e in entries_from(db, FLOODER)} == {FLOODER}
    assert entries_from(db, "192.0.2.0") == []


def test_behind_a_trusted_proxy_the_client_is_the_address_it_names(
    database_url: str, db: Connection
) -> None:
    app = limited_app(database_url, trusted_proxies="10.0.0.0/8", **FLOOD_LIMITS)
    try:
        proxy = "10.0.0.2"
        # what the client wrote itself comes before what the proxy appended: not believed
        flooder = from_address(app, proxy, forwarded_for=f"192.0.2.1, {FLOODER}")
        statuses = [attempt(flooder).status_code for _ in range(BURST + 1)]
        neighbour = from_address(app, proxy, forwarded_for="198.51.100.8")
        # a peer outside the trusted networks names itself, whatever its header says
        direct = from_address(app, "203.0.113.1", forwarded_for=FLOODER)

        assert statuses == [401] * BURST + [429]
        assert attempt(neighbour).status_code == 401
        assert attempt(direct).status_code == 401
        assert len(entries_from(db, FLOODER)) == BURST
        assert len(entries_from(db, "198.51.100.8")) == 1
        assert len(entries_from(db, "203.0.113.1")) == 1
        assert entries_from(db, proxy) == entries_from(db, "192.0.2.1") == []
    finally:
        app.extensions["trace_registry"].database.close()


def test_behind_a_proxy_that_appends_ports_each_client_is_counted_apart(
    database_url: str, db: Connection
) -> None:
    """Some proxies append the client's address with its port (`203.0.113.7:4711`, an IPv6 one
    in brackets). Read as no address, every client was counted against the proxy: one client's
    flood had every other client's failures refused, and the trail named the proxy for all."""
    app = limited_app(database_url, trusted_proxies="10.0.0.0/8", **FLOOD_LIMITS)
    try:
        proxy = "10.0.0.2"
        flooder = from_address(app, proxy, forwarded_for=f"{FLOODER}:50123")
        statuses = [attempt(flooder).status_code for _ in range(BURST + 1)]
        neighbour = from_address(app, proxy, forwarded_for="[2001:db8::7]:443")

        assert statuses == [401] * BURST + [429]
        assert attempt(neighbour).status_code == 401
        assert len(entries_from(db, FLOODER)) == BURST
        assert len(entries_from(db, "2001:db8::7")) == 1
        assert entries_from(db, proxy) == []
    finally:
        app.extensions["trace_registry"].database.close()


def test_the_worker_forgets_rates_that_ran_out_and_keeps_the_rest(
    workers: tuple[Flask, Flask], db: Connection, settings: Settings
) -> None:
    for address in (FLOODER, "198.51.100.8"):
        for _ in range(BURST + 2):
            attempt(from_address(workers[0], address))
    # the first address's rate ran out two hours ago; the second's still holds it back
    db.execute(
        "UPDATE rate_limits SET allowed_at = clock_timestamp() - interval '2 hours'"
        " WHERE key_id = %s",
        (counters_of(FLOODER).limiter,),
    )
    limiters = [counters_of(address).limiter for address in (FLOODER, "198.51.100.8")]

    worker.run(lambda: connect(settings), settings, interval=0, once=True)

    kept = db.execute("SELECT key_id FROM rate_limits WHERE key_id = ANY(%s)", (limiters,))
    assert [row["key_id"] for row in kept] == [limiters[1]]
    # the refusals not yet named in the trail are kept for the next entry to name
    assert rows_in(db, "refused_authentications") == 2
    # a spent rate forgotten admits as it did: the first address's next failure is a 401
    # with an entry of its own, which names the refusals before it
    assert attempt(from_address(workers[0], FLOODER)).status_code == 401
    assert entries_from(db, FLOODER)[-1]["details"]["refused_unrecorded"] == 2


def quiet_for(db: Connection, client: str, period: timedelta) -> None:
    """As if the client's last refusal had been `period` ago (its rate untouched)."""
    db.execute(
        "UPDATE refused_authentications SET last_refused_at = clock_timestamp() - %s"
        " WHERE tally_id = %s",
        (period, counters_of(client).tally),
    )


def tallies(db: Connection) -> dict[str, int]:
    rows = db.execute("SELECT client, refused FROM refused_authentications")
    return {row["client"]: row["refused"] for row in rows}


QUIET = client_limits.quiet_period(FLOOD_LIMITS["auth_failures_per_minute"], BURST)
LONG_QUIET = QUIET + timedelta(minutes=1)


def test_the_refusals_of_a_client_that_never_returns_are_named_by_the_worker(
    workers: tuple[Flask, Flask], db: Connection, database_url: str
) -> None:
    """A client refused and gone kept its tally for ever, and its refusals were never in the
    trail. Once quiet past its rate and the margin, the worker names the count in an entry of
    its own and deletes the tally, in one statement; a client still refusing keeps its tally."""
    for address, refusals in ((FLOODER, 4), ("198.51.100.8", 2)):
        for _ in range(BURST + refusals):
            attempt(from_address(workers[0], address))
    quiet_for(db, FLOODER, LONG_QUIET)
    quiet_for(db, "198.51.100.8", QUIET - timedelta(minutes=1))  # not yet quiet for long
    as_service = Settings(database_url=service_url_for(database_url), **FLOOD_LIMITS)

    worker.run(lambda: connect(as_service), as_service, interval=0, once=True)
    worker.run(lambda: connect(as_service), as_service, interval=0, once=True)

    assert tallies(db) == {"198.51.100.8": 2}
    entries = entries_from(db, FLOODER)
    assert [(e["status"], e["key_prefix"]) for e in entries] == [(401, "abcdefgh")] * BURST + [
        (429, None)
    ]
    named = entries[-1]["details"]
    assert named["refused_unrecorded"] == 4 and named["written_by"] == "worker"
    marked = db.execute(
        "SELECT method, route, agency_id FROM audit_log WHERE details->>'written_by' = 'worker'"
    ).fetchall()
    assert marked == [{"method": "WORKER", "route": "trace-registry worker", "agency_id": None}]
    assert auditing.verify(db).intact
    # the client, back after all, starts a tally of its own: nothing is named twice
    let_a_spacing_pass(db, FLOODER)
    assert attempt(from_address(workers[0], FLOODER)).status_code == 401
    assert "refused_unrecorded" not in entries_from(db, FLOODER)[-1]["details"]


def flood_and_fall_quiet(app: Flask, db: Connection, refusals: int) -> None:
    for _ in range(BURST + refusals):
        attempt(from_address(app, FLOODER))
    quiet_for(db, FLOODER, LONG_QUIET)


def refuse_once(conn: Connection) -> None:
    judged = client_limits.failed_authentication(conn, counters_of(FLOODER), FLOODER, 1, BURST)
    assert not judged.admitted


def record_quiet(conn: Connection) -> None:
    list(client_limits.record_quiet_tallies(conn, QUIET, batch=10))


def named_by_worker(db: Connection) -> list[int]:
    rows = db.execute(
        "SELECT details FROM audit_log WHERE method = 'WORKER' AND details->>'client' = %s",
        (FLOODER,),
    )
    return [row["details"]["refused_unrecorded"] for row in rows]


def test_a_refusal_counted_while_the_worker_takes_the_tally_goes_to_a_new_tally(
    workers: tuple[Flask, Flask], db: Connection, settings: Settings
) -> None:
    flood_and_fall_quiet(workers[0], db, refusals=3)

    second_waits_for_first(settings, record_quiet, refuse_once)

    assert named_by_worker(db) == [3]
    assert tallies(db) == {FLOODER: 1}  # counted once, and not yet named
    assert auditing.verify(db).intact


def test_a_tally_moved_by_a_refusal_while_the_worker_waits_for_it_is_kept_whole(
    workers: tuple[Flask, Flask], db: Connection, settings: Settings
) -> None:
    flood_and_fall_quiet(workers[0], db, refusals=3)

    second_waits_for_first(settings, refuse_once, record_quiet)

    assert named_by_worker(db) == []
    assert tallies(db) == {FLOODER: 4}  # no longer quiet: kept, for the client's next entry
