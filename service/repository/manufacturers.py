"""The manufacturers reference table and the names each goes by, read into a Directory."""

from __future__ import annotations

from service.db import Connection
from service.domain.manufacturers import Directory, Manufacturer
from service.repository.queries import load

SQL = load("manufacturers")


def directory(conn: Connection) -> Directory:
    manufacturers, by_alias_key = [], {}
    for row in conn.execute(SQL["directory"]):
        manufacturer = Manufacturer(
            row["key"], row["name"], row["country"], row["notes"], tuple(row["aliases"])
        )
        manufacturers.append(manufacturer)
        by_alias_key.update(dict.fromkeys(row["alias_keys"], manufacturer))
    return Directory(tuple(manufacturers), by_alias_key)
