"""Lift at scale: `migrate-lift --dry-run --all-users` and the apply on 100,000 legacy rows.

Builds a database with 1,000 users x 10 agents x 10 legacy connections (plus 3 user-level
connections per user) with direct SQL (no keyring: keys are not needed to lift), then runs
the installed console script under ``/usr/bin/time -v`` and reports wall time and peak RSS:

    .venv/bin/python bench/lift_scale.py                 # the full case, best of 3 (~2 min)
    .venv/bin/python bench/lift_scale.py --users 100 --runs 1     # a quick look

The data makes every legacy row collide (each agent has `Default` for several families, and
`Work`/`work`/`prod` labels), gives a fifth of the agents the same display name (suffix
chains ` (2)`, ` (3)`, …), and gives about a third of the rows a stored key shared between
agents of a user, so that `--merge-identical` has work to do. Budgets (issue 4): each run
≤ 10 s and ≤ 300 MB peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S, BUDGET_MB = 10.0, 300.0

# (provider, auth type, label) of each agent's ten legacy rows
LEGACY = [
    ("openai", "api_key", "Default"), ("anthropic", "api_key", "Default"),
    ("groq", "api_key", "Default"), ("mistral", "api_key", "Default"),
    ("openai", "api_key", "Work"), ("openai", "api_key", "prod"),
    ("anthropic", "api_key", "work"), ("deepseek", "api_key", "Default"),
    ("openai", "subscription", "Default"), ("gemini", "api_key", "Default"),
]
USER_LEVEL = [("openai", "api_key", "Default"), ("anthropic", "api_key", "Work"),
              ("openai", "api_key", "Work")]


def provctl_bin() -> str:
    venv = REPO / ".venv" / "bin" / "provctl"
    return str(venv) if venv.exists() else (shutil.which("provctl") or "provctl")


def build(db: Path, users: int, agents_per_user: int) -> int:
    env = {**os.environ, "PROVCTL_DB": str(db), "PROVCTL_USER": "bench-0000"}
    subprocess.run([provctl_bin(), "db", "upgrade"], check=True, env=env, capture_output=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    stamp = lambda n: f"2026-01-01T00:{n // 600000 % 60:02d}:{n // 10000 % 60:02d}.{n % 10000:06d}Z"  # noqa: E731
    user_rows, agent_rows, rows, models, attachments = [], [], [], [], []
    n = 0
    for u in range(users):
        uid = str(uuid.uuid4())
        user_rows.append((uid, f"bench-{u:04d}", f"bench-{u:04d}", stamp(0)))
        for provider, auth, label in USER_LEVEL:
            fp = hashlib.sha256(f"{u}-{provider}-{auth}-shared".encode()).hexdigest()
            rows.append((str(uuid.uuid4()), uid, None, provider, auth, label, label.casefold(), None,
                         1, 1, "…dddd", fp, None, "keyring", None, stamp(n), stamp(n)))
            n += 1
        # a model per user listing its user-level openai row and two legacy openai rows that
        # --merge-identical merges into it (their attachments are dropped, the list closes)
        mid = str(uuid.uuid4())
        models.append((mid, uid, "gpt-4o", "gpt-4o", "openai", None, 1, 0, stamp(0)))
        attachments.append((mid, rows[-3][0], 1))
        for a in range(agents_per_user):
            aid = str(uuid.uuid4())
            name = f"agent-{a:02d}"
            display = "Support Bot" if a % 5 == 0 else (f"Agent {a}" if a % 2 else None)
            agent_rows.append((aid, uid, name, name, display, stamp(0)))
            for i, (provider, auth, label) in enumerate(LEGACY):
                keyed = (a + i) % 3 == 0
                fp = hashlib.sha256(f"{u}-{provider}-{auth}-shared".encode()).hexdigest() if keyed else None
                rows.append((str(uuid.uuid4()), uid, aid, provider, auth, label, label.casefold(), None,
                             1, int(keyed), "…dddd" if keyed else None, fp, None, "keyring", None,
                             stamp(n), stamp(n)))
                n += 1
                if (provider, label) == ("openai", "Default") and keyed and len(attachments) % 3 and \
                        attachments[-1][0] == mid:
                    attachments.append((mid, rows[-1][0], attachments[-1][2] + 1))
    conn.executemany("INSERT INTO users (id, name, name_key, created_at) VALUES (?, ?, ?, ?)", user_rows)
    conn.executemany("INSERT INTO agents (id, user_id, name, name_key, display_name, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", agent_rows)
    conn.executemany(
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, base_url, "
        "enabled, key_stored, key_hint, key_fingerprint, key_env, key_source, expires_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO models (id, user_id, name, name_key, provider, upstream_model, enabled, "
                     "is_default, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", models)
    conn.executemany("INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)",
                     attachments)
    conn.commit()
    legacy = conn.execute("SELECT count(*) FROM connections WHERE agent_id IS NOT NULL").fetchone()[0]
    conn.close()
    return legacy


def _copy(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        target = Path(str(dst) + suffix)
        target.unlink(missing_ok=True)
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, target)


def timed(args: list[str], db: Path) -> dict:
    env = {**os.environ, "PROVCTL_DB": str(db), "PROVCTL_USER": "bench-0000", "NO_COLOR": "1"}
    out = db.with_name(db.name + ".report")
    cmd = ["/usr/bin/time", "-v", provctl_bin(), *args, "--output", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 4):
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    report = json.loads(out.read_text()) if "--json" in args else None
    summary = report.get("summary") if report else None
    return {"command": "provctl " + " ".join(args), "seconds": seconds, "cpu": user + system,
            "peak_mb": int(rss.group(1)) / 1024, "summary": summary,
            "run_id": report.get("run_id") if report else None}


def best(runs: int, measure) -> dict:
    """The fastest of ``runs`` measurements (a shared machine adds noise, never speed)."""
    return min((measure() for _ in range(runs)), key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--agents-per-user", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="best of N per case (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the database directory")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="provctl-lift-bench-"))
    try:
        base = work / "base.db"
        t0 = time.perf_counter()
        legacy = build(base, opts.users, opts.agents_per_user)
        print(f"built {legacy:,} legacy rows, {opts.users:,} users, "
              f"{opts.users * opts.agents_per_user:,} agents in {time.perf_counter() - t0:.1f} s ({base})",
              file=sys.stderr)
        db = work / "provctl.db"

        def fresh(args: list[str]) -> dict:
            _copy(base, db)
            return timed(args, db)

        results = [
            best(opts.runs, lambda: timed(["migrate-lift", "--dry-run", "--all-users"], base)),
            best(opts.runs, lambda: timed(["migrate-lift", "--dry-run", "--all-users", "--json"], base)),
            best(opts.runs, lambda: fresh(["migrate-lift", "--all-users", "--json"])),
        ]
        results.append(timed(["migrate-lift", "--all-users", "--json"], db))  # nothing left to lift
        results.append(best(opts.runs, lambda: fresh(["migrate-lift", "--all-users", "--merge-identical", "--json"])))
        conn = sqlite3.connect(db)  # the last merge run's copy (best-of may have kept another run's figures)
        (run_id,) = conn.execute("SELECT id FROM lift_runs").fetchone()
        conn.close()
        undo = timed(["migrate-lift", "--undo", run_id, "--json"], db)
        undo["command"] = "provctl migrate-lift --undo RUN_ID --json (of the merge run; no budget)"
        print(f"| command | wall s (best of {opts.runs}) | CPU s | peak RSS MB | within 10 s / 300 MB | summary |")
        print("|---|---:|---:|---:|---|---|")
        for r in results + [undo]:
            ok = r["seconds"] <= BUDGET_S and r["peak_mb"] <= BUDGET_MB
            summary = ", ".join(f"{k} {v:,}" for k, v in r["summary"].items()) if r["summary"] else ""
            print(f"| `{r['command']}` | {r['seconds']:.2f} | {r['cpu']:.2f} | {r['peak_mb']:.0f} | "
                  f"{'yes' if ok else 'NO'} | {summary} |")
        if not all(r["seconds"] <= BUDGET_S and r["peak_mb"] <= BUDGET_MB for r in results):
            sys.exit(1)
    finally:
        if opts.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
