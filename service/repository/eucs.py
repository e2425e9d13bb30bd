"""End-user certificates, their line items, and what happens to them after issue: revocation,
re-export consents, delivery verifications."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from service.db import Connection
from service.domain import certificates
from service.domain.certificates import Usage
from service.domain.inputs import (
    NewConsent,
    NewConsentWithdrawal,
    NewDeliveryVerification,
    NewEuc,
    NewRevocation,
    NewRevocationWithdrawal,
)
from service.domain.records import (
    ConsentWithdrawal,
    DeliveryVerification,
    EndUserCertificate,
    EucLineItem,
    EucRevocation,
    ItemLink,
    PartyRef,
    ReexportConsent,
    RevocationWithdrawal,
)
from service.domain.serials import normalise_serial
from service.domain.wording import these
from service.errors import Duplicate, FieldError, NotFound, StateConflict
from service.repository import alerts as alert_list
from service.repository.queries import load
from service.repository.rows import (
    Row,
    agency_from_json,
    agency_ref,
    party_ref,
    timestamp,
    uuids,
)

SQL = load("eucs")
# The cap on consents and the items a consent or verification may name, judged by one rule of
# what shipped under a certificate (the `shipped_under` query).
_CONSENTS_CAP, _NOT_SHIPPED_UNDER = (
    sql.SQL(SQL[name]).format(shipped_under=sql.SQL(SQL["shipped_under"]))
    for name in ("consents_cap", "not_shipped_under")
)


def insert(
    conn: Connection, agency_id: UUID, euc: NewEuc, today: date | None = None
) -> EndUserCertificate:
    """Record a certificate with its lines, all or nothing."""
    with conn.transaction():
        row = conn.execute(
            SQL["insert_euc"],
            {
                "certificate_number": euc.certificate_number,
                "certificate_key": normalise_serial(euc.certificate_number),
                "issuing_country": euc.issuing_country,
                "issuing_authority": euc.issuing_authority,
                "issued_on": euc.issued_on,
                "expires_on": euc.expires_on,
                "exporter_party_id": euc.exporter_party_id,
                "end_user_party_id": euc.end_user_party_id,
                "destination_country": euc.destination_country,
                "stated_end_use": euc.stated_end_use,
                "non_reexport_clause": euc.non_reexport_clause,
                "agency_id": agency_id,
            },
        ).fetchone()
        assert row is not None
        with conn.cursor() as cursor:
            cursor.executemany(
                SQL["insert_euc_line"],
                [
                    {
                        "euc_id": row["id"],
                        "line_number": line.line_number,
                        "description": line.description,
                        "category": line.category,
                        "model": line.model,
                        "quantity": line.quantity,
                    }
                    for line in euc.line_items
                ],
            )
    return _stored(conn, row["id"], today)


def get(conn: Connection, euc_id: UUID, today: date | None = None) -> EndUserCertificate | None:
    row = conn.execute(SQL["get_euc"], {"id": euc_id}).fetchone()
    if row is None:
        return None
    end_user = party_ref(row, "end_user")
    assert isinstance(end_user, PartyRef)
    revocations = tuple(_revocation(document) for document in row["revocations"])
    revocation = next((r for r in revocations if r.withdrawal is None), None)
    return EndUserCertificate(
        id=row["id"],
        certificate_number=row["certificate_number"],
        issuing_country=row["issuing_country"],
        issuing_authority=row["issuing_authority"],
        issued_on=row["issued_on"],
        expires_on=row["expires_on"],
        exporter=party_ref(row, "exporter"),
        end_user=end_user,
        destination_country=row["destination_country"],
        stated_end_use=row["stated_end_use"],
        non_reexport_clause=row["non_reexport_clause"],
        line_items=tuple(EucLineItem(**line) for line in row["line_items"]),
        recorded_by=agency_ref(row, "recorded_by"),
        recorded_at=row["recorded_at"],
        status=certificates.status_on(
            today or datetime.now(UTC).date(),
            row["issued_on"],
            row["expires_on"],
            revocation.revoked_on if revocation else None,
        ),
        revocation=revocation,
        revocations=revocations,
        consents=tuple(_consent(document) for document in row["consents"]),
        verifications=tuple(_verification(document) for document in row["verifications"]),
        _item_links={
            UUID(item_id): ItemLink(link["open"], frozenset(uuids(link["restricted_by"])))
            for item_id, link in row["item_links"].items()
        },
    )


def find_by_number(conn: Connection, issuing_country: str, certificate_number: str) -> UUID | None:
    """The certificate with this number (compared normalised) from this issuing country."""
    row = conn.execute(
        SQL["find_by_number"],
        {
            "issuing_country": issuing_country,
            "certificate_key": normalise_serial(certificate_number),
        },
    ).fetchone()
    return None if row is None else UUID(str(row["id"]))


def revoke(
    conn: Connection,
    agency_id: UUID,
    euc_id: UUID,
    revocation: NewRevocation,
    today: date | None = None,
) -> EndUserCertificate:
    """Record a revocation by the agency that recorded the certificate, not dated before its
    issue; Duplicate while another revocation stands (withdraw it first). The caller holds the
    certificate's lock (alerts.lock_certificates), as the check of what stands needs."""
    facts = _held_by_recorder(conn, euc_id, agency_id, "record its revocation")
    _dated_after_issue(facts, "revoked_on", revocation.revoked_on, today)
    if facts["standing_id"] is not None:
        raise Duplicate(
            f"this certificate has already been revoked (from {facts['standing_revoked_on']}): "
            "withdraw that revocation first if it was recorded in error"
        )
    params = {"euc_id": euc_id, "agency_id": agency_id, **vars(revocation)}
    conn.execute(SQL["insert_revocation"], params)
    return _stored(conn, euc_id, today)


