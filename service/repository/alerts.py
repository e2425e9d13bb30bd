"""The derived list of items on alert (lost, stolen, seized, or with an ALERT finding)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from psycopg import sql

from service.db import Connection
from service.domain.alerts import AlertState
from service.domain.disclosure import EVERYONE
from service.domain.ids import NEWEST
from service.domain.records import Item
from service.repository import rows
from service.repository.queries import load

SQL = load("alerts")


@dataclass(frozen=True, slots=True)
class AlertEntry:
    item: Item
    status: str
    status_since: date | None
    country: str | None
    codes: tuple[str, ...]
    revision: UUID


# Any fixed number: the advisory-lock space of alert refreshes (items, lock_items).
ITEM_LOCK_SPACE = 74_103
# And of writers of facts about certificates (lock_certificates).
CERTIFICATE_LOCK_SPACE = 74_106
# And of writers of items' events, taken before the certificates' (lock_item_writes).
ITEM_WRITE_LOCK_SPACE = 74_111


def lock_certificates(conn: Connection, euc_ids: list[UUID]) -> None:
    """Wait until no other transaction is writing facts about these certificates (exports
    under them, corrections, error declarations, revocations, consents, verifications); held
    to the end of ours. Taken before the items' locks: by a request before it stores anything,
    by an import before it derives its alert list."""
    if euc_ids:
        conn.execute(
            SQL["lock_certificates"],
            {"lock_space": CERTIFICATE_LOCK_SPACE, "euc_ids": euc_ids},
        )


def lock_items(conn: Connection, item_ids: list[UUID]) -> None:
    """Wait until no other transaction is refreshing these items (held to the end of ours)."""
    conn.execute(SQL["lock_items"], {"lock_space": ITEM_LOCK_SPACE, "item_ids": item_ids})


def lock_all_certificates(conn: Connection) -> None:
    """lock_certificates for every certificate there is (all the stripes)."""
    conn.execute(SQL["lock_all_items"], {"lock_space": CERTIFICATE_LOCK_SPACE})


def lock_all_items(conn: Connection) -> None:
    """lock_items for every item there is (all the stripes): for a transaction that stores
    every item's row."""
    conn.execute(SQL["lock_all_items"], {"lock_space": ITEM_LOCK_SPACE})


def lock_items_in(conn: Connection, table: str) -> None:
    """lock_items for every item whose id (column `id`) is in `table`, all at once: for a
    transaction that then refreshes them batch by batch."""
    query = sql.SQL(SQL["lock_items_in"]).format(table=sql.Identifier(table))
    conn.execute(query, {"lock_space": ITEM_LOCK_SPACE})


Places = Mapping[tuple[UUID, UUID], AlertState | None]


def kept_rows(places: Places) -> dict[tuple[UUID, UUID], AlertState | None]:
    """The rows the table keeps for these places: everyone's when the item is listed, and every
    agency's own (None: a row that hides the item from that agency)."""
    return {
        (item_id, audience): state
        for (item_id, audience), state in places.items()
        if state is not None or audience != EVERYONE
    }


def store(conn: Connection, places: Places) -> None:
    """Store the items' places on the lists; rows no longer needed go."""
    kept = kept_rows(places)
    items = sorted({item_id for item_id, _ in places})
    conn.execute(
        SQL["clear_alerts"],
        {
            "item_ids": items,
            "kept_items": [item_id for item_id, _ in kept],
            "kept_audiences": [audience for _, audience in kept],
        },
    )
    rows = [
        {"item_id": item_id, "audience": audience, **_columns(state)}
        for (item_id, audience), state in kept.items()
    ]
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(SQL["upsert_alert"], rows)


def _columns(state: AlertState | None) -> dict[str, object]:
    if state is None:
        return {"status": None, "status_since": None, "country": None, "category": None,
                "codes": []}  # fmt: skip
    return {
        "status": state.status,
        "status_since": state.status_since,
        "country": state.country,
        "category": state.category,
        "codes": list(state.codes),
    }


def find(
    conn: Connection,
    *,
    country: str | None,
    category: str | None,
    status: str | None,
    since: date | None,
    before: UUID | None,
    limit: int,
    viewer: UUID,
) -> list[AlertEntry]:
    params = {
        "viewer": viewer,
        "everyone": EVERYONE,
        "country": country,
        "category": category,
        "status": status,
        "since": since,
        "before": before or NEWEST,
        "limit": limit,
    }
    return [
        AlertEntry(
            rows.item(row),
            row["status"],
            row["status_since"],
            row["country"],
            tuple(row["codes"]),
            row["revision"],
        )
        for row in conn.execute(SQL["list_alerts"], params)
    ]


def everything(conn: Connection) -> dict[tuple[UUID, UUID], AlertState | None]:
    """Every stored row (to compare with a rebuild)."""
    return {
        (row["item_id"], row["audience"]): None
        if row["status"] is None
        else AlertState(
            row["status"], row["status_since"], row["country"], row["category"], tuple(row["codes"])
        )
        for row in conn.execute(SQL["all_alerts"])
    }


def item_batches(conn: Connection, size: int) -> Iterator[list[UUID]]:
    """Every item id, in batches, in id order."""
    return rows.id_batches(conn, SQL["item_ids_after"], size)


def items_under_certificate(conn: Connection, euc_id: UUID) -> list[UUID]:
    return [
        row["item_id"] for row in conn.execute(SQL["items_under_certificate"], {"euc_id": euc_id})
    ]


def items_shipped_later_on_lines(conn: Connection, event_ids: list[UUID]) -> list[UUID]:
    """Items whose EUC_QUANTITY_EXCEEDED these exports decide: those shipped after them under
    the same certificate lines."""
    return [
        row["item_id"]
        for row in conn.execute(SQL["items_shipped_later_on_lines"], {"event_ids": event_ids})
    ]


def lock_item_writes(conn: Connection, item_ids: list[UUID]) -> None:
    """Wait until no other transaction is writing events of these items (held to the end of
    ours). Taken before the certificates' locks (lock_certificates)."""
    if item_ids:
        # lock_items' stripes, in a lock space of their own
        conn.execute(SQL["lock_items"], {"lock_space": ITEM_WRITE_LOCK_SPACE, "item_ids": item_ids})


def certificates_shipping(conn: Connection, item_ids: list[UUID]) -> list[UUID]:
    """The certificates the items were shipped under."""
    if not item_ids:
        return []
    return [
        row["euc_id"] for row in conn.execute(SQL["certificates_shipping"], {"item_ids": item_ids})
    ]
