"""Every error is a problem document: bodies, media types, sizes, methods, the database."""

from __future__ import annotations

import gzip
import io
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.api import context, requests
from service.config import Settings
from service.db import Connection, connect
from service.domain import api_keys
from service.domain.records import AgencyRef
from service.errors import DatabaseUnavailable
from tests.api.test_traces import CONTEXT
from tests.conftest import app_on, create_agency_key, rows_in
from tests.contract import ContractClient

PARTY = {"name": "Arsenal", "kind": "MANUFACTURER", "country": "BE"}


def test_a_body_that_is_not_json_is_415(api: ContractClient) -> None:
    response = api.post("/v1/parties", data="name=Arsenal", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


def test_a_body_without_a_content_type_is_415(api: ContractClient) -> None:
    response = api.post("/v1/parties", data=b'{"name": "x"}')

    assert response.status_code == 415


@pytest.mark.parametrize(
    "charset",
    ["utf-8", "UTF-8", "utf8", '"utf-8"', "us-ascii", "US-ASCII", "ascii", '"US-ASCII"'],
)
def test_json_said_to_be_utf_8_or_us_ascii_is_read_as_utf_8(
    api: ContractClient, db: Connection, charset: str
) -> None:
    # ASCII is UTF-8's first 128 characters, but a body said to be ASCII was refused (415).
    headers = {"Content-Type": f"application/json; charset={charset}"}

    ascii_only = api.post("/v1/parties", data=orjson.dumps(PARTY), headers=headers)
    # Bytes above 0x7F, which are not ASCII, are read as UTF-8, as in any other body.
    beyond = api.post("/v1/parties", data=orjson.dumps({**PARTY, "name": "Armée"}), headers=headers)

    assert ascii_only.status_code == beyond.status_code == 201, beyond.get_data(as_text=True)
    assert beyond.get_json()["name"] == "Armée"
    assert rows_in(db, "parties") == 2


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "windows-1252", "utf-16"])
def test_json_in_another_charset_is_415_and_stores_nothing(
    api: ContractClient, db: Connection, charset: str
) -> None:
    # It was read as UTF-8 whatever the charset said: Latin-1's "Armée" was refused as broken
    # JSON, or, had the bytes happened to be UTF-8, stored as other text than was sent.
    body = '{"name": "Armée", "kind": "ARMED_FORCES", "country": "FR"}'.encode(charset)

    response = api.post(
        "/v1/parties", data=body, headers={"Content-Type": f"application/json; charset={charset}"}
    )

    assert response.status_code == 415
    problem = response.get_json()
    assert problem["code"] == "unsupported_media_type"
    assert "UTF-8" in problem["detail"]
    assert rows_in(db, "parties") == 0


def test_a_trace_in_another_charset_is_415(api: ContractClient, db: Connection) -> None:
    body = {"weapon": {"serial_number": "1502-001"}, "context": CONTEXT}

    response = api.post(
        "/v1/traces",
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json; charset=latin-1"},
    )

    assert response.status_code == 415
    assert rows_in(db, "traces") == 0


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(orjson.dumps(PARTY))),
        ("GZip", gzip.compress(orjson.dumps(PARTY))),
        ("br", orjson.dumps(PARTY)),  # what the body is does not matter: it is not read
        ("deflate", orjson.dumps(PARTY)),
        ("identity, gzip", gzip.compress(orjson.dumps(PARTY))),
    ],
    ids=["gzip", "GZip", "br", "deflate", "identity, gzip"],
)
def test_a_compressed_json_body_is_415_and_stores_nothing(
    api: ContractClient, db: Connection, encoding: str, body: bytes
) -> None:
    # Content-Encoding was ignored: a gzipped body was refused as broken JSON (400), and a plain
    # one said to be brotli was stored.
    response = api.post(
        "/v1/parties",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )

    assert response.status_code == 415
    problem = response.get_json()
    assert problem["code"] == "unsupported_media_type"
    assert "uncompressed" in problem["detail"]
    assert rows_in(db, "parties") == 0


