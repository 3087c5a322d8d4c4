"""Text that users and endpoints supply (SPEC §1, §2): which characters a name may hold, how a
value that fails validation is echoed, and how undecodable bytes show up.

Python decodes argv, environment variables and (in the C locale) stdin with
``surrogateescape``: a byte that is not UTF-8 arrives as a lone surrogate (U+DC80–U+DCFF).
So "not valid UTF-8" is "holds a surrogate" once the text is a ``str``.
"""

from __future__ import annotations

import unicodedata

# Cc: controls (C0, DEL, C1); Cf: invisible format characters (bidi controls, zero-width
# spaces, the BOM, soft hyphen, ...); Zl/Zp: line and paragraph separators; Cs: surrogates.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
PREVIEW_CHARS = 8


def is_utf8(text: str) -> bool:
    """False when ``text`` holds a lone surrogate: bytes that were not UTF-8 (or a JSON
    ``\\udXXX`` escape that names half a character)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def hidden_char(text: str) -> str | None:
    """The first control, invisible format, separator or surrogate character in ``text``."""
    if text.isprintable():  # C speed; only Zs (other than space), Co and Cn pass to the loop
        return None
    for ch in text:
        if unicodedata.category(ch) in HIDDEN_CATEGORIES:
            return ch
    return None


def kind(ch: str) -> str:
    """How a message names a refused character: its kind and code point."""
    category = unicodedata.category(ch)
    if category == "Cs":
        return "bytes that are not UTF-8"
    if category == "Cc" or 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069:
        word = "a control character"  # C0/C1 controls and the bidirectional controls
    elif category in ("Zl", "Zp"):
        word = "a line or paragraph separator"
    else:
        word = "an invisible character"
    return f"{word} (U+{ord(ch):04X})"


def preview(value: str) -> str:
    """A rejected value as an error may echo it (SPEC §2): at most its first 8 characters and
    its length, since it may be a key typed into the wrong field. Characters that are not
    printable are escaped (``\\x1b``) here already, because the length must stay honest."""
    head = value[:PREVIEW_CHARS]
    shown = "".join(escape_char(ch) if not ch.isprintable() else ch for ch in head)
    if len(value) <= PREVIEW_CHARS:
        return f"'{shown}'"
    return f"'{shown}…' ({len(value)} characters)"


def escape(text: object) -> str:
    """``text`` as a terminal may show it: control (C0, DEL, C1), invisible format (bidi
    controls, zero-width, BOM), separator and surrogate characters escaped as ``\\x1b`` /
    ``\\u200b``. Printable text comes back unchanged (one C-speed check). Backslashes are
    left alone: the escaped form is for reading; ``--json`` gives the exact value."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(escape_char(ch) if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch
                   for ch in text)


def escape_char(ch: str) -> str:
    """``\\x1b``, ``\\u200b`` or ``\\U000e0001``; a surrogate from undecodable input is shown
    as the byte it stands for (``\\xff``)."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
