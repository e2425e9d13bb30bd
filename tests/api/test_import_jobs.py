"""Import jobs when things go wrong: a job is loaded by one worker at a time, waits its turn
behind its agency's other import without failing or blocking the worker, keeps why it failed,
and one bad job or a failed purge stops nothing else."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from service import importing, worker
from service.api import imports as imports_view
from service.config import Settings
from service.db import Connection, connect
from service.deadlines import Deadline
from service.domain import api_keys
from service.domain.records import AgencyRef
from service.repository import agencies, idempotency, imports
from tests.api.test_imports import NDJSON, import_file, ndjson, registry_file, send
from tests.conftest import create_agency_key, rows_in
from tests.contract import ContractClient

# A later file of the agency that refers to registry_file()'s records (its army, a rifle).
THEFT_OF_A_RIFLE_OF_REGISTRY_FILE = {
    "record_type": "event", "ref": "E-9", "event_type": "THEFT", "occurred_on": "2015-01-01",
    "country": "FR", "from_party_ref": "P-ARMY", "item_refs": ["I-1"],
}  # fmt: skip


def queue(api: ContractClient, body: bytes) -> str:
    response = api.request(
        "POST",
        "/v1/imports",
        data=body,
        headers={"Content-Type": NDJSON, "Prefer": "respond-async"},
    )
    assert response.status_code == 202
    location: str = response.headers["Location"]
    return location


def work(db: Connection) -> Any:
    return importing.run_next_job(
        db, importing.JobSettings(frozenset(agencies.known_countries(db)), 180)
    )


def job_state(db: Connection) -> dict[str, Any]:
    row = db.execute(
        "SELECT attempts, last_error, lease_until > clock_timestamp() AS leased FROM import_jobs"
    ).fetchone()
    assert row is not None
    return dict(row)


@contextmanager
def another_import_loading(settings: Settings, agency_id: UUID) -> Iterator[None]:
    """The agency's lock held, as by an import of the agency being loaded elsewhere."""
    with connect(settings) as holder, holder.transaction():
        imports.prepare(holder, agency_id)
        yield


def test_a_field_name_holding_nul_fails_the_job_at_once_with_its_problem(
    api: ContractClient, db: Connection
) -> None:
    # The problem named the field as the file spelled it, U+0000 included, which PostgreSQL
    # cannot store: the job's record could not be written, the job showed RUNNING for an hour,
    # and after three attempts (three hours) failed without saying why.
    record = {**registry_file()[0], "bad\u0000key": 1}
    location = queue(api, ndjson(record))

    work(db)

    loaded = api.get(location).get_json()
    assert loaded["status"] == "FAILED"
    assert loaded["errors"] == [{"line": 1, "field": "bad\\u0000key", "detail": "Unknown field."}]
    assert rows_in(db, "import_jobs") == 0


def test_a_field_name_holding_nul_is_refused_with_its_record_kept(api: ContractClient) -> None:
    record = {**registry_file()[0], "bad\u0000key": 1}

    response = send(api, ndjson(record))

    assert response.status_code == 400
    refused = api.get(f"/v1/imports/{response.get_json()['import_id']}").get_json()
    assert refused["status"] == "FAILED"
    assert refused["errors"][0]["field"] == "bad\\u0000key"


def test_the_wait_for_the_agency_s_other_import_is_not_cut_by_the_statement_timeout(
    settings: Settings, db: Connection
) -> None:
    # The lock was taken in the statement that lifted the timeout, which was armed already:
    # a file waiting 0.6 s behind another import failed on a 0.3 s statement timeout.
    agency = agencies.ensure_agency(db, "Gendarmerie Nationale")[0]
    quick = replace(settings, statement_timeout_ms=300)
    with connect(quick) as importer:
        holding = threading.Event()

        def hold() -> None:
            with another_import_loading(settings, agency.id):
                holding.set()
                threading.Event().wait(0.6)

        holder = threading.Thread(target=hold)
        holder.start()
        assert holding.wait(5)
        loaded = import_file(importer, ndjson(*registry_file()))
        holder.join()

    assert loaded.status == "COMPLETED"


