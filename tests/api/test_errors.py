"""Every error is a problem document: bodies, media types, sizes, methods, the database."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.db import Connection
from service.domain.records import AgencyRef
from tests.conftest import rows_in
from tests.contract import ContractClient

PARTY = {"name": "Arsenal", "kind": "MANUFACTURER", "country": "BE"}


def test_a_body_that_is_not_json_is_415(api: ContractClient) -> None:
    response = api.post("/v1/parties", data="name=Arsenal", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


def test_a_body_without_a_content_type_is_415(api: ContractClient) -> None:
    response = api.post("/v1/parties", data=b'{"name": "x"}')

    assert response.status_code == 415


def test_json_with_a_charset_is_accepted(api: ContractClient) -> None:
    response = api.post(
        "/v1/parties",
        data=b'{"name": "Arsenal", "kind": "MANUFACTURER", "country": "BE"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"party"', b"null", b"\xff\xfe"])
def test_malformed_or_non_object_json_is_400(api: ContractClient, body: bytes) -> None:
    response = api.post("/v1/parties", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == ""


def test_an_oversized_body_is_413_and_stores_nothing(api: ContractClient, db: object) -> None:
    huge = b'{"name": "' + b"x" * 1_100_000 + b'", "kind": "MANUFACTURER", "country": "BE"}'
    response = api.post("/v1/parties", data=huge, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.get_json()["code"] == "body_too_large"


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


def test_an_unknown_route_is_a_problem(api: ContractClient) -> None:
    response = api.client.get("/v1/weapons")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_wrong_method_is_405_with_allow(api: ContractClient) -> None:
    response = api.client.delete("/v1/parties", headers=api.headers())

    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


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
