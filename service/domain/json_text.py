"""A JSON text as the service reads it, from a request's body or an NDJSON import's line: orjson,
with what its own errors leave unsaid (which byte is not UTF-8; a whole number too large for a
float) said in words a sender can act on. No Flask here: service.api.requests and
service.domain.imports both read through it."""

from __future__ import annotations

import json
from typing import Any

import orjson


def undecodable_byte(raw: bytes, whose: str) -> str | None:
    """Where `raw` is not UTF-8, which byte and where ("not UTF-8 text (byte 0xFF, the line's
    byte 3)", `whose` naming the text); None for UTF-8. orjson's own words ("str is not valid
    UTF-8: surrogates not allowed: line 1 column 1") name neither."""
    try:
        raw.decode()
    except UnicodeDecodeError as undecodable:
        byte = raw[undecodable.start]
        return f"not UTF-8 text (byte 0x{byte:02X}, {whose} byte {undecodable.start + 1:,})"
    return None


def loads(raw: bytes) -> Any:
    """A JSON text as orjson reads it, and one holding a whole number orjson cannot read: it
    reads one of more than 64 bits as a float, that StrictInteger tells from one written with a
    point, and refuses the whole text when the number is beyond a double ("number is infinity
    when parsed as double"), for a number written out long. That text is read again by `json`,
    the number as one beyond any field's range: it is refused as out of range, which the sender
    can act on. orjson.JSONDecodeError for a text neither reads."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not exc.msg.startswith("number is infinity"):
            raise
        try:
            # Only a text refused anyway is read here (no field takes such a number), so what
            # `json` reads and orjson does not (NaN, lone surrogates) is never stored.
            return json.loads(
                raw.decode(), parse_int=_whole, parse_float=_finite, parse_constant=_no_constant
            )
        except ValueError:  # a number written with an exponent, or the text is not JSON
            raise exc from None


# What a whole number too long for int() (4,300 digits at most) is read as: larger than any
# integer a field takes, of its sign.
BEYOND_64_BITS = 2**64


def _whole(text: str) -> int:
    if len(text) <= 20:
        return int(text)
    return -BEYOND_64_BITS if text.startswith("-") else BEYOND_64_BITS


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _no_constant(text: str) -> float:
    raise ValueError(text)
