"""Verifying the audit trail: the stored chains, walked by service.domain.audit."""

from __future__ import annotations

from collections.abc import Iterable

from service.db import Connection
from service.domain import audit
from service.repository import audit as trail


def verify(conn: Connection, expected_heads: Iterable[audit.Head] = ()) -> audit.Verification:
    """Walk every chain as one query sees it (entries committed meanwhile are left for the next
    verification). The server-side cursor needs a transaction; inside the request's own, this is a
    savepoint."""
    with conn.transaction():
        return audit.verify(trail.stored_entries(conn), expected_heads)
