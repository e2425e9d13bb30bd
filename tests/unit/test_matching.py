"""The trace matcher: how a reading is parsed, which tier a registered serial matches on, how the
rest of the description re-ranks it, and when the answer is a MATCH."""

from __future__ import annotations

import itertools
import re
import string
import time
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import matching
from service.domain.matching import (
    MIN_KNOWN,
    MIN_KNOWN_RUN,
    Assessment,
    Basis,
    Candidate,
    Difference,
    Observation,
    UnusableSerial,
    assess,
    edit_script,
    ncic,
    rank,
    read_serial,
    skeleton,
    verdict,
)
from service.domain.records import AgencyRef, ImportMarking, Item
from service.domain.serials import normalise_name, normalise_serial

# No example database: the suite leaves nothing behind in the checkout.
PROPERTY = settings(max_examples=200, deadline=None, database=None)

AGENCY = AgencyRef(uuid4(), "National Tracing Office")
AK_SERIAL = "АК 11 74094"  # Cyrillic А and К, as stamped in Izhevsk
AK_NORMALISED = "AK1174094"
CONFUSABLE_CHARACTERS = "".join(matching.CONFUSABLE_GROUPS)

# Factories ----------------------------------------------------------------------------------------

_ids = itertools.count(1)


def item(serial_number: str = AK_SERIAL, **fields: Any) -> Item:
    """A registered item as the repository returns it: an AK-74M unless told otherwise. Ids
    increase with each item made, as uuid7 ids do."""
    values: dict[str, Any] = {
        "id": UUID(int=next(_ids)),
        "manufacturer": "Kalashnikov Concern",
        "model": "AK-74M",
        "category": "ASSAULT_RIFLE",
        "caliber": "5.45x39mm",
        "serial_number": serial_number,
        "serial_normalised": normalise_serial(serial_number),
        "country_of_manufacture": "RU",
        "year_of_manufacture": 2011,
        "import_markings": (),
        "other_markings": None,
        "recorded_by": AGENCY,
        "recorded_at": datetime(2024, 1, 1, tzinfo=UTC),
    }
    values.update(fields)
    return Item(**values)


def candidate(registered: Item | None = None, manufacturer_key: str | None = None) -> Candidate:
    """A found item, recorded under its manufacturer's normalised name unless told otherwise."""
    registered = registered or item()
    return Candidate(registered, manufacturer_key or normalise_name(registered.manufacturer))


def observe(serial: str, **fields: Any) -> Observation:
    """The weapon as described; the manufacturer key is its normalised name unless told."""
    if fields.get("manufacturer") is not None:
        fields.setdefault("manufacturer_key", normalise_name(fields["manufacturer"]))
    return Observation(read_serial(serial), **fields)


def assessed(serial: str, registered: Item | None = None, **fields: Any) -> Assessment:
    assessment = assess(observe(serial, **fields), candidate(registered))
    assert assessment is not None
    return assessment


def serial_explanation(assessment: Assessment) -> str:
    serial = [d for d in assessment.differences if d.field == "serial_number"]
    assert len(serial) == 1, assessment.differences
    return serial[0].explanation


def fields_differing(assessment: Assessment) -> set[str]:
    return {d.field for d in assessment.differences}


# read_serial --------------------------------------------------------------------------------------


class TestReadSerial:
    @pytest.mark.parametrize(
        ("as_read", "normalised"),
        [
            ("AK1174094", "AK1174094"),
            ("ak-11-74094", "AK1174094"),
            (" АК 11 74094 ", "AK1174094"),  # Cyrillic look-alikes fold to Latin
            ("12", "12"),  # a plain reading needs no minimum length
        ],
    )
    def test_a_plain_reading_is_normalised_and_has_no_pattern(
        self, as_read: str, normalised: str
    ) -> None:
        reading = read_serial(as_read)

        assert reading.as_read == as_read
        assert reading.normalised == normalised
        assert reading.pattern is None
        assert not reading.has_wildcards

    @pytest.mark.parametrize(
        ("as_read", "pattern", "normalised"),
        [
            ("AK12?4", "AK12_4", "AK124"),
            ("AK12??4", "AK12__4", "AK124"),  # each ? is one character
            ("AK12*", "AK12%", "AK12"),
            ("*1234", "%1234", "1234"),
            ("AK12***4", "AK12%4", "AK124"),  # a run of * is one run
            ("ABC*?*4", "ABC%_%4", "ABC4"),
            ("ak-12?4", "AK12_4", "AK124"),  # separators and case normalised piecewise
            ("аk 1 2 * 4 -", "AK12%4", "AK124"),
            ("ＡＫ１２？４", "AK12_4", "AK124"),  # full-width, as an East Asian keyboard types
            ("AK12＊", "AK12%", "AK12"),
            ("AK12\ufe564", "AK12_4", "AK124"),  # the small question mark
        ],
    )
    def test_wildcards_become_a_like_pattern(
        self, as_read: str, pattern: str, normalised: str
    ) -> None:
        reading = read_serial(as_read)

        assert reading.pattern == pattern
        assert reading.normalised == normalised
        assert reading.has_wildcards

    @pytest.mark.parametrize(
        "as_read",
        [
            "",
            "   ",
            "-/.",
            "?",
            "*",
            "??**",
            "-?-*-",
        ],
    )
    def test_a_reading_with_no_readable_character_is_refused(self, as_read: str) -> None:
        with pytest.raises(UnusableSerial, match="no readable letter or digit"):
            read_serial(as_read)

    @pytest.mark.parametrize(
        "as_read",
        [
            "ABC*",  # 3 known: fewer than MIN_KNOWN
            "*A-B-C*",
            "AB?C",
            "AB*CD",  # 4 known, but no run of 3
            "A?B?C?D?E",
            "AB-*-12",  # separators do not make a run
        ],
    )
    def test_a_partial_reading_with_too_little_known_is_refused(self, as_read: str) -> None:
        with pytest.raises(UnusableSerial, match="whole registry"):
            read_serial(as_read)

    def test_the_limits_are_the_documented_ones(self) -> None:
        assert (MIN_KNOWN, MIN_KNOWN_RUN) == (4, 3)
        # Exactly at the limits: accepted.
        assert read_serial("ABC?D").pattern == "ABC_D"
        assert read_serial("*ABCD").pattern == "%ABCD"

    def test_too_little_known_is_only_a_rule_for_partial_readings(self) -> None:
        assert read_serial("AB").normalised == "AB"

    @PROPERTY
    # The wildcards as any keyboard types them (full-width and small forms too: a full-width
    # "＊" is a wildcard, and a reading holding one has a pattern).
    @given(
        st.text(max_size=30).filter(lambda text: not set(text) & set("?*\uff1f\ufe56\uff0a\ufe61"))
    )
    def test_a_reading_without_wildcards_is_its_normalised_serial(self, as_read: str) -> None:
        normalised = normalise_serial(as_read)
        if not normalised:
            with pytest.raises(UnusableSerial):
                read_serial(as_read)
            return
        reading = read_serial(as_read)

        assert reading.normalised == normalised
        assert reading.pattern is None

    @PROPERTY
    @given(
        st.lists(
            st.one_of(
                st.sampled_from(["?", "*"]),
                st.text(st.sampled_from(string.ascii_letters + string.digits + "-/ "), max_size=5),
            ),
            max_size=8,
        )
    )
    def test_a_reading_is_refused_exactly_when_too_little_of_it_is_known(
        self, pieces: list[str]
    ) -> None:
        as_read = "".join(pieces)
        # What was read between the wildcards, each stretch normalised on its own.
        stretches = [normalise_serial(stretch) for stretch in re.split(r"[?*]", as_read)]
        known = "".join(stretches)
        partial = len(stretches) > 1
        searchable = bool(known) and (
            not partial or (len(known) >= MIN_KNOWN and max(map(len, stretches)) >= MIN_KNOWN_RUN)
        )

        if not searchable:
            with pytest.raises(UnusableSerial):
                read_serial(as_read)
            return
        reading = read_serial(as_read)

        assert reading.normalised == known
        assert reading.has_wildcards == partial
        if reading.pattern is not None:
            # The pattern, with its wildcards taken out, is the known characters in order.
            assert re.sub("[_%]", "", reading.pattern) == known
            assert reading.pattern.count("_") == as_read.count("?")
            assert ("%" in reading.pattern) == ("*" in as_read)
            assert "%%" not in reading.pattern


