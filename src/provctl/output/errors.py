"""Exceptions a user can cause → ``Error:``/``Hint:`` on stderr and an exit code (SPEC §2).

Stdlib only: the Typer app (``cli.ProvctlGroup``, ``cli.main``) and the fast path in
``entry.py`` both call :func:`handle`, so they print exactly the same thing.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from ..errors import ProvctlError
from . import error, warn


# a full disk or a read-only file system is not a permission problem (SPEC §2, issue 10 #19)
_OS_HINTS = {
    errno.ENOSPC: "free some space and try again",
    errno.EDQUOT: "free some space (the disk quota is used up) and try again",
    errno.EFBIG: "raise the file-size limit (ulimit -f unlimited) and try again",
    errno.EROFS: "the file system is read-only: point --db / PROVCTL_DB at a writable place",
}


def debug() -> bool:
    """``PROVCTL_DEBUG=1``: let exceptions through with their traceback."""
    return os.environ.get("PROVCTL_DEBUG", "") not in ("", "0")


def handle(exc: BaseException) -> int:
    """Turn an exception a user can cause into Error:/Hint: and an exit code."""
    for message in getattr(exc, "provctl_warnings", ()):
        warn(message)
    if isinstance(exc, ProvctlError):
        error(exc.message, exc.hint)
        return exc.exit_code
    if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("sqlalchemy"):
        from ..db.file import database_error, sqlite_error

        if sqlite_error(exc) is not None:  # by kind: damaged, full, read-only, ...
            described = database_error(None, exc)
            error(described.message, described.hint)
        else:
            error(f"database error ({type(exc).__name__})", "run `provctl doctor` for a report on the database")
        return 1
    if isinstance(exc, OSError):
        error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
              _OS_HINTS.get(exc.errno, "check the path and its permissions"))
        return 1
    # the type only: a library's message may carry what it was given (a key, say)
    error(f"unexpected {type(exc).__name__}", "run with PROVCTL_DEBUG=1 and report it")
    return 1
