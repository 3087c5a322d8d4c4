"""Refresh concurrency: `providers refresh` of 50 connections against a loopback provider that
answers each models request in 200 ms, concurrent (the default bound) vs serial.

    .venv/bin/python bench/refresh_concurrency.py                  # 50 connections, 200 ms
    .venv/bin/python bench/refresh_concurrency.py -n 20 --delay 0.5 --repeat 1

Two measurements, each the best of ``--repeat`` runs:

* service: ``services.discovery.refresh`` in-process (memory key store, api_key connections),
  with ``max_workers`` 1 (serial), the default bound, and twice the default;
* cli: the installed console script, ``provctl providers refresh --all --json`` with the same
  number of ``local`` (ollama-shaped) connections, so no keyring is involved; process start
  included.

The server is ``tests/support/fakeprovider.FakeProvider`` (a threading HTTP server on
127.0.0.1). Not a timed test: the figures go to BENCHMARKS.md ("Refresh concurrency").
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provctl.db import file as dbfile  # noqa: E402
from provctl.context import AppContext  # noqa: E402
from provctl.keystore import MemoryKeyStore  # noqa: E402
from provctl.services import connections, discovery  # noqa: E402
from provctl.services.connections import Credentials  # noqa: E402
from tests.support.fakeprovider import FakeProvider, models_reply, slow_reply  # noqa: E402


def provctl_bin() -> str:
    venv = REPO / ".venv" / "bin" / "provctl"
    return str(venv) if venv.exists() else (shutil.which("provctl") or "provctl")


def make_ctx(db: Path) -> AppContext:
    store = MemoryKeyStore()
    dbfile.ensure_schema(db)
    return AppContext(db_path=db, user="bench", environ={}, keystore_factory=lambda: store)


def build(ctx: AppContext, fake: FakeProvider, n: int, provider: str) -> None:
    for i in range(n):
        if provider == "ollama":
            creds, url = Credentials(), fake.url
        else:
            creds, url = Credentials(key=f"sk-bench-{i:04d}-0123456789abcdef"), f"{fake.url}/v1"
        connections.connect(ctx, provider, label=f"bench-{i:04d}", base_url=url, creds=creds)


def best(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="connections (default 50)")
    parser.add_argument("--delay", type=float, default=0.2, help="server answer time, s (default 0.2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    parser.add_argument("--no-cli", action="store_true", help="skip the console-script case")
    args = parser.parse_args()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(var, None)

    default = discovery.REFRESH_WORKERS
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="provctl-bench-") as tmp, FakeProvider() as fake:
        fake.set("/v1/models", slow_reply(args.delay, models_reply("openai", "gpt-4o", "gpt-4o-mini")))
        fake.set("/api/tags", slow_reply(args.delay, models_reply("ollama", "llama3:latest")))

        ctx = make_ctx(Path(tmp) / "service.db")
        build(ctx, fake, args.n, "openai")
        for workers in (1, default, 2 * default):
            def run(workers=workers) -> None:
                results = discovery.refresh(ctx, (), True, 10.0, max_workers=workers)
                assert len(results) == args.n and all(r.ok for r in results), results
            label = "serial (max_workers=1)" if workers == 1 else f"max_workers={workers}"
            if workers == default:
                label += " (default)"
            rows.append((f"service, {label}", best(args.repeat, run)))

        if not args.no_cli:
            cli_db = Path(tmp) / "cli.db"
            build(make_ctx(cli_db), fake, args.n, "ollama")
            env = {**os.environ, "PROVCTL_DB": str(cli_db), "PROVCTL_USER": "bench"}

            def run_cli() -> None:
                proc = subprocess.run([provctl_bin(), "providers", "refresh", "--all", "--json"],
                                      env=env, capture_output=True, text=True)
                assert proc.returncode == 0, proc.stderr

            rows.append((f"cli, `provctl providers refresh --all` (default bound {default})",
                         best(args.repeat, run_cli)))

    floor = args.n * args.delay
    serial = rows[0][1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.n} connections, server answers in {args.delay * 1000:.0f} ms each "
          f"(serial floor {floor:.2f} s); best of {args.repeat}")
    print(f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load average {load:.2f} at the end")
    print()
    print("| case | wall time | speed-up vs measured serial |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} s | {serial / seconds:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
