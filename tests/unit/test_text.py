"""domain.text and the output boundary (SPEC §1, §2): which characters are hidden, how they are
shown, how a rejected value is echoed, and that JSON stays the same document."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from provctl.domain.text import HIDDEN_CATEGORIES, escape, hidden_char, is_utf8, preview
from provctl.output import json_text


def test_escape_leaves_no_hidden_character_of_any_code_point():
    hidden = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in HIDDEN_CATEGORIES]
    assert len(hidden) > 2048 + 65 + 150  # surrogates, Cc, Cf (and Zl, Zp)
    shown = escape("".join(hidden))
    assert shown.isascii() and shown.isprintable()
    assert escape("\x1b[2J\x07") == "\\x1b[2J\\x07"
    assert escape("a\u200bb\u202e\ufeff\u2028") == "a\\u200bb\\u202e\\ufeff\\u2028"
    assert escape("\U000e0041") == "\\U000e0041"
    assert escape("caf\udce9") == "caf\\xe9"  # undecodable byte: shown as the byte


@pytest.mark.parametrize("text", ["Work", "Straße", "Ｗｏｒｋ", "a\u00a0b", "\ue000", "[/x]", "日本語", "🙂",
                                  "back\\slash"])
def test_escape_leaves_what_is_not_hidden_alone(text):
    assert escape(text) == text
    assert hidden_char(text) is None


def test_json_text_is_the_same_document_with_nothing_raw():
    value = {"k\x1b": ["\x1b[2J", "\x7f\x85\x9b", "\u202e\u200b\ufeff\u2028", "\U000e0041", "é 🙂", None, 1]}
    text = json_text(value, indent=2)
    assert json.loads(text) == value
    assert not any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in text if ch != "\n")
    assert "é 🙂" in text  # readable UTF-8 stays
    assert json_text({"x": "caf\udce9"}) == '{"x": "caf\\udce9"}'  # a lone surrogate, escaped


@pytest.mark.parametrize("value, echoed", [
    ("yaml", "'yaml'"),
    ("12345678", "'12345678'"),
    ("sk-proj-0123456789", "'sk-proj-…' (18 characters)"),
    ("\x1b[2J\x1b]0;pwned\x07", "'\\x1b[2J\\x1b]0;…' (14 characters)"),
    ("caf\udce9", "'caf\\xe9'"),
])
def test_a_rejected_value_is_echoed_as_8_characters_and_its_length(value, echoed):
    assert preview(value) == echoed


def test_is_utf8_spots_lone_surrogates():
    assert is_utf8("Straße 🙂") and is_utf8("")
    assert not is_utf8("caf\udce9") and not is_utf8("\ud800")


def test_the_json_prefilter_covers_every_hidden_code_point():
    from provctl.output import _JSON_SUSPECT

    missed = [hex(c) for c in range(0x7F, sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in HIDDEN_CATEGORIES and not _JSON_SUSPECT.match(chr(c))]
    assert missed == []  # a newer Unicode may add one: widen the class in output/__init__.py
