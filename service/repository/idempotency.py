"""The stored answers of idempotent POSTs (the `idempotency_keys` table)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from service.db import Connection, delete_in_batches
from service.repository.queries import load

SQL = load("idempotency")


@dataclass(frozen=True, slots=True)
class Request:
    agency_id: UUID
    key: str
    fingerprint: bytes
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    location: str | None
    media_type: str
    body: bytes
    # the answer carried a secret and was not kept
    withheld: bool = False
    # the answer is this batch's stored traces, made again from them (body empty)
    batch_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    fingerprint: bytes
    method: str
    path: str
    answer: Answer
    created_at: datetime


def claim(conn: Connection, request: Request, retention_hours: int) -> Stored | None:
    """Take the key for this request (None), or the request that holds it and its answer."""
    params = {
        "agency_id": request.agency_id,
        "key": request.key,
        "fingerprint": request.fingerprint,
        "method": request.method,
        "path": request.path,
        "hours": retention_hours,
    }
    if conn.execute(SQL["claim"], params).fetchone() is not None:
        return None
    row = conn.execute(SQL["stored"], params).fetchone()
    if row is None:  # purged between the two statements: as good as never used
        return claim(conn, request, retention_hours)
    answer = Answer(
        row["status"],
        row["location"],
        row["media_type"],
        bytes(row["body"]),
        row["withheld"],
        row["batch_id"],
    )
    return Stored(bytes(row["fingerprint"]), row["method"], row["path"], answer, row["created_at"])


def remember(conn: Connection, request: Request, answer: Answer) -> None:
    conn.execute(
        SQL["remember"],
        {
            "agency_id": request.agency_id,
            "key": request.key,
            "status": answer.status,
            "location": answer.location,
            "media_type": answer.media_type,
            "body": b"" if answer.withheld else answer.body,
            "withheld": answer.withheld,
            "batch_id": answer.batch_id,
        },
    )


def free(conn: Connection, request: Request) -> None:
    """Give back the key `claim` took for this request, in the same transaction."""
    conn.execute(SQL["free"], {"agency_id": request.agency_id, "key": request.key})


def purge(conn: Connection, retention_hours: int, batch: int) -> Iterator[int]:
    """Forget answers older than the retention, `batch` at a time, oldest first, until none is
    left; yields how many each batch forgot."""
    return delete_in_batches(conn, SQL["purge"], {"hours": retention_hours}, batch)
