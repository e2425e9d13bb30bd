"""Keeping the share-out of re-export consents of a quantity in step with the ledger.

A consent that gives a quantity and names no items covers the first items to need it
(service/domain/consent_shares.py). Which those are changes with any move of any item shipped
under its certificate, so the share-out is derived again, in the transaction that records the
fact, under the certificate's advisory lock (alerts.lock_certificates), and stored
(consent_shares): a chain reads its item's shares without reading the other items' chains. The
items whose shares changed have their alert state derived again with the rest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.db import Connection
from service.domain.consent_shares import Share, share_out, shares_of_last_move
from service.domain.findings import ChainFacts, Consent
from service.repository import chains
from service.repository import consent_shares as stored_shares


@dataclass(frozen=True)
class Move:
    """A move just recorded (an export, import or transfer that names no certificate and
    corrects nothing): where it comes after every other move of the items that may share a
    consent with its own, only its own items' shares can change (shares_of_last_move)."""

    event_id: UUID
    occurred_on: date
    item_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class Derived:
    """The items whose shares changed, and what changed, said for `alerts rebuild`."""

    changed_items: list[UUID]
    differences: tuple[str, ...]


def derive(
    conn: Connection,
    euc_ids: list[UUID],
    today: date,
    verification_days: int,
    *,
    write: bool = True,
    needed: Callable[[], bool] = lambda: True,
    move: Move | None = None,
) -> Derived:
    """Share out the certificates' consents of a quantity again, and store what changed if
    `write` (the caller holds the certificates' locks). `needed` says, once some of the
    certificates are found to have such consents, whether the fact at hand can change their
    share-out at all (a theft report with no move of its items that day cannot); `move`, the
    move just recorded, if the fact is one (Move)."""
    euc_ids = stored_shares.certificates_shared_out(conn, euc_ids) if euc_ids else []
    if not euc_ids or not needed():
        return Derived([], ())
    return _derived(conn, euc_ids, today, verification_days, write=write, move=move)


def derive_all(
    conn: Connection, today: date, verification_days: int, *, write: bool = True
) -> Derived:
    """derive() for every certificate with a consent of a quantity (`alerts rebuild`)."""
    euc_ids = stored_shares.certificates_shared_out(conn)
    return _derived(conn, euc_ids, today, verification_days, write=write)


def _derived(
    conn: Connection,
    euc_ids: list[UUID],
    today: date,
    verification_days: int,
    *,
    write: bool,
    move: Move | None = None,
) -> Derived:
    """derive() of certificates known to have (or to have had) consents of a quantity."""
    limited = stored_shares.limited_consents(conn, euc_ids)
    by_certificate: dict[UUID, list[Consent]] = defaultdict(list)
    for consent in limited:
        by_certificate[consent.euc_id].append(consent)
    before = stored_shares.stored(conn, euc_ids)
    marked = stored_shares.marked_shared_out(conn, euc_ids)
    after: set[Share] = set()
    # A consent not shared out before covered every item (chain_entries): every item it may
    # reach is derived again, whether it takes a share or loses its cover.
    uncovered: set[UUID] = set()
    for euc_id, consents in by_certificate.items():
        shared_out = all(consent.id in marked for consent in consents)
        ids = {consent.id for consent in consents}
        had = {share for share in before if share.consent_id in ids}
        # The move's items that a consent may reach: of a plain move under consents shared out,
        # asked among its own items first.
        movers = (
            stored_shares.items_moved_to_consented_hands(conn, euc_id, move.item_ids)
            if move is not None and shared_out
            else None
        )
        if movers == []:
            # None of the move's items has a move a consent may cover (a rifle handed on within
            # the army): the share-out, which reads only the items that have, is as it was.
            after |= had
            continue
        item_ids = stored_shares.items_moved_to_consented_hands(conn, euc_id)
        if not shared_out:
            uncovered.update(item_ids)
        if not item_ids:
            continue
        if move is not None and movers and _last(conn, move, item_ids):
            # Only the move's items' chains are read: a move about an item of a certificate of
            # thousands costs what it costs under a certificate of ten.
            read = _chains(conn, movers, today, verification_days)
            derived = shares_of_last_move(euc_id, consents, read, had, move.event_id)
        else:
            derived = share_out(euc_id, consents, _chains(conn, item_ids, today, verification_days))
        if _filled(consents, had) != _filled(consents, derived):
            # A consent with room left covers every item that may need it (chain_entries): one
            # filled, or given room again, covers the others no more, or again. Read without
            # another agency's restricted move, an item's move may need it (where, read with
            # every record, it is downstream of a breach and took no share), and its alert
            # entry changes though its shares did not.
            uncovered.update(item_ids)
        after |= derived
    standing = {consent.id for consent in limited}
    if write:
        stored_shares.store_changes(conn, before, after, marked, standing)
    changed = before ^ after
    return Derived(
        sorted({share.item_id for share in changed} | uncovered),
        tuple(
            f"consent {share.consent_id}: item {share.item_id} "
            + (
                "stored as sharing it, not derived so"
                if share in before
                else "derived as sharing it, not stored so"
            )
            for share in sorted(changed)
        )
        + tuple(
            f"consent {consent_id}: not shared out yet" for consent_id in sorted(standing - marked)
        ),
    )


def _filled(consents: list[Consent], shares: set[Share]) -> set[UUID]:
    """The consents whose quantity the shares take whole."""
    taken = Counter(share.consent_id for share in shares)
    return {consent.id for consent in consents if taken[consent.id] >= (consent.quantity or 0)}


def _chains(
    conn: Connection, item_ids: list[UUID], today: date, verification_days: int
) -> dict[UUID, ChainFacts]:
    if not item_ids:
        return {}
    entries = chains.by_chain(chains.ask(conn, item_ids))
    return chains.facts_of(item_ids, entries, today, verification_days)


def _last(conn: Connection, move: Move, item_ids: list[UUID]) -> bool:
    """Whether the move comes after every other move of the items (a later day: a day's moves
    are ordered by when each act was first recorded, and by what custody.in_chain_order reads)."""
    day = stored_shares.last_other_move_day(
        conn, sorted({*item_ids, *move.item_ids}), move.event_id
    )
    return day is None or day < move.occurred_on
