"""RFC 9457 problem details: every error the API gives passes through here.

The project's exceptions carry their status and code; database errors are translated by
`service.db.translate`; Werkzeug's HTTP errors (404 for unknown routes, 405, 413) keep their status.
Anything else is a bug: it is logged with its traceback and answered as a bare 500 problem, never
with the traceback.
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus
from typing import Any

import orjson
import psycopg
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from service.api import audit, context, methods, uploads
from service.api.headers import SECURITY_HEAD
from service.api.responses import json_response
from service.db import TOOK_TOO_LONG, translate
from service.domain.ids import uuid7
from service.errors import (
    DatabaseUnavailable,
    FieldError,
    RateLimited,
    StorageFull,
    TraceRegistryError,
)

PROBLEM_TYPE = "urn:trace-registry:problem:{}"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger(__name__)

# Werkzeug's errors, with codes in the same style as the project's own.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    501: "not_implemented",
}

# A path no route takes: `GET /v1/imports/not-a-uuid` was told "If you entered the URL manually
# please check your spelling", written for a browser's user.
NO_ROUTE = (
    "no such path: check it against openapi.yaml (the ids in a path are UUIDs, as the service "
    "gave them)"
)

# What gunicorn refuses before the app sees a request (a header line too long or malformed, a
# request line too long, a bad chunk), in the codes' style.
_SERVER_CODES = {
    **_HTTP_CODES,
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
}


# How gunicorn words a request line it cannot read, followed by the line: most often a URL with
# a character typed raw (`?case_reference=Café-7`), which it echoed as Latin-1 ("CafÃ©-7"), with
# no word of what to do.
_GUNICORN_BAD_REQUEST_LINE = "Invalid Request Line"
NOT_A_REQUEST_LINE = (
    "the request line is not valid HTTP: a URL holds printable ASCII alone, so a character "
    "beyond it (an accented letter, a space) must be percent-encoded (Caf%C3%A9 for Café), as "
    '`curl -G --data-urlencode case_reference=Café-7 "$BASE/v1/traces"` does'
)


# And a method or a protocol version it cannot read, followed by what was sent (as a Python repr,
# in Latin-1): the request line's first or last word, named and explained instead.
_GUNICORN_BAD_METHOD = "Invalid Method"
NOT_A_METHOD = (
    "the request line's method is not an HTTP method: it is a word of upper-case ASCII letters "
    "(this API answers GET, HEAD, POST, PATCH, DELETE and OPTIONS), then one space, the path, "
    "one space, and HTTP/1.1"
)
_GUNICORN_BAD_VERSION = "Invalid HTTP Version"
NOT_AN_HTTP_VERSION = (
    "the request line does not end in HTTP/1.0 or HTTP/1.1, the versions this server speaks: "
    "a space in the path, typed raw, also splits the line there (percent-encode it as %20)"
)


def server_refusal(status: int, detail: str) -> bytes:
    """The whole response, as gunicorn writes it, to a request it refused before the app saw
    it: a problem document like every other error, where gunicorn would write an HTML page
    (service/gunicorn_conf.py puts it in gunicorn's place). The status's own phrase, not
    gunicorn's reason, which says "Bad Request" for a 501 too."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    code = _SERVER_CODES.get(status, "http_error")
    if detail.startswith(_GUNICORN_BAD_REQUEST_LINE):
        detail = NOT_A_REQUEST_LINE
    elif detail.startswith(_GUNICORN_BAD_METHOD):
        detail = NOT_A_METHOD
    elif detail.startswith(_GUNICORN_BAD_VERSION):
        detail = NOT_AN_HTTP_VERSION
    body = orjson.dumps(
        _document(status, code, reason, detail or reason),
        option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
    )
    # The headers every answer carries (service.api.headers), which Flask's after_request never
    # adds here: the request never reached the app, so its id is in no audit entry.
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\nContent-Length: {len(body)}\r\n"
        f"X-Request-Id: {uuid7()}\r\n{SECURITY_HEAD}\r\n"
    )
    return head.encode("latin-1") + body


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    body = {**_document(status, code, title, detail), "instance": request.path}
    if errors:
        body["errors"] = [_field_error(error) for error in errors]
    body.update(extensions or {})
    return json_response(body, status, headers=headers, mimetype=PROBLEM_MEDIA_TYPE)


