"""/v1/parties"""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response

from service.api import requests
from service.api.auth import requires
from service.api.context import connection, principal
from service.api.responses import created, json_response
from service.domain import disclosure
from service.domain.records import Party
from service.errors import NotFound
from service.repository import parties
from service.schemas.registry import PartyIn, PartyVerificationIn

blueprint = Blueprint("parties", __name__, url_prefix="/v1/parties")
party_in = PartyIn()
party_verification_in = PartyVerificationIn()


@blueprint.post("")
@requires("registry:write")
def create_party() -> Response:
    """Record a party."""
    party = parties.insert(connection(), principal().agency.id, requests.body(party_in))
    return created(party, f"/v1/parties/{party.id}")


@blueprint.get("/<uuid:party_id>")
@requires("trace:read")
def get_party(party_id: UUID) -> Response:
    """One party, with the verifications agencies have recorded."""
    return json_response(disclosure.party_for(principal().agency.id, _party_or_404(party_id)))


@blueprint.post("/<uuid:party_id>/verifications")
@requires("registry:write")
def verify_party(party_id: UUID) -> Response:
    """Record that the caller's agency verified the party."""
    verification = requests.body(party_verification_in)
    disclosure.check_may_verify(principal().agency.id, _party_or_404(party_id))
    party = parties.add_verification(connection(), principal().agency.id, party_id, verification)
    return created(disclosure.party_for(principal().agency.id, party), f"/v1/parties/{party.id}")


def _party_or_404(party_id: UUID) -> Party:
    party = parties.get(connection(), party_id)
    if party is None:
        raise NotFound(f"no party is recorded with id {party_id}")
    return party
