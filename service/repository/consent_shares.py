"""The stored share-out of re-export consents that give a quantity and name no items
(consent_shares in schema.sql; service/consent_shares.py derives it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from service.db import Connection
from service.domain.consent_shares import Share
from service.domain.findings import Consent
from service.repository.queries import load

SQL = load("consent_shares")


def limited_consents(conn: Connection, euc_ids: list[UUID]) -> list[Consent]:
    """The standing consents under the certificates that give a quantity and name no items,
    each certificate's in the order they were granted."""
    return [
        Consent(
            id=row["id"],
            euc_id=row["euc_id"],
            granted_on=row["granted_on"],
            new_end_user_party_id=row["new_end_user_party_id"],
            new_destination_country=row["new_destination_country"],
            quantity=row["quantity"],
        )
        for row in conn.execute(SQL["limited_consents"], {"euc_ids": euc_ids})
    ]


def certificates_shared_out(conn: Connection, among: list[UUID] | None = None) -> list[UUID]:
    """The certificates (among those given, or of all) with a consent of a quantity, or whose
    consents were shared out."""
    found = conn.execute(SQL["certificates_shared_out"], {"euc_ids": among})
    return [row["euc_id"] for row in found]


def items_moved_to_consented_hands(
    conn: Connection, euc_id: UUID, among: Sequence[UUID] | None = None
) -> list[UUID]:
    """The items of the certificate (among those given, unless None) whose moves one of its
    consents of a quantity may cover."""
    params = {"euc_id": euc_id, "among": None if among is None else list(among)}
    return sorted(
        row["item_id"] for row in conn.execute(SQL["items_moved_to_consented_hands"], params)
    )


def stored(conn: Connection, euc_ids: list[UUID]) -> set[Share]:
    return {
        Share(row["consent_id"], row["item_id"], row["event_id"])
        for row in conn.execute(SQL["stored_shares"], {"euc_ids": euc_ids})
    }


def marked_shared_out(conn: Connection, euc_ids: list[UUID]) -> set[UUID]:
    return {
        row["consent_id"] for row in conn.execute(SQL["marked_shared_out"], {"euc_ids": euc_ids})
    }


def moved_on_day(conn: Connection, item_ids: list[UUID], day: date) -> bool:
    """Whether the items have a move on the day."""
    row = conn.execute(SQL["moved_on_day"], {"item_ids": item_ids, "day": day}).fetchone()
    return bool(row and row["moved"])


def last_other_move_day(conn: Connection, item_ids: list[UUID], event_id: UUID) -> date | None:
    """The day of the items' last move but the event's (None when they have none)."""
    row = conn.execute(
        SQL["last_other_move_day"], {"item_ids": item_ids, "event_id": event_id}
    ).fetchone()
    return row["day"] if row else None


def store_changes(
    conn: Connection,
    before: set[Share],
    after: set[Share],
    marked: set[UUID],
    limited: set[UUID],
) -> None:
    """Store what changed of the share-out: the shares gone, the shares new, and which
    consents are marked shared out (those that give a quantity and name no items, standing)."""
    gone = sorted(before - after)
    if gone:
        conn.execute(
            SQL["delete_shares"],
            {
                "consent_ids": [share.consent_id for share in gone],
                "item_ids": [share.item_id for share in gone],
            },
        )
    if limited - marked:
        conn.execute(SQL["mark_shared_out"], {"consent_ids": sorted(limited - marked)})
    if marked - limited:
        conn.execute(SQL["unmark_shared_out"], {"consent_ids": sorted(marked - limited)})
    new = sorted(after - before)
    if new:
        conn.execute(
            SQL["store_shares"],
            {
                "consent_ids": [share.consent_id for share in new],
                "item_ids": [share.item_id for share in new],
                "event_ids": [share.event_id for share in new],
            },
        )
