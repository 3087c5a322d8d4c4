"""Domain errors. Each carries its exit code (SPEC §2) and an optional hint.

Only ``cli.py`` and ``entry.py`` turn these into output; services raise them.
"""

from __future__ import annotations


class ProvctlError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ProvctlError):
    """Malformed value (exit 2, Click's own code for usage errors)."""
    exit_code = 2


class NotFound(ProvctlError):
    """No such connection, model, agent or lift run (exit 3)."""
    exit_code = 3


class Conflict(ProvctlError):
    """Duplicate, ambiguous or refused change (exit 4)."""
    exit_code = 4


class Unavailable(ProvctlError):
    """Nothing usable, or an endpoint refused or did not answer (exit 5)."""
    exit_code = 5


class SecretStoreError(ProvctlError):
    """No usable keyring backend, or it refused the operation (exit 6)."""
    exit_code = 6


class DatabaseError(ProvctlError):
    """Corrupt, locked, unreadable or too-new database (exit 1)."""
    exit_code = 1


def add_warning(exc: BaseException, message: str) -> None:
    """Attach something the user must know to an error on its way out (a secret left in the
    keyring while undoing): printed as ``Warning:`` before the ``Error:`` line."""
    warnings = getattr(exc, "provctl_warnings", None)
    if warnings is None:
        warnings = []
        exc.provctl_warnings = warnings  # type: ignore[attr-defined]
    warnings.append(message)


EXIT_CODES = (
    (0, "success"),
    (1, "unexpected failure (a bug, a corrupt database, I/O error)"),
    (2, "usage error: unknown option, malformed value"),
    (3, "not found: no such connection, model, agent or lift run"),
    (4, "conflict: duplicate label or attachment, cross-family attachment, ambiguous reference, "
        "refused destructive change"),
    (5, "unavailable: resolve or exec found no usable connection; an endpoint rejected or did not "
        "answer"),
    (6, "secret store unavailable: no usable keyring backend, or it refused the operation"),
)