def withdraw_revocation(
    conn: Connection,
    agency_id: UUID,
    euc_id: UUID,
    withdrawal: NewRevocationWithdrawal,
    today: date | None = None,
    *,
    administrator: bool = False,
) -> EndUserCertificate:
    """Withdraw the certificate's standing revocation as recorded in error (by the agency that
    recorded the certificate, or an administrator): both records stay, and the certificate
    reads as not revoked by it. StateConflict when no revocation stands. The caller holds the
    certificate's lock."""
    facts = _facts(conn, euc_id)
    # the revocation's recorder is the certificate's: only it may revoke
    certificates.check_withdrawer(
        agency_ref(facts, "recorded_by"),
        agency_id,
        "this certificate's revocation",
        administrator=administrator,
    )
    if facts["standing_id"] is None:
        raise StateConflict("this certificate has no standing revocation to withdraw")
    conn.execute(
        SQL["insert_revocation_withdrawal"],
        {"revocation_id": facts["standing_id"], "agency_id": agency_id, **vars(withdrawal)},
    )
    return _stored(conn, euc_id, today)


def withdraw_consent(
    conn: Connection,
    agency_id: UUID,
    euc_id: UUID,
    consent_id: UUID,
    withdrawal: NewConsentWithdrawal,
    today: date | None = None,
    *,
    administrator: bool = False,
) -> EndUserCertificate:
    """Withdraw a re-export consent as recorded in error (by the agency that recorded it, or
    an administrator): both records stay, and the consent covers no re-transfer, from the
    start. StateConflict when it was withdrawn already. The caller holds the certificate's
    lock; the consent's unique withdrawal holds to one whoever writes."""
    row = conn.execute(
        SQL["consent_to_withdraw"], {"euc_id": euc_id, "consent_id": consent_id}
    ).fetchone()
    if row is None:
        raise _no_certificate(euc_id)
    if row["consent_id"] is None:
        raise NotFound(
            f"no re-export consent is recorded with id {consent_id} under this certificate"
        )
    certificates.check_withdrawer(
        agency_ref(row, "recorded_by"), agency_id, "this consent", administrator=administrator
    )
    if row["withdrawn_at"] is not None:
        raise StateConflict(
            f"this consent was withdrawn already (by {row['withdrawn_by_name']} at "
            f"{row['withdrawn_at']:%Y-%m-%d %H:%M:%S} UTC)"
        )
    conn.execute(
        SQL["insert_consent_withdrawal"],
        {"consent_id": consent_id, "agency_id": agency_id, **vars(withdrawal)},
    )
    return _stored(conn, euc_id, today)


def _no_certificate(euc_id: UUID) -> NotFound:
    return NotFound(f"no end-user certificate is recorded with id {euc_id}")


def _facts(conn: Connection, euc_id: UUID) -> Row:
    """What a fact about the certificate is checked against (the `certificate_facts` query);
    NotFound when there is no such certificate."""
    facts = conn.execute(SQL["certificate_facts"], {"id": euc_id}).fetchone()
    if facts is None:
        raise _no_certificate(euc_id)
    return facts


