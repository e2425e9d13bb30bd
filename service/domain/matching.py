"""Trace matching: how a serial read off a seized weapon is compared with the registry's, tier by
tier, and how each candidate is scored and explained. Pure Python: PostgreSQL finds the
candidates (service/sql/traces.sql), this module decides what they are worth.

The tiers, strongest first:

1. EXACT: the serial exactly as marked;
2. NORMALISED: the same once case, separators, accents and Cyrillic/Greek look-alikes are set
   aside (service.domain.serials);
3. CONFUSABLE: the same once characters that examiners and OCR confuse are made one
   (O/0/Q/D, I/1/L, S/5, B/8, Z/2, G/6);
   NCIC: the same once letters embedded between digits are ignored (a weaker tier);
4. WILDCARD: a partial reading, where `?` stands for one unreadable character and `*` for a run;
   when it finds nothing of the maker named as read, read loosely (loosely_alike): a `?` may
   stand where the marking has a separator, and look-alikes are read as one;
5. NEAR_MISS: one or two characters wrong, missing, extra or transposed, look-alikes read for
   one another costing no edit (look_alike_script).

The rest of the description (manufacturer through its aliases, model, category, caliber,
country of manufacture) re-ranks candidates; it never hides a serial match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from service.domain.records import Item
from service.domain.serials import normalise_name, normalise_serial
from service.domain.text import KEPT_FORMAT_CHARACTERS

# What examiners and OCR confuse, each group read as its first character's digit.
CONFUSABLE_GROUPS = ("0OQD", "1IL", "5S", "8B", "2Z", "6G")
_SKELETON = str.maketrans({char: group[0] for group in CONFUSABLE_GROUPS for char in group[1:]})
_EMBEDDED_LETTERS = re.compile(r"(?<=[0-9])[^0-9]+(?=[0-9])")
ONE_UNKNOWN, UNKNOWN_RUN = "?", "*"
# A partial serial must keep enough to search on: a run of three known characters is what the
# trigram index needs, and four known in all keep a pattern from matching half the registry.
MIN_KNOWN_RUN = 3
MIN_KNOWN = 4
MAX_DISTANCE = 2


def skeleton(serial_norm: str) -> str:
    """The confusable skeleton of a normalised serial (as the `serial_skeleton` column)."""
    return serial_norm.translate(_SKELETON)


def ncic(serial_norm: str) -> str:
    """A normalised serial without the letters between digits (as the `serial_ncic` column)."""
    return _EMBEDDED_LETTERS.sub("", serial_norm)


class Basis(Enum):
    """How a candidate's serial matches, with the weight the serial alone carries."""

    EXACT = 1.0
    NORMALISED = 0.97
    CONFUSABLE = 0.88
    NCIC = 0.75
    WILDCARD = 0.7
    NEAR_MISS = 0.6


class UnusableSerial(ValueError):
    """A reading that cannot be searched on (only wildcards, or too little of it known)."""


@dataclass(frozen=True)
class Reading:
    """A serial as read off a weapon, ready to search on."""

    as_read: str
    normalised: str  # known characters only, wildcards dropped
    pattern: str | None  # a LIKE pattern over serial_norm when the reading has wildcards

    @property
    def has_wildcards(self) -> bool:
        return self.pattern is not None


# The wildcards as other keyboards type them (full-width on East Asian input methods, the
# small forms, the Arabic question mark that Arabic and Persian layouts give for Shift+/, the
# mathematical and low asterisks), which normalisation would otherwise drop as punctuation:
# read as `?` and `*`.
_WILDCARD_FORMS = str.maketrans(
    {"\uff1f": "?", "\ufe56": "?", "\u061f": "?", "\uff0a": "*", "\ufe61": "*", "\u2217": "*",
     "\u204e": "*"}
)  # fmt: skip


@lru_cache(maxsize=4096)
def read_serial(as_read: str) -> Reading:
    """Parse a reading; UnusableSerial when nothing or too little of it can be searched on."""
    pieces = re.split(r"([?*])", as_read.translate(_WILDCARD_FORMS))
    has_wildcards = len(pieces) > 1
    pattern = "".join(_pattern_piece(piece) for piece in pieces)
    normalised = "".join(normalise_serial(piece) for piece in pieces[::2])
    if not normalised:
        raise UnusableSerial("the serial has no readable letter or digit")
    if has_wildcards:
        _check_enough_known(pattern, normalised)
        return Reading(as_read, normalised, re.sub("%+", "%", pattern))
    return Reading(as_read, normalised, None)


