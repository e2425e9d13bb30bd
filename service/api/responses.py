"""JSON out: orjson, indented so that answers read well in a terminal, UTC as `Z`."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from flask import Response

from service.api import audit

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


def json_response(
    payload: object,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    mimetype: str = "application/json",
) -> Response:
    return Response(
        orjson.dumps(payload, option=_OPTIONS),
        status,
        headers=dict(headers or {}),
        mimetype=mimetype,
    )


def created(payload: object, location: str) -> Response:
    audit.created(location)
    return json_response(payload, 201, headers={"Location": location})


def page(items: list[object], next_cursor: str | None) -> Response:
    audit.returned(len(items))
    return json_response({"items": items, "next_cursor": next_cursor})
