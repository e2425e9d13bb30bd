"""JSON out: orjson, indented so that answers read well in a terminal, UTC as `Z`; and, for
traces and chains of custody, a plain-text report to a client that asks for one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

import orjson
from flask import Response, g, request

from service import cursors
from service.api import audit
from service.api.context import settings

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
# A JSON document made into text for people (service.domain.reports).
Report = Callable[[Mapping[str, Any]], str]
TEXT_MEDIA_TYPE = "text/plain"
# Werkzeug matches an Accept entry with parameters (`text/plain; charset=utf-8`) only against an
# offer with the same parameters, and one without only against an offer without.
_OFFERED = ("application/json", TEXT_MEDIA_TYPE, f"{TEXT_MEDIA_TYPE}; charset=utf-8")
P = ParamSpec("P")
R = TypeVar("R")


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
    return reported(payload, 201, headers={"Location": location})


def offers_text(report: Report) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a view whose answer a client may ask for as text, which `report` makes from the
    JSON document; put it under @requires, which notes it for the request (`reported` answers
    with it, and so does an idempotent replay of the view's answer, which runs no view)."""

    def mark(view: Callable[P, R]) -> Callable[P, R]:
        view.text_report = report  # type: ignore[attr-defined]
        return view

    return mark


def text_report_of(view: Callable[..., object]) -> Report | None:
    found: Report | None = getattr(view, "text_report", None)
    return found


def reported(
    payload: object, status: int = 200, *, headers: Mapping[str, str] | None = None
) -> Response:
    """The payload as JSON, or, where the view offers a report (`offers_text`), as text for a
    client whose Accept header prefers text/plain (an investigator's terminal). The report is
    made from the JSON document itself, so it says what the JSON says. Either way the answer
    varies with Accept."""
    if g.get("text_report") is None:
        return json_response(payload, status, headers=headers)
    return _negotiated(orjson.dumps(payload, option=_OPTIONS), status, headers or {})


def replayed(body: bytes, status: int, headers: Mapping[str, str]) -> Response:
    """A JSON answer kept for an Idempotency-Key, given again as `reported` would give it to
    this request: as text if the view offers a report and this request prefers text, although
    the first request may have asked for JSON (and the other way round)."""
    if g.get("text_report") is None:
        return Response(body, status, headers=dict(headers), mimetype="application/json")
    return _negotiated(body, status, headers)


def _negotiated(document: bytes, status: int, headers: Mapping[str, str]) -> Response:
    """A JSON document, or the view's report of it for a client that prefers text (the JSON is
    then what an Idempotency-Key keeps: a replay answers as its own request asks)."""
    varying = {**headers, "Vary": "Accept"}
    if not wants_text():
        return Response(document, status, headers=varying, mimetype="application/json")
    g.json_answer = document
    report: Report = g.text_report
    return Response(
        report(orjson.loads(document)),
        status,
        headers=varying,
        content_type=f"{TEXT_MEDIA_TYPE}; charset=utf-8",
    )


def wants_text() -> bool:
    """Whether the request's Accept header prefers text/plain to JSON. Looked for before it is
    parsed: a trace's hot path pays one header lookup, and JSON stays the answer to `*/*` (what
    curl sends), to no Accept header, and to a tie."""
    if "text/" not in request.environ.get("HTTP_ACCEPT", "").lower():
        return False
    chosen = request.accept_mimetypes.best_match(_OFFERED)
    return chosen is not None and chosen.startswith(TEXT_MEDIA_TYPE)


def page(items: list[object], next_cursor: str | None) -> Response:
    audit.returned(len(items))
    return json_response({"items": items, "next_cursor": next_cursor})


def keyset_page(
    cursor: str | None,
    filters: Mapping[str, object],
    limit: int,
    fetch: Callable[[UUID | None, int], Sequence[Any]],
    position: Callable[[Any], UUID] = attrgetter("id"),
    *,
    disclosed: bool = False,
) -> Response:
    """A page of a list ordered by a UUID: `fetch(start, limit + 1)` reads one row more than the
    page to know whether another follows; the cursor is signed and bound to the filters.
    `disclosed`: the page's records are named in the request's audit entry (a search of the
    registry, as a trace names its candidates)."""
    secret = settings().secret_key
    start = cursors.decode(secret, cursor, filters) if cursor else None
    found = fetch(start, limit + 1)
    more = len(found) > limit
    next_cursor = cursors.encode(secret, position(found[limit - 1]), filters) if more else None
    shown = list(found[:limit])
    if disclosed:
        audit.looked_up_ids(position(record) for record in shown)
    return page(shown, next_cursor)
