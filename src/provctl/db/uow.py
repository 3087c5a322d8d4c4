"""Unit of work: one SQLModel session, one ``BEGIN IMMEDIATE`` transaction per command.

``with uow:`` rolls back unless ``uow.commit()`` was called, so a service never half-writes.
The session is bound to one connection for the whole unit of work, so a :meth:`checkpoint`
can commit and begin again on it and tell whether another process wrote in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from ..errors import add_warning
from .file import database_error, sqlite_error


class UnitOfWork:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.connection: Connection | None = None
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        try:
            self.connection = self.engine.connect()
        except Exception as exc:
            raise self._translated(exc) from exc
        try:
            self.session = Session(bind=self.connection, expire_on_commit=False)
            self.session.connection()  # begins now: BEGIN IMMEDIATE takes the write lock up front
        except BaseException as exc:
            self.connection.close()
            raise self._translated(exc) from exc
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
            raise self._translated(exc) from exc

    def _translated(self, exc: BaseException) -> BaseException:
        """SQLite's failure (a full disk, a read-only file, damage, ...) as a provctl error
        that names the file; warnings already attached to ``exc`` go along."""
        if not isinstance(exc, Exception) or sqlite_error(exc) is None:
            return exc
        error = database_error(Path(self.engine.url.database or ""), exc)
        for message in getattr(exc, "provctl_warnings", ()):
            add_warning(error, message)
        return error

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
        """The stdlib sqlite3 connection inside this transaction, for ``db.lift``'s bulk
        statements (no per-row SQLAlchemy objects; executemany takes a generator)."""
        assert self.session is not None
        return self.session.connection().connection.driver_connection
