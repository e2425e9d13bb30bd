"""shown_to_others' fast path (printable text in NFC, taken as it is) answers as its full rule
does, for any text: the trace path takes it on every trace, so it must not let through what the
rule refuses, nor change what the rule keeps."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service.domain.text import KEPT_FORMAT_CHARACTERS
from service.schemas.fields import shown_to_others
from service.schemas.traces import TraceContextIn

PROPERTY = settings(max_examples=2_000, deadline=None, database=None)
# Weighted towards what the rule acts on: format characters, the ones kept, combining marks,
# letters that compose with them, and scripts whose text is not ASCII.
_SPECIAL = "\u200b\u200e\u200f\u061c\u200c\u200d\u202e\u2066\u2069\ufeff\u00ad\U000e0041"
_LETTERS = "aeozZ\u0416\u05e9\u0634\u0915\u00e9\u0301\u030c\u0306 \u00a0\n"
texts = st.one_of(st.text(st.sampled_from(_SPECIAL + _LETTERS), max_size=12), st.text(max_size=24))


def the_rule(text: str) -> str | None:
    """What the rule makes of the text, character by character (None: refused)."""
    composed = unicodedata.normalize("NFC", text)
    for character in composed:
        if unicodedata.category(character) == "Cf" and character not in KEPT_FORMAT_CHARACTERS:
            return None
    return composed


@PROPERTY
@given(texts)
@example("\u0416\u0306 7741")
@example("\u0634\u0631\u0643\u0629 \u200f")
@example("AK\u202e7410")
def test_the_fast_path_answers_as_the_rule_does(text: str) -> None:
    try:
        shown: str | None = shown_to_others(text)
    except ValidationError:
        shown = None

    assert shown == the_rule(text)


def test_a_shown_text_s_length_is_counted_as_it_is_kept() -> None:
    # A trace's case reference (a ShownText of at most 100) grows in NFC: U+FB2C is three
    # characters. marshmallow validates the value the field made, so the limit holds for the
    # text kept, as the X-Case-Reference header's now does (service.api.audit).
    context = TraceContextIn()
    kept = context.load({"case_reference": "\ufb2c" * 33, "purpose": "p"}).case_reference

    assert len(kept) == 99
    with pytest.raises(ValidationError) as refused:
        context.load({"case_reference": "\ufb2c" * 34, "purpose": "p"})
    assert "case_reference" in refused.value.messages_dict
