"""The registry's records as the service reads them: plain, immutable dataclasses.

The repository builds them from rows; the API serialises them as they are (orjson understands
dataclasses), so their fields are the public shape of each resource and the contract in
`openapi.yaml` describes them field for field. A field whose name begins with `_` is not
serialised (orjson leaves such fields out): what the disclosure rules need to shape a record for
its reader, which no reader sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class AgencyRef:
    id: UUID
    name: str


UNRESTRICTED = "UNRESTRICTED"
RESTRICTED = "RESTRICTED"


@dataclass(frozen=True, slots=True)
class PartyRef:
    """A party as it appears inside other records."""

    id: UUID
    name: str
    kind: str
    country: str
    classification: str = UNRESTRICTED


@dataclass(frozen=True, slots=True, kw_only=True)
class RestrictedPartyRef(PartyRef):
    """A restricted party as the agency that recorded it sees it: whole, and whose it is."""

    recorded_by: AgencyRef
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RedactedParty:
    """A restricted party as agencies other than its recorder see it: that it exists, since
    when, and whom to ask (service.domain.disclosure)."""

    id: UUID
    recorded_by: AgencyRef
    recorded_at: datetime
    classification: str = RESTRICTED
    redacted: bool = True

    @property
    def name(self) -> str:
        """How finding messages name it."""
        return f"a party restricted by {self.recorded_by.name}"


ShownParty = PartyRef | RedactedParty


@dataclass(frozen=True, slots=True)
class PartyVerification:
    """An agency's check that a party is who and what it says."""

    id: UUID
    verified_on: date
    method: str
    notes: str | None
    recorded_by: AgencyRef
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Party:
    id: UUID
    name: str
    kind: str
    country: str
    registration_number: str | None
    address: str | None
    classification: str
    recorded_by: AgencyRef
    recorded_at: datetime
    verifications: tuple[PartyVerification, ...]


@dataclass(frozen=True, slots=True)
class ImportMarking:
    country: str
    year: int | None
    marking: str | None


@dataclass(frozen=True, slots=True)
class Item:
    id: UUID
    manufacturer: str
    model: str
    category: str
    caliber: str | None
    serial_number: str
    serial_normalised: str
    country_of_manufacture: str | None
    year_of_manufacture: int | None
    import_markings: tuple[ImportMarking, ...]
    other_markings: str | None
    recorded_by: AgencyRef
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class EucLineItem:
    line_number: int
    description: str
    category: str | None
    model: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class RevocationWithdrawal:
    """A revocation declared recorded in error: it no longer counts, and stays in history."""

    id: UUID
    reason: str
    recorded_by: AgencyRef
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class EucRevocation:
    id: UUID
    revoked_on: date
    reason: str
    recorded_by: AgencyRef
    recorded_at: datetime
    # set once withdrawn: the revocation then does not stand
    withdrawal: RevocationWithdrawal | None = None


@dataclass(frozen=True, slots=True)
class ItemLink:
    """How an item is known to have been shipped under a certificate: by an event every agency
    may see (`open`), or only by restricted events of the agencies `restricted_by`. A restricted
    export's link between its items and the certificate is its recorder's to disclose."""

    open: bool
    restricted_by: frozenset[UUID] = frozenset()


@dataclass(frozen=True, slots=True)
class ConsentWithdrawal:
    """A re-export consent declared recorded in error: it covers nothing, and stays in
    history."""

    id: UUID
    reason: str
    recorded_by: AgencyRef
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ReexportConsent:
    """The exporter's written consent to re-transfer items of a certificate."""

    id: UUID
    granted_on: date
    granted_by: str
    new_end_user_party_id: UUID | None
    new_destination_country: str
    quantity: int | None
    document_reference: str | None
    # the items named that the reader may know were shipped under the certificate
    item_ids: tuple[UUID, ...]
    recorded_by: AgencyRef
    recorded_at: datetime
    # set once withdrawn: the consent then covers no re-transfer
    withdrawal: ConsentWithdrawal | None = None
    # items named that the reader may not know were shipped under the certificate: counted
    withheld_items: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryVerification:
    """A post-shipment check that the goods reached the end user (items seen, if named)."""

    id: UUID
    verified_on: date
    verifying_authority: str
    country: str
    notes: str | None
    # the items seen that the reader may know were shipped under the certificate
    item_ids: tuple[UUID, ...]
    recorded_by: AgencyRef
    recorded_at: datetime
    # items seen that the reader may not know were shipped under the certificate: counted
    withheld_items: int = 0


