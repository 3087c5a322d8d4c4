"""`provctl resolve` through the Typer app (CliRunner, memory key store): whole documents,
exact text and env output, exit codes 0 / 2 / 3 / 5."""

from __future__ import annotations

import json
import sqlite3
import sys
import types
from datetime import timedelta

import pytest

from provctl.domain import timeutil
from tests.support.rows import NOW

WORK_KEY = "sk-work-" + "w" * 24 + "1111"
SUB_KEY = "sk-sub-" + "s" * 24 + "2222"


@pytest.fixture
def ids(cli, environ, db_path):
    """gpt-4o: 1 Old (disabled), 2 Sub (expired subscription), 3 CI (env key), 4 Work (keyring)."""
    cli("connect", "openai", "--label", "Old", "--key-stdin", input="sk-old-" + "o" * 24 + "\n")
    cli("providers", "disable", "Old")
    past = timeutil.stamp(NOW - timedelta(seconds=30))
    assert cli("connect", "openai", "--label", "Sub", "--auth", "subscription", "--expires-at", past,
               "--key-stdin", input=SUB_KEY).exit_code == 0
    cli("connect", "openai", "--label", "CI", "--key-env", "CI_OPENAI_KEY")
    cli("connect", "openai", "--label", "Work", "--key-stdin", input=WORK_KEY)
    cli("model", "add", "gpt-4o", "--provider", "openai", "--upstream", "gpt-4o-2024-08-06",
        "--attach", "Old", "--attach", "Sub", "--attach", "CI", "--attach", "Work")
    return {c["label"]: c["id"] for c in cli.json("providers", "list", "--json")}


def cand(ids, priority, label, outcome, reason=None, detail=None):
    return {"priority": priority, "id": ids[label], "label": label, "outcome": outcome,
            "reason": reason, "detail": detail}


DISABLED = "the connection is disabled; enable it with `provctl providers enable`"
EXPIRED = "the token expired at 2026-11-21T11:59:30.000000Z (60-second margin)"
NO_ENV = "no key stored in the keyring; $CI_OPENAI_KEY is unset or empty"


