"""The database file: private modes, WAL, foreign keys, BEGIN IMMEDIATE, corrupt files,
parallel first use, and a start-up that does not import Alembic when the schema is current."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from sqlalchemy import text

from provctl.db import file as dbfile
from provctl.db import revisions as schema
from provctl.context import AppContext
from provctl.db.engine import make_engine
from provctl.errors import DatabaseError
from provctl.keystore import MemoryKeyStore
from provctl.services import connections

from tests.support.rows import NOW  # noqa: E402  (the one fixed clock)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask0():
    """Prove the modes are set on purpose, not inherited from a friendly umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_a_new_database_is_0600_in_a_0700_folder(tmp_path, umask0):
    path = tmp_path / "data" / "provctl" / "provctl.db"
    ctx = AppContext(db_path=path, user="alice", environ={}, keystore_factory=MemoryKeyStore, clock=lambda: NOW)
    connections.connect(ctx, "openai", creds=connections.Credentials(key="sk-" + "k" * 30))
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    held = sqlite3.connect(path)  # while a connection is open, the WAL and its index exist
    try:
        held.execute("UPDATE meta SET value = value")
        held.commit()
        for extra in ("-wal", "-shm"):
            assert mode(path.with_name(path.name + extra)) == 0o600, extra
    finally:
        held.close()
    for lock in path.parent.glob("*.lock"):
        assert mode(lock) == 0o600, lock.name
    assert {p.name for p in path.parent.glob("*.lock")} == {"provctl.db.schema.lock"}


def test_the_database_uses_wal(db_path):
    dbfile.ensure_schema(db_path)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_write_connections_have_foreign_keys_and_a_busy_timeout(db_path):
    engine = make_engine(db_path)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced_on_writes(app_ctx):
    with app_ctx.uow() as uow:
        with pytest.raises(Exception, match="FOREIGN KEY"):
            uow.driver().execute(
                "INSERT INTO connections (id, user_id, provider, auth_type, label, label_key, enabled, "
                "key_stored, key_source, created_at, updated_at) VALUES ('c', 'no-such-user', 'openai', "
                "'api_key', 'x', 'x', 1, 0, 'keyring', 'T', 'T')"
            )


def test_a_unit_of_work_takes_the_write_lock_up_front(app_ctx, db_path):
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        with app_ctx.uow():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the unit of work ends
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_unit_of_work_without_commit_rolls_back(app_ctx, db_path):
    with app_ctx.uow() as uow:
        uow.driver().execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u', 'x', 'x', 'T')")
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    conn.close()


def test_the_driver_unit_of_work_is_set_up_as_the_engine_and_locks_up_front(app_ctx, db_path):
    """``DriverUnitOfWork`` (import's: stdlib sqlite3, no SQLAlchemy) keeps the contract."""
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        with app_ctx.driver_uow() as uow:
            assert uow.execute("PRAGMA foreign_keys") == [(1,)]
            assert uow.execute("PRAGMA busy_timeout") == [(int(dbfile.BUSY_TIMEOUT_S * 1000),)]
            assert uow.execute("PRAGMA journal_mode") == [("wal",)]
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                uow.driver().execute("INSERT INTO agents (id, user_id, name, name_key, created_at) "
                                     "VALUES ('a', 'no-such-user', 'x', 'x', 'T')")
        other.execute("BEGIN IMMEDIATE")  # free again once the unit of work ends
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_the_driver_unit_of_work_rolls_back_unless_committed(app_ctx, db_path):
    insert = "INSERT INTO users (id, name, name_key, created_at) VALUES (?, ?, ?, 'T')"
    with app_ctx.driver_uow() as uow:
        uow.driver().execute(insert, ("u1", "x", "x"))
    with app_ctx.driver_uow() as uow:
        uow.driver().execute(insert, ("u2", "y", "y"))
        uow.commit()
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT id FROM users").fetchall() == [("u2",)]
    conn.close()


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all, just some bytes" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
)
def test_a_corrupt_file_is_a_database_error_with_a_hint(tmp_path, content):
    path = tmp_path / "provctl.db"
    path.write_bytes(content)
    with pytest.raises(DatabaseError) as info:
        dbfile.ensure_schema(path)
    assert info.value.exit_code == 1
    assert info.value.message.startswith(f"cannot read the database {path}: ")
    assert "provctl.db.bak-" in info.value.hint and "--db" in info.value.hint


def test_a_sqlite_file_of_another_application_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError) as info:
        dbfile.ensure_schema(path)
    assert info.value.message == f"cannot read the database {path}: it has tables but no provctl schema"


def test_an_empty_file_is_initialised(tmp_path):
    path = tmp_path / "provctl.db"
    path.touch()
    dbfile.ensure_schema(path)
    assert dbfile.stamped_revision(path) == schema.HEAD


def test_a_folder_that_cannot_exist_is_an_os_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        dbfile.ensure_schema(blocker / "provctl.db")


_FIRST_USE = r"""
import sys
from pathlib import Path
from provctl.db import file as dbfile
dbfile.ensure_schema(Path(sys.argv[1]))
"""


def test_parallel_first_use_is_safe(tmp_path):
    path = tmp_path / "fresh" / "provctl.db"
    procs = [
        subprocess.Popen([sys.executable, "-c", _FIRST_USE, str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert results == [(0, "")] * 8
    assert dbfile.stamped_revision(path) == schema.HEAD
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'salt'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    finally:
        conn.close()


_IMPORTS = r"""
import sys
from pathlib import Path
from provctl.db import file as dbfile
dbfile.ensure_schema(Path(sys.argv[1]))
print(sorted(m for m in ("alembic", "sqlalchemy", "sqlmodel", "httpx") if m in sys.modules))
"""


def test_a_current_schema_is_checked_without_importing_alembic_or_sqlalchemy(db_path):
    out = subprocess.run([sys.executable, "-c", _IMPORTS, str(db_path)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
