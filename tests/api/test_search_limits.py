"""What a candidate search keeps when more items match than it keeps (50): the named maker's
items first, then (after what each search orders by nearness) the named model's, and of the
trigram searches' finds, the near misses for certain before the closer trigrams further away."""

from __future__ import annotations

from typing import Any

from service.db import Connection
from tests.api.test_max_candidates import RIFLE, traced
from tests.api.test_traces import CONTEXT, copies, first, listed
from tests.contract import ContractClient


def colt_m4s(db: Connection, registry: Any, serials: list[str]) -> None:
    """Colt M4 carbines with these serials (normalised already), recorded before anything else
    the test records: past a search's limit, items were kept by id, so these first."""
    template = registry.item(serial_number=serials[0], manufacturer="Colt", model="M4")
    copies(db, template["id"], serials[1:])


def rifles_three_edits_from_kwxtrnp1234(db: Connection, registry: Any) -> None:
    """Sixty-one Colt M16A2 rifles KWXTRNP1555 to KWXTRNP1775, each three edits from the reading
    KWXTRNP1234 (the matcher drops them) and sharing half of its trigrams (similarity 0.5)."""
    rifle = registry.item(serial_number="KWXTRNP1567", manufacturer="Colt", model="M16A2")
    serials = [f"KWXTRNP1{a}{b}{c}" for a in "56789" for b in "56789" for c in "56789"]
    copies(db, rifle["id"], [s for s in serials if s != "KWXTRNP1567"][:60])


class TestTheModelNamedIsKeptFirst:
    """When more items match than a search keeps (50), the named maker's are kept first, then of
    those the named model's: the rest were kept by id, and one maker's other models crowded the
    model named out of the answer."""

    def test_a_partial_reading(self, api: ContractClient, db: Connection, registry: Any) -> None:
        colt_m4s(db, registry, [f"QJ7700{n:02d}" for n in range(60)])
        rifles = [registry.item(serial_number=f"QJ7799{n}", **RIFLE)["id"] for n in range(3)]

        answer = traced(api, "QJ77*")

        assert answer["interpretation"]["search_limited"] is True
        assert [c["item"]["id"] for c in answer["candidates"][:3]] == rifles

    def test_a_partial_reading_with_the_model_alone(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        colt_m4s(db, registry, [f"QJ7700{n:02d}" for n in range(60)])
        rifle = registry.item(serial_number="QJ779901", manufacturer="FN Herstal", model="M16A2")
        body = {"weapon": {"serial_number": "QJ77*", "model": "M16A2"}, "context": CONTEXT}

        answer = api.post("/v1/traces", body).get_json()

        assert answer["candidates"][0]["item"]["id"] == rifle["id"]

    def test_a_near_miss_of_the_named_maker(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        # Every carbine QJ7700 to QJ7759 is two edits from QJ77KK, as is the rifle QJ7780, and
        # none is one edit away: 61 as near, of which the maker's search keeps 50.
        colt_m4s(db, registry, [f"QJ77{n:02d}" for n in range(60)])
        rifle = registry.item(serial_number="QJ7780", **RIFLE)

        answer = traced(api, "QJ77KK", max_candidates=50)

        assert answer["interpretation"]["search_limited"] is True
        assert rifle["id"] in listed(answer)
        assert listed(answer)[rifle["id"]] == "NEAR_MISS"

    def test_a_serial_many_models_share(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        template = registry.item(serial_number="QJ7700", manufacturer="Colt", model="M0")
        db.execute(
            "INSERT INTO items (manufacturer, model, category, serial_number, serial_norm,"
            " manufacturer_key, model_key, recorded_by_agency_id)"
            " SELECT manufacturer, 'M' || n, category, serial_number, serial_norm,"
            "        manufacturer_key, 'M' || n, recorded_by_agency_id"
            " FROM items, generate_series(1, 55) AS n WHERE id = %(id)s",
            {"id": template["id"]},
        )
        rifle = registry.item(serial_number="QJ7700", **RIFLE)

        answer = traced(api, "QJ7700")

        assert first(answer)["item"]["id"] == rifle["id"]
        assert first(answer)["match_basis"] == "EXACT"

    def test_a_closer_near_miss_of_another_model_is_kept(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        # Found in review: no maker named, the model named; sixty rifles of the model share
        # trigrams with the reading but are three edits from it (the matcher drops them), and
        # the weapon, its model read wrongly (M16 for M16A2), is two edits away and the closest
        # by trigrams. Ordered by the model before closeness, the fifty kept were the model's
        # and the answer was NO_MATCH.
        rifles_three_edits_from_kwxtrnp1234(db, registry)
        weapon = registry.item(serial_number="KWXTRNP1299", manufacturer="Colt", model="M16")
        body = {"weapon": {"serial_number": "KWXTRNP1234", "model": "M16A2"}, "context": CONTEXT}

        answer = api.post("/v1/traces", body).get_json()

        assert listed(answer).get(weapon["id"]) == "NEAR_MISS"

    def test_a_near_miss_of_the_named_maker_with_no_model_named(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        # The maker's search orders by the model only when one is named: without, by id.
        colt_m4s(db, registry, [f"QJ77{n:02d}" for n in range(60)])
        body = {"weapon": {"serial_number": "QJ77KK", "manufacturer": "Colt"},
                "context": CONTEXT, "max_candidates": 50}  # fmt: skip

        answer = api.post("/v1/traces", body).get_json()

        assert answer["interpretation"]["search_limited"] is True
        assert sorted(c["item"]["serial_number"] for c in answer["candidates"]) == [
            f"QJ77{n:02d}" for n in range(50)
        ]


class TestNearMissesForCertainFirst:
    def test_a_near_miss_two_edits_away_is_kept_before_closer_trigrams_further(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        # No maker named. Sixty serials three edits from the reading share more of its
        # trigrams (similarity 0.5) than the weapon two edits away (0.33, its two characters
        # wrong far apart): ordered by trigram closeness, the fifty kept were theirs, which the
        # matcher drops, and the answer was NO_MATCH.
        rifles_three_edits_from_kwxtrnp1234(db, registry)
        weapon = registry.item(serial_number="KWXTQNP1244", manufacturer="Colt", model="M16A2")
        body = {"weapon": {"serial_number": "KWXTRNP1234"}, "context": CONTEXT}

        answer = api.post("/v1/traces", body).get_json()

        assert first(answer)["item"]["id"] == weapon["id"]
        assert first(answer)["match_basis"] == "NEAR_MISS"
