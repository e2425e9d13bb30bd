"""/v1/admin: agencies, their API keys, and the audit trail (the `registry:admin` scope)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from uuid import UUID

from flask import Blueprint, Response

from service import auditing, cursors, keys
from service.api import audit, idempotency, requests
from service.api.auth import requires
from service.api.context import connection, seconds_since_start, settings
from service.api.responses import created, json_response, keyset_page
from service.domain import api_keys
from service.domain.matching import audited_form
from service.errors import InvalidInput, NotFound, StateConflict
from service.repository import agencies
from service.repository import audit as trail
from service.schemas.admin import (
    AgencyIn,
    AgencyPatch,
    AuditQuery,
    AuditVerifyQuery,
    KeyIn,
    KeyQuery,
    KeyRevocationIn,
)
from service.schemas.fields import Page

blueprint = Blueprint("admin", __name__, url_prefix="/v1/admin")
agency_in = AgencyIn()
agency_patch = AgencyPatch()
key_in = KeyIn()
key_revocation_in = KeyRevocationIn()
page_query = Page()
key_query = KeyQuery()
audit_query = AuditQuery()
audit_verify_query = AuditVerifyQuery()
# openapi.yaml's KeyPrefix: a prefix is 8 characters, and the contract leaves room for longer.
PREFIX_MAX_LENGTH = 64
# How long one answer of GET /audit/verify walks the trail, from the request's start: well within
# gunicorn's 30 s, which cut off a walk of 2.7 million entries (500, and no audit entry).
VERIFY_SECONDS = 15.0
# What a verification's cursors are bound to: no other list's cursor starts one midway.
_VERIFY_WALK = {"walk": "audit verification"}
# What the agency list's and the trail's cursors are bound to, besides the trail's filters:
# without, both lists had no filters to bind, and each took the other's cursors (a page of the
# trail from an agency's creation back, or the agencies created after an entry).
_AGENCY_LIST = {"list": "agencies"}
_TRAIL_LIST = "audit trail"


@blueprint.get("/agencies")
@requires("registry:admin")
@requests.takes_a_query
def list_agencies() -> Response:
    """Every agency, in the order they were created."""
    args = requests.query(page_query)
    return keyset_page(
        args["cursor"],
        _AGENCY_LIST,
        args["limit"],
        lambda after, limit: agencies.list_agencies(connection(), after, limit),
    )


@blueprint.post("/agencies")
@requires("registry:admin")
def create_agency() -> Response:
    """A new agency (it can then be given keys)."""
    body = requests.body(agency_in)
    agency = agencies.create_agency(connection(), body["name"], body["country"])
    return created(agency, f"/v1/admin/agencies/{agency.id}")


@blueprint.get("/agencies/<uuid:agency_id>")
@requires("registry:admin")
def get_agency(agency_id: UUID) -> Response:
    return json_response(_agency_or_404(agency_id))


@blueprint.patch("/agencies/<uuid:agency_id>")
@requires("registry:admin")
def patch_agency(agency_id: UUID) -> Response:
    """Set, correct or clear (null) an agency's country; members left out stay as they are."""
    body = requests.body(agency_patch, requests.MERGE_PATCH_MEDIA_TYPES)
    if "country" in body:
        try:
            change = agencies.set_agency_country(connection(), agency_id, body["country"])
        except LookupError:
            raise NotFound(f"no agency with id {agency_id}") from None
        audit.agency_country_changed(change.agency_id, change.old, change.new)
    return json_response(_agency_or_404(agency_id))


@blueprint.get("/keys")
@requires("registry:admin")
@requests.takes_a_query
def list_keys() -> Response:
    """API keys, newest first (never their secrets)."""
    args = requests.query(key_query)
    filters = {"agency_id": str(args["agency_id"]) if args["agency_id"] else None}
    return keyset_page(
        args["cursor"],
        filters,
        args["limit"],
        lambda before, limit: agencies.list_api_keys(
            connection(), args["agency_id"], before, limit
        ),
    )


