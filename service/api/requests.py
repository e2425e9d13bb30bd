"""Parsing request bodies and query strings through the input schemas."""

from __future__ import annotations

from typing import Any

import orjson
from flask import request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from service.api.context import known_countries
from service.errors import FieldError, InvalidInput
from service.schemas.fields import InputContext, field_errors

JSON_MEDIA_TYPE = "application/json"


class UnsupportedMediaType(InvalidInput):
    status = 415
    code = "unsupported_media_type"
    title = "Send JSON"


def body(schema: Schema) -> Any:
    """The request's JSON body, loaded by `schema` (415 for another media type, 400 if invalid)."""
    if request.mimetype != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"this route takes {JSON_MEDIA_TYPE}, not {request.mimetype or 'a body without a type'}"
        )
    data = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # A chunked body is read up to the limit and no further, without an error: what came
        # would be refused as broken JSON rather than as too large.
        raise RequestEntityTooLarge()
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput.for_field("body", "", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput.for_field("body", "", "the body must be a JSON object")
    return _load(schema, document, "body")


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
