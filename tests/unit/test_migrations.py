"""Alembic migrations: the chain, the schema they build, upgrades of older databases."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from provctl.db import file as dbfile
from provctl.db import revisions as schema
from provctl.db import migrate
from provctl.db.engine import make_engine
from provctl.db.models import metadata
from provctl.errors import DatabaseError


def revision_of(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


def tables_of(path):
    conn = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        conn.close()


def test_there_is_exactly_one_head_and_it_is_the_codes_head():
    assert migrate.script_heads() == [schema.HEAD]


def test_schema_revisions_equal_the_alembic_chain():
    assert tuple(migrate.script_revisions()) == schema.REVISIONS


def test_upgrade_from_empty_reaches_head(tmp_path):
    path = tmp_path / "provctl.db"
    migrate.run_upgrade(path)
    assert revision_of(path) == schema.HEAD
    assert {"alembic_version", "meta", "users", "agents", "connections", "models", "attachments",
            "discovered_models", "lift_runs", "lift_run_rows", "keyring_journal",
            "agent_grants"} <= set(tables_of(path))


def test_the_migrated_schema_matches_the_sqlmodel_metadata(tmp_path):
    path = tmp_path / "provctl.db"
    migrate.run_upgrade(path)
    engine = make_engine(path)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_the_migrated_schema_has_the_partial_unique_label_indexes(tmp_path):
    path = tmp_path / "provctl.db"
    migrate.run_upgrade(path)
    conn = sqlite3.connect(path)
    try:
        indexes = dict(conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'connections'"
        ).fetchall())
    finally:
        conn.close()
    user_level = indexes["uq_connections_user_level_label"]
    legacy = indexes["uq_connections_legacy_label"]
    assert "UNIQUE" in user_level and "(user_id, provider, auth_type, label_key)" in user_level
    assert user_level.endswith("WHERE agent_id IS NULL")
    assert "(user_id, agent_id, provider, auth_type, label_key)" in legacy
    assert legacy.endswith("WHERE agent_id IS NOT NULL")


def test_the_first_revision_writes_a_random_salt(tmp_path):
    salts = set()
    for name in ("a.db", "b.db"):
        migrate.run_upgrade(tmp_path / name, "0001")
        conn = sqlite3.connect(tmp_path / name)
        salts.add(conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0])
        conn.close()
    assert len(salts) == 2


@pytest.mark.parametrize("start", [r for r in schema.REVISIONS if r != schema.HEAD])
def test_an_older_database_is_backed_up_then_upgraded_keeping_its_rows(tmp_path, capsys, start):
    path = tmp_path / "provctl.db"
    migrate.run_upgrade(path, start)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u1', 'alice', 'alice', 'T')")
    conn.execute(
        "INSERT INTO connections (id, user_id, provider, auth_type, label, label_key, enabled, key_stored, "
        "key_source, created_at, updated_at) VALUES ('c1', 'u1', 'openai', 'api_key', 'Work', 'work', 1, 0, "
        "'keyring', 'T', 'T')"
    )
    salt = conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]
    conn.close()

    dbfile.ensure_schema(path)

    backup = tmp_path / f"provctl.db.bak-{start}"
    assert revision_of(path) == schema.HEAD
    assert revision_of(backup) == start
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT id, label FROM connections").fetchall() == [("c1", "Work")]
    conn.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, label FROM connections").fetchall() == [("c1", "Work")]
    assert conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0] == salt
    conn.close()
    err = capsys.readouterr().err
    assert err == f"provctl: upgraded the database schema from {start} to {schema.HEAD} (backup: {backup})\n"


def test_a_current_database_is_left_alone(tmp_path, capsys):
    path = tmp_path / "provctl.db"
    dbfile.ensure_schema(path)
    before = path.read_bytes()
    dbfile.ensure_schema(path)
    assert path.read_bytes() == before
    assert list(tmp_path.glob("*.bak-*")) == []
    assert capsys.readouterr().err == ""


def test_a_new_database_is_created_without_a_backup_or_a_message(tmp_path, capsys):
    path = tmp_path / "provctl.db"
    dbfile.ensure_schema(path)
    assert revision_of(path) == schema.HEAD
    assert list(tmp_path.glob("*.bak-*")) == []
    assert capsys.readouterr().err == ""


def test_a_database_newer_than_the_code_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "provctl.db"
    dbfile.ensure_schema(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError) as info:
        dbfile.ensure_schema(path)
    assert info.value.exit_code == 1
    assert info.value.message == (
        f"the database {path} has schema revision 9999, newer than this provctl knows (head {schema.HEAD})"
    )
    assert "upgrade provctl" in info.value.hint
    assert path.read_bytes() == before
    assert list(tmp_path.glob("*.bak-*")) == []


def test_upgrade_from_0004_gives_every_existing_agent_access_all(tmp_path):
    """Revision 0006 (agents and access, SPEC §10): every agent that existed keeps what it had —
    every user-level connection of its user — and nobody is granted anything."""
    path = tmp_path / "provctl.db"
    migrate.run_upgrade(path, "0004")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u1', 'alice', 'alice', 'T')")
    for aid, name, display in (("a1", "bot", None), ("a2", "Support", "Support Bot")):
        conn.execute("INSERT INTO agents (id, user_id, name, name_key, display_name, created_at) "
                     "VALUES (?, 'u1', ?, ?, ?, 'T')", (aid, name, name.lower(), display))
    conn.execute(
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, enabled, "
        "key_stored, key_source, created_at, updated_at) VALUES ('c1', 'u1', 'a1', 'openai', 'api_key', "
        "'Default', 'default', 1, 0, 'keyring', 'T', 'T')"
    )
    conn.close()

    dbfile.ensure_schema(path)

    conn = sqlite3.connect(path)
    try:
        assert revision_of(path) == schema.HEAD
        assert conn.execute("SELECT id, name, display_name, access FROM agents ORDER BY id").fetchall() == [
            ("a1", "bot", None, "all"), ("a2", "Support", "Support Bot", "all")]
        assert conn.execute("SELECT count(*) FROM agent_grants").fetchone() == (0,)
        assert conn.execute("SELECT agent_id FROM connections").fetchall() == [("a1",)]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(lift_run_rows)")]
        assert columns[-1] == "granted"
        # an agent added afterwards by SQL that names no access gets `all` too (server default)
        conn.execute("INSERT INTO agents (id, user_id, name, name_key, created_at) VALUES ('a3', 'u1', 'x', 'x', 'T')")
        assert conn.execute("SELECT access FROM agents WHERE id = 'a3'").fetchone() == ("all",)
    finally:
        conn.close()


def test_revision_0006_downgrades_to_0004(tmp_path):
    from alembic import command

    path = tmp_path / "provctl.db"
    migrate.run_upgrade(path)
    engine = make_engine(path)
    try:
        with engine.connect() as conn:
            cfg = migrate.config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
            conn.commit()
    finally:
        engine.dispose()
    assert revision_of(path) == "0004"
    assert "agent_grants" not in tables_of(path)
    conn = sqlite3.connect(path)
    try:
        assert "access" not in [r[1] for r in conn.execute("PRAGMA table_info(agents)")]
    finally:
        conn.close()
