"""/v1/admin: agencies and their keys, by a `registry:admin` key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.config import Settings
from service.db import Connection
from service.domain import api_keys
from service.repository import agencies
from tests.conftest import create_agency_key, second_waits_for_first
from tests.contract import ContractClient


@pytest.fixture
def admin(client: FlaskClient, db: Connection) -> ContractClient:
    _, key = create_agency_key(db, "Registry Operations", ("registry:admin",))
    return ContractClient(client, key)


def new_agency(admin: ContractClient, name: str = "Customs Service", **fields: Any) -> Any:
    response = admin.post("/v1/admin/agencies", {"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def new_key(admin: ContractClient, agency_id: str, **fields: Any) -> Any:
    response = admin.post("/v1/admin/keys", {"agency_id": agency_id, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_agency_is_created_once_and_can_be_read(admin: ContractClient) -> None:
    agency = new_agency(admin, country="KE")

    assert agency["name"] == "Customs Service"
    assert agency["country"] == "KE"
    assert agency["active_keys"] == 0
    assert admin.get(f"/v1/admin/agencies/{agency['id']}").get_json() == agency
    duplicate = admin.post("/v1/admin/agencies", {"name": "Customs Service"})
    assert duplicate.status_code == 409
    listed = admin.get("/v1/admin/agencies").get_json()["items"]
    assert [a["name"] for a in listed] == ["Registry Operations", "Customs Service"]


def test_agencies_page_through(admin: ContractClient) -> None:
    for number in range(5):
        new_agency(admin, f"Border Post {number}")

    first = admin.get("/v1/admin/agencies", query={"limit": 4}).get_json()
    second = admin.get(
        "/v1/admin/agencies", query={"limit": 4, "cursor": first["next_cursor"]}
    ).get_json()

    names = [a["name"] for a in first["items"] + second["items"]]
    assert len(names) == len(set(names)) == 6
    assert second["next_cursor"] is None


def test_a_new_key_is_shown_once_and_works_with_its_scopes(
    admin: ContractClient, client: FlaskClient
) -> None:
    agency = new_agency(admin)
    issued = new_key(admin, agency["id"], scopes=["trace:read"], label="border desk")

    assert issued["key"].startswith(f"trk_{issued['prefix']}_")
    assert issued["status"] == "ACTIVE"
    assert issued["scopes"] == ["trace:read"]
    shown_again = admin.get(f"/v1/admin/keys/{issued['prefix']}").get_json()
    assert "key" not in shown_again
    assert shown_again == {k: v for k, v in issued.items() if k != "key"}
    reader = ContractClient(client, issued["key"])
    assert reader.get("/v1/items").status_code == 200
    assert reader.post("/v1/parties", {}).status_code == 403
    assert admin.get(f"/v1/admin/agencies/{agency['id']}").get_json()["active_keys"] == 1


def test_keys_list_by_agency_and_never_hold_secrets(admin: ContractClient) -> None:
    customs = new_agency(admin, "Customs Service")
    police = new_agency(admin, "Police Armoury")
    new_key(admin, customs["id"])
    new_key(admin, customs["id"], expires_in_days=30)
    new_key(admin, police["id"])

    listed = admin.get("/v1/admin/keys", query={"agency_id": customs["id"]}).get_json()

    assert len(listed["items"]) == 2
    assert {key["agency"]["id"] for key in listed["items"]} == {customs["id"]}
    assert all("key" not in key and "secret_hash" not in key for key in listed["items"])
    everything = admin.get("/v1/admin/keys").get_json()["items"]
    assert len(everything) == 4  # the admin's own key too


def test_a_revoked_key_stops_at_once_and_stays_revoked(
    admin: ContractClient, client: FlaskClient
) -> None:
    issued = new_key(admin, new_agency(admin)["id"])
    user = ContractClient(client, issued["key"])
    assert user.get("/v1/items").status_code == 200

    revoked = admin.post(
        f"/v1/admin/keys/{issued['prefix']}/revocation", {"reason": "laptop stolen"}
    )

    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "REVOKED"
    assert revoked.get_json()["revoked_reason"] == "laptop stolen"
    refused = user.get("/v1/items")
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["detail"]
    again = admin.post(f"/v1/admin/keys/{issued['prefix']}/revocation", {})
    assert again.status_code == 409


def test_a_key_prefix_longer_than_the_contract_s_is_400_naming_it(admin: ContractClient) -> None:
    # openapi.yaml's KeyPrefix has maxLength 64: a longer one was 404 "no API key with prefix".
    too_long = "x" * 65

    for response in (
        admin.get(f"/v1/admin/keys/{too_long}"),
        admin.post(f"/v1/admin/keys/{too_long}/revocation", {}),
    ):
        assert response.status_code == 400
        (error,) = response.get_json()["errors"]
        assert (error["location"], error["parameter"]) == ("path", "prefix")
    assert admin.get(f"/v1/admin/keys/{too_long[:64]}").status_code == 404


def test_unknown_agencies_and_keys_are_404(admin: ContractClient) -> None:
    nobody = "01a20319-0000-7000-8000-000000000000"

    assert admin.get(f"/v1/admin/agencies/{nobody}").status_code == 404
    assert admin.post("/v1/admin/keys", {"agency_id": nobody}).status_code == 404
    assert admin.get("/v1/admin/keys/zzzzzzzz").status_code == 404
    assert admin.post("/v1/admin/keys/zzzzzzzz/revocation", {}).status_code == 404
    # what no prefix can be is not looked up (a NUL byte was a 400 from the database)
    assert admin.get("/v1/admin/keys/%00").status_code == 404
    assert admin.get("/v1/admin/keys/abc").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": ["registry:root"]},
        {"scopes": []},
        {"scopes": ["trace:read", "trace:read"]},
        {"expires_in_days": 0},
        {"expires_in_days": 100_000},
        {"rate_limit_per_minute": 0},
        {"rate_limit_per_minute": "fast"},
        {"owner": "me"},
    ],
)
def test_key_requests_are_checked(admin: ContractClient, body: dict[str, Any]) -> None:
    agency = new_agency(admin)

    response = admin.post("/v1/admin/keys", {"agency_id": agency["id"], **body})

    assert response.status_code == 400


def test_a_key_with_its_own_rate(admin: ContractClient) -> None:
    issued = new_key(admin, new_agency(admin)["id"], rate_limit_per_minute=120)

    assert issued["rate_limit_per_minute"] == 120


def revoke(admin: ContractClient, key: str) -> Any:
    return admin.post(f"/v1/admin/keys/{api_keys.prefix_of(key)}/revocation", {})


def test_the_last_key_that_can_administer_is_not_revoked(
    admin: ContractClient, client: FlaskClient, db: Connection
) -> None:
    # Revoked, it left the API with no key that could administer: no agency could be given a
    # key again, nor the trail read, until someone with the database owner's connection came.
    # A key that has run out administers nothing, so it does not count as another.
    operations = agencies.find_agency(db, "Registry Operations")
    assert operations is not None
    expired = api_keys.generate_key()
    yesterday = datetime.now(UTC) - timedelta(days=1)
    agencies.insert_api_key(db, operations.id, expired.prefix, expired.secret_hash,
                            ("registry:admin",), expires_at=yesterday)  # fmt: skip

    refused = revoke(admin, admin.key or "")

    assert refused.status_code == 409
    assert refused.get_json()["code"] == "state_conflict"
    assert "administer" in refused.get_json()["detail"]
    assert admin.get("/v1/admin/agencies").status_code == 200
    deputy_key = new_key(admin, str(operations.id), scopes=["registry:admin"])["key"]
    deputy = ContractClient(client, deputy_key)
    assert revoke(admin, admin.key or "").status_code == 200  # another remains: it may go
    assert admin.get("/v1/admin/agencies").status_code == 401
    assert revoke(deputy, deputy.key or "").status_code == 409


def test_two_admins_revoking_each_other_s_keys_at_once_leave_one(
    settings: Settings, db: Connection
) -> None:
    # Each saw the other's key live and both revocations went through: no key left.
    first_key, second_key = (create_agency_key(db, name, ("registry:admin",))[1]
                             for name in ("Registry Operations", "Registry Deputies"))  # fmt: skip
    revoked: list[bool] = []

    def revoking(key: str) -> Callable[[Connection], None]:
        prefix = api_keys.prefix_of(key) or ""
        return lambda conn: revoked.append(agencies.revoke_api_key(conn, prefix, None))

    second_waits_for_first(settings, revoking(second_key), revoking(first_key))

    assert revoked == [True, False]


@pytest.mark.parametrize(
    "name",
    [
        "\u202eecivreS smotsuC",  # a right-to-left override: shown as "Customs Service"
        "Customs\u200bService",  # a zero-width space
        "\ufeffCustoms Service",  # a byte-order mark
        "Customs\u2066 Service",  # a bidi isolate
        "Customs\nService",  # two lines in every listing
        "Customs\tService",
        "-- / --",  # no letter or digit, which the contract's NameText asks for
    ],
)
def test_an_agency_s_name_holds_nothing_invisible(admin: ContractClient, name: str) -> None:
    response = admin.post("/v1/admin/agencies", {"name": name})

    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "/name"


@pytest.mark.parametrize("name", ["---", "$$$", "\u00a0\u2014 \u00a9"])
def test_an_agency_s_name_without_a_letter_or_digit_is_told_so_in_one_way(
    admin: ContractClient, name: str
) -> None:
    # `---` was told it needed "a letter, number or symbol", and `$$$`, symbols, "a letter or
    # digit".
    response = admin.post("/v1/admin/agencies", {"name": name})

    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {"location": "body", "pointer": "/name", "detail": "needs at least one letter or digit"}
    ]


def test_an_agency_that_reads_as_another_is_that_agency(admin: ContractClient) -> None:
    # A decomposed accent, a no-break space or a doubled space made a second "Sûreté Nationale"
    # that nobody could tell from the first.
    first = new_agency(admin, "S\u00fbret\u00e9 Nationale")

    for twin in ("Su\u0302rete\u0301 Nationale", "S\u00fbret\u00e9\u00a0Nationale",
                 "S\u00fbret\u00e9  Nationale"):  # fmt: skip
        assert admin.post("/v1/admin/agencies", {"name": twin}).status_code == 409

    assert first["name"] == "S\u00fbret\u00e9 Nationale"
    # the joiners some scripts spell with are kept
    persian = new_agency(admin, "\u067e\u0644\u06cc\u0633 \u0645\u06cc\u200c\u0634\u0648\u062f")
    assert "\u200c" in persian["name"]


@pytest.mark.parametrize(
    "name",
    [
        "\u0634\u0631\u0637\u0629 \u062f\u0628\u064a (CID)\u200f",  # a right-to-left mark
        "\u05de\u05e9\u05d8\u05e8\u05d4 \u200e(Lahav 433)",  # a left-to-right mark
        "\u0634\u0631\u0637\u0629 \u061c433",  # the Arabic letter mark
    ],
)
def test_an_agency_s_name_keeps_the_direction_marks_a_party_s_name_keeps(
    admin: ContractClient, name: str
) -> None:
    # Arabic and Hebrew names with digits or Latin in them need the marks to show in order; a
    # party's name kept them, an agency's was refused.
    agency = new_agency(admin, name)

    assert agency["name"] == name


def test_a_name_that_reads_as_another_s_but_for_its_marks_or_joiners_is_a_duplicate(
    admin: ContractClient,
) -> None:
    # The marks and joiners show nothing: "Customs Service" and the same with a left-to-right
    # mark would be two agencies that every notification names alike.
    new_agency(admin, "\u0634\u0631\u0637\u0629 \u062f\u0628\u064a")

    for twin in ("\u0634\u0631\u0637\u0629 \u062f\u0628\u064a\u200f",
                 "\u200e\u0634\u0631\u0637\u0629 \u062f\u0628\u064a",
                 "\u0634\u0631\u0637\u0629\u200d \u062f\u0628\u064a"):  # fmt: skip
        response = admin.post("/v1/admin/agencies", {"name": twin})
        assert response.status_code == 409, twin
        assert response.get_json()["code"] == "duplicate"


def test_the_trail_says_what_a_new_key_may_do_and_for_whom(
    admin: ContractClient, db: Connection
) -> None:
    agency = new_agency(admin)
    issued = new_key(
        admin,
        agency["id"],
        scopes=["trace:read", "registry:write"],
        expires_in_days=30,
        rate_limit_per_minute=120,
    )

    entry = db.execute(
        "SELECT details FROM audit_log WHERE route = '/v1/admin/keys' AND method = 'POST'"
    ).fetchone()
    assert entry is not None
    details = entry["details"]
    assert details["created"] == f"/v1/admin/keys/{issued['prefix']}"
    assert details["key_issued"] == {
        "agency_id": agency["id"],
        "scopes": ["trace:read", "registry:write"],
        "expires_at": datetime.fromisoformat(issued["expires_at"]).isoformat(),
        "rate_limit_per_minute": 120,
    }
    assert issued["key"] not in str(details)  # never the secret


MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def patch_agency(admin: ContractClient, agency_id: str, body: Any, **kwargs: Any) -> Any:
    return admin.request("PATCH", f"/v1/admin/agencies/{agency_id}", json=body, **kwargs)


def test_a_patch_that_gives_a_member_twice_is_refused_and_changes_nothing(
    admin: ContractClient,
) -> None:
    # The JSON parser kept the last without a word: this patch cleared the country.
    agency = new_agency(admin, country="FR")
    twice = b'{"country": "DE", "country": null}'

    response = admin.request(
        "PATCH", f"/v1/admin/agencies/{agency['id']}", data=twice, headers=MERGE_PATCH
    )

    assert response.status_code == 400
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/country"]
    assert admin.get(f"/v1/admin/agencies/{agency['id']}").get_json()["country"] == "FR"


def test_an_agency_s_country_is_set_corrected_and_cleared_by_a_patch_and_audited(
    admin: ContractClient, db: Connection
) -> None:
    # Only `trace-registry agencies set-country` could change it, and nothing could clear it.
    agency = new_agency(admin)

    set_ = patch_agency(admin, agency["id"], {"country": "FR"}, headers=MERGE_PATCH)
    corrected = patch_agency(admin, agency["id"], {"country": "DE"})  # plain JSON too
    unchanged = patch_agency(admin, agency["id"], {})
    cleared = patch_agency(admin, agency["id"], {"country": None}, headers=MERGE_PATCH)

    assert [r.status_code for r in (set_, corrected, unchanged, cleared)] == [200] * 4
    assert [r.get_json()["country"] for r in (set_, corrected, unchanged, cleared)] == [
        "FR", "DE", "DE", None
    ]  # fmt: skip
    assert cleared.get_json() == {**agency, "country": None}
    assert admin.get(f"/v1/admin/agencies/{agency['id']}").get_json() == cleared.get_json()
    entries = db.execute(
        "SELECT method, status, record_ids, details FROM audit_log"
        " WHERE route = '/v1/admin/agencies/<uuid:agency_id>' AND method = 'PATCH' ORDER BY id"
    ).fetchall()
    assert [e["details"].get("agency_country") for e in entries] == [
        {"agency_id": agency["id"], "old": None, "new": "FR"},
        {"agency_id": agency["id"], "old": "FR", "new": "DE"},
        None,
        {"agency_id": agency["id"], "old": "DE", "new": None},
    ]
    assert all(str(e["record_ids"][0]) == agency["id"] for e in entries)


@pytest.mark.parametrize(
    "body",
    [{"country": "ZZ"}, {"country": "fra"}, {"country": 33}, {"name": "Renamed"}, ["FR"]],
)
def test_a_patch_of_an_agency_is_checked_and_changes_nothing_when_refused(
    admin: ContractClient, body: Any
) -> None:
    agency = new_agency(admin, country="KE")

    refused = patch_agency(admin, agency["id"], body)

    assert (refused.status_code, refused.get_json()["code"]) == (400, "invalid_input")
    assert admin.get(f"/v1/admin/agencies/{agency['id']}").get_json() == agency


def test_a_patch_of_no_agency_or_by_another_scope_or_not_json_is_refused(
    admin: ContractClient, client: FlaskClient, db: Connection
) -> None:
    agency = new_agency(admin, country="KE")
    _, writer_key = create_agency_key(db, "Border Police", ("registry:write",))
    writer = ContractClient(client, writer_key)

    unknown = patch_agency(admin, "0" * 8 + "-0000-7000-8000-" + "0" * 12, {"country": "FR"})
    forbidden = patch_agency(writer, agency["id"], {"country": "FR"})
    as_text = admin.request(
        "PATCH",
        f"/v1/admin/agencies/{agency['id']}",
        data='{"country": "FR"}',
        headers={"Content-Type": "text/plain"},
    )

    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "not_found")
    assert (forbidden.status_code, forbidden.get_json()["code"]) == (403, "forbidden")
    assert as_text.status_code == 415
    assert admin.get(f"/v1/admin/agencies/{agency['id']}").get_json()["country"] == "KE"
