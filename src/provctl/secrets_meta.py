"""What the database may know about a key: a display hint and a salted fingerprint (SPEC §5)."""

from __future__ import annotations

import hashlib
import hmac


def key_hint(key: str) -> str:
    """First 4 and last 4 characters (`sk-p…dddd`); only the last 4 for keys under 24 characters,
    so the hint never shows more than a third of the key (keys under 12 characters show
    fewer than 4)."""
    if len(key) < 24:
        shown = min(4, len(key) // 3)  # short keys: never more than a third
        return "…" + (key[-shown:] if shown else "")
    return key[:4] + "…" + key[-4:]


def fingerprint(salt: str, key: str) -> str:
    return hmac.new(bytes.fromhex(salt), key.encode(), hashlib.sha256).hexdigest()