@pytest.mark.parametrize("encoding", ["identity", "Identity", ""])
def test_a_json_body_said_to_be_as_sent_is_taken(
    api: ContractClient, db: Connection, encoding: str
) -> None:
    response = api.post(
        "/v1/parties",
        data=orjson.dumps(PARTY),
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("content_type", [None, "application/json"])
@pytest.mark.parametrize("idempotency_key", [None, "bare-1"])
def test_no_body_where_one_is_required_is_400_saying_so(
    client: FlaskClient,
    db: Connection,
    content_type: str | None,
    idempotency_key: str | None,
) -> None:
    # Sent bare, a key's revocation (whose fields are all optional) was 415, "not a body
    # without a type"; with the JSON type, 400, "the body is not valid JSON".
    _, key = create_agency_key(db, "Registry Operations", ("registry:admin", "registry:write"))
    admin = ContractClient(client, key)
    headers = {"Content-Type": content_type} if content_type else {}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key

    for path in (f"/v1/admin/keys/{api_keys.prefix_of(key)}/revocation", "/v1/parties"):
        response = admin.post(path, data=b"", headers=headers)

        assert response.status_code == 400, path
        assert response.get_json()["errors"] == [
            {"location": "body", "pointer": "", "detail": requests.NO_BODY}
        ]
        assert "`{}` will do" in response.get_json()["detail"]


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"party"', b"null", b"\xff\xfe"])
def test_malformed_or_non_object_json_is_400(api: ContractClient, body: bytes) -> None:
    response = api.post("/v1/parties", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == ""


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"\xff", "the body is not UTF-8 text (byte 0xFF, the body's byte 1): send it in UTF-8"),
        (b'{"name": "Arm\xe9e"}',
         "the body is not UTF-8 text (byte 0xE9, the body's byte 14): send it in UTF-8"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_utf_8_names_the_byte_and_where(
    api: ContractClient, body: bytes, detail: str
) -> None:
    # Found in the messages review: orjson's words, "str is not valid UTF-8: surrogates not
    # allowed: line 1 column 1", named neither, wherever the byte was.
    response = api.post("/v1/parties", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.get_json()["detail"] == detail


def test_a_body_that_gives_a_field_twice_is_400_naming_it_and_stores_nothing(
    api: ContractClient, db: Connection
) -> None:
    # The JSON parser kept the last without a word (the party was stored as "Armée"), as an
    # import's line once did.
    body = (
        b'{"name": "Arsenal", "kind": "MANUFACTURER", "name": "Arm\xc3\xa9e", "country": "BE",'
        b' "address": {"street": 1, "street": 2}}'
    )

    response = api.post("/v1/parties", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert [e["pointer"] for e in errors] == ["/name", "/address/street"]
    assert "more than once" in errors[0]["detail"]
    assert rows_in(db, "parties") == 0


@pytest.mark.parametrize(
    ("character", "kind"),
    [("\x01", "a control character"), ("\x85", "a control character"),
     ("\ufffe", "a noncharacter"), ("\ufdd0", "a noncharacter"),
     ("\U0010ffff", "a noncharacter")],
)  # fmt: skip
def test_a_control_character_or_noncharacter_is_refused_naming_it(
    api: ContractClient, db: Connection, character: str, kind: str
) -> None:
    # Noncharacters were taken in a trace's case reference, a caliber, a registration number.
    weapon = {"serial_number": "TAU-889911", "caliber": f"7.62{character}"}
    party = {**PARTY, "name": f"Arsenal {character}", "registration_number": f"HRB{character}1"}

    traced = api.post("/v1/traces", json={"weapon": weapon, "context": CONTEXT})
    recorded = api.post("/v1/parties", json=party)

    for response, pointers in (
        (traced, ["/weapon/caliber"]),
        (recorded, ["/name", "/registration_number"]),
    ):
        assert response.status_code == 400, response.get_data(as_text=True)
        errors = response.get_json()["errors"]
        assert [e["pointer"] for e in errors] == pointers
        assert errors[0]["detail"] == f"must not contain U+{ord(character):04X}, {kind}"
    assert rows_in(db, "traces") == rows_in(db, "parties") == 0


# Other spellings of a UUID that Python's UUID reads: an id so written in a path was a 404, and
# in a body or a query it was taken.
OTHER_SPELLINGS = {
    "braces": "{{{}}}",
    "urn": "urn:uuid:{}",
    "no hyphens": "{}",
}


def _spelt(spelling: str, record_id: str) -> str:
    if spelling == "no hyphens":
        return record_id.replace("-", "")
    return OTHER_SPELLINGS[spelling].format(record_id)


@pytest.mark.parametrize("spelling", OTHER_SPELLINGS)
def test_an_id_in_a_body_is_written_as_the_contract_s_uuid(
    api: ContractClient, registry: Any, db: Connection, spelling: str
) -> None:
    maker, item = registry.party(), registry.item()
    manufacture = {"event_type": "MANUFACTURE", "occurred_on": "2010-01-05", "country": "BE"}

    response = api.post(
        "/v1/events",
        {**manufacture, "to_party_id": _spelt(spelling, maker["id"]), "item_ids": [item["id"]]},
    )

    assert response.status_code == 400
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/to_party_id"]
    assert rows_in(db, "custody_events") == 0


@pytest.mark.parametrize("spelling", OTHER_SPELLINGS)
def test_an_id_in_a_query_is_written_as_the_contract_s_uuid(
    api: ContractClient, spelling: str
) -> None:
    batch_id = "01a20319-0000-7000-8000-000000000000"

    response = api.get("/v1/traces", query={"batch_id": _spelt(spelling, batch_id)})

    assert response.status_code == 400
    assert [e["parameter"] for e in response.get_json()["errors"]] == ["batch_id"]
    assert api.get("/v1/traces", query={"batch_id": batch_id.upper()}).status_code == 200


def test_a_query_parameter_a_route_does_not_take_is_400_naming_it_and_stores_nothing(
    api: ContractClient, db: Connection
) -> None:
    # A POST ignored its query string: `?dry_run=true` stored the party.
    def unknown(response: Any) -> list[tuple[str, str, str]]:
        assert response.status_code == 400, response.get_data(as_text=True)
        errors = response.get_json()["errors"]
        return [(e["location"], e["parameter"], e["detail"]) for e in errors]

    named = unknown(api.post("/v1/parties", PARTY, query={"dry_run": "true"}))
    party = api.created("/v1/parties", PARTY)
    hook = api.created("/v1/webhooks", {"url": "https://hooks.example.org/x"})

    assert named == [("query", "dry_run", "Unknown field.")]
    assert rows_in(db, "parties") == 1
    assert named == unknown(api.get("/v1/items", query={"dry_run": "true"}))  # as a list's
    assert unknown(api.get(f"/v1/parties/{party['id']}", query={"fields": "name"})) == [
        ("query", "fields", "Unknown field.")
    ]
    assert unknown(api.request("DELETE", f"/v1/webhooks/{hook['id']}?force=1")) == [
        ("query", "force", "Unknown field.")
    ]
    assert api.get(f"/v1/parties/{party['id']}?").status_code == 200  # an empty one is none


def test_an_oversized_body_is_413_and_stores_nothing(api: ContractClient, db: object) -> None:
    huge = b'{"name": "' + b"x" * 1_100_000 + b'", "kind": "MANUFACTURER", "country": "BE"}'
    response = api.post("/v1/parties", data=huge, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.get_json()["code"] == "body_too_large"


def test_an_oversized_body_is_told_the_limit_and_its_setting(api: ContractClient) -> None:
    # Found in the messages review: Werkzeug's "The data value transmitted exceeds the capacity
    # limit." named neither. A batch of 1,000 weapons within the contract can pass 1 MiB: long
    # markings, and ten import markings of 200 characters each.
    weapon = {
        "serial_number": "S" * 60,
        "manufacturer": "M" * 200,
        "model": "m" * 100,
        "caliber": "c" * 50,
        "import_markings": [{"country": "KE", "year": 2010, "marking": "K" * 200}] * 10,
    }
    batch = orjson.dumps({"context": CONTEXT, "weapons": [weapon] * 1_000})
    huge = b'{"name": "' + b"x" * 1_100_000 + b'", "kind": "MANUFACTURER", "country": "BE"}'

    party = api.post("/v1/parties", data=huge, headers={"Content-Type": "application/json"})
    batched = api.post("/v1/traces/batch", data=batch, headers={"Content-Type": "application/json"})

    limit = ("the body is larger than the 1,048,576 bytes (1 MiB) this service takes in a "
             "request (its setting TRACE_REGISTRY_MAX_REQUEST_BYTES)")  # fmt: skip
    assert len(batch) > 2_500_000
    assert (party.status_code, batched.status_code) == (413, 413)
    assert party.get_json()["detail"] == limit
    assert batched.get_json()["detail"] == (
        f"{limit}: send the weapons in smaller batches, under the one context"
    )


def test_an_oversized_chunked_body_is_413_too(
    client: FlaskClient, agency_key: tuple[AgencyRef, str], db: Connection
) -> None:
    # Without a length the body was read up to the limit and no further, without an error, and
    # what came was refused as broken JSON (400).
    huge = b'{"name": "' + b"x" * 1_100_000 + b'", "kind": "MANUFACTURER", "country": "BE"}'
    response = client.post(
        "/v1/parties",
        input_stream=io.BytesIO(huge),
        headers={
            "Authorization": f"Bearer {agency_key[1]}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        # as gunicorn says of a chunked body it reads
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert response.get_json()["code"] == "body_too_large"
    assert rows_in(db, "parties") == 0


@pytest.mark.parametrize("path", ["/v1/weapons", "/v1/imports/not-a-uuid"])
def test_an_unknown_route_is_a_problem(api: ContractClient, path: str) -> None:
    response = api.client.get(path, headers=api.headers())

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    # Werkzeug's "If you entered the URL manually please check your spelling" (found in the
    # import review) was written for a browser's user
    assert response.get_json()["detail"].startswith("no such path: check it against openapi")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1//parties/01a24a0e-5022-7570-87d4-a35210a1c465"),
     ("POST", "/v1//parties"),
     ("POST", "/v1/admin/keys/abc//revocation")],
)  # fmt: skip
def test_a_path_with_a_doubled_slash_is_a_404_problem_not_a_redirect(
    api: ContractClient, db: Connection, method: str, path: str
) -> None:
    # Werkzeug merged the slashes and answered 308 with an HTML page pointing at the merged
    # path (a client that follows it sends its POST body again to a URL it never wrote).
    response = api.client.open(path, method=method, headers=api.headers(), json=PARTY)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "not_found"
    assert "Location" not in response.headers
    assert rows_in(db, "parties") == 0


def test_a_wrong_method_is_405_with_allow(api: ContractClient) -> None:
    response = api.client.delete("/v1/parties", headers=api.headers())

    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/v1/parties", "OPTIONS, POST"),
     ("/v1/parties/01a24a0e-5022-7570-87d4-a35210a1c465", "GET, HEAD, OPTIONS"),
     ("/v1/webhooks", "GET, HEAD, OPTIONS, POST"),
     ("/healthz", "GET, HEAD, OPTIONS")],
)  # fmt: skip
def test_options_answers_the_route_s_methods_and_no_body(
    client: FlaskClient, db: Connection, path: str, allowed: str
) -> None:
    # It was an empty 200 typed text/html: a JSON API's answer to OPTIONS is 204, its methods
    # in Allow, and nothing else. No key is needed (a browser's preflight carries none), and
    # nothing is read or audited.
    response = client.options(path)

    assert response.status_code == 204
    assert response.headers["Allow"] == allowed
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert rows_in(db, "audit_log") == 0


@pytest.mark.parametrize("path", ["/v1/weapons", "/v1/parties/not-a-uuid", "/"])
def test_options_on_no_route_is_a_404_problem(client: FlaskClient, path: str) -> None:
    response = client.options(path)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "not_found"


def test_a_wrong_method_s_allow_names_options_too(client: FlaskClient) -> None:
    response = client.put("/v1/parties")

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.headers["Allow"] == "OPTIONS, POST"


@pytest.fixture
def unreachable_app() -> Iterator[Flask]:
    """The app pointed at a port where no PostgreSQL listens."""
    app = create_app(
        {
            "database_url": "postgresql://nobody@127.0.0.1:9/none",
            "pool_timeout_seconds": 0.5,
            "connect_timeout_seconds": 1,
        }
    )
    yield app
    app.extensions["trace_registry"].database.close()


def test_an_unreachable_database_is_503_with_retry_after(unreachable_app: Flask) -> None:
    client = ContractClient(unreachable_app.test_client(), "trk_abcdefgh_secret")

    ready = client.get("/readyz")
    read = client.get("/v1/items/01a20319-0000-7000-8000-000000000000")
    write = client.post("/v1/parties", PARTY)

    for response in (ready, read, write):
        assert response.status_code == 503
        assert response.get_json()["code"] == "database_unavailable"
        assert response.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200


def test_a_connection_lost_mid_pipeline_is_503_and_replaced(
    app: Flask, agency_key: tuple[AgencyRef, str]
) -> None:
    # A connection the server dropped while a pipeline (a trace's candidates, a batch's
    # executemany) waited for results can be left in libpq's pipeline mode with a query in
    # flight: the request answered 503, then returning the connection to the pool committed
    # on it, which raised from the request's teardown and gunicorn answered 500 instead.
    @app.get("/dropped")
    def dropped() -> None:
        conn = context.connection()
        conn.pgconn.enter_pipeline_mode()
        conn.pgconn.send_query_params(b"SELECT 1", None)
        raise DatabaseUnavailable("the database is unreachable: cannot exit pipeline mode")

    client: FlaskClient = app.test_client()
    response = client.get("/dropped")

    assert response.status_code == 503
    assert response.get_json()["code"] == "database_unavailable"
    auth = {"Authorization": f"Bearer {agency_key[1]}"}
    after = client.get("/v1/items?serial_number=15023456", headers=auth)
    assert after.status_code == 200


@pytest.fixture
def impatient_app(database_url: str) -> Iterator[Flask]:
    """The app with a request deadline of 2 s (and a body's and a batch's a second before it)."""
    yield from app_on(database_url, batch_seconds=1, body_seconds=1, request_seconds=2)


def test_a_request_past_its_deadline_is_503_not_cut_off_by_gunicorn(
    impatient_app: Flask, settings: Settings, agency_key: tuple[AgencyRef, str]
) -> None:
    # Found in review: statements each under their own timeout (10 s) but slow one after the
    # other carried a request past gunicorn's 30 s, which killed the worker: a 500.
    client = ContractClient(impatient_app.test_client(), agency_key[1])
    rifle = client.created(
        "/v1/items",
        {
            "manufacturer": "FN Herstal",
            "model": "FAL",
            "category": "RIFLE",
            "serial_number": "OT-1",
        },
    )
    with connect(settings) as holder, holder.transaction():
        holder.execute("LOCK TABLE custody_events IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        late = client.get(f"/v1/items/{rifle['id']}/custody")
        took = time.monotonic() - started

    assert late.status_code == 503
    assert late.get_json()["detail"] == "the database took too long to answer"
    assert 1.9 < took < 5
    assert client.get(f"/v1/items/{rifle['id']}/custody").status_code == 200


def test_a_statement_sent_after_the_deadline_is_refused_at_once(impatient_app: Flask) -> None:
    # Found in review: a cancellation stops only a statement the server is running; one sent
    # after it, while the request worked in Python, ran on.
    @impatient_app.get("/slow-in-python")
    def slow_in_python() -> str:
        conn = context.connection()
        time.sleep(2.5)  # past the 2 s deadline, between statements
        conn.execute("SELECT pg_sleep(5)")
        return "never"

    started = time.monotonic()
    response = impatient_app.test_client().get("/slow-in-python")
    took = time.monotonic() - started

    assert response.status_code == 503
    assert response.get_json()["detail"] == "the database took too long to answer"
    assert took < 4.5


def test_a_bug_is_a_bare_500_problem_without_a_traceback(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    client: FlaskClient = app.test_client()
    response = client.get("/boom")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert "secret internals" not in text
    assert "Traceback" not in text
