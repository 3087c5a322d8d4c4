"""Twelve `provctl model attach` processes on the same model at once: every one succeeds,
silently, and the list ends dense (priorities 1..12), because each attach rewrites the whole
list inside one BEGIN IMMEDIATE transaction and the busy timeout serialises them."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

pytestmark = pytest.mark.e2e

N = 12


def _spawn(provctl_bin, e2e_env, *args):
    return subprocess.Popen([str(provctl_bin), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e2e_env)


@pytest.mark.parametrize("at_front", [False, True], ids=["append", "priority-1"])
def test_parallel_attach_on_one_model(run, provctl_bin, e2e_env, at_front):
    for i in range(N):
        run("connect", "openai", "--label", f"C{i:02d}", "--key-env", f"KEY_{i}", check=0)
    run("model", "add", "gpt-4o", "--provider", "openai", check=0)  # no usable one: nothing attached
    extra = ["--priority", "1"] if at_front else []
    env = dict(e2e_env, **{f"KEY_{i}": f"sk-{i}" for i in range(N)})  # usable: no warnings
    procs = [_spawn(provctl_bin, env, "model", "attach", "gpt-4o", f"openai/C{i:02d}", *extra)
             for i in range(N)]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    for _out, err, code in results:
        assert code == 0, err
        assert re.fullmatch(r"Attached openai/api_key/C\d\d to gpt-4o at priority \d+\.\n", err), err
    doc = json.loads(run("model", "show", "gpt-4o", "--json", check=0).stdout)
    assert [c["priority"] for c in doc["connections"]] == list(range(1, N + 1))
    assert sorted(c["label"] for c in doc["connections"]) == [f"C{i:02d}" for i in range(N)]
