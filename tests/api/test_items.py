"""/v1/items: recording, reading and finding weapons by serial."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.contract import ContractClient

RIFLE = {
    "manufacturer": "Kalashnikov Concern",
    "model": "AK-74M",
    "category": "ASSAULT_RIFLE",
    "caliber": "5.45x39mm",
    "serial_number": "АК 123-456",  # Cyrillic А and К, as stamped in Izhevsk
    "country_of_manufacture": "RU",
    "year_of_manufacture": 2008,
    "import_markings": [{"country": "SY", "year": 2011, "marking": "SY-11"}],
    "other_markings": "arsenal mark: triangle with arrow",
}


def test_an_item_keeps_its_serial_as_marked_and_normalised(api: ContractClient) -> None:
    item = api.created("/v1/items", RIFLE)

    assert item["serial_number"] == "АК 123-456"
    assert item["serial_normalised"] == "AK123456"
    assert item["import_markings"] == [{"country": "SY", "year": 2011, "marking": "SY-11"}]
    assert api.get(f"/v1/items/{item['id']}").get_json() == item


def test_optional_fields_default_to_null_and_empty(api: ContractClient) -> None:
    item = api.created(
        "/v1/items",
        {"manufacturer": "Glock", "model": "17", "category": "PISTOL", "serial_number": "BHK123"},
    )

    assert item["caliber"] is None
    assert item["import_markings"] == []
    assert item["year_of_manufacture"] is None


def test_a_serial_is_unique_per_manufacturer_and_model_in_normalised_form(
    api: ContractClient,
) -> None:
    api.created("/v1/items", RIFLE)

    same = api.post(
        "/v1/items", {**RIFLE, "serial_number": "ak-123 456", "manufacturer": "KALASHNIKOV concern"}
    )
    other_model = api.post("/v1/items", {**RIFLE, "model": "AK-103"})
    other_maker = api.post("/v1/items", {**RIFLE, "manufacturer": "Zastava"})

    assert same.status_code == 409
    assert same.get_json()["code"] == "duplicate"
    assert other_model.status_code == 201
    assert other_maker.status_code == 201


def test_a_serial_without_a_letter_or_digit_is_refused(api: ContractClient) -> None:
    response = api.post("/v1/items", {**RIFLE, "serial_number": "-- / --"})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "/serial_number"


def test_nested_errors_point_into_the_array(api: ContractClient) -> None:
    markings = [{"country": "SY"}, {"country": "QQ", "year": 1700}]
    response = api.post("/v1/items", {**RIFLE, "import_markings": markings})

    pointers = {e["pointer"] for e in response.get_json()["errors"]}
    assert pointers == {"/import_markings/1/country", "/import_markings/1/year"}


def test_types_are_strict(api: ContractClient) -> None:
    response = api.post(
        "/v1/items", {**RIFLE, "year_of_manufacture": "2008", "category": ["RIFLE"]}
    )

    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.get_json()["errors"]}
    assert pointers == {"/year_of_manufacture", "/category"}


def test_booleans_are_not_integers(api: ContractClient) -> None:
    response = api.post("/v1/items", {**RIFLE, "year_of_manufacture": True})

    assert response.status_code == 400


def test_an_integer_is_written_as_an_integer(api: ContractClient) -> None:
    # 2008.0 was stored as 2008 (JSON Schema counts it an integer): a float of the sender's data.
    marking = {"country": "SY", "year": 2.011e3}
    response = api.post(
        "/v1/items", {**RIFLE, "year_of_manufacture": 2008.0, "import_markings": [marking]}
    )
    fraction = api.post("/v1/items", {**RIFLE, "year_of_manufacture": 2008.5})

    assert response.status_code == fraction.status_code == 400
    assert [(e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        ("/year_of_manufacture", "Not a valid integer: write 2008, without a decimal point or "
         "exponent."),
        ("/import_markings/0/year", "Not a valid integer: write 2011, without a decimal point or "
         "exponent."),
    ]  # fmt: skip
    assert [e["detail"] for e in fraction.get_json()["errors"]] == [
        "Not a valid integer: a whole number is needed, without a decimal point or exponent."
    ]


@pytest.mark.parametrize(
    "written",
    [str(2**63), str(2**64), str(-(2**63) - 1), "9" * 400, "9" * 5_000, "-" + "9" * 5_000],
)
def test_a_whole_number_however_large_is_out_of_range(api: ContractClient, written: str) -> None:
    # Found in the messages review: orjson reads one of more than 64 bits as a float (told to
    # leave out a decimal point it did not write), and one beyond a double not at all ("the
    # body is not valid JSON: number is infinity when parsed as double").
    rifle = {name: value for name, value in RIFLE.items() if name != "year_of_manufacture"}
    body = orjson.dumps(rifle)[:-1] + f', "year_of_manufacture": {written}}}'.encode()

    response = api.post("/v1/items", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert [(e["pointer"], e["detail"]) for e in response.get_json()["errors"]] == [
        ("/year_of_manufacture", "Must be greater than or equal to 1800 and less than or equal "
         "to 2100.")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("year", "detail"),
    [
        ("2000.0", "Not a valid integer: write 2000, without a decimal point or exponent."),
        ("1e400", "the body is not valid JSON: number is infinity when parsed as double"),
        ("NaN", "the body is not valid JSON: unexpected character"),
    ],
)
def test_a_long_whole_number_elsewhere_changes_no_other_refusal(
    api: ContractClient, year: str, detail: str
) -> None:
    # A body with a number beyond a double is read again by `json`: what it reads and orjson
    # does not stays refused, and a number written with a point stays one.
    body = f'{{"year_of_manufacture": {year}, "quantity": {"9" * 5_000}}}'.encode()

    response = api.post("/v1/items", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert any(e["detail"].startswith(detail) for e in response.get_json()["errors"])


def test_finding_by_serial_ignores_case_separators_and_lookalikes(
    api: ContractClient, registry: Any
) -> None:
    wanted = api.created("/v1/items", RIFLE)
    registry.item(serial_number="AK123457")

    for reading in ("AK123456", "ak 123 456", "АК-123-456", "a.k.1.2.3.4.5.6"):
        found = api.get(f"/v1/items?serial_number={reading}").get_json()
        assert [item["id"] for item in found["items"]] == [wanted["id"]], reading
        assert found["next_cursor"] is None


def test_a_superscript_letter_in_a_serial_is_the_letter(api: ContractClient) -> None:
    # Dropped until version 10: "ᴬ123" was "123", and a reading "A123" never found it.
    raised = api.created("/v1/items", {**RIFLE, "serial_number": "ᴬ123"})
    plain = api.post("/v1/items", {**RIFLE, "serial_number": "A-123"})

    assert raised["serial_normalised"] == "A123"
    assert plain.status_code == 409
    found = api.get("/v1/items?serial_number=a123").get_json()
    assert [item["id"] for item in found["items"]] == [raised["id"]]


def test_finding_by_serial_lists_every_manufacturer_unless_one_is_named(
    api: ContractClient,
) -> None:
    kalashnikov = api.created("/v1/items", RIFLE)
    zastava = api.created("/v1/items", {**RIFLE, "manufacturer": "Zastava", "model": "M70"})

    both = api.get("/v1/items?serial_number=AK123456").get_json()["items"]
    one = api.get("/v1/items?serial_number=AK123456&manufacturer=zastava").get_json()["items"]

    assert {item["id"] for item in both} == {kalashnikov["id"], zastava["id"]}
    assert [item["id"] for item in one] == [zastava["id"]]


def test_pages_follow_the_cursor_to_the_end(api: ContractClient, registry: Any) -> None:
    recorded = [registry.item(manufacturer="Beretta", model="92FS")["id"] for _ in range(5)]
    registry.item(manufacturer="Glock", model="19")

    seen: list[str] = []
    path = "/v1/items?manufacturer=beretta&limit=2"
    while path:
        page = api.get(path).get_json()
        seen += [item["id"] for item in page["items"]]
        assert len(page["items"]) <= 2
        path = (
            f"/v1/items?manufacturer=beretta&limit=2&cursor={page['next_cursor']}"
            if page["next_cursor"]
            else ""
        )

    assert seen == sorted(recorded)


def test_listing_without_filters_walks_the_registry(api: ContractClient, registry: Any) -> None:
    ids = [registry.item()["id"] for _ in range(3)]

    page = api.get("/v1/items?limit=500").get_json()

    assert [item["id"] for item in page["items"]] == sorted(ids)


def test_a_cursor_works_only_with_the_filters_it_was_made_for(
    api: ContractClient, registry: Any
) -> None:
    for _ in range(3):
        registry.item(manufacturer="Beretta", model="92FS")
    cursor = api.get("/v1/items?manufacturer=beretta&limit=1").get_json()["next_cursor"]

    misused = api.get(f"/v1/items?manufacturer=glock&limit=1&cursor={cursor}")
    forged = api.get(f"/v1/items?manufacturer=beretta&limit=1&cursor={cursor[:-2]}xx")

    assert misused.status_code == 400
    assert misused.get_json()["errors"][0]["parameter"] == "cursor"
    assert forged.status_code == 400


def test_bad_query_parameters_are_named(api: ContractClient) -> None:
    cases = {
        "/v1/items?limit=0": "limit",
        "/v1/items?limit=501": "limit",
        "/v1/items?limit=ten": "limit",
        "/v1/items?serial_number=--": "serial_number",
        "/v1/items?colour=red": "colour",
        "/v1/items?limit=1&limit=2": "limit",
        # int() reads these as 10, 2, 5 and 5; the contract's integer is ASCII digits
        "/v1/items?limit=1_0": "limit",
        "/v1/items?limit=%D9%A2": "limit",
        "/v1/items?limit=%EF%BC%95": "limit",
        "/v1/items?limit=%205%0A": "limit",
    }
    for path, parameter in cases.items():
        response = api.get(path)
        assert response.status_code == 400, path
        errors = response.get_json()["errors"]
        assert [(e["location"], e["parameter"]) for e in errors] == [("query", parameter)], path


def test_an_unknown_item_is_404(api: ContractClient) -> None:
    assert api.get("/v1/items/01a20319-0000-7000-8000-000000000000").status_code == 404
    not_a_uuid = api.get("/v1/items/AK123456")
    assert not_a_uuid.status_code == 404
    assert not_a_uuid.mimetype == "application/problem+json"
