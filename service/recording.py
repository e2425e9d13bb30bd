"""Recording facts, each with what it changes that is derived: a write and the alert list it
affects are one transaction, so the list never disagrees with the ledger it comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from service import alerts, consent_shares
from service.db import Connection
from service.domain.custody import TRANSFER_TYPES
from service.domain.inputs import (
    NewConsent,
    NewConsentWithdrawal,
    NewDeliveryVerification,
    NewErrorDeclaration,
    NewEvent,
    NewRevocation,
    NewRevocationWithdrawal,
)
from service.domain.records import EndUserCertificate, EventRecord
from service.repository import alerts as alert_list
from service.repository import consent_shares as consent_share_store
from service.repository import eucs, events


@dataclass(frozen=True)
class Recorder:
    """An agency recording facts."""

    conn: Connection
    agency_id: UUID
    verification_days: int
    # an administrator may declare any agency's records erroneous, and withdraw any agency's
    # revocation or re-export consent
    administrator: bool = False

    def event(self, event: NewEvent) -> EventRecord:
        with self.conn.transaction():
            corrected = events.get(self.conn, event.corrects.event_id) if event.corrects else None
            named = _certificates(event.euc_id, _certificate_of(corrected))
            moved = [*event.item_ids, *(corrected.item_ids if corrected else ())]
            certificates = self._lock(named, moved)
            recorded = events.insert(
                self.conn, self.agency_id, event, administrator=self.administrator
            )
            changed = [recorded.id, *([corrected.id] if corrected else [])]
            self._refresh(
                [
                    *moved,  # the event's items, and the corrected event's
                    *(self._shipped_later(changed) if named else ()),
                    *self._shares_changed(
                        certificates,
                        lambda: self._may_move(event, corrected),
                        _plain_move(recorded, corrected),
                    ),
                ]
            )
        return recorded

    def error_declaration(self, event_id: UUID, declaration: NewErrorDeclaration) -> EventRecord:
        with self.conn.transaction():
            # The corrective events it names take the place of the one declared (corrected_acts
            # in schema.sql), and so do the corrections made of them since: an export among
            # them moves on its line, before the line's later exports, whose count of items
            # shipped through changes with its own.
            correctives = declaration.corrective_event_ids
            wanted = {*correctives, *events.corrections_after(self.conn, correctives)}
            read = events.get_many(self.conn, [event_id, *wanted])  # one round trip for all
            corrective = [event for event in read if event.id in wanted]
            declared_before = next((event for event in read if event.id == event_id), None)
            named = _certificates(
                _certificate_of(declared_before), *map(_certificate_of, corrective)
            )
            moved = [item for event in read for item in event.item_ids]
            certificates = self._lock(named, moved)
            declared = events.declare_erroneous(
                self.conn, self.agency_id, event_id, declaration, administrator=self.administrator
            )
            changed = [declared, *corrective]
            later = self._shipped_later([event.id for event in changed]) if named else []
            self._refresh(
                [
                    *(item for event in changed for item in event.item_ids),
                    *later,
                    *self._shares_changed(certificates),
                ]
            )
        return declared

    def revocation(self, euc_id: UUID, revocation: NewRevocation) -> EndUserCertificate:
        return self._certificate_fact(
            euc_id, lambda: eucs.revoke(self.conn, self.agency_id, euc_id, revocation)
        )

    def revocation_withdrawal(
        self, euc_id: UUID, withdrawal: NewRevocationWithdrawal
    ) -> EndUserCertificate:
        # The certificate reads as not revoked again: every item shipped under it is derived
        # again, as for a revocation.
        return self._certificate_fact(
            euc_id,
            lambda: eucs.withdraw_revocation(
                self.conn, self.agency_id, euc_id, withdrawal, administrator=self.administrator
            ),
        )

    def consent_withdrawal(
        self, euc_id: UUID, consent_id: UUID, withdrawal: NewConsentWithdrawal
    ) -> EndUserCertificate:
        # The consent covers nothing any more: every item shipped under the certificate is
        # derived again, as for a consent.
        return self._certificate_fact(
            euc_id,
            lambda: eucs.withdraw_consent(
                self.conn,
                self.agency_id,
                euc_id,
                consent_id,
                withdrawal,
                administrator=self.administrator,
            ),
        )

    def consent(self, euc_id: UUID, consent: NewConsent) -> EndUserCertificate:
        return self._certificate_fact(
            euc_id, lambda: eucs.add_consent(self.conn, self.agency_id, euc_id, consent)
        )

    def verification(
        self, euc_id: UUID, verification: NewDeliveryVerification
    ) -> EndUserCertificate:
        # A verification changes no consent's share-out (findings.steps does not read it).
        return self._certificate_fact(
            euc_id,
            lambda: eucs.add_verification(self.conn, self.agency_id, euc_id, verification),
            shares=False,
        )

    def _certificate_fact(
        self, euc_id: UUID, store: Callable[[], EndUserCertificate], *, shares: bool = True
    ) -> EndUserCertificate:
        """Store a fact about a certificate, then derive every item shipped under it again,
        under the certificate's lock: every export under it is committed and seen."""
        with self.conn.transaction():
            alert_list.lock_certificates(self.conn, [euc_id])
            euc = store()
            if shares:
                self._shares_changed([euc_id])  # its items are all derived again anyway
            self._refresh(alert_list.items_under_certificate(self.conn, euc_id))
        return euc

    def _lock(self, named: list[UUID], moved: list[UUID]) -> list[UUID]:
        """Take, before anything is stored, the locks of writers of the items' events, then of
        the certificates named and those the items were shipped under (read once the first are
        held: every other writer's shipment of the items is committed and seen); those
        certificates, whose consents of a quantity the event may share out otherwise."""
        alert_list.lock_item_writes(self.conn, moved)
        certificates = sorted({*named, *alert_list.certificates_shipping(self.conn, moved)})
        alert_list.lock_certificates(self.conn, certificates)
        return certificates

    def _shares_changed(
        self,
        certificates: list[UUID],
        needed: Callable[[], bool] = lambda: True,
        move: consent_shares.Move | None = None,
    ) -> list[UUID]:
        """Share out the certificates' consents of a quantity again (under their locks); the
        items whose shares changed."""
        today = datetime.now(UTC).date()
        derived = consent_shares.derive(
            self.conn, certificates, today, self.verification_days, needed=needed, move=move
        )
        return derived.changed_items

    def _may_move(self, event: NewEvent, corrected: EventRecord | None) -> bool:
        """Whether the event can change a consent's share-out: a move, a shipment or a
        correction can; another event only where its items moved on its day, whose order it
        can change (a recovery puts the hand-over by its holder after it). A theft report
        about an item of a large certificate does not share the consent out again."""
        if event.event_type in TRANSFER_TYPES or event.euc_id is not None or corrected:
            return True
        return consent_share_store.moved_on_day(self.conn, list(event.item_ids), event.occurred_on)

    def _shipped_later(self, event_ids: list[UUID]) -> list[UUID]:
        # An export counts towards its certificate line: the line's later exports change too.
        return alert_list.items_shipped_later_on_lines(self.conn, event_ids)

    def _refresh(self, item_ids: list[UUID]) -> None:
        today = datetime.now(UTC).date()
        alerts.refresh(self.conn, sorted(set(item_ids)), today, self.verification_days)


def _plain_move(recorded: EventRecord, corrected: EventRecord | None) -> consent_shares.Move | None:
    """The event as a move that may be the last of its items' (consent_shares.Move): an export,
    import or transfer that names no certificate (a shipment adds its items to the share-out)
    and corrects nothing (a correction takes the place of the move it corrects)."""
    if recorded.event_type not in TRANSFER_TYPES or recorded.euc is not None or corrected:
        return None
    return consent_shares.Move(recorded.id, recorded.occurred_on, tuple(recorded.item_ids))


def _certificates(*euc_ids: UUID | None) -> list[UUID]:
    """The certificates named (an event's and the one it corrects), each once."""
    return sorted({euc_id for euc_id in euc_ids if euc_id is not None})


def _certificate_of(event: EventRecord | None) -> UUID | None:
    return event.euc.id if event is not None and event.euc is not None else None
