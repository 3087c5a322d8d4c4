"""Shared fixtures for the unit and cli tiers.

Every test gets its own SQLite file copied from a template that Alembic migrated once per
session (not ``create_all``), a memory key store, and a fixed clock.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provctl.db import file as dbfile
from provctl.context import AppContext
from provctl.keystore import MemoryKeyStore

pytest_plugins = ["tests.support.fakeprovider"]

from tests.support.rows import NOW  # noqa: E402  (the one fixed clock)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    dbfile.ensure_schema(path)
    return path


@pytest.fixture
def db_path(tmp_path, migrated_template) -> Path:
    path = tmp_path / "provctl.db"
    shutil.copyfile(migrated_template, path)
    path.chmod(0o600)
    return path


@pytest.fixture
def keystore() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def environ() -> dict[str, str]:
    return {}


@pytest.fixture
def terminal(monkeypatch):
    """Rich's Console as on a colour terminal (FORCE_COLOR), wide enough for every cell."""
    for var in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def connected(app_ctx):
    """``connected(provider, label, key=..., key_env=..., ctx=..., **connect options)``: a
    connection made through the service, as `provctl connect` makes it (the ConnectResult).
    The one way unit tests set up connections."""
    from provctl.domain.credentials import Credentials
    from provctl.services import connections

    def connect(provider="openai", label="Default", *, ctx=None, key=None, key_env=None,
                key_source=None, expires_at=None, **kw):
        creds = Credentials(key=key, key_env=key_env, key_source=key_source, expires_at=expires_at)
        return connections.connect(ctx or app_ctx, provider, label=label, creds=creds, **kw)

    return connect


@pytest.fixture
def app_ctx(db_path, keystore, environ) -> AppContext:
    return AppContext(db_path=db_path, user="alice", environ=environ,
                      keystore_factory=lambda: keystore, clock=lambda: NOW)


class Cli:
    """Runs the Typer app in-process with the test's context (stdout and stderr apart)."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        from provctl.cli import app

        return self.runner.invoke(app, list(args), input=input, obj=self.ctx)

    def connect(self, provider: str, *args: str, key: str | None = None) -> str:
        """`provctl connect PROVIDER ARGS... [--key-stdin] --json` succeeding; the new id."""
        extra = ["--key-stdin"] if key is not None else []
        return self.json("connect", provider, *args, *extra, "--json",
                         input=None if key is None else key + "\n")["id"]

    def json(self, *args: str, input: str | None = None):
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return json.loads(result.stdout)


@pytest.fixture
def cli(app_ctx) -> Cli:
    return Cli(app_ctx)
