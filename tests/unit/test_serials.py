"""normalise_serial and normalise_name: how a reading may differ from a mark and still match."""

from __future__ import annotations

import string
import sys
import unicodedata
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.serials import LOOKALIKE_TO_LATIN, normalise_name, normalise_serial

# No example database: the suite leaves nothing behind in the checkout.
PROPERTY = settings(max_examples=100, deadline=None, database=None)

ASCII_MARKS = string.ascii_uppercase + string.digits


def _twins_by_latin_letter() -> dict[str, list[str]]:
    twins: dict[str, list[str]] = defaultdict(list)
    for lookalike, latin in LOOKALIKE_TO_LATIN.items():
        twins[latin].append(lookalike)
    return dict(twins)


LATIN_TO_LOOKALIKES = _twins_by_latin_letter()


def _has_simple_case(char: str) -> bool:
    # Characters whose case mappings are one character each. The few that expand (ẞ -> ß -> SS,
    # ᾳ -> ΑΙ) are covered by the examples below.
    mapped = (char.upper(), char.lower(), char.lower().upper(), char.upper().lower())
    return char != "\u0345" and all(len(m) == 1 for m in mapped)


# Anything a reader may put between the characters of a mark: spaces of every kind, punctuation
# (hyphens, dashes, slashes, dots, brackets), control and format characters (zero-width spaces).
separators = st.characters(categories=["Z", "P", "Cc", "Cf"])
markings = st.text(max_size=30)
simple_case_text = st.text(st.characters().filter(_has_simple_case), max_size=30)


@st.composite
def latin_and_disguised(draw: st.DrawFn) -> tuple[str, str]:
    """A Latin mark, and the same mark with letters swapped for Cyrillic/Greek twins."""
    latin = draw(st.text(st.sampled_from(ASCII_MARKS), min_size=1, max_size=20))
    disguised = []
    for char in latin:
        twins = LATIN_TO_LOOKALIKES.get(char, [])
        choices = [char, char.lower(), *twins, *(twin.lower() for twin in twins)]
        disguised.append(draw(st.sampled_from(choices)))
    return latin, "".join(disguised)


