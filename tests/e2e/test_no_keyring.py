"""Without a usable keyring: exit 6 with Error:/Hint: naming the fixes, nothing written; never a
silent plaintext fallback; an explicitly named backend (plaintext included) is used as is."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

pytestmark = pytest.mark.e2e

FAIL = "keyring.backends.fail.Keyring"
NULL = "keyring.backends.null.Keyring"
PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"
HINT = (
    "Hint: start a Secret Service such as gnome-keyring (or KWallet / macOS Keychain), name a backend "
    "explicitly with PYTHON_KEYRING_BACKEND, or keep the key in an environment variable with --key-env VAR"
)


def key() -> str:
    return "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex


def counts(db_path):
    if not db_path.exists():
        return (0, 0, 0)
    conn = sqlite3.connect(db_path)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("users", "agents", "connections"))
    finally:
        conn.close()


@pytest.mark.parametrize("backend", [FAIL, NULL])
def test_a_refusing_backend_is_exit_6_and_nothing_is_written(run, db_path, backend):
    proc = run("connect", "openai", "--label", "Work", "--key-stdin", "--agent", "bot", input=key(),
               env={"PYTHON_KEYRING_BACKEND": backend}, check=6)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"Error: the keyring backend {backend} cannot store secrets", HINT]
    assert counts(db_path) == (0, 0, 0)


def test_no_secret_service_and_only_plaintext_by_discovery_is_exit_6(run, db_path, tmp_path):
    # No D-Bus session: discovery finds only keyrings.alt's plaintext file backend, which provctl
    # must not pick on its own.
    proc = run("connect", "openai", "--key-stdin", input=key(),
               env={"DBUS_SESSION_BUS_ADDRESS": None}, check=6)
    assert proc.stderr.splitlines() == [
        "Error: no usable keyring backend (only plaintext or no backends were found)", HINT]
    assert counts(db_path) == (0, 0, 0)
    assert not (tmp_path / "xdg-data" / "python_keyring").exists()  # no plaintext file was written


def test_an_explicitly_named_plaintext_backend_is_used(run, db_path, tmp_path, bin_python, e2e_env):
    import subprocess

    if subprocess.run([bin_python, "-c", "import keyrings.alt.file"], capture_output=True).returncode:
        pytest.skip("keyrings.alt (a test extra) is not installed beside this provctl")
    secret = key()
    env = {"PYTHON_KEYRING_BACKEND": PLAINTEXT, "DBUS_SESSION_BUS_ADDRESS": None}
    cid = json.loads(run("connect", "openai", "--key-stdin", "--json", input=secret, env=env, check=True).stdout)["id"]
    store = tmp_path / "xdg-data" / "python_keyring" / "keyring_pass.cfg"
    assert store.is_file()
    shown = json.loads(run("providers", "show", cid, "--json", env=env, check=True).stdout)
    assert shown["credential_source"] == "keyring"
    run("providers", "remove", cid, env=env, check=True)
    assert cid not in store.read_text()


def test_key_env_and_reads_work_without_a_keyring(run, db_path):
    env = {"PYTHON_KEYRING_BACKEND": FAIL, "CI_KEY": key()}
    created = json.loads(run("connect", "openai", "--label", "CI", "--key-env", "CI_KEY", "--json", env=env,
                             check=True).stdout)
    assert created["status"] == "active"
    assert json.loads(run("providers", "list", "--json", env=env, check=True).stdout)[0]["id"] == created["id"]
    shown = json.loads(run("providers", "show", "CI", "--json", env=env, check=True).stdout)
    assert shown["credential_source"] == "env"
    run("providers", "rename", "CI", "Pipeline", env=env, check=True)
    run("providers", "remove", "Pipeline", env=env, check=True)  # no key stored: no keyring needed


def test_set_key_and_remove_of_a_stored_key_need_the_keyring(run, db_path, keyring_get, keyring_delete):
    secret = key()
    cid = json.loads(run("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=secret,
                         check=True).stdout)["id"]
    try:
        env = {"PYTHON_KEYRING_BACKEND": FAIL}
        proc = run("providers", "set-key", "Work", "--key-stdin", input=key(), env=env, check=6)
        assert proc.stderr.splitlines()[1] == HINT
        proc = run("providers", "remove", "Work", env=env, check=6)
        assert proc.stderr.splitlines()[0] == f"Error: the keyring backend {FAIL} cannot store secrets"
        assert counts(db_path)[2] == 1  # the row stays: removing it would orphan the secret
        assert keyring_get("provctl", cid) == secret
        # show still works, and its status is the full answer (SPEC §6): the key cannot be read
        shown = json.loads(run("providers", "show", "Work", "--json", env=env, check=True).stdout)
        assert (shown["status"], shown["credential_source"]) == ("keyring_unavailable", "none")
    finally:
        keyring_delete("provctl", cid)
