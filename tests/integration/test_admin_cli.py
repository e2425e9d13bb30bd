"""`trace-registry agencies`, `keys` and `audit verify`, as an operator runs them, against the
live service: a key revoked from the command line is refused at once, and a trail tampered with
makes `audit verify` exit 1 and say where."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from service.config import Settings
from service.db import connect
from tests.live import CLI, create_key, environment, http_get
from tests.paths import ROOT


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=environment(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_agencies_and_keys_from_the_command_line(live_service: tuple[str, str]) -> None:
    base_url, database_url = live_service

    created = cli(database_url, "agencies", "create", "Coast Guard", "--country", "GR")
    again = cli(database_url, "agencies", "create", "Coast Guard")
    key = create_key(database_url, "Coast Guard", "trace:read")
    prefix = key.split("_")[1]
    listed = cli(database_url, "keys", "list", "--agency", "Coast Guard")
    agencies = cli(database_url, "agencies", "list")

    assert created.returncode == 0, created.stderr
    assert again.returncode == 1 and "already exists" in again.stderr
    assert prefix in listed.stdout and "ACTIVE" in listed.stdout and "trace:read" in listed.stdout
    assert "Coast Guard" in agencies.stdout and created.stdout.splitlines()[-1] in agencies.stdout
    assert http_get(f"{base_url}/v1/items", key)[0] == 200

    revoked = cli(database_url, "keys", "revoke", prefix, "--reason", "left the service")

    assert revoked.returncode == 0, revoked.stderr
    assert http_get(f"{base_url}/v1/items", key)[0] == 401
    assert "REVOKED" in cli(database_url, "keys", "list").stdout
    assert cli(database_url, "keys", "revoke", prefix).returncode == 1
    assert cli(database_url, "keys", "revoke", "nosuchkey").returncode == 1


def test_keys_list_finds_an_agency_by_its_name_as_the_other_commands_take_it(
    live_service: tuple[str, str],
) -> None:
    # `keys create` and `agencies create` take a name in NFC with single spaces, and the
    # registry keeps names unique as read (but for direction marks and joiners); `keys list`
    # compared the name as typed, so another spelling of the same name found no agency.
    _, database_url = live_service
    created = {
        name: create_key(database_url, name, "trace:read").split("_")[1]
        for name in ("Bundeskriminalamt Wiesbaden", "Sûreté Nationale")
    }

    for typed, name in [
        ("Bundeskriminalamt  Wiesbaden", "Bundeskriminalamt Wiesbaden"),
        (" Bundeskriminalamt Wiesbaden ", "Bundeskriminalamt Wiesbaden"),
        ("Bundeskriminalamt Wiesbaden\u200e", "Bundeskriminalamt Wiesbaden"),
        ("Su\u0302rete\u0301 Nationale", "Sûreté Nationale"),
    ]:
        listed = cli(database_url, "keys", "list", "--agency", typed)

        assert listed.returncode == 0, (typed, listed.stderr)
        assert created[name] in listed.stdout, typed
        assert all(
            prefix not in listed.stdout for prefix in created.values() if prefix != created[name]
        )
    refused = cli(database_url, "keys", "list", "--agency", "Bundes\u00adkriminalamt")
    assert refused.returncode == 2 and "U+00AD" in refused.stderr


def test_keys_create_refuses_nonsense(live_service: tuple[str, str]) -> None:
    _, database_url = live_service

    for args in (("--expires-in-days", "0"), ("--rate-limit", "0")):
        result = cli(database_url, "keys", "create", "--agency", "Coast Guard", *args)
        assert result.returncode == 2, args


def test_an_agency_s_name_is_held_to_the_api_s_rules(live_service: tuple[str, str]) -> None:
    # Every report, audit entry and notification names the agency: the command line took an
    # escape sequence the API refuses, which then reached terminals raw.
    _, database_url = live_service

    for args in (("agencies", "create", "Coast\x1b[2J Guard"), ("agencies", "create", "  "),
                 ("keys", "create", "--agency", "Port\x07 Police"),
                 ("import", "nothing.ndjson", "--agency", "x" * 201)):  # fmt: skip
        result = cli(database_url, *args)
        assert result.returncode == 2, args
        assert "an agency's name" in result.stderr, result.stderr

    assert "\x1b" not in cli(database_url, "agencies", "list").stdout


def test_an_agency_s_name_keeps_its_direction_marks_and_reads_as_no_other_s(
    live_service: tuple[str, str],
) -> None:
    _, database_url = live_service
    name = "\u0634\u0631\u0637\u0629 \u062f\u0628\u064a (CID)\u200f"

    created = cli(database_url, "agencies", "create", name)
    twin = cli(database_url, "agencies", "create", name.replace("\u200f", ""))
    key_for_twin = cli(database_url, "keys", "create", "--agency", name.replace("\u200f", ""))

    assert created.returncode == 0, created.stderr
    assert f"created agency {name!r}" in created.stdout
    assert twin.returncode == key_for_twin.returncode == 1
    assert "reads as" in twin.stderr and "reads as" in key_for_twin.stderr
    assert cli(database_url, "agencies", "list").stdout.count("(CID)") == 1


def test_a_key_s_label_and_a_revocation_s_reason_are_held_to_the_api_s_rules(
    live_service: tuple[str, str],
) -> None:
    # `keys list` prints the label: the command line took an escape sequence the API refuses.
    _, database_url = live_service
    prefix = create_key(database_url, "Coast Guard", "trace:read").split("_")[1]

    for args in (("keys", "create", "--agency", "Coast Guard", "--label", "desk\x1b[2J"),
                 ("keys", "create", "--agency", "Coast Guard", "--label", "x" * 201),
                 ("keys", "revoke", prefix, "--reason", "left\x1b]0;owned\x07")):  # fmt: skip
        result = cli(database_url, *args)
        assert result.returncode == 2, args
        assert "a key's label" in result.stderr or "a revocation's reason" in result.stderr

    listed = cli(database_url, "keys", "list")
    assert "\x1b" not in listed.stdout and "ACTIVE" in listed.stdout


def test_audit_verify_finds_tampering(live_service: tuple[str, str], tmp_path: Path) -> None:
    base_url, database_url = live_service
    key = create_key(database_url, "Coast Guard", "trace:read")
    for _ in range(4):
        http_get(f"{base_url}/v1/items", key)
    heads = tmp_path / "heads.json"

    intact = cli(database_url, "audit", "verify", "--heads", str(heads))

    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "4 entries" in intact.stdout and "intact" in intact.stdout
    saved = json.loads(heads.read_text())
    assert sum(head["chain_seq"] for head in saved) == 4

    with connect(Settings(database_url=database_url)) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            "UPDATE audit_log SET status = 500 WHERE id = (SELECT id FROM audit_log"
            " ORDER BY chain, chain_seq LIMIT 1)"
        )
    broken = cli(database_url, "audit", "verify", "--heads", str(heads))

    assert broken.returncode == 1
    assert "CHANGED" in broken.stdout and "BROKEN" in broken.stdout
    assert json.loads(heads.read_text()) == saved  # a broken trail does not replace the heads


def test_audit_verify_refuses_a_heads_file_it_cannot_use(
    live_service: tuple[str, str], tmp_path: Path
) -> None:
    # Each was a Python traceback, the last after the whole trail had been verified.
    _, database_url = live_service
    not_json = tmp_path / "not.json"
    not_json.write_text("heads\n")
    not_heads = tmp_path / "list.json"
    not_heads.write_text('[{"chain": 1}]\n')
    nowhere = tmp_path / "gone" / "heads.json"

    answers = [
        cli(database_url, "audit", "verify", "--heads", str(path))
        for path in (not_json, not_heads, tmp_path, nowhere)
    ]

    assert [answer.returncode for answer in answers] == [2, 2, 2, 2]
    assert [answer.stderr for answer in answers] == [
        f"trace-registry: --heads {not_json}: not the heads `audit verify --heads` writes\n",
        f"trace-registry: --heads {not_heads}: not the heads `audit verify --heads` writes\n",
        f"trace-registry: --heads {tmp_path}: is a directory, not a file\n",
        f"trace-registry: --heads {nowhere}: its directory does not exist\n",
    ]
    assert all(answer.stdout == "" for answer in answers)


def test_the_worker_refuses_an_interval_or_heartbeat_it_cannot_use(
    database_url: str, tmp_path: Path
) -> None:
    # --interval -1, nan or inf was a traceback when the worker first had nothing to do (with
    # --once, after its first round); --heartbeat in no directory, one after the first round.
    answers = {
        value: cli(database_url, "worker", "--once", "--interval", value)
        for value in ("-1", "0", "nan", "inf", "1e9")
    }
    heartbeat = cli(database_url, "worker", "--once", "--heartbeat", str(tmp_path / "no" / "b"))

    assert {value: answer.returncode for value, answer in answers.items()} == dict.fromkeys(
        answers, 2
    )
    assert "--interval: seconds, more than 0 and at most 3600" in answers["nan"].stderr
    assert heartbeat.returncode == 2
    assert heartbeat.stderr == (
        f"trace-registry: --heartbeat {tmp_path / 'no' / 'b'}: its directory does not exist\n"
    )


def test_an_agency_s_country_is_held_to_the_api_s_rules(live_service: tuple[str, str]) -> None:
    # A delivery verification is allowed by the agency's country: the command line passed the
    # code to the database, which answered "value too long for type character(2)" for BEL and a
    # foreign-key conflict for a code that is no country.
    _, database_url = live_service

    for country in ("BEL", "ZZ", "be", ""):
        result = cli(database_url, "agencies", "create", f"Customs {country}", "--country", country)
        assert result.returncode == 2, (country, result.stderr)
        assert result.stderr.count("\n") == 1, result.stderr
        assert "ISO 3166-1 alpha-2" in result.stderr and "character(2)" not in result.stderr
        assert f"Customs {country}" not in cli(database_url, "agencies", "list").stdout


def test_an_agency_s_country_is_set_later_and_audited(live_service: tuple[str, str]) -> None:
    # `keys create` makes an agency with no country, and nothing set one later: such an agency
    # could never verify a delivery for its own country.
    _, database_url = live_service
    create_key(database_url, "Border Police", "registry:write")
    with connect(Settings(database_url=database_url)) as conn:
        row = conn.execute("SELECT id FROM agencies WHERE name = 'Border Police'").fetchone()
    assert row is not None
    agency_id = str(row["id"])

    first = cli(database_url, "agencies", "set-country", agency_id, "BE")
    corrected = cli(database_url, "agencies", "set-country", agency_id, "NL")
    refused = [cli(database_url, "agencies", "set-country", agency_id, code)
               for code in ("BEL", "ZZ")]  # fmt: skip
    unknown = cli(database_url, "agencies", "set-country", "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                  "BE")  # fmt: skip
    not_an_id = cli(database_url, "agencies", "set-country", "Border Police", "BE")
    listed = cli(database_url, "agencies", "list").stdout
    both = cli(database_url, "agencies", "set-country", agency_id, "BE", "--clear")
    cleared = cli(database_url, "agencies", "set-country", agency_id, "--clear")

    assert first.returncode == 0 and corrected.returncode == 0, first.stderr + corrected.stderr
    assert "from none to BE" in first.stdout and "from BE to NL" in corrected.stdout
    assert [result.returncode for result in refused] == [2, 2]
    assert unknown.returncode == 1 and "no agency with id" in unknown.stderr
    assert not_an_id.returncode == 2
    assert any(agency_id in line and " NL " in line for line in listed.splitlines())
    assert both.returncode == 2
    assert cleared.returncode == 0 and "from NL to none" in cleared.stdout, cleared.stderr
    listed = cli(database_url, "agencies", "list").stdout
    assert any(agency_id in line and " - " in line for line in listed.splitlines())
    with connect(Settings(database_url=database_url)) as conn:
        entries = conn.execute(
            "SELECT method, route, record_ids, details FROM audit_log"
            " WHERE details -> 'agency_country' ->> 'agency_id' = %s ORDER BY recorded_at, id",
            [agency_id],
        ).fetchall()
    assert [entry["details"]["agency_country"] for entry in entries] == [
        {"agency_id": agency_id, "old": None, "new": "BE"},
        {"agency_id": agency_id, "old": "BE", "new": "NL"},
        {"agency_id": agency_id, "old": "NL", "new": None},
    ]
    assert all(str(entry["record_ids"][0]) == agency_id for entry in entries)
    assert cli(database_url, "audit", "verify").returncode == 0
