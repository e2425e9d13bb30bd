"""API keys: 401 for a missing or bad key, 403 for a missing scope, on every /v1 route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.db import Connection
from service.domain import api_keys
from service.repository import agencies
from tests.conftest import create_agency_key
from tests.contract import ContractClient

SOME_ID = "01a20319-0000-7000-8000-000000000000"
SOME_PREFIX = "abcdefgh"
# Every /v1 route with the scope it needs.
ROUTES = [
    ("GET", f"/v1/parties/{SOME_ID}", "trace:read"),
    ("GET", "/v1/items", "trace:read"),
    ("GET", f"/v1/items/{SOME_ID}", "trace:read"),
    ("GET", f"/v1/items/{SOME_ID}/custody", "trace:read"),
    ("GET", f"/v1/eucs/{SOME_ID}", "trace:read"),
    ("GET", f"/v1/events/{SOME_ID}", "trace:read"),
    ("GET", "/v1/traces", "trace:read"),
    ("GET", f"/v1/traces/{SOME_ID}", "trace:read"),
    ("POST", "/v1/traces", "trace:read"),
    ("POST", "/v1/traces/batch", "trace:read"),
    ("POST", "/v1/imports", "registry:write"),
    ("GET", "/v1/imports", "registry:write"),
    ("GET", f"/v1/imports/{SOME_ID}", "registry:write"),
    ("GET", "/v1/manufacturers", "trace:read"),
    ("GET", f"/v1/eucs/{SOME_ID}/usage", "trace:read"),
    ("GET", "/v1/eucs/verify", "trace:read"),
    ("POST", f"/v1/parties/{SOME_ID}/verifications", "registry:write"),
    ("POST", f"/v1/eucs/{SOME_ID}/revocation", "registry:write"),
    ("POST", f"/v1/eucs/{SOME_ID}/revocation/withdrawal", "registry:write"),
    ("POST", f"/v1/eucs/{SOME_ID}/consents/{SOME_ID}/withdrawal", "registry:write"),
    ("POST", f"/v1/eucs/{SOME_ID}/consents", "registry:write"),
    ("POST", f"/v1/eucs/{SOME_ID}/verifications", "registry:write"),
    ("GET", "/v1/notifications", "trace:read"),
    ("POST", f"/v1/notifications/{SOME_ID}/acknowledgement", "trace:read"),
    ("GET", "/v1/alerts", "trace:read"),
    ("POST", "/v1/webhooks", "registry:write"),
    ("GET", "/v1/webhooks", "registry:write"),
    ("DELETE", f"/v1/webhooks/{SOME_ID}", "registry:write"),
    ("POST", f"/v1/webhooks/{SOME_ID}/resumption", "registry:write"),
    ("GET", f"/v1/webhooks/{SOME_ID}/deliveries", "registry:write"),
    ("GET", "/v1/admin/agencies", "registry:admin"),
    ("POST", "/v1/admin/agencies", "registry:admin"),
    ("GET", f"/v1/admin/agencies/{SOME_ID}", "registry:admin"),
    ("PATCH", f"/v1/admin/agencies/{SOME_ID}", "registry:admin"),
    ("GET", "/v1/admin/keys", "registry:admin"),
    ("POST", "/v1/admin/keys", "registry:admin"),
    ("GET", f"/v1/admin/keys/{SOME_PREFIX}", "registry:admin"),
    ("POST", f"/v1/admin/keys/{SOME_PREFIX}/revocation", "registry:admin"),
    ("GET", "/v1/admin/audit", "registry:admin"),
    ("GET", "/v1/admin/audit/verify", "registry:admin"),
    ("POST", "/v1/parties", "registry:write"),
    ("POST", "/v1/items", "registry:write"),
    ("POST", "/v1/eucs", "registry:write"),
    ("POST", "/v1/events", "registry:write"),
    ("POST", f"/v1/events/{SOME_ID}/error-declaration", "registry:write"),
]
ALL_ROUTES = [(method, path) for method, path, _ in ROUTES]
WRITE_ROUTES = [(m, path) for m, path, scope in ROUTES if scope == "registry:write"]
READ_ROUTES = [(m, path) for m, path, scope in ROUTES if scope == "trace:read"]
ADMIN_ROUTES = [(m, path) for m, path, scope in ROUTES if scope == "registry:admin"]


def test_the_lists_above_cover_every_v1_route(app: Flask) -> None:
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1")
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    listed = {(method, _placeholders(path)) for method, path in ALL_ROUTES}
    normalised = {(method, _with_placeholder(rule)) for method, rule in routes}
    assert normalised == listed


def _with_placeholder(rule: str) -> str:
    import re

    return re.sub(r"<uuid:\w+>", "<uuid:x>", rule)


def _placeholders(path: str) -> str:
    return path.replace(SOME_ID, "<uuid:x>").replace(SOME_PREFIX, "<prefix>")


def test_every_v1_view_declares_the_scope_listed_above(app: Flask) -> None:
    listed = {(m, _placeholders(p)): s for m, p, s in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1"):
            view = app.view_functions[rule.endpoint]
            (method,) = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
            scope = getattr(view, "required_scope", None)
            assert scope == listed[(method, _with_placeholder(rule.rule))], rule.rule


BAD_AUTHORIZATIONS = [
    None,
    "",
    "Bearer",
    "Basic dXNlcjpwYXNz",
    "Bearer not-a-key",
    "Bearer trk_abcdefgh_" + "x" * 43,
]


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_a_missing_or_unknown_key_is_401(client: FlaskClient, method: str, path: str) -> None:
    api = ContractClient(client, None)
    for authorization in BAD_AUTHORIZATIONS:
        headers = {} if authorization is None else {"Authorization": authorization}

        response = api.request(method, path, json={}, headers=headers)

        assert response.status_code == 401, authorization
        assert response.get_json()["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_secret_behind_a_real_prefix_is_401(
    client: FlaskClient, agency_key: tuple[Any, str]
) -> None:
    _, key = agency_key
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    response = ContractClient(client, tampered).get("/v1/items")

    assert response.status_code == 401


def _key_with(db: Connection, **columns: Any) -> str:
    key = api_keys.generate_key()
    agency, _ = agencies.ensure_agency(db, "Customs Intelligence Unit")
    agencies.insert_api_key(
        db, agency.id, key.prefix, key.secret_hash, api_keys.DEFAULT_SCOPES, **columns
    )
    return key.plaintext


def test_an_expired_key_is_401(client: FlaskClient, db: Connection) -> None:
    key = _key_with(db, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    response = ContractClient(client, key).get("/v1/items")

    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]


class _AnHourBehind(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) - timedelta(hours=1)


def test_an_expired_key_is_401_whatever_the_app_server_s_clock_says(
    client: FlaskClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database judged the key expired and did not count the request; judged again by an
    # app server's clock that lags, the key read as live and was answered 429 (over its rate).
    monkeypatch.setattr("service.api.auth.datetime", _AnHourBehind, raising=False)
    key = _key_with(db, expires_at=datetime.now(UTC) - timedelta(minutes=1))

    response = ContractClient(client, key).get("/v1/items")

    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]


def test_a_key_not_yet_expired_works(client: FlaskClient, db: Connection) -> None:
    key = _key_with(db, expires_at=datetime.now(UTC) + timedelta(days=1))

    assert ContractClient(client, key).get("/v1/items").status_code == 200


def test_a_revoked_key_is_401_at_once(client: FlaskClient, db: Connection) -> None:
    key = _key_with(db)
    api = ContractClient(client, key)
    assert api.get("/v1/items").status_code == 200

    db.execute("UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", [key.split("_")[1]])

    assert api.get("/v1/items").status_code == 401


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
def test_a_read_only_key_cannot_write(
    client: FlaskClient, db: Connection, method: str, path: str
) -> None:
    _, key = create_agency_key(db, "Observer Mission", scopes=("trace:read",))

    response = ContractClient(client, key).request(method, path, json={})

    assert response.status_code == 403
    assert "registry:write" in response.get_json()["detail"]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_only_an_admin_key_administers(
    client: FlaskClient, db: Connection, method: str, path: str
) -> None:
    _, key = create_agency_key(db, "Field Office", scopes=("trace:read", "registry:write"))

    response = ContractClient(client, key).request(method, path, json={})

    assert response.status_code == 403
    assert "registry:admin" in response.get_json()["detail"]


@pytest.mark.parametrize(("method", "path"), READ_ROUTES)
def test_a_write_only_key_cannot_read(
    client: FlaskClient, db: Connection, method: str, path: str
) -> None:
    _, key = create_agency_key(db, "Records Clerk", scopes=("registry:write",))

    response = ContractClient(client, key).request(method, path, json={})

    assert response.status_code == 403


def test_health_and_contract_need_no_key(client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz", "/openapi.yaml"):
        assert client.get(path).status_code == 200, path
