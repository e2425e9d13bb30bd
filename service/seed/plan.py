"""The demo registry as a plan: every record it will hold, checked against the registry's rules
before anything reaches the database.

Records refer to each other by plan keys (UUIDs numbered from 1) that `service.seed.writer`
replaces with the ids the database gives them. Building the plan is pure and deterministic, so
the rules it must obey are checked here, once, for every event and for every record about a
certificate or a party after the fact (revocations, consents, verifications).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from uuid import UUID

from service.domain import custody
from service.domain.inputs import (
    NewConsent,
    NewDeliveryVerification,
    NewEuc,
    NewEvent,
    NewItem,
    NewParty,
    NewPartyVerification,
    NewRevocation,
)


class Scenario(StrEnum):
    """The chains the demo shows by name: two clean ones, the others where the chain breaks
    (between them, every finding of `service.domain.findings`)."""

    CLEAN_EXPORT = "clean-export"
    CONSENTED_RETRANSFER = "consented-retransfer"
    PAST_THE_CONSENT = "past-the-consent"
    LOST = "lost"
    STOLEN = "stolen"
    RECOVERED = "recovered"
    SEIZED_ABROAD = "seized-abroad"
    RETRANSFERRED = "retransferred"
    EXPIRED_EUC = "expired-euc"
    BACKDATED_EUC = "backdated-euc"
    REVOKED_EUC = "revoked-euc"
    OVER_SHIPPED = "over-shipped"
    WRONG_DESTINATION = "wrong-destination"
    BORROWED_EUC = "borrowed-euc"
    WRONG_GOODS = "wrong-goods"
    UNVERIFIED_DELIVERY = "unverified-delivery"
    CUSTODY_GAP = "custody-gap"
    CONFLICTING_CUSTODY = "conflicting-custody"
    DESTROYED = "destroyed"
    CORRECTED = "corrected"

    @property
    def description(self) -> str:
        """What the scenario shows, in a few words."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Scenario.CLEAN_EXPORT: "export under an EUC, on a real SIPRI delivery, delivery verified",
    Scenario.CONSENTED_RETRANSFER: "handed on to a new end user with the exporter's consent",
    Scenario.PAST_THE_CONSENT: "a third rifle handed on under a consent for two",
    Scenario.LOST: "reported lost by its holder",
    Scenario.STOLEN: "stolen from its holder",
    Scenario.RECOVERED: "recovered by police after a theft",
    Scenario.SEIZED_ABROAD: "seized outside the end-use country (EUC forbids re-export)",
    Scenario.RETRANSFERRED: "sold on abroad by its end user with no consent to re-export",
    Scenario.EXPIRED_EUC: "exported after its EUC had expired",
    Scenario.BACKDATED_EUC: "exported before its EUC was issued (papers made to cover it)",
    Scenario.REVOKED_EUC: "exported after its EUC had been revoked",
    Scenario.OVER_SHIPPED: "a second shipment beyond the quantity its EUC line authorises",
    Scenario.WRONG_DESTINATION: "shipped to a country other than the EUC's destination",
    Scenario.BORROWED_EUC: "shipped by a broker under an EUC made out to another exporter",
    Scenario.WRONG_GOODS: "pistols shipped under an EUC line for assault rifles",
    Scenario.UNVERIFIED_DELIVERY: "exported years ago; no delivery verification on record",
    Scenario.CUSTODY_GAP: "custody gap: sent on by a party that never held it",
    Scenario.CONFLICTING_CUSTODY: "seized two years after it was recorded destroyed",
    Scenario.DESTROYED: "destroyed as surplus",
    Scenario.CORRECTED: "wrong transfer declared erroneous and corrected",
}


@dataclass(frozen=True)
class Example:
    """An item that shows a scenario, and the status its chain must end in."""

    scenario: Scenario
    item: UUID
    status: str


class PlanError(ValueError):
    """The plan breaks a rule of the registry: a bug in the demo data, never bad user input."""