def _held_by_recorder(conn: Connection, euc_id: UUID, agency_id: UUID, act: str) -> Row:
    """The certificate's facts, for a revocation, its withdrawal or a re-export consent;
    PermissionDenied unless the caller's agency recorded the certificate."""
    facts = _facts(conn, euc_id)
    certificates.check_recorder(agency_ref(facts, "recorded_by"), agency_id, act)
    return facts


def _checked_verifier(conn: Connection, euc_id: UUID, agency_id: UUID) -> Row:
    """What a delivery verification is checked against (the `delivery_verifiers` query), once
    the agency is found to be one that may record it; NotFound when there is no such
    certificate, PermissionDenied for an agency that may not."""
    row = conn.execute(
        SQL["delivery_verifiers"], {"euc_id": euc_id, "agency_id": agency_id}
    ).fetchone()
    if row is None:
        raise _no_certificate(euc_id)
    verifiers = certificates.Verifiers(
        recorded_by=agency_ref(row, "recorded_by"),
        issuing_country=row["issuing_country"],
        destination_country=row["destination_country"],
        exporting_country=row["exporting_country"],
    )
    certificates.check_verifier(verifiers, agency_id, row["agency_country"])
    return row


def _dated_after_issue(facts: Row, field: str, on: date, today: date | None) -> None:
    certificates.check_after_issue(field, facts["issued_on"], on, today or datetime.now(UTC).date())


def add_consent(
    conn: Connection,
    agency_id: UUID,
    euc_id: UUID,
    consent: NewConsent,
    today: date | None = None,
) -> EndUserCertificate:
    """Record a re-export consent by the agency that recorded the certificate (and the items it
    names, which must have been shipped under the certificate). A consent makes a re-transfer
    lawful, and takes its finding off every agency's chains and the alert list: recorded by
    another agency, it could make a diversion read as consented. The standing consents may
    cover no more items than were shipped under the certificate (certificates.ConsentedItems),
    checked under the certificate's lock, so that two consents sent at once cannot both pass."""
    with conn.transaction():
        alert_list.lock_certificates(conn, [euc_id])
        facts = _held_by_recorder(conn, euc_id, agency_id, "record a re-export consent under it")
        _dated_after_issue(facts, "granted_on", consent.granted_on, today)
        certificates.check_consent_before_revocation(
            consent.granted_on, facts["standing_revoked_on"]
        )
        standing, shipped, erroneous = _consents_cap(conn, euc_id, agency_id)
        certificates.check_consent_quantity(consent.quantity, shipped)
        _shipped_under(conn, agency_id, euc_id, consent.item_ids)
        certificates.check_consents_cap(
            standing, consent.quantity, consent.item_ids, shipped, erroneous
        )
        fields = {key: value for key, value in vars(consent).items() if key != "item_ids"}
        row = conn.execute(
            SQL["insert_consent"], {"euc_id": euc_id, "agency_id": agency_id, **fields}
        ).fetchone()
        assert row is not None
        if consent.item_ids:
            conn.execute(
                SQL["insert_consent_items"],
                {"consent_id": row["id"], "item_ids": list(consent.item_ids)},
            )
    return _stored(conn, euc_id, today)


def _consents_cap(
    conn: Connection, euc_id: UUID, agency_id: UUID
) -> tuple[certificates.ConsentedItems, int, tuple[certificates.ErroneousEvent, ...]]:
    """What the standing consents under the certificate cover, how many items were shipped
    under it, and the erroneous events that took items off, of the events the agency may know
    of (the `consents_cap` query)."""
    cap = conn.execute(_CONSENTS_CAP, {"euc_id": euc_id, "agency_id": agency_id}).fetchone()
    assert cap is not None
    standing = certificates.ConsentedItems(
        frozenset(cap["named"]), int(cap["by_quantity"]), cap["every_item"]
    )
    erroneous = tuple(
        certificates.ErroneousEvent(
            UUID(event["id"]), event["event_type"], date.fromisoformat(event["occurred_on"])
        )
        for event in cap["erroneous"]
    )
    return standing, int(cap["shipped"]), erroneous


