"""THE definition of "usable" (SPEC §5). `providers list`, `model show`, `model list`, `doctor`
and `resolve` all call :func:`usability`; nothing else decides it. Stdlib only: the resolve
fast path imports it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Mapping

from .credentials import KEY_MISSING, KEYRING_UNAVAILABLE, NO_KEY, needs_key, stored_sources
from .rows import ConnectionRow
from .timeutil import parse_stamp

EXPIRY_MARGIN = timedelta(seconds=60)

# Reason codes in the order they are checked (SPEC §5).
LEGACY = "legacy"
DISABLED = "disabled"
FAMILY_MISMATCH = "family_mismatch"
EXPIRED = "expired"
PROBE_FAILED = "probe_failed"
ACTIVE = "active"
REASONS = (LEGACY, DISABLED, FAMILY_MISMATCH, NO_KEY, KEY_MISSING, KEYRING_UNAVAILABLE, EXPIRED,
           PROBE_FAILED)


def is_expired(row: ConnectionRow, now: datetime) -> bool:
    if row.auth_type != "subscription" or not row.expires_at:
        return False
    return parse_stamp(row.expires_at) <= now + EXPIRY_MARGIN


def usability(
    row: ConnectionRow,
    *,
    now: datetime,
    environ: Mapping[str, str],
    model_provider: str | None = None,
) -> str | None:
    """None when usable by its stored state, else the first reason code that applies.

    The keyring-dependent reasons (`key_missing`, `keyring_unavailable`) and `probe_failed`
    are found by `resolve` when it reads the secret of the connection it is about to select.
    """
    if row.agent_id is not None:
        return LEGACY
    if not row.enabled:
        return DISABLED
    if model_provider is not None and row.provider != model_provider:
        return FAMILY_MISMATCH
    if needs_key(row.auth_type) and not stored_sources(row, environ):
        return NO_KEY
    if is_expired(row, now):
        return EXPIRED
    return None


def status(row: ConnectionRow, *, now: datetime, environ: Mapping[str, str]) -> str:
    """The `providers list` status column: `active`, or the reason code."""
    return usability(row, now=now, environ=environ) or ACTIVE


def first_usable(rows: Iterable[ConnectionRow], model_provider: str, *, now: datetime,
                 environ: Mapping[str, str]) -> ConnectionRow | None:
    """The first of ``rows`` (a priority list) usable by its stored state for a model of
    ``model_provider``: what `resolve` would select when every stored key is in the keyring."""
    return next((r for r in rows
                 if usability(r, now=now, environ=environ, model_provider=model_provider) is None), None)
