"""Unit of work: one SQLModel session, one ``BEGIN IMMEDIATE`` transaction per command.

``with uow:`` rolls back unless ``uow.commit()`` was called, so a service never half-writes.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import Engine
from sqlmodel import Session


class UnitOfWork:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
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
