"""Serial numbers and names as the registry compares them.

A serial is kept exactly as marked (`serial_number`) and in a normalised form (`serial_norm`) that
survives the usual ways a reading differs from the marking without being wrong: letter case,
separators and spaces, accents, full-width or non-Latin digits, and Cyrillic or Greek letters that
look exactly like Latin ones (a Cyrillic "А" stamped in Izhevsk and a Latin "A" typed in Brussels
are the same mark). Characters that merely *resemble* each other (O and 0, S and 5) are not folded
here: that is a weaker kind of match, decided by the trace matcher, not by identity. Letters with
no Latin twin (Б, Ж, Ł) and numerals of other scripts without a decimal value stay as they are.

Compatibility forms of a letter or digit are that letter or digit (Unicode's NFKD, taken for
letters, numbers and modifier letters only): full-width, super- and subscript (ᴬ, ʰ, ², ₐ),
circled (①) and ligatures. Symbols are not, though NFKD spells some in letters: a circled or
squared letter (Ⓟ, 🄿) is a proof or inspector's mark stamped beside a serial, and ™, ® or ㎏
are no part of one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Cyrillic and Greek capitals that are drawn like a Latin capital. Lower-case letters reach this
# table after str.upper(); letters with no Latin twin (Б, Д, Ж, Л, П, Ф, Ш, ...) stay as they are.
LOOKALIKE_TO_LATIN: dict[str, str] = {
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "І": "I", "Ӏ": "I", "Ј": "J",
    "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ꙇ": "I", "Ѵ": "V",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϳ": "J", "Ϝ": "F",
    "Ϲ": "C",
}  # fmt: skip

_FOLD = str.maketrans(LOOKALIKE_TO_LATIN)
_NOT_ASCII_LETTER_OR_DIGIT = re.compile("[^A-Za-z0-9]+")
# Written beside a serial ("№ 1234", "Nº 1234"), never part of it; NFKD would spell them as
# letters ("No").
_NOT_PART_OF_A_SERIAL = frozenset("№ªº")


def fold_serial(marking: str) -> str:
    """The lookup form of a serial: ASCII digits and upper-case letters, Latin where a letter
    has a Latin twin; separators, punctuation, symbols and accents are dropped.

    >>> fold_serial("kк-1234 / 56")
    'KK123456'
    """
    if marking.isascii():
        # The rules below reduce to this for ASCII, which nearly every serial is (hot path).
        return _NOT_ASCII_LETTER_OR_DIGIT.sub("", marking).upper()
    return "".join(_normalise_character(char) for char in marking)


# Cached for the trace path, where the same readings come back; a bulk import calls fold_serial
# itself, so that a million serials read once do not evict them.
normalise_serial = lru_cache(maxsize=65_536)(fold_serial)


def normalise_name(name: str) -> str:
    """The comparison form of a manufacturer or model name ("FN Herstal" -> "FNHERSTAL")."""
    return normalise_serial(name)


def _normalise_character(char: str) -> str:
    if not _is_letter_or_digit(char) and not _is_form_of_a_letter(char):
        return ""
    parts = []
    # NFKD splits accents off letters (Ё -> Е + diaeresis) and maps compatibility forms
    # (full-width digits, ligatures, Roman numerals, superscripts) to plain ones. Its parts are
    # decomposed whole: a modifier letter among them is a form of nothing.
    for part in unicodedata.normalize("NFKD", _fold(char)):
        if not _is_letter_or_digit(part):
            continue
        digit = unicodedata.decimal(part, None)
        # Arabic-Indic, Persian and other decimal digits appear on weapons' markings.
        parts.append(str(digit) if digit is not None else _fold(part))
    return "".join(parts)


def _is_letter_or_digit(char: str) -> bool:
    # Modifier letters (Lm) that are a form of no letter (the Arabic tatweel, the apostrophe ʼ,
    # length and stress marks) only stretch or accent.
    category = unicodedata.category(char)
    return category[0] in "LN" and category != "Lm" and char not in _NOT_PART_OF_A_SERIAL


def _is_form_of_a_letter(char: str) -> bool:
    # A modifier letter that Unicode decomposes is a raised or lowered letter (ᴬ, ʰ, ₐ, ᵸ): an
    # examiner reading "ᴬ123" means "A123". It then takes the same path as the letter, look-alike
    # folding included, so that its key is the plain letter's (ᵸ, н and H are one mark).
    return unicodedata.category(char) == "Lm" and unicodedata.decomposition(char) != ""


def _fold(text: str) -> str:
    # casefold() before upper() makes ß and ẞ, or a Greek letter with and without its iota
    # subscript, come out the same.
    return text.casefold().upper().translate(_FOLD)
