"""max_candidates: a trace that lists more than the best ten candidates it found.

A partial serial often fits a few dozen items that the rest of the description cannot tell
apart: one maker's rifles of one model, serialled in sequence. Ten of them listed, and the rest
were never shown (bench: a thousand wildcard readings of the million-item data set, the maker,
model and category named, listed their weapon 745 times with ten candidates, 867 with fifty).
"""

from __future__ import annotations

from typing import Any

import pytest

from service.db import Connection
from service.domain.reports import trace_report
from tests.api.test_traces import CONTEXT, in_sequence
from tests.contract import ContractClient

RIFLE = {"manufacturer": "Colt", "model": "M16A2"}


def traced(api: ContractClient, serial: str, **request: Any) -> dict[str, Any]:
    body = {"weapon": {"serial_number": serial, **RIFLE}, "context": CONTEXT, **request}
    response = api.post("/v1/traces", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


def serials(answer: dict[str, Any]) -> list[str]:
    return [c["item"]["serial_number"] for c in answer["candidates"]]


def stored_traces(db: Connection) -> int:
    row = db.execute("SELECT count(*) AS n FROM traces").fetchone()
    assert row is not None
    return int(row["n"])


class TestListingMore:
    def test_a_partial_reading_lists_every_item_it_found_when_asked(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        in_sequence(db, registry, "QJ7700", 30)
        last = db.execute("SELECT id FROM items WHERE serial_norm = 'QJ770029'").fetchone()
        assert last is not None
        colt = registry.party(name="Colt's Manufacturing", kind="MANUFACTURER", country="US")
        registry.event("MANUFACTURE", [{"id": str(last["id"])}], occurred_on="2011-02-14",
                       country="US", to_party_id=colt["id"])  # fmt: skip

        ten = traced(api, "QJ77*")
        thirty = traced(api, "QJ77*", max_candidates=30)

        assert len(ten["candidates"]) == 10
        assert ten["interpretation"]["candidates_found"] == 30
        assert ten["interpretation"]["max_candidates"] == 10
        assert sorted(serials(thirty)) == [f"QJ7700{n:02d}" for n in range(30)]
        assert thirty["interpretation"]["max_candidates"] == 30
        assert [c["rank"] for c in thirty["candidates"]] == list(range(1, 31))
        # The same ranking, further: the first ten are the default's ten, in its order.
        assert serials(thirty)[:10] == serials(ten)
        # Each with its chain: the last rifle, which ten did not list, with its manufacture.
        (listed_last,) = (c for c in thirty["candidates"] if c["item"]["id"] == str(last["id"]))
        assert [e["event_type"] for e in listed_last["events"]] == ["MANUFACTURE"]
        assert listed_last["current_holder"]["name"] == "Colt's Manufacturing"

    def test_the_answer_is_stored_as_listed(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        in_sequence(db, registry, "QJ7700", 20)

        answer = traced(api, "QJ77*", max_candidates=15)
        again = api.get(f"/v1/traces/{answer['id']}").get_json()

        assert serials(again) == serials(answer)
        assert len(again["candidates"]) == 15
        assert again["interpretation"]["max_candidates"] == 15

    def test_fewer_may_be_asked_and_exact_matches_are_listed_whatever_it_says(
        self, api: ContractClient, registry: Any
    ) -> None:
        for maker, model in (("Colt", "M16A2"), ("FN Herstal", "FAL"), ("Beretta", "92FS")):
            registry.item(serial_number="PX4471", manufacturer=maker, model=model)
        registry.item(serial_number="PX4472", manufacturer="Colt", model="M16A2")

        one = traced(api, "PX447?", max_candidates=1)
        exact = traced(api, "PX4471", max_candidates=1)

        assert serials(one) == ["PX4471"]  # the named maker's rifle first
        assert one["candidates"][0]["item"]["manufacturer"] == "Colt"
        # Every exact match of the serial is listed, though one was asked for.
        assert sorted(c["item"]["manufacturer"] for c in exact["candidates"]) == [
            "Beretta", "Colt", "FN Herstal",
        ]  # fmt: skip
        assert exact["candidates"][0]["item"]["manufacturer"] == "Colt"

    def test_as_many_as_a_search_keeps_may_be_asked(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        in_sequence(db, registry, "QJ7700", 60)

        answer = traced(api, "QJ77*", max_candidates=50)

        assert len(answer["candidates"]) == 50
        assert answer["interpretation"]["search_limited"] is True


class TestRefused:
    @pytest.mark.parametrize("asked", [0, 51, -1, 10.0, 2.5, "10", True, None])
    def test_a_count_out_of_range_or_not_an_integer_is_400_and_stores_nothing(
        self, api: ContractClient, db: Connection, registry: Any, asked: Any
    ) -> None:
        registry.item(serial_number="PX4471", **RIFLE)
        body = {"weapon": {"serial_number": "PX4471"}, "context": CONTEXT, "max_candidates": asked}

        response = api.post("/v1/traces", body)

        assert response.status_code == 400
        assert response.content_type == "application/problem+json"
        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/max_candidates"]
        assert stored_traces(db) == 0

    def test_a_batch_takes_no_count(self, api: ContractClient, db: Connection) -> None:
        body = {"context": CONTEXT, "weapons": [{"serial_number": "PX4471"}], "max_candidates": 20}

        response = api.post("/v1/traces/batch", body)

        assert response.status_code == 400
        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/max_candidates"]
        assert stored_traces(db) == 0


class TestTheReport:
    def test_the_text_says_how_to_list_the_rest(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        in_sequence(db, registry, "QJ7700", 30)
        text = {"Accept": "text/plain"}
        body = {"weapon": {"serial_number": "QJ77*", **RIFLE}, "context": CONTEXT}

        ten = api.post("/v1/traces", body, headers=text).get_data(as_text=True)
        twenty = api.post("/v1/traces", {**body, "max_candidates": 20}, headers=text)
        thirty = api.post("/v1/traces", {**body, "max_candidates": 30}, headers=text)

        hint = "The rest are not listed: a trace with max_candidates lists up to 50."
        assert "10 CANDIDATES (the best of 30 found)\n" + hint in ten
        assert "20 CANDIDATES (the best of 30 found)\n" + hint in twenty.get_data(as_text=True)
        assert "30 CANDIDATES\n" in thirty.get_data(as_text=True)
        assert "The rest" not in thirty.get_data(as_text=True)

    def test_a_trace_stored_before_the_count_reads_as_ten_asked(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        in_sequence(db, registry, "QJ7700", 12)
        answer = traced(api, "QJ77*")
        del answer["interpretation"]["max_candidates"]

        report = trace_report(answer)

        assert "10 CANDIDATES (the best of 12 found)\nThe rest are not listed" in report
