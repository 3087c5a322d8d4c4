"""`provctl db status|upgrade`, and the automatic upgrade of an older database on first use."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from provctl.db import revisions as schema
from provctl.db.migrate import run_upgrade


def revision_of(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def old_db(tmp_path):
    """A database at revision 0001 with one user and one connection."""
    path = tmp_path / "old" / "provctl.db"
    path.parent.mkdir()
    run_upgrade(path, "0001")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u1', 'alice', 'alice', "
                 "'2025-01-01T00:00:00.000000Z')")
    conn.execute(
        "INSERT INTO connections (id, user_id, provider, auth_type, label, label_key, enabled, key_stored, "
        "key_source, created_at, updated_at) VALUES ('c0ffee00-0000-4000-8000-000000000001', 'u1', 'ollama', "
        "'local', 'Laptop', 'laptop', 1, 0, 'keyring', '2025-01-01T00:00:00.000000Z', "
        "'2025-01-01T00:00:00.000000Z')"
    )
    conn.close()
    return path


def test_db_status_json_of_a_current_database(cli, db_path):
    assert cli.json("db", "status", "--json") == {
        "path": str(db_path), "current": schema.HEAD, "head": schema.HEAD, "up_to_date": True, "backup": None}


def table(stdout):
    return [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in stdout.splitlines()]


def test_db_status_table(cli, db_path):
    result = cli("db", "status")
    assert result.exit_code == 0
    assert table(result.stdout) == [
        ["FIELD", "VALUE"], ["database", str(db_path)], ["current revision", schema.HEAD],
        ["head revision", schema.HEAD], ["up to date", "yes"],
    ]


def test_db_status_of_an_older_database_does_not_upgrade_it(cli, old_db):
    doc = cli.json("--db", str(old_db), "db", "status", "--json")
    assert doc == {"path": str(old_db), "current": "0001", "head": schema.HEAD, "up_to_date": False,
                   "backup": None}
    assert revision_of(old_db) == "0001"
    assert not list(old_db.parent.glob("*.bak-*"))


def test_db_status_of_a_missing_database(cli, tmp_path):
    path = tmp_path / "none" / "provctl.db"
    doc = cli.json("--db", str(path), "db", "status", "--json")
    assert doc == {"path": str(path), "current": None, "head": schema.HEAD, "up_to_date": False, "backup": None}
    assert ["current revision", "(empty)"] in table(cli("--db", str(path), "db", "status").stdout)
    assert not path.parent.exists()  # status looks, it does not create


def test_db_upgrade_backs_up_and_upgrades(cli, old_db):
    backup = old_db.with_name("provctl.db.bak-0001")
    doc = cli.json("--db", str(old_db), "db", "upgrade", "--json")
    assert doc == {"path": str(old_db), "current": schema.HEAD, "head": schema.HEAD, "up_to_date": True,
                   "backup": str(backup)}
    assert revision_of(old_db) == schema.HEAD
    assert revision_of(backup) == "0001"
    again = cli.json("--db", str(old_db), "db", "upgrade", "--json")
    assert again["backup"] is None
    assert cli.json("--db", str(old_db), "--user", "alice", "providers", "list", "--json")[0]["label"] == "Laptop"


def test_db_upgrade_table(cli, old_db):
    result = cli("--db", str(old_db), "db", "upgrade")
    assert result.exit_code == 0
    assert table(result.stdout) == [
        ["FIELD", "VALUE"], ["database", str(old_db)], ["current revision", schema.HEAD],
        ["head revision", schema.HEAD], ["up to date", "yes"],
        ["backup", str(old_db.with_name("provctl.db.bak-0001"))],
    ]


def test_db_upgrade_creates_a_new_database(cli, tmp_path):
    path = tmp_path / "new" / "provctl.db"
    doc = cli.json("--db", str(path), "db", "upgrade", "--json")
    assert doc == {"path": str(path), "current": schema.HEAD, "head": schema.HEAD, "up_to_date": True,
                   "backup": None}


def test_an_older_database_is_upgraded_on_first_use_and_says_so(cli, old_db):
    result = cli("--db", str(old_db), "providers", "list", "--json")
    assert result.exit_code == 0, result.stderr
    backup = old_db.with_name("provctl.db.bak-0001")
    assert result.stderr == (
        f"provctl: upgraded the database schema from 0001 to {schema.HEAD} (backup: {backup})\n"
    )
    assert [c["label"] for c in json.loads(result.stdout)] == ["Laptop"]
    assert revision_of(old_db) == schema.HEAD
    assert revision_of(backup) == "0001"
    second = cli("--db", str(old_db), "providers", "list", "--json")
    assert second.stderr == ""


def test_a_database_newer_than_provctl_is_exit_1_with_a_hint(cli, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    for args in (["providers", "list", "--json"], ["db", "status"], ["db", "upgrade"],
                 ["connect", "ollama"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"Error: the database {db_path} has schema revision 0099, newer than this provctl knows "
            f"(head {schema.HEAD})",
            "Hint: upgrade provctl (pip install -U provctl), or use --db for another database",
        ]
    assert revision_of(db_path) == "0099"
