"""Hostile endpoints and files against the installed console script (issue 10, SPEC §2, §7):
the memory a gzip bomb or an id flood may cost, a trickling server's hold on the clock, and the
mode of `--output` files under umask 000."""

from __future__ import annotations

import json
import stat
import subprocess
import time

import pytest

from tests.support.fakeprovider import FakeProvider, gzip_reply, json_reply, trickle_reply

pytestmark = pytest.mark.e2e

NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "HTTP_PROXY": None, "HTTPS_PROXY": None, "ALL_PROXY": None,
            "http_proxy": None, "https_proxy": None, "all_proxy": None}
# runs the console script and prints its peak resident memory (KiB) last, on stdout
PEAK = ("import resource, subprocess, sys\n"
        "proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(proc.stderr)\n"
        "print(proc.stdout + '\\n' + str(proc.returncode) + ' '\n"
        "      + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n")


@pytest.fixture
def fake():
    with FakeProvider() as server:
        yield server


def refresh_peak(provctl_bin, bin_python, e2e_env, *refs: str) -> tuple[list, int, int]:
    env = {k: v for k, v in {**e2e_env, **NO_PROXY}.items() if v is not None}
    proc = subprocess.run([bin_python, "-c", PEAK, str(provctl_bin), "providers", "refresh", *refs,
                           "--json", "--timeout", "30"], capture_output=True, text=True, env=env,
                          timeout=120)
    out, _, tail = proc.stdout.rstrip().rpartition("\n")
    code, peak_kib = map(int, tail.split())
    return json.loads(out), code, peak_kib


def test_a_gzip_bomb_and_an_id_flood_cost_little_memory(run, fake, provctl_bin, bin_python, e2e_env):
    """16: a 400 MB gzip bomb used 841 MB and 2 M ids 705 MB (and were stored)."""
    fake.set("/bomb/api/tags", gzip_reply(b" " * (300 * 1000 * 1000)))
    fake.set("/flood/api/tags", json_reply({"models": [{"name": f"m{i}"} for i in range(100_001)]}))
    bomb = json.loads(run("connect", "ollama", "--label", "bomb", "--base-url", f"{fake.url}/bomb",
                          "--json", check=True).stdout)["id"]
    flood = json.loads(run("connect", "ollama", "--label", "flood", "--base-url", f"{fake.url}/flood",
                           "--json", check=True).stdout)["id"]
    results, code, peak_kib = refresh_peak(provctl_bin, bin_python, e2e_env, bomb)
    assert code == 5
    assert [(r["result"], r["detail"]) for r in results] == [("bad_response", "response larger than 10 MB")]
    print(f"peak RSS, 300 MB gzip bomb: {peak_kib // 1024} MiB")
    assert peak_kib < 150 * 1024, peak_kib  # the interpreter, the libraries and a 10 MB cap
    results, code, peak_kib = refresh_peak(provctl_bin, bin_python, e2e_env, flood)
    assert [(r["result"], r["detail"]) for r in results] == [("bad_response", "more than 100,000 model ids")]
    print(f"peak RSS, 100,001 ids: {peak_kib // 1024} MiB")
    assert peak_kib < 250 * 1024, peak_kib
    assert json.loads(run("providers", "models", flood, "--json", check=True).stdout) == []


def test_a_trickling_server_cannot_hold_refresh(run, fake):
    """16: `refresh --timeout 2` against a trickling endpoint took 41–61 s."""
    fake.set("/api/tags", trickle_reply(0.2, json_reply({"models": [{"name": f"m{i}"} for i in range(30)]})))
    cid = json.loads(run("connect", "ollama", "--label", "slow", "--base-url", fake.url, "--json",
                         check=True).stdout)["id"]
    started = time.monotonic()
    proc = run("providers", "refresh", cid, "--timeout", "2", "--json", env=NO_PROXY, check=5)
    elapsed = time.monotonic() - started
    assert json.loads(proc.stdout)[0]["detail"] == "timed out after 2s waiting for the response"
    assert elapsed < 7, elapsed  # two attempts of 2 s, the backoff, start-up


def test_output_files_are_0600_under_umask_000(run, provctl_bin, e2e_env, tmp_path):
    """15: `export --output` and `migrate-lift --output` followed the umask (0666 under 000)."""
    run("connect", "ollama", "--label", "Laptop", check=True)
    for args, name in ((["export", "--output"], "inventory.json"),
                       (["migrate-lift", "--dry-run", "--output"], "report.txt")):
        target = tmp_path / name
        proc = subprocess.run(["sh", "-c", 'umask 000 && exec "$@"', "sh", str(provctl_bin), *args, str(target)],
                              env=e2e_env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
