"""Failed authentications per client: its rate in rate_limits beside the keys' (GCRA, under an
id of its own: service.domain.clients.counters_of), and its tally of refusals not yet in the
audit trail in refused_authentications. Both are shared by every worker and host, and both are
UNLOGGED: a crash of PostgreSQL forgets them, as it forgets the keys' rates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from service.db import Connection
from service.domain.clients import Counters
from service.repository.queries import load

SQL = load("clients")


@dataclass(frozen=True)
class Judgement:
    # within the client's rate of failures: answered 401, with an audit entry of its own
    admitted: bool
    # when refused: seconds until the client's next failure would be admitted
    retry_after: int


def failed_authentication(
    conn: Connection, counters: Counters, per_minute: int, burst: int
) -> Judgement:
    """Count a failed authentication against the client's rate, or in its tally when over it
    (see the `failed_authentication` query)."""
    row = conn.execute(
        SQL["failed_authentication"],
        {
            "limiter": counters.limiter,
            "tally": counters.tally,
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
    after = UUID(int=0)
    while True:
        row = conn.execute(SQL["forget_spent_rates"], {"after": after, "batch": batch}).fetchone()
        assert row is not None
        yield row["forgotten"]
        if row["read"] < batch:
            return
        after = row["last"]
