"""Parsing request bodies and query strings through the input schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import orjson
from flask import request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from service.api.context import known_countries
from service.domain.imports import DEEPEST, NestedTooDeeply, repeated_fields
from service.domain.json_text import loads, undecodable_byte
from service.errors import FieldError, InvalidInput
from service.schemas.fields import InputContext, field_errors

P = ParamSpec("P")
R = TypeVar("R")
JSON_MEDIA_TYPE = "application/json"
JSON_MEDIA_TYPES = (JSON_MEDIA_TYPE,)
# A JSON merge patch (RFC 7396), or plain JSON, which clients send for one as often.
MERGE_PATCH_MEDIA_TYPES = ("application/merge-patch+json", JSON_MEDIA_TYPE)
# The charsets a body may name: every body is read as UTF-8 (`utf8` is what some clients say).
# US-ASCII is UTF-8's first 128 characters: a body that says it is ASCII but holds bytes above
# 0x7F is read as UTF-8 like any other, not refused (nor decoded apart).
READ_AS_UTF_8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class UnsupportedMediaType(InvalidInput):
    status = 415
    code = "unsupported_media_type"
    title = "Send JSON"
    # what the route's body is called in the refusal's detail
    body_name = "body"


def check_media_type(
    accepted: tuple[str, ...], refusal: type[UnsupportedMediaType] = UnsupportedMediaType
) -> None:
    """The one rule of every route that takes a body, checked before its view reads it: one of
    the `accepted` media types, in UTF-8 (no `charset` but utf-8, or us-ascii, its subset), as
    sent (no `Content-Encoding` but identity); `refusal` (415) otherwise. A body the service cannot
    decode is refused rather than read as if it were plain UTF-8.

    Cheap on every request (POST /v1/traces is one): the Content-Type header is parsed once,
    as before (Werkzeug keeps its parameters with `mimetype`), the headers are read from the
    WSGI environ (each `request.` costs a context lookup), and the parameters are looked at
    only when the header has some."""
    mimetype = request.mimetype
    if mimetype not in accepted:
        raise refusal(
            f"this route takes {' or '.join(accepted)}, not {mimetype or 'a body without a type'}"
        )
    environ = request.environ
    codings: str | None = environ.get("HTTP_CONTENT_ENCODING")
    if codings and not _identity(codings):
        raise refusal(
            f"the {refusal.body_name} was sent with `Content-Encoding: {codings}`, which is not "
            f"undone here: send the {refusal.body_name} uncompressed, without Content-Encoding"
        )
    if ";" in environ.get("CONTENT_TYPE", ""):
        charset = request.mimetype_params.get("charset")
        if charset is not None and charset.lower() not in READ_AS_UTF_8:
            raise refusal(
                f"the {refusal.body_name} must be UTF-8, not {charset}: send it in UTF-8, with "
                "`charset=utf-8` or no charset"
            )


def takes_no_body(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a POST view that reads no body: every other one takes JSON (or, marked with
    uploads.large_body, a file), whose media type requires() checks before an Idempotency-Key
    is looked up."""
    view.takes_no_body = True  # type: ignore[attr-defined]
    return view