def test_json_with_env_key_selected(cli, ids, environ):
    environ["CI_OPENAI_KEY"] = "sk-ci-from-env"
    result = cli("resolve", "gpt-4o", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {
        "model": "gpt-4o", "upstream_model": "gpt-4o-2024-08-06", "provider": "openai", "agent": None,
        "selected": {"id": ids["CI"], "label": "CI", "auth_type": "api_key",
                     "base_url": "https://api.openai.com/v1", "credential_source": "env"},
        "reason": None,
        "candidates": [
            cand(ids, 1, "Old", "skipped", "disabled", DISABLED),
            cand(ids, 2, "Sub", "skipped", "expired", EXPIRED),
            cand(ids, 3, "CI", "selected"),
            cand(ids, 4, "Work", "not_tried"),
        ],
    }


def test_json_falls_through_to_the_keyring_key_and_reveals_it(cli, ids):
    doc = cli.json("resolve", "gpt-4o", "--format", "json", "--reveal")
    assert doc["selected"] == {"id": ids["Work"], "label": "Work", "auth_type": "api_key",
                               "base_url": "https://api.openai.com/v1", "credential_source": "keyring",
                               "api_key": WORK_KEY}
    assert doc["candidates"][2] == cand(ids, 3, "CI", "skipped", "no_key", NO_ENV)


def test_key_missing_then_nothing_usable_prints_json_and_exits_5(cli, ids, keystore):
    del keystore.secrets[ids["Work"]]
    result = cli("resolve", "gpt-4o", "--json")
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert (doc["selected"], doc["reason"]) == (None, "no_usable_connection")
    assert doc["candidates"][3] == cand(
        ids, 4, "Work", "skipped", "key_missing",
        "the database says a key was stored, but the keyring has no entry for it; store it again "
        "with `provctl providers set-key`")
    assert result.stderr == (
        "Error: no usable connection for model gpt-4o (4 skipped)\n"
        "Hint: each skip has its reason; `provctl model show gpt-4o` shows the status of every "
        "attached connection\n")


def test_keyring_unavailable_is_a_skip_not_a_failure(cli, ids, keystore, environ):
    keystore.fail = True
    result = cli("resolve", "gpt-4o", "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout)["candidates"][3] == cand(
        ids, 4, "Work", "skipped", "keyring_unavailable", "no usable keyring backend (test double)")
    cli("model", "reorder", "gpt-4o", "Work", "Old", "Sub", "CI")
    environ["CI_OPENAI_KEY"] = "sk-ci"
    doc = cli.json("resolve", "gpt-4o", "--json")
    assert [c["outcome"] for c in doc["candidates"]] == ["skipped", "skipped", "skipped", "selected"]


def test_text_output(cli, ids):
    result = cli("resolve", "gpt-4o")
    assert result.exit_code == 0
    assert result.stdout == "openai/api_key/Work\nhttps://api.openai.com/v1\n"
    assert result.stderr == (
        f"Skipped openai/api_key/Old (priority 1): disabled — {DISABLED}\n"
        f"Skipped openai/subscription/Sub (priority 2): expired — {EXPIRED}\n"
        f"Skipped openai/api_key/CI (priority 3): no_key — {NO_ENV}\n"
    )
    revealed = cli("resolve", "gpt-4o", "--reveal")
    assert revealed.stdout == f"openai/api_key/Work\nhttps://api.openai.com/v1\n{WORK_KEY}\n"


def test_env_output(cli, ids):
    result = cli("resolve", "gpt-4o", "--format", "env")
    assert result.exit_code == 0
    assert result.stdout == (
        "export PROVCTL_PROVIDER='openai'\n"
        "export PROVCTL_MODEL='gpt-4o-2024-08-06'\n"
        "export PROVCTL_BASE_URL='https://api.openai.com/v1'\n"
        "export PROVCTL_CONNECTION='openai/api_key/Work'\n"
        f"export PROVCTL_API_KEY='{WORK_KEY}'\n"
        f"export OPENAI_API_KEY='{WORK_KEY}'\n"
        "export OPENAI_BASE_URL='https://api.openai.com/v1'\n"
    )
    assert result.stderr.count("Skipped ") == 3


def test_env_on_exit_5_prints_nothing_on_stdout(cli, ids):
    cli("providers", "disable", "Work")
    result = cli("resolve", "gpt-4o", "--format", "env")
    assert (result.exit_code, result.stdout) == (5, "")
    assert result.stderr.splitlines()[-2] == "Error: no usable connection for model gpt-4o (4 skipped)"


def test_openai_compatible_local_connection_env(cli):
    cli("connect", "openai-compatible", "--label", "Gateway", "--auth", "local",
        "--base-url", "http://127.0.0.1:8000/v1/")
    cli("model", "add", "llama", "--provider", "openai-compatible", "--upstream", "meta/llama-3")
    result = cli("resolve", "llama", "--format", "env")
    assert result.stdout == (
        "export PROVCTL_PROVIDER='openai-compatible'\n"
        "export PROVCTL_MODEL='meta/llama-3'\n"
        "export PROVCTL_BASE_URL='http://127.0.0.1:8000/v1'\n"
        "export PROVCTL_CONNECTION='openai-compatible/local/Gateway'\n"
        "export PROVCTL_API_KEY=''\n"
        "export OPENAI_API_KEY='local'\n"  # the SDKs refuse an empty key
        "export OPENAI_BASE_URL='http://127.0.0.1:8000/v1'\n"
    )
    key = cli("resolve", "llama", "--format", "key")
    assert (key.exit_code, key.stdout) == (0, "\n")
    doc = cli.json("resolve", "llama", "--json", "--reveal")
    assert doc["selected"]["credential_source"] == "none" and doc["selected"]["api_key"] is None


def test_default_model_is_used_without_a_model_argument(cli, ids):
    no_default = cli("resolve")
    assert no_default.exit_code == 3
    assert no_default.stderr == (
        "Error: no MODEL given and no default model is set\n"
        "Hint: name a model (`provctl resolve gpt-4o`), or make one the default with "
        "`provctl model update NAME --default`\n")
    cli("model", "update", "gpt-4o", "--default")
    assert cli.json("resolve", "--json")["model"] == "gpt-4o"


def test_unknown_model_is_exit_3(cli, ids):
    result = cli("resolve", "gpt-5", "--json")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr.startswith("Error: no model named 'gpt-5'\n")


def test_model_names_are_folded(cli, ids):
    assert cli.json("resolve", "GPT-4O", "--json")["model"] == "gpt-4o"


def test_disabled_model_is_exit_5_model_disabled(cli, ids):
    cli("model", "update", "gpt-4o", "--disable")
    result = cli("resolve", "gpt-4o", "--json")
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert (doc["reason"], doc["selected"]) == ("model_disabled", None)
    assert {c["outcome"] for c in doc["candidates"]} == {"not_tried"}
    assert result.stderr == ("Error: model gpt-4o is disabled\n"
                             "Hint: enable it with `provctl model update gpt-4o --enable`\n")


def test_model_without_connections_is_exit_5_no_connections(cli):
    cli("model", "add", "empty", "--provider", "openai")
    result = cli("resolve", "empty", "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout) == {
        "model": "empty", "upstream_model": "empty", "provider": "openai", "agent": None,
        "selected": None, "reason": "no_connections", "candidates": []}
    text = cli("resolve", "empty")
    assert (text.exit_code, text.stdout) == (5, "")
    assert text.stderr.startswith("Error: model empty has no connections attached\n")


def test_no_implicit_fallback_to_other_connections_of_the_family(cli, ids):
    cli("connect", "openai", "--label", "Unattached", "--key-stdin", input="sk-un-" + "u" * 30)
    for label in ("Work",):
        cli("model", "detach", "gpt-4o", label)
    doc = json.loads(cli("resolve", "gpt-4o", "--json").stdout)
    assert doc["selected"] is None and "Unattached" not in [c["label"] for c in doc["candidates"]]


def test_legacy_row_is_skipped_even_for_its_own_agent(cli, ids, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("INSERT INTO agents (id, user_id, name, name_key, created_at) "
                 "SELECT 'ag1', user_id, 'bot', 'bot', created_at FROM connections LIMIT 1")
    conn.execute("UPDATE connections SET agent_id = 'ag1' WHERE id = ?", (ids["Work"],))
    conn.close()
    result = cli("resolve", "gpt-4o", "--json", "--agent", "bot")
    doc = json.loads(result.stdout)
    assert result.exit_code == 5 and doc["agent"] == "bot"
    assert doc["candidates"][3]["reason"] == "legacy"
    assert doc["candidates"][3]["detail"] == "agent-scoped (agent bot); lift it with `provctl migrate-lift`"


def test_family_mismatch_is_skipped(cli, ids, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("UPDATE connections SET provider = 'anthropic' WHERE id = ?", (ids["Work"],))
    conn.close()
    doc = json.loads(cli("resolve", "gpt-4o", "--json").stdout)
    assert doc["candidates"][3]["reason"] == "family_mismatch"


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "yaml"], "Error: unknown format 'yaml'"),
    (["--json", "--format", "env"], "Error: --json contradicts --format env"),
    (["--agent", " "], "Error: agent name must not be empty"),
])
def test_usage_errors_are_exit_2(cli, ids, args, message):
    result = cli("resolve", "gpt-4o", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == message


def test_probe_skips_a_failing_endpoint_and_passes_key_and_timeout(cli, ids, monkeypatch, environ):
    environ["CI_OPENAI_KEY"] = "sk-ci"
    calls = []

    def probe(row, key, timeout):
        calls.append((row.label, key, timeout))
        ok = row.label == "Work"
        return types.SimpleNamespace(result="ok" if ok else "unauthorized",
                                     detail=None if ok else "HTTP 401")

    fake = types.ModuleType("provctl.services.discovery")
    fake.probe = probe
    monkeypatch.setitem(sys.modules, "provctl.services.discovery", fake)
    doc = cli.json("resolve", "gpt-4o", "--json", "--probe", "--timeout", "2.5")
    assert calls == [("CI", "sk-ci", 2.5), ("Work", WORK_KEY, 2.5)]
    assert doc["candidates"][2] == cand(ids, 3, "CI", "skipped", "probe_failed", "HTTP 401")
    assert doc["selected"]["id"] == ids["Work"]


def test_a_probe_that_raises_is_a_probe_failure_not_the_end_of_the_walk(cli, ids, monkeypatch):
    def probe(row, key, timeout):
        if row.label == "Work":
            return types.SimpleNamespace(result="ok", detail=None)
        raise RuntimeError(f"boom {key}")  # the message (with the key) is never shown

    cli("model", "reorder", "gpt-4o", "CI", "Old", "Sub", "Work")
    cli("providers", "set-key", "CI", "--key-stdin", input="sk-ci-stored-" + "c" * 20)
    fake = types.ModuleType("provctl.services.discovery")
    fake.probe = probe
    monkeypatch.setitem(sys.modules, "provctl.services.discovery", fake)
    result = cli("resolve", "gpt-4o", "--json", "--probe")
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["selected"]["label"] == "Work"
    assert doc["candidates"][0] == cand(ids, 1, "CI", "skipped", "probe_failed", "probe error: RuntimeError")
    assert "sk-ci-stored" not in result.stdout + result.stderr


# ---------------------------------------------------------------- --agent (SPEC §10)


def denied(agent, ref):
    return (f"not granted to agent {agent} (access: listed); grant it with "
            f"`provctl agent grant {agent} {ref}`")


def test_an_unknown_agent_is_exit_3_with_a_hint(cli, ids):
    result = cli("resolve", "gpt-4o", "--agent", "nobody", "--json")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == ("Error: no agent named 'nobody'\n"
                             "Hint: see `provctl agent list`, or add it with `provctl agent add nobody`\n")


def test_an_agent_with_access_all_has_no_access_check(cli, ids):
    cli("agent", "add", "bot")
    doc = cli.json("resolve", "gpt-4o", "--agent", "BOT", "--json")
    assert doc["agent"] == "bot"  # the agent's own spelling
    assert doc["selected"]["label"] == "Work"
    assert [c["reason"] for c in doc["candidates"]] == ["disabled", "expired", "no_key", None]


def test_a_listed_agent_skips_what_is_not_granted_to_it(cli, ids, environ):
    environ["CI_OPENAI_KEY"] = "sk-ci-from-env"
    cli("agent", "add", "ci-bot", "--access", "listed")
    cli("agent", "grant", "ci-bot", "Old", "Work")
    result = cli("resolve", "gpt-4o", "--agent", "ci-bot", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    doc = json.loads(result.stdout)
    assert (doc["agent"], doc["selected"]["label"]) == ("ci-bot", "Work")
    assert doc["candidates"] == [
        cand(ids, 1, "Old", "skipped", "disabled", DISABLED),  # granted, but disabled
        cand(ids, 2, "Sub", "skipped", "agent_denied", denied("ci-bot", "openai/subscription/Sub")),
        cand(ids, 3, "CI", "skipped", "agent_denied", denied("ci-bot", "openai/api_key/CI")),
        cand(ids, 4, "Work", "selected"),
    ]
    text = cli("resolve", "gpt-4o", "--agent", "ci-bot")
    assert text.stdout == "openai/api_key/Work\nhttps://api.openai.com/v1\n"
    assert text.stderr.splitlines()[1:] == [
        f"Skipped openai/subscription/Sub (priority 2): agent_denied — {denied('ci-bot', 'openai/subscription/Sub')}",
        f"Skipped openai/api_key/CI (priority 3): agent_denied — {denied('ci-bot', 'openai/api_key/CI')}",
    ]
    assert cli("resolve", "gpt-4o").stdout.startswith("openai/api_key/CI\n")  # without --agent: no check


def test_a_listed_agent_with_nothing_granted_gets_exit_5_and_nothing_on_stdout_for_env(cli, ids, environ):
    environ["CI_OPENAI_KEY"] = "sk-ci-from-env"
    cli("agent", "add", "locked", "--access", "listed")
    result = cli("resolve", "gpt-4o", "--agent", "locked", "--format", "env")
    assert (result.exit_code, result.stdout) == (5, "")
    assert result.stderr.splitlines()[-2:] == [
        "Error: no usable connection for model gpt-4o (4 skipped)",
        "Hint: each skip has its reason; `provctl model show gpt-4o --agent locked` shows the status "
        "of every attached connection"]
    assert [line.split(": ")[1].split(" — ")[0] for line in result.stderr.splitlines()[:4]] == ["agent_denied"] * 4


def test_legacy_is_checked_before_agent_denied(cli, ids, db_path):
    cli("agent", "add", "bot", "--access", "listed")
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("UPDATE connections SET agent_id = (SELECT id FROM agents WHERE name = 'bot') WHERE id = ?",
                 (ids["Work"],))
    conn.close()
    doc = json.loads(cli("resolve", "gpt-4o", "--json", "--agent", "bot").stdout)
    assert [c["reason"] for c in doc["candidates"]] == ["agent_denied"] * 3 + ["legacy"]


def test_model_show_and_list_with_agent_show_that_agents_view(cli, ids, environ):
    environ["CI_OPENAI_KEY"] = "sk-ci-from-env"
    cli("agent", "add", "ci-bot", "--access", "listed")
    cli("agent", "grant", "ci-bot", "Work")
    statuses = lambda *args: [c["status"] for c in cli.json("model", "show", "gpt-4o", "--json", *args)["connections"]]  # noqa: E731
    assert statuses() == ["disabled", "expired", "active", "active"]
    assert statuses("--agent", "ci-bot") == ["agent_denied", "agent_denied", "agent_denied", "active"]
    pick = lambda *args: cli.json("model", "list", "--json", *args)[0]["would_select"]  # noqa: E731
    assert (pick(), pick("--agent", "CI-BOT")) == ("CI", "Work")
    cli("agent", "revoke", "ci-bot", "Work")
    assert pick("--agent", "ci-bot") is None
    table = cli("model", "show", "gpt-4o", "--agent", "ci-bot").stdout
    assert table.count("agent_denied") == 4
    for args in (["model", "show", "gpt-4o"], ["model", "list"]):
        result = cli(*args, "--agent", "nobody")
        assert (result.exit_code, result.stdout) == (3, "")
        assert result.stderr.endswith("Hint: see `provctl agent list`, or add it with `provctl agent add nobody`\n")
