"""Opaque, signed pagination cursors.

A cursor carries the last key of a page and a fingerprint of the filters it was made for, signed
with the service's secret: a client can neither forge a position nor reuse a cursor with other
filters. No total counts are computed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from uuid import UUID

import orjson

from service.errors import InvalidInput


def _fingerprint(filters: Mapping[str, object]) -> str:
    canonical = orjson.dumps(dict(filters), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]


def encode(secret: str, after: UUID, filters: Mapping[str, object]) -> str:
    payload = orjson.dumps({"after": str(after), "filters": _fingerprint(filters)})
    token = payload + _sign(secret, payload)
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def decode(secret: str, cursor: str, filters: Mapping[str, object]) -> UUID:
    """The key a cursor points after; InvalidInput for anything forged, damaged or misused."""
    try:
        # validate=True: one cursor, one spelling (no ignored characters, no other alphabet).
        padded = cursor + "=" * (-len(cursor) % 4)
        token = base64.b64decode(padded, altchars=b"-_", validate=True)
        if "+" in cursor or "/" in cursor or "=" in cursor:
            raise ValueError("not the URL-safe alphabet without padding")
        payload, signature = token[:-16], token[-16:]
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            raise ValueError("bad signature")
        content = orjson.loads(payload)
        after = UUID(content["after"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput.for_field("query", "cursor", "this cursor is not valid") from exc
    if content.get("filters") != _fingerprint(filters):
        raise InvalidInput.for_field(
            "query", "cursor", "this cursor was made for other filters; start again without it"
        )
    return after
