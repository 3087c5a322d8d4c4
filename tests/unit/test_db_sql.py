"""Every SQL statement in ``db/`` checked against the SQLModel metadata (and the Alembic schema).

Reads are plain strings run by stdlib ``sqlite3`` (the resolve fast path never imports
SQLAlchemy), and the lift's bulk SQL is plain strings too, so nothing would tell us at import
time if a column they name were renamed in ``db/models.py``. This test runs a scenario that
calls every public function of ``db.read``, ``db.write`` and ``db.lift`` (it fails if one is
never called), records every statement SQLite receives on every connection, then compiles each
(``EXPLAIN``) on a database made by ``metadata.create_all`` and on one made by the Alembic
revisions: an unknown table or column fails here. The resolve queries must also be served by
indexes (no full scan), whatever the database size.
"""

from __future__ import annotations

import inspect
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from provctl.db import bulk as db_bulk
from provctl.db import journal as db_journal
from provctl.db import lift as db_lift
from provctl.db import read, write
from provctl.db.models import metadata
from provctl.domain.rows import ConnectionRow, ModelRow
from tests.support.fakeprovider import models_reply

KEY = "sk-proj-SQL-SCENARIO-0123456789abcdef"
MODULES = {"read": read, "write": write, "lift": db_lift, "bulk": db_bulk, "journal": db_journal}
_CONNECT = sqlite3.connect  # the real one: the recorder below replaces it during a scenario


def _public_functions(module) -> list[str]:
    return [name for name, fn in inspect.getmembers(module, inspect.isfunction)
            if fn.__module__ == module.__name__ and not name.startswith("_")]


@pytest.fixture(scope="module")
def metadata_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("metadata") / "metadata.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def recorded(monkeypatch):
    """Every statement run on any sqlite3 connection opened meanwhile, every db/ function
    called, and every public db/ function (listed before they are wrapped: a wrapper is no
    longer a function of its module)."""
    statements: list[str] = []
    calls: set[str] = set()
    expected = {f"{prefix}.{name}" for prefix, m in MODULES.items() for name in _public_functions(m)}
    def connect(*args, **kwargs):
        conn = _CONNECT(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)  # what SQLAlchemy's pysqlite calls
    for prefix, module in MODULES.items():
        for name in _public_functions(module):
            fn = getattr(module, name)

            def wrapper(*args, _fn=fn, _name=f"{prefix}.{name}", **kwargs):
                calls.add(_name)
                return _fn(*args, **kwargs)

            monkeypatch.setattr(module, name, wrapper)
    return statements, calls, expected