# skeleton and ncic --------------------------------------------------------------------------------


class TestSkeleton:
    @pytest.mark.parametrize(
        ("serial", "expected"),
        [
            ("OQD0", "0000"),
            ("IL1", "111"),
            ("S5", "55"),
            ("B8", "88"),
            ("Z2", "22"),
            ("G6", "66"),
            ("AK1174094", "AK1174094"),  # nothing confusable
            ("BOSS", "8055"),
            ("XYZ-ÄБ", "XY2-ÄБ"),  # only the listed Latin capitals change
            ("", ""),
        ],
    )
    def test_confusable_characters_read_as_one(self, serial: str, expected: str) -> None:
        assert skeleton(serial) == expected

    def test_every_confusable_group_reads_as_its_digit(self) -> None:
        for group in matching.CONFUSABLE_GROUPS:
            assert group[0].isdigit()
            assert {skeleton(char) for char in group} == {group[0]}

    @PROPERTY
    @given(st.text(st.sampled_from(CONFUSABLE_CHARACTERS + "AKX379"), max_size=20))
    def test_the_skeleton_is_its_own_skeleton(self, serial: str) -> None:
        once = skeleton(serial)

        assert skeleton(once) == once
        assert len(once) == len(serial)
        assert not set(once) & set("OQDILSBZG")


class TestNcic:
    @pytest.mark.parametrize(
        ("serial", "expected"),
        [
            ("12A34", "1234"),
            ("12ABC34", "1234"),
            ("1A2B3", "123"),
            ("A1234B", "A1234B"),  # letters at the ends are kept
            ("AB12C", "AB12C"),
            ("A1B", "A1B"),
            ("ABC", "ABC"),
            ("1234", "1234"),
            ("AK1174X094", "AK1174094"),
            ("12Б34", "1234"),  # any letter, of any script
            ("", ""),
        ],
    )
    def test_letters_between_digits_are_left_out(self, serial: str, expected: str) -> None:
        assert ncic(serial) == expected

    @PROPERTY
    @given(st.text(st.sampled_from("0123456789ABXYZБ"), max_size=20))
    def test_ncic_is_idempotent_and_keeps_every_digit(self, serial: str) -> None:
        once = ncic(serial)

        assert ncic(once) == once
        assert [c for c in once if c.isdigit()] == [c for c in serial if c.isdigit()]
        # Letters before the first digit and after the last one stay.
        letters = string.ascii_uppercase + "Б"
        assert once.startswith(serial[: len(serial) - len(serial.lstrip(letters))])
        assert once.endswith(serial[len(serial.rstrip(letters)) :])
        assert not re.search(r"[0-9][^0-9]+[0-9]", once)


# one_edit_away ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, database=None)
@given(st.text("AB12", min_size=1, max_size=4))
def test_one_edit_away_is_every_serial_one_edit_away(serial: str) -> None:
    # Over the reading's alphabet and one character more: the serials of distance one among all
    # those at most one character longer or shorter.
    neighbours = matching.one_edit_away(serial)
    alphabet = "AB12C"
    lengths = range(max(len(serial) - 1, 1), len(serial) + 2)
    near = {
        "".join(letters)
        for length in lengths
        for letters in itertools.product(alphabet, repeat=length)
        if osa_distance("".join(letters), serial) == 1
    }

    assert near <= neighbours
    assert all(osa_distance(other, serial) == 1 for other in neighbours)


# swaps_and_gaps, swapped_twice -------------------------------------------------------------------


def test_swaps_and_gaps_are_each_pair_of_unlike_neighbours_in_the_other_order() -> None:
    assert matching.swaps_and_gaps("K729") == [("7K29", "7_K29"), ("K279", "K2_79"),
                                               ("K792", "K79_2")]  # fmt: skip
    assert matching.swaps_and_gaps("A11") == [("1A1", "1_A1")]  # the ones alike: no swap


def test_swapped_twice_swaps_two_pairs_apart() -> None:
    # OSA swaps no character twice: "K279" is "K729" with (K,7) and then (7,2) swapped, not two
    # transpositions of it.
    assert matching.swapped_twice("K7294") == {"7K924", "7K249", "K2749"}
    assert matching.swapped_twice("AB" * 33) == set()  # past SWAPPED_TWICE_LONGEST
    assert len(matching.swapped_twice("ABCDEFGHIJKLMNOPQRST")) == 153


def within_two_as_the_maker_search_reads(read: str, registered: str) -> bool:
    """What traces.sql's maker_near_miss_candidates keeps, in Python: within two Levenshtein
    edits (which counts a transposition twice); a form with two pairs swapped; or within one of
    a form with one pair swapped, but for a character put between that pair (LIKE's `_`)."""
    return (
        levenshtein(read, registered) <= 2
        or registered in matching.swapped_twice(read)
        or any(
            levenshtein(swapped, registered) <= 1 and not _like(registered, apart)
            for swapped, apart in matching.swaps_and_gaps(read)
        )
    )


def _like(text: str, pattern: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace("_", "."), text) is not None


@cache
def levenshtein(a: str, b: str) -> int:
    if not a or not b:
        return len(a) + len(b)
    return min(
        levenshtein(a[1:], b[1:]) + (a[0] != b[0]),
        levenshtein(a[1:], b) + 1,
        levenshtein(a, b[1:]) + 1,
    )


