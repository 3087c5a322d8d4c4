"""`provctl resolve` end to end: the installed console script, the real Secret Service.

All three formats, `eval "$(provctl resolve M --format env)"` in bash, and `key_missing`
after the keyring entry is deleted behind provctl's back.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def keys():
    return {"Work": "sk-work-" + uuid.uuid4().hex, "Backup": "sk-backup-" + uuid.uuid4().hex}


@pytest.fixture
def world(run, keys, keyring_delete):
    """gpt-4o: 1 openai/Work (keyring), 2 openai/Backup (keyring), 3 openai/CI (env CI_KEY)."""
    run("connect", "openai", "--label", "Work", "--key-stdin", input=keys["Work"] + "\n", check=0)
    run("connect", "openai", "--label", "Backup", "--key-stdin", input=keys["Backup"] + "\n", check=0)
    run("connect", "openai", "--label", "CI", "--key-env", "CI_KEY", "--key-source", "env", check=0)
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work", "--attach", "Backup",
        "--attach", "CI", "--default", check=0)
    ids = {c["label"]: c["id"] for c in json.loads(run("providers", "list", "--json", check=0).stdout)}
    yield ids
    for cid in ids.values():  # the real keyring outlives the test's database
        keyring_delete("provctl", cid)


def test_text_format(run, world, keys):
    proc = run("resolve", "gpt-4o", check=0)
    assert proc.stdout == "openai/api_key/Work\nhttps://api.openai.com/v1\n"
    assert proc.stderr == ""
    revealed = run("resolve", "gpt-4o", "--reveal", check=0)
    assert revealed.stdout.splitlines()[2] == keys["Work"]


def test_json_format(run, world, keys):
    doc = json.loads(run("resolve", "--json", "--reveal", check=0).stdout)  # the default model
    assert doc == {
        "model": "gpt-4o", "upstream_model": "gpt-4o", "provider": "openai", "agent": None,
        "selected": {"id": world["Work"], "label": "Work", "auth_type": "api_key",
                     "base_url": "https://api.openai.com/v1", "credential_source": "keyring",
                     "api_key": keys["Work"]},
        "reason": None,
        "candidates": [
            {"priority": 1, "id": world["Work"], "label": "Work", "outcome": "selected", "reason": None, "detail": None},
            {"priority": 2, "id": world["Backup"], "label": "Backup", "outcome": "not_tried", "reason": None, "detail": None},
            {"priority": 3, "id": world["CI"], "label": "CI", "outcome": "not_tried", "reason": None, "detail": None},
        ],
    }


def test_env_format_evaluates_in_bash(provctl_bin, e2e_env, run, world, keys):
    script = 'eval "$("$PROVCTL" resolve gpt-4o --format env)"; echo "$OPENAI_API_KEY"; echo "$OPENAI_BASE_URL"; echo "$PROVCTL_CONNECTION"'
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(e2e_env, PROVCTL=str(provctl_bin)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{keys['Work']}\nhttps://api.openai.com/v1\nopenai/api_key/Work\n"


def test_env_format_on_exit_5_sets_nothing(provctl_bin, e2e_env, run, world):
    run("model", "add", "empty", "--provider", "mistral", check=0)
    script = ('export OPENAI_API_KEY=before; out="$("$PROVCTL" resolve empty --format env)"; code=$?; '
              'eval "$out"; echo "$code|$out|$OPENAI_API_KEY"')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(e2e_env, PROVCTL=str(provctl_bin)))
    assert proc.stdout == "5||before\n"
    assert proc.stderr.startswith("Error: model empty has no connections attached\n")


def test_key_missing_after_the_keyring_entry_is_deleted_behind_provctls_back(run, world, keys, keyring_delete):
    assert keyring_delete("provctl", world["Work"]) is True
    proc = run("resolve", "gpt-4o", "--json", check=0)
    doc = json.loads(proc.stdout)
    assert doc["candidates"][0]["reason"] == "key_missing"
    assert doc["candidates"][0]["outcome"] == "skipped"
    assert doc["selected"]["label"] == "Backup" and doc["selected"]["credential_source"] == "keyring"
    text = run("resolve", "gpt-4o", check=0)
    assert text.stderr.startswith("Skipped openai/api_key/Work (priority 1): key_missing — ")
    assert text.stdout.splitlines()[0] == "openai/api_key/Backup"


def test_nothing_usable_is_exit_5_in_every_format(run, world, keyring_delete):
    keyring_delete("provctl", world["Work"])
    run("providers", "disable", "Backup", check=0)
    doc = json.loads(run("resolve", "gpt-4o", "--json", check=5).stdout)
    assert (doc["selected"], doc["reason"]) == (None, "no_usable_connection")
    assert [c["reason"] for c in doc["candidates"]] == ["key_missing", "disabled", "no_key"]
    env = run("resolve", "gpt-4o", "--format", "env", check=5)
    assert env.stdout == ""
    assert env.stderr.splitlines()[-2] == "Error: no usable connection for model gpt-4o (3 skipped)"
    text = run("resolve", "gpt-4o", check=5)
    assert text.stdout == "" and text.stderr.count("Skipped ") == 3


def test_env_key_resolves_without_the_keyring(run, world):
    run("model", "reorder", "gpt-4o", "CI", "Work", "Backup", check=0)
    doc = json.loads(run("resolve", "gpt-4o", "--json", env={"CI_KEY": "sk-ci-env"}, check=0).stdout)
    assert (doc["selected"]["label"], doc["selected"]["credential_source"]) == ("CI", "env")
    unset = json.loads(run("resolve", "gpt-4o", "--json", env={"CI_KEY": "  "}, check=0).stdout)
    assert unset["candidates"][0]["reason"] == "no_key" and unset["selected"]["label"] == "Work"


def test_unknown_model_and_missing_default(run, world):
    assert run("resolve", "nope", check=3).stderr.startswith("Error: no model named 'nope'\n")
    other = run("resolve", env={"PROVCTL_USER": "someone-else"}, check=3)
    assert other.stderr.startswith("Error: no MODEL given and no default model is set\n")
