"""/v1/traces: finding the weapon from what an investigator can read on it."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import orjson
import psycopg
import pytest
from flask import Flask, Response

from service.api import auth, idempotency, trace_batches
from service.db import Connection
from service.repository import traces as traces_repository
from service.tracing import CANDIDATES_SEARCHED, Tracer
from tests.contract import ContractClient

CONTEXT = {
    "case_reference": "KG-2019-1003",
    "purpose": "criminal investigation: trafficking",
    "legal_basis": "Criminal Procedure Code, art. 163",
    "seizure_country": "KG",
    "seized_on": "2019-10-03",
    "requesting_officer": "Insp. A. Sadykov",
}


def trace(api: ContractClient, serial: str, **weapon: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/traces", {"weapon": {"serial_number": serial, **weapon}, "context": CONTEXT}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    assert response.headers["Location"] == f"/v1/traces/{answer['id']}"
    return answer


def first(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["candidates"], answer
    candidate: dict[str, Any] = answer["candidates"][0]
    return candidate


def listed(answer: dict[str, Any]) -> dict[str, str]:
    """The candidates' items, each with its match_basis."""
    return {c["item"]["id"]: c["match_basis"] for c in answer["candidates"]}


def in_sequence(db: Connection, registry: Any, prefix: str, count: int) -> None:
    """Colt rifles serialled PREFIX00, PREFIX01, ... (the first through the API, the rest copied
    from it: fifty requests would take seconds)."""
    rifle = registry.item(serial_number=f"{prefix}00", manufacturer="Colt", model="M16A2")
    copies(db, rifle["id"], [f"{prefix}{n:02d}" for n in range(1, count)])


def copies(db: Connection, template_id: str, serials: list[str]) -> None:
    """Items like the template (its maker, model, agency), one for each serial, which must be
    normalised already: many, without a request each."""
    db.execute(
        "INSERT INTO items (manufacturer, model, category, serial_number, serial_norm,"
        " manufacturer_key, model_key, recorded_by_agency_id)"
        " SELECT manufacturer, model, category, serial, serial, manufacturer_key, model_key,"
        "        recorded_by_agency_id"
        " FROM items, unnest(%(serials)s::text[]) AS serial WHERE id = %(id)s",
        {"serials": serials, "id": template_id},
    )


@pytest.fixture
def rifle(registry: Any) -> dict[str, Any]:
    """An AK-74M with a Cyrillic serial, recorded under Kalashnikov Concern, with a chain."""
    maker = registry.party(name="Kalashnikov Concern", kind="MANUFACTURER", country="RU")
    army = registry.party(name="Mongolian Armed Forces", kind="ARMED_FORCES", country="MN")
    item = registry.item(
        manufacturer="Kalashnikov Concern", model="AK-74M", category="ASSAULT_RIFLE",
        caliber="5.45x39mm", serial_number="АК 11 74094", country_of_manufacture="RU",
    )  # fmt: skip
    registry.event(
        "MANUFACTURE", [item], occurred_on="2011-02-14", country="RU", to_party_id=maker["id"]
    )
    registry.event(
        "EXPORT",
        [item],
        occurred_on="2011-06-01",
        country="RU",
        destination_country="MN",
        from_party_id=maker["id"],
        to_party_id=army["id"],
    )
    return item


