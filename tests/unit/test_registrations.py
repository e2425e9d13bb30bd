"""registration_key: one number however a clerk wrote it, and no two numbers as one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.registrations import SEPARATORS, registration_key

# No example database: the suite leaves nothing behind in the checkout.
PROPERTY = settings(max_examples=300, deadline=None, database=None)

numbers = st.text(max_size=30)
separators = st.text(st.sampled_from(SEPARATORS), max_size=3)


@pytest.mark.parametrize(
    "written",
    ["HRB 12345", "hrb12345", "HRB-12345", "ＨＲＢ１２３４５", "H.R.B./12 345", "hrb\u00a012345",
     "HRB\u201312345", "Hrb \u2212 12345", "\u3000ｈｒｂ－１２３４５"],
)  # fmt: skip
def test_spellings_of_one_number_have_one_key(written: str) -> None:
    assert registration_key(written) == "HRB12345"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("0403.451.577", "O403.451.577"),  # a letter O is not a zero, as in a serial it may be
        ("HRB 12345", "HRB 12345 B"),
        ("B123", "B-12-3-4"),
        ("ÉTAT-7", "ETAT-7"),  # accents stay: a register writes them or not, always the same
        ("ИНН 7707083893", "INN 7707083893"),  # letters of other scripts stay theirs
        ("12,345", "12345"),  # only the separators named are dropped
    ],
)
def test_other_numbers_keep_other_keys(one: str, other: str) -> None:
    assert registration_key(one) != registration_key(other)


def test_letters_of_every_script_are_upper_cased() -> None:
    assert registration_key("инн 7707083893") == registration_key("ИНН 7707083893")
    assert registration_key("straße 1") == registration_key("STRASSE 1") == "STRASSE1"
    assert registration_key("ẞ1") == registration_key("ß1")


@pytest.mark.parametrize("written", ["", " ", "-", " - / . ", "\u3000\u2014", "／．"])
def test_a_number_of_separators_alone_has_an_empty_key(written: str) -> None:
    assert registration_key(written) == ""


@PROPERTY
@given(numbers)
def test_a_key_is_its_own_key(number: str) -> None:
    key = registration_key(number)

    assert registration_key(key) == key


@PROPERTY
@given(numbers)
def test_a_key_holds_no_separator_and_no_lower_case_letter(number: str) -> None:
    key = registration_key(number)

    assert not set(key) & set(SEPARATORS)
    assert key == key.upper()


@PROPERTY
@given(st.lists(st.tuples(numbers, separators), max_size=6))
def test_separators_anywhere_do_not_change_the_key(parts: list[tuple[str, str]]) -> None:
    plain = "".join(part for part, _ in parts)
    separated = "".join(part + between for part, between in parts)

    assert registration_key(separated) == registration_key(plain)


@PROPERTY
@given(numbers)
def test_case_does_not_change_the_key(number: str) -> None:
    assert registration_key(number.lower()) == registration_key(number.upper())


@PROPERTY
@given(st.text(st.characters(codec="ascii"), max_size=30))
def test_ascii_takes_the_short_way_to_the_same_key(number: str) -> None:
    # the fast path for ASCII against the general one, fed the same number with a non-ASCII
    # character that is nothing but a separator (a no-break space)
    assert registration_key(number) == registration_key(number + "\u00a0")
