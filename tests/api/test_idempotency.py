"""Idempotency-Key on POST: a request sent again answers the same and stores nothing twice."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.api import uploads
from service.db import Connection
from service.repository import idempotency
from tests.conftest import create_agency_key, rows_in
from tests.contract import ContractClient

PARTY = {"name": "Arsenal Nord", "kind": "MANUFACTURER", "country": "BE"}
TRACE = {
    "weapon": {"serial_number": "FN-900001"},
    "context": {"case_reference": "BE-2025-17", "purpose": "criminal investigation"},
}


def send(api: ContractClient, path: str, body: Any, key: str) -> Any:
    return api.post(path, body, headers={"Idempotency-Key": key})


def test_the_same_request_sent_again_answers_the_same_and_stores_once(
    api: ContractClient, db: Connection
) -> None:
    first = send(api, "/v1/parties", PARTY, "5d1e4a0c-party-1")
    again = send(api, "/v1/parties", PARTY, "5d1e4a0c-party-1")

    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert rows_in(db, "parties") == 1


def test_the_same_key_with_another_body_is_refused_and_stores_nothing(
    api: ContractClient, db: Connection
) -> None:
    send(api, "/v1/parties", PARTY, "key-1")

    response = send(api, "/v1/parties", {**PARTY, "name": "Arsenal Sud"}, "key-1")

    assert response.status_code == 409
    assert response.get_json()["code"] == "idempotency_key_reused"
    assert "POST /v1/parties" in response.get_json()["detail"]
    assert rows_in(db, "parties") == 1


def test_the_same_key_on_another_route_is_refused(api: ContractClient, registry: Any) -> None:
    send(api, "/v1/parties", PARTY, "key-2")

    item = {"manufacturer": "FN", "model": "FAL", "category": "RIFLE", "serial_number": "1"}
    response = send(api, "/v1/items", item, "key-2")

    assert response.status_code == 409


def test_the_same_key_and_body_with_another_query_is_refused(
    api: ContractClient, db: Connection
) -> None:
    # The query says what the body is: a CSV of parties sent again as items was answered with
    # the parties' import (201, replayed), and the items were never imported.
    csv = b"ref,name,kind,country\nP-1,Arsenal Nord,MANUFACTURER,BE\n"
    headers = {"Idempotency-Key": "import-1", "Content-Type": "text/csv"}
    first = api.post("/v1/imports", data=csv, headers=headers, query={"record_type": "party"})
    again = api.post("/v1/imports", data=csv, headers=headers, query={"record_type": "party"})
    other = api.post("/v1/imports", data=csv, headers=headers, query={"record_type": "item"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert other.get_json()["code"] == "idempotency_key_reused"
    assert rows_in(db, "parties") == 1


def test_keys_belong_to_the_agency(
    api: ContractClient, other_api: ContractClient, db: Connection
) -> None:
    mine = send(api, "/v1/parties", PARTY, "shared-key")
    theirs = send(other_api, "/v1/parties", {**PARTY, "country": "FR"}, "shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert rows_in(db, "parties") == 2


def test_a_failed_request_leaves_the_key_free(api: ContractClient, db: Connection) -> None:
    refused = send(api, "/v1/parties", {**PARTY, "country": "ZZ"}, "key-3")
    corrected = send(api, "/v1/parties", PARTY, "key-3")

    assert refused.status_code == 400
    assert corrected.status_code == 201
    assert rows_in(db, "parties") == 1


PARTY_LINE = orjson.dumps({"record_type": "party", "ref": "P-1", **PARTY}) + b"\n"


@pytest.mark.parametrize(
    ("path", "body", "media_type", "refused"),
    [
        ("/v1/parties", orjson.dumps(PARTY), "application/json",
         {"Content-Type": "application/json; charset=latin-1"}),
        ("/v1/parties", orjson.dumps(PARTY), "application/json",
         {"Content-Type": "application/json", "Content-Encoding": "br"}),
        ("/v1/parties", orjson.dumps(PARTY), "application/json", {"Content-Type": "text/plain"}),
        ("/v1/parties", orjson.dumps(PARTY), "application/json", {}),
        ("/v1/imports", PARTY_LINE, "application/x-ndjson",
         {"Content-Type": "application/x-ndjson; charset=iso-8859-1"}),
        ("/v1/imports", PARTY_LINE, "application/x-ndjson",
         {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}),
    ],
    ids=["json-charset", "json-encoding", "json-media-type", "json-no-type", "import-charset",
         "import-encoding"],
)  # fmt: skip
def test_a_415_is_not_the_keys_answer_and_the_corrected_request_is_new(
    api: ContractClient,
    db: Connection,
    path: str,
    body: bytes,
    media_type: str,
    refused: dict[str, str],
) -> None:
    """The same bytes sent again with the same key and a Content-Type (or Content-Encoding)
    that is right: neither the 415 replayed nor refused as another request (409), though the
    fingerprint does not hold the charset or the coding, since the 415 was never kept: it is
    raised in the request's transaction, which rolls the key's claim back."""
    key = {"Idempotency-Key": "mislabelled"}

    first = api.post(path, data=body, headers={**refused, **key})
    kept_after_415 = rows_in(db, "idempotency_keys")
    corrected = api.post(path, data=body, headers={"Content-Type": media_type, **key})
    again = api.post(path, data=body, headers={"Content-Type": media_type, **key})

    assert first.status_code == 415
    assert kept_after_415 == 0
    assert corrected.status_code == 201, corrected.get_data(as_text=True)
    assert "Idempotent-Replayed" not in corrected.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == corrected.get_data()
    assert rows_in(db, "parties") == 1


@pytest.mark.parametrize(
    "refused",
    [{"Content-Type": "application/x-ndjson; charset=iso-8859-1"},
     {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
     {"Content-Type": "application/json"}],
    ids=["charset", "encoding", "media-type"],
)  # fmt: skip
def test_an_imports_media_type_is_checked_before_its_key_reads_the_body(
    api: ContractClient, monkeypatch: pytest.MonkeyPatch, refused: dict[str, str]
) -> None:
    """An import file can be 1 GiB: its key's fingerprint spooled it whole before the view
    refused it (415); and the same bytes under a key already answered were answered again
    (the import's 201 replayed) whatever their Content-Type said."""
    key = {"Idempotency-Key": "import-key"}
    answered = api.post(
        "/v1/imports", data=PARTY_LINE, headers={"Content-Type": "application/x-ndjson", **key}
    )

    def unread() -> None:
        raise AssertionError("the body of a request refused for its media type was read")

    monkeypatch.setattr(uploads, "spooled", unread)
    again = api.post("/v1/imports", data=PARTY_LINE, headers={**refused, **key})
    other_key = api.post(
        "/v1/imports", data=PARTY_LINE, headers={**refused, "Idempotency-Key": "another"}
    )

    assert answered.status_code == 201, answered.get_data(as_text=True)
    assert (again.status_code, other_key.status_code) == (415, 415)
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["title"] == "Send NDJSON or CSV"


@pytest.mark.parametrize(
    "refused",
    [{"Content-Type": "application/json; charset=latin-1"},
     {"Content-Type": "application/json", "Content-Encoding": "gzip"},
     {"Content-Type": "text/plain"},
     {}],
    ids=["charset", "encoding", "media-type", "no-type"],
)  # fmt: skip
@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/parties", PARTY), ("/v1/traces", TRACE), ("/v1/webhooks", {"url": "https://r.example"})],
    ids=["party", "trace", "webhook"],
)
def test_a_json_body_s_media_type_is_checked_before_its_key(
    api: ContractClient, db: Connection, path: str, body: Any, refused: dict[str, str]
) -> None:
    """As an import's: the same bytes under a key already answered, with a Content-Type or
    Content-Encoding the route refuses, were answered the first answer again (a charset, a
    coding: the fingerprint holds neither) or refused as another request (409: another media
    type), where the request itself is refused (415) whatever its key."""
    key = {"Idempotency-Key": "answered-key"}
    answered = api.post(path, body, headers=key)
    data = orjson.dumps(body)

    again = api.post(path, data=data, headers={**refused, **key})
    unused = api.post(path, data=data, headers={**refused, "Idempotency-Key": "unused-key"})

    assert answered.status_code == 201, answered.get_data(as_text=True)
    assert (again.status_code, unused.status_code) == (415, 415)
    assert again.get_json()["code"] == "unsupported_media_type"
    assert "Idempotent-Replayed" not in again.headers
    assert rows_in(db, "idempotency_keys") == 1


