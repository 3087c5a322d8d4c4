"""The read-path SQL (plain strings in ``queries.py``) checked against the SQLModel metadata.

The resolve fast path never imports SQLAlchemy, so nothing would tell us at import time if a
column it reads were renamed in ``db/models.py``. These tests record every statement the
resolve path and the model service's reads run, then ``EXPLAIN QUERY PLAN`` each one on a
database made by ``metadata.create_all`` (the SQLModel tables) and on one made by the Alembic
revisions, so an unknown table or column fails here. The resolve queries must also be
served by indexes (no full scan), whatever the database size.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from provctl.db import read as queries
from provctl.db.models import metadata
from provctl.services import resolution


@pytest.fixture(scope="module")
def metadata_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("metadata") / "metadata.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return path


class Recorder:
    """A stdlib connection stand-in that records each statement and runs it for real."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path)
        self.statements: list[tuple[str, tuple]] = []

    def execute(self, sql: str, params=()):
        self.statements.append((sql, tuple(params)))
        return self.conn.execute(sql, params)

    def close(self) -> None:
        pass


class FakeCtx:
    user_key = "alice"

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def reading(self):
        from contextlib import nullcontext

        return nullcontext(self.recorder.execute)


def resolve_statements(path: Path) -> list[tuple[str, tuple]]:
    """Every statement `resolve` runs, for a named model and for the default model."""
    rec = Recorder(path)
    conn = rec.conn
    conn.execute("INSERT INTO users VALUES ('u1', 'alice', 'alice', '2026-01-01T00:00:00.000000Z')")
    conn.execute("INSERT INTO models VALUES ('m1', 'u1', 'gpt-4o', 'gpt-4o', 'openai', NULL, 1, 1, "
                 "'2026-01-01T00:00:00.000000Z')")
    for name in ("gpt-4o", None):
        model, attached = resolution.load(FakeCtx(rec), name)
        assert model.id == "m1" and attached == []
    conn.rollback()
    return rec.statements


def model_service_statements(path: Path) -> list[tuple[str, tuple]]:
    rec = Recorder(path)
    ex = rec.execute
    queries.models(ex, "u1")
    queries.model(ex, "u1", "gpt-4o")
    queries.default_model(ex, "u1")
    queries.attached_by_model(ex, "u1")
    queries.connections_oldest_first(ex, "u1", "openai")
    queries.connections(ex, "u1")
    queries.attachments_of_connection(ex, "c1")
    return rec.statements


def completion_statements(path: Path) -> list[tuple[str, tuple]]:
    """What a TAB reads (``provctl __complete``: stdlib sqlite3, no SQLAlchemy import)."""
    rec = Recorder(path)
    ex = rec.execute
    queries.completion_connections(ex, "alice")
    queries.completion_model(ex, "alice", "gpt-4o")
    queries.completion_models(ex, "alice")
    queries.completion_agents(ex, "alice")
    queries.user_names(ex)
    queries.completion_lift_runs(ex)
    return rec.statements


def plan(path: Path, sql: str, params: tuple) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


@pytest.mark.parametrize("which", ["metadata", "alembic"])
def test_every_read_statement_compiles_against_the_schema(which, metadata_db, migrated_template):
    path = metadata_db if which == "metadata" else migrated_template
    statements = (resolve_statements(metadata_db) + model_service_statements(metadata_db)
                  + completion_statements(metadata_db))
    assert len(statements) >= 17
    for sql, params in statements:
        try:
            plan(path, sql, params)
        except sqlite3.OperationalError as exc:  # no such table / no such column
            pytest.fail(f"{exc} in:\n{sql}")


def test_resolve_reads_only_through_indexes(metadata_db):
    for sql, params in resolve_statements(metadata_db):
        steps = plan(metadata_db, sql, params)
        scans = [s for s in steps if s.startswith("SCAN")]
        assert not scans, f"full scan {scans} in:\n{sql}"


def test_columns_named_in_the_read_path_exist_in_the_sqlmodel_tables():
    aliases = {"c": "connections", "a": "agents", "v": "agents", "m": "models", "t": "attachments",
               "d": "discovered_models", "u": "users"}
    text = " ".join([queries.CONNECTION_COLUMNS, queries.CONNECTION_FROM, queries.CONNECTION_ORDER,
                     queries.MODEL_COLUMNS])
    referenced = set(re.findall(r"\b([cavmtdu])\.([a-z_]+)\b", text))
    assert referenced
    for alias, column in sorted(referenced):
        table = metadata.tables[aliases[alias]]
        if column != "rowid":
            assert column in table.c, f"{alias}.{column}: no column {column} in {table.name}"


def test_record_fields_match_the_selected_columns():
    """ConnectionRow / ModelRow are built by position: the column lists must line up."""
    from dataclasses import fields

    from provctl.domain.rows import ConnectionRow, ModelRow

    selected = [" ".join(c.split()) for c in queries.CONNECTION_COLUMNS.split(",")]
    renamed = {"a.name": "agent_name", "v.name": "connected_via"}
    names = [renamed.get(c, c.removeprefix("c.")) for c in selected]
    assert names[:18] == [f.name for f in fields(ConnectionRow)][:18]
    assert selected[18:] == [
        "(SELECT count(*) FROM discovered_models d WHERE d.connection_id = c.id)",
        "(SELECT count(*) FROM attachments t WHERE t.connection_id = c.id)",
    ]
    assert [f.name for f in fields(ConnectionRow)][18:] == ["models", "attached_models"]
    model_cols = [c.strip().removeprefix("m.") for c in queries.MODEL_COLUMNS.split(",")]
    assert model_cols == list(ModelRow._fields)
