"""/v1/alerts: items lost, stolen or seized now, and chains with ALERT findings."""

from __future__ import annotations

from flask import Blueprint, Response

from service import cursors
from service.api import requests
from service.api.auth import requires
from service.api.context import connection, principal, settings
from service.api.responses import page
from service.repository import alerts
from service.schemas.traces import AlertQuery

blueprint = Blueprint("alerts", __name__, url_prefix="/v1/alerts")
alert_query = AlertQuery()
FILTERS = ("country", "category", "status", "since")


@blueprint.get("")
@requires("trace:read")
def list_alerts() -> Response:
    """Items on alert, the latest change first."""
    args = requests.query(alert_query)
    filters = {name: args[name] for name in FILTERS}
    secret = settings().secret_key
    before = cursors.decode(secret, args["cursor"], filters) if args["cursor"] else None
    found = alerts.find(
        connection(),
        **filters,
        before=before,
        limit=args["limit"] + 1,
        viewer=principal().agency.id,
    )
    more = len(found) > args["limit"]
    next_cursor = cursors.encode(secret, found[-2].revision, filters) if more else None
    return page(list(found[: args["limit"]]), next_cursor)
