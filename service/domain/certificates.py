"""End-user certificates: whether one is valid today, and how much of each line is used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from service.domain.records import ShownParty
from service.errors import InvalidInput

STATUSES = ("VALID", "EXPIRED", "REVOKED")


def status_on(today: date, expires_on: date | None, revoked_on: date | None) -> str:
    """REVOKED once its revocation takes effect, EXPIRED after its last day, else VALID."""
    if revoked_on is not None and revoked_on <= today:
        return "REVOKED"
    if expires_on is not None and expires_on < today:
        return "EXPIRED"
    return "VALID"


def check_revocation(issued_on: date, revoked_on: date, today: date) -> None:
    """Refuse a revocation dated before the certificate was issued (as a certificate may not
    expire before it is issued): every export under it would read as made after it.

    A certificate recorded as issued after today (the registry refuses one now, but stored
    certificates from before that rule may say 9999-12-31) reads VALID: it may be revoked from
    today, or no revocation could ever be dated late enough and it would read VALID for good."""
    if revoked_on >= min(issued_on, today):
        return
    detail = f"a certificate cannot be revoked before it was issued (on {issued_on})"
    if issued_on > today:
        detail = (
            f"a certificate recorded as issued on {issued_on}, a day still to come, can be "
            f"revoked from {today}, not before"
        )
    raise InvalidInput.for_field("body", "revoked_on", detail)


@dataclass(frozen=True, slots=True)
class LineUsage:
    line_number: int
    description: str
    authorised: int
    shipped: int
    remaining: int  # negative when the line was over-shipped
    item_ids: tuple[UUID, ...]
    # shipped by exports another agency restricted: counted, not named
    withheld: int


@dataclass(frozen=True, slots=True)
class Usage:
    euc_id: UUID
    certificate_number: str
    status: str
    lines: tuple[LineUsage, ...]


def line_usage(
    line_number: int, description: str, authorised: int, shipped: int, item_ids: tuple[UUID, ...]
) -> LineUsage:
    return LineUsage(
        line_number,
        description,
        authorised,
        shipped,
        authorised - shipped,
        item_ids,
        withheld=shipped - len(item_ids),
    )


@dataclass(frozen=True, slots=True)
class VerificationAnswer:
    """What a border or licensing officer learns from a certificate number: whether it is
    registered, whether it is valid today, and the facts to hold against the paper."""

    registered: bool
    valid: bool
    status: str | None
    certificate_number: str
    issuing_country: str
    euc_id: UUID | None = None
    issuing_authority: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    revoked_on: date | None = None
    destination_country: str | None = None
    end_user: ShownParty | None = None
