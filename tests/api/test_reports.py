"""Traces and chains of custody as text, for a client whose Accept header asks for text/plain
(an investigator's terminal): the same answer as the JSON, stored as JSON, readable as it
comes."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from tests.api.test_traces import CONTEXT
from tests.contract import ContractClient
from tests.unit.test_reports import records_of

TEXT = {"Accept": "text/plain"}


@pytest.fixture
def exported(registry: Any) -> dict[str, Any]:
    """A rifle made in Belgium and exported to an army under a certificate's line; a transfer
    typed in error and declared so."""
    maker = registry.party(name="FN Herstal", kind="MANUFACTURER", country="BE")
    army = registry.party(name="Iraqi Army", kind="ARMED_FORCES", country="IQ")
    rifle = registry.item(
        serial_number="FN-8817", caliber="7.62x51mm", country_of_manufacture="BE",
        year_of_manufacture=2009, import_markings=[{"country": "IQ", "year": 2010}],
    )  # fmt: skip
    euc = registry.euc(maker, army, certificate_number="IQ/MOD/2010/17")
    registry.event("MANUFACTURE", [rifle], occurred_on="2009-11-02", to_party_id=maker["id"])
    registry.event(
        "EXPORT", [rifle], occurred_on="2010-05-02", from_party_id=maker["id"],
        to_party_id=army["id"], destination_country="IQ", euc_id=euc["id"], euc_line_number=1,
        licence_number="BE-LIC-4410", notes="Shipped by air,\nvia Amman",
    )  # fmt: skip
    wrong = registry.event(
        "TRANSFER", [rifle], occurred_on="2011-01-10", country="IQ", from_party_id=army["id"],
        to_party_id=maker["id"],
    )  # fmt: skip
    registry.api.post(
        f"/v1/events/{wrong['id']}/error-declaration",
        {"reason": "DID_NOT_OCCUR", "explanation": "typed against the wrong item"},
    )
    return rifle


def test_a_trace_asked_for_as_text_is_a_report_of_the_same_answer(
    api: ContractClient, exported: dict[str, Any]
) -> None:
    weapon = {"serial_number": "FN 8817", "manufacturer": "FN", "model": "FAL"}
    response = api.post("/v1/traces", {"weapon": weapon, "context": CONTEXT}, headers=TEXT)

    assert response.status_code == 201
    assert response.content_type == "text/plain; charset=utf-8"
    assert "Accept" in response.vary
    report = response.get_data(as_text=True)
    trace_id = response.headers["Location"].rsplit("/", 1)[1]
    lines = records_of(report)
    assert lines[0] == f"TRACE {trace_id}  MATCH"
    assert "case        KG-2019-1003" in lines
    assert "seized      in KG on 2019-10-03" in lines
    assert "serial      FN 8817 (searched as FN8817)" in lines
    assert "maker       FN (registry: FN Herstal, BE)" in lines
    assert "1 CANDIDATE" in lines
    assert "    differences" in lines
    assert (
        '        manufacturer: read "FN", registered "FN Herstal": '
        "'FN' is a name of 'FN Herstal', recorded as 'FN Herstal'" in lines
    )
    assert "#1  NORMALISED  score 0.97" in lines
    assert (
        "    weapon      FN Herstal FAL (RIFLE, 7.62x51mm), serial FN-8817, made in BE in 2009"
        in lines
    )
    assert "    markings    import IQ 2010" in lines
    assert "    holder      Iraqi Army (ARMED_FORCES, IQ)" in lines
    assert "    3 events of custody" in lines
    export = lines.index(
        "        2010-05-02  EXPORT       BE -> IQ  from FN Herstal (MANUFACTURER, BE) "
        "to Iraqi Army (ARMED_FORCES, IQ)"
    )
    assert lines[export + 1].split("; ")[:2] == [
        " " * 20 + "certificate IQ/MOD/2010/17 (IQ) line 1",
        "licence BE-LIC-4410",
    ]
    assert lines[export + 2] == " " * 20 + "notes: Shipped by air, via Amman"
    assert any(
        line.startswith(" " * 20 + "DECLARED ERRONEOUS (DID_NOT_OCCUR) by ")
        and line.endswith(": typed against the wrong item (it does not count)")
        for line in lines
    )

    # Kept as JSON, and reported again the same from what was kept.
    stored = api.get(f"/v1/traces/{trace_id}").get_json()
    assert stored["candidates"][0]["item"]["id"] == exported["id"]
    again = api.get(f"/v1/traces/{trace_id}", headers=TEXT)
    assert again.content_type == "text/plain; charset=utf-8"
    assert again.get_data(as_text=True) == report


def test_a_chain_of_custody_asked_for_as_text(
    api: ContractClient, exported: dict[str, Any]
) -> None:
    response = api.get(f"/v1/items/{exported['id']}/custody", headers=TEXT)

    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    lines = records_of(response.get_data(as_text=True))
    assert lines[0] == f"ITEM {exported['id']}"
    assert "    status      IN_TRANSIT since 2010-05-02" in lines
    assert lines[lines.index("    2 findings") + 1 :][:2] == [
        "        WARNING  EUC_NOT_VERIFIED: The delivery to the end user of IQ/MOD/2010/17 was not "
        "verified in the 180 days after the export of 2010-05-02.",
        "        INFO     UNVERIFIED_LAST_HOLDER: The record leaves the item with Iraqi Army, whom "
        "no agency has verified as a party or as this item's holder.",
    ]
    events = [line for line in lines if line.startswith("        20")]
    assert [line.split()[1] for line in events] == ["MANUFACTURE", "EXPORT", "TRANSFER"]


def test_what_another_agency_restricted_stays_withheld_in_the_text(
    api: ContractClient, other_api: ContractClient, exported: dict[str, Any]
) -> None:
    army = api.get(f"/v1/items/{exported['id']}/custody").get_json()["current_holder"]
    buyer = other_api.created(
        "/v1/parties",
        {"name": "Nightjar Holdings", "kind": "BROKER", "country": "IQ",
         "classification": "RESTRICTED"},
    )  # fmt: skip
    other_api.created(
        "/v1/events",
        {"event_type": "TRANSFER", "occurred_on": "2018-06-01", "country": "IQ",
         "item_ids": [exported["id"]], "from_party_id": army["id"], "to_party_id": buyer["id"],
         "document_reference": "OP-NIGHTJAR-7", "classification": "RESTRICTED"},
    )  # fmt: skip

    report = api.get(f"/v1/items/{exported['id']}/custody", headers=TEXT).get_data(as_text=True)

    assert "Nightjar" not in report and "OP-NIGHTJAR-7" not in report
    recorder = other_api.get(f"/v1/parties/{buyer['id']}").get_json()["recorded_by"]["name"]
    assert f"        2018-06-01  (restricted by {recorder}: ask them)" in report.splitlines()


def test_a_trace_that_finds_nothing_says_so(api: ContractClient) -> None:
    weapon = {"serial_number": "ZZ-0000-NOTHING"}
    response = api.post("/v1/traces", {"weapon": weapon, "context": CONTEXT}, headers=TEXT)

    lines = records_of(response.get_data(as_text=True))
    assert lines[0].endswith("  NO_MATCH")
    assert lines[-2:] == ["0 CANDIDATES", "Nothing registered fits the reading."]


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/json, text/plain",
     "text/plain;q=0.5, application/json", "text/html", "text/plain;q=0"],
)  # fmt: skip
def test_json_stays_the_answer_unless_text_is_preferred(
    api: ContractClient, exported: dict[str, Any], accept: str | None
) -> None:
    response = api.get(
        f"/v1/items/{exported['id']}/custody", headers={"Accept": accept} if accept else {}
    )

    assert response.content_type == "application/json"
    assert response.get_json()["item"]["id"] == exported["id"]
    assert "Accept" in response.vary


@pytest.mark.parametrize("accept", ["text/plain", "text/*", "TEXT/PLAIN; charset=utf-8",
                                    "application/json;q=0.9, text/plain"])  # fmt: skip
def test_text_is_the_answer_when_preferred(
    api: ContractClient, exported: dict[str, Any], accept: str
) -> None:
    response = api.get(f"/v1/items/{exported['id']}/custody", headers={"Accept": accept})

    assert response.content_type == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True).startswith(f"ITEM {exported['id']}\n")


def test_a_refusal_is_a_problem_document_whatever_was_asked_for(api: ContractClient) -> None:
    missing = "01938a7e-0000-7000-8000-000000000000"
    response = api.get(f"/v1/traces/{missing}", headers=TEXT)

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_a_replayed_trace_is_answered_as_it_was(api: ContractClient) -> None:
    body = {"weapon": {"serial_number": "ZZ-0000-REPLAY"}, "context": CONTEXT}
    first = api.post("/v1/traces", body, headers={**TEXT, "Idempotency-Key": "report-1"})
    again = api.post("/v1/traces", body, headers={**TEXT, "Idempotency-Key": "report-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_data() == first.get_data()
    assert again.content_type == "text/plain; charset=utf-8"


@pytest.mark.parametrize(("first", "then"), [(TEXT, {}), ({}, TEXT)])
def test_a_replayed_trace_is_answered_as_the_replay_asks(
    api: ContractClient, first: dict[str, str], then: dict[str, str]
) -> None:
    # A retry may come from another client than the first request (a script after a
    # terminal): the same answer, in the representation its own Accept asks for.
    body = {"weapon": {"serial_number": "ZZ-0000-REPLAY"}, "context": CONTEXT}
    key = {"Idempotency-Key": "report-2"}
    answered = api.post("/v1/traces", body, headers={**first, **key})
    again = api.post("/v1/traces", body, headers={**then, **key})

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == answered.headers["Location"]
    trace_id = answered.headers["Location"].rsplit("/", 1)[1]
    stored = api.get(f"/v1/traces/{trace_id}", headers=then)
    assert again.content_type == stored.content_type
    assert again.get_data() == stored.get_data()
    assert "Accept" in again.vary


def test_text_in_wide_characters_keeps_to_the_terminals_width(
    api: ContractClient, registry: Any
) -> None:
    # A Chinese ideograph takes two of a terminal's columns, and Chinese text has no spaces
    # between its words: a seizure's note of a few sentences was one line of some 280 columns
    # (counted as 140 characters, and never broken), which the terminal folded back to its first
    # column (found in review). A line may break between any two wide characters.
    police = registry.party(
        name="中华人民共和国公安部刑事侦查局", kind="LAW_ENFORCEMENT", country="CN"
    )
    rifle = registry.item(serial_number="CN-0417")
    note = (
        "在边境检查站查获，该枪支序列号与出口记录一致，出口证书禁止再出口，未记录任何再出口同意。"
    )
    registry.event(
        "SEIZURE", [rifle], occurred_on="2019-10-03", country="CN", to_party_id=police["id"],
        notes=note * 3,
    )  # fmt: skip

    response = api.get(f"/v1/items/{rifle['id']}/custody", headers=TEXT)

    assert response.status_code == 200
    report = response.get_data(as_text=True)
    assert max(map(columns, report.splitlines())) <= 100
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("notes: "))
    told = [lines[start].split("notes: ", 1)[1]]
    told += [line.strip() for line in lines[start + 1 :] if line.startswith(" " * 27)]
    assert "".join(told) == note * 3
    assert len(told) > 1


def columns(line: str) -> int:
    """The columns a terminal gives the line: two for a wide character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
