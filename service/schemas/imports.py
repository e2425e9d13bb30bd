"""Input schemas of bulk imports: one record per NDJSON line or CSV row, as the single-record
POST bodies take them, but referring to other records by the sender's own reference keys.

    {"record_type": "party", "ref": "P-17", "name": ..., "kind": ..., "country": ...}
    {"record_type": "item",  "ref": "I-9", "manufacturer": ..., "serial_number": ..., ...}
    {"record_type": "euc",   "ref": "C-2", "end_user_party_ref": "P-17", "line_items": [...]}
    {"record_type": "event", "ref": "E-5", "item_refs": ["I-9"], "to_party_ref": "P-17", ...}

A reference names a record of the same file or of an earlier import by the same agency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from service.domain import custody
from service.domain.imports import LINE_COLUMNS, Columns
from service.domain.inputs import NewEuc, NewEvent, NewItem, NewParty
from service.schemas.compiled import CompiledSchema, NotCompilable
from service.schemas.fields import Choice, Page, Text
from service.schemas.registry import (
    MAX_ITEMS_PER_EVENT,
    EucIn,
    EucLineIn,
    EventIn,
    ItemIn,
    PartyIn,
)

RECORD_TYPES = ("party", "item", "euc", "event")
MAX_REFERENCE_LENGTH = 200
_ID_BITS = (1 << 128) - 1


def reference(**kwargs: Any) -> Text:
    return Text(max_length=MAX_REFERENCE_LENGTH, **kwargs)


def stand_in(ref: str | None) -> uuid.UUID | None:
    """An id standing for a reference while the event rules are checked: the same reference gives
    the same id (so "the receiving party must differ from the sender" still holds); it is never
    stored."""
    return None if ref is None else uuid.UUID(int=hash(ref) & _ID_BITS)


@dataclass(frozen=True)
class PartyRecord:
    ref: str
    party: NewParty


@dataclass(frozen=True)
class ItemRecord:
    ref: str
    item: NewItem


@dataclass(frozen=True)
class EucRecord:
    ref: str
    euc: NewEuc
    exporter_party_ref: str | None
    end_user_party_ref: str


@dataclass(frozen=True)
class EventRecordIn:
    ref: str
    event: NewEvent
    item_refs: tuple[str, ...]
    from_party_ref: str | None
    to_party_ref: str | None
    owner_party_ref: str | None
    euc_ref: str | None


ImportedRecord = PartyRecord | ItemRecord | EucRecord | EventRecordIn


def _take_reference(data: dict[str, Any]) -> str:
    """The record's reference, taken out of its fields with its record type (the fields left
    are those of the single-record POST, which that schema's own make() turns into a record)."""
    data.pop("record_type")
    ref: str = data.pop("ref")
    return ref


