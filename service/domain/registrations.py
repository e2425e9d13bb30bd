"""Registration numbers as the registry compares them.

A party's registration number is kept exactly as written (`registration_number`) and as its
identity key (`registration_number_key`), which is what uniqueness and an import's linking
compare. The key survives the ways one number is written differently by different clerks, and
nothing more:

- compatibility forms are made plain (Unicode NFKC): full-width letters and digits are
  plain ones, a no-break space a space;
- letters are upper-cased (after case folding, so that "ß" and "ẞ" are both "SS");
- spaces and the usual separators are dropped: whitespace, "-" and the other dashes people type
  for it (hyphen, en and em dash, minus sign), "." and "/".

So "HRB 12345", "hrb12345", "HRB-12345" and the same in full-width letters have one key,
"HRB12345". Unlike a serial (service.domain.serials), nothing else is folded: accents, other
punctuation and letters of other scripts stay (a registration number is typed from a register,
not read off a worn stamp: "0403.451.577" and "0403451577" are one number, "O403451577" is
another).

Migration 0006 keyed the parties recorded before it in SQL, with the same steps: exactly these
keys for numbers whose letters are ASCII once NFKC-normalised (every number seen so far), the
database's own upper case for other letters.
"""

from __future__ import annotations

import unicodedata

# Dashes typed between the parts of a number, beside the hyphen-minus; their full-width and
# small forms are made one of these by NFKC.
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# Whitespace that NFKC leaves as it is (it makes the no-break and the typographic spaces plain
# ones): the ASCII controls, NEL, the Ogham space mark and the line and paragraph separators.
WHITESPACE = " \t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u1680\u2028\u2029"
SEPARATORS = WHITESPACE + DASHES + "./"
_DROP_SEPARATORS = str.maketrans("", "", SEPARATORS)
# Written in problems: what a number must hold besides its separators.
NEEDS_MORE_THAN_SEPARATORS = "needs more than spaces and separators (- . /)"


def registration_key(number: str) -> str:
    """The identity key of a registration number: NFKC, upper case, separators dropped. An
    empty key (the number was only separators) identifies nothing: the schemas refuse it.

    >>> registration_key("hrb-12.345 / b")
    'HRB12345B'
    """
    if number.isascii():
        # What the steps below come to for ASCII, which nearly every number is.
        return number.translate(_DROP_SEPARATORS).upper()
    key = _fold(number)
    # Upper-casing and dropping separators can leave what NFKC would write otherwise (a letter
    # and a combining mark a dash stood between): folded again until nothing changes.
    while (again := _fold(key)) != key:
        key = again
    return key


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().upper()
    return unicodedata.normalize("NFKC", text.translate(_DROP_SEPARATORS))
