"""/v1/manufacturers: the makers the registry knows, with the names they go by."""

from __future__ import annotations

from flask import Blueprint, Response

from service.api import requests
from service.api.auth import requires
from service.api.context import manufacturer_directory
from service.api.responses import page
from service.domain.serials import normalise_name
from service.schemas.traces import ManufacturerQuery

blueprint = Blueprint("manufacturers", __name__, url_prefix="/v1/manufacturers")
manufacturer_query = ManufacturerQuery()


@blueprint.get("")
@requires("trace:read")
@requests.takes_a_query
def list_manufacturers() -> Response:
    """Every manufacturer, or the one a name (any of its aliases) belongs to."""
    name = requests.query(manufacturer_query)["name"]
    directory = manufacturer_directory()
    if name is None:
        return page(list(directory.manufacturers), None)
    found = directory.resolve(normalise_name(name))
    return page([found] if found else [], None)