@settings(max_examples=40, deadline=None, database=None)
@given(st.text("AB1", min_size=1, max_size=4))
def test_the_maker_search_keeps_exactly_the_serials_within_two_edits(read: str) -> None:
    # Every serial over the reading's alphabet and one character more, up to two longer or
    # shorter: the search's test keeps those within two edits of optimal string alignment (two
    # transpositions being two edits, four of Levenshtein's), and no other: a pair swapped with
    # a character put between them (`12` read, `2A1` registered) is three.
    alphabet = "AB1C"
    lengths = range(max(len(read) - 2, 1), len(read) + 3)
    for length in lengths:
        for letters in itertools.product(alphabet, repeat=length):
            registered = "".join(letters)
            near = osa_distance(read, registered) <= 2
            assert within_two_as_the_maker_search_reads(read, registered) == near, registered


# edit_script --------------------------------------------------------------------------------------


@cache
def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment, from the front: every way to align the first characters (a
    match, a substitution, an extra or missing character, or an adjacent pair swapped), then the
    best alignment of the rest. No character takes part in more than one edit."""
    if not a or not b:
        return len(a) + len(b)
    options = [
        osa_distance(a[1:], b[1:]) + (a[0] != b[0]),
        osa_distance(a[1:], b) + 1,
        osa_distance(a, b[1:]) + 1,
    ]
    if len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0]:
        options.append(osa_distance(a[2:], b[2:]) + 1)
    return min(options)


_EDIT_WORDS = {
    "substitute": re.compile(r"character (\d+) read as '(.)', registered '(.)'"),
    "extra": re.compile(r"an extra '(.)' read at character (\d+)"),
    "missing": re.compile(r"registered '(.)' \(character (\d+)\) was not read"),
    "transpose": re.compile(
        r"characters (\d+) and (\d+) read in the other order \('(..)', registered '(..)'\)"
    ),
}


def apply_edits(read: str, edits: list[str]) -> str:
    """Carry out the edits as an examiner would from their wording, on the reading. Positions of
    substitutions, omissions and transpositions count in the registered serial, of extra
    characters in the reading; characters between edits are copied as read."""
    out: list[str] = []
    at = 0  # the next character of the reading

    def copy_until(
        *, registered_position: int | None = None, read_position: int | None = None
    ) -> None:
        nonlocal at
        while (registered_position is not None and len(out) < registered_position) or (
            read_position is not None and at < read_position
        ):
            assert at < len(read), (read, edits)
            out.append(read[at])
            at += 1
        assert registered_position is None or len(out) == registered_position, (read, edits)

    for edit in edits:
        if found := _EDIT_WORDS["substitute"].fullmatch(edit):
            position, seen, kept = int(found[1]), found[2], found[3]
            copy_until(registered_position=position - 1)
            assert read[at] == seen != kept, (read, edits)
            out.append(kept)
            at += 1
        elif found := _EDIT_WORDS["extra"].fullmatch(edit):
            seen, position = found[1], int(found[2])
            copy_until(read_position=position - 1)
            assert read[at] == seen, (read, edits)
            at += 1
        elif found := _EDIT_WORDS["missing"].fullmatch(edit):
            kept, position = found[1], int(found[2])
            copy_until(registered_position=position - 1)
            out.append(kept)
        elif found := _EDIT_WORDS["transpose"].fullmatch(edit):
            first, second, seen, kept = int(found[1]), int(found[2]), found[3], found[4]
            assert second == first + 1
            copy_until(registered_position=first - 1)
            assert read[at : at + 2] == seen and seen[::-1] == kept != seen, (read, edits)
            out.extend(kept)
            at += 2
        else:
            raise AssertionError(f"an edit in unknown words: {edit!r}")
    return "".join(out) + read[at:]


short_serials = st.text(st.sampled_from("AB1"), max_size=6)


class TestEditScript:
    @PROPERTY
    @given(short_serials, short_serials, st.integers(min_value=0, max_value=3))
    def test_the_script_has_exactly_the_osa_distance_or_is_none(
        self, read: str, registered: str, limit: int
    ) -> None:
        distance = osa_distance(read, registered)

        edits = edit_script(read, registered, limit)

        if distance > limit:
            assert edits is None
        else:
            assert edits is not None
            assert len(edits) == distance

    @PROPERTY
    @given(short_serials, short_serials)
    def test_the_edits_turn_the_reading_into_the_registered_serial(
        self, read: str, registered: str
    ) -> None:
        edits = edit_script(read, registered, limit=12)

        assert edits is not None
        assert apply_edits(read, edits) == registered

    @PROPERTY
    @given(st.text(st.sampled_from("AB12"), min_size=1, max_size=8), st.data())
    def test_up_to_two_random_edits_are_found(self, registered: str, data: st.DataObject) -> None:
        # Two independent mistakes: the second is made from the end backwards, away from the
        # first, since optimal string alignment does not edit a character twice (a character
        # dropped and then swapped across the gap costs three, as documented in matching.py).
        read = registered
        edit_from = len(read)
        for _ in range(data.draw(st.integers(0, 2))):
            kind = data.draw(st.sampled_from(["substitute", "extra", "missing", "transpose"]))
            if edit_from < 1:
                break
            at = data.draw(st.integers(0, edit_from - 1))
            edit_from = max(at - 2, 0)
            if kind == "substitute" and read:
                read = read[:at] + data.draw(st.sampled_from("AB12")) + read[at + 1 :]
            elif kind == "extra":
                read = read[:at] + data.draw(st.sampled_from("AB12")) + read[at:]
            elif kind == "missing" and len(read) > 1:
                read = read[:at] + read[at + 1 :]
            elif kind == "transpose" and at + 1 < len(read):
                read = read[:at] + read[at + 1] + read[at] + read[at + 2 :]

        edits = edit_script(read, registered)

        assert edits is not None
        assert len(edits) == osa_distance(read, registered) <= 2
        assert apply_edits(read, edits) == registered

    def test_identical_serials_need_no_edit(self) -> None:
        assert edit_script("AK1174094", "AK1174094") == []

    @pytest.mark.parametrize(
        ("read", "registered", "expected"),
        [
            ("AK1175094", "AK1174094", ["character 6 read as '5', registered '4'"]),
            ("AK117409", "AK1174094", ["registered '4' (character 9) was not read"]),
            (
                "AK11740Y94",
                "AK1174094",
                ["an extra 'Y' read at character 8"],
            ),
            (
                "XAK1174094",
                "AK1174094",
                ["an extra 'X' read at character 1"],
            ),
            (
                "AK1174049",
                "AK1174094",
                ["characters 8 and 9 read in the other order ('49', registered '94')"],
            ),
            (
                "BK1175094",
                "AK1174094",
                [
                    "character 1 read as 'B', registered 'A'",
                    "character 6 read as '5', registered '4'",
                ],
            ),
            (
                "K1174049",
                "AK1174094",
                [
                    "registered 'A' (character 1) was not read",
                    "characters 8 and 9 read in the other order ('49', registered '94')",
                ],
            ),
        ],
    )
    def test_worked_examples(self, read: str, registered: str, expected: list[str]) -> None:
        assert edit_script(read, registered) == expected
        assert apply_edits(read, expected) == registered

    @pytest.mark.parametrize(
        ("read", "registered"),
        [
            ("BK1175095", "AK1174094"),  # three substitutions
            ("KA1175049", "AK1174094"),  # two transpositions and a substitution
            ("AK1174O94XY", "AK1174094"),  # a substitution and two extra
        ],
    )
    def test_three_edits_is_none(self, read: str, registered: str) -> None:
        assert osa_distance(read, registered) == 3
        assert edit_script(read, registered) is None

    @pytest.mark.parametrize(
        ("read", "registered"), [("AK1", "AK1174"), ("AK1174094XYZ", "AK1174094"), ("", "ABC")]
    )
    def test_lengths_more_than_two_apart_is_none(self, read: str, registered: str) -> None:
        assert edit_script(read, registered) is None

    def test_a_transposition_counts_as_one_edit_but_osa_never_edits_a_character_twice(
        self,
    ) -> None:
        # "CA" -> "ABC" is two edits if a swapped pair may be edited again (Damerau), three in
        # optimal string alignment, which is what the matcher uses.
        assert osa_distance("CA", "ABC") == 3
        assert edit_script("CA", "ABC", limit=2) is None
        assert edit_script("CA", "ABC", limit=3) is not None

    def test_the_limit_can_be_raised(self) -> None:
        assert edit_script("ABCDEFGHIJ", "ABCDEFGHIJKLM") is None
        assert edit_script("ABCDEFGHIJ", "ABCDEFGHIJKLM", limit=3) == [
            "registered 'K' (character 11) was not read",
            "registered 'L' (character 12) was not read",
            "registered 'M' (character 13) was not read",
        ]


# assess: the serial's tier ------------------------------------------------------------------------


class TestTiers:
    def test_exact_as_marked(self) -> None:
        assessment = assessed(AK_SERIAL)

        assert assessment.basis is Basis.EXACT
        assert assessment.serial_score == 1.0
        assert assessment.differences == ()
        assert assessment.description_fit is None
        assert assessment.score == 1.0

    def test_exact_ignores_spaces_around_the_reading_only(self) -> None:
        assert assessed(f"  {AK_SERIAL}\t").basis is Basis.EXACT
        assert assessed("АК 1174094").basis is Basis.NORMALISED

    @pytest.mark.parametrize("reading", ["ak-11-74094", "AK1174094", "аК/11/74094"])
    def test_normalised(self, reading: str) -> None:
        assessment = assessed(reading)

        assert assessment.basis is Basis.NORMALISED
        assert assessment.serial_score == Basis.NORMALISED.value == 0.97
        (difference,) = assessment.differences
        assert difference == Difference("serial_number", reading, AK_SERIAL, difference.explanation)
        assert "case, separators" in difference.explanation

    def test_confusable_names_each_confused_character_and_its_position(self) -> None:
        assessment = assessed("AK 1I 74O94")

        assert assessment.basis is Basis.CONFUSABLE
        # 0.88, less the share of the gap to NCIC (0.75) that the swaps after the first take:
        # one more swap among nine characters.
        assert assessment.serial_score == pytest.approx(0.88 - 0.13 * 1 / 8)
        explanation = serial_explanation(assessment)
        assert explanation.startswith(
            "comparing AK1I74O94 with AK1174094, characters that are easily confused: "
        )
        assert "'I' read where the registry has '1' (character 4)" in explanation
        assert "'O' read where the registry has '0' (character 7)" in explanation
        assert explanation.count("read where") == 2

    def test_confusable_either_way_round(self) -> None:
        assessment = assessed("8Z-5001", item("BZ-S00I"))

        assert assessment.basis is Basis.CONFUSABLE
        explanation = serial_explanation(assessment)
        assert "'8' read where the registry has 'B' (character 1)" in explanation
        assert "'5' read where the registry has 'S' (character 3)" in explanation
        assert "'1' read where the registry has 'I' (character 6)" in explanation
        assert "character 2" not in explanation
        assert assessment.serial_score == pytest.approx(0.88 - 0.13 * 2 / 5)

    def test_one_confused_character_scores_the_tier_weight(self) -> None:
        assessment = assessed("AK1174O94")

        assert assessment.basis is Basis.CONFUSABLE
        assert assessment.serial_score == Basis.CONFUSABLE.value

    def test_ncic_ignores_letters_between_digits(self) -> None:
        assessment = assessed("AK1174X094")

        assert assessment.basis is Basis.NCIC
        assert assessment.serial_score == Basis.NCIC.value
        assert "NCIC" in serial_explanation(assessment)

    def test_ncic_when_the_registry_has_the_embedded_letter(self) -> None:
        assessment = assessed("551234", item("55-A-1234"))

        assert assessment.basis is Basis.NCIC

    @pytest.mark.parametrize(
        ("reading", "known"),
        [("AK1174?94", 8), ("AK11*", 4), ("*74094", 5), ("A?1174*", 5), ("AK-11-74??4", 7)],
    )
    def test_a_pattern_that_matches_is_a_wildcard_match(self, reading: str, known: int) -> None:
        assessment = assessed(reading)

        assert assessment.basis is Basis.WILDCARD
        # The tier's weight, scaled between 0.7 and 1 by the share of the serial that was read.
        assert assessment.serial_score == pytest.approx(0.7 * (0.7 + 0.3 * known / 9))
        assert f"{known} of the registered 9 characters" in serial_explanation(assessment)

    @pytest.mark.parametrize(
        "reading",
        [
            "AK1174?9",  # too short: a pattern covers the whole serial
            "AK117?4094",  # ? is one character, or a separator of the marking: none there
            "AK12*",
            "*74095",
            "AK1174?94?",
            "AK 11 74094*X",
        ],
    )
    def test_a_pattern_that_does_not_match_is_no_match(self, reading: str) -> None:
        assert assess(observe(reading), candidate()) is None

    @pytest.mark.parametrize(
        ("reading", "registered"),
        [
            ("AK11?74094", AK_SERIAL),  # where the space was
            ("1502?34 567", "1502-34 567"),
            ("1502-34?567", "1502-34 567"),
            ("ABC 12?345", "ABC 12/345"),
            ("*34?567", "1502-34 567"),
        ],
    )
    def test_a_question_mark_may_stand_for_a_separator_of_the_marking(
        self, reading: str, registered: str
    ) -> None:
        assessment = assessed(reading, item(registered))

        assert assessment.basis is Basis.WILDCARD
        assert "1 unreadable mark ('?') stands where the marking has a separator" in (
            serial_explanation(assessment)
        )

    def test_a_look_alike_in_a_partial_reading_is_read_as_one(self) -> None:
        assessment = assessed("EA O7 1234?6", item("ЕА 07 123456"))

        assert assessment.basis is Basis.WILDCARD
        assert "easily confused" in serial_explanation(assessment)
        assert "separator" not in serial_explanation(assessment)

    def test_a_partial_reading_that_agrees_as_read_ranks_above_a_loose_one(self) -> None:
        as_read = assessed("1502-34?567", item("1502-34X567"))
        for_a_separator = assessed("1502-34?567", item("1502-34 567"))
        with_a_look_alike = assessed("15O2-34?567", item("1502-34X567"))

        assert as_read.serial_score > for_a_separator.serial_score
        assert as_read.serial_score > with_a_look_alike.serial_score
        # all 9 registered characters read, one liberty taken
        assert for_a_separator.serial_score == pytest.approx(0.7 * 1.0 * 0.9)

    @pytest.mark.parametrize(
        ("pattern", "marked", "expected"),
        [
            ("AB_12", "AB-12", (1, 0)),
            ("AB_12", "ABX12", (0, 0)),
            ("AB__12", "AB-X12", (1, 0)),
            ("AB_12", "AB12", None),  # no separator there: a character was read there
            ("A_B12", "AB-12", None),
            ("AB12%", "AB-12-3", (0, 0)),  # an unmarked separator is passed over
            ("A8_12", "AB-12", (1, 1)),
            ("A8X12", "AB-12", None),
            ("%_", "AB", (0, 0)),
        ],
    )
    def test_loosely_alike(
        self, pattern: str, marked: str, expected: tuple[int, int] | None
    ) -> None:
        assert matching.loosely_alike(pattern, marked) == expected

    @PROPERTY
    @given(
        st.text("AB0O_%", max_size=8).map(lambda p: re.sub("%+", "%", p)),
        st.text("AB0O", max_size=8),
    )
    def test_what_like_takes_loosely_alike_takes_as_read(self, pattern: str, serial: str) -> None:
        if matching.like(pattern, serial):
            assert matching.loosely_alike(pattern, serial) == (0, 0)

    @PROPERTY
    @given(
        st.text("AB0O_%", max_size=8).map(lambda p: re.sub("%+", "%", p)),
        st.text("AB0O-", max_size=8).map(lambda s: re.sub("-+", "-", s).strip("-")),
    )
    def test_the_loose_regex_finds_whatever_loosely_alike_takes(
        self, pattern: str, marked: str
    ) -> None:
        # What the database is asked (on the serial without its separators) is wider than
        # what the matcher keeps, never narrower; test_matching_sql asks PostgreSQL itself.
        if matching.loosely_alike(pattern, marked) is not None:
            assert re.fullmatch(matching.loose_regex(pattern), marked.replace("-", ""))

    @pytest.mark.parametrize(
        ("as_typed", "read_as"), [("\u061f", "?"), ("\u2217", "*"), ("\u204e", "*")]
    )
    def test_other_keyboards_wildcards_are_wildcards(self, as_typed: str, read_as: str) -> None:
        reading = read_serial(f"1502-34 5{as_typed}7")

        assert reading.pattern == read_serial(f"1502-34 5{read_as}7").pattern

    def test_a_wildcard_reading_is_never_exact(self) -> None:
        registered = item("AK11*")  # a registry serial with a literal star in it

        assessment = assessed("AK11*", registered)

        assert assessment.basis is Basis.WILDCARD

    def test_a_reading_of_many_runs_is_matched_in_time(self) -> None:
        # 30 stars between known characters: a regular expression of as many `.*` backtracked
        # for 23 s on this one candidate (a trace holds up to 50), with no statement timeout to
        # stop it; a pattern's runs are tried from their first fit, each once.
        reading = "ABC" + "*1" * 30
        registered = item("ABCD" + "1" * 40)

        started = time.perf_counter()
        assessment = assessed(reading, registered)

        assert time.perf_counter() - started < 1.0
        assert assessment.basis is Basis.WILDCARD
        assert assess(observe(reading), candidate(item("ABCD" + "1" * 29))) is None

    @PROPERTY
    @given(
        st.text("AB_%", max_size=8).map(lambda p: re.sub("%+", "%", p)),
        st.text("AB", max_size=8),
    )
    def test_a_pattern_matches_as_like_does(self, pattern: str, serial: str) -> None:
        regex = "".join({"_": ".", "%": ".*"}.get(char, char) for char in pattern)

        assert matching.like(pattern, serial) == bool(re.fullmatch(regex, serial))

    @pytest.mark.parametrize(
        ("reading", "distance"),
        [
            ("AK1175094", 1),  # one wrong
            ("AK117409", 1),  # one missing
            ("AK11740944", 1),  # one extra
            ("AK1174049", 1),  # two transposed
            ("AK1175049", 2),
            ("K1174049", 2),
        ],
    )
    def test_near_miss(self, reading: str, distance: int) -> None:
        assessment = assessed(reading)

        assert assessment.basis is Basis.NEAR_MISS
        assert assessment.serial_score == pytest.approx({1: 0.6, 2: 0.5}[distance])
        assert serial_explanation(assessment).count("; ") == distance - 1

    @pytest.mark.parametrize(
        ("reading", "registered", "confused"),
        [
            ("8HW23", "BHW235", "'8' read where the registry has 'B' (character 1)"),
            ("2I789", "217893", "'I' read where the registry has '1' (character 2)"),
            ("WI234S6", "W1234567", "'S' read where the registry has '5' (character 6)"),
        ],
    )
    def test_look_alikes_cost_a_near_miss_no_edit(
        self, reading: str, registered: str, confused: str
    ) -> None:
        assessment = assessed(reading, item(registered))

        assert assessment.basis is Basis.NEAR_MISS
        look_alikes = serial_explanation(assessment).count("easily confused")
        # one edit, and the look-alikes: 0.9 for the first, 0.98 for each after it
        assert assessment.serial_score == pytest.approx(0.6 * 0.9 * 0.98 ** (look_alikes - 1))
        assert "was not read" in serial_explanation(assessment)
        assert confused in serial_explanation(assessment)

    def test_fewer_look_alikes_rank_first(self) -> None:
        # They tied, and the item id ordered them.
        fewer = assessed("80551234", item("B05512345"))
        more = assessed("80551234", item("BOSS12345"))

        assert (fewer.basis, more.basis) == (Basis.NEAR_MISS, Basis.NEAR_MISS)
        assert fewer.serial_score > more.serial_score

    def test_a_partial_reading_with_fewer_look_alikes_ranks_first(self) -> None:
        fewer = assessed("8O55?2345", item("B05512345"))
        more = assessed("8O55?2345", item("BOSS12345"))

        assert fewer.serial_score > more.serial_score

    def test_a_transposition_that_swaps_a_look_alike_names_it(self) -> None:
        # `01` read for `1O`: swapped, and an O read as 0. It read "characters 1 and 2 read in
        # the other order ('01', registered '1O')" alone, at a near miss's full weight.
        assessment = assessed("01X34567", item("1OX34567"))

        assert assessment.basis is Basis.NEAR_MISS
        assert "'0' read where the registry has 'O' (character 2), easily confused" in (
            serial_explanation(assessment)
        )
        assert assessment.serial_score == pytest.approx(0.6 * 0.9)

    def test_two_transpositions_are_two_edits(self) -> None:
        assessment = assessed("W2134576", item("W1234567"))

        assert assessment.basis is Basis.NEAR_MISS
        assert assessment.serial_score == pytest.approx(0.5)
        assert serial_explanation(assessment).count("in the other order") == 2

    @pytest.mark.parametrize("reading", ["ZZ99887766", "AK1275195", "AK11", "BX550311"])
    def test_nothing_close_is_none(self, reading: str) -> None:
        assert assess(observe(reading), candidate()) is None

    def test_stronger_tiers_win_over_weaker_ones(self) -> None:
        # "AK1I74094" is also one substitution away: the confusable tier is the one reported.
        assert assessed("AK1I74094").basis is Basis.CONFUSABLE
        # "AK1174O94X" is neither: one extra character after a confused one.
        assert assessed("AK1174O94X").basis is Basis.NEAR_MISS

    def test_tiers_are_ordered_by_weight(self) -> None:
        weights = [basis.value for basis in Basis]
        assert weights == sorted(weights, reverse=True)

    def test_a_confusable_score_is_never_negative(self) -> None:
        assessment = assessed("O" * 64, item("0" * 64))

        assert assessment.basis is Basis.CONFUSABLE
        assert 0 <= assessment.score <= 1


# assess: the rest of the description --------------------------------------------------------------


class TestDescriptionFit:
    def test_nothing_described_leaves_the_fit_undecided(self) -> None:
        assessment = assessed(AK_SERIAL)

        assert assessment.description_fit is None
        assert assessment.score == assessment.serial_score

    def test_a_description_that_agrees_everywhere_fits_fully(self) -> None:
        assessment = assessed(
            AK_SERIAL,
            manufacturer="KALASHNIKOV CONCERN",
            model="ak 74m",
            category="ASSAULT_RIFLE",
            caliber="5.45 x 39 mm",
            country_of_manufacture="RU",
        )

        assert assessment.description_fit == 1.0
        assert assessment.differences == ()
        assert assessment.score == 1.0

    def test_a_manufacturer_alias_fits_and_is_explained(self) -> None:
        assessment = assessed(
            AK_SERIAL,
            manufacturer="Izhmash",
            manufacturer_key="KALASHNIKOVCONCERN",
            manufacturer_name="Kalashnikov Concern",
        )

        assert assessment.description_fit == 1.0
        assert assessment.score == 1.0
        (difference,) = assessment.differences
        assert (difference.field, difference.observed, difference.registered) == (
            "manufacturer",
            "Izhmash",
            "Kalashnikov Concern",
        )
        assert "'Izhmash' is a name of 'Kalashnikov Concern'" in difference.explanation

    def test_an_alias_recorded_under_another_name_of_the_same_maker(self) -> None:
        registered = item(manufacturer="Izhevsk Machine-Building Plant")
        assessment = assess(
            observe(
                AK_SERIAL,
                manufacturer="Izhmash",
                manufacturer_key="KALASHNIKOVCONCERN",
                manufacturer_name="Kalashnikov Concern",
            ),
            candidate(registered, manufacturer_key="KALASHNIKOVCONCERN"),
        )

        assert assessment is not None
        assert assessment.description_fit == 1.0
        (difference,) = assessment.differences
        assert difference.explanation == (
            "'Izhmash' is a name of 'Kalashnikov Concern', recorded as "
            "'Izhevsk Machine-Building Plant'"
        )

    def test_another_manufacturer_does_not_fit(self) -> None:
        assessment = assessed(
            AK_SERIAL, manufacturer="Zastava Arms", manufacturer_name="Zastava Arms"
        )

        assert assessment.description_fit == 0.0
        assert assessment.basis is Basis.EXACT  # never hides the serial match
        assert assessment.score == 0.5
        (difference,) = assessment.differences
        assert difference.field == "manufacturer"
        assert difference.explanation == (
            "another manufacturer: serials are unique only per manufacturer"
        )

    @pytest.mark.parametrize(
        ("observed", "resembles"),
        [
            ("Kalashnikov", frozenset()),  # the start of the name recorded
            ("Kalashnikov Conern", frozenset()),  # misspelt
            ("Ishmash", frozenset({"KALASHNIKOVCONCERN"})),  # like a name of the table's
        ],
    )
    def test_a_name_not_in_the_table_like_the_makers_fits_mostly(
        self, observed: str, resembles: frozenset[str]
    ) -> None:
        # Found in review: it read "another manufacturer", a fact the registry does not know.
        assessment = assessed(AK_SERIAL, manufacturer=observed, manufacturer_resembles=resembles)

        assert assessment.description_fit == matching.UNKNOWN_NAME_ALIKE
        (difference,) = assessment.differences
        assert difference.explanation == (
            f"{observed!r} is not in the table of manufacturers, but reads like a name of the "
            "maker recorded, 'Kalashnikov Concern': misspelt, or a name the table lacks, perhaps"
        )

    def test_a_name_not_in_the_table_unlike_the_makers_does_not_fit(self) -> None:
        assessment = assessed(AK_SERIAL, manufacturer="Acme Arms")

        assert assessment.description_fit == 0.0
        (difference,) = assessment.differences
        assert "is not in the table of manufacturers and reads like no name" in (
            difference.explanation
        )

    @pytest.mark.parametrize(
        ("observed", "known", "alike"),
        [
            ("KALASHNIKOV", "KALASHNIKOVCONCERN", True),  # the start of it
            ("ISHMASH", "IZHMASH", True),  # one edit in 7
            ("IZHMASH", "ISHMASH", True),
            ("IZHMASHH", "IZHMASH", True),  # a key struck twice at the end
            ("BERETTAS", "BERETTA", True),
            ("NORINKO", "NORINCO", True),
            ("BERETA", "BERETTA", True),
            ("KALASHNIKOVKONZERN", "KALASHNIKOVCONCERN", True),  # two edits in 18
            ("ISHMAH", "IZHMASH", False),  # two edits in 7
            ("COLTCANADAINC", "COLT", False),  # a known name with more after it: another maker
            ("COLTCANADA", "COLT", False),
            ("FORTIS", "FORT", False),
            ("FACTORY26", "FACTORY66", False),  # one edit, another number: another factory
            ("STATEFACTORY386", "STATEFACTORY416", False),
            ("FNH", "FN", False),  # too short to be alike but equal
            ("SIG", "SIGSAUER", False),
            ("ACME", "KALASHNIKOVCONCERN", False),
        ],
    )
    def test_names_alike(self, observed: str, known: str, alike: bool) -> None:
        assert matching.names_alike(observed, known) is alike

    def test_a_name_like_several_makers_names_is_taken_for_none(self) -> None:
        # "Izhevsk" reads like Izhevsk Mechanical Plant and Kalashnikov Concern both.
        assessment = assessed(
            AK_SERIAL,
            manufacturer="Izhevsk",
            manufacturer_resembles=frozenset({"KALASHNIKOVCONCERN", "IZHEVSKMECHANICALPLANT"}),
        )

        assert assessment.description_fit == 0.0

    def test_a_name_only_like_the_makers_makes_no_match_alone(self) -> None:
        assessment = assessed(AK_SERIAL, manufacturer="Kalashnikov")

        assert not assessment.is_strong

    def test_each_field_weighs_by_its_weight(self) -> None:
        # Manufacturer wrong (0.45), model right (0.25): 0.25 / 0.7.
        assessment = assessed(AK_SERIAL, manufacturer="Zastava Arms", model="AK-74M")

        assert assessment.description_fit == pytest.approx(0.25 / 0.7, abs=1e-4)

    @pytest.mark.parametrize(
        ("observed", "fit"),
        [
            ("AK-74M", 1.0),
            ("AK74M", 1.0),
            ("AK-74", 0.7),  # a designation contained in the registered one
            ("AK-74M/N", 0.7),  # one that contains it
            ("M70", 0.0),
        ],
    )
    def test_model(self, observed: str, fit: float) -> None:
        assessment = assessed(AK_SERIAL, model=observed)

        assert assessment.description_fit == fit
        assert ("model" in fields_differing(assessment)) == (fit < 1)

    @pytest.mark.parametrize(
        ("observed", "fit"),
        [
            ("ASSAULT_RIFLE", 1.0),
            ("RIFLE", 0.5),
            ("CARBINE", 0.5),
            ("MACHINE_GUN", 0.0),
            ("PISTOL", 0.0),
        ],
    )
    def test_category(self, observed: str, fit: float) -> None:
        assessment = assessed(AK_SERIAL, category=observed)

        assert assessment.description_fit == fit
        assert ("category" in fields_differing(assessment)) == (fit < 1)

    @pytest.mark.parametrize(
        ("observed", "registered", "kept"),
        [
            ("PISTOL", "REVOLVER", 0.5),
            ("HEAVY_MACHINE_GUN", "MACHINE_GUN", 0.5),
            ("ATGM", "RECOILLESS_RIFLE", 0.5),
            ("REVOLVER", "RIFLE", 0.0),
            ("SHOTGUN", "RIFLE", 0.0),
        ],
    )
    def test_related_categories(self, observed: str, registered: str, kept: float) -> None:
        assessment = assessed(AK_SERIAL, item(category=registered), category=observed)

        assert assessment.description_fit == kept

    @pytest.mark.parametrize(
        ("observed", "fit"),
        [
            ("5.45x39mm", 1.0),
            ("5,45 X 39 MM", 1.0),
            ("7.62x39mm", 0.0),
            # Found in review: the millimetres left out read as "another caliber".
            ("5.45x39", 1.0),
            ("5.45x39mm Soviet", 0.7),  # named more fully
            ("5.45", 0.0),  # numbers added make another caliber
        ],
    )
    def test_caliber(self, observed: str, fit: float) -> None:
        assessment = assessed(AK_SERIAL, caliber=observed)

        assert assessment.description_fit == fit
        assert ("caliber" in fields_differing(assessment)) == (fit < 1)

    def test_a_caliber_written_with_a_multiplication_sign_is_the_same_caliber(self) -> None:
        assessment = assessed(AK_SERIAL, caliber="5.45×39mm")

        assert assessment.description_fit == 1.0

    @pytest.mark.parametrize(("observed", "fit"), [("RU", 1.0), ("CN", 0.0)])
    def test_country_of_manufacture(self, observed: str, fit: float) -> None:
        assessment = assessed(AK_SERIAL, country_of_manufacture=observed)

        assert assessment.description_fit == fit
        assert ("country_of_manufacture" in fields_differing(assessment)) == (fit < 1)

    def test_what_the_registry_does_not_record_is_neutral(self) -> None:
        registered = item(caliber=None, country_of_manufacture=None)

        assessment = assessed(AK_SERIAL, registered, caliber="9x19mm", country_of_manufacture="CN")

        assert assessment.description_fit is None
        assert assessment.differences == ()

    def test_fields_not_given_are_neutral(self) -> None:
        # Only the model (a variant, 0.7) and the caliber (wrong, 0) are given: 0.25*0.7 / 0.35.
        assessment = assessed(AK_SERIAL, model="AK-74", caliber="7.62x39mm")

        assert assessment.description_fit == pytest.approx(0.25 * 0.7 / 0.35, abs=1e-4)
        assert fields_differing(assessment) == {"model", "caliber"}

    def test_the_fit_weighs_every_given_field(self) -> None:
        assessment = assessed(
            AK_SERIAL,
            manufacturer="Kalashnikov Concern",  # 0.45 x 1
            model="AK-74",  # 0.25 x 0.7
            category="RIFLE",  # 0.1 x 0.5
            caliber="7.62x39mm",  # 0.1 x 0
            country_of_manufacture="RU",  # 0.1 x 1
        )

        assert assessment.description_fit == pytest.approx(0.775)
        assert assessment.score == pytest.approx(0.8875)
        assert fields_differing(assessment) == {"model", "category", "caliber"}

    def test_an_import_marking_the_registry_does_not_record_is_a_difference(self) -> None:
        assessment = assessed(AK_SERIAL, import_marking_countries=("FR",))

        (difference,) = assessment.differences
        assert difference == Difference("import_markings", "FR", None, difference.explanation)
        assert "does not record" in difference.explanation
        assert assessment.description_fit is None  # it explains, it does not score

    def test_import_markings_name_those_the_registry_records(self) -> None:
        registered = item(
            import_markings=(ImportMarking("DE", 2012, None), ImportMarking("BE", None, "BE-12"))
        )

        assessment = assessed(AK_SERIAL, registered, import_marking_countries=("DE", "FR"))

        (difference,) = assessment.differences
        assert (difference.observed, difference.registered) == ("FR", "BE, DE")

    def test_a_recorded_import_marking_is_no_difference(self) -> None:
        registered = item(import_markings=(ImportMarking("FR", 2011, "FR 11"),))

        assert assessed(AK_SERIAL, registered, import_marking_countries=("FR",)).differences == ()

    def test_the_serial_difference_comes_first(self) -> None:
        assessment = assessed("ak-11-74094", manufacturer="Zastava Arms", model="M70")

        assert [d.field for d in assessment.differences] == [
            "serial_number",
            "manufacturer",
            "model",
        ]


# score, rank and verdict --------------------------------------------------------------------------


def made(basis: Basis, fit: float | None = None, serial_score: float | None = None) -> Assessment:
    """An assessment with the given basis and fit, for ranking."""
    score = basis.value if serial_score is None else serial_score
    return Assessment(candidate(item()), basis, score, fit, ())


class TestScore:
    @pytest.mark.parametrize(
        ("serial_score", "fit", "score"),
        [(1.0, None, 1.0), (1.0, 1.0, 1.0), (1.0, 0.0, 0.5), (0.6, 0.5, 0.45), (0.97, 0.8, 0.873)],
    )
    def test_the_fit_scales_the_serial_score_between_half_and_whole(
        self, serial_score: float, fit: float | None, score: float
    ) -> None:
        assert made(Basis.EXACT, fit, serial_score).score == score

    @pytest.mark.parametrize(
        ("basis", "fit", "strong"),
        [
            (Basis.EXACT, None, True),
            (Basis.EXACT, 0.8, True),
            (Basis.NORMALISED, 1.0, True),
            (Basis.EXACT, 0.79, False),
            (Basis.CONFUSABLE, 1.0, False),
            (Basis.NCIC, None, False),
            (Basis.WILDCARD, 1.0, False),
            (Basis.NEAR_MISS, 1.0, False),
        ],
    )
    def test_only_an_exact_or_normalised_serial_on_a_fitting_description_is_strong(
        self, basis: Basis, fit: float | None, strong: bool
    ) -> None:
        assert made(basis, fit).is_strong is strong


class TestRank:
    def test_an_exact_serial_on_the_wrong_description_ranks_below_the_right_one(self) -> None:
        zastava = item("55123", manufacturer="Zastava Arms", model="M70")
        cz = item("55123", manufacturer="Česká zbrojovka", model="CZ 75", category="PISTOL")
        observation = observe("55123", manufacturer="Zastava Arms", model="M70")
        right, wrong = (assess(observation, candidate(found)) for found in (zastava, cz))
        assert right is not None and wrong is not None

        assert [a.candidate.item for a in rank([wrong, right], 10)] == [zastava, cz]
        assert right.score == 1.0
        assert wrong.score == 0.5
        assert verdict(rank([wrong, right], 10)) == "MATCH"

    def test_exact_and_normalised_matches_are_kept_beyond_the_limit(self) -> None:
        best = made(Basis.EXACT, 1.0)
        near = made(Basis.NEAR_MISS, None)  # 0.6
        confusable = made(Basis.CONFUSABLE, 0.5)  # 0.66
        exact_wrong = made(Basis.EXACT, 0.0)  # 0.5
        normalised_wrong = made(Basis.NORMALISED, 0.0)  # 0.485

        ranked = rank([normalised_wrong, near, exact_wrong, best, confusable], limit=1)

        assert ranked == [best, exact_wrong, normalised_wrong]

    def test_the_limit_keeps_the_best(self) -> None:
        assessments = [made(Basis.NEAR_MISS, fit) for fit in (0.0, 0.5, 1.0, None)]

        ranked = rank(assessments, limit=2)

        assert [a.score for a in ranked] == [0.6, 0.6]
        assert rank(assessments, limit=0) == []

    def test_ties_go_to_the_stronger_tier_then_the_smaller_id(self) -> None:
        first, second = made(Basis.NEAR_MISS, None), made(Basis.NEAR_MISS, None)
        wildcard = made(Basis.WILDCARD, None, serial_score=0.6)

        assert rank([second, first, wildcard], 10) == [wildcard, first, second]

    @PROPERTY
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(list(Basis)),
                st.one_of(st.none(), st.floats(0, 1)),
                st.floats(0, 1),
            ),
            max_size=12,
        ),
        st.integers(0, 12),
    )
    def test_rank_keeps_the_best_and_every_exact_or_normalised_match(
        self, drawn: list[tuple[Basis, float | None, float]], limit: int
    ) -> None:
        assessments = [made(basis, fit, serial_score) for basis, fit, serial_score in drawn]

        ranked = rank(assessments, limit)

        scores = [a.score for a in ranked]
        assert scores == sorted(scores, reverse=True)
        assert len({id(a) for a in ranked}) == len(ranked)
        assert all(any(a is b for b in assessments) for a in ranked)
        always_kept = (Basis.EXACT, Basis.NORMALISED)
        assert all(any(a is b for b in ranked) for a in assessments if a.basis in always_kept)
        assert len(ranked[:limit]) == min(limit, len(assessments))
        assert all(a.basis in always_kept for a in ranked[limit:])
        dropped = [a for a in assessments if not any(a is b for b in ranked)]
        if dropped and limit:
            assert max(a.score for a in dropped) <= min(a.score for a in ranked[:limit])


class TestVerdict:
    def test_nothing_found_is_no_match(self) -> None:
        assert verdict([]) == "NO_MATCH"

    def test_one_strong_candidate_ranked_first_is_a_match(self) -> None:
        assert verdict([made(Basis.EXACT, 1.0)]) == "MATCH"
        assert verdict([made(Basis.NORMALISED, None), made(Basis.NEAR_MISS, None)]) == "MATCH"

    def test_two_strong_candidates_are_candidates(self) -> None:
        ranked = rank([made(Basis.EXACT, 1.0), made(Basis.NORMALISED, 0.9)], 10)

        assert verdict(ranked) == "CANDIDATES"

    def test_a_strong_candidate_outranked_by_a_weak_one_is_candidates(self) -> None:
        weak = made(Basis.EXACT, 0.79)  # 0.895, not strong: the description does not fit enough
        strong = made(Basis.NORMALISED, 0.8)  # 0.873
        ranked = rank([strong, weak], 10)
        assert ranked == [weak, strong]

        assert verdict(ranked) == "CANDIDATES"

    @pytest.mark.parametrize(
        "basis", [Basis.CONFUSABLE, Basis.NCIC, Basis.WILDCARD, Basis.NEAR_MISS]
    )
    def test_a_weaker_tier_alone_is_candidates(self, basis: Basis) -> None:
        assert verdict([made(basis, 1.0)]) == "CANDIDATES"

    def test_an_exact_serial_on_the_wrong_description_is_candidates(self) -> None:
        assert verdict([made(Basis.EXACT, 0.0)]) == "CANDIDATES"

    @PROPERTY
    @given(
        st.lists(
            st.tuples(st.sampled_from(list(Basis)), st.one_of(st.none(), st.floats(0, 1))),
            max_size=6,
        )
    )
    def test_match_means_one_strong_candidate_and_it_is_first(
        self, drawn: list[tuple[Basis, float | None]]
    ) -> None:
        ranked = rank([made(basis, fit) for basis, fit in drawn], 10)

        answer = verdict(ranked)

        assert (answer == "NO_MATCH") == (not ranked)
        strong = [a for a in ranked if a.is_strong]
        assert (answer == "MATCH") == (len(strong) == 1 and ranked[0].is_strong)
