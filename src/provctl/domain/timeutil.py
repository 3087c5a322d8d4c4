"""Timestamps: stored and printed as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), which sorts as text."""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import UsageError
from .text import preview

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(moment: datetime | None = None) -> str:
    return (moment or now()).astimezone(timezone.utc).strftime(FORMAT)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, FORMAT).replace(tzinfo=timezone.utc)


def parse_user_time(text: str) -> str:
    """Parse an ISO-8601 time given by a user (`--expires-at`); naive means UTC."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"cannot parse time {preview(text)}", hint="use ISO-8601, e.g. 2026-12-31T23:59:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return stamp(moment)
    except (OverflowError, ValueError):
        raise UsageError(  # year 1 with a positive offset, say: not representable in UTC
            f"cannot parse time {preview(text)}", hint="use ISO-8601, e.g. 2026-12-31T23:59:00Z"
        ) from None
