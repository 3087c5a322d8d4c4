"""Credentials (SPEC §5, §6 connect), stdlib only: what the database may know about a key (a
display hint and a salted fingerprint), the rules for what a user gives (the key itself, the
``--key-env`` variable name, the ``--key-source`` order, the expiry), THE walk over a
connection's key sources (used by resolve, refresh and show), and connect's decision table
(same label / same key), which `import` applies to user-level entries too.
"""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

from ..errors import Conflict, SecretStoreError, UsageError
from . import timeutil
from .text import hidden_char, is_utf8, preview
from .families import LOCAL, SUBSCRIPTION, check_auth, check_base_url, family
from .rows import ConnectionRow

# The resolve fast path imports this module for the key walk: what only connect, set-key and
# import need (hashlib, hmac, the reference rules) is imported where it is used, and the
# shapes below are NamedTuples, cheaper to create at import than dataclasses.

KEYRING, ENV, NONE = "keyring", "env", "none"
KEY_SOURCES = ("keyring", "env", "keyring,env", "env,keyring")

# reasons a key walk can end with (the same codes as the usable predicate's, SPEC §5)
NO_KEY = "no_key"
KEY_MISSING = "key_missing"
KEYRING_UNAVAILABLE = "keyring_unavailable"



# ---------------------------------------------------------------- what the database keeps


