"""Exceptions a user can cause → ``Error:``/``Hint:`` on stderr and an exit code (SPEC §2).

Stdlib only: the Typer app (``cli.ProvctlGroup``, ``cli.main``) and the fast path in
``entry.py`` both call :func:`handle`, so they print exactly the same thing.
"""

from __future__ import annotations

import os
import sqlite3

from ..errors import ProvctlError
from . import error


def debug() -> bool:
    """``PROVCTL_DEBUG=1``: let exceptions through with their traceback."""
    return os.environ.get("PROVCTL_DEBUG", "") not in ("", "0")


def handle(exc: BaseException) -> int:
    """Turn an exception a user can cause into Error:/Hint: and an exit code."""
    if isinstance(exc, ProvctlError):
        error(exc.message, exc.hint)
        return exc.exit_code
    text = str(exc)
    if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("sqlalchemy"):
        if "locked" in text or "busy" in text:
            error("the database is locked by another process", "try again when it has finished")
        else:
            error(f"database error: {text.splitlines()[0] if text else type(exc).__name__}",
                  "run `provctl doctor`; restore from a provctl.db.bak-* copy if the file is damaged")
        return 1
    if isinstance(exc, OSError):
        error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
              "check the path and its permissions")
        return 1
    error(f"unexpected {type(exc).__name__}: {text}", "run with PROVCTL_DEBUG=1 and report it")
    return 1
