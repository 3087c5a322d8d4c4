"""THE definition of "usable" (SPEC §5). `providers list`, `model show`, `model list`, `doctor`
and `resolve` all call :func:`usability`; nothing else decides it. Stdlib only: the resolve
fast path imports it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Container, Iterable, Mapping

from .credentials import KEY_MISSING, KEYRING_UNAVAILABLE, NO_KEY, needs_key, stored_sources
from .rows import ConnectionRow
from .timeutil import parse_stamp

EXPIRY_MARGIN = timedelta(seconds=60)

# Reason codes in the order they are checked (SPEC §5).
LEGACY = "legacy"
AGENT_DENIED = "agent_denied"
DISABLED = "disabled"
FAMILY_MISMATCH = "family_mismatch"
EXPIRED = "expired"
PROBE_FAILED = "probe_failed"
ACTIVE = "active"

# An agent's access mode (SPEC §10): every user-level connection of its user, or only those
# granted to it. Here, with the predicate that applies it (the hot path imports this module).
ACCESS_ALL, ACCESS_LISTED = "all", "listed"
ACCESS_MODES = (ACCESS_ALL, ACCESS_LISTED)
REASONS = (LEGACY, AGENT_DENIED, DISABLED, FAMILY_MISMATCH, NO_KEY, KEY_MISSING, KEYRING_UNAVAILABLE, EXPIRED,
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
    granted: Container[str] | None = None,
) -> str | None:
    """None when usable by its stored state, else the first reason code that applies.

    ``granted``: None when there is no access check (no ``--agent``, or an agent whose access
    is ``all``); for a ``listed`` agent, the ids of the connections granted to it (at least
    those among the rows judged), and any other connection is ``agent_denied``.

    The keyring-dependent reasons (`key_missing`, `keyring_unavailable`) and `probe_failed`
    are found by `resolve` when it reads the secret of the connection it is about to select.
    """
    if row.agent_id is not None:
        return LEGACY
    if granted is not None and row.id not in granted:
        return AGENT_DENIED
    if not row.enabled:
        return DISABLED
    if model_provider is not None and row.provider != model_provider:
        return FAMILY_MISMATCH
    return key_reason(row, now=now, environ=environ)


def key_reason(row: ConnectionRow, *, now: datetime, environ: Mapping[str, str]) -> str | None:
    """The credential part of :func:`usability` (its last checks, in its order): `no_key` or
    `expired`, else None — whatever else the row is (legacy, disabled). `import` asks this of
    every connection it creates, to name those that still need a key."""
    if needs_key(row.auth_type) and not stored_sources(row, environ):
        return NO_KEY
    if is_expired(row, now):
        return EXPIRED
    return None


def status(row: ConnectionRow, *, now: datetime, environ: Mapping[str, str]) -> str:
    """The `providers list` status column: `active`, or the reason code."""
    return usability(row, now=now, environ=environ) or ACTIVE


def first_usable(rows: Iterable[ConnectionRow], model_provider: str, *, now: datetime,
                 environ: Mapping[str, str],
                 granted: Container[str] | None = None) -> ConnectionRow | None:
    """The first of ``rows`` (a priority list) usable by its stored state for a model of
    ``model_provider`` (and for the agent whose ``granted`` ids are given): what `resolve`
    would select when every stored key is in the keyring."""
    return next((r for r in rows
                 if usability(r, now=now, environ=environ, model_provider=model_provider,
                              granted=granted) is None), None)
