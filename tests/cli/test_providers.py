"""`provctl providers list|show|rename|enable|disable|set-key|remove` through the CLI."""

from __future__ import annotations

import re

import pytest

from provctl.domain import labels
from provctl.keystore import MemoryKeyStore
from tests.support.checks import sql, assert_error

KEY_A = "sk-proj-AAAAAAAAAAAAAAAAAAAAaaaa"
KEY_B = "sk-proj-BBBBBBBBBBBBBBBBBBBBbbbb"
KEY_C = "sk-ant-CCCCCCCCCCCCCCCCCCCCCcccc"
STAMP = "2026-11-21T12:00:00.000000Z"
LIST_KEYS = ["id", "provider", "auth_type", "label", "status", "key_hint", "base_url", "models",
             "attached_models", "agent", "created_at"]
SHOW_KEYS = LIST_KEYS + ["status_detail", "key_env", "key_source", "credential_source", "expires_at", "connected_via",
                         "attachments", "granted_to"]
LEGACY = "99999999-0000-4000-8000-000000000001"


def add_legacy(db_path, label="Default", *, agent="bot", provider="openai", cid=LEGACY):
    uid = sql(db_path, "SELECT id FROM users WHERE name_key = 'alice'")[0][0]
    if not sql(db_path, "SELECT 1 FROM agents WHERE name_key = ?", (labels.fold(agent),)):
        sql(db_path, "INSERT INTO agents (id, user_id, name, name_key, created_at) VALUES (?, ?, ?, ?, ?)",
            (f"agent-{agent}", uid, agent, labels.fold(agent), STAMP))
    aid = sql(db_path, "SELECT id FROM agents WHERE name_key = ?", (labels.fold(agent),))[0][0]
    sql(db_path,
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, enabled, "
        "key_stored, key_source, created_at, updated_at) VALUES (?, ?, ?, ?, 'api_key', ?, ?, 1, 0, 'keyring', ?, ?)",
        (cid, uid, aid, provider, label, labels.fold(label), STAMP, STAMP))
    return cid


def add_model(db_path, name, attached, provider="openai"):
    uid = sql(db_path, "SELECT id FROM users WHERE name_key = 'alice'")[0][0]
    mid = f"model-{name}"
    sql(db_path, "INSERT INTO models (id, user_id, name, name_key, provider, enabled, is_default, created_at) "
                 "VALUES (?, ?, ?, ?, ?, 1, 0, ?)", (mid, uid, name, labels.fold(name), provider, STAMP))
    for prio, cid in enumerate(attached, start=1):
        sql(db_path, "INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)", (mid, cid, prio))


def item(cid, **changes):
    base = {"id": cid, "provider": "openai", "auth_type": "api_key", "label": "Work", "status": "active",
            "key_hint": "sk-p…aaaa", "base_url": None, "models": 0, "attached_models": 0, "agent": None,
            "created_at": STAMP}
    base.update(changes)
    return base


# ---------------------------------------------------------------- list


def test_list_json_is_the_slim_list_in_order(cli, db_path, environ):
    work = cli.connect("openai", "--label", "Work", key=KEY_A)
    home = cli.connect("openai", "--label", "home", "--base-url", "https://proxy.example.com/v1", key=KEY_B)
    plus = cli.connect("openai", "--label", "Plus", "--auth", "subscription", "--expires-at", "2020-01-01",
                   key=KEY_C)
    claude = cli.connect("anthropic", "--label", "CI", "--key-env", "ANTHROPIC_API_KEY")
    laptop = cli.connect("ollama", "--label", "Laptop")
    off = cli.connect("openai", "--label", "Off", "--key-env", "OFF_KEY")
    cli.json("providers", "disable", off, "--json")
    legacy = add_legacy(db_path, "Work")

    doc = cli.json("providers", "list", "--json")
    assert doc == [
        item(claude, provider="anthropic", label="CI", status="no_key", key_hint=None),
        item(laptop, provider="ollama", auth_type="local", label="Laptop", key_hint=None),
        item(home, label="home", key_hint="sk-p…bbbb", base_url="https://proxy.example.com/v1"),
        item(off, label="Off", status="disabled", key_hint=None),
        item(work),
        item(legacy, status="legacy", key_hint=None, agent="bot"),
        item(plus, auth_type="subscription", label="Plus", status="expired", key_hint="sk-a…cccc"),
    ]
    assert all(list(entry) == LIST_KEYS for entry in doc)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["created_at"]) for e in doc)


