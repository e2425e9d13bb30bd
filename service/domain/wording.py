"""Counts as English says them: "1 problem", "2 problems", "0 problems"."""

from __future__ import annotations

# The record types of an import, as a count names them.
RECORD_NOUNS = {
    "party": ("party", "parties"),
    "item": ("item", "items"),
    "euc": ("end-user certificate", "end-user certificates"),
    "event": ("event", "events"),
}


def counted(count: int, singular: str, plural: str | None = None, *, grouped: bool = False) -> str:
    """The count and its noun, singular for one only; `grouped` writes thousands with commas."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {singular if count == 1 else plural or singular + 's'}"


def records(counts: dict[str, int]) -> str:
    """An import's counts per record type ("2 parties, 1 item, 0 events")."""
    return ", ".join(
        counted(n, *RECORD_NOUNS.get(kind, (kind, kind + "s"))) for kind, n in counts.items()
    )