def audited_form(as_read: str) -> str:
    """How the audit trail keeps a serial looked up, and how its search by serial reads one:
    normalised, and a partial reading with its wildcards in place (`AB12?456`). Normalised
    whole, that reading was kept as `AB12456`, another weapon's serial, whose search then found
    the entry (and the reading's own search found it only by that wrong serial). A reading
    refused as unusable is kept as normalised, or as typed when nothing of it is left."""
    try:
        reading = read_serial(as_read)
    except UnusableSerial:
        return normalise_serial(as_read) or as_read
    if reading.pattern is None:
        return reading.normalised
    return with_wildcards(reading.pattern)


def with_wildcards(pattern: str) -> str:
    """A reading's LIKE pattern as the reader writes it: `?` for `_`, `*` for `%`."""
    return pattern.replace("_", ONE_UNKNOWN).replace("%", UNKNOWN_RUN)


def _pattern_piece(piece: str) -> str:
    if piece == ONE_UNKNOWN:
        return "_"
    if piece == UNKNOWN_RUN:
        return "%"
    # Normalised serials hold letters and digits only: nothing here needs escaping for LIKE.
    return normalise_serial(piece)


def _check_enough_known(pattern: str, normalised: str) -> None:
    longest_run = max(len(run) for run in re.split("[_%]", pattern))
    if len(normalised) < MIN_KNOWN or longest_run < MIN_KNOWN_RUN:
        raise UnusableSerial(
            f"a partial serial needs at least {MIN_KNOWN} readable characters, "
            f"{MIN_KNOWN_RUN} of them in a row; this one would search the whole registry"
        )


@dataclass(frozen=True)
class Observation:
    """The weapon as the investigator describes it."""

    reading: Reading
    manufacturer: str | None = None
    # the manufacturer's key once its aliases are resolved (Izhmash -> Kalashnikov Concern)
    manufacturer_key: str | None = None
    manufacturer_name: str | None = None
    # for a name not in the table, the keys of the manufacturers one of whose names it reads like
    manufacturer_resembles: frozenset[str] = frozenset()
    model: str | None = None
    category: str | None = None
    caliber: str | None = None
    country_of_manufacture: str | None = None
    import_marking_countries: tuple[str, ...] = ()
    obliterated: bool = False


@dataclass(frozen=True)
class Candidate:
    """A registered item found by the search, with the manufacturer key it is recorded under."""

    item: Item
    manufacturer_key: str
    # For an item recorded under a name not in the table of manufacturers, the makers that
    # name reads like (Directory.resembled), where the trace names a maker of the table
    recorded_resembles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the reading differs from the record, in words."""

    field: str
    observed: str | None
    registered: str | None
    explanation: str


@dataclass(frozen=True)
class Assessment:
    candidate: Candidate
    basis: Basis
    serial_score: float
    description_fit: float | None
    differences: tuple[Difference, ...]

    @property
    def score(self) -> float:
        """The serial's weight, scaled by how well the rest of the description fits."""
        fit = 1.0 if self.description_fit is None else self.description_fit
        return round(self.serial_score * (0.5 + 0.5 * fit), 4)

    @property
    def is_strong(self) -> bool:
        """A serial match that tracing practice calls a hit, on a consistent description."""
        fits = self.description_fit is None or self.description_fit >= 0.8
        return self.basis in (Basis.EXACT, Basis.NORMALISED) and fits


def assess(observation: Observation, candidate: Candidate) -> Assessment | None:
    """How the candidate's serial matches the reading, or None when it does not."""
    serial = _serial_match(observation.reading, candidate.item)
    if serial is None:
        return None
    basis, serial_score, serial_differences = serial
    fit, description_differences = _description_fit(observation, candidate)
    return Assessment(
        candidate, basis, serial_score, fit, serial_differences + description_differences
    )


def rank(assessments: Sequence[Assessment], limit: int) -> list[Assessment]:
    """Best first; every exact or normalised serial match is kept whatever the limit."""
    ordered = sorted(
        assessments,
        key=lambda a: (-a.score, list(Basis).index(a.basis), str(a.candidate.item.id)),
    )
    kept = ordered[:limit]
    kept += [a for a in ordered[limit:] if a.basis in (Basis.EXACT, Basis.NORMALISED)]
    return kept


def verdict(ranked: Sequence[Assessment]) -> str:
    """MATCH for exactly one strong candidate, CANDIDATES for anything else found, NO_MATCH."""
    if not ranked:
        return "NO_MATCH"
    strong = [a for a in ranked if a.is_strong]
    return "MATCH" if len(strong) == 1 and strong[0] is ranked[0] else "CANDIDATES"


# The serial ------------------------------------------------------------------------------------

SerialMatch = tuple[Basis, float, tuple[Difference, ...]]