def test_list_filters_by_provider_and_status(cli, db_path):
    work = cli.connect("openai", "--label", "Work", key=KEY_A)
    cli.connect("anthropic", "--label", "Work", key=KEY_C)
    legacy = add_legacy(db_path, "Old")
    assert [e["id"] for e in cli.json("providers", "list", "--provider", "openai", "--json")] == [legacy, work]
    assert [e["id"] for e in cli.json("providers", "list", "--status", "legacy", "--json")] == [legacy]
    assert [e["id"] for e in cli.json("providers", "list", "--provider", "openai", "--status", "active", "--json")] == [work]
    assert cli.json("providers", "list", "--provider", "groq", "--json") == []


def test_list_refuses_an_unknown_status_or_provider(cli):
    assert_error(cli("providers", "list", "--status", "enabled"), 2, "unknown status 'enabled'",
                 "use one of: active, legacy, disabled, no_key, expired")
    result = cli("providers", "list", "--provider", "closedai")
    assert_error(result, 2, "unknown provider 'closedai'")


def test_list_with_no_connections_is_success(cli):
    assert cli.json("providers", "list", "--json") == []
    result = cli("providers", "list")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "No connections. Add one with `provctl connect PROVIDER`.\n"


def test_list_table_shows_one_line_per_connection_without_the_key(cli, db_path):
    work = cli.connect("openai", "--label", "Work", key=KEY_A)
    add_legacy(db_path, "Old")
    result = cli("providers", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "PROVIDER", "AUTH", "LABEL", "STATUS", "KEY", "MODELS", "ATTACHED", "AGENT",
                                "CREATED"]
    assert lines[1].split() == [LEGACY[:8], "openai", "api_key", "Old", "legacy", "—", "0", "0", "bot",
                                "2026-11-21", "12:00:00"]
    assert lines[2].split() == [work[:8], "openai", "api_key", "Work", "active", "sk-p…aaaa", "0", "0",
                                "2026-11-21", "12:00:00"]
    assert len(lines) == 3
    assert KEY_A not in result.stdout + result.stderr


def test_list_makes_no_keyring_call(cli, app_ctx):
    cli.connect("openai", "--label", "A", key=KEY_A)
    cli.connect("openai", "--label", "B", key=KEY_B)

    class Refusing(MemoryKeyStore):
        def _guard(self):
            raise AssertionError("providers list called the keyring")

    app_ctx._keystore = Refusing()
    assert [e["status"] for e in cli.json("providers", "list", "--json")] == ["active", "active"]
    assert cli("providers", "list").exit_code == 0


# ---------------------------------------------------------------- show


def test_show_json_has_every_field(cli, db_path):
    cid = cli.connect("openai", "--label", "Work", "--key-env", "OPENAI_API_KEY", "--agent", "bot", key=KEY_A)
    other = cli.connect("openai", "--label", "Other", key=KEY_B)
    add_model(db_path, "gpt-4o", [other, cid])
    add_model(db_path, "fast", [cid])
    doc = cli.json("providers", "show", "openai/Work", "--json")
    assert doc == {
        **item(cid, attached_models=2), "status_detail": None,
        "key_env": "OPENAI_API_KEY", "key_source": "keyring,env", "credential_source": "keyring",
        "expires_at": None, "connected_via": "bot",
        "attachments": [{"model": "fast", "priority": 1}, {"model": "gpt-4o", "priority": 2}],
        "granted_to": [],
    }
    assert list(doc) == SHOW_KEYS


def test_show_credential_source_follows_the_sources(cli, keystore, environ):
    cid = cli.connect("openai", "--label", "Work", "--key-env", "OPENAI_API_KEY", key=KEY_A)
    keystore.secrets.clear()
    assert cli.json("providers", "show", cid, "--json")["credential_source"] == "none"
    environ["OPENAI_API_KEY"] = KEY_B
    assert cli.json("providers", "show", cid, "--json")["credential_source"] == "env"
    laptop = cli.connect("ollama")
    assert cli.json("providers", "show", laptop, "--json")["credential_source"] == "none"


