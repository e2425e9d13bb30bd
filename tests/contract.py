"""A test client that checks every response against openapi.yaml.

Whatever an API test does, the answer it gets must be one the contract describes: status code,
media type and body schema. A test that expects an error still gets its problem document checked.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response

from tests.paths import ROOT

# The server URL in openapi.yaml: request paths resolve against it.
SERVER = "http://127.0.0.1:8000"


@cache
def openapi() -> OpenAPI:
    # Problem documents are JSON under their own media type (RFC 9457).
    config = Config(extra_media_type_deserializers={"application/problem+json": orjson.loads})
    return OpenAPI.from_file_path(str(ROOT / "openapi.yaml"), config=config)


def check_against_contract(
    method: str, path: str, response: Response, headers: dict[str, str] | None = None
) -> None:
    """Raise if `response` is not one that openapi.yaml allows for `method path`."""
    url = urlsplit(path)
    args = dict(_query_pairs(url.query))
    request = MockRequest(SERVER, method.lower(), url.path, args=args, headers=headers or {})
    mock_response = MockResponse(
        response.get_data(),
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.mimetype or "",
    )
    openapi().validate_response(request, mock_response)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


class ContractClient:
    """Flask's test client with an API key, JSON in and out, and the contract checked."""

    def __init__(self, client: FlaskClient, key: str | None) -> None:
        self.client = client
        self.key = key

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**headers, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
    ) -> TestResponse:
        if query:
            path = f"{path}?{urlencode(query)}"
        all_headers = self.headers(headers)
        if json is not None:
            data = orjson.dumps(json)
            all_headers.setdefault("Content-Type", "application/json")
        # buffered: read the answer whole and close it, as a WSGI server does once it is sent
        # (a streamed answer's file is closed then).
        response = self.client.open(
            path, method=method, data=data, headers=all_headers, buffered=True
        )
        check_against_contract(method, path, response, all_headers)
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, json=json, **kwargs)

    def created(self, path: str, json: Any) -> dict[str, Any]:
        """POST that must answer 201; returns the stored record."""
        response = self.post(path, json)
        assert response.status_code == 201, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        assert response.headers["Location"].endswith(body["id"])
        return body
