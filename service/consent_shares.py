"""Keeping the share-out of re-export consents of a quantity in step with the ledger.

A consent that gives a quantity and names no items covers the first items to need it
(service/domain/consent_shares.py). Which those are changes with any move of any item shipped
under its certificate, so the share-out is derived again, in the transaction that records the
fact, under the certificate's advisory lock (alerts.lock_certificates), and stored
(consent_shares): a chain reads its item's shares without reading the other items' chains. The
items whose shares changed have their alert state derived again with the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.db import Connection
from service.domain.consent_shares import Share, share_out
from service.domain.findings import Consent
from service.repository import chains
from service.repository import consent_shares as stored_shares


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
) -> Derived:
    """Share out the certificates' consents of a quantity again, and store what changed if
    `write` (the caller holds the certificates' locks). `needed` says, once some of the
    certificates are found to have such consents, whether the fact at hand can change their
    share-out at all (a theft report with no move of its items that day cannot)."""
    euc_ids = stored_shares.certificates_shared_out(conn, euc_ids) if euc_ids else []
    if not euc_ids or not needed():
        return Derived([], ())
    return _derived(conn, euc_ids, today, verification_days, write=write)


def derive_all(
    conn: Connection, today: date, verification_days: int, *, write: bool = True
) -> Derived:
    """derive() for every certificate with a consent of a quantity (`alerts rebuild`)."""
    euc_ids = stored_shares.certificates_shared_out(conn)
    return _derived(conn, euc_ids, today, verification_days, write=write)


def _derived(
    conn: Connection, euc_ids: list[UUID], today: date, verification_days: int, *, write: bool
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
        item_ids = stored_shares.items_moved_to_consented_hands(conn, euc_id)
        if any(consent.id not in marked for consent in consents):
            uncovered.update(item_ids)
        if not item_ids:
            continue
        entries = chains.by_chain(chains.ask(conn, item_ids))
        read = chains.facts_of(item_ids, entries, today, verification_days)
        after |= share_out(euc_id, consents, read)
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
