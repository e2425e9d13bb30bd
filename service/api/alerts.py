"""/v1/alerts: items lost, stolen or seized now, and chains with ALERT findings."""

from __future__ import annotations

from operator import attrgetter

from flask import Blueprint, Response

from service.api import requests
from service.api.auth import requires
from service.api.context import connection, principal
from service.api.responses import keyset_page
from service.repository import alerts
from service.schemas.traces import AlertQuery

blueprint = Blueprint("alerts", __name__, url_prefix="/v1/alerts")
alert_query = AlertQuery()
FILTERS = ("country", "category", "status", "since")


@blueprint.get("")
@requires("trace:read")
@requests.takes_a_query
def list_alerts() -> Response:
    """Items on alert, the latest change first."""
    args = requests.query(alert_query)
    filters = {name: args[name] for name in FILTERS}
    return keyset_page(
        args["cursor"],
        filters,
        args["limit"],
        lambda before, limit: alerts.find(
            connection(), **filters, before=before, limit=limit, viewer=principal().agency.id
        ),
        position=attrgetter("revision"),
    )
