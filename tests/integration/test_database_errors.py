"""Database errors a request can meet that are nobody's fault: answered 503, to be sent again."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from service.config import Settings
from service.db import connect, translate
from service.errors import DatabaseUnavailable, UnknownReference


def test_a_deadlock_is_a_503_that_says_to_send_the_request_again(settings: Settings) -> None:
    # Two transactions each hold a lock the other waits for: PostgreSQL rolls one back. It
    # was answered as "the database is unreachable", which it was not.
    errors: list[psycopg.Error] = []
    both_hold = threading.Barrier(2)

    def take(first: int, second: int) -> None:
        with connect(settings) as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(4242, %s)", [first])
                    both_hold.wait(timeout=5)
                    conn.execute("SELECT pg_advisory_xact_lock(4242, %s)", [second])
            except psycopg.Error as error:
                errors.append(error)

    threads = [threading.Thread(target=take, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    (error,) = errors
    answer = translate(error)
    assert isinstance(answer, DatabaseUnavailable)
    assert answer.status == 503
    assert "send it again" in answer.detail
    assert "unreachable" not in answer.detail


@pytest.mark.parametrize("kind", [psycopg.errors.SerializationFailure])
def test_a_serialization_failure_is_a_503_too(kind: type[psycopg.Error]) -> None:
    answer = translate(kind("could not serialize access due to concurrent update"))

    assert isinstance(answer, DatabaseUnavailable) and "send it again" in answer.detail


def test_a_connection_lost_is_a_503_that_keeps_the_server_s_words_to_the_log(
    settings: Settings, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Found in review: the client read "the database is unreachable: terminating connection
    # due to administrator command" (or the server's host and port, or "too many clients").
    with connect(settings) as lost:
        pid = lost.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        db.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(psycopg.OperationalError) as failed:
            lost.execute("SELECT 1")

    answer = translate(failed.value)

    assert isinstance(answer, DatabaseUnavailable)
    assert answer.detail == "the database is unreachable"
    assert "terminating connection" in caplog.text or "server closed" in caplog.text


def test_an_unknown_reference_no_message_names_is_worded_from_the_fields(db: Any) -> None:
    # service.db.REFERENCE_MESSAGES names the references requests can send; any other is
    # worded from the detail's fields and values, never with the database's table names.
    ghost = "01a20319-0000-7000-8000-000000000000"
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused, db.transaction():
        db.execute(
            "INSERT INTO reexport_consent_items (consent_id, item_id) VALUES (%s, %s)",
            [ghost, ghost],
        )

    answer = translate(refused.value)

    assert isinstance(answer, UnknownReference)
    assert answer.detail == f"no re-export consent is recorded with consent_id {ghost}"
