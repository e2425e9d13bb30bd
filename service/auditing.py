"""Verifying the audit trail: the stored chains, walked by service.domain.audit."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from uuid import UUID

from service.db import Connection
from service.domain import audit
from service.domain.ids import uuid7
from service.repository import audit as trail

# How often (in entries) a verification in parts looks at the clock.
_CLOCK_EVERY = 1_000


def verify(conn: Connection, expected_heads: Iterable[audit.Head] = ()) -> audit.Verification:
    """Walk every chain as one query sees it (entries committed meanwhile are left for the next
    verification). The server-side cursor needs a transaction; inside the request's own, this is a
    savepoint."""
    with conn.transaction():
        return audit.verify(trail.stored_entries(conn), expected_heads)


# The method of an entry written for the command line, where a request's has its HTTP method.
COMMAND_LINE = "CLI"


def command_run(
    conn: Connection,
    command: str,
    arguments: Sequence[str],
    record_ids: Sequence[UUID],
    details: dict[str, object],
) -> None:
    """The entry of an administrative command that changed the registry, in the command's
    transaction: what it changed is in the chained trail as if an admin key had done it through
    the API. No key was presented: the entry names no agency and no key; `status` 200, done."""
    trail.append(
        conn,
        trail.NewEntry(
            id=uuid7(),
            agency_id=None,
            key_prefix=None,
            method=COMMAND_LINE,
            route=command,
            path=" ".join([command, *arguments]),
            status=200,
            serials=(),
            record_ids=tuple(record_ids),
            case_reference=None,
            purpose=None,
            records_returned=0,
            details=details,
        ),
    )


@dataclass(frozen=True)
class Part:
    """One part of a verification: its findings, and the entry the next part goes on from
    (None: this part reached the end of the trail)."""

    verification: audit.Verification
    go_on_after: UUID | None


class UnknownStart(LookupError):
    """The entry a part was to go on from is not in the trail (any more)."""


def verify_part(conn: Connection, after: UUID | None, most_entries: int, seconds: float) -> Part:
    """Walk the chains from the entry after `after` (the start when None) for at most
    `most_entries` entries and about `seconds`: a trail of millions of entries takes longer
    than a request may. A chain whose end this part does not reach gives no head."""
    with conn.transaction():
        previous = None
        if after is not None:
            previous = trail.stored_entry(conn, after)
            if previous is None:
                raise UnknownStart(str(after))
        stopped = False

        def bounded(entries: Iterator[audit.StoredEntry]) -> Iterator[audit.StoredEntry]:
            nonlocal stopped
            deadline = time.monotonic() + seconds
            for walked, entry in enumerate(entries):
                if walked >= most_entries or (
                    walked and walked % _CLOCK_EVERY == 0 and time.monotonic() > deadline
                ):
                    stopped = True
                    return
                yield entry

        result = audit.verify(bounded(trail.stored_entries(conn, previous)), (), previous)
    last = result.last
    if not stopped or last is None:
        return Part(result, None)
    result.heads = [head for head in result.heads if head.chain != last.chain]
    return Part(result, UUID(last.id))
