"""Counts as English says them: "1 problem", "2 problems", "0 problems"."""

from __future__ import annotations

from collections.abc import Sequence

# How many values a list in a problem's detail names before "and N more": a detail is read on
# one line, and the values all appear in the problem's `errors`.
SHOWN = 5

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


def these(values: Sequence[object], noun: str, nouns: str) -> str:
    """'id X' for one value, else 'these 5,000 ids: a, b, c, d, e and 4,995 more'."""
    if len(values) == 1:
        return f"{noun} {values[0]}"
    return f"these {len(values):,} {nouns}: {some_of(values)}"


def some_of(values: Sequence[object], shown: int = SHOWN) -> str:
    """The first `shown` values, then how many more ("a, b and 3 more"; "a and b")."""
    named = [str(value) for value in values[:shown]]
    if len(values) > shown:
        return f"{', '.join(named)} and {len(values) - shown:,} more"
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
