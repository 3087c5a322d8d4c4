"""Crash safety of `provctl migrate-lift`: SIGKILL at random moments.

A database with thousands of legacy rows (built with direct SQL: the lift needs no keys) is
copied for each trial; the installed console script is started on the copy and killed with
SIGKILL after a random delay drawn over the length of a whole run. Afterwards the database
must pass `PRAGMA integrity_check` and be either exactly as before the lift or exactly as
after it (connections, attachments, the run record), never in between; and a rerun must
complete the lift.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.crash import kill_after
from tests.support.legacy import Legacy

pytestmark = pytest.mark.e2e

TRIALS = 24
USERS, AGENTS, PER_AGENT = 10, 25, 12  # 3,000 legacy rows
ARGS = ("migrate-lift", "--all-users", "--merge-identical", "--json")


def _state(db: Path) -> tuple:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = tuple(conn.execute("SELECT id, agent_id, label, label_key FROM connections ORDER BY id"))
        attachments = tuple(conn.execute("SELECT model_id, connection_id, priority FROM attachments "
                                         "ORDER BY model_id, priority"))
        runs = conn.execute("SELECT count(*) FROM lift_runs").fetchone()[0]
        recorded = conn.execute("SELECT count(*) FROM lift_run_rows").fetchone()[0]
    finally:
        conn.close()
    return rows, attachments, runs, recorded


def _copy(src: Path, dst: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)


@pytest.fixture
def legacy_db(tmp_path, provctl_bin, e2e_env) -> Path:
    base = tmp_path / "base.db"
    env = {**e2e_env, "PROVCTL_DB": str(base)}
    subprocess.run([str(provctl_bin), "db", "upgrade"], env=env, check=True, capture_output=True)
    world = Legacy(base)
    rows = []
    for u in range(USERS):
        user = f"user-{u}"
        world.row(user, None, "openai", "Default", fp=f"shared-{u}")
        for a in range(AGENTS):
            for i, (provider, label) in enumerate([("openai", "Default"), ("anthropic", "Default"),
                                                   ("groq", "Default"), ("openai", "Work"),
                                                   ("openai", "prod"), ("mistral", "Default"),
                                                   ("deepseek", "Default"), ("xai", "Default"),
                                                   ("openai", "Backup"), ("anthropic", "work"),
                                                   ("gemini", "Default"), ("openrouter", "Default")][:PER_AGENT]):
                fp = f"shared-{u}" if (provider, label) == ("openai", "Default") and a % 3 == 0 else None
                rows.append((user, f"agent-{a}", provider, "api_key", label, fp))
    world.many(rows)
    # models attached to rows that a merge moves
    for u in range(USERS):
        merged = [cid for (cid,) in world.sql(
            "SELECT c.id FROM connections c JOIN users s ON s.id = c.user_id WHERE s.name = ? "
            "AND c.key_fingerprint IS NOT NULL AND c.agent_id IS NOT NULL ORDER BY c.created_at LIMIT 3",
            (f"user-{u}",))]
        world.model(f"user-{u}", "gpt-4o", merged)
    world.close()
    return base


def _wait_for_backup(work: Path, proc: subprocess.Popen, limit: float) -> None:
    """Until the backup exists: the lift's transaction is about to start."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if any(work.parent.glob(work.name + ".bak-lift-*")):
            return
        time.sleep(0.002)


def test_sigkill_at_random_moments_leaves_the_database_before_or_after_and_a_rerun_completes(
        tmp_path, legacy_db, provctl_bin, e2e_env):
    from provctl.context import AppContext
    from provctl.services import lift

    before = _state(legacy_db)
    assert before[2] == 0 and sum(1 for r in before[0] if r[1] is not None) == USERS * AGENTS * PER_AGENT

    # the reference: one run to completion, timed (and when its backup appears)
    reference = tmp_path / "reference.db"
    _copy(legacy_db, reference)
    started = time.monotonic()
    proc = subprocess.Popen([str(provctl_bin), *ARGS], env={**e2e_env, "PROVCTL_DB": str(reference)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_backup(reference, proc, 60)
    to_backup = time.monotonic() - started
    assert proc.wait(timeout=60) == 0
    full_run = time.monotonic() - started
    after = _state(reference)
    assert after[2] == 1 and all(r[1] is None for r in after[0]) and after[1] != before[1]

    rng = random.Random(20261121)
    outcomes = {"before": 0, "after": 0, "finished": 0}
    work = tmp_path / "trial.db"
    env = {**e2e_env, "PROVCTL_DB": str(work)}
    for trial in range(TRIALS):
        _copy(legacy_db, work)
        for old in tmp_path.glob("trial.db.bak-lift-*"):
            old.unlink()
        proc = subprocess.Popen([str(provctl_bin), *ARGS], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if trial % 2:  # any moment of the whole run
            killed = kill_after(proc, rng.uniform(0.0, full_run * 1.1))
        else:  # a moment of the lift proper: after the backup, during the transaction or commit
            _wait_for_backup(work, proc, full_run * 3)
            killed = kill_after(proc, rng.uniform(0.0, max(full_run - to_backup, 0.05) * 1.2))
        outcomes["finished"] += not killed
        proc.wait(timeout=30)

        state = _state(work)  # PRAGMA integrity_check inside
        if state == before:
            outcomes["before"] += 1
        else:
            assert state[:2] == after[:2] and state[2:] == after[2:], (
                f"trial {trial}: the database is neither before nor after the lift")
            outcomes["after"] += 1
            continue  # complete already: nothing is left to lift

        # a rerun (in this process: no interpreter start-up to pay) completes the lift
        report = lift.lift(AppContext(db_path=work, user="user-0"), all_users=True, merge_identical=True)
        assert report.run_id is not None
        final = _state(work)
        assert final[:2] == after[:2] and final[2] == 1, f"trial {trial}: a rerun did not complete the lift"
    print(f"lift crash trials (run {full_run:.2f} s, backup at {to_backup:.2f} s): {outcomes}")
    assert outcomes["before"] + outcomes["after"] == TRIALS
    assert outcomes["finished"] < TRIALS // 2, outcomes  # most trials really killed a running lift
