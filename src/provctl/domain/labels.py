"""Label and name rules (SPEC §1): trimmed, 1–64 code points, no control or bidi characters."""

from __future__ import annotations

import unicodedata

from ..errors import UsageError

MAX_LEN = 64
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def fold(text: str) -> str:
    """The comparison key of a label or name: NFKC, then casefold (`Straße` = `STRASSE`)."""
    return unicodedata.normalize("NFKC", text).casefold()


def folder():
    """``fold`` with a memo, for bulk work where labels repeat a lot (`Default`, agent names)."""
    memo: dict[str, str] = {}

    def fold_cached(text: str) -> str:
        key = memo.get(text)
        if key is None:
            key = memo[text] = fold(text)
        return key

    return fold_cached


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
    """Refuse (exit 2) a control or bidirectional-control character in a name or label."""
    for ch in text:
        if unicodedata.category(ch) == "Cc" or ch in _BIDI:
            raise UsageError(
                f"{what} contains a control character (U+{ord(ch):04X})",
                hint=f"use printable characters only in {article(what)} {what}",
            )