@dataclass
class Plan:
    """Records in the order they are written; events in chain order for every item."""

    today: date
    parties: dict[UUID, NewParty] = field(default_factory=dict)
    items: dict[UUID, NewItem] = field(default_factory=dict)
    eucs: dict[UUID, NewEuc] = field(default_factory=dict)
    events: dict[UUID, NewEvent] = field(default_factory=dict)
    # Records about a certificate (by its key) or a party after the fact, written after the
    # events: a consent or a verification that names items needs them shipped under it.
    revocations: dict[UUID, NewRevocation] = field(default_factory=dict)
    consents: list[tuple[UUID, NewConsent]] = field(default_factory=list)
    delivery_verifications: list[tuple[UUID, NewDeliveryVerification]] = field(default_factory=list)
    party_verifications: list[tuple[UUID, NewPartyVerification]] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _party_keys: dict[tuple[str, str, str], UUID] = field(default_factory=dict)
    _last_event_on: dict[UUID, date] = field(default_factory=dict)

    def party(self, name: str, kind: str, country: str) -> UUID:
        """The party with this name, kind and country, added on first use."""
        identity = (name, kind, country)
        if identity not in self._party_keys:
            key = self._key()
            number = f"DEMO-{country}-{len(self._party_keys) + 1:04d}"
            self.parties[key] = NewParty(name, kind, country, registration_number=number)
            self._party_keys[identity] = key
        return self._party_keys[identity]

    def item(self, item: NewItem) -> UUID:
        """Add an item; its key."""
        key = self._key()
        self.items[key] = item
        return key

    def euc(self, euc: NewEuc) -> UUID:
        """Add a certificate whose parties are already in the plan; its key."""
        self._require(self.parties, euc.end_user_party_id, euc.exporter_party_id)
        if euc.expires_on is not None and euc.expires_on < euc.issued_on:
            raise PlanError(f"EUC {euc.certificate_number} expires before it is issued")
        key = self._key()
        self.eucs[key] = euc
        return key

    def event(self, event: NewEvent) -> UUID:
        """Add an event once it passes the API's checks and keeps every item's chain in order."""
        self._check(event)
        key = self._key()
        self.events[key] = event
        if event.corrects is None:
            self._last_event_on.update(dict.fromkeys(event.item_ids, event.occurred_on))
        return key

    def revocation(self, euc: UUID, revocation: NewRevocation) -> None:
        """Revoke a certificate of the plan; a certificate is revoked once."""
        self._after_issue(euc, revocation.revoked_on, "revoked")
        if euc in self.revocations:
            raise PlanError(f"EUC {self.eucs[euc].certificate_number} is already revoked")
        self.revocations[euc] = revocation

    def consent(self, euc: UUID, consent: NewConsent) -> None:
        """Record the exporter's consent to re-transfer items of a certificate."""
        self._after_issue(euc, consent.granted_on, "consented to")
        self._require(self.parties, consent.new_end_user_party_id)
        self._shipped_under(euc, consent.item_ids)
        self.consents.append((euc, consent))

    def delivery_verification(self, euc: UUID, verification: NewDeliveryVerification) -> None:
        """Record that goods shipped under a certificate were seen with its end user."""
        self._after_issue(euc, verification.verified_on, "verified")
        self._shipped_under(euc, verification.item_ids)
        self.delivery_verifications.append((euc, verification))

    def party_verification(self, party: UUID, verification: NewPartyVerification) -> None:
        """Record that an agency verified a party of the plan."""
        self._require(self.parties, party)
        self._happened(verification.verified_on, f"party {self.parties[party].name} verified")
        self.party_verifications.append((party, verification))

    def example(self, scenario: Scenario, item: UUID, status: str) -> None:
        """Name `item` as the one that shows `scenario`; its chain must end in `status`."""
        self._require(self.items, item)
        self.examples.append(Example(scenario, item, status))

    def _key(self) -> UUID:
        return UUID(int=next(self._keys))

    def _check(self, event: NewEvent) -> None:
        problems = self._rule_problems(event) + self._out_of_order(event)
        if problems:
            raise PlanError(f"{event.event_type} on {event.occurred_on}: " + "; ".join(problems))
        self._require(self.items, *event.item_ids)
        self._require(self.parties, event.from_party_id, event.to_party_id, event.owner_party_id)
        self._require(self.eucs, event.euc_id)
        self._require(self.events, event.corrects.event_id if event.corrects else None)

    def _rule_problems(self, event: NewEvent) -> list[str]:
        # The rules the API applies to every new event (service.domain.custody).
        draft = custody.EventDraft.of(event)
        return [f"{p.field}: {p.detail}" for p in custody.event_problems(draft, self.today)]

    def _out_of_order(self, event: NewEvent) -> list[str]:
        # A chain reads most plainly with one event of an item per day, so each falls on a later
        # day than the last. A correction takes the day of the event it corrects, which no
        # longer counts.
        if event.corrects is not None:
            return []
        return [
            f"item {item} already has an event on or after {self._last_event_on[item]}"
            for item in event.item_ids
            if item in self._last_event_on and self._last_event_on[item] >= event.occurred_on
        ]

    def _after_issue(self, euc: UUID, on: date, what: str) -> None:
        self._require(self.eucs, euc)
        certificate = self.eucs[euc]
        self._happened(on, f"EUC {certificate.certificate_number} {what}")
        if on < certificate.issued_on:
            raise PlanError(f"EUC {certificate.certificate_number} {what} before it was issued")

    def _happened(self, on: date, what: str) -> None:
        if on > self.today:
            raise PlanError(f"{what} on {on}, which is after {self.today}")

    def _shipped_under(self, euc: UUID, item_ids: tuple[UUID, ...]) -> None:
        # What the repository checks for the items a consent or a verification names.
        covered = {
            item for event in self.events.values() if event.euc_id == euc for item in event.item_ids
        }
        if not covered.issuperset(item_ids):
            number = self.eucs[euc].certificate_number
            raise PlanError(f"items named for EUC {number} were not shipped under it")

    @staticmethod
    def _require(records: Mapping[UUID, object], *keys: UUID | None) -> None:
        unknown = [key for key in keys if key is not None and key not in records]
        if unknown:
            raise PlanError(f"unknown plan keys {unknown}")
