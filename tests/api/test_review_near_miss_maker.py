"""Review of the named maker's near-miss search (traces.sql maker_near_miss_candidates)."""

from __future__ import annotations

from typing import Any

import pytest

from service.db import Connection
from tests.api.test_traces import CONTEXT, _alias, copies, first, listed, trace
from tests.contract import ContractClient


class TestHeld:
    @pytest.mark.parametrize(
        ("registered", "reading"),
        [
            ("K7-29 43/5", "k 72-048 5"),  # separators, lower case; two wrong
            ("АК729435", "AK720485"),  # Cyrillic registered
            ("AK729435", "ΑΚ72Ο48S"),  # Greek reading, look-alikes + two edits
            ("ＡＫ７２９４３５", "AK720485"),  # full-width registered
            ("AK729435", "ＡＫ７２０４８５"),  # full-width reading
            ("B0S5IZ6Q", "8OS5ZI6O1"),  # look-alikes + transposition + extra
            ("ЖБ729435", "ЖБ720485"),  # letters with no Latin twin
        ],
    )
    def test_forms(self, api: ContractClient, registry: Any, registered: str, reading: str) -> None:
        """Two edits from a Glock's serial, read or registered with separators, in lower
        case, in Cyrillic, Greek or full-width letters, with look-alikes: the pistol is listed
        as a near miss."""
        pistol = registry.item(serial_number=registered, manufacturer="Glock", model="17")
        answer = trace(api, reading, manufacturer="Glock")
        assert listed(answer).get(pistol["id"]) == "NEAR_MISS", answer["candidates"]

    def test_through_an_alias(self, api: ContractClient, registry: Any, db: Connection) -> None:
        """The maker named by another of its names (Izhmash) is searched by its own key."""
        rifle = registry.item(serial_number="729435", manufacturer="Kalashnikov Concern",
                              model="AK-74")  # fmt: skip
        _alias(db, "KALASHNIKOVCONCERN", "Kalashnikov Concern", ["Izhmash", "Kalashnikov Concern"])
        answer = trace(api, "720485", manufacturer="Izhmash")
        assert listed(answer).get(rifle["id"]) == "NEAR_MISS"

    def test_misspelt_and_unknown(self, api: ContractClient, registry: Any) -> None:
        """`Glok` reads like Glock: its pistol two edits away is listed; a name no item has is
        answered (201), nothing to read."""
        pistol = registry.item(serial_number="729435", manufacturer="Glock", model="17")
        assert listed(trace(api, "720485", manufacturer="Glok")).get(pistol["id"]) == "NEAR_MISS"
        trace(api, "720485", manufacturer="Nobody Arms Ltd")

    @pytest.mark.parametrize("reading", ["7", "72", "729", "Q", "-7-"])
    def test_short_readings(self, api: ContractClient, registry: Any, reading: str) -> None:
        """Readings of one to three characters, obliterated or not, are answered (201)."""
        registry.item(serial_number="7", manufacturer="Glock", model="17")
        registry.item(serial_number="ZZZ", manufacturer="Glock", model="17")
        registry.item(serial_number="72943", manufacturer="Glock", model="17")
        trace(api, reading, manufacturer="Glock")
        trace(api, reading, manufacturer="Glock", obliterated=True)

    def test_obliterated_exact(self, api: ContractClient, registry: Any) -> None:
        """An obliterated serial's exact match and the maker's near miss are both listed."""
        exact = registry.item(serial_number="720485", manufacturer="Glock", model="17")
        near = registry.item(serial_number="729435", manufacturer="Glock", model="17")
        answer = trace(api, "720485", manufacturer="Glock", model="17", obliterated=True)
        assert listed(answer) == {exact["id"]: "EXACT", near["id"]: "NEAR_MISS"}

    def test_another_makers_exact_match(self, api: ContractClient, registry: Any) -> None:
        """Another maker's pistol of the serial read does not hide the named maker's near
        miss."""
        other = registry.item(serial_number="720485", manufacturer="Walther", model="P99")
        near = registry.item(serial_number="729435", manufacturer="Glock", model="17")
        answer = trace(api, "720485", manufacturer="Glock")
        assert listed(answer) == {other["id"]: "EXACT", near["id"]: "NEAR_MISS"}

    def test_another_maker_one_edit_away_short(self, api: ContractClient, registry: Any) -> None:
        """Another maker's serial one edit away (found first) and the named maker's two away
        are both listed."""
        other = registry.item(serial_number="720486", manufacturer="Walther", model="P99")
        near = registry.item(serial_number="729435", manufacturer="Glock", model="17")
        answer = trace(api, "720485", manufacturer="Glock")
        assert listed(answer) == {other["id"]: "NEAR_MISS", near["id"]: "NEAR_MISS"}

    def test_batch(self, api: ContractClient, registry: Any) -> None:
        """A batch with readings too long for a near-miss search, and one of a character, is
        answered, the near miss of its first weapon listed."""
        pistol = registry.item(serial_number="729435", manufacturer="Glock", model="17")
        weapons = [
            {"serial_number": "720485", "manufacturer": "Glock"},
            {"serial_number": "\ufdfa" * 64, "manufacturer": "Glock"},
            {"serial_number": "\ufdfa" * 16 + "A", "manufacturer": "Glock"},
            {"serial_number": "1", "manufacturer": "Glock"},
        ]
        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})
        assert response.status_code == 201, response.get_data(as_text=True)
        assert listed(response.get_json()["traces"][0]).get(pistol["id"]) == "NEAR_MISS"

    def test_long_registered_serials(self, api: ContractClient, registry: Any) -> None:
        """Registered serials too long for Levenshtein once normalised are passed over, and
        one that is not is found; a reading of 256 letters or more skips near misses."""
        registry.item(serial_number="\ufdfa" * 20, manufacturer="Glock", model="17")
        registry.item(serial_number="\ufdfa" * 64, manufacturer="Glock", model="17")
        near = registry.item(serial_number="\ufdfa" * 16 + "AB", manufacturer="Glock", model="17")
        answer = trace(api, "\ufdfa" * 16 + "X", manufacturer="Glock")
        assert listed(answer).get(near["id"]) == "NEAR_MISS"
        trace(api, "\ufdfa" * 17 + "X", manufacturer="Glock")  # 256+ letters
        trace(api, "\ufdfa" * 64, manufacturer="Glock")

    def test_more_than_fifty(self, api: ContractClient, registry: Any, db: Connection) -> None:
        """Eighty of the maker's serials within two edits: the answer says the search was
        limited."""
        template = registry.item(serial_number="72048500", manufacturer="Glock", model="17")
        # 80 serials two characters wrong (lev 2) from 72048599... reading "72048599"
        copies(
            db,
            template["id"],
            [f"720485{n:02d}" for n in range(1, 100) if n % 10 != 9 and n // 10 != 9][:80],
        )
        answer = trace(api, "72048599", manufacturer="Glock")
        assert answer["interpretation"]["search_limited"] is True


LONG = "1234567890ACEFHJKMNPRT"  # 22 characters, no look-alike letters


def _swap(serial: str, at: int) -> str:
    return serial[:at] + serial[at + 1] + serial[at] + serial[at + 2 :]


class TestLongReadings:
    def test_two_transpositions_beside_two_wrong(self, api: ContractClient, registry: Any) -> None:
        """A reading of 22 characters: the maker's serial with two pairs swapped is listed
        beside the one two characters wrong (the search once ended at the second)."""
        swapped = registry.item(serial_number=_swap(_swap(LONG, 0), 20), manufacturer="Glock",
                                model="17")  # fmt: skip
        wrong = registry.item(serial_number="12345X7890ACEFHYKMNPRT", manufacturer="Glock",
                              model="17")  # fmt: skip
        answer = trace(api, LONG, manufacturer="Glock")
        assert listed(answer) == {swapped["id"]: "NEAR_MISS", wrong["id"]: "NEAR_MISS"}

    def test_another_maker_one_edit_away(self, api: ContractClient, registry: Any) -> None:
        """A reading of 22 characters (no one-edit search): another maker's serial one edit
        away is listed beside the named maker's two away."""
        other = registry.item(serial_number="1234567890ACEFHJKMNPRX", manufacturer="Walther",
                              model="P99")  # fmt: skip
        glock = registry.item(serial_number="12345X7890ACEFHYKMNPRT", manufacturer="Glock",
                              model="17")  # fmt: skip
        answer = trace(api, LONG, manufacturer="Glock")
        assert listed(answer) == {other["id"]: "NEAR_MISS", glock["id"]: "NEAR_MISS"}

    def test_the_nearest_past_the_limit(
        self, api: ContractClient, registry: Any, db: Connection
    ) -> None:
        """Sixty of the maker's serials two characters wrong, and one a transposition away:
        that one is first."""
        template = registry.item(serial_number="X234567890ACEFHJKMNPRX", manufacturer="Glock",
                                 model="17")  # fmt: skip
        copies(db, template["id"], [c + LONG[1:-1] + d for c in "ACEFHJ" for d in "ACEFHJKMNX"])
        nearest = registry.item(serial_number=_swap(LONG, 10), manufacturer="Glock", model="17")
        answer = trace(api, LONG, manufacturer="Glock")
        assert first(answer)["item"]["id"] == nearest["id"]

    def test_two_far_transpositions_with_look_alikes(
        self, api: ContractClient, registry: Any
    ) -> None:
        """A Glock's `BOSSIZGBOSSIZGBOSSIZGB` read as digits (its look-alikes) with two pairs far
        apart swapped: two edits, look-alikes free. Past 20 characters the maker's search did
        not seek two transpositions, and the trigram searches share no trigram between its
        letters and the reading's digits: it was not found."""
        registered = "BOSSIZGBOSSIZGBOSSIZGB"  # skeleton 8055126805512680551268
        pistol = registry.item(serial_number=registered, manufacturer="Glock", model="17")
        reading = _swap(_swap("8055126805512680551268", 1), 17)
        answer = trace(api, reading, manufacturer="Glock")
        assert listed(answer).get(pistol["id"]) == "NEAR_MISS"


class TestShortReadingCrowded:
    def test_swaps_with_a_character_between_crowd_out_a_near_miss(
        self, api: ContractClient, registry: Any, db: Connection
    ) -> None:
        """Seventy-five of the maker's serials that are the reading with a pair swapped and a
        character put between them (three edits of optimal string alignment, within three of
        Levenshtein's) filled the search's fifty places, and `7K2944` (a transposition and a
        wrong character: two edits) was not listed: the answer was NO_MATCH."""
        reading = "K72943"
        template = registry.item(serial_number="7XK2943", manufacturer="Glock", model="17")
        crowd = [
            _swap(reading, at)[: at + 1] + c + _swap(reading, at)[at + 1 :]
            for at in range(len(reading) - 1)
            for c in "AEFHJMNPRTUVWXY"
        ]
        copies(db, template["id"], sorted(set(crowd) - {"7XK2943"}))
        near = registry.item(serial_number="7K2944", manufacturer="Glock", model="17")
        answer = trace(api, reading, manufacturer="Glock")
        assert listed(answer).get(near["id"]) == "NEAR_MISS", answer


class TestTheMakersSearchNearestFirst:
    def test_a_transposition_is_one_edit_past_the_limit(
        self, db: Connection, registry: Any
    ) -> None:
        """Levenshtein counts a transposition two: ordered by it, sixty serials two characters
        wrong (lower ids) kept the limit's fifty places, and the serial one transposition away
        was cut."""
        from service.repository import traces

        template = registry.item(serial_number="XK72943X", manufacturer="Glock", model="17")
        copies(db, template["id"], [c + "K72943" + d for c in "ACEFHJ" for d in "ACEFHJKMNP"])
        registry.item(serial_number="K79243", manufacturer="Glock", model="17")

        found = traces.maker_near_miss_candidates(db, "K72943", traces.Sought("GLOCK"), 50)

        assert found[0].item.serial_number == "K79243"
