"""Webhook deliveries: how they are signed, where they may go, and when a failed one is retried.

A receiver checks `X-Trace-Registry-Signature: t=<unix seconds>,v1=<hex>` by computing
HMAC-SHA256 with its secret over `<t>.<body>` and comparing in constant time; `t` lets it refuse
old replays. `X-Trace-Registry-Delivery` carries the delivery's id, the same on every retry, so
that a receiver can drop duplicates (delivery is at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Trace-Registry-Signature"
DELIVERY_HEADER = "X-Trace-Registry-Delivery"
FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 6 * 3600


def new_secret() -> str:
    """A signing secret, shown once to the agency that registers the webhook."""
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def signature_matches(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check (used by the tests, and as the reference for receivers)."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        expected = signature(secret, int(parts["t"]), body)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, header)


def retry_in_seconds(attempts: int) -> int:
    """Exponential back-off after `attempts` failures: 30 s, 1 min, 2 min, ... at most 6 hours.
    A delivery is never given up: it is kept until delivered."""
    return int(min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS))


def url_problem(url: str, allow_http: bool) -> str | None:
    """Why a URL cannot take deliveries, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, say, or a host that NFKC makes a path
        return "not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return f"a webhook URL must use {' or '.join(schemes)}"
    if any(character.isspace() for character in url):
        return "a webhook URL must not contain spaces"
    if not host:
        return "a webhook URL needs a host"
    if parts.username or parts.password:
        return "a webhook URL must not carry credentials"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "a webhook URL's port must be a number from 1 to 65535"
    return None


def canonical_url(url: str) -> str:
    """The URL with its scheme in lower case, as stored (a scheme is case-insensitive:
    `HTTPS://` is `https://`)."""
    scheme, colon, rest = url.partition(":")
    return scheme.lower() + colon + rest