def test_a_post_without_a_body_takes_a_key_without_a_content_type(api: ContractClient) -> None:
    # An acknowledgement reads no body: its key is not held to a JSON body's media type.
    path = "/v1/notifications/01a24a0e-5022-7570-87d4-a35210a1c465/acknowledgement"
    response = api.post(path, headers={"Idempotency-Key": "ack-1"})

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_a_trace_sent_twice_is_one_trace(api: ContractClient, db: Connection) -> None:
    first = send(api, "/v1/traces", TRACE, "trace-key")
    again = send(api, "/v1/traces", TRACE, "trace-key")

    assert again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert rows_in(db, "traces") == 1


def test_a_batch_sent_twice_answers_the_same_bytes_made_again_from_its_traces(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    maker = registry.party(name="FN Herstal", kind="MANUFACTURER", country="BE")
    army = registry.party(name="Army", kind="ARMED_FORCES", country="BE")
    item = registry.item(serial_number="FN-900001")
    registry.event("MANUFACTURE", [item], occurred_on="2015-03-02", to_party_id=maker["id"])
    batch = {
        "context": TRACE["context"],
        "weapons": [{"serial_number": "FN-900001"}, {"serial_number": "FN90000?"}],
    }
    first = send(api, "/v1/traces/batch", batch, "batch-key")
    # a new event since: the replay is still the answer given that day, as stored
    registry.event(
        "TRANSFER", [item], occurred_on="2016-01-01", from_party_id=maker["id"],
        to_party_id=army["id"],
    )  # fmt: skip

    again = send(api, "/v1/traces/batch", batch, "batch-key")

    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert rows_in(db, "traces") == 2
    # the answer is not kept twice: the idempotency record names the batch
    kept = db.execute("SELECT body, batch_id FROM idempotency_keys").fetchone()
    assert bytes(kept["body"]) == b""
    assert str(kept["batch_id"]) == first.get_json()["batch_id"]
    changed = {**batch, "weapons": batch["weapons"][:1]}
    assert send(api, "/v1/traces/batch", changed, "batch-key").status_code == 409


def test_an_events_items_are_not_recorded_twice(
    api: ContractClient, registry: Any, db: Connection
) -> None:
    maker = registry.party()
    items = [registry.item() for _ in range(3)]
    event = {
        "event_type": "MANUFACTURE",
        "occurred_on": "2010-01-01",
        "country": "BE",
        "to_party_id": maker["id"],
        "item_ids": [item["id"] for item in items],
    }

    first = send(api, "/v1/events", event, "event-key")
    again = send(api, "/v1/events", event, "event-key")

    assert first.get_json() == again.get_json()
    assert rows_in(db, "custody_events") == 1
    assert rows_in(db, "custody_event_items") == 3


def test_a_new_keys_secret_is_not_kept_and_its_creation_not_replayed(
    client: FlaskClient, db: Connection
) -> None:
    agency, admin_key = create_agency_key(db, "Registry Operations", ("registry:admin",))
    admin = ContractClient(client, admin_key)
    body = {"agency_id": str(agency.id), "scopes": ["trace:read"]}

    first = send(admin, "/v1/admin/keys", body, "new-key-1")
    again = send(admin, "/v1/admin/keys", body, "new-key-1")

    assert first.status_code == 201
    assert again.status_code == 409
    assert first.get_json()["prefix"] in again.get_json()["detail"]
    assert rows_in(db, "api_keys") == 2  # the admin's own, and the one created
    stored = db.execute("SELECT body, withheld FROM idempotency_keys").fetchone()
    assert stored == {"body": b"", "withheld": True}


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_a_malformed_key_is_400(api: ContractClient, key: str) -> None:
    response = send(api, "/v1/parties", PARTY, key)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["parameter"] == "Idempotency-Key"


# Two Idempotency-Key headers reach the view as one value joined by a comma (RFC 9110 5.3): gunicorn
# hands on `abc,def`, Flask's test client `abc, def`. Neither may be taken as one key.
@pytest.mark.parametrize("joined", ["abc,def", "abc, def", "abc,"])
def test_two_keys_on_one_request_are_400_and_store_nothing(
    api: ContractClient, db: Connection, joined: str
) -> None:
    response = send(api, "/v1/parties", PARTY, joined)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    error = response.get_json()["errors"][0]
    assert error["parameter"] == "Idempotency-Key"
    assert "comma" in error["detail"]
    assert rows_in(db, "parties") == 0
    assert rows_in(db, "idempotency_keys") == 0


def test_an_answer_older_than_the_retention_is_forgotten(
    api: ContractClient, db: Connection
) -> None:
    send(api, "/v1/parties", PARTY, "old-key")
    db.execute("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'")

    reused = send(api, "/v1/parties", {**PARTY, "name": "Arsenal Sud"}, "old-key")

    assert reused.status_code == 201
    assert rows_in(db, "parties") == 2


def test_the_worker_purges_answers_past_their_retention(
    api: ContractClient, db: Connection
) -> None:
    send(api, "/v1/parties", PARTY, "purged")
    send(api, "/v1/parties", {**PARTY, "country": "FR"}, "kept")
    db.execute(
        "UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'"
        " WHERE key = 'purged'"
    )

    assert sum(idempotency.purge(db, 24, batch=100)) == 1
    remaining = [row["key"] for row in db.execute("SELECT key FROM idempotency_keys")]
    assert remaining == ["kept"]


def test_a_replay_is_audited_as_one(api: ContractClient, db: Connection) -> None:
    send(api, "/v1/parties", PARTY, "audited")
    send(api, "/v1/parties", PARTY, "audited")

    rows = db.execute(
        "SELECT status, details FROM audit_log WHERE route = '/v1/parties' ORDER BY recorded_at"
    ).fetchall()
    assert [row["status"] for row in rows] == [201, 201]
    assert "idempotent_replay" not in rows[0]["details"]
    assert rows[1]["details"]["idempotent_replay"] is True


def test_two_copies_sent_at_once_store_one_record(
    app: Flask, agency_key: Any, db: Connection
) -> None:
    key = agency_key[1]
    answers: list[tuple[int, bytes]] = []
    start = threading.Barrier(2)

    def post() -> None:
        start.wait()
        response = app.test_client().post(
            "/v1/parties",
            json=PARTY,
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "raced"},
        )
        answers.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [status for status, _ in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]
    assert rows_in(db, "parties") == 1