def as_marked(reading: Reading) -> str:
    """The reading as an EXACT match compares it with a registered serial: without the spaces
    around it, its accents composed (NFC), without the direction marks and joiners that show
    nothing (KEPT_FORMAT_CHARACTERS)."""
    return _composed(reading.as_read.strip())


def _serial_match(reading: Reading, item: Item) -> SerialMatch | None:
    registered = item.serial_normalised
    if reading.pattern is not None:
        return _wildcard_match(reading, item)
    if as_marked(reading) == _composed(item.serial_number):
        return Basis.EXACT, Basis.EXACT.value, ()
    if reading.normalised == registered:
        return Basis.NORMALISED, Basis.NORMALISED.value, (_as_marked(reading, item),)
    if skeleton(reading.normalised) == skeleton(registered):
        return _confusable_match(reading, item)
    if ncic(reading.normalised) == ncic(registered):
        explanation = "the same once letters between digits are ignored (NCIC practice)"
        return Basis.NCIC, Basis.NCIC.value, (_serial_difference(reading, item, explanation),)
    return _near_miss(reading, item)


def _composed(text: str) -> str:
    # The same marking typed with precomposed or combining accents is the same marking, and so
    # is one beside a direction mark or a joiner (kept in records and readings, U+200F from a
    # right-to-left keyboard): they show nothing, and made an exact reading a NORMALISED match.
    return unicodedata.normalize("NFC", text).translate(_SHOWING_NOTHING)


_SHOWING_NOTHING = dict.fromkeys(map(ord, KEPT_FORMAT_CHARACTERS))


def _as_marked(reading: Reading, item: Item) -> Difference:
    return _serial_difference(
        reading, item, "the same serial once case, separators, accents and look-alike letters "
        "are set aside"
    )  # fmt: skip


def _confusable_match(reading: Reading, item: Item) -> SerialMatch:
    swaps = [
        f"{seen!r} read where the registry has {kept!r} (character {position})"
        for position, (seen, kept) in enumerate(
            zip(reading.normalised, item.serial_normalised, strict=True), start=1
        )
        if seen != kept
    ]
    # More confusions weigh less, but a confusable match never falls to the weaker NCIC tier.
    share = (len(swaps) - 1) / max(len(item.serial_normalised) - 1, 1)
    score = Basis.CONFUSABLE.value - (Basis.CONFUSABLE.value - Basis.NCIC.value) * share
    explanation = (
        f"comparing {reading.normalised} with {item.serial_normalised}, characters that are "
        "easily confused: " + "; ".join(swaps)
    )
    return Basis.CONFUSABLE, score, (_serial_difference(reading, item, explanation),)


def _wildcard_match(reading: Reading, item: Item) -> SerialMatch | None:
    assert reading.pattern is not None
    registered = item.serial_normalised
    if like(reading.pattern, registered):
        separators, confused = 0, 0
    else:
        loose = loosely_alike(reading.pattern, marked_with_separators(item))
        if loose is None:
            return None
        separators, confused = loose
    known = len(reading.normalised) / max(len(registered), 1)
    score = Basis.WILDCARD.value * (0.7 + 0.3 * min(known, 1.0))
    # Each liberty taken weighs: a partial reading that agrees as read ranks first.
    score *= LOOSE_WEIGHT**separators * look_alike_weight(confused)
    explanation = (
        f"a partial reading: {len(reading.normalised)} of the registered "
        f"{len(registered)} characters were readable and agree"
    )
    if confused:
        explanation += (
            " once characters that are easily confused (O, Q, D and 0; I, L and 1; S and 5; "
            "B and 8; Z and 2; G and 6) are read as one"
        )
    if separators:
        marks = "mark ('?') stands" if separators == 1 else "marks ('?') stand"
        explanation += f"; {separators} unreadable {marks} where the marking has a separator"
    return Basis.WILDCARD, score, (_serial_difference(reading, item, explanation),)


# Where a marking has a separator (a dash, a slash, a space), which normalised serials do not
# keep: a `?` read there stood for it. Never a character of a normalised serial.
SEPARATOR = "-"
# A loose partial match (a `?` for a separator, look-alikes read as one) weighs this for each
# separator stood for, and for look-alikes read as one; each look-alike after the first weighs
# a little more, so that of two serials a reading takes, the one it took fewer of comes first
# (`80551234` read for `B05512345` ranks above `BOSS12345`; they tied, ordered by id).
LOOSE_WEIGHT = 0.9
EACH_MORE_LOOK_ALIKE = 0.98


def look_alike_weight(look_alikes: int) -> float:
    """What reading so many look-alikes as one weighs on a serial's score."""
    return 1.0 if look_alikes == 0 else LOOSE_WEIGHT * EACH_MORE_LOOK_ALIKE ** (look_alikes - 1)