@blueprint.post("/keys")
@requires("registry:admin")
def create_key() -> Response:
    """A new key for an agency; the answer is the only time the key is shown."""
    body = requests.body(key_in)
    if agencies.get_agency(connection(), body["agency_id"]) is None:
        raise NotFound(f"no agency with id {body['agency_id']}")
    days = body["expires_in_days"]
    expires_at = datetime.now(UTC) + timedelta(days=days) if days else None
    issued = keys.issue(
        connection(),
        body["agency_id"],
        tuple(body["scopes"]),
        label=body["label"],
        expires_at=expires_at,
        rate_limit_per_minute=body["rate_limit_per_minute"],
    )
    audit.key_issued(
        body["agency_id"], body["scopes"], issued.record.expires_at, body["rate_limit_per_minute"]
    )
    document = {"key": issued.key, **asdict(issued.record)}
    idempotency.withhold_replay()
    return created(document, f"/v1/admin/keys/{issued.record.prefix}")


@blueprint.get("/keys/<prefix>")
@requires("registry:admin")
def get_key(prefix: str) -> Response:
    return json_response(_key_or_404(prefix))


@blueprint.post("/keys/<prefix>/revocation")
@requires("registry:admin")
def revoke_key(prefix: str) -> Response:
    """Revoke a key: the next request that presents it is refused (401). The last live key
    that can administer stays (the key making the request may be the one revoked)."""
    body = requests.body(key_revocation_in)
    _key_or_404(prefix)
    revoked = agencies.revoke_api_key(connection(), prefix, body["reason"])
    key = _key_or_404(prefix)
    if not revoked and key.revoked_at is not None:
        raise StateConflict(f"the key {prefix} was already revoked on {key.revoked_at}")
    if not revoked:
        raise StateConflict(
            f"the key {prefix} is the last live key that can administer (registry:admin): "
            "create another before revoking it"
        )
    return json_response(key)


@blueprint.get("/audit")
@requires("registry:admin")
@requests.takes_a_query
def list_audit() -> Response:
    """Audit entries, newest first, by agency, serial, case reference and time."""
    args = requests.query(audit_query)
    serial = args["serial_number"]
    filters = trail.Filters(
        agency_id=args["agency_id"],
        serial=audited_form(serial) if serial else None,
        case_reference=args["case_reference"],
        recorded_from=args["recorded_from"],
        recorded_before=args["recorded_to"],
    )
    fingerprint = {name: str(value) for name, value in asdict(filters).items() if value}
    fingerprint["list"] = _TRAIL_LIST
    return keyset_page(
        args["cursor"],
        fingerprint,
        args["limit"],
        lambda before, limit: trail.find(connection(), filters, before, limit),
    )


@blueprint.get("/audit/verify")
@requires("registry:admin")
@requests.takes_a_query
def verify_audit() -> Response:
    """Walk the chains of the audit trail, in parts, and report each entry changed, removed or
    inserted."""
    args = requests.query(audit_verify_query)
    secret = settings().secret_key
    after = cursors.decode(secret, args["cursor"], _VERIFY_WALK) if args["cursor"] else None
    seconds = max(1.0, VERIFY_SECONDS - seconds_since_start())
    try:
        part = auditing.verify_part(connection(), after, args["limit"], seconds)
    except auditing.UnknownStart as exc:
        raise InvalidInput.for_field(
            "query", "cursor", "the entry this cursor goes on from is not in the trail"
        ) from exc
    result = part.verification
    following = part.go_on_after
    return json_response(
        {
            "intact": result.intact,
            "complete": following is None,
            "entries": result.entries,
            "chains": result.chains,
            "problems": result.problems,
            "heads": result.heads,
            "next_cursor": None
            if following is None
            else cursors.encode(secret, following, _VERIFY_WALK),
        }
    )


def _agency_or_404(agency_id: UUID) -> agencies.Agency:
    agency = agencies.get_agency(connection(), agency_id)
    if agency is None:
        raise NotFound(f"no agency with id {agency_id}")
    return agency


def _key_or_404(prefix: str) -> agencies.ApiKey:
    # Past the contract's bound the prefix is malformed, not merely unknown: 400 naming it, as
    # an unknown query parameter is named (a 65-character one was "no API key with prefix").
    if len(prefix) > PREFIX_MAX_LENGTH:
        raise InvalidInput.for_field(
            "path", "prefix", f"a key's prefix is at most {PREFIX_MAX_LENGTH} characters"
        )
    # Anything that no key could have as prefix (a NUL byte, say) is looked up nowhere.
    key = agencies.get_api_key(connection(), prefix) if api_keys.is_prefix(prefix) else None
    if key is None:
        raise NotFound(f"no API key with prefix {prefix}")
    return key
