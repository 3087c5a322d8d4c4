"""SQLAlchemy engine for writes: WAL, busy timeout, foreign keys, ``BEGIN IMMEDIATE``.

pysqlite's own transaction handling is switched off (``isolation_level=None``) so that the
``begin`` event can issue ``BEGIN IMMEDIATE``: a deferred read-then-write transaction fails
with SQLITE_BUSY, which the busy timeout does not retry.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from . import file
from .file import BUSY_TIMEOUT_S


def configure_dbapi(dbapi_conn) -> None:
    file.configure_writer(dbapi_conn)  # the same setup as the stdlib writer's (file.connect_writer)


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S}, poolclass=NullPool
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        configure_dbapi(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
