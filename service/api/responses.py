"""JSON out: orjson, indented so that answers read well in a terminal, UTC as `Z`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any
from uuid import UUID

import orjson
from flask import Response

from service import cursors
from service.api import audit
from service.api.context import settings

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


def keyset_page(
    cursor: str | None,
    filters: Mapping[str, object],
    limit: int,
    fetch: Callable[[UUID | None, int], Sequence[Any]],
    position: Callable[[Any], UUID] = attrgetter("id"),
) -> Response:
    """A page of a list ordered by a UUID: `fetch(start, limit + 1)` reads one row more than the
    page to know whether another follows; the cursor is signed and bound to the filters."""
    secret = settings().secret_key
    start = cursors.decode(secret, cursor, filters) if cursor else None
    found = fetch(start, limit + 1)
    more = len(found) > limit
    next_cursor = cursors.encode(secret, position(found[limit - 1]), filters) if more else None
    return page(list(found[:limit]), next_cursor)
