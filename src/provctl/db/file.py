"""Opening the database file: schema check without Alembic, migration under a lock (stdlib only).

The hot paths call :func:`ensure_schema`; when the schema is at head it costs one small query
and never imports Alembic or SQLAlchemy.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from ..errors import DatabaseError
from . import revisions
from .lockfile import LockTimeout, locked
from .paths import ensure_private_file

BUSY_TIMEOUT_S = 30.0  # every connection, stdlib or SQLAlchemy, waits this long for a lock


DAMAGED_HINT = (
    "the file is damaged or is not a provctl database (`provctl doctor` reports on it); restore "
    "it from a provctl.db.bak-* copy beside it, or point --db / PROVCTL_DB elsewhere"
)


def _corrupt(path: Path, exc: Exception) -> DatabaseError:
    return DatabaseError(f"cannot read the database {path}: {exc}", hint=DAMAGED_HINT)


def sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind ``exc`` (itself, or what SQLAlchemy wrapped), else None."""
    if isinstance(exc, sqlite3.Error):
        return exc
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, sqlite3.Error) else None


def _size_limited() -> bool:
    """A file-size limit (``ulimit -f``) is in effect for this process."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        return soft != resource.RLIM_INFINITY
    except (ImportError, OSError, ValueError):
        return False


def _may_open(path: Path) -> bool:
    """We may read and write ``path`` (if it exists) and create files in its folder."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return False
    return not folder.exists() or os.access(folder, os.W_OK | os.X_OK)


def database_error(path: Path | None, exc: BaseException) -> DatabaseError:
    """A failure of SQLite on the database as a provctl error: what went wrong and what to
    do, by kind (SPEC §2). Only a file SQLite calls malformed or not a database gets the
    backup advice: a full disk, a read-only folder, a permission, a file-size limit or a path
    that is a directory are not damage, and restoring an old copy over good data would lose it."""
    err = sqlite_error(exc)
    name = (getattr(err, "sqlite_errorname", None) or "") if err is not None else ""
    raw = str(err) if err is not None else str(exc)
    text = raw.splitlines()[0] if raw else (name or type(exc).__name__)
    where = f"the database {path}" if path is not None else "the database"
    elsewhere = "point --db / PROVCTL_DB elsewhere"
    if path is not None and path.is_dir():
        return DatabaseError(f"{where} is a directory, not a file",
                             hint=f"point --db / PROVCTL_DB at a file, such as {path / 'provctl.db'}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or (not name and ("locked" in text or "busy" in text)):
        return DatabaseError(f"{where} is locked by another process",
                             hint="wait for the other provctl process to finish and try again")
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return DatabaseError(
            f"{where} is read-only: SQLite cannot write the file or create its -wal/-shm files beside it",
            hint=f"make the file and its folder writable for you, or {elsewhere}")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in text:
        if path is not None and not _may_open(path):
            return DatabaseError(f"cannot open {where}: permission denied",
                                 hint="check the permissions of the file and its folder (provctl makes "
                                 f"them 0600 and 0700 for their owner), or {elsewhere}")
        return DatabaseError(f"cannot open {where}",
                             hint=f"check that its folder exists and is writable for you, or {elsewhere}")
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return DatabaseError(f"the disk holding {where} is full",
                             hint="free some space and try again (the unfinished change was rolled back)")
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        if _size_limited():
            return DatabaseError(f"writing {where} went past this shell's file-size limit (ulimit -f)",
                                 hint="raise the limit (ulimit -f unlimited) and try again")
        return DatabaseError(f"an I/O error on {where} ({name or text})",
                             hint="check the disk and its file system (full, removed, read-only?) and "
                             "try again")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
        return DatabaseError(f"cannot read {where}: {text}", hint=DAMAGED_HINT)
    return DatabaseError(f"database error on {where}: {text}",
                         hint="run `provctl doctor` for a report on the database")


def _locked(path: Path) -> DatabaseError:
    return DatabaseError(
        f"the database {path} is locked by another process",
        hint="wait for the other provctl process to finish and try again",
    )


def stamped_revision(path: Path) -> str | None:
    """The schema revision recorded in the file, or None for an empty/missing one."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise _corrupt(path, Exception("it has tables but no provctl schema")) from exc
                return None
            raise
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise database_error(path, exc) from exc
    return row[0] if row else None


def check_known(path: Path, revision: str | None) -> None:
    if revision is not None and revision not in revisions.REVISIONS:
        raise DatabaseError(
            f"the database {path} has schema revision {revision}, newer than this provctl "
            f"knows (head {revisions.HEAD})",
            hint="upgrade provctl (pip install -U provctl), or use --db for another database",
        )


def ensure_schema(path: Path) -> None:
    """Create or upgrade the database so that its schema is at head."""
    revision = stamped_revision(path)
    if revision == revisions.HEAD:
        return
    check_known(path, revision)
    upgrade(path)


def upgrade(path: Path, *, announce: bool = True) -> tuple[str | None, str, Path | None]:
    """Upgrade to head under an exclusive lock (parallel first use is safe).

    Returns (from revision, to revision, backup path or None).
    """
    ensure_private_file(path)
    try:
        with locked(lock_path(path, "schema"), exclusive=True, deadline=120):
            revision = stamped_revision(path)
            check_known(path, revision)
            if revision == revisions.HEAD:
                return revision, revision, None
            backup = None
            if revision is not None:
                backup = path.with_name(f"{path.name}.bak-{revision}")
                backup_copy(path, backup)
            from .migrate import run_upgrade  # Alembic only when there is work to do

            run_upgrade(path)
    except LockTimeout:
        raise _locked(path) from None
    except Exception as exc:  # SQLite under Alembic: a full disk, a read-only folder, ...
        if sqlite_error(exc) is None:
            raise
        raise database_error(path, exc) from exc
    if announce and revision is not None:
        from ..domain.text import escape

        print(
            f"provctl: upgraded the database schema from {revision} to {revisions.HEAD} "
            f"(backup: {escape(backup)})",
            file=sys.stderr,
        )
    return revision, revisions.HEAD, backup


def lock_path(db: Path, what: str) -> Path:
    return db.with_name(f"{db.name}.{what}.lock")


def backup_copy(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's backup API (a file copy would miss the WAL)."""
    ensure_private_file(target)
    os.chmod(target, 0o600)
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only stdlib connection for the read paths (list, show, resolve)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    except sqlite3.DatabaseError as exc:
        raise database_error(path, exc) from exc
    return conn


def peek(path: Path, *, timeout: float = 0.05) -> sqlite3.Connection | None:
    """A read-only connection for shell completion, or None: it never creates the file (or its
    folder), never migrates, and waits at most ``timeout`` for a lock (a query that meets one
    raises ``sqlite3.OperationalError``)."""
    if not path.is_file():
        return None
    uri = path.absolute().as_uri() + "?mode=ro"  # as_uri: a `?` or `#` in the path is data
    conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


def configure_writer(conn) -> None:
    """The setup of every connection that writes (the SQLAlchemy engine's and
    :func:`connect_writer`'s): no implicit transactions (the caller issues ``BEGIN IMMEDIATE``),
    the busy timeout, WAL, foreign keys."""
    conn.isolation_level = None
    cur = conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def connect_writer(path: Path) -> sqlite3.Connection:
    """A stdlib connection for a write transaction without SQLAlchemy (``uow.DriverUnitOfWork``)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        configure_writer(conn)
    except BaseException:
        conn.close()
        raise
    return conn
