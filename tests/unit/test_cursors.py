"""Pagination cursors: signed, bound to their filters, and refused whole when anything is off."""

from __future__ import annotations

import base64
import string
from collections.abc import Mapping
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service import cursors
from service.errors import InvalidInput

PROPERTY = settings(max_examples=50, deadline=None, database=None)

SECRET = "a-test-secret-that-is-long-enough-0123456789"
OTHER_SECRET = "another-test-secret-that-is-long-enough-9876"
FILTERS: dict[str, object] = {"serial_number": "АК-47 1234", "manufacturer": None}
URLSAFE_ALPHABET = string.ascii_letters + string.digits + "-_"

filter_values = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
filter_maps = st.dictionaries(st.text(max_size=12), filter_values, max_size=4)


def decode_error(
    cursor: str, *, secret: str = SECRET, filters: Mapping[str, object] = FILTERS
) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        cursors.decode(secret, cursor, filters)
    return caught.value


def assert_refused_as_invalid(error: InvalidInput) -> None:
    assert error.detail == "this cursor is not valid"
    ((location, field, _),) = [(e.location, e.field, e.detail) for e in error.errors]
    assert (location, field) == ("query", "cursor")


# Round trip ---------------------------------------------------------------------------------------


def test_a_cursor_decodes_to_the_key_it_was_made_with() -> None:
    after = uuid4()
    assert cursors.decode(SECRET, cursors.encode(SECRET, after, FILTERS), FILTERS) == after


@PROPERTY
@given(st.uuids(), filter_maps)
def test_round_trip(after: UUID, filters: dict[str, object]) -> None:
    cursor = cursors.encode(SECRET, after, filters)
    assert cursors.decode(SECRET, cursor, filters) == after


@PROPERTY
@given(st.uuids(), filter_maps)
def test_a_cursor_is_url_safe_and_unpadded(after: UUID, filters: dict[str, object]) -> None:
    cursor = cursors.encode(SECRET, after, filters)
    assert cursor and set(cursor) <= set(URLSAFE_ALPHABET)


def test_filter_order_does_not_matter() -> None:
    after = uuid4()
    cursor = cursors.encode(SECRET, after, {"a": 1, "b": "x"})
    assert cursors.decode(SECRET, cursor, {"b": "x", "a": 1}) == after


def test_the_same_position_and_filters_give_the_same_cursor() -> None:
    after = uuid4()
    assert cursors.encode(SECRET, after, FILTERS) == cursors.encode(SECRET, after, dict(FILTERS))


# Forgery and damage -------------------------------------------------------------------------------


def test_changing_any_character_invalidates_the_cursor() -> None:
    cursor = cursors.encode(SECRET, uuid4(), FILTERS)
    for index, original in enumerate(cursor):
        for replacement in ("A", "z", "0", "-", "_", "!", "="):
            if replacement == original:
                continue
            tampered = cursor[:index] + replacement + cursor[index + 1 :]
            assert_refused_as_invalid(decode_error(tampered))


def test_truncating_or_extending_the_cursor_invalidates_it() -> None:
    cursor = cursors.encode(SECRET, uuid4(), FILTERS)
    for damaged in (cursor[:-1], cursor[1:], cursor[: len(cursor) // 2], cursor + "A", ""):
        assert_refused_as_invalid(decode_error(damaged))


def test_a_cursor_from_another_secret_is_refused() -> None:
    cursor = cursors.encode(OTHER_SECRET, uuid4(), FILTERS)
    assert_refused_as_invalid(decode_error(cursor))


def test_a_cursor_pointing_elsewhere_cannot_be_forged_without_the_secret() -> None:
    # Splice another position into a genuine cursor's payload, keeping the genuine signature.
    genuine = base64.urlsafe_b64decode(cursors.encode(SECRET, uuid4(), FILTERS) + "==")
    other = base64.urlsafe_b64decode(cursors.encode(SECRET, uuid4(), FILTERS) + "==")
    spliced = other[:-16] + genuine[-16:]
    forged = base64.urlsafe_b64encode(spliced).rstrip(b"=").decode()
    assert_refused_as_invalid(decode_error(forged))


def test_an_unsigned_payload_is_refused() -> None:
    payload = b'{"after":"%s","filters":"0000000000000000"}' % str(uuid4()).encode()
    for token in (payload, payload + bytes(16)):
        cursor = base64.urlsafe_b64encode(token).rstrip(b"=").decode()
        assert_refused_as_invalid(decode_error(cursor))


# Reuse with other filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other_filters",
    [
        {"serial_number": "АК-47 1235", "manufacturer": None},
        {"serial_number": "АК-47 1234", "manufacturer": "FN Herstal"},
        {"serial_number": "АК-47 1234"},
        {},
    ],
)
def test_a_cursor_reused_with_other_filters_is_refused(other_filters: dict[str, object]) -> None:
    cursor = cursors.encode(SECRET, uuid4(), FILTERS)
    error = decode_error(cursor, filters=other_filters)
    assert "other filters" in error.detail
    assert [(e.location, e.field) for e in error.errors] == [("query", "cursor")]


@PROPERTY
@given(st.uuids(), filter_maps, filter_maps)
def test_other_filters_are_always_refused(
    after: UUID, made_for: dict[str, object], used_with: dict[str, object]
) -> None:
    cursor = cursors.encode(SECRET, after, made_for)
    # Typed comparison: True == 1 in Python, but not as a filter value.
    if _typed(made_for) == _typed(used_with):
        assert cursors.decode(SECRET, cursor, used_with) == after
    else:
        assert "other filters" in decode_error(cursor, filters=used_with).detail


def _typed(filters: dict[str, object]) -> dict[str, tuple[type, object]]:
    return {name: (type(value), value) for name, value in filters.items()}


# Garbage ------------------------------------------------------------------------------------------


@PROPERTY
@given(st.text(max_size=200))
def test_garbage_text_is_only_ever_invalid_input(garbage: str) -> None:
    assert_refused_as_invalid(decode_error(garbage))


@PROPERTY
@given(st.binary(max_size=200))
def test_well_encoded_garbage_is_only_ever_invalid_input(garbage: bytes) -> None:
    cursor = base64.urlsafe_b64encode(garbage).rstrip(b"=").decode()
    assert_refused_as_invalid(decode_error(cursor))


@pytest.mark.parametrize(
    "garbage", ["", "=", "====", "a", "ab", "abc", "null", "{}", "\x00", "é", "\ud800", "😀" * 10]
)
def test_garbage_examples(garbage: str) -> None:
    assert_refused_as_invalid(decode_error(garbage))


# Edge cases once wrong, now pinned ----------------------------------------------------------


@pytest.mark.parametrize("inserted", ["!", "=", " ", "\n", "*", "."])
def test_a_cursor_with_a_character_inserted_is_refused(inserted: str) -> None:
    cursor = cursors.encode(SECRET, uuid4(), FILTERS)
    middle = len(cursor) // 2
    decode_error(cursor[:middle] + inserted + cursor[middle:])


def test_a_cursor_in_the_standard_base64_alphabet_is_refused() -> None:
    cursor = cursors.encode(SECRET, uuid4(), FILTERS)
    while "-" not in cursor and "_" not in cursor:
        cursor = cursors.encode(SECRET, uuid4(), FILTERS)
    decode_error(cursor.replace("-", "+").replace("_", "/"))
