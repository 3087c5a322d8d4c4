"""Label and name rules (SPEC §1): trimmed, 1–64 code points; no control characters (Cc), no
invisible format characters (Cf: bidi controls, zero-width spaces, the BOM), no line or
paragraph separators (Zl, Zp), and nothing that was not UTF-8 (a lone surrogate)."""

from __future__ import annotations

import unicodedata

from ..errors import UsageError
from . import memoized
from . import text as _text

MAX_LEN = 64


def fold(text: str) -> str:
    """The comparison key of a label or name: NFKC, then casefold (`Straße` = `STRASSE`)."""
    return unicodedata.normalize("NFKC", text).casefold()


def folder():
    """``fold`` with a memo, for bulk work where labels repeat a lot (`Default`, agent names)."""
    return memoized(fold)


def article(word: str) -> str:
    """`a` or `an` before ``word`` in a message (by sound: "a user", "an upstream id")."""
    if word.startswith(("us", "uni", "eu")):
        return "a"
    return "an" if word[:1] in "aeiou" else "a"



def clean(raw: str, what: str = "label") -> str:
    """Return the trimmed label, or raise a usage error (exit 2) naming the problem."""
    text = raw.strip()
    if not text:
        raise UsageError(f"{what} must not be empty", hint=f"give {article(what)} {what} of 1–{MAX_LEN} characters")
    if len(text) > MAX_LEN:
        raise UsageError(f"{what} is {len(text)} characters long; the limit is {MAX_LEN}")
    check_chars(text, what)
    return text


def check_chars(text: str, what: str) -> None:
    """Refuse (exit 2) a name or label holding a control, invisible or separator character, or
    bytes that were not UTF-8: two labels that look the same must compare the same (SPEC §1)."""
    ch = _text.hidden_char(text)
    if ch is not None:
        raise UsageError(
            f"{what} contains {_text.kind(ch)}",
            hint=f"use printable characters only in {article(what)} {what}"
            + (" (provctl reads arguments and files as UTF-8)"
               if unicodedata.category(ch) == "Cs" else ""),
        )
