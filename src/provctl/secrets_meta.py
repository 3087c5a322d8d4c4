"""What the database may know about a key: a display hint and a salted fingerprint (SPEC §5)."""

from __future__ import annotations

import hashlib
import hmac


def key_hint(key: str) -> str:
    """First 4 and last 4 characters (`sk-p…dddd`); only the last 4 for keys under 24 characters,
    so the hint never shows more than a third of the key."""
    if len(key) < 24:
        return "…" + key[-4:]
    return key[:4] + "…" + key[-4:]


def fingerprint(salt: str, key: str) -> str:
    return hmac.new(bytes.fromhex(salt), key.encode(), hashlib.sha256).hexdigest()
