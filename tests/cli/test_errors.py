"""Errors a user can cause: one `Error:` line, an optional `Hint:`, the exit code of SPEC §2,
and never a traceback (unless PROVCTL_DEBUG=1)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from provctl.errors import DatabaseError
from tests.support.checks import assert_error

GARBAGE = b"\x00\x01not a database\xff" * 512


@pytest.mark.parametrize(
    "args",
    [["providers", "list", "--json"], ["providers", "list"], ["providers", "show", "x"], ["connect", "ollama"],
     ["agent", "list"], ["db", "status"], ["db", "upgrade"]],
)
def test_a_corrupt_database_file_is_exit_1_without_a_traceback(cli, db_path, args):
    db_path.write_bytes(GARBAGE)
    result = cli(*args)
    assert_error(result, 1, f"cannot read the database {db_path}: file is not a database",
                 "the file is damaged or is not a provctl database (`provctl doctor` reports on it); "
                 "restore it from a provctl.db.bak-* copy beside it, or point --db / PROVCTL_DB elsewhere")
    assert db_path.read_bytes() == GARBAGE  # never "repaired" by overwriting


def test_a_database_path_below_a_file_is_exit_1(cli, tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    result = cli("--db", str(blocker / "provctl.db"), "providers", "list")
    assert_error(result, 1, f"Not a directory: {blocker / 'provctl.db'}", "check the path and its permissions")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_a_database_path_where_no_file_can_be_created_is_exit_1(cli):
    result = cli("--db", "/proc/provctl.db", "providers", "list")
    assert_error(result, 1, "No such file or directory: /proc/provctl.db", "check the path and its permissions")


def test_a_database_path_that_is_a_folder_is_exit_1(cli, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = cli("--db", str(folder), "connect", "ollama")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr


def test_a_locked_database_is_exit_1_with_a_hint(cli, db_path, monkeypatch):
    from provctl.db import engine

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = cli("connect", "ollama", "--label", "Laptop")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_error(result, 1, f"the database {db_path} is locked by another process",
                 "wait for the other provctl process to finish and try again")


@pytest.mark.parametrize(
    "args, code",
    [
        (["frobnicate"], 2),
        (["providers", "frobnicate"], 2),
        (["connect"], 2),  # missing PROVIDER
        (["providers", "show"], 2),  # missing REF
        (["providers", "list", "--colour"], 2),
        (["--user", "", "providers", "list"], 2),
        (["--db", "", "providers", "list"], 2),
        (["--user", "a\u202eb", "providers", "list"], 2),
        (["connect", "openai", "--auth", "oauth", "--key-env", "X"], 2),
        (["providers", "list", "--provider", "nope"], 2),
        (["providers", "show", "nothing"], 3),
        (["agent", "remove", "nobody"], 3),
    ],
)
def test_bad_values_and_unknown_names_get_their_exit_code(cli, args, code):
    result = cli(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "Error" in result.stderr


def test_provctl_debug_lets_the_exception_through(cli, db_path, monkeypatch):
    db_path.write_bytes(GARBAGE)
    monkeypatch.setenv("PROVCTL_DEBUG", "1")
    result = cli("providers", "list")
    assert result.exit_code == 1
    assert isinstance(result.exception, DatabaseError)


def _python_m_provctl(db, *args, debug: bool):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_")}
    env.update({"PROVCTL_DB": str(db), "PROVCTL_USER": "alice"})
    if debug:
        env["PROVCTL_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-m", "provctl", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_provctl_debug_shows_the_traceback_in_a_real_process(tmp_path):
    db = tmp_path / "provctl.db"
    db.write_bytes(GARBAGE)
    quiet = _python_m_provctl(db, "providers", "list", debug=False)
    assert quiet.returncode == 1
    assert quiet.stderr.startswith(f"Error: cannot read the database {db}")
    assert "Traceback" not in quiet.stderr
    loud = _python_m_provctl(db, "providers", "list", debug=True)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert "DatabaseError" in loud.stderr


def test_errors_in_the_root_callback_have_no_traceback_in_a_real_process(tmp_path):
    proc = _python_m_provctl(tmp_path / "provctl.db", "--user", "bad\u202ename", "providers", "list", debug=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "Error: user name contains a control character (U+202E)"
    assert "Traceback" not in proc.stderr


def test_the_exit_codes_are_documented_in_help(cli):
    result = cli("--help")
    assert result.exit_code == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    table = lines[lines.index("Exit codes:") + 1: lines.index("Exit codes:") + 8]
    assert [line.split(None, 1)[0] for line in table] == ["0", "1", "2", "3", "4", "5", "6"]
    assert table[0] == "0  success"
    assert table[1].startswith("1  unexpected failure")
    assert table[2].startswith("2  usage error")
    assert table[3].startswith("3  not found")
    assert table[4].startswith("4  conflict")
    assert table[5].startswith("5  unavailable")
    assert table[6].startswith("6  secret store unavailable")


def test_a_bad_option_value_names_the_option_without_a_phantom_env_var(cli):
    result = cli("providers", "refresh", "--all", "--timeout", "abc")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: Invalid value for '--timeout': 'abc' is not a valid float."
