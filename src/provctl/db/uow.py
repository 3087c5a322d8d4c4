"""Unit of work: one ``BEGIN IMMEDIATE`` transaction per command — a SQLModel session
(:class:`UnitOfWork`), or, for a service whose writes are all set-based SQL on the driver
connection (import: ``db.bulk``), a stdlib sqlite3 connection (:class:`DriverUnitOfWork`),
which spares importing SQLAlchemy and SQLModel (~0.4 s).

Both keep the same contract: ``execute`` for ``db.read``, ``driver()`` for set-based SQL,
``commit()``, ``rollback()``, and :meth:`checkpoint` — commit and begin again on the same
connection, telling whether another process wrote in between (the keyring journal needs it).
``with uow:`` rolls back unless ``uow.commit()`` was called, so a service never half-writes,
and SQLite's failures (a full disk, a read-only file, damage) leave it as provctl errors that
name the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..errors import add_warning
from .file import database_error, sqlite_error

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlmodel import Session


def _translated(path: Path, exc: BaseException) -> BaseException:
    """SQLite's failure as a provctl error that names the file; warnings already attached to
    ``exc`` go along."""
    if not isinstance(exc, Exception) or sqlite_error(exc) is None:
        return exc
    error = database_error(path, exc)
    for message in getattr(exc, "provctl_warnings", ()):
        add_warning(error, message)
    return error


class UnitOfWork:
    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.path = Path(engine.url.database or "")
        self.connection: "Connection | None" = None
        self.session: "Session | None" = None

    def __enter__(self) -> "UnitOfWork":
        from sqlmodel import Session

        try:
            self.connection = self.engine.connect()
        except Exception as exc:
            raise _translated(self.path, exc) from exc
        try:
            self.session = Session(bind=self.connection, expire_on_commit=False)
            self.session.connection()  # begins now: BEGIN IMMEDIATE takes the write lock up front
        except BaseException as exc:
            self.connection.close()
            raise _translated(self.path, exc) from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.session is not None and self.connection is not None
        try:
            self.session.rollback()
        except Exception:
            if exc is None:
                raise
        finally:
            self.session.close()
            self.connection.close()
            self.session = self.connection = None
        if exc is not None and sqlite_error(exc) is not None:
            raise _translated(self.path, exc) from exc

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()

    def rollback(self) -> None:
        """Drop what the current transaction wrote; the next statement begins a new one."""
        assert self.session is not None
        self.session.rollback()

    def checkpoint(self) -> bool:
        """Commit what this transaction wrote and begin the next one at once, on the same
        connection (the keyring journal must be durable before the keyring is touched).

        True when no other connection committed in between, so that what was read before
        still holds; False means the caller must decide again (SQLite's ``data_version``
        changes exactly when another connection commits)."""
        assert self.session is not None
        before = self._data_version()
        self.session.commit()
        self.session.connection()  # BEGIN IMMEDIATE again
        return self._data_version() == before

    def _data_version(self) -> int:
        assert self.session is not None
        return self.session.connection().exec_driver_sql("PRAGMA data_version").scalar()

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Iterable[tuple]:
        """Run a read statement inside this transaction (``db.read``'s functions take it)."""
        assert self.session is not None
        return self.session.connection().exec_driver_sql(sql, params or None).all()

    def driver(self):
        """The stdlib sqlite3 connection inside this transaction, for ``db.lift``'s and
        ``db.journal``'s statements (no per-row SQLAlchemy objects; executemany takes a
        generator)."""
        assert self.session is not None
        return self.session.connection().connection.driver_connection


class DriverUnitOfWork:
    """The same contract as :class:`UnitOfWork` on a stdlib connection set up as the engine's
    (``file.connect_writer``), in one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = None

    def __enter__(self) -> "DriverUnitOfWork":
        from .file import connect_writer

        try:
            self.conn = connect_writer(self.path)
        except Exception as exc:
            raise _translated(self.path, exc) from exc
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # the write lock up front, as UnitOfWork takes it
        except BaseException as exc:
            self.conn.close()
            raise _translated(self.path, exc) from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.conn is not None
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except Exception:
            if exc is None:
                raise
        finally:
            self.conn.close()
            self.conn = None
        if exc is not None and sqlite_error(exc) is not None:
            raise _translated(self.path, exc) from exc

    def commit(self) -> None:
        assert self.conn is not None
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        """Drop what the current transaction wrote and begin the next one."""
        assert self.conn is not None
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.execute("BEGIN IMMEDIATE")

    def checkpoint(self) -> bool:
        """As :meth:`UnitOfWork.checkpoint`."""
        assert self.conn is not None
        before = self._data_version()
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")
        return self._data_version() == before

    def _data_version(self) -> int:
        assert self.conn is not None
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Iterable[tuple]:
        assert self.conn is not None
        return self.conn.execute(sql, params).fetchall()

    def driver(self):
        assert self.conn is not None
        return self.conn
