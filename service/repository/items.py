"""Items (weapons and their markings) and the custody events recorded against each."""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from psycopg import Cursor
from psycopg.types.json import Jsonb

from service.db import Connection
from service.domain.inputs import NewItem
from service.domain.records import Item
from service.domain.serials import normalise_name, normalise_serial
from service.repository import rows
from service.repository.queries import load
from service.repository.rows import Row

SQL = load("items")
FIRST_PAGE = UUID(int=0)


def insert(conn: Connection, agency_id: UUID, item: NewItem) -> Item:
    """Record an item; the same serial, manufacturer and model twice raises UniqueViolation."""
    with conn.transaction():
        row = conn.execute(
            SQL["insert_item"],
            {
                "manufacturer": item.manufacturer,
                "manufacturer_key": normalise_name(item.manufacturer),
                "model": item.model,
                "model_key": normalise_name(item.model),
                "category": item.category,
                "caliber": item.caliber,
                "serial_number": item.serial_number,
                "serial_norm": normalise_serial(item.serial_number),
                "country_of_manufacture": item.country_of_manufacture,
                "year_of_manufacture": item.year_of_manufacture,
                "import_markings": Jsonb([asdict(m) for m in item.import_markings]),
                "other_markings": item.other_markings,
                "agency_id": agency_id,
            },
        ).fetchone()
        assert row is not None
        stored = get(conn, row["id"])
    assert stored is not None
    return stored


def get(conn: Connection, item_id: UUID) -> Item | None:
    row = conn.execute(SQL["get_item"], {"id": item_id}).fetchone()
    return None if row is None else rows.item(row)


def ask_many(conn: Connection, item_ids: list[UUID]) -> Cursor[Row]:
    """The rows of the recorded ones of these items (in pipeline mode, once read)."""
    return conn.execute(SQL["get_items"], {"ids": item_ids})


def read_many(item_rows: Cursor[Row]) -> dict[UUID, Item]:
    """The items of ask_many's rows, by id."""
    found = (rows.item(row) for row in item_rows.fetchall())
    return {item.id: item for item in found}


def find(
    conn: Connection,
    *,
    serial_number: str | None,
    manufacturer: str | None,
    after: UUID | None,
    limit: int,
) -> list[Item]:
    """Items in id order after `after`, matched on the normalised serial and manufacturer."""
    params = {
        "serial_norm": normalise_serial(serial_number) if serial_number else None,
        "manufacturer_key": normalise_name(manufacturer) if manufacturer else None,
        "after": after or FIRST_PAGE,
        "limit": limit,
    }
    if params["serial_norm"] is not None:
        query = SQL["list_items_by_serial"]
    elif params["manufacturer_key"] is not None:
        query = SQL["list_items_by_manufacturer"]
    else:
        query = SQL["list_items"]
    return [rows.item(row) for row in conn.execute(query, params)]


def missing(conn: Connection, item_ids: tuple[UUID, ...]) -> list[UUID]:
    """Those of `item_ids` that are not recorded, in their order."""
    row = conn.execute(SQL["missing_items"], {"ids": list(item_ids)}).fetchone()
    return [] if row is None or row["missing"] is None else list(row["missing"])
