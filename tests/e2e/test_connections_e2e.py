"""The installed console script against the real Secret Service: start-up, and a connection's
whole life (connect, list, show, rename, set-key, disable, enable, remove) with its keyring entry."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import uuid

import pytest

from provctl import __version__
from provctl.db import revisions as schema

pytestmark = pytest.mark.e2e


def new_key(prefix="sk-proj-"):
    return prefix + uuid.uuid4().hex + uuid.uuid4().hex[:8]


@pytest.fixture
def cleanup(keyring_delete):
    """Connection ids whose keyring entries are removed at the end, whatever happened."""
    ids: list[str] = []
    yield ids
    for cid in ids:
        keyring_delete("provctl", cid)


def test_version_and_help_of_the_installed_script(run):
    version = run("--version", check=True)
    assert (version.stdout, version.stderr) == (f"provctl {__version__}\n", "")
    helped = run("--help", check=True)
    assert helped.stdout.startswith("Usage: provctl [OPTIONS] COMMAND [ARGS]...")
    for line in ("Exit codes:", "0  success", "6  secret store unavailable"):
        assert line in helped.stdout
    for command in ("connect", "providers", "agent", "db"):
        assert f"\n  {command} " in helped.stdout


def test_python_dash_m_provctl(bin_python, e2e_env):
    proc = subprocess.run([bin_python, "-m", "provctl", "--version"], capture_output=True, text=True,
                          env=e2e_env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"provctl {__version__}\n", "")


def test_connect_list_show_remove_round_trip_with_the_real_keyring(run, keyring_get, cleanup, db_path):
    key = new_key()
    created = json.loads(run("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=key + "\n",
                             check=True).stdout)
    cid = created["id"]
    cleanup.append(cid)
    assert created["action"] == "created"
    assert (created["label"], created["status"], created["key_hint"]) == ("Work", "active", f"sk-p…{key[-4:]}")
    assert keyring_get("provctl", cid) == key

    listed = json.loads(run("providers", "list", "--json", check=True).stdout)
    assert listed == [{k: v for k, v in created.items() if k != "action"}]

    shown = json.loads(run("providers", "show", "openai/Work", "--json", check=True).stdout)
    assert (shown["id"], shown["credential_source"], shown["key_source"], shown["attachments"]) == (
        cid, "keyring", "keyring", [])

    table = run("providers", "list", check=True)
    assert cid[:8] in table.stdout and "Work" in table.stdout and key not in table.stdout

    run("providers", "rename", "Work", "Office", check=True)
    assert keyring_get("provctl", cid) == key  # username = id: a rename never touches the keyring

    key2 = new_key()
    run("providers", "set-key", "Office", "--key-stdin", input=key2, check=True)
    assert keyring_get("provctl", cid) == key2

    run("providers", "disable", cid[:8], check=True)
    assert json.loads(run("providers", "list", "--json", check=True).stdout)[0]["status"] == "disabled"
    run("providers", "enable", cid, check=True)

    removed = run("providers", "remove", "openai/api_key/Office", check=True)
    assert removed.stderr == "Removed openai/api_key/Office.\n"
    assert keyring_get("provctl", cid) is None
    assert json.loads(run("providers", "list", "--json", check=True).stdout) == []
    assert run("providers", "show", cid, check=3).stderr.startswith(f"Error: no connection matches '{cid}'")


def test_idempotent_connect_and_conflicts_against_the_real_keyring(run, keyring_get, cleanup):
    key, other = new_key(), new_key()
    cid = json.loads(run("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=key,
                         check=True).stdout)["id"]
    cleanup.append(cid)
    again = json.loads(run("connect", "openai", "--label", "WORK", "--key-stdin", "--json", input=key,
                           check=True).stdout)
    assert (again["action"], again["id"]) == ("unchanged", cid)
    run("connect", "openai", "--label", "Work", "--key-stdin", input=other, check=4)
    assert keyring_get("provctl", cid) == key
    run("connect", "openai", "--label", "Work", "--key-stdin", "--replace", input=other, check=True)
    assert keyring_get("provctl", cid) == other


def test_key_env_needs_no_keyring_entry(run, keyring_get):
    created = json.loads(run("connect", "openai", "--label", "CI", "--key-env", "E2E_OPENAI_KEY", "--json",
                             check=True).stdout)
    assert created["status"] == "no_key"
    assert keyring_get("provctl", created["id"]) is None
    shown = json.loads(run("providers", "show", "CI", "--json", env={"E2E_OPENAI_KEY": new_key()},
                           check=True).stdout)
    assert (shown["status"], shown["credential_source"]) == ("active", "env")


def test_the_default_database_is_created_private_in_the_user_data_dir(run, e2e_env, tmp_path):
    run("connect", "ollama", "--label", "Laptop", env={"PROVCTL_DB": None}, check=True)
    db = tmp_path / "xdg-data" / "provctl" / "provctl.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (schema.HEAD,)
        assert conn.execute("SELECT label FROM connections").fetchall() == [("Laptop",)]
    finally:
        conn.close()


def test_the_keyring_lock_file_is_private(run, db_path, cleanup):
    cid = json.loads(run("connect", "openai", "--key-stdin", "--json", input=new_key(), check=True).stdout)["id"]
    cleanup.append(cid)
    lock = db_path.with_name("provctl.db.keyring.lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_a_corrupt_database_is_a_clean_error_and_debug_shows_the_traceback(run, db_path):
    db_path.write_bytes(os.urandom(8192))
    quiet = run("providers", "list", check=1)
    lines = quiet.stderr.splitlines()
    assert lines[0].startswith(f"Error: cannot read the database {db_path}")
    assert lines[1].startswith("Hint: ")
    assert "Traceback" not in quiet.stderr
    loud = run("providers", "list", env={"PROVCTL_DEBUG": "1"}, check=1)
    assert "Traceback (most recent call last)" in loud.stderr


def test_usage_errors_of_the_installed_script(run):
    assert run("connect", "openia", "--key-env", "X", check=2).stderr.startswith("Error: unknown provider 'openia'")
    assert "No such command" in run("frobnicate", check=2).stderr
    assert run("connect", "openai", check=2).stderr.splitlines()[0] == "Error: an api_key connection needs a key"


def _run_on_a_terminal(argv: list[str], env: dict, answer: str, prompt: bytes, timeout: float = 60):
    """Run argv with a pseudo-terminal as its controlling terminal; type ``answer`` at ``prompt``.
    Returns (exit code, everything the terminal showed)."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is stdin, stdout, stderr and the controlling terminal
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, answered = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and prompt in shown:
                os.write(fd, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace").replace("\r\n", "\n")


def test_the_key_is_read_from_a_hidden_prompt_on_a_terminal(provctl_bin, e2e_env, keyring_get, cleanup):
    key = new_key()
    code, shown = _run_on_a_terminal(
        [str(provctl_bin), "connect", "openai", "--label", "Tty", "--json"], e2e_env, key,
        prompt=b"Key (input hidden): ",
    )
    assert code == 0, shown
    assert key not in shown  # not echoed
    doc = json.loads(shown[shown.index("{"): shown.rindex("}") + 1])
    cleanup.append(doc["id"])
    assert (doc["action"], doc["label"], doc["key_hint"]) == ("created", "Tty", f"sk-p…{key[-4:]}")
    assert keyring_get("provctl", doc["id"]) == key


def test_an_empty_answer_at_the_prompt_is_exit_2_and_writes_nothing(provctl_bin, e2e_env, db_path):
    code, shown = _run_on_a_terminal(
        [str(provctl_bin), "connect", "openai", "--label", "Tty"], e2e_env, "   ", prompt=b"Key (input hidden): ",
    )
    assert code == 2, shown
    assert "Error: no key was typed" in shown
    assert "Hint: type or paste the key at the prompt, or use --key-stdin / --key-env VAR" in shown
    assert not db_path.exists()  # refused before the database was even opened
