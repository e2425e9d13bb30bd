"""/v1/eucs: end-user certificates and their line items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.db import Connection
from tests.conftest import rows_in
from tests.contract import ContractClient


@pytest.fixture
def parties(registry: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    exporter = registry.party(name="Poongsan Defense", kind="EXPORTER", country="KR")
    end_user = registry.party(name="Kenya Defence Forces", kind="ARMED_FORCES", country="KE")
    return exporter, end_user


def _certificate(exporter: dict[str, Any], end_user: dict[str, Any], **fields: Any) -> Any:
    return {
        "certificate_number": "MOD/EUC/2019/114",
        "issuing_country": "KE",
        "issuing_authority": "Ministry of Defence, Nairobi",
        "issued_on": "2019-02-01",
        "expires_on": "2020-02-01",
        "exporter_party_id": exporter["id"],
        "end_user_party_id": end_user["id"],
        "destination_country": "KE",
        "stated_end_use": "Training and operations of the national army",
        "non_reexport_clause": True,
        "line_items": [
            {"description": "Mortar 81mm", "category": "MORTAR", "model": "KM187", "quantity": 24},
            {"description": "Mortar bombs 81mm", "quantity": 4000},
        ],
        **fields,
    }


def test_a_certificate_reads_back_with_parties_and_numbered_lines(
    api: ContractClient, parties: Any
) -> None:
    exporter, end_user = parties
    euc = api.created("/v1/eucs", _certificate(exporter, end_user))

    assert api.get(f"/v1/eucs/{euc['id']}").get_json() == euc
    assert euc["exporter"] == {
        "id": exporter["id"],
        "name": "Poongsan Defense",
        "kind": "EXPORTER",
        "country": "KR",
        "classification": "UNRESTRICTED",
    }
    assert euc["end_user"]["name"] == "Kenya Defence Forces"
    assert [(line["line_number"], line["quantity"]) for line in euc["line_items"]] == [
        (1, 24),
        (2, 4000),
    ]
    assert euc["line_items"][1]["category"] is None


def test_explicit_line_numbers_are_kept_and_must_be_unique(
    api: ContractClient, parties: Any
) -> None:
    exporter, end_user = parties
    lines = [{"line_number": 7, "description": "a", "quantity": 1}]
    euc = api.created("/v1/eucs", _certificate(exporter, end_user, line_items=lines))
    twice = [*lines, {"line_number": 7, "description": "b", "quantity": 2}]
    refused = api.post("/v1/eucs", _certificate(exporter, end_user, line_items=twice))

    assert euc["line_items"][0]["line_number"] == 7
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["pointer"] == "/line_items/1/line_number"


def test_a_line_without_a_number_may_not_take_the_number_another_line_was_given(
    api: ContractClient, parties: Any, db: Connection
) -> None:
    # A line without a number is numbered by its position: the second line here was numbered 2
    # as the first was, and the certificate was refused by the database's unique index (409,
    # "Key (euc_id, line_number)=(..., 2) already exists") rather than as a bad body.
    exporter, end_user = parties
    lines = [
        {"line_number": 2, "description": "Mortars", "quantity": 1},
        {"description": "Mortar bombs", "quantity": 200},
    ]

    refused = api.post("/v1/eucs", _certificate(exporter, end_user, line_items=lines))

    assert refused.status_code == 400, refused.get_json()
    (problem,) = refused.get_json()["errors"]
    assert problem["pointer"] == "/line_items/1/line_number"
    assert "position" in problem["detail"]
    assert rows_in(db, "end_user_certificates") == 0


def test_a_certificate_number_is_unique_per_issuing_country(
    api: ContractClient, parties: Any
) -> None:
    exporter, end_user = parties
    api.created("/v1/eucs", _certificate(exporter, end_user))

    same = api.post(
        "/v1/eucs", _certificate(exporter, end_user, certificate_number="mod euc 2019-114")
    )
    other_country = api.post("/v1/eucs", _certificate(exporter, end_user, issuing_country="UG"))

    assert same.status_code == 409
    assert same.get_json()["code"] == "duplicate"
    assert other_country.status_code == 201


def test_an_unknown_end_user_is_a_conflict_and_nothing_is_stored(
    api: ContractClient, parties: Any, db: Any
) -> None:
    exporter, end_user = parties
    ghost = {**end_user, "id": "01a20319-0000-7000-8000-000000000000"}

    response = api.post("/v1/eucs", _certificate(exporter, ghost))

    assert response.status_code == 409
    assert response.get_json()["code"] == "unknown_reference"
    assert db.execute("SELECT count(*) AS n FROM end_user_certificates").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM euc_line_items").fetchone()["n"] == 0


def test_validation_names_each_problem(api: ContractClient, parties: Any) -> None:
    exporter, end_user = parties
    body = _certificate(
        exporter,
        end_user,
        expires_on="2018-01-01",
        non_reexport_clause=1,
        line_items=[{"description": "x", "quantity": 0}],
        end_user_party_id="not-a-uuid",
    )

    response = api.post("/v1/eucs", body)

    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.get_json()["errors"]}
    assert pointers == {"/non_reexport_clause", "/line_items/0/quantity", "/end_user_party_id"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # a number whose lookup form is empty: the database refused it and answered the whole row
        *(("certificate_number", number) for number in ("---", "-", "_", "\u200b")),
        # dates that Python reads too, where the contract's format is YYYY-MM-DD
        *(("issued_on", day) for day in ("20100301", "2010-W09-1")),
    ],
)
def test_a_value_only_the_database_or_python_would_take_is_refused_at_the_edge(
    api: ContractClient, parties: Any, field: str, value: str
) -> None:
    exporter, end_user = parties

    response = api.post("/v1/eucs", _certificate(exporter, end_user, **{field: value}))

    assert response.status_code == 400
    assert [e["pointer"] for e in response.get_json()["errors"]] == [f"/{field}"]
    assert "Failing row" not in response.get_data(as_text=True)


def test_a_certificate_cannot_expire_before_it_is_issued(api: ContractClient, parties: Any) -> None:
    exporter, end_user = parties

    response = api.post("/v1/eucs", _certificate(exporter, end_user, expires_on="2018-01-01"))

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "/expires_on"


def test_a_certificate_needs_a_line(api: ContractClient, parties: Any) -> None:
    exporter, end_user = parties

    response = api.post("/v1/eucs", _certificate(exporter, end_user, line_items=[]))

    assert response.status_code == 400


def test_an_unknown_certificate_is_404(api: ContractClient) -> None:
    assert api.get("/v1/eucs/01a20319-0000-7000-8000-000000000000").status_code == 404


@pytest.mark.parametrize("issued_on", ["9999-12-31", "tomorrow-but-one"])
def test_a_certificate_cannot_be_issued_in_the_future(
    api: ContractClient, parties: Any, db: Connection, issued_on: str
) -> None:
    # Stored, it read VALID: GET /v1/eucs/verify told a border officer that a certificate
    # "issued" on 9999-12-31 was valid today.
    exporter, end_user = parties
    if issued_on == "tomorrow-but-one":
        issued_on = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    body = _certificate(exporter, end_user, issued_on=issued_on, expires_on="9999-12-31")

    response = api.post("/v1/eucs", body)

    assert response.status_code == 400
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/issued_on"]
    assert rows_in(db, "end_user_certificates") == 0


def test_a_certificate_issued_today_or_tomorrow_is_recorded(
    api: ContractClient, parties: Any
) -> None:
    # One day of slack, as for every recorded fact: an agency east of UTC is living tomorrow.
    # Dated tomorrow, it is not yet issued today (UTC), as a shipment under it today is
    # EUC_NOT_YET_ISSUED.
    exporter, end_user = parties
    today = datetime.now(UTC).date()
    for number, day, status in (
        ("EUC-TODAY", today, "VALID"),
        ("EUC-TOMORROW", today + timedelta(days=1), "NOT_YET_ISSUED"),
    ):
        body = _certificate(exporter, end_user, certificate_number=number,
                            issued_on=day.isoformat(), expires_on=None)  # fmt: skip
        assert api.created("/v1/eucs", body)["status"] == status