@st.composite
def accented(draw: st.DrawFn) -> tuple[str, str]:
    """A plain Latin mark, and the same mark with combining accents (composed or not)."""
    plain = draw(st.text(st.sampled_from(string.ascii_letters + string.digits), max_size=20))
    # U+0300..U+036F are the combining diacritics; U+0345 (ypogegrammeni) has a case mapping.
    accents = st.sampled_from([chr(c) for c in range(0x300, 0x370) if c != 0x345])
    marked = "".join(char + "".join(draw(st.lists(accents, max_size=2))) for char in plain)
    form = draw(st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
    return plain, unicodedata.normalize(form, marked)


# Properties ---------------------------------------------------------------------------------------


@PROPERTY
@given(markings)
def test_normalising_twice_is_normalising_once(marking: str) -> None:
    once = normalise_serial(marking)
    assert normalise_serial(once) == once


@PROPERTY
@given(markings)
def test_output_is_ascii_upper_case_and_digits_or_an_unfoldable_character(marking: str) -> None:
    for char in normalise_serial(marking):
        if char.isascii():
            assert char in ASCII_MARKS
        else:
            # A letter of another script that has no Latin twin (Б, Ж, Ш, Ф, ...), or a numeral
            # that is not a decimal digit (see the test on numerals below).
            assert char.isalnum(), char
            assert char == char.upper(), char
            assert char not in LOOKALIKE_TO_LATIN, char
            assert unicodedata.decimal(char, None) is None, char
            assert unicodedata.normalize("NFKD", char) == char, char


@PROPERTY
@given(markings, st.lists(st.tuples(st.integers(min_value=0), separators), max_size=8))
def test_separators_anywhere_change_nothing(
    marking: str, insertions: list[tuple[int, str]]
) -> None:
    spaced = marking
    for position, separator in insertions:
        at = position % (len(spaced) + 1)
        spaced = spaced[:at] + separator + spaced[at:]
    assert normalise_serial(spaced) == normalise_serial(marking)


@PROPERTY
@given(separators)
def test_a_separator_alone_normalises_to_nothing(separator: str) -> None:
    assert normalise_serial(separator) == ""


@PROPERTY
@given(simple_case_text)
def test_letter_case_changes_nothing(marking: str) -> None:
    expected = normalise_serial(marking)
    for variant in (marking.upper(), marking.lower(), marking.swapcase(), marking.casefold()):
        assert normalise_serial(variant) == expected


@PROPERTY
@given(latin_and_disguised())
def test_cyrillic_and_greek_twins_read_as_latin(pair: tuple[str, str]) -> None:
    latin, disguised = pair
    assert normalise_serial(disguised) == latin


@PROPERTY
@given(accented())
def test_accents_are_stripped(pair: tuple[str, str]) -> None:
    plain, marked = pair
    assert normalise_serial(marked) == plain.upper()


def test_every_decimal_digit_of_every_script_becomes_an_ascii_digit() -> None:
    digits = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Nd"]
    assert len(digits) > 600  # Arabic-Indic, Persian, Devanagari, Thai, full-width, ...
    for digit in digits:
        assert normalise_serial(digit) == str(unicodedata.decimal(digit)), hex(ord(digit))


@PROPERTY
@given(markings, markings)
def test_normalisation_distributes_over_concatenation(left: str, right: str) -> None:
    # Why separators can go anywhere: each character normalises on its own.
    assert normalise_serial(left + right) == normalise_serial(left) + normalise_serial(right)


# The look-alike table -----------------------------------------------------------------------------


@pytest.mark.parametrize("lookalike", sorted(LOOKALIKE_TO_LATIN))
def test_every_lookalike_is_reached_in_both_cases(lookalike: str) -> None:
    latin = LOOKALIKE_TO_LATIN[lookalike]
    assert unicodedata.name(lookalike).split()[0] in {"CYRILLIC", "GREEK"}
    assert latin in string.ascii_uppercase
    assert normalise_serial(lookalike) == latin
    assert normalise_serial(lookalike.lower()) == latin


def test_letters_without_a_latin_twin_are_kept() -> None:
    assert normalise_serial("ПМ 1234") == "ПM1234"  # П stays, М is drawn like M
    assert normalise_serial("бжш") == "БЖШ"
    assert normalise_serial("λ-9") == "Λ9"


def test_twins_are_folded_by_shape_not_transliterated() -> None:
    # Cyrillic "СКС" is read "SKS", but it is drawn "CKC", and the mark is what is compared.
    assert normalise_serial("СКС 12345") == "CKC12345"
    assert normalise_serial("СКС 12345") != normalise_serial("SKS 12345")


# Characters that merely resemble each other -------------------------------------------------------


@pytest.mark.parametrize(
    ("letter", "digit"), [("O", "0"), ("S", "5"), ("I", "1"), ("B", "8"), ("Z", "2"), ("G", "6")]
)
def test_letters_and_digits_that_resemble_each_other_stay_distinct(letter: str, digit: str) -> None:
    assert normalise_serial(f"15{letter}2") != normalise_serial(f"15{digit}2")
    assert normalise_serial(letter.lower()) == letter
    assert normalise_serial(digit) == digit


def test_cyrillic_o_is_the_letter_o_not_zero() -> None:
    assert normalise_serial("1О2") == "1O2"  # Cyrillic О
    assert normalise_serial("1Ο2") == "1O2"  # Greek Ο
    assert normalise_serial("1О2") != normalise_serial("102")


# Worked examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marking", "expected"),
    [
        ("kк-1234 / 56", "KK123456"),  # the docstring's example
        ("АК-47 1234", "AK471234"),  # Cyrillic А and К
        ("АК-47 ", "AK47"),
        ("15O2-34 567", "15O234567"),  # the letter O stays a letter
        ("15o2 34-567", "15O234567"),
        ("ＡＫ４７－１２３４", "AK471234"),  # full-width letters, digits and hyphen
        ("ａｋ４７ １２３４", "AK471234"),
        ("٣٤٥-١٢", "34512"),  # Arabic-Indic digits
        ("۳۴۵", "345"),  # Persian digits
        ("१२३", "123"),  # Devanagari digits
        ("ΗΚ 416", "HK416"),  # Greek eta and kappa
        ("Type 56 – 1234", "TYPE561234"),  # en dash
        ("sn:\u00a0ab\u200b12\t34", "SNAB1234"),  # no-break and zero-width spaces, a tab
        ("ÉÈÊË-1", "EEEE1"),
        ("Ё-123", "E123"),  # Cyrillic Ё: Е with diaeresis, Е drawn like E
        ("ç-ñ-å-ő", "CNAO"),
        ("straße 1", "STRASSE1"),
        ("ﬁ-1", "FI1"),  # ligature
        ("Ⅻ", "XII"),  # Roman numeral compatibility form
        ("²³", "23"),  # superscript digits
        ("", ""),
        (" - / . ", ""),
    ],
)
def test_worked_examples(marking: str, expected: str) -> None:
    assert normalise_serial(marking) == expected


