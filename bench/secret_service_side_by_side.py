#!/usr/bin/env python3
"""Issue 13's side-by-side: provctl's keyring reads against the physical limit and other tools,
in one run, inside a real gnome-keyring (a private D-Bus session):

    bench/secret-service.sh .venv/bin/python bench/secret_service_side_by_side.py
    bench/secret-service.sh .venv/bin/python bench/secret_service_side_by_side.py --runs 40 --instructions

Commands, each timed ≥ 20 times after a warm-up, interleaved round-robin so that a burst of
load on the (shared, noisy) machine hits every command alike; medians of wall time and of CPU
time (user + system of the child, a cross-check that moves less with the load), ratios to the
floor measured in the same run:

  floor             stdlib Python: open the SQLite file, one indexed 3-table join, print JSON
                    (the same script as bench/run.py's floor)
  limit (jeepney)   the floor plus one Secret Service read with stdlib + jeepney, written the
                    plain way (jeepney's blocking connection, a plain session): the physical
                    limit of a Python tool that reads a key from the Secret Service
  secret-tool       `secret-tool lookup service provctl username ID` (C, libsecret), if installed
  gh auth token     GitHub's CLI printing its token (Go; hosts.yml in a temp GH_CONFIG_DIR), if
                    installed
  resolve env       provctl resolve MODEL --json, the key from an environment variable
  resolve ss        provctl resolve MODEL --json, the key in the Secret Service (direct read)
  resolve ss/kr     the same through the keyring library (a KEYRING_PROPERTY_ variable
                    provctl does not read directly makes it hand over): the path before issue 13
  show ss           provctl providers show REF --json, the key in the Secret Service
  exec ss           provctl exec MODEL -- true, the key in the Secret Service (when this
                    provctl has `exec`)
  list              provctl providers list --json (200 rows; no keyring read)

and, apart (it takes seconds, so it is not interleaved with the millisecond commands),
`provctl import` of bench/import_scale.py's 10,000-connection inventory (env keys), both
reports. Goals of issue 13: resolve / show / exec with a Secret Service key ≤ 2.5 × floor;
import ≤ 2 s. A benchmark, not a test: it exits 0 whatever it measures (unless a command
fails).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_scale  # noqa: E402  (bench/import_scale.py: the 10,000-connection inventory)
from common import FLOOR, REPO, STAMP, instructions, sh  # noqa: E402  (bench/common.py)

N_CONNECTIONS, N_MODELS, PER_MODEL = 200, 1000, 5
FAMILIES = ("openai", "anthropic", "mistral", "groq")
SECRET = "sk-bench-" + uuid.uuid4().hex
RATIO_GOAL, IMPORT_GOAL_S = 2.5, 2.0


# The floor plus one Secret Service read, as a Python tool would write it with jeepney alone.
LIMIT = FLOOR + r'''
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
bus = open_dbus_connection()
def call(path, iface, method, sig, *body):
    return bus.send_and_get_reply(new_method_call(DBusAddress(path, "org.freedesktop.secrets", iface),
                                                  method, sig, body)).body
_, session = call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "OpenSession", "sv", "plain", ("s", ""))
(items,) = call("/org/freedesktop/secrets/aliases/default", "org.freedesktop.Secret.Collection", "SearchItems",
                "a{ss}", {"service": "provctl", "username": sys.argv[4]})
((_, _, value, _),) = call(items[0], "org.freedesktop.Secret.Item", "GetSecret", "o", session)
bus.close()
print(json.dumps({"key_length": len(bytes(value).decode())}))
'''




def build(provctl: str, env: dict) -> dict:
    """200 connections (one with its key in the Secret Service, the rest with env keys) and
    1,000 models x 5 attachments, as bench/run.py builds them."""
    sh([provctl, "db", "upgrade"], env)
    made = json.loads(sh([provctl, "connect", "openai", "--label", "Vault", "--key-stdin", "--json"], env,
                         input=SECRET + "\n").stdout)
    vault = made["id"]
    conn = sqlite3.connect(env["PROVCTL_DB"], isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN IMMEDIATE")
    uid = conn.execute("SELECT id FROM users").fetchone()[0]
    pools = {f: [] for f in FAMILIES}
    pools["openai"].append(vault)
    rows = []
    for i in range(1, N_CONNECTIONS):
        fam, cid = FAMILIES[i % len(FAMILIES)], str(uuid.uuid4())
        pools[fam].append(cid)
        rows.append((cid, uid, fam, "api_key", f"Conn {i:03d}", f"conn {i:03d}", f"BENCH_KEY_{i}", STAMP, STAMP))
    conn.executemany(
        "INSERT INTO connections (id, user_id, provider, auth_type, label, label_key, enabled, key_stored, "
        "key_env, key_source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?, 'env', ?, ?)", rows)
    models, attachments = [], []
    for i in range(N_MODELS):
        fam, mid, name = FAMILIES[i % len(FAMILIES)], str(uuid.uuid4()), f"model-{i:04d}"
        models.append((mid, uid, name, name, fam, STAMP))
        pool = pools[fam]
        chosen = [pool[(i * 7 + k) % len(pool)] for k in range(PER_MODEL)]
        if i == 4:  # the Secret Service model: the Vault connection first
            chosen = [vault] + [c for c in chosen if c != vault][: PER_MODEL - 1]
        attachments += [(mid, cid, p) for p, cid in enumerate(chosen, start=1)]
    conn.executemany("INSERT INTO models (id, user_id, name, name_key, provider, upstream_model, enabled, "
                     "is_default, created_at) VALUES (?, ?, ?, ?, ?, NULL, 1, 0, ?)", models)
    conn.executemany("INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)", attachments)
    conn.execute("COMMIT")
    env_model = "model-0501"  # anthropic: every connection has an env key
    first = conn.execute(
        "SELECT c.key_env FROM models m JOIN attachments t ON t.model_id = m.id JOIN connections c "
        "ON c.id = t.connection_id WHERE m.name = ? AND t.priority = 1", (env_model,)).fetchone()[0]
    conn.close()
    env[first] = "sk-from-env-" + uuid.uuid4().hex
    return {"uid": uid, "vault": vault, "env_model": env_model, "ss_model": "model-0004"}


def check(provctl: str, python: str, env: dict, names: dict, handover: dict) -> list[str]:
    """Each command does what it is timed for; returns notes for the report."""
    doc = json.loads(sh([provctl, "resolve", names["env_model"], "--json"], env).stdout)
    assert doc["selected"]["credential_source"] == "env", doc
    for e in (env, handover):
        doc = json.loads(sh([provctl, "resolve", names["ss_model"], "--json", "--reveal"], e).stdout)
        assert (doc["selected"]["credential_source"], doc["selected"]["api_key"]) == ("keyring", SECRET), doc
    shown = json.loads(sh([provctl, "providers", "show", "Vault", "--json"], env).stdout)
    assert shown["credential_source"] == "keyring", shown
    notes = []
    for label, e in (("resolve ss", env), ("resolve ss/kr", handover)):
        proc = sh([python, "-X", "importtime", provctl, "resolve", names["ss_model"], "--json"], e)
        tops = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
        notes.append(f"{label}: imports keyring {'yes' if 'keyring' in tops else 'no'}, "
                     f"cryptography {'yes' if 'cryptography' in tops else 'no'}, "
                     f"jeepney {'yes' if 'jeepney' in tops else 'no'}")
    return notes


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall ms, child CPU ms) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()}")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu




def has_exec(provctl: str, env: dict) -> bool:
    return subprocess.run([provctl, "exec", "--help"], env=env, capture_output=True).returncode == 0


def bench_import(provctl: str, work: Path, env: dict, runs: int) -> dict[str, list[float]]:
    return import_scale.time_imports(provctl, work, env, 10_000, runs)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / ".venv" / "bin" / "provctl"),
                    help="the provctl console script (default: .venv/bin/provctl)")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30, min 20)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--import-runs", type=int, default=5, help="timed imports per report form (0: skip)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count each command's instructions once under valgrind (callgrind)")
    args = ap.parse_args()
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        sys.exit("bench: no D-Bus session; run it as bench/secret-service.sh .venv/bin/python "
                 "bench/secret_service_side_by_side.py")
    runs = max(args.runs, 20)
    provctl = str(Path(args.bin).absolute())
    python = str(Path(provctl).with_name("python"))
    work = Path(tempfile.mkdtemp(prefix="provctl-ss-bench-"))
    # bytecode caches as an installed provctl has them (the warm-up writes them)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PROVCTL_", "KEYRING_PROPERTY_")) and k not in ("PYTHONDONTWRITEBYTECODE",
                                                                               "PYTHON_KEYRING_BACKEND")}
    env.update({"PROVCTL_DB": str(work / "provctl.db"), "PROVCTL_USER": "bench", "NO_COLOR": "1"})
    names: dict = {}
    try:
        names = build(provctl, env)
        # keyring's SecretService backend, through the keyring library: a property provctl's
        # direct reader does not know makes it hand over (keyring sets it and ignores it)
        handover = dict(env, KEYRING_PROPERTY_PROVCTL_BENCH="1")
        notes = check(provctl, python, env, names, handover)
        floor_py, limit_py = work / "floor.py", work / "limit.py"
        floor_py.write_text(FLOOR)
        limit_py.write_text(LIMIT)
        db, uid = env["PROVCTL_DB"], names["uid"]
        commands: dict[str, tuple[list[str], dict]] = {
            "floor": ([python, str(floor_py), db, uid, names["ss_model"]], env),
            "limit (jeepney)": ([python, str(limit_py), db, uid, names["ss_model"], names["vault"]], env),
        }
        if shutil.which("secret-tool"):
            commands["secret-tool"] = (["secret-tool", "lookup", "service", "provctl", "username", names["vault"]], env)
        if shutil.which("gh"):
            gh_dir = work / "gh"
            gh_dir.mkdir()
            (gh_dir / "hosts.yml").write_text("github.com:\n    oauth_token: gho_" + uuid.uuid4().hex +
                                              "\n    user: bench\n    git_protocol: https\n")
            commands["gh auth token"] = (["gh", "auth", "token"],
                                         dict(env, GH_CONFIG_DIR=str(gh_dir), GH_NO_UPDATE_NOTIFIER="1"))
        commands.update({
            "resolve env": ([provctl, "resolve", names["env_model"], "--json"], env),
            "resolve ss": ([provctl, "resolve", names["ss_model"], "--json"], env),
            "resolve ss/kr": ([provctl, "resolve", names["ss_model"], "--json"], handover),
            "show ss": ([provctl, "providers", "show", "Vault", "--json"], env),
        })
        if has_exec(provctl, env):
            commands["exec ss"] = ([provctl, "exec", names["ss_model"], "--", "true"], env)
        commands["list"] = ([provctl, "providers", "list", "--json"], env)

        for _ in range(args.warmup):
            for cmd, e in commands.values():
                timed(cmd, e)
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, (cmd, e) in commands.items():
                w, c = timed(cmd, e)
                wall[name].append(w)
                cpu[name].append(c)
        imports = bench_import(provctl, work, env, args.import_runs) if args.import_runs else {}

        load = os.getloadavg()
        print(f"provctl Secret Service side by side — {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"load average {' '.join(f'{x:.2f}' for x in load)}")
        print(f"provctl: {provctl}; Secret Service: gnome-keyring in a private D-Bus session")
        print(f"runs: {args.warmup} warm-up + {runs} timed per command, interleaved")
        for note in notes:
            print(f"check: {note}")
        print()
        med = {n: statistics.median(x) for n, x in wall.items()}
        cmed = {n: statistics.median(x) for n, x in cpu.items()}
        print(f"{'command':<17} {'wall ms':>8} {'× floor':>8} {'min ms':>7} {'p90 ms':>7} {'cpu ms':>7} {'× floor':>8}")
        for name, xs in wall.items():
            p90 = sorted(xs)[int(0.9 * (len(xs) - 1))]
            print(f"{name:<17} {med[name]:>8.1f} {med[name] / med['floor']:>8.2f} {min(xs):>7.1f} {p90:>7.1f} "
                  f"{cmed[name]:>7.1f} {cmed[name] / cmed['floor']:>8.2f}")
        for form, xs in imports.items():
            print(f"{form:<17} {statistics.median(xs) * 1000:>8.0f} {'—':>8} {min(xs) * 1000:>7.0f} "
                  f"{max(xs) * 1000:>7.0f}   (median of {len(xs)}, max in the p90 column)")
        print()
        print(f"{'goal':<34} {'measured':>9}  {'goal':>7}")
        for name in ("resolve ss", "show ss", "exec ss"):
            if name in med:
                ratio = med[name] / med["floor"]
                print(f"{name + ' / floor (wall)':<34} {ratio:>8.2f}×  {'≤ 2.5×':>7}  "
                      f"{'met' if ratio <= RATIO_GOAL else 'MISSED'}")
        for form, xs in imports.items():
            m = statistics.median(xs)
            print(f"{form:<34} {m:>8.2f}s  {'≤ 2 s':>7}  {'met' if m <= IMPORT_GOAL_S else 'MISSED'}")
        if args.instructions:
            if shutil.which("valgrind") is None:
                print("\n(no valgrind: instruction counts skipped)")
            else:
                counts = {name: instructions(cmd, e) for name, (cmd, e) in commands.items()}
                print("\ninstructions (valgrind --tool=callgrind, one run each; ratio to floor)")
                for name, n in counts.items():
                    if n:
                        print(f"{name:<17} {n / 1e6:>8.1f} M  {n / counts['floor']:>5.2f}×")
    finally:
        if names.get("vault"):  # take the benchmark's secret out of the keyring again
            subprocess.run([provctl, "providers", "remove", "Vault", "--force"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
