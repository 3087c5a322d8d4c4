"""`provctl import` of a 10,000-connection inventory: wall time of the installed console script.

    .venv/bin/python bench/import_scale.py                 # 10,000 connections, median of 5
    .venv/bin/python bench/import_scale.py --profile       # + one in-process cProfile run
    .venv/bin/python bench/import_scale.py --connections 2000 --runs 3

The inventory is what `provctl export` writes: user-level connections (10 families, labels
`Team 0000`…; with ``--legacy-share F``, that fraction are legacy rows of agents instead,
10 each: `Default`, `Work`, … over the families), every one with a ``key_env`` variable and
no key (so no keyring write: the keyring costs one D-Bus call per secret, which is not what
this measures), plus 100 models attached to 3 user-level connections each. All user-level
(the default) is the hard case: every entry goes through `connect`'s same-label / same-key
rules against every other user-level connection of its family. Each run imports it
into a fresh database (created and migrated beforehand, not timed), once with ``--json``
and once with the default table report, alternately (stdout to a pipe). Goal (issue 13):
≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 2.0
FAMILIES = ("openai", "anthropic", "openrouter", "gemini", "mistral", "groq", "deepseek", "xai",
            "ollama", "openai-compatible")
LEGACY_LABELS = ("Default", "Work", "Prod", "Staging", "Batch", "Eval", "Backup", "Night", "EU", "US")


def inventory(n: int, legacy_share: float = 0.0, n_models: int = 100) -> dict:
    connections = []
    user_level = n - int(n * legacy_share)
    for i in range(user_level):
        fam = FAMILIES[i % len(FAMILIES)]
        entry = {"agent": None, "provider": fam, "label": f"Team {i // len(FAMILIES):04d}"}
        if fam == "ollama":
            entry["auth_type"] = "local"
        else:
            entry.update(auth_type="api_key", key_env=f"TEAM_{i:05d}_KEY")
        if fam == "openai-compatible":
            entry["base_url"] = f"https://gw{i % 7}.example.com/v1"
        connections.append(entry)
    for j in range(n - user_level):
        agent, k = divmod(j, len(LEGACY_LABELS))
        fam = FAMILIES[(agent + k) % len(FAMILIES)]
        entry = {"agent": f"bot-{agent:04d}", "provider": fam, "label": LEGACY_LABELS[k]}
        if fam == "ollama":
            entry["auth_type"] = "local"
        else:
            entry.update(auth_type="api_key", key_env=f"BOT_{agent:04d}_{k}_KEY")
        if fam == "openai-compatible":
            entry["base_url"] = "https://gateway.example.com/v1"
        connections.append(entry)
    models = []
    openai = [c for c in connections if c["agent"] is None and c["provider"] == "openai"]
    for m in range(min(n_models, max(len(openai) - 2, 0))):
        refs = [f"openai/api_key/{openai[(m + d) % len(openai)]['label']}" for d in range(3)]
        models.append({"name": f"model-{m:03d}", "provider": "openai", "upstream_model": "gpt-4o",
                       "enabled": True, "default": m == 0, "connections": refs})
    return {"connections": connections, "models": models}


def time_imports(provctl: str, work: Path, env: dict, n: int, runs: int, *,
                 legacy_share: float = 0.0) -> tuple[dict[str, list[float]], tuple, Path, Path]:
    """Seconds per import of an ``n``-connection inventory into a fresh database, with the JSON
    and the table report, alternated, after one warm-up round. Returns the times per form, the
    counts of (connections, agents, models, attachments) imported, the migrated template
    database and the inventory file."""
    inv = work / "inventory.json"
    inv.write_text(json.dumps(inventory(n, legacy_share), indent=2))
    template = work / "template.db"
    subprocess.run([provctl, "--db", str(template), "db", "upgrade"], env=env, check=True, capture_output=True)
    forms = {f"import {n // 1000}k --json": ["--json"], f"import {n // 1000}k (table)": []}
    times: dict[str, list[float]] = {form: [] for form in forms}
    counts: tuple = ()
    for run in range(runs + 1):  # the first run warms the caches and is not counted
        for form, extra in forms.items():
            db = work / f"run{run}-{len(extra)}.db"
            shutil.copyfile(template, db)
            start = time.perf_counter()
            proc = subprocess.run([provctl, "--db", str(db), "import", str(inv), *extra], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit(f"bench: import failed ({proc.returncode}):\n{proc.stderr}")
            if extra:
                assert json.loads(proc.stdout)["summary"]["connections_created"] == n
            else:
                assert proc.stdout.count("\n") >= n + 1
            counts = sqlite3.connect(db).execute(
                "SELECT (SELECT count(*) FROM connections), (SELECT count(*) FROM agents), "
                "(SELECT count(*) FROM models), (SELECT count(*) FROM attachments)").fetchone()
            assert counts[0] == n, counts
            db.unlink()
            if run:
                times[form].append(elapsed)
    return times, counts, template, inv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / ".venv" / "bin" / "provctl"))
    ap.add_argument("--connections", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--legacy-share", type=float, default=0.0, help="fraction of legacy (agent) entries")
    ap.add_argument("--profile", action="store_true", help="also profile one run in-process (cProfile)")
    args = ap.parse_args()
    provctl = str(Path(args.bin).absolute())
    work = Path(tempfile.mkdtemp(prefix="provctl-import-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PROVCTL_USER="bench", NO_COLOR="1")
    try:
        times, counts, template, inv = time_imports(provctl, work, env, args.connections, args.runs,
                                                    legacy_share=args.legacy_share)
        load = os.getloadavg()
        print(f"provctl import of {args.connections:,} connections ({counts[1]} agents, {counts[2]} models, "
              f"{counts[3]} attachments), env keys: {provctl}")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; runs: 1 warm-up + {args.runs}, alternated")
        for form, xs in times.items():
            med = statistics.median(xs)
            print(f"{form:<15} median {med:.2f} s, min {min(xs):.2f} s, max {max(xs):.2f} s "
                  f"(goal ≤ {GOAL_S:g} s: {'met' if med <= GOAL_S else 'MISSED'})")
        if args.profile:
            db = work / "profile.db"
            shutil.copyfile(template, db)
            code = ("import cProfile, pstats, sys\n"
                    "from provctl.cli import main\n"
                    f"sys.argv = ['provctl', '--db', {str(db)!r}, 'import', {str(inv)!r}, '--json']\n"
                    "p = cProfile.Profile()\n"
                    "try:\n    p.runcall(main)\nexcept SystemExit:\n    pass\n"
                    "pstats.Stats(p, stream=sys.stderr).sort_stats('cumulative').print_stats(40)\n")
            python = str(Path(provctl).with_name("python"))
            proc = subprocess.run([python, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
            print(proc.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
