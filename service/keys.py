"""Issuing API keys: the one path the CLI and the admin API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from service.db import Connection
from service.domain import api_keys
from service.repository import agencies


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `key` is the secret, shown once and stored nowhere."""

    key: str
    record: agencies.ApiKey


def issue(
    conn: Connection,
    agency_id: UUID,
    scopes: tuple[str, ...],
    *,
    label: str | None = None,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
) -> IssuedKey:
    new = api_keys.generate_key()
    agencies.insert_api_key(
        conn,
        agency_id,
        new.prefix,
        new.secret_hash,
        tuple(dict.fromkeys(scopes)),
        label,
        expires_at,
        rate_limit_per_minute,
    )
    record = agencies.get_api_key(conn, new.prefix)
    assert record is not None
    return IssuedKey(new.plaintext, record)