def _document(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    """The members every problem document has (RFC 9457, and the project's `code`)."""
    return {
        "type": PROBLEM_TYPE.format(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }


def _field_error(error: FieldError) -> dict[str, Any]:
    if error.location == "body":
        # `field` is already a chain of escaped JSON Pointer segments ("line_items/0/quantity").
        pointer = f"/{error.field}" if error.field else ""
        if error.line is not None:  # a record of an import file: the pointer is into that line
            return {"location": "body", "line": error.line, "pointer": pointer,
                    "detail": error.detail}  # fmt: skip
        return {"location": "body", "pointer": pointer, "detail": error.detail}
    return {"location": error.location, "parameter": error.field, "detail": error.detail}


def from_error(error: TraceRegistryError, retry_after: int) -> Response:
    unavailable = isinstance(error, DatabaseUnavailable | StorageFull)
    headers = {"Retry-After": str(retry_after)} if unavailable else None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    if error.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="trace-registry"'}
    errors = getattr(error, "errors", None)
    return problem(
        error.status, error.code, error.title, error.detail, errors=errors, headers=headers
    )


def _too_large() -> str:
    """What a body over the limit is told: Werkzeug's "exceeds the capacity limit" named neither
    the limit nor what to do. A batch of 1,000 weapons, within the contract, can pass 1 MiB
    (long markings, ten import markings each: about 2.9 MB)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and uploads.takes_large_body(view):
        limit, setting = context.settings().max_import_bytes, "TRACE_REGISTRY_MAX_IMPORT_BYTES"
    else:
        limit, setting = context.settings().max_request_bytes, "TRACE_REGISTRY_MAX_REQUEST_BYTES"
    detail = (
        f"the body is larger than the {limit:,} bytes ({limit / 2**20:.3g} MiB) this service "
        f"takes in a request (its setting {setting})"
    )
    if request.endpoint == BATCH_ENDPOINT:
        detail += ": send the weapons in smaller batches, under the one context"
    return detail


BATCH_ENDPOINT = "traces.create_trace_batch"


def register(app: Flask, retry_after: int) -> None:
    """Install the handlers that turn every exception into a problem response."""

    @app.errorhandler(TraceRegistryError)
    def project_error(error: TraceRegistryError) -> Response:
        return _audited(from_error(error, retry_after), error.audited)

    @app.errorhandler(psycopg.Error)
    def database_error(error: psycopg.Error) -> Response:
        # Past its deadline the request's connection is cut (service.api.overtime): whatever
        # the statement then met, the request took too long.
        translated = DatabaseUnavailable(TOOK_TOO_LONG) if context.ran_late() else translate(error)
        if translated is None:
            return unexpected(error)
        if isinstance(translated, DatabaseUnavailable):
            log.warning("database unavailable: %s", translated.detail)
        return _audited(from_error(translated, retry_after), translated.audited)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        allowed = getattr(error, "valid_methods", None)
        headers = {"Allow": methods.allow(allowed)} if allowed else None
        detail = error.description or error.name
        if isinstance(error, NotFound) and detail == NotFound.description:
            detail = NO_ROUTE  # Werkzeug's words are for a browser's user
        if isinstance(error, RequestEntityTooLarge):
            detail = _too_large()
        return _audited(problem(status, code, error.name, detail, headers=headers))

    @app.errorhandler(OSError)
    def system_error(error: OSError) -> Response:
        if error.errno not in _NO_ROOM:
            return unexpected(error)
        log.error("no room on the service's disk on %s %s: %s", request.method, request.path, error)
        full = StorageFull(
            "the service has no room on its disk for this request right now; nothing was "
            "stored: send it again later"
        )
        return _audited(from_error(full, retry_after), full.audited)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
        return _audited(
            problem(
                500, "internal_error", "Internal error", "The service failed; this has been logged."
            )
        )


# A disk (or its quota) full: where the service spools import files and batch answers.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def _audited(response: Response, audited: bool = True) -> Response:
    """The error response, once the failed request's audit entry is written (unless the error
    says otherwise: TraceRegistryError.audited)."""
    if audited:
        audit.write_refusal(response.status_code)
    return response
