"""/v1/traces, reviewed as an investigator meets it: defects found in matching and ranking, each
shown by a test that failed before its fix (or, where the fix is left to be decided, marked
xfail strict)."""

from __future__ import annotations

from typing import Any

from service.db import Connection
from service.tracing import CANDIDATES_SEARCHED
from tests.api.test_traces import first, in_sequence, trace
from tests.contract import ContractClient


class TestAManufacturerNameLikeOneMakers:
    """A name the table does not know but that reads like one maker's names (`Glok` for Glock)
    is matched as that maker (tracing._of_sought_maker), but the searches' SQL put only the
    name's own key first past their limit of 50, a key no item of the table's maker has."""

    def test_its_partial_reading_is_kept_past_the_search_limit(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        """Sixty Colt rifles in sequence fill the partial search's 50 rows; the Glock pistol,
        traced as made by "Glok" (a misspelling, which reads like Glock and no other maker), was
        cut from the search as read and from its loose retry, and the answer listed only Colts.
        Traced as "Glock" the pistol is found first: an investigator expects the same pistol,
        first, with the maker's name said to be misspelt (a fit of 0.6, not 1)."""
        in_sequence(db, registry, "QJ7700", 60)
        pistol = registry.item(serial_number="QJ77-9999", manufacturer="Glock", model="19",
                               category="PISTOL")  # fmt: skip

        answer = trace(api, "QJ77*", manufacturer="Glok")

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (pistol["id"], "WILDCARD")
        (maker,) = [d for d in best["differences"] if d["field"] == "manufacturer"]
        assert "reads like a name of the maker recorded" in maker["explanation"]

    def test_its_normalised_match_is_kept_past_the_search_limit(
        self, api: ContractClient, registry: Any
    ) -> None:
        """A short serial that 55 Beretta pistols share (as `RV-7777`), and the Glock pistol's
        `RV 7777`, read `RV7777` (a normalised match of each): traced as "Glok", the search
        kept the 50 oldest Berettas and cut the Glock, so the answer never showed the pistol
        the investigator named (traced as "Glock" it is first)."""
        for n in range(CANDIDATES_SEARCHED + 5):
            registry.item(manufacturer="Beretta", model=f"M{n}", serial_number="RV-7777")
        glock = registry.item(manufacturer="Glock", model="19", serial_number="RV 7777")

        answer = trace(api, "RV7777", manufacturer="Glok")

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (glock["id"], "NORMALISED")