def test_a_job_behind_its_agency_s_other_import_is_handed_back_uncounted(
    api: ContractClient,
    agency_key: tuple[AgencyRef, str],
    settings: Settings,
    db: Connection,
) -> None:
    location = queue(api, ndjson(*registry_file()))

    with another_import_loading(settings, agency_key[0].id):
        assert work(db) is None  # the worker goes on with its other work

    assert job_state(db) == {"attempts": 0, "last_error": None, "leased": True}
    assert api.get(location).get_json()["status"] == "QUEUED"
    db.execute("UPDATE import_jobs SET lease_until = clock_timestamp() - interval '1 second'")
    work(db)
    assert api.get(location).get_json()["status"] == "COMPLETED"


def test_a_file_sent_while_its_agency_s_other_import_loads_is_queued(
    api: ContractClient,
    agency_key: tuple[AgencyRef, str],
    settings: Settings,
    db: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports_view, "SYNC_WAIT_SECONDS", 0.2)

    with another_import_loading(settings, agency_key[0].id):
        response = send(api, ndjson(*registry_file()))

    assert response.status_code == 202
    assert "Preference-Applied" not in response.headers  # the client expressed none
    assert rows_in(db, "items") == 0
    work(db)
    assert api.get(response.headers["Location"]).get_json()["status"] == "COMPLETED"
    assert rows_in(db, "items") == 2


