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


MAX_FILE_BYTES = 50 * 1024 * 1024  # SPEC §2: an input file over 50 MB is exit 2


@dataclass(frozen=True)
class AgentEntry:
    """One agent's access to import (inventories only, SPEC §10)."""

    source: str
    name: str  # cleaned
    display_name: str | None
    access: str  # all | listed
    granted: list[str]  # PROVIDER/AUTH_TYPE/LABEL references


def read_text(path: Path) -> str:
    """The text of an input file (SPEC §2): a regular file of at most 50 MB, UTF-8 with or
    without a BOM. A FIFO, device or directory is refused without blocking (the file is
    opened non-blocking and checked before a byte is read); anything else that cannot be
    read is a usage error too (exit 2)."""
    import os
    import stat

    from ..domain.text import escape

    shown = escape(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise UsageError(f"no such file: {shown}", hint="check the path") from None
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or type(exc).__name__}",
                         hint="check the file and its permissions") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)"
                    if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise UsageError(f"{shown} is {what}, not a regular file",
                             hint="import reads a regular file; save the data to a file first")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror or type(exc).__name__}",
                         hint="check the file and its permissions") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{shown} is larger than 50 MB", hint="an inventory or .env file is far smaller; "
                         "check that this is the right file")
    try:
        return data.decode("utf-8-sig")  # a UTF-8 BOM (Windows editors) is accepted
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{shown} is not UTF-8 text (line {line}, byte {exc.start + 1})",
                         hint="save the file as UTF-8") from None


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
