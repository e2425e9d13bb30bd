"""Input schemas of /v1/admin: agencies, API keys and the audit trail."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from service.domain import api_keys
from service.schemas.fields import (
    CountryCode,
    IsoDateTime,
    Marking,
    Page,
    PartyName,
    QueryInteger,
    SoughtText,
    StrictInteger,
    Uuid,
    check_ordered,
    optional_text,
)

# A key that never expires is allowed; one meant to expire may live at most ten years.
MAX_KEY_DAYS = 3_650


_SPACES = re.compile(r"\s+")


class AgencyName(PartyName):
    """An agency's name as every agency reads it (notifications, keys, the audit trail): a
    PartyName (NFC, one line, no format character but the direction marks and joiners that
    Arabic, Hebrew, Persian and Indic names are written with) with at least one letter or digit,
    and runs of spaces (of any width) as one space. A right-to-left override showed a name
    reversed, and a decomposed accent or a no-break space made a second agency that read
    exactly as the first; one that differs from another only by its marks and joiners, which
    show nothing, is refused when it is stored (service.repository.agencies)."""

    # A letter or digit, not PartyName's symbol too: checked in its place, so that `---` and
    # `$$$` are refused in the same words (`---` was told a symbol would do, `$$$` that it
    # would not).
    needs = "at least one letter or digit"

    def holds_enough(self, text: str) -> bool:
        return any(character.isalnum() for character in text)

    def refine(self, text: str) -> str:
        return _SPACES.sub(" ", super().refine(text))


class AgencyIn(Schema):
    name = AgencyName(required=True, max_length=200)
    country = CountryCode(load_default=None, allow_none=True)


class AgencyPatch(Schema):
    """A JSON merge patch of an agency: a member left out stays as it is; `country` null
    clears it."""

    country = CountryCode(allow_none=True)


class KeyIn(Schema):
    agency_id = Uuid(required=True)
    scopes = fields.List(
        fields.String(validate=validate.OneOf(api_keys.SCOPES)),
        load_default=lambda: list(api_keys.DEFAULT_SCOPES),
        validate=validate.Length(min=1, max=len(api_keys.SCOPES)),
    )
    label = optional_text(200, one_line=True)
    expires_in_days = StrictInteger(
        load_default=None, allow_none=True, validate=validate.Range(1, MAX_KEY_DAYS)
    )
    rate_limit_per_minute = StrictInteger(
        load_default=None, allow_none=True, validate=validate.Range(1, 1_000_000)
    )

    @validates("scopes")
    def distinct(self, value: list[str], **_: Any) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("name each scope once")


class KeyRevocationIn(Schema):
    reason = optional_text(500)


class KeyQuery(Page):
    agency_id = Uuid(load_default=None)


# Entries one verification answer walks at most (and about VERIFY_SECONDS of them).
MAX_VERIFY_ENTRIES = 1_000_000


class AuditVerifyQuery(Schema):
    limit = QueryInteger(
        load_default=MAX_VERIFY_ENTRIES, validate=validate.Range(1, MAX_VERIFY_ENTRIES)
    )
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class AuditQuery(Page):
    agency_id = Uuid(load_default=None)
    serial_number = Marking(load_default=None, max_length=64)
    case_reference = SoughtText(load_default=None, max_length=100)
    recorded_from = IsoDateTime(load_default=None)
    recorded_to = IsoDateTime(load_default=None)

    @validates_schema
    def ordered(self, data: dict[str, Any], **_: Any) -> None:
        check_ordered(data, "recorded_from", "recorded_to")