_LOOK_ALIKE_CLASS = {char: f"[{group}]" for group in CONFUSABLE_GROUPS for char in group}


def marked_with_separators(item: Item) -> str:
    """The registered serial normalised, with SEPARATOR where its marking has punctuation,
    spaces or symbols between letters and digits (`ak 11/74094`: `AK-11-74094`)."""
    pieces: list[str] = []
    for char in item.serial_number.strip():
        folded = normalise_serial(char)
        if folded:
            pieces.append(folded)
        elif pieces and pieces[-1] != SEPARATOR and unicodedata.category(char)[0] in "PSZ":
            pieces.append(SEPARATOR)
    marked = "".join(pieces).rstrip(SEPARATOR)
    # Folded a character at a time as the whole is folded, unless a rule spans characters:
    # then the separators are not told.
    return (
        marked
        if marked.replace(SEPARATOR, "") == item.serial_normalised
        else item.serial_normalised
    )


def loosely_alike(pattern: str, marked: str) -> tuple[int, int] | None:
    """Whether a partial reading's LIKE pattern matches a registered serial (as
    marked_with_separators gives it) once a `?` may stand for a separator of the marking and
    look-alike characters are read as one: how many `?` stood for a separator and how many
    look-alikes were read as one, taking as few liberties as will do (separators first); None
    when it does not.

    The states are the places in the serial the pattern read so far can end at, each with the
    fewest liberties taken to get there (separators stood for, look-alikes): len(pattern) steps
    over at most len(marked) places each."""
    states: dict[int, tuple[int, int]] = {0: (0, 0)}
    for char in pattern:
        states = _past_separators(states, marked)
        following: dict[int, tuple[int, int]] = {}
        if char == "%":
            first = min(states)
            best = states[first]
            for at in range(first, len(marked) + 1):
                best = min(best, states.get(at, best))
                following[at] = best
        else:
            for at, (separators, confusions) in states.items():
                if at == len(marked):
                    continue
                found = marked[at]
                if char == "_":
                    cost = (separators + (found == SEPARATOR), confusions)
                elif found == char:
                    cost = (separators, confusions)
                elif found != SEPARATOR and skeleton(found) == skeleton(char):
                    cost = (separators, confusions + 1)
                else:
                    continue
                if at + 1 not in following or cost < following[at + 1]:
                    following[at + 1] = cost
        if not following:
            return None
        states = following
    end = _past_separators(states, marked).get(len(marked))
    return end


def _past_separators(states: dict[int, tuple[int, int]], marked: str) -> dict[int, tuple[int, int]]:
    """The states, and past each separator at one: a reading need not mark a separator."""
    passed = dict(states)
    for at in sorted(states):
        if at < len(marked) and marked[at] == SEPARATOR:
            cost = passed[at]
            if at + 1 not in passed or cost < passed[at + 1]:
                passed[at + 1] = cost
    return passed


def loose_regex(pattern: str) -> str:
    """A PostgreSQL regular expression that finds every serial loosely_alike may accept (a `?`
    for one character or none, look-alikes as bracket classes; the trigram index answers it
    from the runs the reading knows)."""
    pieces = {"_": ".?", "%": ".*"}
    # Normalised serials hold letters and digits only: none is special in a regular expression.
    body = "".join(pieces.get(char) or _LOOK_ALIKE_CLASS.get(char, char) for char in pattern)
    return f"^{body}$"


def like(pattern: str, serial: str) -> bool:
    """Whether the serial matches the LIKE pattern (`_` one character, `%` any run), as
    PostgreSQL would say, in at most len(pattern) * len(serial) steps.

    A regular expression of the pattern (`.*` for each `%`) backtracks through every way of
    sharing the serial among the runs: 23 s for one 40-character serial and a 64-character
    reading of 30 stars, and a trace weighs up to 50 candidates. Here each `%` is only ever
    widened one character at a time from the last one met: a piece between two runs that fits
    at its first place is never worth moving later."""
    at = read = 0
    widened, resumed = -1, 0  # the last `%` met, and where in the serial it next resumes
    while read < len(serial):
        if at < len(pattern) and pattern[at] == "%":
            widened, resumed = at, read
            at += 1
        elif at < len(pattern) and pattern[at] in ("_", serial[read]):
            at, read = at + 1, read + 1
        elif widened >= 0:
            resumed += 1
            at, read = widened + 1, resumed
        else:
            return False
    return all(char == "%" for char in pattern[at:])


