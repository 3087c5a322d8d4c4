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


def _corrupt(path: Path, exc: Exception) -> DatabaseError:
    return DatabaseError(
        f"cannot read the database {path}: {exc}",
        hint="the file is not a provctl database or is damaged; restore it from a "
        "provctl.db.bak-* copy beside it, or point --db / PROVCTL_DB elsewhere",
    )


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
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise _locked(path) from exc
        raise _corrupt(path, exc) from exc
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, exc) from exc
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
        raise _corrupt(path, exc) from exc
    return conn
