"""/v1/events: recording custody events, and declaring one erroneous."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from service.config import Settings
from service.db import Connection, translate
from service.domain.inputs import NewErrorDeclaration
from service.errors import StateConflict
from service.recording import Recorder
from tests.conftest import second_waits_for_first
from tests.contract import ContractClient

GHOST = "01a20319-0000-7000-8000-000000000000"


@pytest.fixture
def cast(registry: Any) -> dict[str, Any]:
    """The parties of a small export story."""
    return {
        "maker": registry.party(name="Fabrique Nationale", kind="MANUFACTURER", country="BE"),
        "exporter": registry.party(name="FN Export", kind="EXPORTER", country="BE"),
        "army": registry.party(name="Armée de Terre", kind="ARMED_FORCES", country="FR"),
        "police": registry.party(name="Police Nationale", kind="LAW_ENFORCEMENT", country="FR"),
    }


def test_one_shipment_covers_many_items(api: ContractClient, registry: Any, cast: Any) -> None:
    items = [registry.item() for _ in range(3)]
    export = registry.event(
        "EXPORT",
        items,
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["army"]["id"],
        destination_country="FR",
        licence_number="BE-2010-118",
        document_reference="AWB 176-12345675",
    )

    assert export["item_ids"] == sorted(item["id"] for item in items)
    assert export["from_party"]["name"] == "FN Export"
    assert export["to_party"]["kind"] == "ARMED_FORCES"
    assert export["licence_number"] == "BE-2010-118"
    assert export["error_declaration"] is None
    assert api.get(f"/v1/events/{export['id']}").get_json() == export


def test_an_export_cites_its_certificate_and_line(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    item = registry.item()
    euc = registry.euc(cast["exporter"], cast["army"])
    export = registry.event(
        "EXPORT",
        [item],
        from_party_id=cast["exporter"]["id"],
        to_party_id=cast["army"]["id"],
        destination_country="FR",
        euc_id=euc["id"],
        euc_line_number=1,
    )

    assert export["euc"] == {
        "id": euc["id"],
        "certificate_number": euc["certificate_number"],
        "issuing_country": "FR",
        "destination_country": "FR",
        "end_user_party_id": cast["army"]["id"],
        "expires_on": "2012-03-01",
        "non_reexport_clause": True,
        "revoked_on": None,
    }
    assert export["euc_line_number"] == 1


def test_a_line_the_certificate_does_not_have_is_a_conflict(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    euc = registry.euc(cast["exporter"], cast["army"])
    body = {
        "event_type": "EXPORT",
        "occurred_on": "2010-05-02",
        "country": "BE",
        "destination_country": "FR",
        "from_party_id": cast["exporter"]["id"],
        "to_party_id": cast["army"]["id"],
        "euc_id": euc["id"],
        "euc_line_number": 9,
        "item_ids": [registry.item()["id"]],
    }

    response = api.post("/v1/events", body)

    assert response.status_code == 409
    assert response.get_json()["detail"] == (
        "euc_line_number names no line of the certificate (euc_id)"
    )


@pytest.mark.parametrize(
    ("event_type", "parties", "bad_pointer"),
    [
        ("MANUFACTURE", {}, "/to_party_id"),
        ("MANUFACTURE", {"from_party_id": "exporter", "to_party_id": "maker"}, "/from_party_id"),
        ("EXPORT", {"to_party_id": "army"}, "/from_party_id"),
        ("TRANSFER", {"from_party_id": "army"}, "/to_party_id"),
        ("IMPORT", {"from_party_id": "exporter"}, "/to_party_id"),
        ("LOSS", {"to_party_id": "army"}, "/from_party_id"),
        ("THEFT", {"from_party_id": "army", "to_party_id": "police"}, "/to_party_id"),
        ("SEIZURE", {"from_party_id": "army"}, "/to_party_id"),
        ("RECOVERY", {}, "/to_party_id"),
        ("DESTRUCTION", {}, "/to_party_id"),
    ],
)
def test_each_event_type_names_the_parties_it_needs(
    api: ContractClient,
    registry: Any,
    cast: Any,
    event_type: str,
    parties: dict[str, str],
    bad_pointer: str,
    db: Any,
) -> None:
    body = {
        "event_type": event_type,
        "occurred_on": "2011-01-01",
        "country": "FR",
        "destination_country": "FR" if event_type == "EXPORT" else None,
        "item_ids": [registry.item()["id"]],
        **{field: cast[name]["id"] for field, name in parties.items()},
    }

    response = api.post("/v1/events", body)

    assert response.status_code == 400
    assert bad_pointer in {e["pointer"] for e in response.get_json()["errors"]}
    assert db.execute("SELECT count(*) AS n FROM custody_events").fetchone()["n"] == 0


def test_an_export_must_say_where_it_went(api: ContractClient, registry: Any, cast: Any) -> None:
    body = {
        "event_type": "EXPORT",
        "occurred_on": "2011-01-01",
        "country": "BE",
        "from_party_id": cast["exporter"]["id"],
        "to_party_id": cast["army"]["id"],
        "item_ids": [registry.item()["id"]],
    }

    response = api.post("/v1/events", body)

    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/destination_country"]


def test_only_shipments_cite_a_certificate(api: ContractClient, registry: Any, cast: Any) -> None:
    euc = registry.euc(cast["exporter"], cast["army"])
    body = {
        "event_type": "THEFT",
        "occurred_on": "2011-01-01",
        "country": "FR",
        "from_party_id": cast["army"]["id"],
        "euc_id": euc["id"],
        "item_ids": [registry.item()["id"]],
    }

    response = api.post("/v1/events", body)

    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/euc_id"]


def test_an_event_cannot_be_recorded_before_it_happens(
    api: ContractClient, registry: Any, cast: Any
) -> None:
    in_two_days = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    body = {
        "event_type": "MANUFACTURE",
        "occurred_on": in_two_days,
        "country": "BE",
        "to_party_id": cast["maker"]["id"],
        "item_ids": [registry.item()["id"]],
    }

    response = api.post("/v1/events", body)

    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/occurred_on"]


def test_unknown_items_are_all_named_and_nothing_is_stored(
    api: ContractClient, registry: Any, cast: Any, db: Any
) -> None:
    real = registry.item()
    ghosts = [GHOST, "01a20319-0000-7000-8000-000000000001"]
    body = {
        "event_type": "MANUFACTURE",
        "occurred_on": "2009-01-01",
        "country": "BE",
        "to_party_id": cast["maker"]["id"],
        "item_ids": [real["id"], *ghosts],
    }

    response = api.post("/v1/events", body)

    assert response.status_code == 409
    assert response.get_json()["code"] == "unknown_reference"
    assert all(ghost in response.get_json()["detail"] for ghost in ghosts)
    assert db.execute("SELECT count(*) AS n FROM custody_events").fetchone()["n"] == 0


def test_many_unknown_items_are_counted_in_the_detail_and_each_named_in_errors(
    api: ContractClient, cast: Any
) -> None:
    # Found in the messages review: 5,000 unknown ids made a 190 KB detail, all on one line.
    ghosts = [f"01a20319-0000-7000-8000-{n:012d}" for n in range(5_000)]
    body = {"event_type": "MANUFACTURE", "occurred_on": "2009-01-01", "country": "BE",
            "to_party_id": cast["maker"]["id"]}  # fmt: skip

    many = api.post("/v1/events", {**body, "item_ids": ghosts}).get_json()
    one = api.post("/v1/events", {**body, "item_ids": ghosts[:1]}).get_json()

    assert many["detail"] == (
        f"no item is recorded with these 5,000 ids: {', '.join(ghosts[:5])} and 4,995 more"
    )
    assert [e["detail"] for e in many["errors"]] == [
        f"no item is recorded with id {ghost}" for ghost in ghosts
    ]
    assert {e["pointer"] for e in many["errors"]} == {"/item_ids"}
    assert one["detail"] == f"no item is recorded with id {ghosts[0]}"


def test_an_unknown_party_is_a_conflict_and_nothing_is_stored(
    api: ContractClient, registry: Any, db: Any
) -> None:
    body = {
        "event_type": "MANUFACTURE",
        "occurred_on": "2009-01-01",
        "country": "BE",
        "to_party_id": GHOST,
        "item_ids": [registry.item()["id"]],
    }

    response = api.post("/v1/events", body)

    assert response.status_code == 409
    # The field the client sent, not the database's 'Key (...) is not present in table "..."'.
    assert response.get_json()["detail"] == "to_party_id names no recorded party"
    assert db.execute("SELECT count(*) AS n FROM custody_events").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM custody_event_items").fetchone()["n"] == 0


def test_an_item_listed_twice_is_refused(api: ContractClient, registry: Any, cast: Any) -> None:
    item = registry.item()
    body = {
        "event_type": "MANUFACTURE",
        "occurred_on": "2009-01-01",
        "country": "BE",
        "to_party_id": cast["maker"]["id"],
        "item_ids": [item["id"], item["id"]],
    }

    response = api.post("/v1/events", body)

    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/item_ids"]


def test_an_unknown_event_is_404(api: ContractClient) -> None:
    assert api.get(f"/v1/events/{GHOST}").status_code == 404


class TestErrorDeclarations:
    @pytest.fixture
    def wrong_export(self, registry: Any, cast: Any) -> dict[str, Any]:
        return registry.event(
            "EXPORT",
            [registry.item()],
            from_party_id=cast["exporter"]["id"],
            to_party_id=cast["army"]["id"],
            destination_country="UG",
        )

    def declare(self, api: ContractClient, event: dict[str, Any], **fields: Any) -> Any:
        body = {"reason": "INCORRECT_DATA", "explanation": "destination mistyped", **fields}
        return api.post(f"/v1/events/{event['id']}/error-declaration", body)

    def test_the_event_stays_and_carries_the_declaration(
        self, api: ContractClient, wrong_export: Any, agency_key: Any
    ) -> None:
        response = self.declare(api, wrong_export)

        declared = response.get_json()
        assert response.status_code == 201
        assert declared["id"] == wrong_export["id"]
        assert declared["destination_country"] == "UG"
        assert declared["error_declaration"]["reason"] == "INCORRECT_DATA"
        assert declared["error_declaration"]["declared_by"]["id"] == str(agency_key[0].id)
        assert api.get(f"/v1/events/{wrong_export['id']}").get_json() == declared

    def test_twice_is_a_conflict(self, api: ContractClient, wrong_export: Any) -> None:
        self.declare(api, wrong_export)

        again = self.declare(api, wrong_export)

        assert again.status_code == 409
        assert again.get_json()["code"] == "state_conflict"

    def test_twice_at_once_is_the_same_conflict(
        self, wrong_export: Any, settings: Settings, agency_key: Any
    ) -> None:
        # The second, not seeing the first uncommitted, met the unique index, and was answered
        # 409 `duplicate`: a client that tells refusals apart by code read two answers for one.
        # (Since version 18 the second waits for the first's lock on the event's items, and
        # reads the event declared; the unique index's refusal says the same, should it meet
        # it.)
        declaration = NewErrorDeclaration("INCORRECT_DATA", "destination mistyped", ())
        refused: list[psycopg.Error | StateConflict] = []

        def declare(conn: Connection) -> None:
            recorder = Recorder(conn, agency_key[0].id, 180)
            recorder.error_declaration(UUID(wrong_export["id"]), declaration)

        def declare_too(conn: Connection) -> None:
            try:
                declare(conn)
            except (psycopg.Error, StateConflict) as error:
                refused.append(error)

        second_waits_for_first(settings, declare, declare_too)

        (error,) = refused
        answer = error if isinstance(error, StateConflict) else translate(error)
        assert isinstance(answer, StateConflict)
        assert (answer.code, answer.detail) == (
            "state_conflict",
            "this event has already been declared erroneous",
        )

    def test_only_the_recording_agency_may_declare(
        self, other_api: ContractClient, wrong_export: Any, db: Any
    ) -> None:
        response = self.declare(other_api, wrong_export)

        assert response.status_code == 403
        assert db.execute("SELECT count(*) AS n FROM event_error_declarations").fetchone()["n"] == 0

    def test_corrective_events_must_exist_and_differ(
        self, api: ContractClient, wrong_export: Any
    ) -> None:
        unknown = self.declare(api, wrong_export, corrective_event_ids=[GHOST])
        itself = self.declare(api, wrong_export, corrective_event_ids=[wrong_export["id"]])

        assert unknown.status_code == 409
        assert unknown.get_json()["code"] == "unknown_reference"
        assert itself.status_code == 409

    def test_a_corrective_event_named_twice_is_refused(
        self, api: ContractClient, registry: Any, cast: Any, wrong_export: Any, db: Any
    ) -> None:
        corrective = registry.event(
            "EXPORT",
            [{"id": item_id} for item_id in wrong_export["item_ids"]],
            from_party_id=cast["exporter"]["id"],
            to_party_id=cast["army"]["id"],
            destination_country="FR",
        )

        response = self.declare(
            api, wrong_export, corrective_event_ids=[corrective["id"], corrective["id"]]
        )

        assert response.status_code == 400
        assert [e["pointer"] for e in response.get_json()["errors"]] == ["/corrective_event_ids"]
        assert db.execute("SELECT count(*) AS n FROM event_error_declarations").fetchone()["n"] == 0

    def test_only_the_agency_s_own_events_may_be_named_corrective(
        self, api: ContractClient, other_api: ContractClient, wrong_export: Any, db: Any
    ) -> None:
        # Found in review: a corrective event takes the place of the one it corrects on its
        # certificate line, so another agency could move this export before the day's others
        # by declaring a throwaway event of its own corrected by it.
        police = other_api.created(
            "/v1/parties", {"name": "Border Police", "kind": "LAW_ENFORCEMENT", "country": "BE"}
        )
        throwaway = other_api.created(
            "/v1/events",
            {"event_type": "SEIZURE", "occurred_on": "2010-05-01", "country": "BE",
             "item_ids": wrong_export["item_ids"], "to_party_id": police["id"]},
        )  # fmt: skip

        response = self.declare(other_api, throwaway, corrective_event_ids=[wrong_export["id"]])

        assert response.status_code == 403
        assert wrong_export["id"] in response.get_json()["detail"]
        assert db.execute("SELECT count(*) AS n FROM event_error_declarations").fetchone()["n"] == 0
        assert db.execute("SELECT count(*) AS n FROM corrected_acts").fetchone()["n"] == 0

    def test_an_unknown_event_is_404(self, api: ContractClient) -> None:
        response = self.declare(api, {"id": GHOST})

        assert response.status_code == 404

    def test_a_correction_of_an_unknown_event_is_an_unknown_reference(
        self, api: ContractClient, registry: Any, cast: Any, db: Any
    ) -> None:
        # It answered 404, which to a client that posted to /v1/events reads as "no such
        # URL", not as the id it sent; every other reference in the body answers 409.
        body = {
            "event_type": "MANUFACTURE",
            "occurred_on": "2009-01-01",
            "country": "BE",
            "to_party_id": cast["maker"]["id"],
            "item_ids": [registry.item()["id"]],
            "corrects": {"event_id": GHOST, "reason": "INCORRECT_DATA", "explanation": "typo"},
        }

        response = api.post("/v1/events", body)

        assert response.status_code == 409
        assert response.get_json()["code"] == "unknown_reference"
        assert "corrects/event_id" in response.get_json()["detail"]
        assert db.execute("SELECT count(*) AS n FROM custody_events").fetchone()["n"] == 0

    def test_a_new_event_can_correct_an_old_one_in_one_step(
        self, api: ContractClient, registry: Any, cast: Any, wrong_export: Any
    ) -> None:
        corrected = registry.event(
            "EXPORT",
            [{"id": item_id} for item_id in wrong_export["item_ids"]],
            from_party_id=cast["exporter"]["id"],
            to_party_id=cast["army"]["id"],
            destination_country="FR",
            corrects={
                "event_id": wrong_export["id"],
                "reason": "INCORRECT_DATA",
                "explanation": "destination typed as UG",
            },
        )

        old = api.get(f"/v1/events/{wrong_export['id']}").get_json()
        assert old["error_declaration"]["corrective_event_ids"] == [corrected["id"]]
        assert corrected["error_declaration"] is None

    def test_a_failed_correction_stores_neither_record(
        self, other_api: ContractClient, registry: Any, cast: Any, wrong_export: Any, db: Any
    ) -> None:
        body = {
            "event_type": "EXPORT",
            "occurred_on": date(2010, 5, 2).isoformat(),
            "country": "BE",
            "destination_country": "FR",
            "from_party_id": cast["exporter"]["id"],
            "to_party_id": cast["army"]["id"],
            "item_ids": wrong_export["item_ids"],
            "corrects": {
                "event_id": wrong_export["id"],
                "reason": "DID_NOT_OCCUR",
                "explanation": "not ours",
            },
        }

        response = other_api.post("/v1/events", body)

        assert response.status_code == 403
        assert db.execute("SELECT count(*) AS n FROM custody_events").fetchone()["n"] == 1
