"""The keyring journal, doctor and show with the installed console script (issue 10 findings
10 and 12, issue 11): a backend's error is reported by type, never by its text; a keyring
delete that fails is a warning and exit 6 that `doctor --fix` finishes; and over the real
Secret Service, `doctor`, `resolve` and `providers show` agree when a key is deleted behind
provctl's back or the keyring cannot be reached."""

from __future__ import annotations

import json
import subprocess

import pytest

pytestmark = pytest.mark.e2e

KEY = "sk-proj-e2e-journal-0123456789abcdef0123"

TEST_KEYRINGS = '''
"""Keyring backends for tests: secrets in a JSON file; failures on demand."""
import json, os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1

    def _load(self):
        try:
            with open(os.environ["TEST_KEYRING_FILE"]) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _save(self, data):
        with open(os.environ["TEST_KEYRING_FILE"], "w") as f:
            json.dump(data, f)

    def get_password(self, service, username):
        return self._load().get(username)

    def set_password(self, service, username, password):
        data = self._load()
        data[username] = password
        self._save(data)

    def delete_password(self, service, username):
        if os.environ.get("TEST_KEYRING_DELETE_FAILS"):
            raise RuntimeError(f"delete refused for {service}/{username}")
        data = self._load()
        if username not in data:
            raise PasswordDeleteError(username)
        del data[username]
        self._save(data)


class EchoingKeyring(FileKeyring):
    """A backend that puts what it was given in its error messages."""

    def set_password(self, service, username, password):
        raise RuntimeError(f"cannot store {service}/{username}={password}")
'''


@pytest.fixture
def with_test_keyring(tmp_path, provctl_bin, e2e_env):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "testkeyrings.py").write_text(TEST_KEYRINGS)
    store = tmp_path / "keyring.json"

    def run(backend: str, *args, input=None, **env):
        proc = subprocess.run([str(provctl_bin), *args], input=input, capture_output=True, text=True, timeout=60,
                              env={**e2e_env, "PYTHONPATH": str(plugins), "TEST_KEYRING_FILE": str(store),
                                   "PYTHON_KEYRING_BACKEND": f"testkeyrings.{backend}", **env})
        assert "Traceback" not in proc.stderr
        return proc

    run.store = store
    return run


def test_a_backend_error_is_reported_by_its_type_never_its_text(with_test_keyring):
    proc = with_test_keyring("EchoingKeyring", "connect", "openai", "--label", "Work", "--key-stdin", input=KEY)
    assert proc.returncode == 6
    assert proc.stderr.splitlines()[0] == \
        "Error: the keyring could not store a secret (its backend raised RuntimeError)"
    assert KEY not in proc.stderr + proc.stdout


def test_a_keyring_delete_that_fails_is_a_warning_exit_6_and_doctor_fix_finishes_it(with_test_keyring):
    run = with_test_keyring
    created = run("FileKeyring", "connect", "openai", "--label", "Old", "--key-stdin", "--json", input=KEY)
    cid = json.loads(created.stdout)["id"]
    proc = run("FileKeyring", "providers", "remove", "Old", TEST_KEYRING_DELETE_FAILS="1")
    assert proc.returncode == 6
    assert proc.stderr.splitlines() == [
        "Removed openai/api_key/Old.",
        f"Warning: the keyring entry of openai/api_key/Old [{cid[:8]}] was not deleted (the keyring could not "
        "delete a secret (its backend raised RuntimeError)); run `provctl doctor --fix` to finish it"]
    assert json.loads(run.store.read_text()) == {cid: KEY}  # the secret stayed: doctor must say so
    doctor = run("FileKeyring", "doctor", "--json")
    assert doctor.returncode == 1
    journal = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "keyring journal")
    assert journal["ok"] is False and f"[{cid[:8]}]" in journal["items"][0]
    fixed = run("FileKeyring", "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(run.store.read_text()) == {}


def _finding(run, name: str) -> dict:
    report = json.loads(run("doctor", "--json").stdout)
    return next(c for c in report["checks"] if c["check"] == name)


def test_doctor_resolve_and_show_agree_over_the_real_secret_service(run, keyring_delete):
    created = run("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY, check=True)
    cid = json.loads(created.stdout)["id"]
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", cid, check=True)
    assert _finding(run, "models")["ok"] is True
    run("resolve", "gpt-4o", check=0)

    # the keyring cannot be reached: no D-Bus session, so no Secret Service
    away = {"DBUS_SESSION_BUS_ADDRESS": None}
    resolved = json.loads(run("resolve", "gpt-4o", "--json", env=away, check=5).stdout)
    assert resolved["candidates"][0]["reason"] == "keyring_unavailable"
    report = json.loads(run("doctor", "--json", env=away, check=1).stdout)
    models = next(c for c in report["checks"] if c["check"] == "models")
    assert models["items"] == ["gpt-4o: openai/api_key/Work keyring_unavailable"]
    assert next(c for c in report["checks"] if c["check"] == "secrets")["ok"] is False
    shown = json.loads(run("providers", "show", cid, "--json", env=away, check=True).stdout)
    assert shown["status"] == "keyring_unavailable"

    # the key is deleted behind provctl's back
    assert keyring_delete("provctl", cid)
    resolved = json.loads(run("resolve", "gpt-4o", "--json", check=5).stdout)
    assert resolved["candidates"][0]["reason"] == "key_missing"
    assert _finding(run, "models")["items"] == ["gpt-4o: openai/api_key/Work key_missing"]
    shown = json.loads(run("providers", "show", cid, "--json", check=True).stdout)
    assert shown["status"] == "key_missing"
