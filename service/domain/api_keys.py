"""API keys: how they are made, shown and checked. Pure functions; storage is the repository's.

A key looks like `trk_<prefix>_<secret>`. The prefix (8 characters) is public: it identifies the key
in listings and audit entries. The secret carries 256 bits of randomness. Only the SHA-256 of the
whole key is stored; a slow hash would add nothing against guessing a 256-bit secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

KEY_SCHEME = "trk"
SCOPES = ("trace:read", "registry:write", "registry:admin")
DEFAULT_SCOPES = ("trace:read", "registry:write")
_PREFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
# Compared against when a prefix is unknown, so that an unknown key costs as much as a wrong one.
_UNKNOWN_KEY_HASH = hashlib.sha256(b"no such key").digest()


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret_hash: bytes
    plaintext: str


def generate_key() -> NewKey:
    """A fresh key; `plaintext` must be shown once and never stored."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, secret_hash=hash_key(plaintext), plaintext=plaintext)


def hash_key(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode()).digest()


def prefix_of(plaintext: str) -> str | None:
    """The public prefix of a well-formed key, or None for anything else."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not is_prefix(parts[1]) or not parts[2]:
        return None
    return parts[1]


def is_prefix(text: str) -> bool:
    """Whether `text` could be a key's prefix (generate_key's alphabet and length)."""
    return len(text) == 8 and all(character in _PREFIX_ALPHABET for character in text)


def status_of(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """ACTIVE, EXPIRED or REVOKED at `now` (a revoked key stays REVOKED after it expires)."""
    if revoked_at is not None:
        return "REVOKED"
    if expires_at is not None and expires_at <= now:
        return "EXPIRED"
    return "ACTIVE"


def key_matches(plaintext: str, stored_hash: bytes | None) -> bool:
    """Constant-time comparison; pass None when no key has the prefix."""
    expected = _UNKNOWN_KEY_HASH if stored_hash is None else stored_hash
    return hmac.compare_digest(hash_key(plaintext), expected) and stored_hash is not None