def takes_an_optional_body(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a POST view whose JSON body may be left out (optional_body: its options then take
    their defaults), so that a POST sent bare, as the route took before it had options, still
    works; one that is sent is checked as any other (415, 400)."""
    view.optional_body = True  # type: ignore[attr-defined]
    return view


def body_is_optional(view: Callable[..., object]) -> bool:
    return bool(getattr(view, "optional_body", False))


def sent_a_body() -> bool:
    """Whether the request carries a body: a Content-Length above 0, or a chunked one."""
    return bool(request.content_length) or "HTTP_TRANSFER_ENCODING" in request.environ


def optional_body(schema: Schema) -> Any:
    """The request's JSON body loaded by `schema` (as body() does), or, none sent, the
    schema's defaults."""
    if not sent_a_body():
        return _load(schema, {}, "body")
    return body(schema)


def reads_json_body(view: Callable[..., object]) -> bool:
    """Whether a POST to the view carries a JSON body (it is not marked takes_no_body)."""
    return not getattr(view, "takes_no_body", False)


def _identity(codings: str) -> bool:
    """Whether a Content-Encoding names no coding but `identity` (RFC 9110: none at all)."""
    return all(c.strip().lower() in {"", "identity"} for c in codings.split(","))


# No body at all, to a route that requires one: a bare POST was refused 415, "not a body
# without a type", and the same with `Content-Type: application/json` 400, "not valid JSON".
NO_BODY = (
    "this route takes a JSON body, and none was sent: send one, with `Content-Type: "
    "application/json` (`{}` will do where no field is required)"
)


def check_body(accepted: tuple[str, ...] = JSON_MEDIA_TYPES) -> None:
    """The one rule of a route that requires a JSON body, checked before its body is read: 400
    when none was sent, with or without a Content-Type; check_media_type's 415 otherwise."""
    if not sent_a_body():
        raise InvalidInput.for_field("body", "", NO_BODY)
    check_media_type(accepted)


def body(schema: Schema, accepted: tuple[str, ...] = JSON_MEDIA_TYPES) -> Any:
    """The request's JSON body, loaded by `schema` (400 for none; 415 for a media type not
    `accepted`, a charset other than UTF-8 or a compressed body; 400 if invalid)."""
    check_body(accepted)
    data = whole_body(cache=False)
    try:
        document = loads(data)
    except orjson.JSONDecodeError as exc:
        undecodable = undecodable_byte(data, "the body's")
        detail = (
            f"the body is {undecodable}: send it in UTF-8"
            if undecodable
            else f"the body is not valid JSON: {exc}"
        )
        raise InvalidInput.for_field("body", "", detail) from exc
    if not isinstance(document, dict):
        raise InvalidInput.for_field("body", "", "the body must be a JSON object")
    _refuse_repeated_fields(data, document)
    return _load(schema, document, "body")


# The JSON parser keeps the last of a field's values without a word, and the record was stored
# with it (a merge patch of `{"country": "DE", "country": null}` cleared the country); an
# import's line is held to the same rule.
GIVEN_TWICE = (
    "the body gives this field more than once: which of its values is meant cannot be told"
)


def _refuse_repeated_fields(data: bytes, document: dict[str, Any]) -> None:
    try:
        repeated = repeated_fields(data, document)
    except NestedTooDeeply as exc:
        detail = f"the body is nested more than {DEEPEST} levels deep"
        raise InvalidInput.for_field("body", "", detail) from exc
    if repeated:
        raise InvalidInput(
            "the body gives a field more than once: see `errors`",
            [FieldError("body", field, GIVEN_TWICE) for field in repeated],
        )


def whole_body(*, cache: bool) -> bytes:
    """The request's body, of at most max_content_length bytes (inclusive), with a
    Content-Length or chunked alike; RequestEntityTooLarge (413) past it."""
    limit = request.max_content_length
    if request.content_length is not None or limit is None:
        return request.get_data(cache=cache)  # Werkzeug refuses a length over the limit
    # A chunked body is read up to the limit and no further, without an error: what came would
    # be refused as broken JSON. It is read one byte further (limit_for_body), which only a body
    # over the limit has: at the limit itself, one of exactly the limit was refused (413).
    request.max_content_length = limit_for_body(limit)
    try:
        data = request.get_data(cache=cache)
    finally:
        # the limit read again by a later call (the body is cached once for a fingerprint)
        request.max_content_length = limit
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def limit_for_body(limit: int) -> int:
    """The max_content_length that holds this request's body to `limit` bytes, inclusive,
    before its stream is made: Werkzeug refuses a Content-Length over the limit, but stops a
    chunked body at it and refuses one only when asked for a byte past it, so such a body is
    let one byte further."""
    return limit + 1 if request.content_length is None else limit


def takes_a_query(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that reads the query string (query()): every other one refuses any
    (refuse_a_query)."""
    view.takes_a_query = True  # type: ignore[attr-defined]
    return view


def reads_a_query(view: Callable[..., object]) -> bool:
    return bool(getattr(view, "takes_a_query", False))


# What a route that declares no query parameter loads its query string by: each one sent is
# unknown, named as an unknown one to a route that takes some is.
_NO_QUERY = Schema()


def refuse_a_query() -> None:
    """400 for a query string sent to a route that takes none, each parameter named: a POST
    ignored them, and stored what `?dry_run=true` was meant to keep from being stored."""
    if request.args:
        _load(_NO_QUERY, request.args.to_dict(), "query")


def query(schema: Schema) -> Any:
    """The query string, loaded by `schema`; a parameter given twice is refused."""
    repeated = [name for name, values in request.args.lists() if len(values) > 1]
    if repeated:
        raise InvalidInput(
            "a query parameter was given more than once",
            [FieldError("query", name, "give this parameter once") for name in repeated],
        )
    return _load(schema, request.args.to_dict(), "query")


def _load(schema: Schema, document: dict[str, Any], location: str) -> Any:
    try:
        with InputContext({"countries": known_countries()}):
            return schema.load(document)
    except ValidationError as exc:
        errors = list(field_errors(exc.messages, location))
        raise InvalidInput("the request has invalid fields: see `errors`", errors) from exc