def test_latin_cyrillic_and_greek_spellings_of_one_mark_agree() -> None:
    latin, cyrillic, greek = "AB-1234 EK", "АВ-1234 ЕК", "ΑΒ-1234 ΕΚ"
    assert normalise_serial(latin) == normalise_serial(cyrillic) == normalise_serial(greek)
    assert normalise_serial(latin) == "AB1234EK"


def test_arabic_indic_and_full_width_digits_match_ascii() -> None:
    assert normalise_serial("٣") == normalise_serial("３") == normalise_serial("3") == "3"
    assert normalise_serial("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert normalise_serial("０１２３４５６７８９") == "0123456789"


# Names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["FN Herstal", "fn herstal", "F.N. HERSTAL", "F N  Herstal", "f-n herstal"]
)
def test_spellings_of_fn_herstal_agree(spelling: str) -> None:
    assert normalise_name(spelling) == normalise_name("FN Herstal") == "FNHERSTAL"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Česká zbrojovka", "CESKA ZBROJOVKA"),
        ("Heckler & Koch", "heckler-koch"),
        ("Steyr Mannlicher", "STEYR-MANNLICHER"),
        ("Kalashnikov Concern", "KALASHNIKOV CONCERN"),
    ],
)
def test_names_compare_like_serials(left: str, right: str) -> None:
    assert normalise_name(left) == normalise_name(right)


def test_different_names_stay_different() -> None:
    assert normalise_name("FN Herstal") != normalise_name("FM Herstal")
    assert normalise_name("Colt") != normalise_name("Cold")
    assert normalise_name("ФN") != normalise_name("FN")  # Ф has no Latin twin


# Edge cases once wrong, now pinned ----------------------------------------------------------


def test_numero_sign_is_a_separator_like_the_hash_sign() -> None:
    assert normalise_serial("АК-47 № 1234") == normalise_serial("AK-47 #1234") == "AK471234"


def test_n_ordinal_and_n_degree_agree() -> None:
    assert normalise_serial("Nº 1234") == normalise_serial("N° 1234")


def test_capital_sharp_s_agrees_with_its_lower_case() -> None:
    assert normalise_serial("STRAẞE") == normalise_serial("straße")


def test_greek_iota_subscript_agrees_with_its_upper_case() -> None:
    assert normalise_serial("ᾳ") == normalise_serial("ᾳ".upper())


# A stroke is not an accent: Ł, Đ, Ħ and Ŧ are letters of their own (NFKD keeps them whole), and
# only resemble L, D, H and T. Resemblance is the trace matcher's business, not identity's.
@pytest.mark.parametrize(("marked", "plain"), [("Ł", "L"), ("Đ", "D"), ("Ħ", "H"), ("Ŧ", "T")])
def test_letters_with_a_stroke_stay_letters_of_their_own(marked: str, plain: str) -> None:
    assert normalise_serial(f"{marked.lower()}-12") == f"{marked}12"
    assert normalise_serial(f"{marked}-12") != normalise_serial(f"{plain}-12")


@pytest.mark.parametrize("mark", ["\u0640", "\u02bc", "\u02c8", "\u02d0"])
def test_modifier_letters_that_are_punctuation_in_practice_are_dropped(mark: str) -> None:
    assert normalise_serial(f"12{mark}34") == "1234"


@pytest.mark.parametrize(
    ("lookalike", "latin"),
    [("Ѵ", "V"), ("Ϳ", "J"), ("Ϲ", "C"), ("Ϝ", "F")],  # izhitsa, yot, lunate sigma, digamma
)
def test_other_cyrillic_and_greek_twins_are_folded(lookalike: str, latin: str) -> None:
    assert normalise_serial(lookalike) == latin


