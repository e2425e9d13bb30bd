"""Recording facts, each with what it changes that is derived: a write and the alert list it
affects are one transaction, so the list never disagrees with the ledger it comes from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from service import alerts
from service.db import Connection
from service.domain.inputs import (
    NewConsent,
    NewDeliveryVerification,
    NewErrorDeclaration,
    NewEvent,
    NewRevocation,
)
from service.domain.records import EndUserCertificate, EventRecord
from service.repository import alerts as alert_list
from service.repository import eucs, events


@dataclass(frozen=True)
class Recorder:
    """An agency recording facts."""

    conn: Connection
    agency_id: UUID
    verification_days: int
    # an administrator may declare any agency's records erroneous
    administrator: bool = False

    def event(self, event: NewEvent) -> EventRecord:
        with self.conn.transaction():
            recorded = events.insert(
                self.conn, self.agency_id, event, administrator=self.administrator
            )
            corrected = events.get(self.conn, event.corrects.event_id) if event.corrects else None
            touched = {*recorded.item_ids, *(corrected.item_ids if corrected else ())}
            changed = [recorded.id, *([corrected.id] if corrected else [])]
            self._refresh([*touched, *self._shipped_later(changed)])
        return recorded

    def error_declaration(self, event_id: UUID, declaration: NewErrorDeclaration) -> EventRecord:
        with self.conn.transaction():
            declared = events.declare_erroneous(
                self.conn, self.agency_id, event_id, declaration, administrator=self.administrator
            )
            self._refresh([*declared.item_ids, *self._shipped_later([declared.id])])
        return declared

    def revocation(self, euc_id: UUID, revocation: NewRevocation) -> EndUserCertificate:
        with self.conn.transaction():
            euc = eucs.revoke(self.conn, self.agency_id, euc_id, revocation)
            self._refresh_certificate(euc_id)
        return euc

    def consent(self, euc_id: UUID, consent: NewConsent) -> EndUserCertificate:
        with self.conn.transaction():
            euc = eucs.add_consent(self.conn, self.agency_id, euc_id, consent)
            self._refresh_certificate(euc_id)
        return euc

    def verification(
        self, euc_id: UUID, verification: NewDeliveryVerification
    ) -> EndUserCertificate:
        with self.conn.transaction():
            euc = eucs.add_verification(self.conn, self.agency_id, euc_id, verification)
            self._refresh_certificate(euc_id)
        return euc

    def _refresh_certificate(self, euc_id: UUID) -> None:
        self._refresh(alert_list.items_under_certificate(self.conn, euc_id))

    def _shipped_later(self, event_ids: list[UUID]) -> list[UUID]:
        # An export counts towards its certificate line: the line's later exports change too.
        return alert_list.items_shipped_later_on_lines(self.conn, event_ids)

    def _refresh(self, item_ids: list[UUID]) -> None:
        today = datetime.now(UTC).date()
        alerts.refresh(self.conn, sorted(set(item_ids)), today, self.verification_days)