@dataclass(frozen=True, slots=True)
class EndUserCertificate:
    id: UUID
    certificate_number: str
    issuing_country: str
    issuing_authority: str
    issued_on: date
    expires_on: date | None
    exporter: ShownParty | None
    end_user: ShownParty
    destination_country: str
    stated_end_use: str
    non_reexport_clause: bool
    line_items: tuple[EucLineItem, ...]
    recorded_by: AgencyRef
    recorded_at: datetime
    # VALID, EXPIRED or REVOKED today (service.domain.certificates)
    status: str
    # the revocation that stands (at most one), on which the status rests
    revocation: EucRevocation | None
    # every revocation recorded, withdrawn ones with their withdrawal, in the order recorded
    revocations: tuple[EucRevocation, ...]
    consents: tuple[ReexportConsent, ...]
    verifications: tuple[DeliveryVerification, ...]
    # how each item a consent or verification names is known to have been shipped under the
    # certificate (service.domain.disclosure shows the lists by it)
    _item_links: Mapping[UUID, ItemLink] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EucRef:
    """A certificate as an event cites it, with what an investigator checks at a glance."""

    id: UUID
    certificate_number: str
    issuing_country: str
    destination_country: str
    end_user_party_id: UUID
    expires_on: date | None
    non_reexport_clause: bool
    revoked_on: date | None


@dataclass(frozen=True, slots=True)
class ErrorDeclaration:
    id: UUID
    reason: str
    explanation: str
    corrective_event_ids: tuple[UUID, ...]
    declared_by: AgencyRef
    declared_at: datetime


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    id: UUID
    event_type: str
    occurred_on: date
    country: str
    destination_country: str | None
    from_party: ShownParty | None
    to_party: ShownParty | None
    owner_party: ShownParty | None
    euc: EucRef | None
    euc_line_number: int | None
    licence_number: str | None
    document_reference: str | None
    notes: str | None
    classification: str
    recorded_by: AgencyRef
    recorded_at: datetime
    # Set when a later record declared this one erroneous; the event stays in history.
    error_declaration: ErrorDeclaration | None

    @property
    def stands(self) -> bool:
        """Whether the event counts towards the chain (it has not been declared erroneous)."""
        return self.error_declaration is None


@dataclass(frozen=True, slots=True)
class EventRecord(CustodyEvent):
    """One custody event with every item it covers (GET /v1/events/{id})."""

    item_ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class RedactedEvent:
    """A restricted event as agencies other than its recorder see it: that it exists, its
    date, and whom to ask; not its type, parties, documents or references."""

    id: UUID
    occurred_on: date
    recorded_by: AgencyRef
    recorded_at: datetime
    # whether its recorder has since declared it erroneous (it then no longer counts)
    declared_erroneous: bool
    classification: str = RESTRICTED
    redacted: bool = True

    @property
    def stands(self) -> bool:
        return not self.declared_erroneous


@dataclass(frozen=True, slots=True)
class CustodyState:
    status: str
    status_since: date | None
    current_holder: ShownParty | None
    current_owner: ShownParty | None
    last_known_holder: ShownParty | None


@dataclass(frozen=True, slots=True)
class Reference:
    """A record a finding rests on: kind is event, certificate, consent, verification or
    revocation."""

    kind: str
    id: UUID


@dataclass(frozen=True, slots=True)
class Finding:
    """What is wrong with a chain (service.domain.findings), how sure we are, and the proof."""

    code: str
    severity: str
    message: str
    references: tuple[Reference, ...]


@dataclass(frozen=True, slots=True)
class CustodyChain:
    """An item, where its recorded history leaves it, that history in order, and what is wrong
    with it."""

    item: Item
    status: str
    status_since: date | None
    current_holder: ShownParty | None
    current_owner: ShownParty | None
    last_known_holder: ShownParty | None
    findings: tuple[Finding, ...]
    events: tuple[CustodyEvent | RedactedEvent, ...]