def add_verification(
    conn: Connection,
    agency_id: UUID,
    euc_id: UUID,
    verification: NewDeliveryVerification,
    today: date | None = None,
) -> EndUserCertificate:
    """Record a delivery verification (and the items seen, shipped under the certificate) by the
    certificate's recorder or an agency of the importing or exporting state;
    PermissionDenied for any other agency."""
    with conn.transaction():
        facts = _checked_verifier(conn, euc_id, agency_id)
        _dated_after_issue(facts, "verified_on", verification.verified_on, today)
        _shipped_under(conn, agency_id, euc_id, verification.item_ids)
        fields = {key: value for key, value in vars(verification).items() if key != "item_ids"}
        row = conn.execute(
            SQL["insert_verification"], {"euc_id": euc_id, "agency_id": agency_id, **fields}
        ).fetchone()
        assert row is not None
        if verification.item_ids:
            conn.execute(
                SQL["insert_verification_items"],
                {"verification_id": row["id"], "item_ids": list(verification.item_ids)},
            )
    return _stored(conn, euc_id, today)


def usage(conn: Connection, euc: EndUserCertificate, viewer: UUID) -> Usage:
    """Per line: authorised, shipped (by standing exports), remaining, and the items the viewer
    may see; and what the standing consents cover, as the cap counts them for the viewer."""
    lines = tuple(
        certificates.line_usage(
            row["line_number"],
            row["description"],
            row["authorised"],
            int(row["shipped"]),
            tuple(row["item_ids"]),
        )
        for row in conn.execute(SQL["usage"], {"euc_id": euc.id, "viewer": viewer})
    )
    cover = certificates.consent_cover(*_consents_cap(conn, euc.id, viewer))
    return Usage(euc.id, euc.certificate_number, euc.status, lines, cover)


def _shipped_under(
    conn: Connection, agency_id: UUID, euc_id: UUID, item_ids: tuple[UUID, ...]
) -> None:
    """StateConflict unless every item was shipped under the certificate by an event the agency
    may know of (see the `shipped_under` and `not_shipped_under` queries)."""
    if not item_ids:
        return
    row = conn.execute(
        _NOT_SHIPPED_UNDER, {"ids": list(item_ids), "euc_id": euc_id, "agency_id": agency_id}
    ).fetchone()
    if row is not None and row["missing"]:
        missing: list[UUID] = row["missing"]
        raise StateConflict(
            f"no event under this certificate covers {these(missing, 'item', 'items')}",
            [FieldError("body", "item_ids", f"no event under this certificate covers item {item}")
             for item in missing],
        )  # fmt: skip


def _stored(conn: Connection, euc_id: UUID, today: date | None = None) -> EndUserCertificate:
    stored = get(conn, euc_id, today)
    assert stored is not None
    return stored


def _revocation(document: dict[str, Any]) -> EucRevocation:
    withdrawal = document["withdrawal"]
    return EucRevocation(
        id=UUID(document["id"]),
        revoked_on=date.fromisoformat(document["revoked_on"]),
        reason=document["reason"],
        recorded_by=agency_from_json(document["recorded_by"]),
        recorded_at=timestamp(document["recorded_at"]),
        withdrawal=None
        if withdrawal is None
        else RevocationWithdrawal(
            id=UUID(withdrawal["id"]),
            reason=withdrawal["reason"],
            recorded_by=agency_from_json(withdrawal["recorded_by"]),
            recorded_at=timestamp(withdrawal["recorded_at"]),
        ),
    )


def _consent(document: dict[str, Any]) -> ReexportConsent:
    new_end_user = document["new_end_user_party_id"]
    withdrawal = document["withdrawal"]
    return ReexportConsent(
        id=UUID(document["id"]),
        granted_on=date.fromisoformat(document["granted_on"]),
        granted_by=document["granted_by"],
        new_end_user_party_id=UUID(new_end_user) if new_end_user else None,
        new_destination_country=document["new_destination_country"],
        quantity=document["quantity"],
        document_reference=document["document_reference"],
        item_ids=uuids(document["item_ids"]),
        recorded_by=agency_from_json(document["recorded_by"]),
        recorded_at=timestamp(document["recorded_at"]),
        withdrawal=None
        if withdrawal is None
        else ConsentWithdrawal(
            id=UUID(withdrawal["id"]),
            reason=withdrawal["reason"],
            recorded_by=agency_from_json(withdrawal["recorded_by"]),
            recorded_at=timestamp(withdrawal["recorded_at"]),
        ),
    )


def _verification(document: dict[str, Any]) -> DeliveryVerification:
    return DeliveryVerification(
        id=UUID(document["id"]),
        verified_on=date.fromisoformat(document["verified_on"]),
        verifying_authority=document["verifying_authority"],
        country=document["country"],
        notes=document["notes"],
        item_ids=uuids(document["item_ids"]),
        recorded_by=agency_from_json(document["recorded_by"]),
        recorded_at=timestamp(document["recorded_at"]),
    )
