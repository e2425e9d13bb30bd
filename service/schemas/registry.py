"""Input schemas for recording parties, items, certificates and events, and for finding items."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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

from service.domain import custody, dates
from service.domain.certificates import MAX_EUC_LINES
from service.domain.inputs import (
    Correction,
    NewConsent,
    NewConsentWithdrawal,
    NewDeliveryVerification,
    NewErrorDeclaration,
    NewEuc,
    NewEucLine,
    NewEvent,
    NewItem,
    NewParty,
    NewPartyVerification,
    NewRevocation,
    NewRevocationWithdrawal,
)
from service.domain.records import ImportMarking
from service.schemas.fields import (
    Choice,
    CountryCode,
    IsoDate,
    Marking,
    Page,
    PartyName,
    RegistrationNumber,
    ShownMarking,
    ShownText,
    StrictBoolean,
    StrictInteger,
    Uuid,
    day_of,
    optional_shown_text,
    year,
)

PARTY_KINDS = (
    "MANUFACTURER", "EXPORTER", "IMPORTER", "BROKER", "GOVERNMENT", "ARMED_FORCES",
    "LAW_ENFORCEMENT", "DEALER", "PRIVATE_HOLDER", "NON_STATE_ARMED_GROUP",
    "INTERNATIONAL_ORGANISATION", "OTHER",
)  # fmt: skip
ITEM_CATEGORIES = (
    "PISTOL", "REVOLVER", "RIFLE", "CARBINE", "ASSAULT_RIFLE", "SHOTGUN", "SUBMACHINE_GUN",
    "MACHINE_GUN", "HEAVY_MACHINE_GUN", "GRENADE_LAUNCHER", "RECOILLESS_RIFLE",
    "ANTI_TANK_WEAPON", "ATGM", "MANPADS", "MORTAR", "ARTILLERY", "OTHER",
)  # fmt: skip
ERROR_REASONS = ("DID_NOT_OCCUR", "INCORRECT_DATA")
# RESTRICTED: other agencies see that the record exists, its date and its recorder, no more.
CLASSIFICATIONS = ("UNRESTRICTED", "RESTRICTED")
MAX_ITEMS_PER_EVENT = 5_000


class PartyIn(Schema):
    name = PartyName(required=True, max_length=300)
    kind = Choice(PARTY_KINDS, required=True)
    country = CountryCode(required=True)
    registration_number = RegistrationNumber(max_length=100, load_default=None, allow_none=True)
    address = optional_shown_text(500)
    classification = Choice(CLASSIFICATIONS, load_default="UNRESTRICTED")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewParty:
        return NewParty(**data)


class ImportMarkingIn(Schema):
    country = CountryCode(required=True)
    year = year(load_default=None, allow_none=True)
    marking = optional_shown_text(200)

    @validates_schema
    def marked_by_now(self, data: dict[str, Any], **_: Any) -> None:
        made_by_now(data, "year", "an import marking")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ImportMarking:
        return ImportMarking(**data)


class ItemIn(Schema):
    manufacturer = ShownMarking(required=True, max_length=200)
    model = ShownMarking(required=True, max_length=100)
    category = Choice(ITEM_CATEGORIES, required=True)
    serial_number = ShownMarking(required=True, max_length=64)
    caliber = optional_shown_text(50, one_line=True)
    country_of_manufacture = CountryCode(load_default=None, allow_none=True)
    year_of_manufacture = year(load_default=None, allow_none=True)
    import_markings = fields.List(
        fields.Nested(ImportMarkingIn), load_default=list, validate=validate.Length(max=10)
    )
    other_markings = optional_shown_text(1000)

    @validates_schema
    def made_already(self, data: dict[str, Any], **_: Any) -> None:
        made_by_now(data, "year_of_manufacture", "a weapon's manufacture")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewItem:
        return NewItem(**{**data, "import_markings": tuple(data["import_markings"])})


class EucLineIn(Schema):
    line_number = StrictInteger(validate=validate.Range(1, 32_767), load_default=None)
    description = ShownText(required=True, max_length=500)
    category = Choice(ITEM_CATEGORIES, load_default=None, allow_none=True)
    model = optional_shown_text(100, one_line=True)
    quantity = StrictInteger(required=True, validate=validate.Range(1, 10_000_000))


class EucIn(Schema):
    certificate_number = ShownMarking(required=True, max_length=100)
    issuing_country = CountryCode(required=True)
    issuing_authority = ShownText(required=True, max_length=300)
    # A certificate not issued yet read VALID today: GET /v1/eucs/verify answered valid for one
    # "issued" on 9999-12-31, and exports dated before its issue raise nothing.
    issued_on = day_of("a certificate's issue", required=True)
    expires_on = IsoDate(load_default=None, allow_none=True)
    exporter_party_id = Uuid(load_default=None, allow_none=True)
    end_user_party_id = Uuid(required=True)
    destination_country = CountryCode(required=True)
    stated_end_use = ShownText(required=True, max_length=1000)
    non_reexport_clause = StrictBoolean(required=True)
    line_items = fields.List(
        fields.Nested(EucLineIn), required=True, validate=validate.Length(1, MAX_EUC_LINES)
    )

    @validates_schema
    def dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        expires_on = data.get("expires_on")
        if expires_on is not None and expires_on < data["issued_on"]:
            raise ValidationError("a certificate cannot expire before it is issued", "expires_on")

    @validates_schema
    def line_numbers_unique(self, data: dict[str, Any], **_: Any) -> None:
        # The numbers make() gives: a line without one takes its position, which a number given
        # to another line may be (those were refused by the unique index, with no field named).
        # The problem is the line that repeats a number: named by the list alone, a CSV file's
        # problem fell on the certificate's first row, not on the row that repeated it.
        seen: set[int] = set()
        for index, line in enumerate(data["line_items"]):
            number = line["line_number"] or index + 1
            if number in seen:
                why = (
                    f"line number {number} is another line's (a line without a number is "
                    "numbered by its position)"
                )
                raise ValidationError({"line_items": {index: {"line_number": [why]}}})
            seen.add(number)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewEuc:
        lines = tuple(
            NewEucLine(**{**line, "line_number": line["line_number"] or position})
            for position, line in enumerate(data["line_items"], start=1)
        )
        return NewEuc(**{**data, "line_items": lines})


class CorrectionIn(Schema):
    event_id = Uuid(required=True)
    reason = Choice(ERROR_REASONS, required=True)
    explanation = ShownText(required=True, max_length=2000)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Correction:
        return Correction(**data)


class EventIn(Schema):
    event_type = Choice(custody.EVENT_TYPES, required=True)
    occurred_on = IsoDate(required=True)
    country = CountryCode(required=True)
    item_ids = fields.List(Uuid(), required=True, validate=validate.Length(1, MAX_ITEMS_PER_EVENT))
    destination_country = CountryCode(load_default=None, allow_none=True)
    from_party_id = Uuid(load_default=None, allow_none=True)
    to_party_id = Uuid(load_default=None, allow_none=True)
    owner_party_id = Uuid(load_default=None, allow_none=True)
    euc_id = Uuid(load_default=None, allow_none=True)
    euc_line_number = StrictInteger(
        validate=validate.Range(1, 32_767), load_default=None, allow_none=True
    )
    licence_number = optional_shown_text(100, one_line=True)
    document_reference = optional_shown_text(200, one_line=True)
    notes = optional_shown_text(2000)
    corrects = fields.Nested(CorrectionIn, load_default=None, allow_none=True)
    classification = Choice(CLASSIFICATIONS, load_default="UNRESTRICTED")

    @validates("item_ids")
    def items_unique(self, value: list[Any] | None, **_: Any) -> None:
        if value is not None and len(value) != len(set(value)):
            raise ValidationError("an item can appear only once in an event")

    @validates_schema
    def follows_event_rules(self, data: dict[str, Any], **_: Any) -> None:
        draft = custody.EventDraft.of(self.make(data))
        problems = custody.event_problems(draft, today=datetime.now(UTC).date())
        if problems:
            messages: dict[str, list[str]] = {}
            for problem in problems:
                messages.setdefault(problem.field, []).append(problem.detail)
            raise ValidationError(messages)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewEvent:
        return NewEvent(**{**data, "item_ids": tuple(data["item_ids"])})


class ErrorDeclarationIn(Schema):
    reason = Choice(ERROR_REASONS, required=True)
    explanation = ShownText(required=True, max_length=2000)
    corrective_event_ids = fields.List(Uuid(), load_default=list, validate=validate.Length(max=100))

    @validates("corrective_event_ids")
    def correctives_unique(self, value: list[Any], **_: Any) -> None:
        # Declarations are append-only: a repeat would be stored, and reported, for good.
        if len(value) != len(set(value)):
            raise ValidationError("an event can be named corrective only once")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewErrorDeclaration:
        return NewErrorDeclaration(
            **{**data, "corrective_event_ids": tuple(data["corrective_event_ids"])}
        )


class ItemQuery(Page):
    serial_number = Marking(load_default=None, max_length=64)
    manufacturer = Marking(load_default=None, max_length=200)


def made_by_now(data: Mapping[str, Any], field: str, what: str) -> None:
    """Refuse a year of manufacture or marking still to come (the field's range ends at 2100)."""
    year = data.get(field)
    if year is not None and year > dates.last_year(datetime.now(UTC).date()):
        raise ValidationError(f"{what} cannot be in a year still to come", field)


class RevocationIn(Schema):
    revoked_on = day_of("a revocation", required=True)
    reason = ShownText(required=True, max_length=1000)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewRevocation:
        return NewRevocation(**data)


class RevocationWithdrawalIn(Schema):
    reason = ShownText(required=True, max_length=1000)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewRevocationWithdrawal:
        return NewRevocationWithdrawal(**data)


class ConsentWithdrawalIn(Schema):
    reason = ShownText(required=True, max_length=1000)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewConsentWithdrawal:
        return NewConsentWithdrawal(**data)


class ConsentIn(Schema):
    granted_on = day_of("a consent", required=True)
    granted_by = ShownText(required=True, max_length=300)
    new_end_user_party_id = Uuid(load_default=None, allow_none=True)
    new_destination_country = CountryCode(required=True)
    quantity = StrictInteger(
        load_default=None, allow_none=True, validate=validate.Range(1, 10_000_000)
    )
    document_reference = optional_shown_text(200, one_line=True)
    item_ids = fields.List(
        Uuid(), load_default=list, validate=validate.Length(max=MAX_ITEMS_PER_EVENT)
    )

    @validates_schema
    def names_no_more_than_its_quantity(self, data: dict[str, Any], **_: Any) -> None:
        # The items named are what it covers, and a quantity says at most how many: fewer
        # than it names leaves which of them it covers to nobody's knowing.
        quantity, named = data.get("quantity"), len(set(data.get("item_ids") or ()))
        if quantity is not None and named > quantity:
            raise ValidationError(
                f"the consent names {named} items, more than its quantity ({quantity}): name "
                "only the items it covers, or give the quantity they make",
                "quantity",
            )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewConsent:
        return NewConsent(**{**data, "item_ids": tuple(dict.fromkeys(data["item_ids"]))})


class DeliveryVerificationIn(Schema):
    verified_on = day_of("a verification", required=True)
    verifying_authority = ShownText(required=True, max_length=300)
    country = CountryCode(required=True)
    notes = optional_shown_text(2000)
    item_ids = fields.List(
        Uuid(), load_default=list, validate=validate.Length(max=MAX_ITEMS_PER_EVENT)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewDeliveryVerification:
        return NewDeliveryVerification(
            **{**data, "item_ids": tuple(dict.fromkeys(data["item_ids"]))}
        )


class PartyVerificationIn(Schema):
    verified_on = day_of("a verification", required=True)
    method = ShownText(required=True, max_length=300)
    notes = optional_shown_text(2000)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NewPartyVerification:
        return NewPartyVerification(**data)


class EucVerifyQuery(Schema):
    certificate_number = Marking(required=True, max_length=100)
    issuing_country = CountryCode(required=True)
