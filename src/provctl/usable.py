"""THE definition of "usable" (SPEC §5). `providers list`, `model show`, `model list` and
`resolve` all call :func:`usability`; nothing else decides it. Stdlib only: the resolve fast
path imports it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Mapping, NamedTuple

from .records import ConnectionRow
from .timeutil import parse_stamp

EXPIRY_MARGIN = timedelta(seconds=60)

# Reason codes in the order they are checked (SPEC §5).
LEGACY = "legacy"
DISABLED = "disabled"
FAMILY_MISMATCH = "family_mismatch"
NO_KEY = "no_key"
KEY_MISSING = "key_missing"
KEYRING_UNAVAILABLE = "keyring_unavailable"
EXPIRED = "expired"
PROBE_FAILED = "probe_failed"
ACTIVE = "active"


def key_sources(row: ConnectionRow) -> list[str]:
    """The allowed credential sources in order (`keyring`, `env`)."""
    return [s for s in row.key_source.split(",") if s in ("keyring", "env")]


def env_value(row: ConnectionRow, environ: Mapping[str, str]) -> str | None:
    if not row.key_env:
        return None
    value = environ.get(row.key_env, "").strip()
    return value or None


def stored_sources(row: ConnectionRow, environ: Mapping[str, str]) -> list[str]:
    """Sources that, by stored state and environment (no keyring read), would supply a key."""
    found = []
    for source in key_sources(row):
        if source == "keyring" and row.key_stored:
            found.append(source)
        elif source == "env" and env_value(row, environ) is not None:
            found.append(source)
    return found


class KeyRead(NamedTuple):
    """The outcome of reading a connection's key: the key and its source, or why there is none."""

    key: str | None
    source: str  # keyring | env | none
    reason: str | None  # None when a source yielded (or the connection is local)
    detail: str | None


def read_key(row: ConnectionRow, environ: Mapping[str, str],
             keyring_get: Callable[[str], "str | None"]) -> KeyRead:
    """Read the key of ``row`` in its ``key_source`` order — THE one walk over the sources,
    used by `resolve`, `providers refresh` and `providers show`.

    The keyring is asked only when the database says a key was stored there; ``keyring_get``
    raising ``SecretStoreError`` (or an ``OSError`` from the lock file) makes that source
    unavailable and the walk goes on.
    """
    from .errors import SecretStoreError

    if row.auth_type == "local":
        return KeyRead(None, "none", None, None)
    reason, detail = NO_KEY, "no key in any allowed source"
    for source in key_sources(row):
        if source == "env":
            value = env_value(row, environ)
            if value is not None:
                return KeyRead(value, "env", None, None)
        elif source == "keyring" and row.key_stored:
            try:
                value = (keyring_get(row.id) or "").strip()
            except SecretStoreError as exc:
                reason, detail = KEYRING_UNAVAILABLE, exc.message
                continue
            except OSError as exc:  # e.g. the keyring lock file beside the database
                reason, detail = KEYRING_UNAVAILABLE, f"{exc.strerror or exc}"
                continue
            if value:
                return KeyRead(value, "keyring", None, None)
            reason, detail = (
                KEY_MISSING,
                "the database says a key was stored, but the keyring has no entry for it; "
                "store it again with `provctl providers set-key`",
            )
    return KeyRead(None, "none", reason, detail)


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
    if row.auth_type != "local" and not stored_sources(row, environ):
        return NO_KEY
    if is_expired(row, now):
        return EXPIRED
    return None


def status(row: ConnectionRow, *, now: datetime, environ: Mapping[str, str]) -> str:
    """The `providers list` status column: `active`, or the reason code."""
    return usability(row, now=now, environ=environ) or ACTIVE
