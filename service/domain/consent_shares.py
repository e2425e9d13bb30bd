"""How a re-export consent that gives a quantity and names no items is shared out over the
items shipped under its certificate.

A consent that names its items covers those (no more than its quantity: refused at input). One
that gives a quantity and names none covers that many items: the first to need it, in the order
the moves were made across the certificate's items (by day, then by when each act was first
recorded, a correction in the place of the move it corrects; an item's own moves in its chain's
order). An item needs a consent where the findings rules read
its move as leaving what is authorised under the certificate (findings.steps: a move `BREAKS`
with no consent covering it), while the certificate stands: a move downstream of a breach, or
judged under a later certificate, needs none and takes no share. An item given a share keeps
it: its later moves within what the consent allows take no other. A move a consent with no
quantity covers, or one that names the item, takes nothing. Where several consents of a
quantity with room left cover a move, the one naming a new end user goes first, then the
earliest granted: one for a named police force is taken before one for anyone in the country,
which other moves may need. Past their quantities, the move is a re-transfer without consent
(RETRANSFER_WITHOUT_CONSENT, worded by findings._spent_said).

The share-out is derived whenever a fact about the certificate or its items' moves is recorded
(service/consent_shares.py), and stored: chains read the shares (consent_shares in schema.sql).
A move made after every other (shares_of_last_move) is shared out from the shares before it.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from service.domain.custody import TRANSFER_TYPES, acts_first_recorded
from service.domain.findings import ChainFacts, Consent, steps
from service.domain.records import CustodyEvent


@dataclass(frozen=True, slots=True, order=True)
class Share:
    """An item's share of a consent, and the move that took it."""

    consent_id: UUID
    item_id: UUID
    event_id: UUID


def share_out(
    certificate_id: UUID, limited: Sequence[Consent], chains: Mapping[UUID, ChainFacts]
) -> set[Share]:
    """The shares of the certificate's consents of a quantity (`limited`, in the order they were
    granted) among the items whose chains are given (every item that may need one)."""
    return _Shares(certificate_id, limited, set()).taken(chains, _in_move_order(chains))


def shares_of_last_move(
    certificate_id: UUID,
    limited: Sequence[Consent],
    chains: Mapping[UUID, ChainFacts],
    before: set[Share],
    event_id: UUID,
) -> set[Share]:
    """The share-out once a move (`event_id`) of the items whose chains are given is recorded,
    given the shares of the certificate's consents before it (`before`, derived over every
    other move), when the move comes after every other move of the items that may need a
    consent (a later day): it is last in the order, and the steps of the moves before it do
    not read it (findings.steps reads a chain forwards), so it can take a share, and no other
    move's share can change."""
    shares = _Shares(certificate_id, limited, before)
    moves = (
        (item_id, event)
        for item_id, chain in sorted(chains.items())
        for event in chain.standing
        if event.id == event_id
    )
    return shares.taken(chains, moves)


class _Shares:
    """Consents' room and items' shares, taken move by move in the order the moves were made."""

    def __init__(self, certificate_id: UUID, limited: Sequence[Consent], before: set[Share]):
        self.certificate_id, self.limited = certificate_id, limited
        self.shares = set(before)
        self.room = {consent.id: consent.quantity or 0 for consent in limited}
        self.held: dict[UUID, set[UUID]] = defaultdict(set)
        for share in before:
            self.room[share.consent_id] -= 1
            self.held[share.item_id].add(share.consent_id)
        # a consent naming a new end user before one for anyone in the country, then the
        # earliest granted
        self.preferred = sorted(
            limited, key=lambda c: (c.new_end_user_party_id is None, c.granted_on)
        )

    def taken(
        self, chains: Mapping[UUID, ChainFacts], moves: Iterable[tuple[UUID, CustodyEvent]]
    ) -> set[Share]:
        """The shares once the moves (in the order they were made) have taken theirs."""
        for item_id, move in moves:
            held = self.held[item_id]
            if not _needs_consent(self.certificate_id, self.limited, chains[item_id], held, move):
                continue
            open_consents = [c for c in self.preferred if self.room[c.id] > 0 and c.reaches(move)]
            if not open_consents:
                continue
            taken = open_consents[0]
            self.room[taken.id] -= 1
            held.add(taken.id)
            self.shares.add(Share(taken.id, item_id, move.id))
        return self.shares


def _in_move_order(chains: Mapping[UUID, ChainFacts]) -> Iterator[tuple[UUID, CustodyEvent]]:
    """Every standing move (export, import, transfer) of the items, across them in the order
    they were made (by day, then by when the act was first recorded: a correction in the place
    of the event it corrects, as a line's exports are counted); each item's in its chain's
    order (a day's events in the order custody passed)."""
    moves = (
        [
            ((event.occurred_on, first[event.id], event.recorded_at, event.id), item_id, event)
            for event in chain.standing
            if event.event_type in TRANSFER_TYPES
        ]
        for item_id, chain in sorted(chains.items())
        for first in (acts_first_recorded(chain.events),)
    )
    for _, item_id, event in heapq.merge(*moves, key=lambda move: move[0]):
        yield item_id, event


def _needs_consent(
    certificate_id: UUID,
    limited: Sequence[Consent],
    chain: ChainFacts,
    held: set[UUID],
    move: CustodyEvent,
) -> bool:
    """Whether the move leaves what the certificate (and the consents the item holds) allow,
    with nothing else covering it, while the certificate stands."""
    ids = {consent.id for consent in limited}
    as_held = replace(
        chain,
        consents=tuple(
            replace(consent, covers_item=consent.id in held, spent=False)
            if consent.id in ids
            else consent
            for consent in chain.consents
        ),
    )
    step = next(step for step in steps(as_held) if step.event.id == move.id)
    if step.outcome != "BREAKS" or step.before is None:
        return False
    certificate = step.before.certificate
    return certificate.id == certificate_id and certificate.in_force(move.occurred_on)