class TestTiers:
    """Each tier finds its weapon and ranks it first, with the right match_basis."""

    @pytest.mark.parametrize(
        ("reading", "basis"),
        [
            ("АК 11 74094", "EXACT"),
            ("ak-11-74094", "NORMALISED"),  # Latin letters, lower case, other separators
            ("AK 1I 74O94", "CONFUSABLE"),  # I read for 1, O for 0
            ("AK1174X094", "NCIC"),  # a letter between digits
            ("AK1174?94", "WILDCARD"),
            ("AK11*", "WILDCARD"),
            ("AK1174049", "NEAR_MISS"),  # two characters transposed
            ("AK117409", "NEAR_MISS"),  # one missing
            ("AK1175094", "NEAR_MISS"),  # one wrong
        ],
    )
    def test_the_tier_finds_the_weapon_first(
        self, api: ContractClient, rifle: dict[str, Any], registry: Any, reading: str, basis: str
    ) -> None:
        registry.item(serial_number="BX550311")  # another weapon, far from the reading

        answer = trace(api, reading, manufacturer="Kalashnikov Concern", model="AK-74M")

        best = first(answer)
        assert best["item"]["id"] == rifle["id"]
        assert best["match_basis"] == basis
        assert best["rank"] == 1
        assert basis in answer["interpretation"]["tiers_searched"]

    def test_an_exact_match_on_a_fitting_description_is_a_match(
        self, api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        answer = trace(api, "АК 11 74094", manufacturer="Kalashnikov Concern", model="AK-74M")

        assert answer["status"] == "MATCH"
        assert first(answer)["score"] == 1.0
        assert first(answer)["differences"] == []

    def test_weaker_tiers_are_candidates_with_every_difference_explained(
        self, api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        answer = trace(api, "AK 1I 74O94", manufacturer="Kalashnikov Concern")

        assert answer["status"] == "CANDIDATES"
        serial = first(answer)["differences"][0]
        assert serial["field"] == "serial_number"
        assert (serial["observed"], serial["registered"]) == ("AK 1I 74O94", "АК 11 74094")
        assert "'I' read where the registry has '1' (character 4)" in serial["explanation"]
        assert "'O' read where the registry has '0' (character 7)" in serial["explanation"]

    def test_a_near_miss_says_what_was_transposed(
        self, api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        answer = trace(api, "AK1174049")

        explanation = first(answer)["differences"][0]["explanation"]
        assert "characters 8 and 9 read in the other order" in explanation

    def test_two_wrong_characters_are_found_by_the_wider_second_search(
        self, api: ContractClient, registry: Any
    ) -> None:
        # 'K7094359' shares 29% of its trigrams with 'K7294351': below the first search's 30%.
        pistol = registry.item(serial_number="K7294351", model="Px4", category="PISTOL")

        answer = trace(api, "K7094359")

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (pistol["id"], "NEAR_MISS")
        assert "comparing K7094359 with K7294351" in best["differences"][0]["explanation"]

    def test_a_short_serial_one_transposition_away_is_found(
        self, api: ContractClient, registry: Any
    ) -> None:
        # Found in review: '9358' and '3958' share one trigram of nine, and the answer listed
        # other makers' mortars two edits away instead.
        pistol = registry.item(serial_number="3958", manufacturer="Glock", model="26",
                               category="PISTOL")  # fmt: skip
        registry.item(serial_number="9362", manufacturer="Colt", model="M16A2")

        answer = trace(api, "9358", manufacturer="Glock")

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (pistol["id"], "NEAR_MISS")
        assert "characters 1 and 2 read in the other order" in best["differences"][0]["explanation"]

    @pytest.mark.parametrize(
        ("reading", "liberty"),
        [
            ("1502?34 567", "1 unreadable mark ('?') stands where the marking has a separator"),
            ("15O2-34 5?7", "easily confused"),  # O read for 0, beside a partial reading
            ("15O2-34*", "easily confused"),
        ],
    )
    def test_a_partial_reading_is_read_loosely_when_it_finds_nothing_as_read(
        self, api: ContractClient, registry: Any, reading: str, liberty: str
    ) -> None:
        # Found in review: a `?` where a dash or space was, or an O read for a 0 beside a `?`,
        # answered NO_MATCH: the pattern needs one character where the normalised serial keeps
        # none, and the partial tier never compared look-alikes.
        rifle = registry.item(serial_number="1502-34 567", manufacturer="FN Herstal",
                              model="FAL", category="RIFLE")  # fmt: skip
        registry.item(serial_number="150234X567", manufacturer="FN Herstal", model="FAL")

        answer = trace(api, reading, manufacturer="FN Herstal")

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (rifle["id"], "WILDCARD")
        assert liberty in best["differences"][0]["explanation"]

    def test_a_partial_reading_that_finds_the_named_maker_as_read_is_not_read_loosely(
        self, api: ContractClient, registry: Any
    ) -> None:
        as_read = registry.item(serial_number="1502X34567", manufacturer="FN Herstal")
        registry.item(serial_number="1502-34 567", manufacturer="FN Herstal")

        answer = trace(api, "1502?34 567", manufacturer="FN Herstal")

        assert [c["item"]["id"] for c in answer["candidates"]] == [as_read["id"]]

    def test_the_loose_search_runs_when_other_makers_fill_the_search_as_read(
        self, api: ContractClient, registry: Any, db: Connection
    ) -> None:
        # Found in review: fifty Colts matching `A812*` as read kept the FN rifle, found only
        # loosely (B read as 8, a separator passed over), from being sought.
        in_sequence(db, registry, "A812", 50)
        rifle = registry.item(serial_number="AB12-77", manufacturer="FN Herstal", model="FAL",
                              category="RIFLE")  # fmt: skip

        answer = trace(api, "A812*", manufacturer="FN Herstal")

        assert first(answer)["item"]["id"] == rifle["id"]

    @pytest.mark.parametrize(
        ("reading", "registered"),
        [
            ("8HW23", "BHW235"),  # 8 read for B, and the last character missed
            ("2I789", "217893"),
            ("WI234S6", "W1234567"),  # two look-alikes, and the last character missed
            ("80551234", "BOSS12345"),  # the look-alikes registered, no trigram in common
            ("5O8I2346", "SOB-12345"),  # look-alikes on both sides, and a wrong last digit
        ],
    )
    def test_a_near_miss_through_look_alikes_is_found(
        self, api: ContractClient, registry: Any, reading: str, registered: str
    ) -> None:
        # Found in review: each error alone was found, both together not (the near misses were
        # sought on the normalised reading, where a look-alike is an edit and costs trigrams).
        pistol = registry.item(serial_number=registered, manufacturer="Glock", model="17",
                               category="PISTOL")  # fmt: skip
        registry.item(serial_number="BX550311")

        answer = trace(api, reading)

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (pistol["id"], "NEAR_MISS")
        assert "easily confused" in best["differences"][0]["explanation"]

    def test_two_transpositions_in_a_long_serial_are_found(
        self, api: ContractClient, registry: Any
    ) -> None:
        # Two transpositions are four Levenshtein edits: the search let three through.
        rifle = registry.item(serial_number="0001-23456-789012-345678901234", manufacturer="Ruger",
                              model="10/22", category="RIFLE")  # fmt: skip

        answer = trace(api, "0001-24356-789012-345768901234")

        best = first(answer)
        assert (best["item"]["id"], best["match_basis"]) == (rifle["id"], "NEAR_MISS")
        assert best["differences"][0]["explanation"].count("in the other order") == 2

    def test_the_named_makers_near_miss_is_sought_past_another_makers(
        self, api: ContractClient, registry: Any
    ) -> None:
        # Found in review: another maker's near miss, found by the first search, ended it; the
        # named maker's pistol, which only the wider second search reaches, was not listed.
        pistol = registry.item(serial_number="K7294351", manufacturer="Beretta", model="Px4",
                               category="PISTOL")  # fmt: skip
        registry.item(serial_number="K7094358", manufacturer="Colt", model="M16A2")

        answer = trace(api, "K7094359", manufacturer="Beretta")

        assert pistol["id"] in [c["item"]["id"] for c in answer["candidates"]]

    def test_past_the_search_limit_the_named_makers_near_misses_are_kept(
        self, api: ContractClient, db: Connection, registry: Any
    ) -> None:
        # Found in review: 70 of another maker's serials in sequence filled the near-miss
        # search's 50 rows, closest first, and the named maker's pistol was cut.
        in_sequence(db, registry, "HV3302", 70)
        pistol = registry.item(serial_number="HV330257", manufacturer="Glock", model="19",
                               category="PISTOL")  # fmt: skip

        answer = trace(api, "HV330275", manufacturer="Glock")

        assert first(answer)["item"]["id"] == pistol["id"]

    def test_an_answer_says_how_many_matched_and_when_a_search_was_cut(
        self, api: ContractClient, db: Connection, registry: Any, rifle: dict[str, Any]
    ) -> None:
        # Found in review: a partial reading that fit more serials than a search keeps listed
        # ten of them, and nothing said that more had matched.
        in_sequence(db, registry, "QJ7700", 60)

        partial = trace(api, "QJ77*")
        whole = trace(api, "АК 11 74094")

        assert partial["interpretation"]["search_limited"] is True
        assert partial["interpretation"]["candidates_found"] == CANDIDATES_SEARCHED
        assert len(partial["candidates"]) == 10
        assert whole["interpretation"]["search_limited"] is False
        assert whole["interpretation"]["candidates_found"] == 1

    def test_the_wider_search_leaves_the_session_as_it_found_it(
        self, api: ContractClient, registry: Any, app: Any
    ) -> None:
        registry.item(serial_number="K7294351")
        trace(api, "K7094359")

        with app.app_context():
            from service.api.context import connection

            setting = connection().execute("SHOW pg_trgm.similarity_threshold").fetchone()
        assert setting["pg_trgm.similarity_threshold"] == "0.3"

    def test_nothing_close_is_no_match(self, api: ContractClient, rifle: dict[str, Any]) -> None:
        answer = trace(api, "ZZ99887766")

        assert answer["status"] == "NO_MATCH"
        assert answer["candidates"] == []


class TestSerialsThatNormaliseLong:
    """A serial of 64 characters may normalise to far more: U+FDFA (one character) is 15
    letters. PostgreSQL's levenshtein, which the near-miss search uses, refuses more than 255:
    a trace answered 400 with the database's message, or failed for every reading near such a
    registered serial."""

    LIGATURE = "\ufdfa"

    def test_a_reading_too_long_to_compare_is_answered_without_near_misses(
        self, api: ContractClient, registry: Any
    ) -> None:
        registry.item(serial_number=self.LIGATURE * 4)

        answer = trace(api, self.LIGATURE * 20)  # 300 letters normalised

        assert answer["status"] == "NO_MATCH"
        assert "NEAR_MISS" not in answer["interpretation"]["tiers_searched"]

    def test_a_registered_serial_too_long_to_compare_is_passed_over(
        self, api: ContractClient, registry: Any
    ) -> None:
        registry.item(serial_number=self.LIGATURE * 20)
        near = registry.item(serial_number=self.LIGATURE * 16 + "AB")

        answer = trace(api, self.LIGATURE * 16 + "A")  # 241 letters: compared

        assert (first(answer)["item"]["id"], first(answer)["match_basis"]) == (
            near["id"],
            "NEAR_MISS",
        )
        assert len(answer["candidates"]) == 1


class TestDescription:
    def test_another_makers_identical_serial_is_listed_but_ranked_by_fit(
        self, api: ContractClient, registry: Any
    ) -> None:
        zastava = registry.item(
            manufacturer="Zastava Arms",
            model="M70",
            serial_number="55123",
            category="ASSAULT_RIFLE",
        )
        cz = registry.item(
            manufacturer="Česká zbrojovka", model="CZ 75", serial_number="55123", category="PISTOL"
        )

        answer = trace(
            api, "55123", manufacturer="Zastava Arms", model="M70", category="ASSAULT_RIFLE"
        )

        ranked = [(c["item"]["id"], c["match_basis"]) for c in answer["candidates"]]
        assert ranked == [(zastava["id"], "EXACT"), (cz["id"], "EXACT")]
        scores = [c["score"] for c in answer["candidates"]]
        assert scores[0] == 1.0 and scores[1] < 0.6
        fields = {d["field"] for d in answer["candidates"][1]["differences"]}
        assert fields == {"manufacturer", "model", "category"}
        assert answer["status"] == "MATCH"

    def test_without_a_description_two_identical_serials_are_candidates(
        self, api: ContractClient, registry: Any
    ) -> None:
        registry.item(manufacturer="Zastava Arms", model="M70", serial_number="55123")
        registry.item(manufacturer="Česká zbrojovka", model="CZ 75", serial_number="55123")

        answer = trace(api, "55123")

        assert answer["status"] == "CANDIDATES"
        assert [c["match_basis"] for c in answer["candidates"]] == ["EXACT", "EXACT"]

    @pytest.mark.parametrize("named", [True, False])
    def test_an_exact_match_is_found_among_more_items_of_its_serial_than_are_searched(
        self, api: ContractClient, registry: Any, named: bool
    ) -> None:
        # A short serial many makers' items share: the search keeps CANDIDATES_SEARCHED of
        # them, and it kept the oldest, cutting the exact marking of the maker named.
        for n in range(CANDIDATES_SEARCHED + 5):
            registry.item(manufacturer="Beretta", model=f"M{n}", serial_number="RV-7777")
        glock = registry.item(manufacturer="Glock", model="19", serial_number="RV 7777")
        described = {"manufacturer": "Glock", "model": "19"} if named else {}

        answer = trace(api, "RV 7777", **described)

        assert (first(answer)["item"]["id"], first(answer)["match_basis"]) == (glock["id"], "EXACT")
        assert answer["status"] == ("MATCH" if named else "CANDIDATES")
        assert len(answer["candidates"]) == CANDIDATES_SEARCHED

    def test_a_stronger_tier_is_not_cut_for_the_named_makers_weaker_one(
        self, registry: Any, db: Connection
    ) -> None:
        # The search, not the answer: the answer ranks by the whole description, and may show
        # the maker's weaker matches first, but it must have the stronger one to rank.
        for n in range(CANDIDATES_SEARCHED + 1):  # NCIC: the letter between digits ignored
            registry.item(manufacturer="Glock", model=f"G{n}", serial_number="12X345")
        beretta = registry.item(manufacturer="Beretta", model="92FS", serial_number="I2345")
        glock = db.execute("SELECT manufacturer_key FROM items WHERE serial_number = '12X345'")
        (row, *_) = glock.fetchall()

        found, _ = traces_repository.strong_candidates(
            db, "12345", "12345", traces_repository.Sought(row["manufacturer_key"]),
            CANDIDATES_SEARCHED,
        )  # fmt: skip

        assert str(found[0].item.id) == beretta["id"]  # CONFUSABLE, above every NCIC match
        assert len(found) == CANDIDATES_SEARCHED

    def test_a_manufacturer_matches_through_its_aliases(
        self, api: ContractClient, rifle: dict[str, Any], db: Connection
    ) -> None:
        _alias(db, "KALASHNIKOVCONCERN", "Kalashnikov Concern", ["Izhmash", "Kalashnikov Concern"])

        answer = trace(api, "AK 11 74094", manufacturer="Izhmash")

        assert answer["interpretation"]["manufacturer"]["name"] == "Kalashnikov Concern"
        assert answer["status"] == "MATCH"
        (difference,) = [d for d in first(answer)["differences"] if d["field"] == "manufacturer"]
        assert "'Izhmash' is a name of 'Kalashnikov Concern'" in difference["explanation"]

    def test_a_misspelt_alias_reads_like_the_maker_not_another_one(
        self, api: ContractClient, rifle: dict[str, Any], db: Connection
    ) -> None:
        # Found in review: "Ishmash", in no table, read "another manufacturer" and fitted 0.
        _alias(db, "KALASHNIKOVCONCERN", "Kalashnikov Concern", ["Izhmash", "Kalashnikov Concern"])

        misspelt = trace(api, "AK 11 74094", manufacturer="Ishmash")
        unknown = trace(api, "AK 11 74094", manufacturer="Acme Arms")

        assert misspelt["interpretation"]["manufacturer"] is None
        (difference,) = [d for d in first(misspelt)["differences"] if d["field"] == "manufacturer"]
        assert (
            "'Ishmash' is not in the table of manufacturers, but reads like"
            in (difference["explanation"])
        )
        assert first(misspelt)["score"] > first(unknown)["score"]

    def test_a_name_that_extends_a_makers_name_is_not_that_maker(
        self, api: ContractClient, registry: Any
    ) -> None:
        # Found in review: "Colt Canada Inc", in no table, read as a name of Colt and made a
        # MATCH on Colt's rifle of the same serial.
        registry.item(serial_number="LE123456", manufacturer="Colt", model="M16A2",
                      category="RIFLE")  # fmt: skip

        answer = trace(api, "LE123456", manufacturer="Colt Canada Inc")

        assert answer["status"] == "CANDIDATES"
        (difference,) = [d for d in first(answer)["differences"] if d["field"] == "manufacturer"]
        assert "reads like no name of the maker recorded" in difference["explanation"]

    def test_a_name_like_one_makers_is_sought_as_that_maker(
        self,
        api: ContractClient,
        rifle: dict[str, Any],
        db: Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Found in review: the key of a name not in the table is no item's, so the rifle found
        # as read was not of the maker "sought", and the loose search ran for nothing.
        _alias(db, "KALASHNIKOVCONCERN", "Kalashnikov Concern", ["Izhmash", "Kalashnikov Concern"])
        loose_searches = []
        searched = traces_repository.loose_wildcard_candidates
        monkeypatch.setattr(
            traces_repository,
            "loose_wildcard_candidates",
            lambda *args: loose_searches.append(args) or searched(*args),
        )

        answer = trace(api, "AK1174?94", manufacturer="Kalashnikov")

        assert first(answer)["item"]["id"] == rifle["id"]
        assert loose_searches == []

    def test_a_related_category_costs_less_than_an_unrelated_one(
        self, api: ContractClient, registry: Any
    ) -> None:
        registry.item(serial_number="77001", category="RIFLE", model="FAL")

        carbine = first(trace(api, "77001", category="CARBINE"))["score"]
        pistol = first(trace(api, "77001", category="PISTOL"))["score"]

        assert 0.5 <= pistol < carbine < 1.0


def _alias(db: Connection, key: str, name: str, aliases: list[str]) -> None:
    from service.domain.serials import normalise_name

    db.execute(
        "INSERT INTO manufacturers (key, name, country) VALUES (%s, %s, 'RU')"
        " ON CONFLICT DO NOTHING",
        [key, name],
    )
    for alias in aliases:
        db.execute(
            "INSERT INTO manufacturer_aliases VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [normalise_name(alias), alias, key],
        )


class TestRecords:
    def test_a_trace_reads_back_as_it_was_answered_even_after_new_events(
        self, api: ContractClient, rifle: dict[str, Any], registry: Any
    ) -> None:
        answer = trace(api, "АК 11 74094")
        police = registry.party(name="Police of Kyrgyzstan", kind="LAW_ENFORCEMENT", country="KG")
        registry.event(
            "SEIZURE", [rifle], occurred_on="2019-10-03", country="KG", to_party_id=police["id"]
        )

        stored = api.get(f"/v1/traces/{answer['id']}").get_json()
        today = trace(api, "АК 11 74094")

        assert stored == answer
        assert first(stored)["status"] == "IN_TRANSIT"
        assert first(today)["status"] == "SEIZED"

    def test_the_answer_carries_the_chain_the_context_and_the_caller(
        self, api: ContractClient, rifle: dict[str, Any], agency_key: Any
    ) -> None:
        answer = trace(api, "ak 11 74094", manufacturer="Kalashnikov Concern")

        assert answer["context"] == CONTEXT
        assert answer["agency"]["id"] == str(agency_key[0].id)
        assert answer["weapon"]["serial_number"] == "ak 11 74094"
        assert answer["weapon"]["obliterated"] is False
        best = first(answer)
        assert [e["event_type"] for e in best["events"]] == ["MANUFACTURE", "EXPORT"]
        assert best["current_holder"]["name"] == "Mongolian Armed Forces"

    def test_another_agency_cannot_read_a_trace(
        self, api: ContractClient, other_api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        answer = trace(api, "АК 11 74094")

        assert other_api.get(f"/v1/traces/{answer['id']}").status_code == 404
        assert other_api.get("/v1/traces").get_json()["items"] == []

    def test_the_list_filters_by_case_and_pages_newest_first(
        self, api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        made = [trace(api, f"AK11740{n}4")["id"] for n in range(5)]
        other_case = api.post(
            "/v1/traces",
            {
                "weapon": {"serial_number": "AK1174094"},
                "context": {**CONTEXT, "case_reference": "OTHER"},
            },
        )
        assert other_case.status_code == 201

        seen: list[str] = []
        path = "/v1/traces?case_reference=KG-2019-1003&limit=2"
        while path:
            page = api.get(path).get_json()
            seen += [summary["id"] for summary in page["items"]]
            cursor = page["next_cursor"]
            path = (
                f"/v1/traces?case_reference=KG-2019-1003&limit=2&cursor={cursor}" if cursor else ""
            )

        assert seen == list(reversed(made))

    def test_the_list_filters_by_day(self, api: ContractClient, rifle: dict[str, Any]) -> None:
        trace(api, "AK1174094")

        assert len(api.get("/v1/traces?created_from=2000-01-01").get_json()["items"]) == 1
        assert api.get("/v1/traces?created_to=2000-01-01").get_json()["items"] == []
        # the last day a date can name (its next day, the bound, used to be a 500)
        assert len(api.get("/v1/traces?created_to=9999-12-31").get_json()["items"]) == 1
        assert len(api.get("/v1/traces?created_from=9999-12-31").get_json()["items"]) == 0
        assert api.get("/v1/traces?created_to=2024-W01-1").status_code == 400

    def test_a_range_that_ends_before_it_starts_is_400(
        self, api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        trace(api, "AK1174094")

        # Days swapped by a client used to list nothing, as if the agency had made no trace.
        response = api.get("/v1/traces?created_from=2030-01-01&created_to=2020-01-01")

        assert response.status_code == 400
        assert [e["parameter"] for e in response.get_json()["errors"]] == ["created_to"]
        one_day = api.get("/v1/traces?created_from=2000-01-01&created_to=2000-01-01")
        assert one_day.status_code == 200

    def test_a_case_is_listed_through_its_own_index(self, db: Connection, agency_key: Any) -> None:
        # The service's plans are generic once a query is prepared (plan_cache_mode), and a
        # generic plan cannot use an index for an optional filter (`$2 IS NULL OR case = $2`):
        # through the agency's index, an old case was found only after every trace since.
        db.prepare_threshold = 0
        traces_repository.find(
            db, agency_key[0].id, case_reference="KG-2019-1003", batch_id=None,
            created_from=None, created_before=None, before=None, limit=51,
        )  # fmt: skip
        prepared = db.execute(
            "SELECT name, parameter_types::text[] AS types FROM pg_prepared_statements"
            " WHERE statement LIKE '%%FROM traces%%' AND statement NOT LIKE '%%pg_prepared%%'"
        ).fetchone()
        assert prepared is not None
        # Any values: the plan is generic whatever they are.
        values = {"uuid": f"'{agency_key[0].id}'", "text": "'KG-2019-1003'", "integer": "51"}
        arguments = ", ".join(values.get(kind, "NULL") for kind in prepared["types"])

        plan = db.execute(f"EXPLAIN EXECUTE {prepared['name']} ({arguments})").fetchall()

        assert "traces_agency_case" in " ".join(row["QUERY PLAN"] for row in plan)


@pytest.fixture
def one_second_batches(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch has 1 s (TRACE_REGISTRY_BATCH_SECONDS), and each weapon takes 0.05 s more."""
    runtime = app.extensions["trace_registry"]
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_overrides({"batch_seconds": 1}))
    answer = Tracer.answer

    def slow(self: Tracer, *args: Any) -> Any:
        time.sleep(0.05)
        return answer(self, *args)

    monkeypatch.setattr(Tracer, "answer", slow)


class TestBatch:
    def test_a_batch_traces_every_weapon_under_one_context(
        self, api: ContractClient, rifle: dict[str, Any]
    ) -> None:
        weapons = [
            {"serial_number": "АК 11 74094"},
            {"serial_number": "ZZ000000"},
            {"serial_number": "AK1174?94", "manufacturer": "Kalashnikov Concern"},
        ]

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 201
        batch = response.get_json()
        assert [t["status"] for t in batch["traces"]] == ["MATCH", "NO_MATCH", "CANDIDATES"]
        assert {t["batch_id"] for t in batch["traces"]} == {batch["batch_id"]}
        listed = api.get(response.headers["Location"]).get_json()["items"]
        assert {summary["id"] for summary in listed} == {t["id"] for t in batch["traces"]}

    def test_a_batch_answers_in_order_across_chunks_as_indented_json(
        self, api: ContractClient, rifle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Two weapons a chunk and 1 KiB in memory: the answer spills to disk, chunk by chunk.
        monkeypatch.setattr(trace_batches, "CHUNK", 2)
        monkeypatch.setattr(trace_batches, "IN_MEMORY", 1024)
        serials = ["АК 11 74094", "ZZ000000", "AK1174?94", "YY1", "ak-11-74094"]
        weapons = [{"serial_number": serial} for serial in serials]

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 201
        batch = response.get_json()
        assert [t["weapon"]["serial_number"] for t in batch["traces"]] == serials
        assert [t["status"] for t in batch["traces"]] == [
            "MATCH", "NO_MATCH", "CANDIDATES", "NO_MATCH", "MATCH"
        ]  # fmt: skip
        # the same bytes as the whole document indented at once (json_response)
        assert response.get_data() == orjson.dumps(
            batch, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
        assert response.headers["Content-Length"] == str(len(response.get_data()))
        for answered in batch["traces"]:  # each as stored, as GET /v1/traces/{id} gives it
            assert api.get(f"/v1/traces/{answered['id']}").get_json() == answered

    def test_a_batch_holds_one_chunk_of_answers_in_memory_not_the_whole_answer(
        self, api: ContractClient, rifle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Before, the whole answer was built as one document: a batch of 1,000 wildcard
        # readings (125 MB of JSON) took a worker to 395 MB.
        monkeypatch.setattr(trace_batches, "CHUNK", 5)
        monkeypatch.setattr(trace_batches, "IN_MEMORY", 64 * 1024)
        peaks: list[int] = []
        answer_batch = trace_batches.answer

        def measured(*args: Any) -> trace_batches.BatchDocument:
            tracemalloc.start()
            try:
                return answer_batch(*args)
            finally:
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()

        monkeypatch.setattr(trace_batches, "answer", measured)
        weapons = [{"serial_number": "AK1174?94"}] * 300

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 201
        size = len(response.get_data())
        assert size > 1_500_000
        assert peaks[0] < size / 4, (peaks, size)

    def test_a_batch_not_answered_in_its_time_is_413_and_stores_nothing(
        self, api: ContractClient, db: Connection, rifle: dict[str, Any], one_second_batches: None
    ) -> None:
        # gunicorn ends a request at 30 s, without an answer: a batch of hard readings (1,000
        # near misses of common digit runs took 26 s) stops in time and says so instead.
        weapons = [{"serial_number": "AK1174?94"}] * 60

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 413
        problem = response.get_json()
        assert problem["code"] == "batch_too_slow"
        assert "not answered within 1 s" in problem["detail"]
        assert "of its 60 weapons were" in problem["detail"]
        assert db.execute("SELECT count(*) AS n FROM traces").fetchone()["n"] == 0
        entry = db.execute("SELECT status, record_ids FROM audit_log ORDER BY id DESC LIMIT 1")
        assert entry.fetchone() == {"status": 413, "record_ids": []}  # nothing disclosed

    def test_a_statement_in_a_batch_s_last_seconds_is_cut_at_its_budget(
        self,
        api: ContractClient,
        db: Connection,
        rifle: dict[str, Any],
        one_second_batches: None,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # One statement may run for the statement timeout (10 s): at 19.9 s into a batch, it
        # would carry the request past gunicorn's 30 s.
        answer = Tracer.answer
        slowed: list[bool] = []

        def one_slow_statement(self: Tracer, *args: Any) -> Any:
            if len(slowed) == 3:
                self.conn.execute("SELECT pg_sleep(5)")
            slowed.append(True)
            return answer(self, *args)

        monkeypatch.setattr(Tracer, "answer", one_slow_statement)
        weapons = [{"serial_number": "AK1174?94"}] * 60
        started = time.monotonic()

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert time.monotonic() - started < 2.5
        assert (response.status_code, response.get_json()["code"]) == (413, "batch_too_slow")
        assert "(3 of its 60 weapons were)" in response.get_json()["detail"]
        assert db.execute("SELECT count(*) AS n FROM traces").fetchone()["n"] == 0

    def test_a_batch_s_statements_keep_their_timeout_after_its_last_seconds(
        self,
        api: ContractClient,
        rifle: dict[str, Any],
        app: Flask,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # A batch of 2 s runs all in its "last seconds" (under the 10 s statement timeout): its
        # statements are bounded, but not its audit entry and commit once it is answered.
        runtime = app.extensions["trace_registry"]
        monkeypatch.setattr(
            runtime, "settings", runtime.settings.with_overrides({"batch_seconds": 2})
        )
        seen: dict[str, str] = {}

        def shown(conn: Connection) -> str:
            return str(conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"])

        insert_many = traces_repository.insert_many

        def inserting(conn: Connection, *args: Any) -> None:
            seen["while answering"] = shown(conn)
            insert_many(conn, *args)

        write = auth._write_unless_written

        def writing(conn: Connection, *args: Any) -> None:
            seen["at the audit entry"] = shown(conn)
            write(conn, *args)

        monkeypatch.setattr(traces_repository, "insert_many", inserting)
        monkeypatch.setattr(auth, "_write_unless_written", writing)
        weapons = [{"serial_number": "AK1174?94"}] * 3

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 201
        assert seen["while answering"].endswith("ms")  # under 2 s
        assert seen["at the audit entry"] == "10s"

    def test_a_batch_s_time_counts_from_the_request_s_start(
        self,
        api: ContractClient,
        rifle: dict[str, Any],
        one_second_batches: None,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Time spent before the view (a retry waiting for the first request that holds its
        # Idempotency-Key) is gunicorn's 30 s too.
        begin = idempotency.begin

        def waited(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.8)
            return begin(*args, **kwargs)

        monkeypatch.setattr(idempotency, "begin", waited)
        weapons = [{"serial_number": "AK1174?94"}] * 60
        started = time.monotonic()

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 413
        assert time.monotonic() - started < 1.5
        answered = int(response.get_json()["detail"].split("(")[1].split(" of its")[0])
        assert answered <= 6  # 0.2 s of the second left for the weapons, not the whole second

    def test_a_batch_answer_that_is_not_given_is_closed_at_once(
        self, api: ContractClient, rifle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Its spooled file (up to 125 MB on disk) would otherwise stay open until collected.
        made: list[Response] = []
        respond = trace_batches.BatchDocument.response

        def kept(document: trace_batches.BatchDocument, *args: Any) -> Response:
            made.append(respond(document, *args))
            return made[-1]

        monkeypatch.setattr(trace_batches.BatchDocument, "response", kept)
        batch = {"context": CONTEXT, "weapons": [{"serial_number": "АК 11 74094"}]}
        headers = {"Idempotency-Key": "batch-1"}
        assert api.post("/v1/traces/batch", batch, headers=headers).status_code == 201

        def deadlocked(*args: Any) -> None:
            raise psycopg.errors.DeadlockDetected("deadlock detected")

        monkeypatch.setattr(auth, "_write_unless_written", deadlocked)

        fresh = api.post("/v1/traces/batch", batch)  # answered, then its audit entry fails
        replayed = api.post("/v1/traces/batch", batch, headers=headers)  # made again, the same

        assert fresh.status_code == replayed.status_code == 503
        assert len(made) == 3
        assert all(response.response.file.closed for response in made)  # type: ignore[attr-defined]


class TestBadRequests:
    """Clear 400s, and nothing stored."""

    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            ({"weapon": {}, "context": CONTEXT}, "/weapon/serial_number"),
            ({"weapon": {"serial_number": "***"}, "context": CONTEXT}, "/weapon/serial_number"),
            ({"weapon": {"serial_number": "??-??"}, "context": CONTEXT}, "/weapon/serial_number"),
            ({"weapon": {"serial_number": "A?B?C?D"}, "context": CONTEXT}, "/weapon/serial_number"),
            ({"weapon": {"serial_number": "12*"}, "context": CONTEXT}, "/weapon/serial_number"),
            ({"weapon": {"serial_number": "AK47", "country_of_manufacture": "SU"},
              "context": CONTEXT}, "/weapon/country_of_manufacture"),
            ({"weapon": {"serial_number": "AK47"}, "context": {**CONTEXT, "seizure_country": "ZZ"}},
             "/context/seizure_country"),
            ({"weapon": {"serial_number": "AK47"}, "context": {"purpose": "x"}},
             "/context/case_reference"),
            ({"weapon": {"serial_number": "AK47"}}, "/context"),
        ],
    )  # fmt: skip
    def test_a_bad_trace_is_400_and_stores_nothing(
        self, api: ContractClient, db: Connection, body: dict[str, Any], pointer: str
    ) -> None:
        response = api.post("/v1/traces", body)

        assert response.status_code == 400
        assert pointer in {error["pointer"] for error in response.get_json()["errors"]}
        assert db.execute("SELECT count(*) AS n FROM traces").fetchone()["n"] == 0

    def test_a_batch_of_1001_weapons_is_400_and_stores_nothing(
        self, api: ContractClient, db: Connection
    ) -> None:
        weapons = [{"serial_number": f"SN{n:06d}"} for n in range(1001)]

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert response.status_code == 400
        assert response.get_json()["errors"][0]["pointer"] == "/weapons"
        assert db.execute("SELECT count(*) AS n FROM traces").fetchone()["n"] == 0

    def test_one_bad_weapon_in_a_batch_is_named_and_nothing_is_stored(
        self, api: ContractClient, db: Connection
    ) -> None:
        weapons = [{"serial_number": "AK1"}, {"serial_number": "*"}, {"serial_number": "AK2"}]

        response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/weapons/1/serial_number"]
        assert db.execute("SELECT count(*) AS n FROM traces").fetchone()["n"] == 0

    def test_an_unknown_trace_is_404(self, api: ContractClient) -> None:
        assert api.get("/v1/traces/01a20319-0000-7000-8000-000000000000").status_code == 404