def test_show_a_subscription_and_a_legacy_row(cli, db_path):
    plus = cli.connect("anthropic", "--auth", "subscription", "--label", "Max", "--expires-at",
                   "2027-03-01T10:00:00+01:00", key=KEY_C)
    doc = cli.json("providers", "show", "anthropic/subscription/max", "--json")
    assert (doc["id"], doc["expires_at"], doc["status"]) == (plus, "2027-03-01T09:00:00.000000Z", "active")
    add_legacy(db_path, "Old")
    legacy = cli.json("providers", "show", "Old", "--json")
    assert (legacy["agent"], legacy["status"], legacy["credential_source"], legacy["attachments"]) == (
        "bot", "legacy", "none", [])


def test_show_table(cli):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    result = cli("providers", "show", "Work")
    assert result.exit_code == 0
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in result.stdout.splitlines()[1:])
    assert fields["id"] == cid
    assert fields["status"] == "active"
    assert fields["key"] == "sk-p…aaaa"
    assert fields["key comes from"] == "keyring"
    assert fields["base URL"] == "https://api.openai.com/v1 (family default)"
    assert KEY_A not in result.stdout + result.stderr


def test_tables_show_a_key_variable_as_the_key(cli):
    cli.connect("openai", "--label", "CI", "--key-env", "CI_OPENAI_KEY",
                "--base-url", "https://proxy.example/v1")
    line = cli("providers", "list").stdout.splitlines()[1]
    assert line.split()[4:6] == ["no_key", "$CI_OPENAI_KEY"]
    shown = cli("providers", "show", "CI").stdout
    fields = dict(re.split(r"\s{2,}", row.strip(), maxsplit=1) for row in shown.splitlines()[1:])
    assert (fields["key"], fields["base URL"]) == ("$CI_OPENAI_KEY", "https://proxy.example/v1")


def test_show_unknown_is_exit_3_and_ambiguous_is_exit_4(cli, db_path):
    work = cli.connect("openai", "--label", "Work", key=KEY_A)
    add_legacy(db_path, "Work")
    assert_error(cli("providers", "show", "Nope"), 3, "no connection matches 'Nope'")
    assert_error(
        cli("providers", "show", "Work"), 4,
        f"'Work' is ambiguous: it matches openai/api_key/Work [{work[:8]}]; "
        f"openai/api_key/Work (agent bot) [{LEGACY[:8]}]",
        "use PROVIDER/AUTH_TYPE/LABEL or the id",
    )
    assert cli.json("providers", "show", work[:8], "--json")["id"] == work


# ---------------------------------------------------------------- rename / enable / disable


def test_rename(cli, keystore):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    result = cli("providers", "rename", "Work", "Office")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Renamed to openai/api_key/Office.\n")
    assert cli.json("providers", "rename", "Office", "Büro", "--json") == item(cid, label="Büro")
    assert keystore.secrets == {cid: KEY_A}


def test_rename_conflict_is_exit_4(cli):
    cli.connect("openai", "--label", "Work", key=KEY_A)
    home = cli.connect("openai", "--label", "Home", key=KEY_B)
    assert_error(cli("providers", "rename", "Work", "HOME"), 4,
                 f"the label 'HOME' is taken by openai/api_key/Home [{home[:8]}]", "choose another label")
    assert_error(cli("providers", "rename", "Work", "bad\u202elabel"), 2,
                 "label contains a control character (U+202E)")
    assert_error(cli("providers", "rename", "Nope", "X"), 3, "no connection matches 'Nope'")


def test_disable_and_enable(cli):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    result = cli("providers", "disable", "Work")
    assert (result.exit_code, result.stderr) == (0, "Disabled openai/api_key/Work.\n")
    assert cli.json("providers", "list", "--json") == [item(cid, status="disabled")]
    assert cli.json("providers", "disable", "Work", "--json") == item(cid, status="disabled")  # idempotent
    result = cli("providers", "enable", cid)
    assert (result.exit_code, result.stderr) == (0, "Enabled openai/api_key/Work.\n")
    assert cli.json("providers", "enable", "Work", "--json") == item(cid)


# ---------------------------------------------------------------- set-key


def test_set_key_with_key_stdin_updates_the_keyring(cli, keystore):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    result = cli("providers", "set-key", "Work", "--key-stdin", input=KEY_B + "\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Updated the credential of openai/api_key/Work.\n")
    assert keystore.secrets == {cid: KEY_B}
    assert cli.json("providers", "list", "--json") == [item(cid, key_hint="sk-p…bbbb")]


