"""Text that every agency reads: which invisible characters it may hold (two names that differ
only in them read alike: schema.sql's agencies_name_as_read)."""

from __future__ import annotations

# The format characters (Unicode's category Cf) that text other agencies read may hold: the marks
# that set the direction of the characters beside them (LRM, RLM, the Arabic letter mark), which
# Arabic and Hebrew names in national registries carry, and the joiners (ZWNJ, ZWJ) that Persian
# and the Indic scripts are spelled with. Every other one is invisible (a zero-width space, a
# byte-order mark, a soft hyphen) or reorders what follows it: the bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069) show "\u202e47-KA" as "AK-74".
KEPT_FORMAT_CHARACTERS = frozenset("\u200e\u200f\u061c\u200c\u200d")
# The same, in one string, for SQL's translate() (service/sql/agencies.sql).
KEPT_FORMAT_STRING = "".join(sorted(KEPT_FORMAT_CHARACTERS))