def test_a_file_that_loads_longer_than_a_client_should_wait_is_queued(
    api: ContractClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file under TRACE_REGISTRY_IMPORT_SYNC_BYTES whose events touch many items took longer
    # than gunicorn's 30 s: the worker was cut off and the client answered 500.
    monkeypatch.setattr(imports_view, "SYNC_SECONDS", 0.0)

    response = send(api, ndjson(*registry_file()))

    assert response.status_code == 202, response.get_data(as_text=True)
    assert rows_in(db, "items") == 0
    assert [r["status"] for r in api.get("/v1/imports").get_json()["items"]] == ["QUEUED"]
    work(db)
    assert api.get(response.headers["Location"]).get_json()["status"] == "COMPLETED"
    assert rows_in(db, "items") == 2


def test_a_statement_cut_by_the_deadline_is_an_import_too_slow(db: Connection) -> None:
    # A statement still running when the time is out is cancelled by the statement timeout the
    # deadline set; the import is then too slow, not a database failure (503).
    deadline = Deadline(0.3, 0.0, 0)
    before = db.execute("SHOW statement_timeout").fetchone()

    with (
        pytest.raises(importing.ImportTooSlow),
        deadline.cancels_as(importing.ImportTooSlow),
        db.transaction(),
    ):
        deadline.bound(db)
        db.execute("SELECT pg_sleep(5)")

    assert db.execute("SHOW statement_timeout").fetchone() == before


def test_a_job_still_loading_is_not_taken_when_its_lease_runs_out(
    api: ContractClient, settings: Settings, db: Connection
) -> None:
    # A load that outlasted its lease was claimed again, and at the fourth claim recorded
    # FAILED and deleted while the first worker was still loading it.
    queue(api, ndjson(*registry_file()))
    location = api.get("/v1/imports").get_json()["items"][0]["id"]
    job = imports.claim(db, lease_seconds=0.001)  # a lease that runs out at once
    assert job is not None
    with connect(settings) as loader, loader.transaction():
        assert imports.lock(loader, job.id)  # a worker loading it, past its lease

        assert work(db) is None
        assert job_state(db)["attempts"] == 1
        assert api.get(f"/v1/imports/{location}").get_json()["status"] == "RUNNING"
        assert api.get("/v1/imports").get_json()["items"][0]["status"] == "RUNNING"

    work(db)  # the loader died: its lock went with it, and the job is taken up again
    assert rows_in(db, "items") == 2


def test_a_job_whose_workers_all_stopped_while_loading_it_says_so(
    api: ContractClient, db: Connection
) -> None:
    # Each attempt's worker died mid-load (its lease ran out, no error recorded).
    location = queue(api, ndjson(*registry_file()))
    db.execute("UPDATE import_jobs SET attempts = %s, lease_until = NULL", [importing.MAX_ATTEMPTS])

    work(db)

    failed = api.get(location).get_json()
    assert failed["status"] == "FAILED"
    assert failed["errors"][0]["detail"] == (
        f"the import could not be loaded in {importing.MAX_ATTEMPTS} attempts: each worker that "
        "took it up stopped before it finished (killed, or its connection to the database "
        "lost), storing nothing"
    )
    assert rows_in(db, "items") == 0


def test_a_job_that_failed_unexpectedly_waits_a_little_and_keeps_its_error(
    api: ContractClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = queue(api, ndjson(*registry_file()))
    run = importing.run

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(importing, "run", broken)
    with pytest.raises(RuntimeError):
        work(db)

    state = job_state(db)
    assert state["last_error"] == "RuntimeError: the disk is on fire"
    due = db.execute("SELECT lease_until - clock_timestamp() AS due FROM import_jobs").fetchone()
    assert due is not None and 0 < due["due"].total_seconds() <= 60  # not an hour
    monkeypatch.setattr(importing, "run", run)
    db.execute("UPDATE import_jobs SET attempts = %s, lease_until = NULL", [importing.MAX_ATTEMPTS])
    work(db)
    failed = api.get(location).get_json()
    assert failed["status"] == "FAILED"
    assert failed["errors"][0]["detail"].endswith(
        "attempts: the last failed with RuntimeError: the disk is on fire"
    )


def test_a_failing_purge_does_not_stop_the_round(
    api: ContractClient, settings: Settings, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = queue(api, ndjson(*registry_file()))

    def stuck(*args: Any) -> int:
        raise RuntimeError("canceling statement due to statement timeout")

    monkeypatch.setattr(idempotency, "purge", stuck)
    worker.run(lambda: connect(settings), settings, interval=0, once=True)

    assert api.get(location).get_json()["status"] == "COMPLETED"


def test_a_bounded_wait_for_the_agency_bounds_no_other_wait_of_the_import(db: Connection) -> None:
    agency = agencies.ensure_agency(db, "Gendarmerie Nationale")[0]
    with db.transaction():
        db.execute("SELECT set_config('lock_timeout', '7s', true)")  # the session's own
        imports.prepare(db, agency.id, wait_seconds=5)
        setting = db.execute("SELECT current_setting('lock_timeout') AS value").fetchone()

    assert setting is not None and setting["value"] == "7s"


def test_an_agency_s_files_are_loaded_in_the_order_they_came(
    api: ContractClient,
    other_api: ContractClient,
    agency_key: tuple[AgencyRef, str],
    settings: Settings,
    db: Connection,
) -> None:
    # The second file refers to the first's records: loaded first, it would be refused. Its
    # agency's first job handed back (the agency busy), the worker takes another agency's job,
    # not the second file.
    first = queue(api, ndjson(*registry_file()))
    second = queue(api, ndjson(THEFT_OF_A_RIFLE_OF_REGISTRY_FILE))
    theirs = queue(other_api, ndjson(*registry_file("-O")))

    with another_import_loading(settings, agency_key[0].id):
        assert work(db) is None  # the first handed back
        loaded = work(db)

    assert loaded is not None and str(loaded.id) == theirs.rsplit("/", 1)[1]
    db.execute("UPDATE import_jobs SET lease_until = NULL")
    work(db)
    work(db)
    statuses = [api.get(location).get_json()["status"] for location in (first, second)]
    assert statuses == ["COMPLETED", "COMPLETED"]


def test_a_small_file_sent_behind_its_agency_s_queued_one_is_queued_after_it(
    api: ContractClient, db: Connection
) -> None:
    # Sent to be loaded at once, the theft of a rifle the queued file brings would be refused
    # (an unknown reference) while that file waits.
    first = queue(api, ndjson(*registry_file()))

    response = send(api, ndjson(THEFT_OF_A_RIFLE_OF_REGISTRY_FILE))

    assert response.status_code == 202
    work(db)
    work(db)
    statuses = [
        api.get(location).get_json()["status"] for location in (first, response.headers["Location"])
    ]
    assert statuses == ["COMPLETED", "COMPLETED"]


def test_a_file_that_took_the_lock_before_an_earlier_one_queued_meanwhile_is_queued_after_it(
    api: ContractClient,
    agency_key: tuple[AgencyRef, str],
    settings: Settings,
    db: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found in review: both files waited for the agency's other import; the first gave up
    # (queued), and the second, sent after it, took the lock as it came free and was loaded
    # first: refused, its rifle and army not yet stored.
    monkeypatch.setattr(imports_view, "SYNC_WAIT_SECONDS", 3.0)
    answers: dict[str, Any] = {}
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with another_import_loading(settings, agency_key[0].id):
            holding.set()
            release.wait(30)

    def sent(name: str, body: bytes) -> threading.Thread:
        thread = threading.Thread(target=lambda: answers.update({name: send(api, body)}))
        thread.start()
        return thread

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)  # or the first could take the lock before the holder (CI, once)
    first = sent("first", ndjson(*registry_file()))
    threading.Event().wait(1.0)  # the second comes a second later, while the first waits
    second = sent("second", ndjson(THEFT_OF_A_RIFLE_OF_REGISTRY_FILE))
    first.join(30)
    release.set()  # as the first is queued, with the second still waiting for the lock
    second.join(30)
    holder.join(30)

    assert [answers[name].status_code for name in ("first", "second")] == [202, 202]
    work(db)
    work(db)
    locations = [answers[name].headers["Location"] for name in ("first", "second")]
    statuses = [api.get(location).get_json()["status"] for location in locations]
    assert statuses == ["COMPLETED", "COMPLETED"]


def test_a_job_gone_since_its_claim_is_not_loaded(
    api: ContractClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(api, ndjson(*registry_file()))
    claim = imports.claim

    def claimed_then_gone(conn: Connection, lease_seconds: float) -> imports.Job | None:
        job = claim(conn, lease_seconds)
        conn.execute("DELETE FROM import_jobs")  # loaded and finished by another, say
        return job

    monkeypatch.setattr(imports, "claim", claimed_then_gone)

    assert work(db) is None
    assert rows_in(db, "items") == rows_in(db, "imports") == 0


def test_a_job_whose_status_is_being_read_is_still_claimed(
    api: ContractClient, settings: Settings, db: Connection
) -> None:
    # A status read share-locks the job's row for its transaction (get_job): the claim, which
    # took FOR UPDATE, passed the job over while anyone looked at it.
    location = queue(api, ndjson(*registry_file()))
    job_id = location.rsplit("/", 1)[1]
    with connect(settings) as reader, reader.transaction():
        reader.execute("SELECT id FROM import_jobs WHERE id = %s FOR KEY SHARE", [job_id])

        claimed = imports.claim(db, lease_seconds=60)

    assert claimed is not None and str(claimed.id) == job_id


def prefix_of(key: str) -> str:
    prefix = api_keys.prefix_of(key)
    assert prefix is not None
    return prefix


def test_a_file_whose_key_was_revoked_before_a_worker_took_it_up_fails_unloaded(
    client: Any, api: ContractClient, agency_key: tuple[AgencyRef, str], db: Connection
) -> None:
    # The worker loaded the file all the same: revoking a stolen key did not stop what it had
    # queued, hours of work for its holder stored after the key was known to be bad.
    location = queue(api, ndjson(*registry_file()))
    assert agencies.revoke_api_key(db, prefix_of(agency_key[1]), "lost")

    work(db)

    lasting = ContractClient(client, create_agency_key(db, agency_key[0].name)[1])
    failed = lasting.get(location).get_json()
    assert failed["status"] == "FAILED"
    assert failed["stored"] == {}
    (problem,) = failed["errors"]
    assert f"the API key {prefix_of(agency_key[1])} that sent it was revoked" in problem["detail"]
    assert rows_in(db, "items") == rows_in(db, "import_jobs") == 0


def database_clock(db: Connection) -> datetime:
    row = db.execute("SELECT clock_timestamp() AS now").fetchone()
    assert row is not None
    found: datetime = row["now"]
    return found


def clock_behind(delta: timedelta) -> type[datetime]:
    """datetime as a worker's machine that lags the database by `delta` reads it."""

    class Behind(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) - delta

    return Behind


def test_a_file_whose_key_expired_before_a_worker_took_it_up_fails_unloaded_whatever_its_clock(
    client: Any, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker judged the key by its own machine's clock: one that lagged the database's an
    # hour loaded the file in the name of a key the database (and every request) held expired.
    agency = agencies.ensure_agency(db, "Gendarmerie Nationale")[0]
    short = api_keys.generate_key()
    agencies.insert_api_key(
        db, agency.id, short.prefix, short.secret_hash, api_keys.DEFAULT_SCOPES,
        expires_at=database_clock(db) - timedelta(minutes=1),
    )  # fmt: skip
    with db.transaction():  # as queued while the key was live
        queued = importing.queue(
            db, agency.id, NDJSON, None, io.BytesIO(ndjson(*registry_file())),
            sha256=b"\0" * 32, size=1, sent_by_key_prefix=short.prefix,
        )  # fmt: skip
    monkeypatch.setattr(importing, "datetime", clock_behind(timedelta(hours=1)))

    work(db)

    lasting = ContractClient(client, create_agency_key(db, agency.name)[1])
    failed = lasting.get(f"/v1/imports/{queued.id}").get_json()
    assert failed["status"] == "FAILED"
    assert f"the API key {short.prefix} that sent it expired" in failed["errors"][0]["detail"]
    assert rows_in(db, "items") == 0


@pytest.mark.parametrize("revoked", [False, True], ids=["loaded", "not loaded"])
def test_a_job_s_record_is_timed_by_the_database_s_clock(
    api: ContractClient,
    agency_key: tuple[AgencyRef, str],
    db: Connection,
    monkeypatch: pytest.MonkeyPatch,
    revoked: bool,
) -> None:
    # started_at was the worker machine's clock (an hour early on one that lagged), beside a
    # finished_at that is the database's: a record that ended before it began.
    location = queue(api, ndjson(*registry_file()))
    if revoked:
        assert agencies.revoke_api_key(db, prefix_of(agency_key[1]), "lost")
    lasting = ContractClient(api.client, create_agency_key(db, agency_key[0].name)[1])
    monkeypatch.setattr(importing, "datetime", clock_behind(timedelta(hours=1)))
    before = database_clock(db)

    work(db)

    record = lasting.get(location).get_json()
    assert record["status"] == ("FAILED" if revoked else "COMPLETED")
    started_at = datetime.fromisoformat(record["started_at"])
    assert before <= started_at <= datetime.fromisoformat(record["finished_at"])
    assert started_at <= database_clock(db)


def test_a_file_is_judged_by_the_key_that_sent_it_not_by_the_agency_s_others(
    client: Any, agency_key: tuple[AgencyRef, str], db: Connection
) -> None:
    agency = agency_key[0]
    sender = ContractClient(client, agency_key[1])
    other_key = create_agency_key(db, agency.name)[1]
    location = queue(sender, ndjson(*registry_file()))
    queued_by_other = queue(ContractClient(client, other_key), ndjson(*registry_file("-O")))
    assert agencies.revoke_api_key(db, prefix_of(other_key), None)

    work(db)
    work(db)

    assert sender.get(location).get_json()["status"] == "COMPLETED"
    assert sender.get(queued_by_other).get_json()["status"] == "FAILED"
    assert rows_in(db, "items") == 2


def test_a_job_no_key_is_recorded_as_sending_fails_unloaded(
    api: ContractClient, agency_key: tuple[AgencyRef, str], db: Connection
) -> None:
    # A job queued before version 4 whose request's audit entry named no key (the migration
    # takes the key from there) is loaded in nobody's name, so it is not loaded.
    with db.transaction():
        queued = importing.queue(
            db, agency_key[0].id, NDJSON, None, io.BytesIO(ndjson(*registry_file())),
            sha256=b"\0" * 32, size=1, sent_by_key_prefix=None,
        )  # fmt: skip

    work(db)

    failed = api.get(f"/v1/imports/{queued.id}").get_json()
    assert failed["status"] == "FAILED"
    assert "no API key of the agency is recorded as having sent it" in failed["errors"][0]["detail"]
    assert rows_in(db, "items") == 0


def test_a_file_loaded_while_the_client_waits_is_queued_before_the_request_s_deadline() -> None:
    # Found in review: a request deadline of 12 s cut a 15 s load with a 503, where the file
    # should have been queued (202).
    assert imports_view._sync_seconds(Settings()) == imports_view.SYNC_SECONDS
    soon = Settings(request_seconds=12, body_seconds=10, batch_seconds=10)
    assert imports_view._sync_seconds(soon) == 12 - imports_view.QUEUE_SECONDS