def key_hint(key: str) -> str:
    """First 4 and last 4 characters (`sk-p…dddd`); only the last 4 for keys under 24 characters,
    so the hint never shows more than a third of the key (keys under 12 characters show
    fewer than 4)."""
    if len(key) < 24:
        shown = min(4, len(key) // 3)  # short keys: never more than a third
        return "…" + (key[-shown:] if shown else "")
    return key[:4] + "…" + key[-4:]


def fingerprint(salt: str, key: str) -> str:
    import hashlib
    import hmac

    return hmac.new(bytes.fromhex(salt), key.encode(), hashlib.sha256).hexdigest()


def needs_key(auth_type: str) -> bool:
    """api_key and subscription connections need a secret; local ones take none."""
    return auth_type != LOCAL


# ---------------------------------------------------------------- what a user gives


def is_env_name(name: str) -> bool:
    """An environment variable name: ASCII ``[A-Za-z_][A-Za-z0-9_]*`` (so ``KEY²`` is not one)."""
    return (name.isascii() and name[:1] != "" and not name[0].isdigit()
            and all(c.isalnum() or c == "_" for c in name))


def check_key_env(name: str | None) -> str | None:
    """The ``--key-env`` / ``key_env`` variable name, trimmed, or a usage error (exit 2)."""
    if name is None:
        return None
    name = name.strip()
    if not is_env_name(name):
        raise UsageError(f"invalid environment variable name {preview(name)}",
                         hint="a name of letters, digits and _, e.g. --key-env OPENAI_API_KEY")
    return name


def check_key(key: str | None) -> str | None:
    """The key trimmed; an empty or blank key is a usage error (exit 2)."""
    if key is None:
        return None
    key = key.strip()
    if not key:
        raise UsageError("the key is empty", hint="pass the key on stdin (--key-stdin) or at the prompt")
    if not is_utf8(key):  # never echoed: it is the secret
        raise UsageError("the key is not valid UTF-8", hint="give the key as UTF-8 text")
    if hidden_char(key) is not None:
        raise UsageError("the key contains a control or invisible character",
                         hint="give the key alone, as printable text (one key, on one line)")
    return key


def key_source_order(given: str | None, key_env: str | None) -> str:
    """The allowed key sources: as given (validated), else `keyring,env` with a key variable."""
    if given is None:
        return "keyring,env" if key_env else "keyring"
    value = given.replace(" ", "")
    if value not in KEY_SOURCES:
        raise UsageError(f"invalid --key-source {preview(given)}", hint="use one of: " + ", ".join(KEY_SOURCES))
    if value == "env" and not key_env:
        raise UsageError("--key-source env needs --key-env VAR")
    return value


class Credentials(NamedTuple):
    """What a user gave for a credential. ``key`` is the secret itself (never stored in the DB)."""

    key: str | None = None
    key_env: str | None = None
    key_source: str | None = None
    expires_at: str | None = None  # raw user text

    def __repr__(self) -> str:  # never show the secret in a log or a failing assertion
        return (f"Credentials(key={'***' if self.key is not None else None}, key_env={self.key_env!r}, "
                f"key_source={self.key_source!r}, expires_at={self.expires_at!r})")


class Validated(NamedTuple):
    """A connection's values after validation: what `connect` and `import` store."""

    provider: str
    auth_type: str
    base_url: str | None  # None: the family default
    key: str | None = None
    key_env: str | None = None
    key_source: str = KEYRING
    expires_at: str | None = None

    def __repr__(self) -> str:
        return (f"Validated({self.provider}/{self.auth_type}, base_url={self.base_url!r}, "
                f"key={'***' if self.key is not None else None}, key_env={self.key_env!r})")


def validate(provider: str, auth: str | None, base_url: str | None, creds: Credentials,
             *, require_credential: bool) -> Validated:
    """Check a provider, auth type, base URL and credential as `connect` takes them.

    ``require_credential``: an api_key/subscription connection needs a key or a key variable
    (`connect`; imported entries may have neither).
    """
    fam = family(provider)
    auth_type = check_auth(fam, auth or fam.default_auth)
    url = check_base_url(base_url) if base_url is not None else None
    if fam.default_base_url is None and url is None:
        raise UsageError(f"{fam.name} needs --base-url", hint=f"e.g. provctl connect {fam.name} --base-url http://127.0.0.1:8000/v1")
    if url is not None and url == fam.default_base_url:
        url = None  # the family default is stored as null
    key, key_env = check_key(creds.key), check_key_env(creds.key_env)
    if not needs_key(auth_type) and (key is not None or key_env is not None):
        raise UsageError("a local connection takes no key", hint="drop --key-stdin / --key-env")
    if creds.expires_at is not None and auth_type != SUBSCRIPTION:
        raise UsageError("--expires-at applies to subscription connections only")
    expires = timeutil.parse_user_time(creds.expires_at) if creds.expires_at is not None else None
    if require_credential and needs_key(auth_type) and key is None and key_env is None:
        raise UsageError(
            f"{'an' if auth_type == 'api_key' else 'a'} {auth_type} connection needs a key",
            hint="pipe it with --key-stdin, type it at the prompt, or name a variable with --key-env VAR",
        )
    source = key_source_order(creds.key_source, key_env)
    if key is not None and source == ENV:
        raise UsageError("--key-source env ignores the key given; drop the key or allow keyring")
    return Validated(fam.name, auth_type, url, key, key_env, source, expires)


# ---------------------------------------------------------------- connect's decision table


class Decision(NamedTuple):
    """What `connect` (and `import` for user-level entries) does with a label and key."""

    action: str  # create | unchanged | enable | replace | relabel
    target: ConnectionRow | None = None


def decide(peers: list[ConnectionRow], label_key: str, fp: str | None, v: Validated, *,
           replace: bool = False, key_optional: bool = False) -> Decision:
    """The same-label and same-key rules of SPEC §6 connect, over the user-level ``peers`` of
    (user, provider, auth type). Raises Conflict where connect refuses.

    ``key_optional`` (import): an entry without a key does not compare keys with the existing
    connection (an export carries no keys), so re-importing it is a no-op.
    """
    from . import refs

    same_label = next((r for r in peers if r.label_key == label_key), None)
    same_key = next((r for r in peers if fp is not None and r.key_fingerprint == fp), None)

    if same_label is not None:
        differs = [
            name for name, old, new in (
                ("key", same_label.key_fingerprint, fp),
                ("--key-env", same_label.key_env, v.key_env),
                ("base URL", same_label.base_url, v.base_url),
                ("expiry", same_label.expires_at, v.expires_at),
            ) if old != new and not (name == "key" and key_optional and v.key is None)
        ]
        if not differs:
            return Decision("unchanged" if same_label.enabled else "enable", same_label)
        if not replace:
            raise Conflict(
                f"{same_label.ref} already exists with a different {', '.join(differs)}",
                hint="add --replace to store the new values in it, or choose another --label",
            )
        if same_key is not None and same_key.id != same_label.id:
            raise Conflict(
                f"this key is already stored on {refs.describe(same_key)}",
                hint="one key, one connection: remove or re-key that connection first",
            )
        return Decision("replace", same_label)

    if same_key is not None:
        if same_key.enabled:
            raise Conflict(
                f"this key is already stored on {refs.describe(same_key)}",
                hint="one key, one connection: use that connection, or rename it with "
                "`provctl providers rename`",
            )
        differs = [n for n, old, new in (("base URL", same_key.base_url, v.base_url),
                                         ("expiry", same_key.expires_at, v.expires_at)) if old != new]
        if differs and not replace:
            raise Conflict(
                f"this key belongs to the disabled connection {refs.describe(same_key)}, "
                f"which has a different {', '.join(differs)}",
                hint="add --replace to re-enable it with the new values",
            )
        return Decision("relabel", same_key)
    return Decision("create")


# ---------------------------------------------------------------- THE key-source walk


def key_sources(row: ConnectionRow) -> list[str]:
    """The allowed credential sources in order (`keyring`, `env`)."""
    return [s for s in row.key_source.split(",") if s in (KEYRING, ENV)]


def env_value(row: ConnectionRow, environ: Mapping[str, str]) -> str | None:
    if not row.key_env:
        return None
    value = environ.get(row.key_env, "").strip()
    return value or None


def stored_sources(row: ConnectionRow, environ: Mapping[str, str]) -> list[str]:
    """Sources that, by stored state and environment (no keyring read), would supply a key."""
    found = []
    for source in key_sources(row):
        if source == KEYRING and row.key_stored:
            found.append(source)
        elif source == ENV and env_value(row, environ) is not None:
            found.append(source)
    return found


class KeyLookup(NamedTuple):
    """The outcome of looking up a connection's key: the key and its source, or why there is none."""

    key: str | None
    source: str  # keyring | env | none
    reason: str | None  # None when a source yielded (or the connection is local)
    detail: str | None

    def __repr__(self) -> str:  # never show the secret in a log or a failing assertion
        return (f"KeyLookup(key={'***' if self.key is not None else None}, source={self.source!r}, "
                f"reason={self.reason!r})")


def lookup_key(row: ConnectionRow, environ: Mapping[str, str],
               keyring_get: Callable[[str], "str | None"]) -> KeyLookup:
    """Look up the key of ``row`` in its ``key_source`` order — THE one walk over the sources,
    used by `resolve`, `providers refresh` and `providers show`.

    The keyring is asked only when the database says a key was stored there; ``keyring_get``
    raising ``SecretStoreError`` (or an ``OSError`` from the lock file) makes that source
    unavailable and the walk goes on.
    """
    if not needs_key(row.auth_type):
        return KeyLookup(None, NONE, None, None)
    reason, detail = NO_KEY, "no key in any allowed source"
    for source in key_sources(row):
        if source == ENV:
            value = env_value(row, environ)
            if value is not None:
                return KeyLookup(value, ENV, None, None)
        elif source == KEYRING and row.key_stored:
            try:
                value = (keyring_get(row.id) or "").strip()
            except SecretStoreError as exc:
                reason, detail = KEYRING_UNAVAILABLE, exc.message
                continue
            except OSError as exc:  # e.g. the keyring lock file beside the database
                reason, detail = KEYRING_UNAVAILABLE, f"{exc.strerror or exc}"
                continue
            if value:
                return KeyLookup(value, KEYRING, None, None)
            reason, detail = (
                KEY_MISSING,
                "the database says a key was stored, but the keyring has no entry for it; "
                "store it again with `provctl providers set-key`",
            )
    return KeyLookup(None, NONE, reason, detail)
