"""Unauthenticated routes: liveness, readiness and the contract."""

from __future__ import annotations

from flask import Blueprint, Response

from service.api.context import connection
from service.api.responses import json_response
from service.bundled import bundled_text

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is alive (says nothing about the database)."""
    return json_response({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    """The database answers; 503 with Retry-After when it does not."""
    connection().execute("SELECT 1")
    return json_response({"status": "ready"})


@blueprint.get("/openapi.yaml")
def openapi() -> Response:
    """The OpenAPI 3.1 contract of this service."""
    return Response(bundled_text("openapi.yaml"), mimetype="application/yaml")
