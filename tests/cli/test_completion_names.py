"""Shell completion against a real database: the names a TAB offers (connection references,
models, agents, users, lift runs) and that it reads them read-only, quickly and silently.

Candidates come from ``completion.engine`` (what ``provctl __complete`` answers); the data is
made with the real commands (CliRunner). Real shells: tests/e2e/test_completion_shells.py; the tree and quoting:
tests/unit/test_completion_engine.py.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provctl.cli import app
from provctl.completion import engine, shells
from provctl.context import AppContext
from provctl.keystore import MemoryKeyStore
from tests.support.checks import assert_error, sql
from tests.support.legacy import Legacy

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("typer", "click", "sqlalchemy", "sqlmodel", "alembic", "rich", "httpx", "keyring")


def offered(db_path, *words, user="alice", environ=None):
    env = {"PROVCTL_DB": str(db_path), "PROVCTL_USER": user} if environ is None else environ
    mode, found = engine.candidates(list(words[:-1]), words[-1], environ=env)
    assert mode == "values"
    return [v for v, _ in found]


def connect(cli, provider, label, *more):
    out = cli.json("connect", provider, "--label", label, "--key-env", "SOME_KEY", "--json", *more)
    return out["id"]


@pytest.fixture
def world(cli, db_path):
    """Connections whose short reference forms collide in every way SPEC §3 allows."""
    ids = {
        "openai-work": connect(cli, "openai", "Work"),
        "openai-sub-work": connect(cli, "openai", "Work", "--auth", "subscription"),
        "anthropic-work": connect(cli, "anthropic", "Work"),
        "my-label": connect(cli, "openai", "My Label"),
        "colon": connect(cli, "anthropic", "a:b"),
        "shell": connect(cli, "groq", "it's $(touch /tmp/pwned) `id`"),
        "slash": connect(cli, "mistral", "x/y"),
        "hex": connect(cli, "xai", "deadbeef"),
        "dash": connect(cli, "deepseek", "-rf"),
    }
    legacy = Legacy(db_path)
    ids["legacy-work"] = legacy.row("alice", "bot-b", "openai", "Work")
    return ids


def test_every_reference_offered_names_exactly_one_connection(cli, world):
    refs = offered(cli.ctx.db_path, "providers", "show", "")
    reached = {}
    for ref in refs:
        doc = cli.json("providers", "show", ref, "--json")
        assert reached.setdefault(ref, doc["id"]) == doc["id"]
    assert sorted(set(reached.values())) == sorted(world.values())  # every connection, once or more
    assert len(refs) == len(set(refs))


def test_reference_forms_are_the_shortest_unambiguous_ones(cli, world):
    refs = offered(cli.ctx.db_path, "providers", "show", "")
    assert set(refs) == {
        world["openai-work"][:8], world["legacy-work"][:8],  # openai/api_key/Work twice: the ids
        "openai/subscription/Work",                           # openai/Work is ambiguous
        "anthropic/Work",                                     # Work is ambiguous
        "My Label", "openai/My Label",
        "a:b", "anthropic/a:b",
        "groq/api_key/it's $(touch /tmp/pwned) `id`",         # a `/` in the label: three parts
        "mistral/api_key/x/y",
        "deadbeef", "xai/deadbeef",                           # no id starts with deadbeef
        "deepseek/-rf",                                       # "-rf" alone would be an option
    } - ({"deadbeef"} if any(i.replace("-", "").startswith("deadbeef") for i in world.values()) else set())


def test_a_label_that_would_read_as_an_option_is_offered_only_where_an_option_cannot_be(cli, world):
    positional = offered(cli.ctx.db_path, "providers", "show", "")
    option_value = offered(cli.ctx.db_path, "model", "add", "m", "--attach", "")
    assert "deepseek/-rf" in positional and "-rf" not in positional
    assert "-rf" in option_value  # `--attach -rf`: an option's value is taken as it is
    assert cli.json("model", "add", "m", "--provider", "deepseek", "--attach", "-rf", "--json")


def test_a_name_with_control_characters_in_the_database_is_never_offered(cli, db_path):
    # labels cannot hold them (SPEC §1), but the file may have been written by anything
    legacy = Legacy(db_path)
    for label in ("evil\nrm -rf ~", "esc\x1b[31m", "bidi\u202e", "nbsp\u00a0ok"):
        legacy.row("alice", None, "openai", label)
    refs = offered(db_path, "providers", "show", "")
    assert sorted(refs) == ["nbsp\u00a0ok", "openai/nbsp\u00a0ok"]
    lines = engine.answer("bash", ["provctl providers show ", ""],
                          environ={"PROVCTL_DB": str(db_path), "PROVCTL_USER": "alice"})
    assert lines == ["values", "nbsp\u00a0ok", "openai/nbsp\u00a0ok"]


def test_references_describe_their_connection(cli, world):
    env = {"PROVCTL_DB": str(cli.ctx.db_path), "PROVCTL_USER": "alice"}
    lines = engine.answer("zsh", ["--", "providers", "show", ""], environ=env)
    assert f"{world['legacy-work'][:8]}\topenai/api_key/Work (agent bot-b)" in lines
    cli("providers", "disable", "anthropic/Work")
    lines = engine.answer("fish", ["--", "providers", "show", ""], environ=env)
    assert "anthropic/Work\tanthropic/api_key/Work, disabled" in lines


def test_models_agents_users_and_lift_runs(cli, db_path):
    connect(cli, "openai", "Work")
    cli.json("model", "add", "gpt-4o", "--provider", "openai", "--default", "--json")
    cli.json("model", "add", "claude fast", "--provider", "anthropic", "--upstream", "claude-3-5-haiku", "--json")
    cli.json("agent", "add", "support-bot", "--display-name", "Support Bot", "--json")
    Legacy(db_path).row("bob", "bob-bot", "openai", "Old")
    first = cli.json("migrate-lift", "--all-users", "--json")["run_id"]
    cli.json("migrate-lift", "--undo", first, "--json")
    second = cli.json("migrate-lift", "--all-users", "--json")["run_id"]

    assert offered(db_path, "resolve", "") == ["claude fast", "gpt-4o"]
    assert offered(db_path, "model", "show", "") == ["claude fast", "gpt-4o"]
    assert offered(db_path, "resolve", "--agent", "") == ["support-bot"]
    assert offered(db_path, "agent", "remove", "") == ["support-bot"]
    assert offered(db_path, "--user", "") == ["alice", "bob"]
    assert offered(db_path, "migrate-lift", "--undo", "") == [second]  # an undone run is not offered
    env = {"PROVCTL_DB": str(db_path), "PROVCTL_USER": "alice"}
    lines = engine.answer("zsh", ["--", "resolve", ""], environ=env)
    assert lines[1:] == ["claude fast\tanthropic → claude-3-5-haiku", "gpt-4o\topenai, default"]
    assert engine.answer("fish", ["--", "agent", "remove", ""], environ=env)[1:] == ["support-bot\tSupport Bot"]
    (run_line,) = engine.answer("fish", ["--", "migrate-lift", "--undo", ""], environ=env)[1:]
    assert run_line.startswith(f"{second}\t") and run_line.endswith(", 1 row, all users")


def test_attach_offers_the_models_family_detach_and_reorder_what_is_attached(cli, db_path):
    a = connect(cli, "openai", "A")
    connect(cli, "openai", "B")
    connect(cli, "openai", "C")
    connect(cli, "anthropic", "Claude")
    cli.json("model", "add", "gpt-4o", "--provider", "openai", "--attach", "C", "--attach", "A", "--json")
    Legacy(db_path).row("alice", "bot", "openai", "Legacy")

    assert offered(db_path, "model", "attach", "gpt-4o", "") == ["B", "openai/B"]
    assert offered(db_path, "model", "detach", "gpt-4o", "") == ["C", "openai/C", "A", "openai/A"]
    assert offered(db_path, "model", "reorder", "gpt-4o", "A", "") == ["C", "openai/C"]
    assert offered(db_path, "model", "attach", "no-such-model", "") == []
    assert offered(db_path, "model", "add", "m", "--provider", "anthropic", "--attach", "") == [
        "Claude", "anthropic/Claude"]
    assert offered(db_path, "providers", "refresh", "A", "openai/B", "") == [
        "Claude", "anthropic/Claude", "C", "openai/C", "Legacy", "openai/Legacy"]
    assert a


def test_the_database_and_user_on_the_command_line_win(cli, db_path, tmp_path, migrated_template, monkeypatch):
    cli.json("model", "add", "alices-model", "--provider", "openai", "--json")
    other = tmp_path / "other.db"
    other.write_bytes(migrated_template.read_bytes())
    for db, user, model in ((db_path, "bob", "bobs-model"), (other, "alice", "other-model")):
        ctx = AppContext(db_path=db, user=user, keystore_factory=MemoryKeyStore)
        assert CliRunner().invoke(app, ["model", "add", model, "--provider", "openai"], obj=ctx).exit_code == 0

    assert offered(db_path, "resolve", "") == ["alices-model"]
    assert offered(db_path, "--user", "bob", "resolve", "") == ["bobs-model"]
    assert offered(db_path, "--user=BOB", "resolve", "") == ["bobs-model"]  # names fold
    assert offered(db_path, "resolve", "", user="bob") == ["bobs-model"]     # PROVCTL_USER
    assert offered(db_path, "--db", str(other), "resolve", "") == ["other-model"]
    assert offered(None, "--db", str(other), "resolve", "", environ={"PROVCTL_USER": "alice"}) == ["other-model"]
    monkeypatch.setenv("HOME", str(tmp_path))  # the shell has not expanded a typed `~` yet
    assert offered(None, "--db", "~/other.db", "resolve", "", environ={"PROVCTL_USER": "alice"}) == ["other-model"]


# ---------------------------------------------------------------- read-only, silent, fast


def complete_process(*args: str, env: dict) -> subprocess.CompletedProcess:
    """``provctl __complete …`` as the shells run it (a process of its own)."""
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_")}, **env}
    return subprocess.run([sys.executable, "-m", "provctl", "__complete", *args], env=full,
                          capture_output=True, text=True, timeout=60)


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("what", ["missing", "missing folder", "directory", "garbage", "empty file",
                                  "empty sqlite", "another sqlite", "old schema", "locked"])
def test_a_database_it_cannot_use_completes_nothing_silently_and_is_left_alone(what, tmp_path, migrated_template):
    path = tmp_path / "provctl.db"
    holder = None
    if what == "missing folder":
        path = tmp_path / "nowhere" / "provctl.db"
    elif what == "directory":
        path.mkdir()
    elif what == "garbage":
        path.write_bytes(b"this is not a database\n" * 100)
    elif what == "empty file":
        path.write_bytes(b"")
    elif what == "empty sqlite":
        sqlite3.connect(path).execute("PRAGMA user_version = 1").close()
    elif what == "another sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE users (x)")
        conn.commit()
        conn.close()
    elif what in ("old schema", "locked"):
        path.write_bytes(migrated_template.read_bytes())
        legacy = Legacy(path)
        legacy.row("alice", "bot", "openai", "Work")
        legacy.conn.close()
        if what == "old schema":  # an older revision: a command would upgrade it, a TAB must not
            sql(path, "UPDATE alembic_version SET version_num = '0001'")
    # (read before the lock below: closing any descriptor of the file drops this process's locks)
    before = _files(tmp_path) if path.parent.exists() else None
    if what == "locked":  # another process holds an exclusive lock (WAL readers wait for it)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE connections SET label = label")
    try:
        start = time.monotonic()
        for shell, args in (("bash", ["provctl providers show ", ""]), ("zsh", ["--", "providers", "show", ""]),
                            ("fish", ["--", "resolve", ""])):
            proc = complete_process(shell, *args, env={"PROVCTL_DB": str(path), "PROVCTL_USER": "alice"})
            assert proc.returncode == 0 and proc.stderr == ""
            if what == "old schema":  # what it can read, it offers
                assert proc.stdout.startswith("values\n")
            else:
                assert proc.stdout == "values\n"
        assert time.monotonic() - start < 20  # never the 30 s busy timeout of commands
    finally:
        if holder is not None:
            holder.close()
    if what == "old schema":
        assert sql(path, "SELECT version_num FROM alembic_version") == [("0001",)]
        assert not list(tmp_path.glob("*.bak-*"))
    if before is None:
        assert not path.parent.exists()
    else:
        after = _files(tmp_path)
        # SQLite's own -wal/-shm may appear beside a WAL database; nothing else may
        assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before


def test_completion_reads_without_writing_locking_or_upgrading(cli, db_path, world):
    sql(db_path, "PRAGMA wal_checkpoint(TRUNCATE)")
    before = _files(db_path.parent)
    proc = complete_process("bash", "provctl providers show ", "", env={"PROVCTL_DB": str(db_path), "PROVCTL_USER": "alice"})
    assert proc.returncode == 0 and proc.stderr == "" and "My\\ Label" in proc.stdout.splitlines()
    after = _files(db_path.parent)
    assert after[db_path.name] == before[db_path.name]
    assert not [n for n in after if n.endswith(".lock") or ".bak" in n]


def test_completion_imports_nothing_heavy(cli, db_path, world):
    code = (
        "import sys\n"
        "from provctl.entry import main\n"
        "main(['__complete', 'bash', 'provctl model attach gpt-4o ', ''])\n"
        "main(['__complete', 'zsh', '--', 'providers', 'show', ''])\n"
        "main(['completion', 'zsh'])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_")},
           "PROVCTL_DB": str(db_path), "PROVCTL_USER": "alice"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "[]"
    assert "openai/My Label" in proc.stdout


# ---------------------------------------------------------------- provctl completion SHELL


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_completion_prints_the_script_that_completions_keeps(cli, shell):
    result = cli("completion", shell)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == shells.script(shell) == (ROOT / "completions" / f"provctl.{shell}").read_text()
    fast = subprocess.run([sys.executable, "-m", "provctl", "completion", shell], capture_output=True,
                          text=True, timeout=60)
    assert (fast.returncode, fast.stdout, fast.stderr) == (0, result.stdout, "")


def test_completion_of_an_unknown_shell_is_a_usage_error(cli):
    assert_error(cli("completion", "tcsh"), 2, "unknown shell 'tcsh'", "use one of: bash, zsh, fish")


def test_agent_commands_complete_agents_access_modes_and_grantable_references(cli, world):
    db = cli.ctx.db_path
    cli.json("agent", "add", "support-bot", "--json")
    for command in ("show", "update", "grant", "revoke", "remove"):
        assert "support-bot" in offered(db, "agent", command, "")
    assert offered(db, "agent", "update", "support-bot", "--access", "") == ["all", "listed"]
    assert offered(db, "agent", "add", "x", "--access=") == ["--access=all", "--access=listed"]
    assert offered(db, "model", "show", "m", "--agent", "") == offered(db, "agent", "show", "")
    grantable = offered(db, "agent", "grant", "support-bot", "")
    assert world["legacy-work"][:8] not in grantable  # a legacy row cannot be granted
    assert "anthropic/Work" in grantable and "My Label" in grantable
    assert "My Label" not in offered(db, "agent", "grant", "support-bot", "My Label", "")  # typed already
    assert world["legacy-work"][:8] in offered(db, "agent", "revoke", "support-bot", "")
