"""A marshmallow schema's happy path, compiled for bulk imports.

marshmallow spent about half of an import's time reading records (an event took 65 µs). A
`CompiledSchema` is built from the schema's own declarations (its fields, their validators,
its schema validators and its `post_load`), checks a document with plain Python, and calls the
schema's own hooks to make the record. It answers None for anything it is not certain the schema
would load without a problem: then the schema itself loads the document and says what is wrong.
So a compiled schema never accepts what its schema refuses, never makes another record, and
never has to word an error. tests/unit/test_compiled_schemas.py holds it to that with hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, validate

from service.schemas.fields import (
    ISO_DATE,
    Choice,
    CountryCode,
    IsoDate,
    StrictInteger,
    Text,
    refused_character,
)

# What a checker answers for a value the schema may refuse (None is a value: JSON null).
UNSURE: Any = object()
Check = Callable[[Any, frozenset[str]], Any]

_HOOKS_CALLED = {"validates_schema", "post_load"}


class NotCompilable(Exception):
    """The schema declares something the compiler does not know (it is then always used)."""


class CompiledSchema:
    def __init__(self, schema: Schema) -> None:
        unknown_hooks = set(schema._hooks) - _HOOKS_CALLED
        if unknown_hooks:
            raise NotCompilable(f"hooks {sorted(unknown_hooks)}")
        self.checks = {name: _field_check(field) for name, field in schema.load_fields.items()}
        # (name, default, whether the default is a factory) of each field that may be left out
        self.defaults = [
            (name, field.load_default, callable(field.load_default))
            for name, field in schema.load_fields.items()
            if not field.required and field.load_default is not missing
        ]
        self.required = frozenset(self.checks) - {name for name, _, _ in self.defaults}
        self.validators = [
            getattr(schema, name) for name, _, _ in schema._hooks.get("validates_schema", [])
        ]
        (post_load,) = schema._hooks["post_load"]
        self.make = getattr(schema, post_load[0])

    def load(self, document: Mapping[str, Any], countries: frozenset[str]) -> Any:
        """The record the schema would make of the document, or None when unsure."""
        checks = self.checks
        data: dict[str, Any] = {}
        for name, value in document.items():
            check = checks.get(name)
            if check is None:
                return None  # an unknown field
            checked = check(value, countries)
            if checked is UNSURE:
                return None
            data[name] = checked
        if not self.required <= data.keys():
            return None
        for name, default, factory in self.defaults:
            if name not in data:
                data[name] = default() if factory else default
        try:
            for validator in self.validators:
                validator(data)
        except ValidationError:
            return None
        return self.make(data)


def _field_check(field: fields.Field[Any]) -> Check:
    if field.pre_load or field.post_load or field.data_key is not None:
        raise NotCompilable(f"field {field.name}: per-field hooks or a data key")
    check = _value_check(field)
    if field.allow_none:
        return lambda value, countries: None if value is None else check(value, countries)
    return lambda value, countries: UNSURE if value is None else check(value, countries)


def _value_check(field: fields.Field[Any]) -> Check:
    """The field's deserialisation and validators for a value that is not None."""
    if isinstance(field, Text):
        length = _only(field, validate.Length)
        assert length is not None and length.equal is None
        return _text_check(length.min or 0, length.max, field.refine)
    if isinstance(field, Choice):
        one_of = _only(field, validate.OneOf)
        assert one_of is not None
        choices = frozenset(one_of.choices)
        return lambda value, _: value if isinstance(value, str) and value in choices else UNSURE
    if isinstance(field, CountryCode):
        _only(field, None)
        return lambda value, countries: (
            value if isinstance(value, str) and value in countries else UNSURE
        )
    if isinstance(field, StrictInteger):
        bounds = _only(field, validate.Range)
        assert bounds is not None and bounds.min_inclusive and bounds.max_inclusive
        low, high = bounds.min, bounds.max
        return lambda value, _: (
            value
            if type(value) is int
            and (low is None or value >= low)
            and (high is None or value <= high)
            else UNSURE
        )
    if type(field) is IsoDate and field.format in (None, "iso"):
        _only(field, None)
        return _date_check
    if isinstance(field, fields.List):
        nested = isinstance(field.inner, fields.Nested)
        return _list_check(
            None if nested else _field_check(field.inner), _only(field, validate.Length)
        )
    raise NotCompilable(f"field {field.name}: {type(field).__name__}")


def _only(field: fields.Field[Any], kind: type[Any] | None) -> Any:
    """The field's validator, of the one kind the compiler expects there (None: no validator)."""
    validators = list(field.validators)
    if not validators:
        return None
    if kind is not None and len(validators) == 1 and type(validators[0]) is kind:
        return validators[0]
    raise NotCompilable(f"field {field.name}: validators {validators}")


def _text_check(shortest: int, longest: int | None, refine: Callable[[str], str]) -> Check:
    """Text's own steps (Text._deserialize, then its length), the field's rule (`refine`: a
    Marking's letter or digit, a registration number's key, a ShownText's format characters) as
    the field itself runs it."""

    def check(value: Any, _: frozenset[str]) -> Any:
        if type(value) is not str or refused_character(value):
            return UNSURE
        try:
            text = refine(value.strip())
        except ValidationError:
            return UNSURE
        if len(text) < shortest or (longest is not None and len(text) > longest):
            return UNSURE
        return text

    return check


def _date_check(value: Any, _: frozenset[str]) -> Any:
    if type(value) is not str or not ISO_DATE.fullmatch(value):
        return UNSURE
    try:
        return date.fromisoformat(value)
    except ValueError:
        return UNSURE


def _list_check(inner: Check | None, length: validate.Length | None) -> Check:
    """A list of values the inner check takes (a list of nested records only when empty)."""
    shortest = (length.min or 0) if length else 0
    longest = length.max if length else None

    def check(value: Any, countries: frozenset[str]) -> Any:
        if type(value) is not list or len(value) < shortest:
            return UNSURE
        if longest is not None and len(value) > longest:
            return UNSURE
        if inner is None:
            return [] if not value else UNSURE
        checked = [inner(each, countries) for each in value]
        return UNSURE if any(each is UNSURE for each in checked) else checked

    return check
