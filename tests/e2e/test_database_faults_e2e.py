"""Damaged vs unreachable, with the installed console script and real file-system faults
(issue 10, finding 19): a read-only folder, a read-only file, a file that cannot be read and a
file-size limit each get their own message and hint, never the backup advice that belongs to a
damaged file.

Permissions are real: as root (who passes every permission check) provctl runs under
``setpriv`` without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH / CAP_FOWNER, so the file modes
apply to it as to anyone; as another user it runs directly.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BACKUP_ADVICE = "bak-"


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.fixture
def provctl(provctl_bin, e2e_env):
    def run(*args, input=None, preexec=None, prefix=()):
        proc = subprocess.run([*prefix, str(provctl_bin), *args], input=input, capture_output=True, text=True,
                              env={**e2e_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
                              preexec_fn=preexec, timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def _lines(proc) -> list[str]:
    return proc.stderr.splitlines()


@pytest.fixture
def folder(tmp_path, db_path, provctl):
    """The database's folder with a database in it; its modes are put back afterwards."""
    assert provctl("connect", "ollama", "--label", "Laptop").returncode == 0
    yield db_path.parent
    for path in (db_path.parent, db_path):
        path.chmod(0o700 if path.is_dir() else 0o600)


def test_a_read_only_folder_is_not_called_damage(folder, db_path, provctl):
    folder.chmod(0o500)
    for args in (["connect", "ollama", "--label", "Other"], ["providers", "list"]):
        proc = provctl(*args, prefix=_unprivileged())
        assert proc.returncode == 1, proc.stderr
        assert _lines(proc) == [
            f"Error: the database {db_path} is read-only: SQLite cannot write the file or create its "
            "-wal/-shm files beside it",
            "Hint: make the file and its folder writable for you, or point --db / PROVCTL_DB elsewhere"]


def test_a_new_database_in_a_read_only_folder_is_a_permission_error(folder, provctl):
    folder.chmod(0o500)
    target = folder / "new.db"
    proc = provctl("--db", str(target), "connect", "ollama", prefix=_unprivileged())
    assert proc.returncode == 1
    assert _lines(proc) == [f"Error: Permission denied: {target}", "Hint: check the path and its permissions"]


def test_a_read_only_file_is_not_called_damage(folder, db_path, provctl):
    db_path.chmod(0o400)
    proc = provctl("connect", "ollama", "--label", "Other", prefix=_unprivileged())
    assert proc.returncode == 1
    assert _lines(proc)[0] == (f"Error: the database {db_path} is read-only: SQLite cannot write the file or "
                               "create its -wal/-shm files beside it")
    assert BACKUP_ADVICE not in proc.stderr


def test_a_file_that_cannot_be_read_is_a_permission_error(folder, db_path, provctl):
    db_path.chmod(0o000)
    proc = provctl("providers", "list", prefix=_unprivileged())
    assert proc.returncode == 1
    assert _lines(proc) == [
        f"Error: cannot open the database {db_path}: permission denied",
        "Hint: check the permissions of the file and its folder (provctl makes them 0600 and 0700 for "
        "their owner), or point --db / PROVCTL_DB elsewhere"]


def test_a_file_size_limit_is_named(folder, db_path, provctl, tmp_path):
    inventory = tmp_path / "many.json"
    inventory.write_text(json.dumps({"connections": [
        {"agent": None, "provider": "ollama", "auth_type": "local", "label": f"Box {i} " + "x" * 50}
        for i in range(3000)]}))
    limit = db_path.stat().st_size + 64 * 1024

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = provctl("import", str(inventory), preexec=small_files)
    assert proc.returncode == 1, proc.stderr
    assert _lines(proc) == [
        f"Error: writing the database {db_path} went past this shell's file-size limit (ulimit -f)",
        "Hint: raise the limit (ulimit -f unlimited) and try again"]
    assert provctl("providers", "list", "--json").returncode == 0  # nothing was damaged
    assert len(json.loads(provctl("providers", "list", "--json").stdout)) == 1


def test_a_damaged_file_gets_the_backup_advice_and_doctor_reports_on_it(db_path, provctl):
    assert provctl("connect", "ollama", "--label", "Laptop").returncode == 0

    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'connections'").fetchone()[0]
    conn.close()
    content = bytearray(db_path.read_bytes())
    content[(page - 1) * 4096:(page - 1) * 4096 + 200] = b"\xff" * 200
    db_path.write_bytes(bytes(content))
    proc = provctl("providers", "list")
    assert proc.returncode == 1 and BACKUP_ADVICE in _lines(proc)[1]
    doctor = provctl("doctor", "--json")
    assert doctor.returncode == 1
    report = json.loads(doctor.stdout)
    integrity = next(c for c in report["checks"] if c["check"] == "integrity")
    assert integrity["ok"] is False and BACKUP_ADVICE in integrity["hint"]


@pytest.fixture(autouse=True)
def _no_leftover_modes(tmp_path):
    yield
    for path in Path(tmp_path).rglob("*"):  # let pytest clean up whatever a test made read-only
        try:
            path.chmod(0o700 if path.is_dir() else 0o600)
        except OSError:
            pass