def _near_miss(reading: Reading, item: Item) -> SerialMatch | None:
    read, registered = reading.normalised, item.serial_normalised
    edits = edit_script(read, registered)
    confusions: list[str] = []
    if edits is None or len(edits) > 1:
        # Look-alikes read for one another cost no edit: `8HW23` is `BHW235` with one missing.
        alike = look_alike_script(read, registered)
        if alike is not None and (edits is None or len(alike[0]) < len(edits)):
            edits, confusions = alike
    if edits is None:
        return None
    score = Basis.NEAR_MISS.value - 0.1 * (len(edits) - 1)
    score *= look_alike_weight(len(confusions))
    explanation = f"comparing {read} with {registered}: " + "; ".join(edits + confusions)
    return Basis.NEAR_MISS, score, (_serial_difference(reading, item, explanation),)


def _serial_difference(reading: Reading, item: Item, explanation: str) -> Difference:
    return Difference("serial_number", reading.as_read, item.serial_number, explanation)


# Readings this long or shorter are sought two transpositions away by the search of a maker's
# items (153 forms for 20 characters, 1,891 for 64, the longest serial read as marked); a longer
# reading (compatibility forms normalised to many letters) is left to the trigram searches, a
# serial two transpositions from it keeping most of its trigrams.
SWAPPED_TWICE_LONGEST = 64
_NEIGHBOUR_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def one_edit_skeletons(serial_norm: str) -> set[str]:
    """The confusable skeletons one edit from this serial's (a near miss one edit away, its
    look-alikes read either way), but for the skeleton itself (a CONFUSABLE match)."""
    own = skeleton(serial_norm)
    return {skeleton(neighbour) for neighbour in one_edit_away(own)} - {own}


def one_edit_away(serial_norm: str) -> set[str]:
    """The normalised serials one character wrong, missing, extra or transposed from this one
    (letters and digits of the Latin alphabet, and the serial's own characters)."""
    characters = set(_NEIGHBOUR_CHARACTERS) | set(serial_norm)
    found: set[str] = set()
    for at in range(len(serial_norm) + 1):
        before, after = serial_norm[:at], serial_norm[at:]
        found.update(before + character + after for character in characters)
        if after:
            found.add(before + after[1:])
            found.update(before + character + after[1:] for character in characters)
        if len(after) > 1:
            found.add(_swapped(serial_norm, at))
    found.discard(serial_norm)
    found.discard("")
    return found


def swaps_and_gaps(serial: str) -> list[tuple[str, str]]:
    """For each pair of neighbouring unlike characters, the serial with the pair in the other
    order, and the LIKE pattern of the same with any one character put between the two (a
    normalised serial holds letters and digits only: nothing to escape). The second is one
    edit from the first but three of optimal string alignment from the serial, which swaps no
    pair it has put a character into: `K72943`, `7K2943`, `7XK2943`."""
    return [
        (_swapped(serial, at), serial[:at] + serial[at + 1] + "_" + serial[at] + serial[at + 2 :])
        for at in range(len(serial) - 1)
        if serial[at] != serial[at + 1]
    ]


def swapped_twice(serial: str) -> set[str]:
    """The serial with two pairs of neighbouring characters in the other order, pairs apart
    (optimal string alignment swaps no character twice); none for a serial longer than
    SWAPPED_TWICE_LONGEST."""
    if len(serial) > SWAPPED_TWICE_LONGEST:
        return set()
    found = {
        _swapped(_swapped(serial, first), second)
        for first in range(len(serial) - 3)
        for second in range(first + 2, len(serial) - 1)
    }
    found.discard(serial)
    return found


def _swapped(serial: str, at: int) -> str:
    return serial[:at] + serial[at + 1] + serial[at] + serial[at + 2 :]


def edit_script(read: str, registered: str, limit: int = MAX_DISTANCE) -> list[str] | None:
    """The edits (optimal string alignment: substitutions, omissions, additions, adjacent
    transpositions) that turn the reading into the registered serial, in words; None when more
    than `limit` are needed.

    Optimal string alignment edits no character twice, so each edit reads as one plain sentence;
    the price is that a character dropped and then swapped across the gap counts three edits,
    where unrestricted Damerau-Levenshtein would count two."""
    if abs(len(read) - len(registered)) > limit:
        return None
    table = _osa_table(read, registered)
    if table[len(read)][len(registered)] > limit:
        return None
    return _describe(_backtrace(table, read, registered), read, registered)


