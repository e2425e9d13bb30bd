"""/v1/events: custody events, and declarations that one was erroneous."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response

from service.api import requests
from service.api.auth import requires
from service.api.context import connection, principal, recorder
from service.api.responses import created, json_response
from service.domain import disclosure
from service.domain.records import EventRecord, RedactedEvent
from service.errors import NotFound
from service.repository import events
from service.schemas.registry import ErrorDeclarationIn, EventIn

blueprint = Blueprint("events", __name__, url_prefix="/v1/events")
event_in = EventIn()
error_declaration_in = ErrorDeclarationIn()


@blueprint.post("")
@requires("registry:write")
def create_event() -> Response:
    """Record a custody event for one or more items (optionally correcting an earlier one)."""
    event = recorder().event(requests.body(event_in))
    return created(_shown(event), f"/v1/events/{event.id}")


@blueprint.get("/<uuid:event_id>")
@requires("trace:read")
def get_event(event_id: UUID) -> Response:
    """One custody event with the items it covers."""
    event = events.get(connection(), event_id)
    if event is None:
        raise NotFound(f"no custody event is recorded with id {event_id}")
    return json_response(_shown(event))


@blueprint.post("/<uuid:event_id>/error-declaration")
@requires("registry:write")
def declare_erroneous(event_id: UUID) -> Response:
    """Declare a recorded event erroneous; it stays in history, marked."""
    declaration = requests.body(error_declaration_in)
    event = recorder().error_declaration(event_id, declaration)
    return created(_shown(event), f"/v1/events/{event.id}")


def _shown(event: EventRecord) -> EventRecord | RedactedEvent:
    declaration = event.error_declaration
    correctives = declaration.corrective_event_ids if declaration else ()
    return disclosure.event_for(
        principal().agency.id, event, events.restricted(connection(), correctives)
    )
