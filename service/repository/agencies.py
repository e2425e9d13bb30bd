"""Agencies, their API keys, and the reference tables every request may need."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import errors, sql

from service.db import Connection
from service.domain import api_keys
from service.domain.records import AgencyRef
from service.domain.text import KEPT_FORMAT_STRING
from service.errors import Duplicate
from service.repository.queries import load

SQL = load("agencies")
# Whether a name reads as another's, one rule for each statement that asks (`agencies_read_alike`).
FIND_AGENCY_AS_READ, INSERT_AGENCY, NAME_READ_ALIKE, CREATE_AGENCY = (
    sql.SQL(SQL[name]).format(agencies_read_alike=sql.SQL(SQL["agencies_read_alike"]))
    for name in ("find_agency_as_read", "insert_agency", "name_read_alike", "create_agency")
)
# The unique index of agencies' names as read (schema.sql).
_NAME_AS_READ = "agencies_name_as_read"


@dataclass(frozen=True)
class StoredKey:
    prefix: str
    secret_hash: bytes
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None
    agency: AgencyRef
    # whether this request was counted within the key's rate (if not: retry_after)
    admitted: bool
    # the database's clock when it judged the key: expiry is judged by it, as admission was
    judged_at: datetime


@dataclass(frozen=True, slots=True)
class Agency:
    id: UUID
    name: str
    country: str | None
    created_at: datetime
    active_keys: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as listed: never its secret."""

    id: UUID
    prefix: str
    agency: AgencyRef
    scopes: tuple[str, ...]
    label: str | None
    rate_limit_per_minute: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None
    # ACTIVE, EXPIRED or REVOKED now
    status: str


@dataclass(frozen=True)
class RecordCounts:
    """How many records of each kind an agency has recorded."""

    parties: int
    items: int
    eucs: int
    events: int
    declarations: int
    revocations: int
    consents: int
    delivery_verifications: int
    party_verifications: int

    @property
    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))


def recorded_counts(conn: Connection, agency_id: UUID) -> RecordCounts:
    row = conn.execute(SQL["recorded_counts"], {"agency_id": agency_id}).fetchone()
    assert row is not None
    return RecordCounts(**row)


def ensure_agency(
    conn: Connection, name: str, country: str | None = None
) -> tuple[AgencyRef, bool]:
    """The agency with this name, created if missing; the flag says whether it was created now.
    Duplicate when another agency's name reads as this one."""
    found = find_agency(conn, name)
    if found is not None:
        return found, False
    created = conn.execute(
        INSERT_AGENCY, {"name": name, "country": country, "invisible": KEPT_FORMAT_STRING}
    ).fetchone()
    if created is not None:
        return AgencyRef(created["id"], created["name"]), True
    # another transaction stored the name meanwhile, or one that reads as it
    found = find_agency(conn, name)
    if found is None:
        raise _read_alike(conn, name)
    return found, False


def insert_api_key(
    conn: Connection,
    agency_id: UUID,
    prefix: str,
    secret_hash: bytes,
    scopes: tuple[str, ...],
    label: str | None = None,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
) -> UUID:
    row = conn.execute(
        SQL["insert_api_key"],
        {
            "agency_id": agency_id,
            "prefix": prefix,
            "secret_hash": secret_hash,
            "scopes": list(scopes),
            "label": label,
            "expires_at": expires_at,
            "rate_limit_per_minute": rate_limit_per_minute,
        },
    ).fetchone()
    assert row is not None
    key_id: UUID = row["id"]
    return key_id


def retry_after(conn: Connection, prefix: str, default_per_minute: int, burst: int) -> int:
    """Seconds until the key admits a request again (at least 1; see the `retry_after` query)."""
    row = conn.execute(
        SQL["retry_after"],
        {"prefix": prefix, "default_per_minute": default_per_minute, "burst": burst},
    ).fetchone()
    return 1 if row is None else int(row["seconds"])


def charge_requests(conn: Connection, prefix: str, requests: int, default_per_minute: int) -> None:
    """Count `requests` more against the key's rate (see the `charge_requests` query)."""
    conn.execute(
        SQL["charge_requests"],
        {"prefix": prefix, "requests": requests, "default_per_minute": default_per_minute},
    )


def authenticate(
    conn: Connection,
    prefix: str,
    secret_hash: bytes,
    default_per_minute: int,
    burst: int,
    *,
    counted: bool = True,
) -> StoredKey | None:
    """The key with this prefix, counting the request against its rate when `secret_hash`
    is that of a live key (see the `authenticate` query); not `counted`, a request counted
    already is admitted without counting it again."""
    row = conn.execute(
        SQL["authenticate"],
        {
            "prefix": prefix,
            "secret_hash": secret_hash,
            "default_per_minute": default_per_minute,
            "burst": burst,
            "counted": counted,
        },
    ).fetchone()
    if row is None:
        return None
    return StoredKey(
        prefix=row["prefix"],
        secret_hash=bytes(row["secret_hash"]),
        scopes=tuple(row["scopes"]),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        agency=AgencyRef(row["agency_id"], row["agency_name"]),
        admitted=row["admitted"],
        judged_at=row["judged_at"],
    )