def look_alike_script(
    read: str, registered: str, limit: int = MAX_DISTANCE
) -> tuple[list[str], list[str]] | None:
    """edit_script once look-alike characters (CONFUSABLE_GROUPS) are read as one: the edits,
    and the look-alikes read for one another, in words; None when more than `limit` edits are
    needed."""
    a, b = skeleton(read), skeleton(registered)
    if abs(len(a) - len(b)) > limit:
        return None
    table = _osa_table(a, b)
    if table[len(a)][len(b)] > limit:
        return None
    operations = _backtrace(table, a, b)
    # The characters an alignment pairs, and those a transposition swaps (`01` read for `1O`
    # swaps a look-alike too)
    paired = list(_aligned(operations, len(a), len(b)))
    for operation, i, j in operations:
        if operation == "transpose":
            paired += [(i, j + 1), (i + 1, j)]
    confusions = [
        f"{read[i]!r} read where the registry has {registered[j]!r} (character {j + 1}), "
        "easily confused"
        for i, j in sorted(paired, key=lambda pair: pair[1])
        if read[i] != registered[j]
    ]
    return _describe(operations, read, registered), confusions


def _aligned(
    operations: list[tuple[str, int, int]], read_length: int, registered_length: int
) -> Iterator[tuple[int, int]]:
    """The positions of the reading and the registered serial that an alignment pairs as the
    same character (those no operation touches)."""
    i = j = 0
    for operation, at_read, at_registered in [*operations, ("end", read_length, registered_length)]:
        while i < at_read and j < at_registered:
            yield i, j
            i, j = i + 1, j + 1
        steps = {"substitute": (1, 1), "transpose": (2, 2), "extra": (1, 0), "missing": (0, 1)}
        step_read, step_registered = steps.get(operation, (0, 0))
        i, j = at_read + step_read, at_registered + step_registered