def _scenario(cli, fake, tmp_path, migrated_template) -> None:
    """Every command that reaches the database, so every db/ function runs at least once."""
    def ok(*args, input=None):
        result = cli(*args, input=input)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    fake.set("/v1/models", models_reply("openai", "gpt-4o", "gpt-4o-mini"))
    ok("connect", "openai", "--label", "Work", "--base-url", f"{fake.url}/v1", "--key-stdin", "--agent", "bot",
       input=KEY)
    ok("connect", "openai", "--label", "CI", "--key-env", "CI_KEY")
    ok("connect", "ollama", "--label", "Laptop")
    ok("providers", "list", "--json")
    ok("providers", "show", "openai/Work", "--json")
    ok("providers", "rename", "openai/CI", "Build")
    ok("providers", "disable", "openai/Build")
    ok("providers", "enable", "openai/Build")
    ok("providers", "set-key", "openai/Build", "--key-stdin", input=KEY + "-2")
    ok("providers", "refresh", "openai/Work", "--json")
    ok("providers", "models", "openai/Work", "--json")
    ok("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/Work", "--default")
    ok("model", "add", "auto", "--provider", "openai")
    ok("model", "attach", "gpt-4o", "openai/Build", "--priority", "1")
    ok("model", "reorder", "gpt-4o", "openai/Work", "openai/Build")
    ok("model", "detach", "gpt-4o", "openai/Build")
    ok("model", "update", "auto", "--upstream", "gpt-4o-mini", "--disable")
    ok("model", "update", "auto", "--provider", "anthropic", "--detach-all", "--default")
    ok("model", "list", "--json")
    ok("model", "show", "gpt-4o", "--json")
    ok("resolve", "gpt-4o", "--json")
    ok("agent", "add", "helper", "--display-name", "Helper", "--access", "listed")
    ok("agent", "grant", "helper", "openai/Work", "openai/Build")
    ok("agent", "revoke", "helper", "openai/Build")
    ok("agent", "update", "helper", "--display-name", "", "--access", "listed")
    ok("agent", "show", "helper", "--json")
    ok("agent", "list", "--json")
    ok("resolve", "gpt-4o", "--agent", "helper", "--json")
    ok("model", "show", "gpt-4o", "--agent", "helper", "--json")
    ok("model", "list", "--agent", "helper", "--json")
    ok("providers", "show", "openai/Work", "--json")  # granted_to
    ok("agent", "remove", "helper")
    ok("agent", "update", "bot", "--access", "listed")  # the lift grants bot its lifted rows
    env = tmp_path / "bot.env"  # the same key and base URL as openai/Work: a merge
    env.write_text(f"OPENAI_API_KEY={KEY}\nOPENAI_BASE_URL={fake.url}/v1\n"
                   f"ANTHROPIC_API_KEY=sk-ant-{'a' * 24}\n")
    ok("import", str(env), "--agent", "bot")  # a legacy twin of openai/Work: a merge candidate
    legacy = cli.json("providers", "list", "--json")
    twin = next(c["id"] for c in legacy if c["agent"] == "bot" and c["provider"] == "openai")
    ok("model", "attach", "gpt-4o", twin)  # an attachment the merge moves
    ok("migrate-lift", "--dry-run", "--merge-identical")
    from provctl.services import lift as lift_service  # with a progress callback: the row count

    lift_service.lift(cli.ctx, dry_run=True, progress=lambda *args: None)
    report = cli.json("migrate-lift", "--merge-identical", "--json")
    ok("migrate-lift", "--undo", report["run_id"])
    ok("migrate-lift", "--merge-identical")
    inventory = tmp_path / "inventory.json"
    ok("export", "--output", str(inventory))
    other = tmp_path / "other.db"
    shutil.copyfile(migrated_template, other)  # no migration: only provctl's own statements
    main_db = cli.ctx.db_path
    ok("--db", str(other), "import", str(inventory))
    cli.ctx.db_path = main_db  # a global option given to the test's context stays: undo it
    ok("import", str(inventory))  # everything is there already: skipped, agents compared
    cli.ctx.keystore().secrets.clear()  # keys gone from the keyring: doctor --fix forgets them
    cli("doctor", "--fix", "--json")
    ok("providers", "remove", "openai/Build", "--force")
    ok("model", "remove", "gpt-4o")
    ok("db", "status")
    from provctl.completion import engine  # TAB: provctl __complete, the stdlib read path

    environ = {"PROVCTL_DB": str(cli.ctx.db_path), "PROVCTL_USER": cli.ctx.user}
    for words in (["providers", "show"], ["model", "attach", "gpt-4o"], ["resolve"], ["agent", "remove"],
                  ["--user"], ["migrate-lift", "--undo"]):
        engine.answer("fish", [*words, ""], environ)


@pytest.fixture
def scenario(cli, fake, tmp_path, recorded, migrated_template) -> list[str]:
    statements, calls, expected = recorded
    _scenario(cli, fake, tmp_path, migrated_template)
    assert len(expected) > 50
    assert sorted(expected - calls) == [], f"db/ functions the scenario never ran (extend it): {sorted(expected - calls)}"
    return statements


