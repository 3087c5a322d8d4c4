"""Unit of work: one SQLModel session, one ``BEGIN IMMEDIATE`` transaction per command.

``with uow:`` rolls back unless ``uow.commit()`` was called, so a service never half-writes.
SQLite's failures (a full disk, a read-only file, damage, ...) leave it as provctl errors that
name the file (``db.file.database_error``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import Engine
from sqlmodel import Session

from ..errors import add_warning
from .file import database_error, sqlite_error


class UnitOfWork:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = Session(self.engine, expire_on_commit=False)
        try:
            self.session.connection()  # begins now: BEGIN IMMEDIATE takes the write lock up front
        except BaseException as exc:
            self.session.close()
            raise self._translated(exc) from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        except Exception:
            if exc is None:
                raise
        finally:
            self.session.close()
            self.session = None
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

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Iterable[tuple]:
        """Run a read statement inside this transaction (``db.read``'s functions take it)."""
        assert self.session is not None
        return self.session.connection().exec_driver_sql(sql, params or None).all()

    def driver(self):
        """The stdlib sqlite3 connection inside this transaction, for ``db.lift``'s bulk
        statements (no per-row SQLAlchemy objects; executemany takes a generator)."""
        assert self.session is not None
        return self.session.connection().connection.driver_connection
