"""/v1/notifications and /v1/webhooks: being told when others trace your records."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from flask import Blueprint, Response

from service.api import idempotency, methods, requests
from service.api.auth import requires
from service.api.context import connection, principal, settings
from service.api.responses import created, json_response, keyset_page
from service.domain import delivery_failures
from service.domain import webhooks as signing
from service.errors import InvalidInput, NotFound, StateConflict
from service.repository import notifications, webhooks
from service.schemas.fields import Page
from service.schemas.traces import DeliveryQuery, NotificationQuery, ResumptionIn, WebhookIn

blueprint = Blueprint("notifications", __name__, url_prefix="/v1")
notification_query = NotificationQuery()
webhook_in = WebhookIn()
resumption_in = ResumptionIn()
webhook_query = Page()
delivery_query = DeliveryQuery()
# What the webhook list's cursors are bound to: no other list's cursor (one with no filters
# either) starts it midway.
_WEBHOOK_LIST = {"list": "webhooks"}


@blueprint.get("/notifications")
@requires("trace:read")
@requests.takes_a_query
def list_notifications() -> Response:
    """Traces and lookups by other agencies of items your agency recorded, newest first."""
    args = requests.query(notification_query)
    filters = {"unacknowledged": args["unacknowledged"]}
    return keyset_page(
        args["cursor"],
        filters,
        args["limit"],
        lambda before, limit: notifications.find(
            connection(),
            principal().agency.id,
            unacknowledged=args["unacknowledged"],
            before=before,
            limit=limit,
        ),
    )


@blueprint.post("/notifications/<uuid:notification_id>/acknowledgement")
@requires("trace:read")
@requests.takes_no_body
def acknowledge(notification_id: UUID) -> Response:
    """Mark a notification read (acknowledging again changes nothing)."""
    notification = notifications.acknowledge(connection(), principal().agency.id, notification_id)
    if notification is None:
        raise NotFound(f"your agency has no notification with id {notification_id}")
    return json_response(notification)


@blueprint.post("/webhooks")
@requires("registry:write")
def register_webhook() -> Response:
    """Have your agency's notifications delivered to a URL, signed with a secret shown once."""
    url = signing.canonical_url(requests.body(webhook_in)["url"])
    configured = settings()
    allow_http = configured.environment != "production"
    problem = signing.url_problem(url, allow_http, configured.webhook_reach)
    if problem:
        raise InvalidInput.for_field("body", "url", problem)
    agency_id = principal().agency.id
    signing.check_room(
        webhooks.active_count(connection(), agency_id), configured.webhooks_per_agency
    )
    secret = signing.new_secret()
    webhook = webhooks.register(connection(), agency_id, url, secret)
    body = {**_shown(webhook), "secret": secret}
    # Shown once: not kept for an Idempotency-Key's replay (which is refused instead, 409).
    idempotency.withhold_replay()
    return created(body, f"/v1/webhooks/{webhook.id}")


@blueprint.get("/webhooks")
@requires("registry:write")
@requests.takes_a_query
def list_webhooks() -> Response:
    """Your agency's webhooks, active or not, newest first (their secrets are never shown
    again)."""
    args = requests.query(webhook_query)
    return keyset_page(
        args["cursor"],
        _WEBHOOK_LIST,
        args["limit"],
        lambda before, limit: webhooks.of_agency(
            connection(), principal().agency.id, before=before, limit=limit
        ),
    )


@blueprint.delete("/webhooks/<uuid:webhook_id>")
@requires("registry:write")
def deactivate_webhook(webhook_id: UUID) -> Response:
    """Stop deliveries to a webhook."""
    agency_id = _own_webhook(webhook_id)
    webhooks.deactivate(connection(), agency_id, webhook_id)
    return methods.no_content()


@blueprint.post("/webhooks/<uuid:webhook_id>/resumption")
@requires("registry:write")
@requests.takes_an_optional_body
def resume_webhook(webhook_id: UUID) -> Response:
    """Let a webhook the worker suspended take deliveries again (an active one stays so), and,
    if asked, its deliveries given up that are still kept be tried again."""
    redeliver = requests.optional_body(resumption_in)["redeliver_abandoned"]
    agency_id = _own_webhook(webhook_id)
    kept_days = settings().delivery_retention_days if redeliver else None
    redelivered = webhooks.resume(connection(), agency_id, webhook_id, kept_days)
    webhook = webhooks.one(connection(), agency_id, webhook_id)
    assert webhook is not None
    if webhook.deactivated_at is not None:
        raise StateConflict(
            f"webhook {webhook_id} was deactivated: it takes no delivery again; register its "
            "URL again (POST /v1/webhooks) for a new one"
        )
    return json_response({**_shown(webhook), "deliveries_redelivered": redelivered})


@blueprint.get("/webhooks/<uuid:webhook_id>/deliveries")
@requires("registry:write")
@requests.takes_a_query
def list_deliveries(webhook_id: UUID) -> Response:
    """A webhook's deliveries, newest first: what was delivered, what is failing and why."""
    _own_webhook(webhook_id)
    args = requests.query(delivery_query)
    filters = {"list": "webhook_deliveries", "webhook": str(webhook_id), "state": args["state"]}
    return keyset_page(
        args["cursor"],
        filters,
        args["limit"],
        lambda before, limit: [
            replace(found, last_error=delivery_failures.shown(found.last_error))
            for found in webhooks.deliveries(
                connection(), webhook_id, state=args["state"], before=before, limit=limit
            )
        ],
    )


def _shown(webhook: webhooks.Webhook) -> dict[str, object]:
    """A webhook's fields, as the list shows each, for an answer that adds its own."""
    return {field: getattr(webhook, field) for field in webhook.__slots__}


def _own_webhook(webhook_id: UUID) -> UUID:
    """The caller's agency, if the webhook is its own; else NotFound (as for one that does not
    exist: another agency's webhooks are not even confirmed)."""
    agency_id = principal().agency.id
    if not webhooks.exists(connection(), agency_id, webhook_id):
        raise NotFound(f"your agency has no webhook with id {webhook_id}")
    return agency_id