def _compile_all(path: Path, statements: list[str]) -> None:
    conn = _CONNECT(path)
    try:
        for sql in statements:
            text = " ".join(sql.split())
            head = text.split(" ", 1)[0].upper()
            if head in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
                continue
            if re.match(r"(CREATE TEMP TABLE|DROP TABLE (IF EXISTS )?temp\.)", text, re.I):
                conn.execute(text)  # the temp tables later statements use
                continue
            if "alembic_version" in text and path.name == "metadata.db":
                continue  # Alembic's own table, not part of the SQLModel metadata
            try:
                conn.execute("EXPLAIN " + text)
            except sqlite3.OperationalError as exc:  # no such table / no such column
                pytest.fail(f"{exc} in:\n{text}")
    finally:
        conn.close()


@pytest.mark.parametrize("which", ["metadata", "alembic"])
def test_every_statement_in_db_compiles_against_the_schema(which, scenario, metadata_db, migrated_template):
    assert len(scenario) > 100
    _compile_all(metadata_db if which == "metadata" else migrated_template, scenario)


def resolve_statements(path: Path) -> list[tuple[str, tuple]]:
    """The statements `resolve` runs, for a named model and for the default model."""
    conn = _CONNECT(path)
    conn.execute("INSERT INTO users VALUES ('u1', 'alice', 'alice', '2026-01-01T00:00:00.000000Z')")
    conn.execute("INSERT INTO models VALUES ('m1', 'u1', 'gpt-4o', 'gpt-4o', 'openai', NULL, 1, 1, "
                 "'2026-01-01T00:00:00.000000Z')")
    seen: list[tuple[str, tuple]] = []

    def execute(sql, params=()):
        seen.append((sql, tuple(params)))
        return conn.execute(sql, params)

    for name_key in ("gpt-4o", None):
        model = read.user_model(execute, "alice", name_key)
        assert model is not None and read.attached(execute, model.id) == []
        for agent_key in (None, "bot"):  # the one query of the hot path, with and without --agent
            found = read.resolution_rows(execute, "alice", name_key, agent_key)
            assert found is not None and found[0] == model and found[1:] == (None, [], frozenset())
    conn.rollback()
    conn.close()
    return seen


def test_resolve_reads_only_through_indexes(metadata_db):
    conn = _CONNECT(metadata_db)
    try:
        for sql, params in resolve_statements(metadata_db):
            steps = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            scans = [s for s in steps if s.startswith("SCAN")]
            assert not scans, f"full scan {scans} in:\n{sql}"
    finally:
        conn.close()


def test_columns_named_in_the_read_path_exist_in_the_sqlmodel_tables():
    aliases = {"c": "connections", "a": "agents", "v": "agents", "m": "models", "t": "attachments",
               "d": "discovered_models", "u": "users"}
    text = " ".join([read.CONNECTION_COLUMNS, read.CONNECTION_FROM, read.CONNECTION_ORDER, read.MODEL_COLUMNS])
    referenced = set(re.findall(r"\b([cavmtdu])\.([a-z_]+)\b", text))
    assert referenced
    for alias, column in sorted(referenced):
        table = metadata.tables[aliases[alias]]
        if column != "rowid":
            assert column in table.c, f"{alias}.{column}: no column {column} in {table.name}"


def test_record_fields_match_the_selected_columns():
    """ConnectionRow / ModelRow are built by position: the column lists must line up."""
    selected = [" ".join(c.split()) for c in read.CONNECTION_COLUMNS.split(",")]
    renamed = {"a.name": "agent_name", "v.name": "connected_via"}
    names = [renamed.get(c, c.removeprefix("c.")) for c in selected]
    assert names[:18] == list(ConnectionRow._fields)[:18]
    assert selected[18:] == [
        "(SELECT count(*) FROM discovered_models d WHERE d.connection_id = c.id)",
        "(SELECT count(*) FROM attachments t WHERE t.connection_id = c.id)",
    ]
    assert list(ConnectionRow._fields)[18:] == ["models", "attached_models"]
    model_cols = [c.strip().removeprefix("m.") for c in read.MODEL_COLUMNS.split(",")]
    assert model_cols == list(ModelRow._fields)
