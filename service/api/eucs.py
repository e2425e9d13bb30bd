"""/v1/eucs: end-user certificates, and what happens to them after issue."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response

from service.api import audit, idempotency, requests
from service.api.auth import requires
from service.api.context import connection, principal, recorder
from service.api.responses import created, json_response
from service.domain import disclosure
from service.domain.certificates import VerificationAnswer
from service.domain.records import AgencyRef, EndUserCertificate, ReexportConsent
from service.errors import NotFound
from service.repository import eucs
from service.schemas.registry import (
    ConsentIn,
    ConsentWithdrawalIn,
    DeliveryVerificationIn,
    EucIn,
    EucVerifyQuery,
    RevocationIn,
    RevocationWithdrawalIn,
)

blueprint = Blueprint("eucs", __name__, url_prefix="/v1/eucs")
euc_in = EucIn()
revocation_in = RevocationIn()
withdrawal_in = RevocationWithdrawalIn()
consent_in = ConsentIn()
consent_withdrawal_in = ConsentWithdrawalIn()
verification_in = DeliveryVerificationIn()
verify_query = EucVerifyQuery()


@blueprint.post("")
@requires("registry:write")
def create_euc() -> Response:
    """Record an end-user certificate with its line items."""
    euc = eucs.insert(connection(), principal().agency.id, requests.body(euc_in))
    return created(_shown(euc), f"/v1/eucs/{euc.id}")


@blueprint.get("/<uuid:euc_id>")
@requires("trace:read")
def get_euc(euc_id: UUID) -> Response:
    """One end-user certificate, with its status today, consents and verifications."""
    return json_response(_shown(_euc_or_404(euc_id)))


@blueprint.get("/<uuid:euc_id>/usage")
@requires("trace:read")
def get_usage(euc_id: UUID) -> Response:
    """Per line: authorised, shipped, remaining, and the items shipped."""
    return json_response(eucs.usage(connection(), _euc_or_404(euc_id), principal().agency.id))


@blueprint.post("/<uuid:euc_id>/revocation")
@requires("registry:write")
def revoke(euc_id: UUID) -> Response:
    """Record that the certificate was revoked (the certificate itself never changes); only
    its recorder may."""
    revocation = requests.body(revocation_in)
    euc = recorder().revocation(euc_id, revocation)
    return created(_shown(euc), f"/v1/eucs/{euc.id}")


@blueprint.post("/<uuid:euc_id>/revocation/withdrawal")
@requires("registry:write")
def withdraw_revocation(euc_id: UUID) -> Response:
    """Withdraw the standing revocation as recorded in error; the certificate may be revoked
    again."""
    withdrawal = requests.body(withdrawal_in)
    euc = recorder().revocation_withdrawal(euc_id, withdrawal)
    _audited_if_overridden(euc.recorded_by, withdrawal.reason)
    return created(_shown(euc), f"/v1/eucs/{euc.id}")


@idempotency.audited_on_replay("eucs.withdraw_revocation")
def _revocation_withdrawal_replayed(euc_id: UUID) -> None:
    # the revocation's recorder is the certificate's (only it may revoke)
    _audited_if_overridden(_euc_or_404(euc_id).recorded_by, requests.body(withdrawal_in).reason)


@blueprint.post("/<uuid:euc_id>/consents/<uuid:consent_id>/withdrawal")
@requires("registry:write")
def withdraw_consent(euc_id: UUID, consent_id: UUID) -> Response:
    """Withdraw a re-export consent as recorded in error; it then covers no re-transfer."""
    withdrawal = requests.body(consent_withdrawal_in)
    euc = recorder().consent_withdrawal(euc_id, consent_id, withdrawal)
    _audited_if_overridden(_consent_of(euc, consent_id).recorded_by, withdrawal.reason)
    return created(_shown(euc), f"/v1/eucs/{euc.id}")


@idempotency.audited_on_replay("eucs.withdraw_consent")
def _consent_withdrawal_replayed(euc_id: UUID, consent_id: UUID) -> None:
    consent = _consent_of(_euc_or_404(euc_id), consent_id)
    _audited_if_overridden(consent.recorded_by, requests.body(consent_withdrawal_in).reason)


@blueprint.post("/<uuid:euc_id>/consents")
@requires("registry:write")
def add_consent(euc_id: UUID) -> Response:
    """Record the exporter's consent to re-transfer items of the certificate."""
    consent = requests.body(consent_in)
    euc = recorder().consent(euc_id, consent)
    return created(_shown(euc), f"/v1/eucs/{euc.id}")


@blueprint.post("/<uuid:euc_id>/verifications")
@requires("registry:write")
def add_verification(euc_id: UUID) -> Response:
    """Record a delivery verification: the goods reached the end user."""
    verification = requests.body(verification_in)
    euc = recorder().verification(euc_id, verification)
    return created(_shown(euc), f"/v1/eucs/{euc.id}")


@blueprint.get("/verify")
@requires("trace:read")
@requests.takes_a_query
def verify() -> Response:
    """Is a certificate with this number from this country registered, and valid today?"""
    query = requests.query(verify_query)
    number, country = query["certificate_number"], query["issuing_country"]
    euc_id = eucs.find_by_number(connection(), country, number)
    euc = eucs.get(connection(), euc_id) if euc_id else None
    if euc is not None:
        euc = _shown(euc)
    if euc is None:
        return json_response(VerificationAnswer(False, False, None, number, country))
    audit.looked_up_ids([euc.id])
    return json_response(
        VerificationAnswer(
            registered=True,
            valid=euc.status == "VALID",
            status=euc.status,
            certificate_number=euc.certificate_number,
            issuing_country=euc.issuing_country,
            euc_id=euc.id,
            issuing_authority=euc.issuing_authority,
            issued_on=euc.issued_on,
            expires_on=euc.expires_on,
            revoked_on=euc.revocation.revoked_on if euc.revocation else None,
            destination_country=euc.destination_country,
            end_user=euc.end_user,
        )
    )


def _audited_if_overridden(recorded_by: AgencyRef, reason: str) -> None:
    """An administrator's withdrawal of another agency's record is one the trail names."""
    if recorded_by.id != principal().agency.id:
        audit.overridden(recorded_by, reason)


def _consent_of(euc: EndUserCertificate, consent_id: UUID) -> ReexportConsent:
    (consent,) = (consent for consent in euc.consents if consent.id == consent_id)
    return consent


def _shown(euc: EndUserCertificate) -> EndUserCertificate:
    """The certificate with the restricted parties it names redacted for this caller."""
    return disclosure.certificate_for(principal().agency.id, euc)


def _euc_or_404(euc_id: UUID) -> EndUserCertificate:
    euc = eucs.get(connection(), euc_id)
    if euc is None:
        raise NotFound(f"no end-user certificate is recorded with id {euc_id}")
    return euc
