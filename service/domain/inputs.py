"""Validated input for new records, as the input schemas hand it to the repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.domain.records import ImportMarking


@dataclass(frozen=True)
class NewParty:
    name: str
    kind: str
    country: str
    registration_number: str | None = None
    address: str | None = None
    classification: str = "UNRESTRICTED"


@dataclass(frozen=True)
class NewItem:
    manufacturer: str
    model: str
    category: str
    serial_number: str
    caliber: str | None = None
    country_of_manufacture: str | None = None
    year_of_manufacture: int | None = None
    import_markings: tuple[ImportMarking, ...] = ()
    other_markings: str | None = None


@dataclass(frozen=True)
class NewEucLine:
    line_number: int
    description: str
    quantity: int
    category: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class NewEuc:
    certificate_number: str
    issuing_country: str
    issuing_authority: str
    issued_on: date
    end_user_party_id: UUID
    destination_country: str
    stated_end_use: str
    non_reexport_clause: bool
    line_items: tuple[NewEucLine, ...]
    expires_on: date | None = None
    exporter_party_id: UUID | None = None


@dataclass(frozen=True)
class NewErrorDeclaration:
    reason: str
    explanation: str
    corrective_event_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class Correction:
    """Declares, with a new event, that an earlier one was wrong."""

    event_id: UUID
    reason: str
    explanation: str


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    occurred_on: date
    country: str
    item_ids: tuple[UUID, ...]
    destination_country: str | None = None
    from_party_id: UUID | None = None
    to_party_id: UUID | None = None
    owner_party_id: UUID | None = None
    euc_id: UUID | None = None
    euc_line_number: int | None = None
    licence_number: str | None = None
    document_reference: str | None = None
    notes: str | None = None
    corrects: Correction | None = None
    classification: str = "UNRESTRICTED"


@dataclass(frozen=True)
class NewRevocation:
    revoked_on: date
    reason: str


@dataclass(frozen=True)
class NewRevocationWithdrawal:
    """The certificate's standing revocation was recorded in error: why."""

    reason: str


@dataclass(frozen=True)
class NewConsentWithdrawal:
    """A re-export consent was recorded in error: why."""

    reason: str


@dataclass(frozen=True)
class NewConsent:
    granted_on: date
    granted_by: str
    new_destination_country: str
    new_end_user_party_id: UUID | None = None
    quantity: int | None = None
    document_reference: str | None = None
    item_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class NewDeliveryVerification:
    verified_on: date
    verifying_authority: str
    country: str
    notes: str | None = None
    item_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class NewPartyVerification:
    verified_on: date
    method: str
    notes: str | None = None