class PartyImport(PartyIn):
    record_type = Choice(("party",), required=True)
    ref = reference(required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PartyRecord:
        ref = _take_reference(data)
        return PartyRecord(ref, PartyIn.make(self, data))


class ItemImport(ItemIn):
    record_type = Choice(("item",), required=True)
    ref = reference(required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ItemRecord:
        ref = _take_reference(data)
        return ItemRecord(ref, ItemIn.make(self, data))


class EucImport(EucIn):
    record_type = Choice(("euc",), required=True)
    ref = reference(required=True)
    exporter_party_ref = reference(load_default=None, allow_none=True)
    end_user_party_ref = reference(required=True)

    class Meta:
        exclude = ("exporter_party_id", "end_user_party_id")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EucRecord:
        ref = _take_reference(data)
        exporter = data.pop("exporter_party_ref")
        end_user = data.pop("end_user_party_ref")
        certificate = EucIn.make(self, {**data, "end_user_party_id": stand_in(end_user)})
        return EucRecord(ref, certificate, exporter, end_user)


def _as_imported(text: str) -> str:
    """A field of POST /v1/events named as an import file names it (a reference for an id)."""
    return text.replace("_party_id", "_party_ref").replace("euc_id", "euc_ref")


class EventImport(EventIn):
    record_type = Choice(("event",), required=True)
    ref = reference(required=True)
    item_refs = fields.List(
        reference(), required=True, validate=validate.Length(1, MAX_ITEMS_PER_EVENT)
    )
    from_party_ref = reference(load_default=None, allow_none=True)
    to_party_ref = reference(load_default=None, allow_none=True)
    owner_party_ref = reference(load_default=None, allow_none=True)
    euc_ref = reference(load_default=None, allow_none=True)

    class Meta:
        # A correction names the event it corrects by our id: record it with POST /v1/events.
        exclude = (
            "item_ids", "from_party_id", "to_party_id", "owner_party_id", "euc_id", "corrects",
        )  # fmt: skip

    def items_unique(self, value: list[Any] | None, **_: Any) -> None:
        """Replaced by refs_unique (the parent's check is on item_ids)."""

    def follows_event_rules(self, data: dict[str, Any], **_: Any) -> None:
        """Replaced by rules_hold (the parent's check reads ids)."""

    @validates_schema
    def refs_unique(self, data: dict[str, Any], **_: Any) -> None:
        refs = data.get("item_refs") or []
        if len(refs) != len(set(refs)):
            raise ValidationError("an item can appear only once in an event", "item_refs")

    @validates_schema
    def rules_hold(self, data: dict[str, Any], **_: Any) -> None:
        # Kept for make(): the rules and the record read the same event.
        data["_event"] = event = self._event(data)
        draft = custody.EventDraft.of(event)
        problems = custody.event_problems(draft, today=datetime.now(UTC).date())
        if problems:
            messages: dict[str, list[str]] = {}
            for problem in problems:
                # the detail too: "a certificate line needs the certificate (euc_id)" named a
                # field no import file has
                messages.setdefault(_as_imported(problem.field), []).append(
                    _as_imported(problem.detail)
                )
            raise ValidationError(messages)

    def _event(self, data: dict[str, Any]) -> NewEvent:
        kept = {
            key: value
            for key, value in data.items()
            if key not in {"ref", "record_type", "item_refs", "from_party_ref", "to_party_ref",
                           "owner_party_ref", "euc_ref", "_event"}
        }  # fmt: skip
        event: NewEvent = EventIn.make(
            self,
            {
                **kept,
                "item_ids": [stand_in(ref) or uuid.UUID(int=0) for ref in data["item_refs"]],
                "from_party_id": stand_in(data["from_party_ref"]),
                "to_party_id": stand_in(data["to_party_ref"]),
                "owner_party_id": stand_in(data["owner_party_ref"]),
                "euc_id": stand_in(data["euc_ref"]),
            },
        )
        return event

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EventRecordIn:
        return EventRecordIn(
            ref=data["ref"],
            event=data.get("_event") or self._event(data),
            item_refs=tuple(data["item_refs"]),
            from_party_ref=data["from_party_ref"],
            to_party_ref=data["to_party_ref"],
            owner_party_ref=data["owner_party_ref"],
            euc_ref=data["euc_ref"],
        )


SCHEMAS: dict[str, Schema] = {
    "party": PartyImport(),
    "item": ItemImport(),
    "euc": EucImport(),
    "event": EventImport(),
}


def _columns(kind: str, schema: Schema) -> Columns:
    """The CSV columns of a record type: its schema's fields (a certificate's line items as the
    line_* columns of each of its rows), `record_type` allowed but not required (the query
    names it)."""
    named = {name: field.required for name, field in schema.load_fields.items()}
    del named["record_type"]
    named = {"ref": named.pop("ref"), **named}  # listed first, as files are written
    if kind == "euc":
        del named["line_items"]
        lines = EucLineIn().load_fields
        named |= {column: lines[name].required for column, name in LINE_COLUMNS.items()}
    named["record_type"] = False
    return Columns(tuple(named), tuple(name for name, required in named.items() if required))


# The columns a CSV file of each record type may and must name (its header is checked once).
CSV_COLUMNS: dict[str, Columns] = {kind: _columns(kind, schema) for kind, schema in SCHEMAS.items()}


def _compiled(schema: Schema) -> CompiledSchema | None:
    try:
        return CompiledSchema(schema)
    except NotCompilable:
        return None


# The happy path of each record type's schema, where it compiles (a certificate's nested line
# items do not: certificates are few, and their schema reads them).
COMPILED: dict[str, CompiledSchema] = {
    kind: compiled for kind, schema in SCHEMAS.items() if (compiled := _compiled(schema))
}


class ImportQuery(Schema):
    record_type = Choice(RECORD_TYPES, load_default=None)


class ImportListQuery(Page):
    status = Choice(("QUEUED", "RUNNING", "COMPLETED", "FAILED"), load_default=None)
