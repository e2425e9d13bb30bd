"""Input schemas for trace requests (single and batch), listing traces, and manufacturers."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from service.domain import matching
from service.domain.traces import (
    CANDIDATES_SEARCHED,
    CANDIDATES_SHOWN,
    ObservedWeapon,
    TraceContext,
)
from service.schemas.fields import (
    Choice,
    CountryCode,
    IsoDate,
    Marking,
    Page,
    QueryBoolean,
    ShownText,
    SoughtText,
    StrictBoolean,
    StrictInteger,
    Text,
    Uuid,
    check_ordered,
    day_of,
    optional_shown_text,
    optional_text,
)
from service.schemas.registry import ITEM_CATEGORIES, ImportMarkingIn

MAX_BATCH = 1_000


class ObservedWeaponIn(Schema):
    """The weapon as read: `?` is one unreadable character of the serial, `*` a run of them."""

    # As read: it reaches every agency that recorded a candidate (a hit notification's
    # observed_serial), as a ShownText. The markings as read are one line, as recorded ones are.
    serial_number = ShownText(required=True, max_length=64, one_line=True)
    manufacturer = Marking(load_default=None, allow_none=True, max_length=200, one_line=True)
    model = Marking(load_default=None, allow_none=True, max_length=100, one_line=True)
    category = Choice(ITEM_CATEGORIES, load_default=None, allow_none=True)
    caliber = optional_text(50, one_line=True)
    country_of_manufacture = CountryCode(load_default=None, allow_none=True)
    import_markings = fields.List(
        fields.Nested(ImportMarkingIn), load_default=list, validate=validate.Length(max=10)
    )
    obliterated = StrictBoolean(load_default=False)

    @validates("serial_number")
    def searchable(self, value: str, **_: Any) -> None:
        try:
            matching.read_serial(value)
        except matching.UnusableSerial as exc:
            raise ValidationError(str(exc)) from exc

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ObservedWeapon:
        return ObservedWeapon(**{**data, "import_markings": tuple(data["import_markings"])})


class TraceContextIn(Schema):
    """Why the weapon is traced; a trace without a case reference and a purpose is refused. Its
    texts are ShownText: the case reference and the purpose reach every agency that recorded a
    candidate (hit notifications), and the rest is kept with them in the stored trace. The case
    reference and the officer are one line: the audit trail's filter and X-Case-Reference name a
    case by its reference; the purpose and the legal basis are free text."""

    case_reference = ShownText(required=True, max_length=100, one_line=True)
    purpose = ShownText(required=True, max_length=300)
    legal_basis = optional_shown_text(300)
    requesting_officer = optional_shown_text(200, one_line=True)
    seizure_country = CountryCode(load_default=None, allow_none=True)
    seized_on = day_of("a seizure", load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TraceContext:
        return TraceContext(**data)


class TraceIn(Schema):
    weapon = fields.Nested(ObservedWeaponIn, required=True)
    context = fields.Nested(TraceContextIn, required=True)
    # How many candidates the answer lists at most (every exact or normalised serial match is
    # listed whatever it says): up to as many as a search keeps. A batch lists the default for
    # each weapon: fifty candidates with their chains for each of 1,000 wildcard readings would
    # be about 600 MB of answer.
    max_candidates = StrictInteger(
        load_default=CANDIDATES_SHOWN, validate=validate.Range(1, CANDIDATES_SEARCHED)
    )


class TraceBatchIn(Schema):
    context = fields.Nested(TraceContextIn, required=True)
    weapons = fields.List(
        fields.Nested(ObservedWeaponIn), required=True, validate=validate.Length(1, MAX_BATCH)
    )


class TraceQuery(Page):
    case_reference = SoughtText(load_default=None, max_length=100)
    batch_id = Uuid(load_default=None)
    created_from = IsoDate(load_default=None)
    created_to = IsoDate(load_default=None)

    @validates_schema
    def ordered(self, data: dict[str, Any], **_: Any) -> None:
        check_ordered(data, "created_from", "created_to")


class ManufacturerQuery(Schema):
    name = Marking(load_default=None, max_length=200)


class NotificationQuery(Page):
    unacknowledged = QueryBoolean(load_default=False)


class WebhookIn(Schema):
    url = Text(required=True, max_length=2000)


class ResumptionIn(Schema):
    # the webhook's deliveries given up, still kept (TRACE_REGISTRY_DELIVERY_RETENTION_DAYS),
    # due again now
    redeliver_abandoned = StrictBoolean(load_default=False)


DELIVERY_STATES = ("PENDING", "FAILING", "DELIVERED", "ABANDONED")


class DeliveryQuery(Page):
    state = Choice(DELIVERY_STATES, load_default=None)


class AlertQuery(Page):
    country = CountryCode(load_default=None)
    category = Choice(ITEM_CATEGORIES, load_default=None)
    status = Choice(("LOST", "STOLEN", "SEIZED"), load_default=None)
    since = IsoDate(load_default=None)
