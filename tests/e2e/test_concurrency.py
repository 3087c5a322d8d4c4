"""Ten `provctl connect` processes at once on a fresh database: every one succeeds, ten rows,
ten keyring entries in the real Secret Service, and `database is locked` never reaches a user."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.e2e

N = 10


def test_ten_parallel_connects_on_a_fresh_database(provctl_bin, e2e_env, db_path, run, keyring_get,
                                                   keyring_delete):
    assert not db_path.exists()  # first use happens in parallel too
    keys = {f"Agent {i:02d}": "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex for i in range(N)}
    procs = []
    try:
        for label, key in keys.items():
            proc = subprocess.Popen(
                [str(provctl_bin), "connect", "openai", "--label", label, "--key-stdin", "--json"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                encoding="utf-8", env=e2e_env,
            )
            procs.append((label, proc))
        # all started before any gets its key: they race for the schema, keyring and database
        for label, proc in procs:
            proc.stdin.write(keys[label])
            proc.stdin.close()
        results = []
        for label, proc in procs:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail(f"connect {label!r} did not finish within 120 s")
            results.append((label, proc.returncode, proc.stdout.read(), proc.stderr.read()))
            proc.stdout.close()
            proc.stderr.close()
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()

    created = {}
    for label, code, stdout, stderr in results:
        assert code == 0, f"{label}: exit {code}\n{stderr}"
        assert "locked" not in stderr.lower(), stderr
        assert "Traceback" not in stderr
        doc = json.loads(stdout)
        assert (doc["action"], doc["label"]) == ("created", label)
        created[label] = doc["id"]

    try:
        listed = json.loads(run("providers", "list", "--json", check=True).stdout)
        assert sorted(e["label"] for e in listed) == sorted(keys)
        assert {e["id"] for e in listed} == set(created.values())
        assert all(e["status"] == "active" for e in listed)
        for label, cid in created.items():
            assert keyring_get("provctl", cid) == keys[label], label
    finally:
        for cid in created.values():
            keyring_delete("provctl", cid)
