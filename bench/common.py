"""What the benchmarks share: the stdlib floor script every ratio is taken against, running a
command (it must succeed), its wall time, and its instruction count under callgrind."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAMP = "2026-01-01T00:00:00.000000Z"

# The floor: a stdlib-only script that opens the database, runs one indexed 3-table join
# (a model's priority list) and prints JSON — what any Python CLI pays to answer at all.
FLOOR = r'''
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = conn.execute(
    "SELECT m.name, t.priority, c.id, c.label, c.provider, c.base_url "
    "FROM models m JOIN attachments t ON t.model_id = m.id "
    "JOIN connections c ON c.id = t.connection_id "
    "WHERE m.user_id = ? AND m.name_key = ? ORDER BY t.priority",
    (sys.argv[2], sys.argv[3]),
).fetchall()
print(json.dumps([dict(zip(("model", "priority", "id", "label", "provider", "base_url"), r)) for r in rows], indent=2))
'''


def sh(cmd: list[str], env: dict, *, input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd``; the benchmark stops if it fails."""
    proc = subprocess.run(cmd, env=env, input=input, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def wall(cmd: list[str], env: dict, *, quiet: bool = False) -> float:
    """Milliseconds ``cmd`` takes, start to exit (``quiet``: it must print nothing on stderr)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or (quiet and proc.stderr):
        sys.exit(f"bench: {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()}")
    return elapsed * 1000


def instructions(cmd: list[str], env: dict) -> int | None:
    """Instructions executed by ``cmd`` under valgrind's callgrind: repeatable whatever the load
    (PYTHONHASHSEED fixed so that two runs count the same); None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          env=dict(env, PYTHONHASHSEED="0"), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip())
    return None
