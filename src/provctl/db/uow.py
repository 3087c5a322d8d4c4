"""Unit of work: one ``BEGIN IMMEDIATE`` transaction per command — a SQLModel session
(:class:`UnitOfWork`), or, for a service whose writes are all set-based SQL on the driver
connection (import: ``db.bulk``), a stdlib sqlite3 connection (:class:`DriverUnitOfWork`),
which spares importing SQLAlchemy and SQLModel (~0.4 s).

``with uow:`` rolls back unless ``uow.commit()`` was called, so a service never half-writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session


class UnitOfWork:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        from sqlmodel import Session

        self.session = Session(self.engine, expire_on_commit=False)
        self.session.connection()  # begins now: BEGIN IMMEDIATE takes the write lock up front
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

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


class DriverUnitOfWork:
    """The same contract as :class:`UnitOfWork` — ``execute`` for ``db.read``, ``driver()`` for
    set-based SQL, ``commit()``, rollback otherwise — on a stdlib connection set up as the
    engine's (``file.connect_writer``), in one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = None

    def __enter__(self) -> "DriverUnitOfWork":
        from .file import connect_writer

        self.conn = connect_writer(self.path)
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # the write lock up front, as UnitOfWork takes it
        except BaseException:
            self.conn.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.conn is not None
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self.conn.close()
            self.conn = None

    def commit(self) -> None:
        assert self.conn is not None
        self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Iterable[tuple]:
        assert self.conn is not None
        return self.conn.execute(sql, params).fetchall()

    def driver(self):
        assert self.conn is not None
        return self.conn