def test_set_key_env_and_expiry(cli, environ):
    cid = cli.connect("openai", "--auth", "subscription", "--label", "Plus", key=KEY_A)
    doc = cli.json("providers", "set-key", "Plus", "--key-env", "PLUS_TOKEN", "--expires-at", "2020-01-01", "--json")
    assert doc == item(cid, auth_type="subscription", label="Plus", status="expired")
    shown = cli.json("providers", "show", cid, "--json")
    assert (shown["key_env"], shown["key_source"], shown["expires_at"]) == (
        "PLUS_TOKEN", "keyring,env", "2020-01-01T00:00:00.000000Z")


def test_set_key_errors(cli, keystore, app_ctx):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    cli.connect("openai", "--label", "Home", key=KEY_B)
    assert_error(cli("providers", "set-key", "Work"), 2, "nothing to set")
    assert_error(cli("providers", "set-key", "Work", "--key-stdin", input="  \n"), 2, "stdin held no key",
                 'pipe the key itself, e.g. printf %s "$KEY" | provctl ... --key-stdin')
    assert_error(cli("providers", "set-key", "Work", "--expires-at", "2030-01-01"), 2,
                 "--expires-at applies to subscription connections only")
    result = cli("providers", "set-key", "Work", "--key-stdin", input=KEY_B)
    assert result.exit_code == 4 and result.stderr.startswith("Error: this key is already stored on openai/api_key/Home")
    assert_error(cli("providers", "set-key", "Nope", "--key-stdin", input=KEY_C), 3, "no connection matches 'Nope'")
    assert keystore.secrets[cid] == KEY_A
    app_ctx._keystore = MemoryKeyStore(fail=True)
    result = cli("providers", "set-key", "Work", "--key-stdin", input=KEY_C)
    assert result.exit_code == 6 and result.stderr.startswith("Error: no usable keyring backend")


# ---------------------------------------------------------------- remove


def test_remove_deletes_the_row_and_the_keyring_entry(cli, keystore):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    result = cli("providers", "remove", "Work")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Removed openai/api_key/Work.\n")
    assert keystore.secrets == {}
    assert cli.json("providers", "list", "--json") == []
    assert_error(cli("providers", "show", cid), 3, f"no connection matches {cid!r}")


def test_remove_json(cli):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    assert cli.json("providers", "remove", cid, "--json") == {
        "removed": item(cid), "detached_from": [], "models_without_connections": [], "keyring_leftovers": []}


def test_remove_is_refused_while_attached(cli, keystore, db_path):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    add_model(db_path, "gpt-4o", [cid])
    assert_error(cli("providers", "remove", "Work"), 4, "openai/api_key/Work is attached to gpt-4o (priority 1)",
                 "detach it with `provctl model detach`, or add --force to detach it everywhere")
    assert keystore.secrets == {cid: KEY_A}
    assert [e["id"] for e in cli.json("providers", "list", "--json")] == [cid]


def test_remove_force_detaches_and_reports_models_left_without_connections(cli, keystore, db_path):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    other = cli.connect("openai", "--label", "Other", key=KEY_B)
    add_model(db_path, "gpt-4o", [cid, other])
    add_model(db_path, "solo", [cid])
    result = cli("providers", "remove", "Work", "--force")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "Detached from: gpt-4o, solo.\n"
        "Warning: model solo has no connection left; resolve solo will exit 5.\n"
        "Removed openai/api_key/Work.\n"
    )
    assert sql(db_path, "SELECT model_id, connection_id, priority FROM attachments") == [("model-gpt-4o", other, 1)]
    assert keystore.secrets == {other: KEY_B}


def test_remove_force_json(cli, db_path):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    add_model(db_path, "solo", [cid])
    assert cli.json("providers", "remove", "Work", "--force", "--json") == {
        "removed": item(cid, attached_models=1), "detached_from": ["solo"], "models_without_connections": ["solo"],
        "keyring_leftovers": []}


def test_remove_without_a_keyring_is_exit_6_and_keeps_the_row(cli, app_ctx, keystore):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    app_ctx._keystore = MemoryKeyStore(fail=True)
    result = cli("providers", "remove", "Work")
    assert result.exit_code == 6
    app_ctx._keystore = keystore
    assert [e["id"] for e in cli.json("providers", "list", "--json")] == [cid]


@pytest.mark.parametrize("command", ["show", "rename", "enable", "disable", "set-key", "remove"])
def test_every_ref_command_says_not_found_with_exit_3(cli, command):
    args = ["providers", command, "nothing-here"] + (["New"] if command == "rename" else [])
    if command == "set-key":
        args += ["--key-env", "X"]
    assert_error(cli(*args), 3, "no connection matches 'nothing-here'")
