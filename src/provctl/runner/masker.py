"""Streaming replacement of a secret in a byte stream (``exec --mask``, SPEC §9). Pure: bytes in,
bytes out, no I/O.

Every complete occurrence of the secret becomes ``<masked>``, also when it arrives split across
reads. Output is passed on as it arrives: only a tail that could be the start of the secret is
held back (at most ``len(secret) - 1`` bytes), so a line that does not end in a prefix of the
secret reaches the reader at once. ``feed`` + ``flush`` over any chunking of a stream give
exactly ``stream.replace(secret, b"<masked>")``.
"""

from __future__ import annotations

MASK = b"<masked>"


class Masker:
    def __init__(self, secret: bytes | None):
        self._secret = secret or b""
        self._held = b""

    def __repr__(self) -> str:  # never show the secret (or the held part of it)
        return f"Masker(len={len(self._secret)}, held={len(self._held)})"

    def feed(self, data: bytes) -> bytes:
        """The part of the stream so far that can be passed on now (masked)."""
        secret = self._secret
        if not secret:
            return data
        buf = self._held + data if self._held else data
        # split() matches left to right without overlaps, as bytes.replace() does; only the
        # part after the last whole occurrence may hold the start of the next one
        parts = buf.split(secret)
        rest = parts[-1]
        keep = _prefix_tail(rest, secret)
        if keep:
            self._held = rest[-keep:]
            parts[-1] = rest[:-keep]
        else:
            self._held = b""
        return MASK.join(parts) if len(parts) > 1 else parts[0]

    def flush(self) -> bytes:
        """The held tail at the end of the stream: it can no longer become the secret."""
        held, self._held = self._held, b""
        return held


def _prefix_tail(buf: bytes, secret: bytes) -> int:
    """The length of the longest suffix of ``buf`` that is a proper prefix of ``secret``."""
    first = secret[0]
    start = max(0, len(buf) - len(secret) + 1)
    i = buf.find(first, start)
    while i != -1:  # the earliest start is the longest candidate
        if secret.startswith(buf[i:]):
            return len(buf) - i
        i = buf.find(first, i + 1)
    return 0
