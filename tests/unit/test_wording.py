"""Counts and lists as English says them (service.domain.wording)."""

from __future__ import annotations

import pytest

from service.domain.wording import counted, records, some_of


@pytest.mark.parametrize(
    ("count", "said"), [(0, "0 problems"), (1, "1 problem"), (2, "2 problems"), (-1, "-1 problems")]
)
def test_one_takes_the_singular_and_every_other_count_the_plural(count: int, said: str) -> None:
    assert counted(count, "problem") == said


def test_an_irregular_plural_and_grouped_thousands() -> None:
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(12_345, "entry", "entries", grouped=True) == "12,345 entries"


def test_an_import_s_counts_name_each_record_type() -> None:
    assert records({"party": 1, "item": 2, "euc": 1, "event": 0}) == (
        "1 party, 2 items, 1 end-user certificate, 0 events"
    )


@pytest.mark.parametrize(
    ("values", "said"),
    [
        (["a"], "a"),
        (["a", "b"], "a and b"),
        (list("abcde"), "a, b, c, d and e"),
        (list("abcdef"), "a, b, c, d, e and 1 more"),
        ([str(n) for n in range(5_000)], "0, 1, 2, 3, 4 and 4,995 more"),
    ],
)
def test_a_list_names_its_first_five_and_counts_the_rest(values: list[str], said: str) -> None:
    assert some_of(values) == said