# Numerals without a decimal value are kept as marked (the docstring says so): reading Ethiopic ፩
# as 1 or Roman ↀ as a number would be a guess about what the maker meant.
@pytest.mark.parametrize("numeral", ["፩", "ↀ", "௰", "𒐀"])
def test_numerals_without_a_decimal_value_are_kept_as_marked(numeral: str) -> None:
    assert normalise_serial(f"a-{numeral}-1") == f"A{numeral}1"


# Compatibility forms: what a reader types for a letter or digit written small, raised, wide or
# circled ----------------------------------------------------------------------------------------

# Every character that Unicode gives a compatibility or canonical decomposition (full-width and
# half-width forms, super- and subscripts, modifier letters, circled and parenthesised forms,
# ligatures, symbols spelled in letters), which a random text rarely draws.
DECOMPOSABLE = [
    chr(c) for c in range(sys.maxunicode + 1) if unicodedata.normalize("NFKD", chr(c)) != chr(c)
]
MODIFIER_LETTERS = [char for char in DECOMPOSABLE if unicodedata.category(char) == "Lm"]
compatibility_text = st.text(
    st.one_of(st.sampled_from(DECOMPOSABLE), st.sampled_from(ASCII_MARKS), st.characters()),
    max_size=30,
)


@PROPERTY
@given(compatibility_text)
def test_compatibility_forms_normalise_once_for_all(marking: str) -> None:
    once = normalise_serial(marking)
    assert normalise_serial(once) == once
    assert all(in_the_normalised_alphabet(char) for char in once), once


def in_the_normalised_alphabet(char: str) -> bool:
    """What a normalised serial is spelled with: ASCII upper case and digits, or a letter or
    numeral of its own that nothing folds (an upper case without a Latin twin or decimal value)."""
    if char.isascii():
        return char in ASCII_MARKS
    return (
        unicodedata.category(char)[0] in "LN"
        and unicodedata.category(char) != "Lm"
        and char == char.casefold().upper()
        and char not in LOOKALIKE_TO_LATIN
        and unicodedata.decimal(char, None) is None
        and unicodedata.normalize("NFKD", char) == char
    )


def test_a_modifier_letter_reads_as_the_letter_it_is_a_form_of() -> None:
    # "ᴬ123" is "A123" to an examiner; a modifier that is a form of no letter (the tatweel, the
    # apostrophe ʼ) is nothing, as before.
    assert len(MODIFIER_LETTERS) > 200
    for modifier in MODIFIER_LETTERS:
        plain = unicodedata.normalize("NFKD", modifier)
        assert normalise_serial(f"{modifier}-12") == normalise_serial(plain) + "12", modifier


@pytest.mark.parametrize(
    ("marking", "expected"),
    [
        ("ᴬ123", "A123"),  # U+1D2C modifier capital A
        ("ᵃᵇ-12", "AB12"),  # modifier small a, b
        ("12ʰ", "12H"),  # U+02B0, spacing superscript h
        ("ₐ1ₓ", "A1X"),  # subscripts
        ("ᵸ7", "H7"),  # modifier Cyrillic en: the Cyrillic letter, then its Latin twin
        ("ᵝ7", "B7"),  # modifier Greek beta
        ("ᵞ7", "Γ7"),  # modifier Greek gamma: Γ has no Latin twin
        ("ᴬ¹²³", "A123"),  # superscript digits, as before
        ("①②-③", "123"),  # circled digits, as before
        ("⑴⒉", "12"),  # parenthesised and full-stop digits, as before
        ("ＡＢ１", "AB1"),  # full-width, as before
    ],
)
def test_superscripts_and_other_compatibility_forms_fold_to_their_letter_or_digit(
    marking: str, expected: str
) -> None:
    assert normalise_serial(marking) == expected


@pytest.mark.parametrize("symbol", ["Ⓟ", "Ⓡ", "🄿", "®", "™", "℠", "㎏"])
def test_symbols_beside_a_serial_stay_dropped(symbol: str) -> None:
    # Circled and squared letters are proof, inspector's and trade marks stamped beside a serial,
    # and ™ or ㎏ would read as letters ("TM", "KG") that no serial holds.
    assert normalise_serial(f"AB{symbol}12") == "AB12"
