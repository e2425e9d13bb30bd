"""The Unicode version the stored keys were folded under (schema.sql, key_folding)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service.db import Connection
from service.repository.queries import load
from service.repository.rows import Row

SQL = load("key_folding")


def folded_under(conn: Connection) -> str | None:
    """The Unicode version of the folding in force; None when none is recorded."""
    row = conn.execute(SQL["folded_under"]).fetchone()
    return None if row is None else str(row["unicode_version"])


def record(conn: Connection, unicode_version: str) -> None:
    """Record that every key is now folded under `unicode_version` (as the schema's owner)."""
    conn.execute(SQL["record_folding"], {"unicode_version": unicode_version})


# What each kind of keyed row is moved to its new keys by, and found holding them by.
_MOVE = {
    "item": SQL["move_item"],
    "certificate": SQL["move_certificate"],
    "party": SQL["move_party"],
    "manufacturer alias": SQL["move_alias"],
}
_HOLDING = {
    "item": SQL["item_holding"],
    "certificate": SQL["certificate_holding"],
    "party": SQL["party_holding"],
    "manufacturer alias": SQL["alias_holding"],
}
_TO_REFOLD = {
    "item": SQL["items_to_refold"],
    "certificate": SQL["certificates_to_refold"],
    "party": SQL["parties_to_refold"],
}
_LEDGER_TRIGGER = {
    "item": (SQL["set_aside_items_ledger_trigger"], SQL["restore_items_ledger_trigger"]),
    "certificate": (
        SQL["set_aside_certificates_ledger_trigger"],
        SQL["restore_certificates_ledger_trigger"],
    ),
    "party": (SQL["set_aside_parties_ledger_trigger"], SQL["restore_parties_ledger_trigger"]),
}
KINDS = tuple(_MOVE)


def lock_for_refolding(conn: Connection) -> None:
    """The keyed tables, for the rest of the transaction: readers go on, writers wait."""
    conn.execute(SQL["lock_for_refolding"])


def aliases(conn: Connection) -> list[Row]:
    """Every manufacturer alias: alias_key, alias, manufacturer_key."""
    return conn.execute(SQL["aliases_to_refold"]).fetchall()


def keyed_rows(conn: Connection, kind: str, batch: int) -> Iterator[Row]:
    """Every row of `kind` with its texts and keys, in the order recorded, read `batch` rows at a
    time through a server-side cursor (in the caller's transaction)."""
    with conn.cursor(name=f"refold_{kind}") as cursor:
        cursor.itersize = batch
        cursor.execute(_TO_REFOLD[kind])
        yield from cursor


def move(conn: Connection, kind: str, keys: dict[str, object]) -> bool:
    """Give a row its new keys (`keys`: its id and the keys), unless another row holds them."""
    return conn.execute(_MOVE[kind], keys).fetchone() is not None


def holding(conn: Connection, kind: str, keys: dict[str, object]) -> Row | None:
    """The row that holds the keys another was to be given: id and text."""
    return conn.execute(_HOLDING[kind], keys).fetchone()


def move_item_serials(conn: Connection, moved: list[dict[str, object]]) -> None:
    """The trigram search's copy of the keys of the items moved."""
    conn.execute(
        SQL["move_item_serials"],
        {
            "ids": [keys["id"] for keys in moved],
            "serial_norms": [keys["serial_norm"] for keys in moved],
            "manufacturer_keys": [keys["manufacturer_key"] for keys in moved],
            "model_keys": [keys["model_key"] for keys in moved],
        },
    )


@contextmanager
def ledger_trigger_set_aside(conn: Connection, kind: str) -> Iterator[None]:
    """The append-only trigger of a ledger table (items, certificates, parties) set aside while
    the block changes its keys, restored after (as the schema's owner, in the transaction)."""
    set_aside, restore = _LEDGER_TRIGGER.get(kind, (None, None))
    if set_aside is not None:
        conn.execute(set_aside)
    yield
    if restore is not None:
        conn.execute(restore)