def create_agency(conn: Connection, name: str, country: str | None) -> Agency:
    """A new agency; Duplicate when its name, or one that reads as it, is taken."""
    named = {"name": name, "country": country, "invisible": KEPT_FORMAT_STRING}
    try:
        with conn.transaction():
            row = conn.execute(CREATE_AGENCY, named).fetchone()
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name != _NAME_AS_READ:
            raise  # the name itself: service.errors words it
        raise _read_alike(conn, name) from None
    if row is None:
        raise _read_alike(conn, name)
    return Agency(**row)


def _read_alike(conn: Connection, name: str) -> Duplicate:
    """The refusal of a name that reads as another agency's: a direction mark or a joiner, which
    shows nothing, or another normal form of the same accents, made a second agency that every
    notification named as the first."""
    twin = conn.execute(NAME_READ_ALIKE, {"name": name, "invisible": KEPT_FORMAT_STRING}).fetchone()
    named = f" {twin['name']!r}" if twin is not None else ""
    return Duplicate(
        f"the name reads as that of the agency{named}, but for its direction marks or joiners, "
        "which show nothing, or the normal form of its accents"
    )


def get_agency(conn: Connection, agency_id: UUID) -> Agency | None:
    row = conn.execute(SQL["get_agency"], {"id": agency_id}).fetchone()
    return None if row is None else Agency(**row)


@dataclass(frozen=True, slots=True)
class CountryChange:
    """An agency's country as it was and as it is now (None: none on record)."""

    agency_id: UUID
    old: str | None
    new: str | None


def set_agency_country(conn: Connection, agency_id: UUID, country: str | None) -> CountryChange:
    """Set or correct the agency's country; LookupError when there is no such agency."""
    row = conn.execute(SQL["set_agency_country"], {"id": agency_id, "country": country}).fetchone()
    if row is None:
        raise LookupError(agency_id)
    return CountryChange(agency_id, row["replaced"], country)


def find_agency(conn: Connection, name: str) -> AgencyRef | None:
    row = conn.execute(SQL["find_agency_by_name"], {"name": name}).fetchone()
    return None if row is None else AgencyRef(row["id"], row["name"])


def find_agency_as_read(conn: Connection, name: str) -> AgencyRef | None:
    """The agency whose name reads as `name`: the same but for the direction marks and joiners,
    which show nothing, and its normal form; the one named exactly first."""
    row = conn.execute(
        FIND_AGENCY_AS_READ, {"name": name, "invisible": KEPT_FORMAT_STRING}
    ).fetchone()
    return None if row is None else AgencyRef(row["id"], row["name"])


def list_agencies(conn: Connection, after: UUID | None, limit: int) -> list[Agency]:
    rows = conn.execute(SQL["list_agencies"], {"after": after or _FIRST, "limit": limit})
    return [Agency(**row) for row in rows]


def list_api_keys(
    conn: Connection, agency_id: UUID | None, before: UUID | None, limit: int
) -> list[ApiKey]:
    rows = conn.execute(
        SQL["list_api_keys"],
        {"agency_id": agency_id, "before": before or _LAST, "limit": limit},
    )
    return [_api_key(row) for row in rows]


def get_api_key(conn: Connection, prefix: str) -> ApiKey | None:
    row = conn.execute(SQL["get_api_key"], {"prefix": prefix}).fetchone()
    return None if row is None else _api_key(row)


def revoke_api_key(
    conn: Connection, prefix: str, reason: str | None, *, keep_an_admin: bool = True
) -> bool:
    """Revoke a live key; False when there is no such key, it was already revoked, or (with
    `keep_an_admin`) it is the last live key with `registry:admin`."""
    row = conn.execute(
        SQL["revoke_api_key"], {"prefix": prefix, "reason": reason, "keep_an_admin": keep_an_admin}
    ).fetchone()
    return row is not None


_FIRST = UUID(int=0)
_LAST = UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")


def _api_key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        agency=AgencyRef(row["agency_id"], row["agency_name"]),
        scopes=tuple(row["scopes"]),
        label=row["label"],
        rate_limit_per_minute=row["rate_limit_per_minute"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_reason=row["revoked_reason"],
        status=api_keys.status_of(row["revoked_at"], row["expires_at"], datetime.now(UTC)),
    )


def known_countries(conn: Connection) -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> name, from the countries reference table."""
    return {row["code"]: row["name"] for row in conn.execute(SQL["known_countries"])}
