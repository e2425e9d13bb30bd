"""/v1/items and the custody chain of one item."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from flask import Blueprint, Response

from service.api import audit, requests
from service.api.auth import requires
from service.api.context import connection, principal, settings
from service.api.responses import created, json_response, keyset_page, offers_text, reported
from service.domain.records import Item
from service.domain.reports import chain_report
from service.domain.serials import normalise_name
from service.errors import NotFound
from service.repository import chains, items, notifications
from service.schemas.registry import ItemIn, ItemQuery

blueprint = Blueprint("items", __name__, url_prefix="/v1/items")
item_in = ItemIn()
item_query = ItemQuery()


@blueprint.post("")
@requires("registry:write")
def create_item() -> Response:
    """Record an item."""
    item = items.insert(connection(), principal().agency.id, requests.body(item_in))
    return created(item, f"/v1/items/{item.id}")


@blueprint.get("")
@requires("trace:read")
@requests.takes_a_query
def list_items() -> Response:
    """Items by normalised serial and manufacturer, one page at a time."""
    args = requests.query(item_query)
    filters = {"serial_number": args["serial_number"], "manufacturer": args["manufacturer"]}
    # A cursor is bound to what the filters compare, so "ak47 1234" may follow "AK-47 1234".
    compared = {name: normalise_name(value) if value else None for name, value in filters.items()}
    return keyset_page(
        args["cursor"],
        compared,
        args["limit"],
        lambda after, limit: items.find(connection(), **filters, after=after, limit=limit),
        disclosed=True,
    )


@blueprint.get("/<uuid:item_id>")
@requires("trace:read")
def get_item(item_id: UUID) -> Response:
    """One item."""
    return json_response(_item_or_404(item_id))


@blueprint.get("/<uuid:item_id>/custody")
@requires("trace:read")
@offers_text(chain_report)
def get_custody(item_id: UUID) -> Response:
    """The item's chain of custody: its events in order, holder, status and findings (JSON, or
    a text report for Accept: text/plain)."""
    today = datetime.now(UTC).date()
    viewer = principal().agency.id
    chain = chains.chain(connection(), item_id, today, settings().euc_verification_days, viewer)
    if chain is None:
        raise NotFound(f"no item is recorded with id {item_id}")
    stated = audit.current()
    notifications.tell_of_lookup(
        connection(),
        item_id,
        viewer,
        stated.case_reference if stated else None,
        stated.purpose if stated else None,
    )
    return reported(chain)


def _item_or_404(item_id: UUID) -> Item:
    item = items.get(connection(), item_id)
    if item is None:
        raise NotFound(f"no item is recorded with id {item_id}")
    return item
