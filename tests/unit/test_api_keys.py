"""API keys: their format, their randomness, and how a presented key is checked."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import api_keys
from service.domain.api_keys import generate_key, hash_key, key_matches, prefix_of

PROPERTY = settings(max_examples=100, deadline=None, database=None)

PREFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: nothing to misread
URLSAFE_ALPHABET = string.ascii_letters + string.digits + "-_"
KEY_FORMAT = re.compile(rf"trk_([{PREFIX_ALPHABET}]{{8}})_([A-Za-z0-9_-]+)")

prefixes = st.text(st.sampled_from(PREFIX_ALPHABET), min_size=8, max_size=8)
secret_parts = st.text(st.sampled_from(URLSAFE_ALPHABET), min_size=1, max_size=64)


# generate_key -------------------------------------------------------------------------------------


def test_a_generated_key_has_the_documented_format() -> None:
    key = generate_key()
    match = KEY_FORMAT.fullmatch(key.plaintext)
    assert match is not None, key.plaintext
    assert match.group(1) == key.prefix
    # token_urlsafe(32): 32 random bytes, base64url without padding.
    assert len(match.group(2)) == 43


def test_the_secret_carries_at_least_256_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[int | None] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        requested.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(api_keys.secrets, "token_urlsafe", spy)
    key = generate_key()
    assert requested and all(n is not None and n * 8 >= 256 for n in requested)
    secret = key.plaintext.split("_", 2)[2]
    # 43 base64url characters hold 258 bits; fewer could not carry 256.
    assert len(secret) * 6 >= 256
    assert set(secret) <= set(URLSAFE_ALPHABET)


def test_only_the_sha256_of_the_whole_key_is_kept() -> None:
    key = generate_key()
    assert key.secret_hash == hashlib.sha256(key.plaintext.encode()).digest()
    assert key.secret_hash == hash_key(key.plaintext)
    assert len(key.secret_hash) == 32  # what the api_keys table's CHECK expects
    assert key.plaintext.encode() not in key.secret_hash


def test_generated_keys_are_unique() -> None:
    keys = [generate_key() for _ in range(2000)]
    assert len({k.plaintext for k in keys}) == len(keys)
    assert len({k.secret_hash for k in keys}) == len(keys)
    assert len({k.plaintext.split("_", 2)[2] for k in keys}) == len(keys)
    # 32**8 = 2**40 prefixes: 2000 keys collide with probability below 2e-6.
    assert len({k.prefix for k in keys}) == len(keys)


def test_prefixes_use_the_whole_alphabet_and_nothing_else() -> None:
    # 4000 draws from 32 characters: the chance that one never appears is below 1e-50.
    seen = set("".join(generate_key().prefix for _ in range(500)))
    assert seen == set(PREFIX_ALPHABET)
    assert not seen & set("lo01_")


# prefix_of ----------------------------------------------------------------------------------------


def test_prefix_of_a_generated_key() -> None:
    for _ in range(200):
        key = generate_key()
        assert prefix_of(key.plaintext) == key.prefix


@PROPERTY
@given(prefixes, secret_parts)
def test_prefix_of_any_well_formed_key(prefix: str, secret: str) -> None:
    # token_urlsafe may put '_' and '-' anywhere in the secret, even first or last.
    assert prefix_of(f"trk_{prefix}_{secret}") == prefix


@pytest.mark.parametrize(
    "secret", ["_", "-", "__", "a_b_c", "_leading", "trailing_", "-_-_-", "x" * 43]
)
def test_underscores_and_hyphens_inside_the_secret(secret: str) -> None:
    assert prefix_of(f"trk_abcdefgh_{secret}") == "abcdefgh"


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "trk",
        "trk_",
        "trk_abcdefgh",
        "trk_abcdefgh_",  # no secret
        "trk__abcdefgh_secret",  # empty prefix
        "trk_abcdefg_secret",  # 7-character prefix
        "trk_abcdefghj_secret",  # 9-character prefix
        "trk_abcdefg_h_secret",  # an underscore inside the prefix
        "trk_abc\x00efgh_secret",  # a NUL byte: looked up, the database refused it (a 400)
        "trk_ABCDEFGH_secret",  # not the prefixes' alphabet
        "trk_abcdefg1_secret",
        "TRK_abcdefgh_secret",  # wrong scheme (case matters)
        "tkr_abcdefgh_secret",
        "sk_abcdefgh_secret",
        "trkabcdefghsecret",
        "trk-abcdefgh-secret",
        " trk_abcdefgh_secret",
        "Bearer trk_abcdefgh_secret",
        "abcdefgh_secret",
    ],
)
def test_prefix_of_rejects_malformed_keys(malformed: str) -> None:
    assert prefix_of(malformed) is None


@PROPERTY
@given(st.text(max_size=80))
def test_prefix_of_any_text_is_none_or_eight_characters(text: str) -> None:
    prefix = prefix_of(text)
    if prefix is not None:
        assert len(prefix) == 8
        assert text.startswith(f"trk_{prefix}_")
        assert len(text) > len(f"trk_{prefix}_")


# key_matches --------------------------------------------------------------------------------------


def test_the_right_key_matches() -> None:
    key = generate_key()
    assert key_matches(key.plaintext, key.secret_hash) is True


def test_another_key_does_not_match() -> None:
    key, other = generate_key(), generate_key()
    assert key_matches(other.plaintext, key.secret_hash) is False
    assert key_matches(key.plaintext, other.secret_hash) is False


def test_a_key_with_the_right_prefix_and_a_wrong_secret_does_not_match() -> None:
    key = generate_key()
    forged = f"trk_{key.prefix}_{secrets.token_urlsafe(32)}"
    assert key_matches(forged, key.secret_hash) is False


@pytest.mark.parametrize("position", [0, 4, 12, 20, -1])
def test_a_key_with_one_character_changed_does_not_match(position: int) -> None:
    key = generate_key()
    chars = list(key.plaintext)
    chars[position] = "A" if chars[position] != "A" else "B"
    assert key_matches("".join(chars), key.secret_hash) is False


def test_truncated_or_extended_keys_do_not_match() -> None:
    key = generate_key()
    for variant in (key.plaintext[:-1], key.plaintext + "x", key.plaintext + "\n", ""):
        assert key_matches(variant, key.secret_hash) is False


@pytest.mark.parametrize("plaintext", ["", "trk_abcdefgh_secret", "no such key", "x" * 100])
def test_nothing_matches_when_no_key_has_the_prefix(plaintext: str) -> None:
    # "no such key" is the text whose hash stands in for a missing key: it must not match either.
    assert key_matches(plaintext, None) is False


def test_a_generated_key_does_not_match_a_missing_hash() -> None:
    assert key_matches(generate_key().plaintext, None) is False


@PROPERTY
@given(st.text(max_size=80), st.binary(min_size=32, max_size=32))
def test_key_matches_only_its_own_hash(plaintext: str, stored: bytes) -> None:
    assert key_matches(plaintext, stored) is (stored == hash_key(plaintext))
    assert key_matches(plaintext, hash_key(plaintext)) is True
