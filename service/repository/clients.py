"""Failed authentications per client: its rate in rate_limits beside the keys' (GCRA, under an
id of its own: service.domain.clients.counters_of), and its tally of refusals not yet in the
audit trail in refused_authentications. Both are shared by every worker and host, and both are
UNLOGGED: a crash of PostgreSQL forgets them, as it forgets the keys' rates.

A tally is taken by the client's next audit entry, or, when the client does not come back, by
`trace-registry worker` (record_quiet_tallies) once the client has been quiet for
quiet_period(): by then its rate has run out, and forget_spent_rates forgets the rate at the
same margin, so the client's whole state goes together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from service.db import Connection
from service.domain.clients import Counters
from service.repository.queries import load

SQL = load("clients")
# How long after its rate has run out a client's tally waits for the client's own next entry
# before the worker names it: forget_spent_rates' margin. A client that pauses between floods
# gets its count in its own entry (with the key prefix it tried), not in one more of the
# worker's; one that never returns is named about an hour later.
QUIET_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Judgement:
    # within the client's rate of failures: answered 401, with an audit entry of its own
    admitted: bool
    # when refused: seconds until the client's next failure would be admitted
    retry_after: int


def failed_authentication(
    conn: Connection, counters: Counters, client: str, per_minute: int, burst: int
) -> Judgement:
    """Count a failed authentication against the client's rate, or in its tally when over it,
    naming the client there as its entries do (see the `failed_authentication` query)."""
    row = conn.execute(
        SQL["failed_authentication"],
        {
            "limiter": counters.limiter,
            "tally": counters.tally,
            "client": client,
            "per_minute": per_minute,
            "burst": burst,
        },
    ).fetchone()
    assert row is not None
    return Judgement(admitted=row["admitted"], retry_after=row["retry_after"] or 1)


def forget_spent_rates(conn: Connection, batch: int) -> Iterator[int]:
    """Delete the rates, keys' and clients', that ran out over an hour ago, reading `batch` rows
    of the table at a time in key order, to its end; yields how many each batch deleted. Each
    batch is one statement: on a connection in autocommit mode (the worker's), a short
    transaction of its own."""
    return _through_the_table(conn, "forget_spent_rates", {}, batch, "forgotten")


def quiet_period(per_minute: int, burst: int) -> timedelta:
    """How long after its last refusal a client's tally is the worker's to name: the time the
    client's rate takes to run out wholly (a refused client's next conforming time is at most
    `burst` spacings ahead), and QUIET_MARGIN after it."""
    return timedelta(seconds=60.0 / per_minute * burst) + QUIET_MARGIN


def record_quiet_tallies(conn: Connection, quiet: timedelta, batch: int) -> Iterator[int]:
    """Name in the audit trail, and delete, the tallies of clients refused and quiet since for
    `quiet`, an entry each (see the `record_quiet_tallies` query), reading `batch` tallies at a
    time in tally order, to the table's end; yields how many each batch recorded. Each batch is
    one statement: on a connection in autocommit mode (the worker's), a transaction of its own."""
    params: dict[str, object] = {"quiet_seconds": quiet.total_seconds()}
    return _through_the_table(conn, "record_quiet_tallies", params, batch, "recorded")


def _through_the_table(
    conn: Connection, query: str, params: dict[str, object], batch: int, done: str
) -> Iterator[int]:
    """Run `query` on `batch` rows at a time after `after`, in key order, to the table's end
    (the query reports `read`, the `last` key it read and its `done` count); yields each count."""
    after = UUID(int=0)
    while True:
        row = conn.execute(SQL[query], {**params, "after": after, "batch": batch}).fetchone()
        assert row is not None
        yield row[done]
        if row["read"] < batch:
            return
        after = row["last"]
