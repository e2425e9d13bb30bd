"""Headers on every response: security headers for an API that answers data (JSON, or text
reports) and no pages, the request id, and CORS only for the origins configured (none by
default)."""

from __future__ import annotations

from flask import Flask, Response, g, request

from service.config import Settings
from service.domain.ids import uuid7

# An API answers data: nothing in it is to be framed, run, sniffed or cached on the way.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    # Browsers keep to HTTPS once they have seen this over HTTPS (and ignore it over HTTP).
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
_SECURITY_ITEMS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())
# The same, as lines of a response head that gunicorn writes itself (problems.server_refusal).
SECURITY_HEAD = "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS.items())
# What a browser on an allowed origin may send and read.
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Case-Reference, X-Purpose"
CORS_EXPOSED_HEADERS = "Location, Retry-After, X-Request-Id"
CORS_MAX_AGE_SECONDS = "600"


def install(app: Flask, settings: Settings) -> None:
    origins = settings.allowed_origins

    @app.after_request
    def finish(response: Response) -> Response:
        # One pass over the headers already set, not one per security header (werkzeug's
        # setdefault scans and lower-cases the whole list each time).
        present = {name.lower() for name, _ in response.headers.items()}
        response.headers.extend(
            [(name, value) for key, name, value in _SECURITY_ITEMS if key not in present]
        )
        # An audited request's id is its entry's; any other answer (a probe, openapi.yaml, a
        # 404 or 405 of no route, an OPTIONS) gets one of its own, which no entry has, so that
        # every answer can be named when it is reported.
        draft = g.get("audit")
        response.headers["X-Request-Id"] = str(draft.id if draft is not None else uuid7())
        origin = request.headers.get("Origin")
        if origin is not None and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
            response.headers.add("Vary", "Origin")
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = response.headers.get(
                    "Allow", "GET, POST"
                )
                response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE_SECONDS
        return response