def _osa_table(a: str, b: str) -> list[list[int]]:
    """The optimal-string-alignment distances of every prefix of `a` to every prefix of `b`.

    A near-miss trace fills one for each of up to 50 candidates, so it is written for speed
    (rows kept in locals, no min() calls): twice as fast as the textbook form, same table."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    table = [previous]
    for i in range(1, len(a) + 1):
        here = a[i - 1]
        earlier = a[i - 2] if i > 1 else ""
        row = [i] * (len(b) + 1)
        left = i
        for j in range(1, len(b) + 1):
            other = b[j - 1]
            best = previous[j - 1] + (here != other)  # match or substitution
            if previous[j] + 1 < best:  # a character read that is not registered
                best = previous[j] + 1
            if left + 1 < best:  # a registered character not read
                best = left + 1
            swapped = i > 1 and j > 1 and here == b[j - 2] and earlier == other
            if swapped and before[j - 2] + 1 < best:
                best = before[j - 2] + 1  # two adjacent characters read in the other order
            row[j] = left = best
        table.append(row)
        before, previous = previous, row
    return table


def _backtrace(table: list[list[int]], a: str, b: str) -> list[tuple[str, int, int]]:
    """(operation, position in a, position in b) from the end of both strings to the start."""
    operations = []
    i, j = len(a), len(b)
    while i > 0 or j > 0:
        here = table[i][j]
        if (
            i > 1
            and j > 1
            and a[i - 1] == b[j - 2]
            and a[i - 2] == b[j - 1]
            and (here == table[i - 2][j - 2] + 1 and a[i - 1] != b[j - 1])
        ):
            operations.append(("transpose", i - 2, j - 2))
            i, j = i - 2, j - 2
        elif i > 0 and j > 0 and here == table[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            if a[i - 1] != b[j - 1]:
                operations.append(("substitute", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and here == table[i - 1][j] + 1:
            operations.append(("extra", i - 1, j))
            i -= 1
        else:
            operations.append(("missing", i, j - 1))
            j -= 1
    return operations[::-1]


def _describe(operations: list[tuple[str, int, int]], a: str, b: str) -> list[str]:
    words = {
        "substitute": lambda i, j: f"character {j + 1} read as {a[i]!r}, registered {b[j]!r}",
        "extra": lambda i, j: f"an extra {a[i]!r} read at character {i + 1}",
        "missing": lambda i, j: f"registered {b[j]!r} (character {j + 1}) was not read",
        "transpose": lambda i, j: f"characters {j + 1} and {j + 2} read in the other order "
        f"({a[i:i + 2]!r}, registered {b[j:j + 2]!r})",
    }  # fmt: skip
    return [words[operation](i, j) for operation, i, j in operations]


# The rest of the description -------------------------------------------------------------------

_WEIGHTS = {"manufacturer": 0.45, "model": 0.25, "category": 0.1, "caliber": 0.1, "country": 0.1}
# Categories an investigator may reasonably give for one another.
_RELATED_CATEGORIES = (
    frozenset({"RIFLE", "CARBINE", "ASSAULT_RIFLE"}),
    frozenset({"MACHINE_GUN", "HEAVY_MACHINE_GUN"}),
    frozenset({"PISTOL", "REVOLVER"}),
    frozenset({"ATGM", "ANTI_TANK_WEAPON", "RECOILLESS_RIFLE"}),
)


def _description_fit(
    observation: Observation, candidate: Candidate
) -> tuple[float | None, tuple[Difference, ...]]:
    """0..1 for how well the observed description fits the record (None if nothing was given),
    with a difference for each field that does not fully agree."""
    item = candidate.item
    scored: list[tuple[str, float]] = []
    differences: list[Difference] = []
    for field, agreement, difference in (
        _manufacturer(observation, candidate),
        _model(observation, item),
        _category(observation, item),
        _caliber(observation, item),
        _country(observation, item),
    ):
        if agreement is not None:
            scored.append((field, agreement))
        if difference is not None:
            differences.append(difference)
    differences += _import_markings(observation, item)
    if not scored:
        return None, tuple(differences)
    total = sum(_WEIGHTS[field] for field, _ in scored)
    fit = sum(_WEIGHTS[field] * agreement for field, agreement in scored) / total
    return round(fit, 4), tuple(differences)


FieldVerdict = tuple[str, float | None, Difference | None]


def _manufacturer(observation: Observation, candidate: Candidate) -> FieldVerdict:
    observed, registered = observation.manufacturer, candidate.item.manufacturer
    if observed is None:
        return "manufacturer", None, None
    if observation.manufacturer_key == candidate.manufacturer_key:
        if normalise_name(observed) == normalise_name(registered):
            return "manufacturer", 1.0, None
        known_as = observation.manufacturer_name or registered
        explanation = f"{observed!r} is a name of {known_as!r}, recorded as {registered!r}"
        return "manufacturer", 1.0, Difference("manufacturer", observed, registered, explanation)
    if observation.manufacturer_name is not None and candidate.recorded_resembles == {
        observation.manufacturer_key
    }:
        # Recorded under a name the table lacks that reads like the named maker's (`Ishmash`
        # for Izhmash): as alike as the same two names the other way round, not "another
        # manufacturer" (fit 0), which ranked the item under any near miss of the maker named.
        explanation = (
            f"recorded as {registered!r}, which is not in the table of manufacturers, but reads "
            f"like a name of {observation.manufacturer_name!r}: misspelt, or a name the table "
            "lacks, perhaps"
        )
        agreement = UNKNOWN_NAME_ALIKE
        return (
            "manufacturer",
            agreement,
            Difference("manufacturer", observed, registered, explanation),
        )
    if observation.manufacturer_name is not None:  # a maker of the table, and another one
        explanation = "another manufacturer: serials are unique only per manufacturer"
        return "manufacturer", 0.0, Difference("manufacturer", observed, registered, explanation)
    # A name the table does not know may be a misspelling, or a name of the maker it lacks:
    # when it reads like one maker's names, and one only ("IZHEVSK" reads like two makers').
    resembles = observation.manufacturer_resembles
    if (resembles == {candidate.manufacturer_key}) or (
        not resembles and names_alike(normalise_name(observed), normalise_name(registered))
    ):
        explanation = (
            f"{observed!r} is not in the table of manufacturers, but reads like a name of the "
            f"maker recorded, {registered!r}: misspelt, or a name the table lacks, perhaps"
        )
        agreement = UNKNOWN_NAME_ALIKE
    elif candidate.manufacturer_key in resembles:
        # `IZHEVSK` reads like names of this maker and of another: it fits neither, but it
        # does not read like no name of this one (which sent the investigator elsewhere).
        others = len(resembles) - 1
        explanation = (
            f"{observed!r} is not in the table of manufacturers, and reads like a name of the "
            f"maker recorded, {registered!r}, and of {others} other"
            f"{'s' if others > 1 else ''}: which of them, the registry cannot tell (serials are "
            "unique only per manufacturer)"
        )
        agreement = 0.0
    else:
        explanation = (
            f"{observed!r} is not in the table of manufacturers and reads like no name of the "
            f"maker recorded: another manufacturer, perhaps (serials are unique only per "
            "manufacturer)"
        )
        agreement = 0.0
    return "manufacturer", agreement, Difference("manufacturer", observed, registered, explanation)


# How far a manufacturer's name not in the table, but like one of the recorded maker's names,
# agrees: not the certainty of a name the table gives it, and short of what makes a MATCH on
# the name alone (`is_strong`: 0.8).
UNKNOWN_NAME_ALIKE = 0.6
# Names this short are alike only when equal: "FNH" and "FN" are not read as one.
SHORTEST_ALIKE_NAME = 4


def names_alike(observed: str, known: str) -> bool:
    """Whether a normalised manufacturer name not in the table reads as a known one: the start
    of it (`KALASHNIKOV` of `KALASHNIKOVCONCERN`; a known name with more after it is another
    maker's, `COLTCANADA` is not `COLT`), or one edit from it (two for names of 8 or more:
    `ISHMASH`, `IZHMASH`) with the same numbers (`FACTORY26` is not `FACTORY66`). A start that
    cuts a number short is not one: `FACTORY6` is not `FACTORY66`, as `FACTORY26` is not."""
    if min(len(observed), len(known)) < SHORTEST_ALIKE_NAME:
        return observed == known
    if known.startswith(observed):
        cut_short = known[len(observed) : len(observed) + 1].isdigit() and observed[-1].isdigit()
        return not cut_short
    if _DIGITS.findall(observed) != _DIGITS.findall(known):
        return False
    limit = 1 if min(len(observed), len(known)) < 8 else 2
    return edit_script(observed, known, limit=limit) is not None


_DIGITS = re.compile("[0-9]+")


def _model(observation: Observation, item: Item) -> FieldVerdict:
    if observation.model is None:
        return "model", None, None
    seen, kept = normalise_name(observation.model), normalise_name(item.model)
    if seen == kept:
        return "model", 1.0, None
    if _variants(seen, kept):
        explanation = "a variant of the same model designation"
        return "model", 0.7, Difference("model", observation.model, item.model, explanation)
    return "model", 0.0, Difference("model", observation.model, item.model, "another model")


def _variants(a: str, b: str) -> bool:
    """AK74 and AK74M (letters added), or 17 and GLOCK17 (a number under a maker's prefix);
    not G3 and G36, nor M1 and M16A2 (digits added make another designation)."""
    short, long = sorted((a, b), key=len)
    if not short or short == long:
        return False
    extended = long.startswith(short) and not long[len(short)].isdigit()
    prefixed = long.endswith(short) and short[0].isdigit() and long[-len(short) - 1].isalpha()
    return extended or prefixed


def _category(observation: Observation, item: Item) -> FieldVerdict:
    seen = observation.category
    if seen is None:
        return "category", None, None
    if seen == item.category:
        return "category", 1.0, None
    if any({seen, item.category} <= related for related in _RELATED_CATEGORIES):
        explanation = "a related category"
        return "category", 0.5, Difference("category", seen, item.category, explanation)
    return "category", 0.0, Difference("category", seen, item.category, "another category")


def _caliber(observation: Observation, item: Item) -> FieldVerdict:
    if observation.caliber is None or item.caliber is None:
        return "caliber", None, None
    seen, kept = _caliber_key(observation.caliber), _caliber_key(item.caliber)
    if seen == kept:
        return "caliber", 1.0, None
    if _named_more_fully(seen, kept):
        explanation = "the same caliber, named more or less fully"
        return "caliber", 0.7, Difference("caliber", observation.caliber, item.caliber, explanation)
    difference = Difference("caliber", observation.caliber, item.caliber, "another caliber")
    return "caliber", 0.0, difference


# Millimetres written after a number (9x19mm, 7.62 mm), which a reading as often leaves out.
_MILLIMETRES = re.compile(r"(?<=[0-9])MM")


def _caliber_key(caliber: str) -> str:
    # 5.45x39 is written with a multiplication sign (U+00D7) as often as with an x.
    return _MILLIMETRES.sub("", normalise_name(caliber.replace("\u00d7", "x")))


def _named_more_fully(a: str, b: str) -> bool:
    """9X19 and 9X19PARABELLUM, 556X45 and 556X45NATO: one the other with a name after its
    numbers; not 9X19 and 9X18, nor 762 and 762X39 (numbers added make another caliber)."""
    short, long = sorted((a, b), key=len)
    added = long[len(short) :]
    named = added.isalpha()  # a name, with no number in it
    return bool(short) and long.startswith(short) and named


def _country(observation: Observation, item: Item) -> FieldVerdict:
    seen, kept = observation.country_of_manufacture, item.country_of_manufacture
    if seen is None or kept is None:
        return "country", None, None
    if seen == kept:
        return "country", 1.0, None
    explanation = "another country of manufacture"
    return "country", 0.0, Difference("country_of_manufacture", seen, kept, explanation)


def _import_markings(observation: Observation, item: Item) -> list[Difference]:
    registered = {marking.country for marking in item.import_markings}
    return [
        Difference(
            "import_markings",
            country,
            ", ".join(sorted(registered)) or None,
            "an import marking the registry does not record for this item",
        )
        for country in observation.import_marking_countries
        if country not in registered
    ]
