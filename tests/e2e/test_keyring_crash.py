"""Every secret accounted for after a kill -9 (issue 10, finding 11): `connect`, `set-key` and
`providers remove` are killed with SIGKILL at random moments while talking to a slow keyring
(a test backend, named by PYTHON_KEYRING_BACKEND, that sleeps before and after each write and
delete). After each trial `provctl doctor` must see everything that is out of place — a secret
no row describes, a row whose secret is missing or differs — and `provctl doctor --fix` must
leave the keyring and the database in agreement.

The backend keeps its secrets in a JSON file (replaced atomically), so a trial can read the
keyring exactly as it was left.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from provctl.domain.credentials import fingerprint
from tests.support.crash import kill_after

pytestmark = pytest.mark.e2e

TRIALS = 10  # per operation
DELAY = 0.4  # seconds the keyring sleeps before and after each write or delete
KEY_KEEP, KEY_OLD = "sk-proj-crash-keep-000000000000000000", "sk-proj-crash-old-0000000000000000000"
KEY_NEW, KEY_NEXT = "sk-proj-crash-new-0000000000000000000", "sk-proj-crash-next-000000000000000000"

SLOW_KEYRING = '''
"""A keyring backend for crash tests: secrets in a JSON file, slow writes and deletes."""
import json, os, time

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class SlowFileKeyring(KeyringBackend):
    priority = 1

    def _file(self):
        return os.environ["SLOW_KEYRING_FILE"]

    def _pause(self):
        time.sleep(float(os.environ.get("SLOW_KEYRING_DELAY", "0")))

    def _load(self):
        try:
            with open(self._file()) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _save(self, data):
        tmp = self._file() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self._file())

    def get_password(self, service, username):
        return self._load().get(f"{service}/{username}")

    def set_password(self, service, username, password):
        self._pause()
        data = self._load()
        data[f"{service}/{username}"] = password
        self._save(data)
        self._pause()

    def delete_password(self, service, username):
        self._pause()
        data = self._load()
        if f"{service}/{username}" not in data:
            raise PasswordDeleteError("not found")
        del data[f"{service}/{username}"]
        self._save(data)
        self._pause()
'''

OPERATIONS = {
    "connect": (("connect", "openai", "--label", "New", "--key-stdin"), KEY_NEW),
    "set-key": (("providers", "set-key", "Keep", "--key-stdin"), KEY_NEXT),
    "remove": (("providers", "remove", "Old"), None),
}


class World:
    def __init__(self, tmp_path: Path, provctl_bin: Path, e2e_env: dict):
        self.bin = provctl_bin
        plugins = tmp_path / "plugins"
        plugins.mkdir()
        (plugins / "slowkeyring.py").write_text(SLOW_KEYRING)
        self.db = tmp_path / "trial.db"
        self.keyring = tmp_path / "keyring.json"
        self.env = {**e2e_env, "PROVCTL_DB": str(self.db), "PYTHONPATH": str(plugins),
                    "PYTHON_KEYRING_BACKEND": "slowkeyring.SlowFileKeyring",
                    "SLOW_KEYRING_FILE": str(self.keyring), "SLOW_KEYRING_DELAY": "0"}
        self.base_db = tmp_path / "base.db"
        self.base_keyring = tmp_path / "base-keyring.json"

    def run(self, *args, input=None, slow=False) -> subprocess.CompletedProcess:
        env = {**self.env, "SLOW_KEYRING_DELAY": str(DELAY) if slow else "0"}
        return subprocess.run([str(self.bin), *args], input=input, capture_output=True, text=True,
                              env=env, timeout=60)

    def start(self, args, key) -> subprocess.Popen:
        env = {**self.env, "SLOW_KEYRING_DELAY": str(DELAY)}
        proc = subprocess.Popen([str(self.bin), *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, text=True)
        if key is not None:
            proc.stdin.write(key + "\n")
        proc.stdin.close()
        return proc

    def prepare(self) -> None:
        """The starting point of every trial: Keep and Old, each with a key."""
        for args, key in ((("connect", "openai", "--label", "Keep", "--key-stdin"), KEY_KEEP),
                          (("connect", "openai", "--label", "Old", "--key-stdin"), KEY_OLD)):
            assert self.run(*args, input=key).returncode == 0
        conn = sqlite3.connect(self.db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        shutil.copyfile(self.db, self.base_db)
        shutil.copyfile(self.keyring, self.base_keyring)

    def reset(self) -> None:
        for suffix in ("-wal", "-shm"):
            Path(str(self.db) + suffix).unlink(missing_ok=True)
        shutil.copyfile(self.base_db, self.db)
        shutil.copyfile(self.base_keyring, self.keyring)

    def state(self) -> tuple[dict, dict, str]:
        """(rows: id -> (label, key_stored, fingerprint), keyring: id -> secret, salt)."""
        conn = sqlite3.connect(self.db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            rows = {cid: (label, bool(stored), fp) for cid, label, stored, fp in conn.execute(
                "SELECT id, label, key_stored, key_fingerprint FROM connections")}
            salt = conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]
        finally:
            conn.close()
        data = json.loads(self.keyring.read_text()) if self.keyring.exists() else {}
        return rows, {k.split("/", 1)[1]: v for k, v in data.items()}, salt

    def doctor(self, *args) -> tuple[int, dict]:
        proc = self.run("doctor", "--json", *args)
        assert proc.returncode in (0, 1), proc.stderr
        return proc.returncode, json.loads(proc.stdout)


def out_of_place(rows: dict, keyring: dict, salt: str) -> set[str]:
    """Connection ids where the keyring and the database disagree."""
    found = set()
    for cid, secret in keyring.items():
        row = rows.get(cid)
        if row is None or not row[1] or row[2] != fingerprint(salt, secret):
            found.add(cid)
    for cid, (_label, stored, _fp) in rows.items():
        if stored and cid not in keyring:
            found.add(cid)
    return found


def seen_by_doctor(report: dict, rows: dict) -> set[str]:
    """The first 8 id characters of every connection doctor's findings name: the journal's
    by id, the missing keys by label."""
    checks = {c["check"]: c for c in report["checks"]}
    named = {m.group(1) for item in checks["keyring journal"]["items"]
             for m in [re.search(r"\[([0-9a-f]{8})\]", item)] if m}
    labels = {item.rsplit("/", 1)[-1] for item in checks["secrets"]["items"]}
    return named | {cid[:8] for cid, (label, _stored, _fp) in rows.items() if label in labels}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_sigkill_with_a_slow_keyring_leaves_nothing_doctor_cannot_see(tmp_path, provctl_bin, e2e_env, operation):
    world = World(tmp_path, provctl_bin, e2e_env)
    world.prepare()
    args, key = OPERATIONS[operation]

    # the reference: one run to completion, timed
    world.reset()
    started = time.monotonic()
    proc = world.start(args, key)
    assert proc.wait(timeout=60) == 0
    full_run = time.monotonic() - started
    rows, keyring, salt = world.state()
    assert out_of_place(rows, keyring, salt) == set()

    rng = random.Random(f"keyring-crash-{operation}")
    outcomes = {"clean": 0, "seen and fixed": 0, "finished": 0}
    for trial in range(TRIALS):
        world.reset()
        proc = world.start(args, key)
        killed = kill_after(proc, rng.uniform(0.0, full_run * 1.05))
        outcomes["finished"] += not killed
        proc.wait(timeout=30)

        rows, keyring, salt = world.state()
        wrong = out_of_place(rows, keyring, salt)
        code, report = world.doctor()
        missed = {cid for cid in wrong if cid[:8] not in seen_by_doctor(report, rows)}
        assert not missed, f"trial {trial}: doctor cannot see {missed}: {report}"
        if not wrong and code == 0:
            outcomes["clean"] += 1
            continue

        code, fixed = world.doctor("--fix")
        assert code == 0, f"trial {trial}: doctor --fix left findings: {fixed}"
        rows, keyring, salt = world.state()
        assert out_of_place(rows, keyring, salt) == set(), f"trial {trial}: {fixed}"
        assert world.doctor()[0] == 0
        outcomes["seen and fixed"] += 1
    print(f"keyring crash trials, {operation} (run {full_run:.2f} s): {outcomes}")
    assert outcomes["finished"] < TRIALS // 2, outcomes  # most trials really killed a running command
