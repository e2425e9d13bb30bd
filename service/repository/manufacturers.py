"""The manufacturers reference table and the names each goes by."""

from __future__ import annotations

from dataclasses import dataclass

from service.db import Connection
from service.repository.queries import load

SQL = load("manufacturers")


@dataclass(frozen=True, slots=True)
class Manufacturer:
    key: str
    name: str
    country: str | None
    notes: str | None
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Directory:
    """All manufacturers, and which one each normalised name belongs to."""

    manufacturers: tuple[Manufacturer, ...]
    by_alias_key: dict[str, Manufacturer]

    def resolve(self, name_key: str) -> Manufacturer | None:
        return self.by_alias_key.get(name_key)


def directory(conn: Connection) -> Directory:
    manufacturers, by_alias_key = [], {}
    for row in conn.execute(SQL["directory"]):
        manufacturer = Manufacturer(
            row["key"], row["name"], row["country"], row["notes"], tuple(row["aliases"])
        )
        manufacturers.append(manufacturer)
        by_alias_key.update(dict.fromkeys(row["alias_keys"], manufacturer))
    return Directory(tuple(manufacturers), by_alias_key)
