"""A key never leaves the keyring: not on stdout or stderr of any command (errors included), not
in the database file, its WAL, shared memory or journal, nor in any file provctl writes beside it."""

from __future__ import annotations

import json
import stat
import uuid

import pytest

pytestmark = pytest.mark.e2e


def fresh_key() -> str:
    # long and random: no accidental match, and distinctive enough to find in raw bytes
    return "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex


def test_keys_never_reach_output_or_the_database(run, db_path, db_bytes, keyring_get, keyring_delete, tmp_path):
    key, key2, other = fresh_key(), fresh_key(), fresh_key()
    secrets = (key, key2, other)
    outputs: list[tuple[tuple, str, str]] = []
    ids: list[str] = []

    def step(*args, input=None, check=True, env=None):
        proc = run(*args, input=input, check=check, env=env)
        outputs.append((args, proc.stdout, proc.stderr))
        return proc

    try:
        created = json.loads(step("connect", "openai", "--label", "Work", "--key-stdin", "--agent", "bot",
                                  "--json", input=key + "\n").stdout)
        ids.append(created["id"])
        ids.append(json.loads(step("connect", "openai", "--label", "Home", "--key-stdin", "--json",
                                   input=other).stdout)["id"])
        step("connect", "openai", "--label", "Work", "--key-stdin", input=key)  # idempotent
        step("connect", "openai", "--label", "Work", "--key-stdin", input=key2, check=4)  # different key
        step("connect", "openai", "--label", "New", "--key-stdin", input=key, check=4)  # same key elsewhere
        step("connect", "openai", "--label", "Work", "--key-stdin", "--replace", input=other, check=4)
        step("connect", "openai", "--label", "Bad\u202e", "--key-stdin", input=key2, check=2)
        step("connect", "ollama", "--key-stdin", input=key2, check=2)
        step("connect", "openai-compatible", "--key-stdin", input=key2, check=2)
        step("providers", "list")
        step("providers", "list", "--json")
        step("providers", "show", "Work")
        step("providers", "show", "Work", "--json")
        step("providers", "rename", "Work", "Office")
        step("providers", "rename", "Office", "Home", check=4)
        step("providers", "set-key", "Office", "--key-stdin", input=key2)
        step("providers", "set-key", "Office", "--key-stdin", input=other, check=4)
        step("providers", "set-key", "Office", "--key-stdin", "--json", input=key2)
        step("providers", "disable", "Office")
        step("connect", "openai", "--label", "Again", "--key-stdin", input=key2)  # re-enabled, relabelled
        step("providers", "enable", "Again", "--json")
        step("providers", "show", "nothing", check=3)
        step("providers", "show", "openai/Again", "--json", env={"PROVCTL_DEBUG": "1"})
        step("connect", "openai", "--label", "Work", "--key-stdin", input=key,
             env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}, check=6)
        step("providers", "remove", "Again")
        step("providers", "remove", "Home", "--json")
        step("providers", "list", "--json")

        for args, stdout, stderr in outputs:
            for secret in secrets:
                assert secret not in stdout, args
                assert secret not in stderr, args
                assert secret[8:] not in stdout + stderr, args  # not even without its prefix
            assert "Traceback" not in stderr, args

        raw = db_bytes()
        assert raw, "the database files should exist"
        for secret in secrets:
            assert secret.encode() not in raw
            assert secret[8:].encode() not in raw
            assert secret.encode("utf-16-le") not in raw
        # nor in anything else provctl wrote beside the database (lock files, backups)
        for path in db_path.parent.iterdir():
            if path.is_file():
                content = path.read_bytes()
                assert not any(s.encode() in content for s in secrets), path.name

        assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
        for suffix in ("-wal", "-shm"):
            sidecar = db_path.with_name(db_path.name + suffix)
            if sidecar.exists():
                assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, suffix
        # the removed connections' secrets are gone from the keyring too
        assert [keyring_get("provctl", cid) for cid in ids] == [None, None]
    finally:
        for cid in ids:
            keyring_delete("provctl", cid)


def test_the_database_stores_only_a_hint_and_a_fingerprint(run, db_path, keyring_delete):
    import sqlite3

    key = fresh_key()
    cid = json.loads(run("connect", "anthropic", "--key-stdin", "--json", input=key, check=True).stdout)["id"]
    try:
        conn = sqlite3.connect(db_path)
        row = conn.execute("SELECT key_hint, key_fingerprint, key_stored FROM connections").fetchone()
        dump = "\n".join(conn.iterdump())
        conn.close()
        assert row[0] == f"sk-p…{key[-4:]}"
        assert len(row[1]) == 64 and row[2] == 1
        assert key not in dump and key[4:-4] not in dump
    finally:
        keyring_delete("provctl", cid)
