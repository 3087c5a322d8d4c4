"""The composition root: the one place where real adapters are built, lazily.

Commands receive an :class:`AppContext` in ``ctx.obj``; tests pass their own
(``CliRunner().invoke(app, args, obj=ctx)``) with a memory key store.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .db import file as dbfile
from .domain import labels, timeutil
from .keystore import KeyStore


class AppContext:
    """What a command runs against: the database file, the user, the environment, the key
    store and the clock. A plain class (not a dataclass): it is built on every fast-path run,
    where importing ``dataclasses`` alone costs more than the rest of the context."""

    def __init__(self, db_path: Path, user: str, environ: Mapping[str, str] | None = None,
                 keystore_factory: Callable[[], KeyStore] | None = None,
                 clock: Callable[[], datetime] = timeutil.now):
        self.db_path = db_path
        self.user = user
        self.environ = os.environ if environ is None else environ
        self.keystore_factory = keystore_factory
        self.clock = clock
        self._keystore: KeyStore | None = None
        self._engine: Any = None
        self._schema_ok = False

    def __repr__(self) -> str:
        return f"AppContext(db_path={str(self.db_path)!r}, user={self.user!r})"

    @property
    def user_key(self) -> str:
        return labels.fold(self.user)

    def ensure_schema(self) -> None:
        if not self._schema_ok:
            dbfile.ensure_schema(self.db_path)
            self._schema_ok = True

    def keystore(self) -> KeyStore:
        if self._keystore is None:
            if self.keystore_factory is not None:
                self._keystore = self.keystore_factory()
            else:
                from .keystore import KeyringStore

                self._keystore = KeyringStore(dbfile.lock_path(self.db_path, "keyring"), direct=True)
        return self._keystore

    def reader(self) -> sqlite3.Connection:
        """A read-only stdlib connection (no SQLAlchemy import): for list/show/resolve."""
        self.ensure_schema()
        return dbfile.connect_readonly(self.db_path)

    @contextmanager
    def reading(self) -> Iterator[Callable]:
        """``execute(sql, params)`` on a read-only stdlib connection, closed afterwards."""
        conn = self.reader()
        try:
            yield conn.execute
        except sqlite3.DatabaseError as exc:  # damage found by a read, a lock, an I/O error
            raise dbfile.database_error(self.db_path, exc) from exc
        finally:
            conn.close()

    def uow(self):
        """A unit of work (SQLModel session in one BEGIN IMMEDIATE transaction)."""
        self.ensure_schema()
        from .db.uow import UnitOfWork

        if self._engine is None:
            from .db.engine import make_engine

            self._engine = make_engine(self.db_path)
        return UnitOfWork(self._engine)

    def driver_uow(self):
        """A unit of work on a stdlib connection, for set-based writers (``db.bulk``): no
        SQLAlchemy or SQLModel import."""
        self.ensure_schema()
        from .db.uow import DriverUnitOfWork

        return DriverUnitOfWork(self.db_path)

    def now(self) -> datetime:
        return self.clock()

    def stamp(self) -> str:
        """The current time as stored (`YYYY-MM-DDTHH:MM:SS.ffffffZ`)."""
        return timeutil.stamp(self.clock())

    def apply_options(self, db: str | None, user: str | None) -> None:
        """Global options given to a context a test prepared (they still apply)."""
        if check_db_option(db):
            self.db_path = Path(db)
        if user is not None:
            self.user = labels.clean(user, "user name")


def check_db_option(db: str | None) -> str | None:
    """An explicit ``--db ""`` is an error (a script's empty variable must not silently mean
    the default database)."""
    from .errors import UsageError

    if db is not None and not db.strip():
        raise UsageError("--db must not be empty", hint="give a database file, or leave --db out for the default")
    return db


def from_options(db: str | None, user: str | None) -> AppContext:
    """The context of a real run, from the global options ``--db`` / ``--user`` (else
    PROVCTL_DB / PROVCTL_USER, else the defaults). The Typer root callback and the fast path
    in ``entry.py`` both build it here, so they accept and refuse the same values."""
    from .db.paths import default_user, resolve_db_path

    check_db_option(db)
    # an explicit --user "" (say, an unset variable in a script) is an error, not the login name
    name = user if user is not None else default_user(None)
    return AppContext(db_path=resolve_db_path(db), user=labels.clean(name, "user name"))
