"""Writes a plan through the repository, replacing plan keys with the ids the database gives.

The repository functions record one record at a time and read it back; for the few hundred
records of the demo that takes well under the time budget (see the figures in `demo.load`'s
summary), so the demo needs no SQL of its own to write.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from service.db import Connection
from service.domain.inputs import NewConsent, NewDeliveryVerification, NewEuc, NewEvent
from service.repository import eucs, events, items, parties
from service.seed.plan import Plan


def write(conn: Connection, agency_id: UUID, plan: Plan) -> dict[UUID, UUID]:
    """Record every record of the plan in order; returns plan key -> recorded id."""
    ids: dict[UUID, UUID] = {}
    for key, party in plan.parties.items():
        ids[key] = parties.insert(conn, agency_id, party).id
    for key, item in plan.items.items():
        ids[key] = items.insert(conn, agency_id, item).id
    for key, euc in plan.eucs.items():
        ids[key] = eucs.insert(conn, agency_id, _euc_with(ids, euc)).id
    for key, event in plan.events.items():
        ids[key] = events.insert(conn, agency_id, _event_with(ids, event)).id
    _write_after_the_fact(conn, agency_id, plan, ids)
    return ids


def _write_after_the_fact(
    conn: Connection, agency_id: UUID, plan: Plan, ids: dict[UUID, UUID]
) -> None:
    """Revocations, consents and verifications: after the events, since those that name items
    need the items shipped under their certificate."""
    for key, revocation in plan.revocations.items():
        eucs.revoke(conn, agency_id, ids[key], revocation)
    for key, consent in plan.consents:
        eucs.add_consent(conn, agency_id, ids[key], _consent_with(ids, consent))
    for key, verification in plan.delivery_verifications:
        eucs.add_verification(conn, agency_id, ids[key], _verification_with(ids, verification))
    for key, party_verification in plan.party_verifications:
        parties.add_verification(conn, agency_id, ids[key], party_verification)


def _euc_with(ids: dict[UUID, UUID], euc: NewEuc) -> NewEuc:
    return replace(
        euc,
        end_user_party_id=ids[euc.end_user_party_id],
        exporter_party_id=_id(ids, euc.exporter_party_id),
    )


def _event_with(ids: dict[UUID, UUID], event: NewEvent) -> NewEvent:
    corrects = event.corrects
    return replace(
        event,
        item_ids=tuple(ids[key] for key in event.item_ids),
        from_party_id=_id(ids, event.from_party_id),
        to_party_id=_id(ids, event.to_party_id),
        owner_party_id=_id(ids, event.owner_party_id),
        euc_id=_id(ids, event.euc_id),
        corrects=replace(corrects, event_id=ids[corrects.event_id]) if corrects else None,
    )


def _consent_with(ids: dict[UUID, UUID], consent: NewConsent) -> NewConsent:
    return replace(
        consent,
        new_end_user_party_id=_id(ids, consent.new_end_user_party_id),
        item_ids=tuple(ids[key] for key in consent.item_ids),
    )


def _verification_with(
    ids: dict[UUID, UUID], verification: NewDeliveryVerification
) -> NewDeliveryVerification:
    return replace(verification, item_ids=tuple(ids[key] for key in verification.item_ids))


def _id(ids: dict[UUID, UUID], key: UUID | None) -> UUID | None:
    return None if key is None else ids[key]
