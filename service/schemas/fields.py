"""Field types shared by the input schemas: strict, stripped, and checked against the registry's
reference tables (the countries reach them through `InputContext`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypedDict

from marshmallow import Schema, ValidationError, fields, validate
from marshmallow.experimental.context import Context

from service.domain import dates
from service.domain.registrations import NEEDS_MORE_THAN_SEPARATORS, registration_key
from service.domain.serials import fold_serial
from service.domain.text import KEPT_FORMAT_CHARACTERS
from service.errors import FieldError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


# An integer in a query string as the contract's `type: integer` reads it: ASCII digits, perhaps
# signed. int(), which marshmallow uses, also reads "1_0", " 5\n" and the digits of other scripts
# (U+0662 for 2): each was a page size.
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class QueryInteger(fields.Integer):
    """An integer of a query string, written as WHOLE_NUMBER allows, and no other way."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not WHOLE_NUMBER.fullmatch(value):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


class QueryBoolean(fields.Boolean):
    """A boolean of a query string, spelt `true` or `false` as the contract writes it (marshmallow
    would take `1`, `yes`, `on` and `TRUE`, and a client's typo of another word as well)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value == "true":
            return True
        if value == "false":
            return False
        raise ValidationError("Not a valid boolean: write true or false.")


class Page(Schema):
    """The query of a cursor-paged list: how many, and where the page starts."""

    limit = QueryInteger(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(1, MAX_PAGE_SIZE))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


def check_ordered(data: Mapping[str, Any], start: str, end: str) -> None:
    """Refuse a range whose end comes before its start (naming the end): swapped by mistake, it
    would list nothing, which reads as "nothing then"."""
    first, last = data.get(start), data.get(end)
    if first is not None and last is not None and last < first:
        raise ValidationError(f"{end} is before {start}", end)


class ReferenceData(TypedDict):
    countries: frozenset[str]


InputContext = Context[ReferenceData]


# C0 controls but tab, line feed and carriage return; DEL; C1 controls: PostgreSQL cannot store
# NUL, and ESC or CSI kept in a name would reach an investigator's terminal raw through curl. And
# Unicode's noncharacters (U+FDD0-U+FDEF and the last two code points of every plane: kept for a
# program's own use, never to be interchanged; U+FFFE is a byte-order mark read the wrong way
# round).
CONTROL_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)
# The same for ASCII text, nearly every field: a fifth of the time of the whole class.
_ASCII_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refused_character(text: str) -> re.Match[str] | None:
    """The first character that no text field takes (CONTROL_CHARACTERS), if any."""
    return (_ASCII_CONTROL_CHARACTERS if text.isascii() else CONTROL_CHARACTERS).search(text)


# What ends a line, and a tab: a one-line field holds none of them.
_LINE_BREAKS = frozenset("\t\n\r\u2028\u2029")
ONE_LINE = "must be one line (no tab, line feed, carriage return, line or paragraph separator)"


def on_one_line(text: str) -> str:
    """The text, when it holds no line break or tab (_LINE_BREAKS); ValidationError otherwise.
    An identifier or a reference on two lines read as another in the text report (which shows
    line breaks as spaces), and X-Case-Reference, a header, could never name that case."""
    if text.isascii():
        # Nearly every value: three scans in C (40 ns for a 30-character reference), a fifth of
        # the time of the set's isdisjoint, which steps through the text in Python objects.
        broken = "\n" in text or "\r" in text or "\t" in text
    else:
        broken = not _LINE_BREAKS.isdisjoint(text)
    if broken:
        raise ValidationError(ONE_LINE)
    return text


BLANK = "must not be blank"


class Text(fields.String):
    """A string without control characters (but line breaks and tabs) or noncharacters,
    stripped, not blank, with a maximum length; with `one_line`, or in a subclass that sets
    it, without line breaks or tabs either (an identifier, a reference, a name)."""

    one_line = False

    def __init__(self, *, max_length: int = 200, one_line: bool = False, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)
        self.one_line = one_line or self.one_line

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs))
        refused = refused_character(text)
        if refused:
            character = ord(refused.group())
            kind = "a control character" if character <= 0x9F else "a noncharacter"
            raise ValidationError(f"must not contain U+{character:04X}, {kind}")
        text = text.strip()
        if not text:
            # said before the length's "between 1 and ...", which reads as if "   " were empty
            # by mistake of counting, and before a subclass's rule for what the text must hold
            raise ValidationError(BLANK)
        return self.refine(text)

    def refine(self, text: str) -> str:
        """What the field makes of the stripped text; ValidationError when it refuses it. The
        compiled import schemas call it too (service.schemas.compiled), so that they never
        take what the field refuses."""
        return on_one_line(text) if self.one_line else text


class Marking(Text):
    """Text that must keep at least one letter or digit once normalised (serials, names)."""

    def refine(self, text: str) -> str:
        text = super().refine(text)
        if not fold_serial(text):
            raise ValidationError("needs at least one letter or digit")
        return text


def shown_to_others(text: str) -> str:
    """The text in NFC, as other agencies are to read what an agency records; ValidationError
    when it holds a format character other than KEPT_FORMAT_CHARACTERS."""
    if text.isascii() or (text.isprintable() and unicodedata.is_normalized("NFC", text)):
        # Nearly every record and trace: ASCII, or (a Cyrillic serial, an Arabic name without
        # marks) NFC already and printable, which no format character is. Both checks run in C;
        # the loop below costs a Python step per character.
        return text
    text = unicodedata.normalize("NFC", text)
    for character in text:
        if unicodedata.category(character) == "Cf" and character not in KEPT_FORMAT_CHARACTERS:
            raise ValidationError(
                f"must not contain U+{ord(character):04X}, an invisible or reordering format "
                "character (only the direction marks U+200E, U+200F and U+061C and the joiners "
                "U+200C and U+200D are kept)"
            )
    return text


class ShownText(Text):
    """Text of a record that other agencies read (an address, a description, notes): stored in
    NFC, with no format character that hides text or shows it in another order
    (shown_to_others). A right-to-left override once made a record read as another."""

    def refine(self, text: str) -> str:
        return shown_to_others(super().refine(text))


class ShownMarking(Marking):
    """A Marking of a record that other agencies read (a serial, a manufacturer, a model, a
    certificate's number), held to ShownText's rule, on one line."""

    one_line = True

    def refine(self, text: str) -> str:
        return super().refine(shown_to_others(text))


class PartyName(ShownText):
    """A party's name, as every agency reads it in chains, certificates and findings: ShownText
    on one line, with at least one visible character (a letter, a number or a symbol). A name of
    format characters or spaces alone showed as nothing at all."""

    one_line = True
    # What a name must hold, in the refusal's words (AgencyName asks for more, in its own).
    needs = "at least one letter, number or symbol"

    def holds_enough(self, text: str) -> bool:
        return any(unicodedata.category(character)[0] in "LNS" for character in text)

    def refine(self, text: str) -> str:
        text = super().refine(text)
        if not self.holds_enough(text):
            raise ValidationError(f"needs {self.needs}")
        return text


class SoughtText(Text):
    """Text a filter compares with a ShownText as stored (a trace's case reference): in NFC, so
    that it finds the record however its accents were typed. It refuses nothing more than Text
    (a line break neither), so that a value stored before ShownText or the one-line rule held it
    can still be asked for: the audit trail, a hash chain, keeps such a case reference as it was
    written."""

    def refine(self, text: str) -> str:
        return text if text.isascii() else unicodedata.normalize("NFC", text)


def optional_shown_text(max_length: int = 200, *, one_line: bool = False) -> ShownText:
    return ShownText(max_length=max_length, one_line=one_line, load_default=None, allow_none=True)


class RegistrationNumber(ShownText):
    """A party's registration number, held to ShownText's rule, which must keep something once
    its spaces and separators are dropped (its identity key: service.domain.registrations), on
    one line."""

    one_line = True

    def refine(self, text: str) -> str:
        text = super().refine(text)
        if not registration_key(text):
            raise ValidationError(NEEDS_MORE_THAN_SEPARATORS)
        return text


# The contract's `format: date` (RFC 3339's full-date). Python's date.fromisoformat, which
# marshmallow uses, also reads week dates ("2012-W01-1") and "20120102".
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class IsoDate(fields.Date):
    """A calendar date written YYYY-MM-DD, and no other way."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class WithinTheSpan(validate.Validator):
    """A day within the registry's span (service.domain.dates): not before its first day, nor in
    the future; `what` names the act dated (a consent, a seizure) in the refusal."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, value: date) -> date:
        if value < dates.EARLIEST:
            raise ValidationError(dates.TOO_EARLY)
        if value > dates.latest(datetime.now(UTC).date()):
            raise ValidationError(f"{self.what} cannot be recorded before it happens")
        return value


def day_of(what: str, **kwargs: Any) -> IsoDate:
    """The day of an act the registry records (`what`: "a consent"), held to its span."""
    return IsoDate(validate=WithinTheSpan(what), **kwargs)


# An ISO 8601 time as the contract's `format: date-time` reads it: a day, or a day and a time
# (seconds and fractions optional) with an offset or none (UTC then); not the week dates and
# compact forms that datetime.fromisoformat also reads.
ISO_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)


class IsoDateTime(fields.AwareDateTime):
    """A time written as ISO_DATE_TIME allows, in UTC when it names no offset."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not ISO_DATE_TIME.fullmatch(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        # RFC 3339 allows a lowercase "z", which datetime.fromisoformat refuses.
        return super()._deserialize(value.upper(), attr, data, **kwargs)


# The contract's `format: uuid`, as the paths' converter reads an id: hyphenated hex. Python's
# UUID, which marshmallow uses, also reads one in braces, after "urn:uuid:" or without hyphens.
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


class Uuid(fields.UUID):
    """A UUID written as UUID_TEXT allows, and no other way."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not UUID_TEXT.fullmatch(value):
            raise self.make_error("invalid_uuid")
        return super()._deserialize(value, attr, data, **kwargs)


class Choice(fields.String):
    """One of a fixed set of upper-case codes, exactly as the contract lists them."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(validate=validate.OneOf(choices), **kwargs)


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 code (upper-case) recorded in the `countries` table."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = str(super()._deserialize(value, attr, data, **kwargs))
        if code not in InputContext.get()["countries"]:
            raise ValidationError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return code


class StrictInteger(fields.Integer):
    """A JSON integer, written as one: 2.0 (which JSON Schema counts as the integer 2) is
    refused, as are true, 2.5 and "2". A year of manufacture sent as 2000.0 was stored as 2000:
    a number written with a point or an exponent is a float in the sender's data (a spreadsheet's
    column, a conversion), and its sender is told so rather than have it taken as another."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, float):
            if not _beyond_64_bits(value):
                raise ValidationError(_not_whole(value))
            # orjson reads a whole number of more than 64 bits as a float: its sender is told
            # it is out of the field's range, not to leave out a point it did not write.
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        return int(super()._deserialize(value, attr, data, **kwargs))


def _beyond_64_bits(value: float) -> bool:
    """Whether orjson may have read the number from one written whole (below -2**63 or above
    2**64 - 1). One written with a point or an exponent is not told apart so far out: either is
    out of every field's range (each StrictInteger has one), and refused as that."""
    return value.is_integer() and abs(value) >= 2**63


def _not_whole(value: float) -> str:
    """Why a number with a point or an exponent is no integer, for its sender."""
    if value.is_integer() and abs(value) < 1e15:  # shown whole only while it is short
        return f"Not a valid integer: write {int(value)}, without a decimal point or exponent."
    return "Not a valid integer: a whole number is needed, without a decimal point or exponent."


class StrictBoolean(fields.Boolean):
    """JSON true or false, nothing else (marshmallow would take 1, "yes" and "on")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


def year(**kwargs: Any) -> StrictInteger:
    return StrictInteger(validate=validate.Range(1800, 2100), **kwargs)


def optional_text(max_length: int = 200, *, one_line: bool = False) -> Text:
    return Text(max_length=max_length, one_line=one_line, load_default=None, allow_none=True)


def field_errors(messages: Any, location: str, path: str = "") -> Iterator[FieldError]:
    """marshmallow's nested messages as one FieldError per field; nested paths are JSON Pointer
    segments joined by "/" (RFC 6901 escaping, since unknown field names come from the client)."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            segment = str(key).replace("~", "~0").replace("/", "~1")
            child = path if key == "_schema" else f"{path}/{segment}" if path else segment
            yield from field_errors(value, location, child)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield FieldError(location, path, " ".join(messages))
    elif isinstance(messages, list):
        for message in messages:
            yield from field_errors(message, location, path)
    else:
        yield FieldError(location, path, str(messages))
