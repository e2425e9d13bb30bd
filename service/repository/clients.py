"""Failed authentications per client, counted in rate_limits beside the keys' rates (ids of
their own: service.domain.clients.counters_of).

Two rows per client: its rate (GCRA, as a key's) and its tally of refusals not yet in the audit
trail. rate_limits holds one time per row, so the tally is kept as a time: 'epoch' plus one
second per refusal. A table of counts would say it more plainly; this needs none, and is as
atomic (an upsert on the row) and as shared between workers and hosts as a key's rate. Being
UNLOGGED, a tally is lost if PostgreSQL crashes, as the rates are.
"""

from __future__ import annotations

from dataclasses import dataclass

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
