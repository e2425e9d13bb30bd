"""Manufacturers and the names each goes by (the reference table, read by
service.repository.manufacturers), and which maker a name given in a trace is. Pure: no
database, no Flask."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.domain.matching import names_alike


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
    # names_alike over every alias is 2-4 ms of Python: worked out once per name asked
    _resembled: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)

    def resolve(self, name_key: str) -> Manufacturer | None:
        return self.by_alias_key.get(name_key)

    def resembled(self, name_key: str) -> frozenset[str]:
        """The keys of the manufacturers one of whose names a name not in the table reads like
        (matching.names_alike: `KALASHNIKOV`, `ISHMASH`)."""
        found = self._resembled.get(name_key)
        if found is None:
            found = frozenset(
                manufacturer.key
                for alias_key, manufacturer in self.by_alias_key.items()
                if names_alike(name_key, alias_key)
            )
            if len(self._resembled) < RESEMBLED_KEPT:
                self._resembled[name_key] = found
        return found


# Names not in the table that a process remembers what they resemble (a client sending ever new
# names must not grow it without end).
RESEMBLED_KEPT = 10_000
