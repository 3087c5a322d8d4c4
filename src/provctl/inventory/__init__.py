"""The files `provctl import` reads: a legacy agent's ``.env`` file (``envfile``) and the JSON
inventory that `provctl export` writes (``document``). Parsing only — no database, no keyring:
every problem of a file is collected and reported at once (exit 2), and the service plans
what the valid entries do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..domain.credentials import Credentials, Validated, validate
from ..errors import UsageError


@dataclass(frozen=True)
class Entry:
    """One connection to import."""

    source: str  # "connections[3]" or "OPENAI_API_KEY (line 2)"
    agent: str | None  # cleaned agent name, None = user-level
    label: str
    v: Validated
    enabled: bool = True


@dataclass(frozen=True)
class ModelEntry:
    """One model to import (inventories only)."""

    source: str
    name: str
    provider: str
    upstream: str  # effective upstream id
    enabled: bool
    default: bool
    refs: list[str]


@dataclass(frozen=True)
class AgentEntry:
    """One agent's access to import (inventories only, SPEC §10)."""

    source: str
    name: str  # cleaned
    display_name: str | None
    access: str  # all | listed
    granted: list[str]  # PROVIDER/AUTH_TYPE/LABEL references


def read_text(path: Path) -> str:
    """The file's text (UTF-8); a missing or unreadable file is a usage error (exit 2)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}", hint="check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {path}: {reason}", hint="check the file and its permissions") from None


def problems_error(problems: list[str], what: str) -> UsageError:
    """Every problem of a file in one usage error: nothing is imported."""
    return UsageError(
        "; ".join(problems),
        hint=f"nothing was imported; fix the {what} and run the import again",
    )


def field_message(exc: Exception) -> str:
    """A validation message that names CLI options, reworded with the inventory's field names."""
    text = getattr(exc, "message", str(exc))
    for option, name in (("--expires-at", "expires_at"), ("--base-url", "base_url"),
                         ("--key-source", "key_source"), ("--key-env", "key_env"),
                         ("--key-stdin / --key-env", "key / key_env")):
        text = text.replace(option, name)
    return text


def validated(provider: str, auth: str | None, base_url: str | None, creds: Credentials) -> Validated:
    """`connect`'s validation, except that an imported entry may have no key at all."""
    return validate(provider, auth, base_url, creds, require_credential=False)
