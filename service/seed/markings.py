"""Synthetic serial numbers in the formats a tracer meets on real weapons.

Every serial made here is invented. The formats imitate the habits of real markings (letter
prefixes, separators, year digits, Cyrillic letters on Russian arms, plain numbers on guns) so
that the demo exercises serial normalisation and lookup the way real traces do; they do not
reproduce any manufacturer's actual numbering scheme.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from service.domain.serials import normalise_serial

# A style makes one serial from the random source and the year of manufacture.
SerialStyle = Callable[[random.Random, int], str]

# Letters that stamp unambiguously (no I, O, Q).
_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IOQ")
# Cyrillic pairs, spelt with escapes so that no reader mistakes them for Latin: "AK" and "TE"
# drawn with Cyrillic look-alikes (a Latin query finds them), and two pairs with no Latin twin
# (Be El, Zhe De), which only a Cyrillic query finds.
CYRILLIC_AK = "\u0410\u041a"
_CYRILLIC_PREFIXES = (CYRILLIC_AK, CYRILLIC_AK, "\u0422\u0415", "\u0411\u041b", "\u0416\u0414")


def unique_serials(rng: random.Random, style: SerialStyle, year: int, count: int) -> list[str]:
    """`count` serials of one style that stay distinct once normalised (the registry's identity is
    the normalised serial, per manufacturer and model)."""
    made: dict[str, str] = {}
    while len(made) < count:
        serial = style(rng, year)
        made.setdefault(normalise_serial(serial), serial)
    return list(made.values())


def _digits(rng: random.Random, width: int) -> str:
    return f"{rng.randrange(10**width):0{width}d}"


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(_LETTERS) for _ in range(count))


def letters_then_digits(rng: random.Random, year: int) -> str:
    """Three letters and three digits ("BKT512"), as on many modern pistols."""
    return _letters(rng, 3) + _digits(rng, 3)


def letter_and_six_digits(rng: random.Random, year: int) -> str:
    """A letter and six digits ("E812345")."""
    return _letters(rng, 1) + _digits(rng, 6)


def cyrillic_prefix(rng: random.Random, year: int) -> str:
    """Two Cyrillic letters, the year's last two digits, a number ("AK 11 04217" in Cyrillic)."""
    return f"{rng.choice(_CYRILLIC_PREFIXES)} {year % 100:02d} {_digits(rng, 5)}"


def year_then_cyrillic(rng: random.Random, year: int) -> str:
    """The year's last two digits, two Cyrillic letters, four digits."""
    return f"{year % 100:02d}{rng.choice(_CYRILLIC_PREFIXES)}{_digits(rng, 4)}"


def two_part_numeric(rng: random.Random, year: int) -> str:
    """Two digits, a hyphen, six digits ("27-012345")."""
    return f"{_digits(rng, 2)}-{_digits(rng, 6)}"


def prefixed(prefix: str, width: int, suffix: str = "") -> SerialStyle:
    """A fixed prefix, digits, and an optional fixed suffix ("BER123456Z")."""

    def style(rng: random.Random, year: int) -> str:
        return f"{prefix}{_digits(rng, width)}{suffix}"

    return style


def numeric(width: int) -> SerialStyle:
    """Digits only, as on many guns, mortars and older rifles."""

    def style(rng: random.Random, year: int) -> str:
        return _digits(rng, width)

    return style


def lot_style(designation: str, supplier_code: str, category: str) -> SerialStyle:
    """A serial for a missile or a gun of a SIPRI delivery: guns and mortars carry short plain
    numbers, missiles a lot number with the year, Cyrillic on Russian ones, digits on Chinese."""
    if category in {"ARTILLERY", "MORTAR"}:
        return numeric(4)
    if supplier_code == "RU":
        return year_then_cyrillic
    if supplier_code == "CN":
        return lambda rng, year: f"{year % 100:02d}{_digits(rng, 6)}"
    prefix = "".join(c for c in designation.upper() if c.isalpha())[:3] or "MSL"
    return lambda rng, year: f"{prefix}-{year % 100:02d}-{_digits(rng, 5)}"
