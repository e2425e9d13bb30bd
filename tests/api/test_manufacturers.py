"""/v1/manufacturers, and manufacturers' aliases in items and traces (real reference data)."""

from __future__ import annotations

from typing import Any

from tests.contract import ContractClient

CONTEXT = {"case_reference": "T-1", "purpose": "test"}


def test_every_manufacturer_comes_with_its_names(api: ContractClient) -> None:
    listed = api.get("/v1/manufacturers").get_json()

    by_name = {m["name"]: m for m in listed["items"]}
    assert len(by_name) >= 100
    assert {"Izhmash", "Kalashnikov Concern"} <= set(by_name["Kalashnikov Concern"]["aliases"])
    assert by_name["Kalashnikov Concern"]["country"] == "RU"
    assert listed["next_cursor"] is None


def test_a_name_finds_its_manufacturer(api: ContractClient) -> None:
    def named(name: str) -> list[str]:
        return [m["name"] for m in api.get(f"/v1/manufacturers?name={name}").get_json()["items"]]

    assert named("izhmash") == ["Kalashnikov Concern"]
    assert named("F.N.") == ["FN Herstal"]
    assert named("Ижмаш") == ["Kalashnikov Concern"]
    assert named("Arsenal") == []  # ambiguous, so deliberately not an alias


def test_an_item_recorded_under_one_name_is_the_same_under_another(
    api: ContractClient, registry: Any
) -> None:
    registry.item(manufacturer="Kalashnikov Concern", model="AK-74M", serial_number="041234")

    again = api.post(
        "/v1/items",
        {"manufacturer": "Izhmash", "model": "AK-74M", "category": "ASSAULT_RIFLE",
         "serial_number": "041234"},
    )  # fmt: skip
    found = api.get("/v1/items?serial_number=041234&manufacturer=ijmash").get_json()["items"]
    by_alias = api.get("/v1/items?serial_number=041234&manufacturer=izhmash").get_json()["items"]

    assert again.status_code == 409
    assert found == []
    assert len(by_alias) == 1


def test_a_trace_under_an_old_name_finds_the_weapon(api: ContractClient, registry: Any) -> None:
    item = registry.item(manufacturer="FN Herstal", model="FAL", serial_number="1502-34567")

    response = api.post(
        "/v1/traces",
        {"weapon": {"serial_number": "150234567", "manufacturer": "Fabrique Nationale"},
         "context": CONTEXT},
    )  # fmt: skip

    answer = response.get_json()
    assert answer["interpretation"]["manufacturer"]["name"] == "FN Herstal"
    assert answer["status"] == "MATCH"
    assert answer["candidates"][0]["item"]["id"] == item["id"]
