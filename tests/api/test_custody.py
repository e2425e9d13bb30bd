"""GET /v1/items/{id}/custody: where has this weapon been?"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract import ContractClient


@pytest.fixture
def cast(registry: Any) -> dict[str, Any]:
    return {
        "maker": registry.party(name="Heckler & Koch", kind="MANUFACTURER", country="DE"),
        "ministry": registry.party(name="Ministry of Defence", kind="GOVERNMENT", country="LT"),
        "battalion": registry.party(name="Iron Wolf Brigade", kind="ARMED_FORCES", country="LT"),
        "police": registry.party(name="Lithuanian Police", kind="LAW_ENFORCEMENT", country="LT"),
        "exporter": registry.party(name="H&K Export", kind="EXPORTER", country="DE"),
    }


def custody(api: ContractClient, item: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/v1/items/{item['id']}/custody")
    assert response.status_code == 200
    chain: dict[str, Any] = response.get_json()
    return chain


def test_an_item_without_events_is_unrecorded(api: ContractClient, registry: Any) -> None:
    item = registry.item()

    chain = custody(api, item)

    assert chain["item"] == item
    assert (chain["status"], chain["current_holder"], chain["events"]) == ("UNRECORDED", None, [])


def test_the_chain_is_in_the_order_events_happened(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item(manufacturer="Heckler & Koch", model="G36")
    # Recorded out of order on purpose: the import arrives before the manufacture record.
    registry.event(
        "IMPORT",
        [item],
        occurred_on="2012-03-01",
        country="LT",
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["battalion"]["id"],
        owner_party_id=cast["ministry"]["id"],
    )
    registry.event(
        "MANUFACTURE",
        [item],
        occurred_on="2011-06-01",
        country="DE",
        to_party_id=cast["maker"]["id"],
    )
    registry.event(
        "EXPORT",
        [item],
        occurred_on="2012-02-20",
        country="DE",
        destination_country="LT",
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["battalion"]["id"],
    )

    chain = custody(api, item)

    assert [e["event_type"] for e in chain["events"]] == ["MANUFACTURE", "EXPORT", "IMPORT"]
    assert chain["status"] == "IN_SERVICE"
    assert chain["status_since"] == "2012-03-01"
    assert chain["current_holder"]["name"] == "Iron Wolf Brigade"
    assert chain["current_owner"]["name"] == "Ministry of Defence"


def test_events_of_one_day_keep_the_order_they_were_recorded_in(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item()
    same_day = {"occurred_on": "2012-02-20", "country": "LT"}
    registry.event(
        "EXPORT",
        [item],
        **{**same_day, "country": "DE"},
        destination_country="LT",
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["battalion"]["id"],
    )
    registry.event(
        "IMPORT",
        [item],
        **same_day,
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["battalion"]["id"],
    )
    registry.event(
        "TRANSFER",
        [item],
        **same_day,
        from_party_id=cast["battalion"]["id"],
        to_party_id=cast["police"]["id"],
    )

    chain = custody(api, item)

    assert [e["event_type"] for e in chain["events"]] == ["EXPORT", "IMPORT", "TRANSFER"]
    assert chain["current_holder"]["name"] == "Lithuanian Police"


def test_a_correction_takes_the_place_of_the_event_it_corrects(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    # Made and handed to the exporter on one day; the manufacture record is then corrected (and
    # its correction corrected): the item is still with the exporter, not back with the maker.
    item = registry.item()
    same_day = {"occurred_on": "2012-02-20", "country": "DE"}
    made = registry.event("MANUFACTURE", [item], **same_day, to_party_id=cast["maker"]["id"])
    handed_over = registry.event(
        "TRANSFER",
        [item],
        **same_day,
        from_party_id=cast["maker"]["id"],
        to_party_id=cast["exporter"]["id"],
    )
    corrected = made
    for explanation in ("licence number missing", "licence number mistyped"):
        corrected = registry.event(
            "MANUFACTURE",
            [item],
            **same_day,
            to_party_id=cast["maker"]["id"],
            licence_number="DE-2012-7",
            corrects={"event_id": corrected["id"], "reason": "INCORRECT_DATA",
                      "explanation": explanation},
        )  # fmt: skip

    chain = custody(api, item)

    assert [e["id"] for e in chain["events"]][-2:] == [corrected["id"], handed_over["id"]]
    assert chain["current_holder"]["name"] == "H&K Export"
    assert not [f for f in chain["findings"] if f["severity"] != "INFO"]


def test_an_export_without_its_import_is_in_transit(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item()
    registry.event(
        "EXPORT",
        [item],
        occurred_on="2012-02-20",
        country="DE",
        destination_country="LT",
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["battalion"]["id"],
    )

    chain = custody(api, item)

    assert chain["status"] == "IN_TRANSIT"
    assert chain["current_holder"]["name"] == "Iron Wolf Brigade"


def test_a_stolen_weapon_has_no_holder_but_keeps_its_owner_and_last_holder(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item()
    registry.event(
        "TRANSFER",
        [item],
        occurred_on="2013-01-01",
        country="LT",
        from_party_id=cast["ministry"]["id"],
        to_party_id=cast["battalion"]["id"],
        owner_party_id=cast["ministry"]["id"],
    )
    registry.event(
        "THEFT",
        [item],
        occurred_on="2015-07-04",
        country="LT",
        from_party_id=cast["battalion"]["id"],
        document_reference="police report 77/15",
    )

    chain = custody(api, item)

    assert chain["status"] == "STOLEN"
    assert chain["status_since"] == "2015-07-04"
    assert chain["current_holder"] is None
    assert chain["current_owner"]["name"] == "Ministry of Defence"
    assert chain["last_known_holder"]["name"] == "Iron Wolf Brigade"


def test_a_seized_weapon_is_held_by_the_seizing_authority(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item()
    registry.event(
        "THEFT",
        [item],
        occurred_on="2015-07-04",
        country="LT",
        from_party_id=cast["battalion"]["id"],
    )
    registry.event(
        "SEIZURE", [item], occurred_on="2019-11-30", country="LT", to_party_id=cast["police"]["id"]
    )

    chain = custody(api, item)

    assert chain["status"] == "SEIZED"
    assert chain["current_holder"]["name"] == "Lithuanian Police"


def test_an_erroneous_event_stays_visible_but_does_not_count(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item()
    registry.event(
        "MANUFACTURE",
        [item],
        occurred_on="2011-06-01",
        country="DE",
        to_party_id=cast["maker"]["id"],
    )
    wrong = registry.event(
        "THEFT", [item], occurred_on="2014-01-01", country="DE", from_party_id=cast["maker"]["id"]
    )
    api.post(
        f"/v1/events/{wrong['id']}/error-declaration",
        {"reason": "DID_NOT_OCCUR", "explanation": "reported against the wrong serial"},
    )

    chain = custody(api, item)

    assert [e["event_type"] for e in chain["events"]] == ["MANUFACTURE", "THEFT"]
    assert chain["events"][1]["error_declaration"]["reason"] == "DID_NOT_OCCUR"
    assert chain["status"] == "IN_SERVICE"
    assert chain["current_holder"]["name"] == "Heckler & Koch"


def test_each_item_of_a_shipment_has_it_in_its_chain(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    items = [registry.item() for _ in range(2)]
    shipment = registry.event(
        "EXPORT",
        items,
        occurred_on="2012-02-20",
        country="DE",
        destination_country="LT",
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["battalion"]["id"],
    )
    registry.event(
        "DESTRUCTION",
        items[:1],
        occurred_on="2020-01-01",
        country="LT",
        from_party_id=cast["battalion"]["id"],
    )

    first, second = (custody(api, item) for item in items)

    assert [e["id"] for e in second["events"]] == [shipment["id"]]
    assert [e["event_type"] for e in first["events"]] == ["EXPORT", "DESTRUCTION"]
    assert (first["status"], second["status"]) == ("DESTROYED", "IN_TRANSIT")


def test_an_unknown_item_has_no_chain(api: ContractClient) -> None:
    response = api.get("/v1/items/01a20319-0000-7000-8000-000000000000/custody")

    assert response.status_code == 404
