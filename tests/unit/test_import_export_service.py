"""Import (.env and inventory) and export (SPEC §6 import / export) on a tmp SQLite + memory
key store: all or nothing, connect's rules for user-level entries, the re-import rule for
legacy rows, and the export round trip."""

from __future__ import annotations

import json
import shutil

import pytest

from provctl.context import AppContext
from provctl.errors import Conflict, SecretStoreError, UsageError
from provctl.keystore import MemoryKeyStore
from provctl.services import connections, import_export as importexport, models
from provctl.services.connections import Credentials
from tests.support.legacy import dump

KEY_A = "sk-proj-AAAAAAAAAAAAAAAAAAAAaaaa"
KEY_B = "sk-ant-BBBBBBBBBBBBBBBBBBBBBBbbbb"
KEY_C = "sk-proj-CCCCCCCCCCCCCCCCCCCCcccc"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def listed(ctx):
    return [(v.agent, v.provider, v.auth_type, v.label, v.status, v.key_hint)
            for v in connections.list_connections(ctx)]


def nothing_written(db_path, keystore, before):
    assert dump(db_path) == before
    assert keystore.secrets == {}


# ---------------------------------------------------------------- .env


ENV = f"""# support bot, before provctl
OPENAI_API_KEY={KEY_A}
export ANTHROPIC_API_KEY="{KEY_B}"
ANTHROPIC_BASE_URL=https://proxy.example.com/anthropic/   # our gateway
GROQ_API_KEY=
OLLAMA_BASE_URL=http://localhost:11434
UNRELATED=1
"""


def test_env_import_creates_default_legacy_rows_for_the_agent_with_keys_in_the_keyring(app_ctx, keystore, tmp_path):
    result = importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="support-bot")
    assert [(c.source, c.action, c.agent, c.provider, c.label) for c in result.connections] == [
        ("OPENAI_API_KEY (line 2)", "create", "support-bot", "openai", "Default"),
        ("ANTHROPIC_API_KEY (line 3)", "create", "support-bot", "anthropic", "Default"),
    ]
    assert result.agents_created == ["support-bot"]
    assert result.notes == ["GROQ_API_KEY (line 5) is empty: no connection for groq"]
    assert listed(app_ctx) == [
        ("support-bot", "anthropic", "api_key", "Default", "legacy", "sk-a…bbbb"),
        ("support-bot", "openai", "api_key", "Default", "legacy", "sk-p…aaaa"),
    ]
    ids = {c.provider: c.id for c in result.connections}
    assert keystore.secrets == {ids["openai"]: KEY_A, ids["anthropic"]: KEY_B}
    shown = connections.show(app_ctx, ids["anthropic"])
    assert shown.connection.base_url == "https://proxy.example.com/anthropic"


def test_env_reimport_skips_the_same_key_and_refuses_a_different_one(app_ctx, keystore, db_path, tmp_path):
    importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="support-bot")
    again = importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="SUPPORT-BOT")
    assert [c.action for c in again.connections] == ["skip", "skip"] and again.agents_created == []
    before, secrets = dump(db_path), dict(keystore.secrets)
    changed = write(tmp_path, "new.env", f"OPENAI_API_KEY={KEY_C}\nMISTRAL_API_KEY={KEY_C}\n")
    with pytest.raises(Conflict, match=r"OPENAI_API_KEY \(line 1\): openai/api_key/Default \(agent support-bot\) "
                                       r"already exists with a different key"):
        importexport.import_file(app_ctx, changed, agent="support-bot")
    assert dump(db_path) == before and keystore.secrets == secrets  # mistral not created either


def test_env_problems_are_named_by_line_and_nothing_is_written(app_ctx, keystore, db_path, tmp_path):
    before = dump(db_path)
    bad = write(tmp_path, "bot.env", f"OPENAI_API_KEY={KEY_A}\nnot a line\nOPENAI_BASE_URL=ftp://x\n")
    with pytest.raises(UsageError) as err:
        importexport.import_file(app_ctx, bad, agent="bot")
    assert err.value.message.startswith("line 2: expected NAME=value; line 3 (OPENAI_BASE_URL): invalid base URL")
    nothing_written(db_path, keystore, before)


def test_env_without_any_key_variable_is_a_usage_error(app_ctx, tmp_path):
    with pytest.raises(UsageError, match="none of the conventional key variables"):
        importexport.import_file(app_ctx, write(tmp_path, "x.env", "FOO=1\n"), agent="bot")


def test_env_values_quotes_comments_and_last_assignment(app_ctx, keystore, tmp_path):
    text = f"OPENAI_API_KEY='wrong'\nOPENAI_API_KEY = '{KEY_A}'  \nXAI_API_KEY={KEY_C} # comment\n"
    result = importexport.import_file(app_ctx, write(tmp_path, "a.env", text), agent="bot")
    got = {c.provider: keystore.secrets[c.id] for c in result.connections}
    assert got == {"openai": KEY_A, "xai": KEY_C}


# ---------------------------------------------------------------- file and argument checks


def test_file_and_argument_problems_are_usage_errors(app_ctx, tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        importexport.import_file(app_ctx, tmp_path / "missing.json")
    with pytest.raises(UsageError, match="needs --agent"):
        importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV))
    with pytest.raises(UsageError, match="--agent applies to .env files only"):
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", {"connections": []}), agent="x")
    with pytest.raises(UsageError, match="not valid JSON"):
        importexport.import_file(app_ctx, write(tmp_path, "bad.json", "{"))
    with pytest.raises(UsageError, match="is a directory"):
        importexport.import_file(app_ctx, tmp_path, agent="x")
    unreadable = write(tmp_path, "secret.env", ENV)
    unreadable.chmod(0)
    try:
        if not unreadable.read_bytes():  # root reads anything: nothing to test then
            pass
    except PermissionError:
        with pytest.raises(UsageError, match="cannot read"):
            importexport.import_file(app_ctx, unreadable, agent="x")
    finally:
        unreadable.chmod(0o600)


# ---------------------------------------------------------------- inventories


def test_inventory_validation_is_all_or_nothing_and_names_every_entry(app_ctx, keystore, db_path, tmp_path):
    before = dump(db_path)
    inventory = {"connections": [
        {"agent": "ok-agent", "provider": "openai", "label": "Fine", "key": KEY_A},
        {"agent": None, "provider": "nope"},
        {"provider": "ollama", "key": KEY_B},
        {"provider": "openai", "auth_type": "api_key", "expires_at": "2030-01-01T00:00:00Z"},
        {"provider": "openai", "label": "x\u202ey"},
        {"provider": "openai", "enabled": "yes", "colour": "red"},
        {"provider": "openai-compatible"},
        "not an object",
    ]}
    with pytest.raises(UsageError) as err:
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))
    problems = err.value.message.split("; ")
    assert [p.split(":")[0] for p in problems] == [
        "connections[1]", "connections[2]", "connections[3]", "connections[4]",
        "connections[5]", "connections[5]", "connections[6]", "connections[7]"]
    assert "unknown provider 'nope'" in problems[0]
    assert "a local connection takes no key" in problems[1]
    assert "expires_at applies to subscription connections only" in problems[2]
    assert "control character" in problems[3]
    assert "unknown field 'colour'" in problems[4] and "enabled must be true or false" in problems[5]
    assert "needs base_url" in problems[6]
    nothing_written(db_path, keystore, before)  # not even ok-agent or its key


def test_inventory_duplicates_within_the_file_are_usage_errors(app_ctx, tmp_path):
    inventory = {"connections": [{"agent": "a", "provider": "openai", "label": "Work"},
                                 {"agent": "A", "provider": "openai", "label": "WORK"}],
                 "models": [{"name": "m", "provider": "openai", "default": True},
                            {"name": "M", "provider": "openai"},
                            {"name": "n", "provider": "openai", "default": True}]}
    with pytest.raises(UsageError) as err:
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))
    assert "connections[1]: same agent, provider, auth type and label as connections[0]" in err.value.message
    assert "models[1]: model 'M' is already defined by models[0]" in err.value.message
    assert "models[2]: only one model can be the default" in err.value.message


def test_legacy_entries_are_created_as_given_two_agents_may_share_a_key(app_ctx, keystore, tmp_path):
    inventory = {"connections": [
        {"agent": "bot-a", "provider": "openai", "label": "Default", "key": KEY_A},
        {"agent": "bot-b", "provider": "openai", "label": "Default", "key": KEY_A},
        {"agent": None, "provider": "openai", "label": "Default", "key_env": "OPENAI_API_KEY"},
    ]}
    result = importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))
    assert [c.action for c in result.connections] == ["create"] * 3
    assert sorted(result.agents_created) == ["bot-a", "bot-b"]
    assert [(a, s) for a, _p, _t, _l, s, _h in listed(app_ctx)] == [
        (None, "no_key"), ("bot-a", "legacy"), ("bot-b", "legacy")]
    assert len(keystore.secrets) == 2


def test_user_level_entries_follow_connects_rules(app_ctx, keystore, db_path, tmp_path):
    connections.connect(app_ctx, "openai", label="Work", creds=Credentials(key=KEY_A))
    connections.connect(app_ctx, "openai", label="Old", creds=Credentials(key=KEY_C))
    connections.set_enabled(app_ctx, "openai/Old", False)
    same = {"connections": [{"agent": None, "provider": "openai", "label": "work", "key": KEY_A}]}
    assert importexport.import_file(app_ctx, write(tmp_path, "a.json", same)).connections[0].action == "skip"
    # an export carries no key: the same label with the same key_env is skipped
    keyless = {"connections": [{"provider": "openai", "label": "Work"}]}
    assert importexport.import_file(app_ctx, write(tmp_path, "b.json", keyless)).connections[0].action == "skip"
    # the key of the disabled "Old": it is re-enabled and takes the label given now
    relabel = {"connections": [{"provider": "openai", "label": "Revived", "key": KEY_C}]}
    item = importexport.import_file(app_ctx, write(tmp_path, "c.json", relabel)).connections[0]
    assert (item.action, item.label, item.previous_label) == ("relabel", "Revived", "Old")
    assert ("openai", "Revived", "active") in [(v.provider, v.label, v.status)
                                                for v in connections.list_connections(app_ctx)]
    before, secrets = dump(db_path), dict(keystore.secrets)
    for conflict, message in (
        ({"provider": "openai", "label": "Work", "key": KEY_B}, "already exists with a different key"),
        ({"provider": "openai", "label": "Work", "key_env": "OTHER"}, "different --key-env"),
        ({"provider": "openai", "label": "New", "key": KEY_A}, "this key is already stored on openai/api_key/Work"),
    ):
        inventory = {"connections": [{"agent": "fresh", "provider": "openai", "key": KEY_B}, conflict]}
        with pytest.raises(Conflict, match="connections\\[1\\]: .*" + message):
            importexport.import_file(app_ctx, write(tmp_path, "d.json", inventory))
        assert dump(db_path) == before and keystore.secrets == secrets


def test_two_user_level_entries_with_one_key_conflict(app_ctx, tmp_path):
    inventory = {"connections": [{"provider": "openai", "label": "A", "key": KEY_A},
                                 {"provider": "openai", "label": "B", "key": KEY_A}]}
    with pytest.raises(Conflict, match=r"connections\[1\]: the same key as connections\[0\]"):
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))


def test_dry_run_reports_and_writes_nothing(app_ctx, keystore, db_path, tmp_path):
    before = dump(db_path)
    result = importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="bot", dry_run=True)
    assert result.dry_run and [c.action for c in result.connections] == ["create", "create"]
    assert [c.id for c in result.connections] == [None, None]
    assert result.summary["connections_created"] == 2 and result.agents_created == ["bot"]
    nothing_written(db_path, keystore, before)


def test_keyring_writes_are_undone_when_the_database_write_fails(app_ctx, keystore, db_path, tmp_path, monkeypatch):
    before = dump(db_path)

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(importexport, "_write", fail)
    with pytest.raises(RuntimeError):
        importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="bot")
    nothing_written(db_path, keystore, before)


def test_a_keyring_failure_midway_removes_the_keys_already_written(app_ctx, db_path, tmp_path):
    class Flaky(MemoryKeyStore):
        def set(self, cid, secret):
            if self.secrets:
                raise SecretStoreError("the keyring refused")
            super().set(cid, secret)

    store = Flaky()
    ctx = AppContext(db_path=db_path, user="alice", keystore_factory=lambda: store)
    before = dump(db_path)
    with pytest.raises(SecretStoreError):
        importexport.import_file(ctx, write(tmp_path, "bot.env", ENV), agent="bot")
    assert store.secrets == {} and dump(db_path) == before


def test_no_usable_keyring_is_exit_6_before_anything_is_written(db_path, tmp_path):
    ctx = AppContext(db_path=db_path, user="alice", keystore_factory=lambda: MemoryKeyStore(fail=True))
    before = dump(db_path)
    with pytest.raises(SecretStoreError):
        importexport.import_file(ctx, write(tmp_path, "bot.env", ENV), agent="bot")
    assert dump(db_path) == before
    # an inventory without keys needs no keyring
    keyless = {"connections": [{"agent": "a", "provider": "openai", "key_env": "K"}]}
    assert importexport.import_file(ctx, write(tmp_path, "k.json", keyless)).summary["connections_created"] == 1


# ---------------------------------------------------------------- models in inventories


def test_models_are_created_with_their_ordered_connections(app_ctx, tmp_path):
    inventory = {
        "connections": [{"provider": "openai", "label": "Work", "key_env": "OPENAI_API_KEY"},
                        {"provider": "openai", "label": "Backup/EU", "key_env": "OPENAI_EU_KEY"}],
        "models": [{"name": "gpt-4o", "provider": "openai", "upstream_model": "gpt-4o-2024-08-06",
                    "default": True, "connections": ["openai/api_key/Backup/EU", "openai/api_key/work"]},
                   {"name": "fast", "provider": "openai", "enabled": False}],
    }
    result = importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))
    assert [(m.action, m.name) for m in result.models] == [("create", "gpt-4o"), ("create", "fast")]
    shown = models.show(app_ctx, "gpt-4o")
    assert [(c.priority, c.label) for c in shown.connections] == [(1, "Backup/EU"), (2, "Work")]
    assert shown.upstream_model == "gpt-4o-2024-08-06"
    again = importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))
    assert [m.action for m in again.models] == ["skip", "skip"]


@pytest.mark.parametrize("model, exc, message", [
    ({"name": "m", "provider": "openai", "connections": ["openai/api_key/Nope"]}, UsageError,
     "models[0]: connections[0]: no connection 'openai/api_key/Nope'"),
    ({"name": "m", "provider": "anthropic", "connections": ["openai/api_key/Work"]}, UsageError,
     "is not a anthropic connection (cross-family)"),
    ({"name": "m", "provider": "openai", "connections": ["Work"]}, UsageError,
     "is not PROVIDER/AUTH_TYPE/LABEL"),
    ({"name": "m", "provider": "openai", "connections": ["openai/api_key/Work", "openai/api_key/WORK"]},
     UsageError, "is listed twice"),
    ({"name": "existing", "provider": "openai", "upstream_model": "other"}, Conflict,
     "model 'existing' already exists with a different upstream_model"),
    ({"name": "m", "provider": "openai", "default": True}, Conflict, "'existing' is already the default model"),
])
def test_model_entry_problems(app_ctx, keystore, db_path, tmp_path, model, exc, message):
    connections.connect(app_ctx, "openai", label="Work", creds=Credentials(key_env="K"))
    models.add(app_ctx, "existing", provider="openai", default=True)
    before = dump(db_path)
    inventory = {"connections": [{"agent": "new-agent", "provider": "openai", "key": KEY_C}], "models": [model]}
    with pytest.raises(exc) as err:
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", inventory))
    assert message in err.value.message
    assert dump(db_path) == before and keystore.secrets == {}


# ---------------------------------------------------------------- export


def test_export_carries_key_env_names_never_keys(app_ctx, keystore, tmp_path):
    connections.connect(app_ctx, "openai", label="Work", creds=Credentials(key=KEY_A, key_env="OPENAI_API_KEY"))
    importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="bot")
    inventory = importexport.export(app_ctx)
    text = json.dumps(inventory.to_dict())
    assert KEY_A not in text and KEY_B not in text and '"key":' not in text
    assert inventory.connections[0] == {
        "agent": None, "provider": "openai", "auth_type": "api_key", "label": "Work", "base_url": None,
        "key_env": "OPENAI_API_KEY", "key_source": "keyring,env", "enabled": True, "expires_at": None}
    assert [c["agent"] for c in inventory.connections] == [None, "bot", "bot"]  # creation order


def test_export_of_an_unknown_user_is_empty(app_ctx):
    assert importexport.export(app_ctx).to_dict() == {"connections": [], "models": [], "agents": []}


def test_export_then_import_into_an_empty_database_recreates_connections_models_priorities(
        app_ctx, tmp_path, migrated_template):
    connections.connect(app_ctx, "openai", label="Work", creds=Credentials(key_env="OPENAI_API_KEY"))
    connections.connect(app_ctx, "openai", label="Backup", base_url="https://eu.example/v1",
                        creds=Credentials(key=KEY_A))
    connections.connect(app_ctx, "anthropic", label="Sub", auth="subscription",
                        creds=Credentials(key=KEY_B, expires_at="2031-01-01T00:00:00Z"))
    connections.connect(app_ctx, "ollama", label="Laptop")
    connections.set_enabled(app_ctx, "ollama/Laptop", False)
    importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="bot")
    models.add(app_ctx, "gpt-4o", provider="openai", attach=["openai/Backup", "openai/Work"], default=True)
    models.add(app_ctx, "claude", provider="anthropic", upstream="claude-sonnet-4", attach=["anthropic/Sub"])
    models.add(app_ctx, "local", provider="ollama", attach=[])
    exported = importexport.export(app_ctx).to_dict()

    fresh_db = tmp_path / "fresh" / "provctl.db"
    fresh_db.parent.mkdir()
    shutil.copyfile(migrated_template, fresh_db)
    fresh = AppContext(db_path=fresh_db, user="alice", keystore_factory=MemoryKeyStore)
    importexport.import_file(fresh, write(tmp_path, "export.json", exported))
    assert importexport.export(fresh).to_dict() == exported

    def shape(ctx):
        conns = [(v.agent, v.provider, v.auth_type, v.label, v.base_url) for v in connections.list_connections(ctx)]
        mods = [(m.name, m.provider, m.upstream_model, [(c.priority, c.provider, c.auth_type, c.label)
                                                       for c in models.show(ctx, m.name).connections])
                for m in models.list_models(ctx)]
        return conns, mods

    assert shape(fresh) == shape(app_ctx)


# ---------------------------------------------------------------- agents and access (SPEC §10)


def _fresh(tmp_path, migrated_template, name="fresh") -> AppContext:
    path = tmp_path / name / "provctl.db"
    path.parent.mkdir()
    shutil.copyfile(migrated_template, path)
    return AppContext(db_path=path, user="alice", keystore_factory=MemoryKeyStore)


def test_export_import_round_trip_carries_access_modes_and_grants(app_ctx, tmp_path, migrated_template):
    from provctl.services import agents

    connections.connect(app_ctx, "openai", label="Team", creds=Credentials(key_env="TEAM_KEY"))
    connections.connect(app_ctx, "openai", label="Personal", creds=Credentials(key=KEY_A))
    connections.connect(app_ctx, "anthropic", label="Team", creds=Credentials(key_env="CLAUDE_KEY"))
    importexport.import_file(app_ctx, write(tmp_path, "bot.env", ENV), agent="legacy-bot")
    agents.add(app_ctx, "support-bot", "Support Bot", access="listed")
    agents.grant(app_ctx, "support-bot", ["anthropic/Team", "openai/Team"])
    agents.add(app_ctx, "locked", access="listed")
    agents.add(app_ctx, "free")
    agents.grant(app_ctx, "free", ["openai/Personal"])  # held while `all`: kept for later
    exported = importexport.export(app_ctx).to_dict()
    assert exported["agents"] == [
        {"name": "free", "display_name": None, "access": "all", "granted": ["openai/api_key/Personal"]},
        {"name": "legacy-bot", "display_name": None, "access": "all", "granted": []},
        {"name": "locked", "display_name": None, "access": "listed", "granted": []},
        {"name": "support-bot", "display_name": "Support Bot", "access": "listed",
         "granted": ["anthropic/api_key/Team", "openai/api_key/Team"]},
    ]

    fresh = _fresh(tmp_path, migrated_template)
    result = importexport.import_file(fresh, write(tmp_path, "export.json", exported))
    assert sorted(result.agents_created) == ["free", "legacy-bot", "locked", "support-bot"]
    assert importexport.export(fresh).to_dict() == exported

    def view(ctx, name):
        doc = agents.show(ctx, name).to_dict()
        return {**doc, "id": None, "created_at": None,
                "granted": [{**g, "id": None} for g in doc["granted"]]}

    for name in ("free", "legacy-bot", "locked", "support-bot"):
        assert view(fresh, name) == view(app_ctx, name)
    # importing the same file again changes nothing: every agent is already as given
    before = dump(fresh.db_path)
    importexport.import_file(fresh, write(tmp_path, "export.json", exported))
    assert dump(fresh.db_path) == before


def test_an_agents_entry_may_grant_connections_the_same_file_creates(app_ctx, tmp_path):
    from provctl.services import agents

    doc = {"connections": [{"agent": None, "provider": "openai", "label": "Team", "key_env": "K"},
                           {"agent": "Bot", "provider": "openai", "label": "Default", "key_env": "K2"}],
           "agents": [{"name": "bot", "display_name": " The Bot ", "access": "listed",
                       "granted": ["OpenAI/API_KEY/team"]}]}
    result = importexport.import_file(app_ctx, write(tmp_path, "inv.json", doc))
    assert result.agents_created == ["bot"]  # the agents entry's spelling wins
    shown = agents.show(app_ctx, "bot")
    assert (shown.agent.name, shown.agent.display_name, shown.agent.access, [g.ref for g in shown.granted],
            shown.agent.legacy_connections) == ("bot", "The Bot", "listed", ["openai/api_key/Team"], 1)


@pytest.mark.parametrize(("agent", "exc", "message"), [
    ({"display_name": "x"}, UsageError, "agents[0]: name is required (a string)"),
    ({"name": "bot", "access": "some"}, UsageError, "agents[0]: access must be one of: all, listed"),
    ({"name": "bot", "granted": "openai/api_key/Team"}, UsageError,
     'agents[0]: granted must be a list of "PROVIDER/AUTH_TYPE/LABEL" strings'),
    ({"name": "bot", "rights": []}, UsageError, "agents[0]: unknown field 'rights'"),
    ({"name": "bo\tt"}, UsageError, "agents[0]: agent name contains a control character (U+0009)"),
    ({"name": "bot", "granted": ["openai/Team"]}, UsageError,
     "agents[0]: granted[0]: 'openai/Team' is not PROVIDER/AUTH_TYPE/LABEL"),
    ({"name": "bot", "granted": ["openai/api_key/Nope"]}, UsageError,
     "agents[0]: granted[0]: no connection 'openai/api_key/Nope' among the user-level connections"),
    ({"name": "bot", "granted": ["openai/api_key/Team", "openai/api_key/TEAM"]}, UsageError,
     "agents[0]: granted[1]: 'openai/api_key/TEAM' is listed twice"),
    ({"name": "bot", "granted": ["openai/api_key/Default"]}, Conflict,
     "agents[0]: granted[0]: 'openai/api_key/Default' is a legacy connection, which cannot be granted "
     "(lift it first)"),
])
def test_agent_entry_problems_import_nothing(app_ctx, keystore, db_path, tmp_path, agent, exc, message):
    doc = {"connections": [{"agent": None, "provider": "openai", "label": "Team", "key": KEY_A},
                           {"agent": "old", "provider": "openai", "label": "Default", "key_env": "K"}],
           "agents": [agent]}
    before = dump(db_path)
    with pytest.raises(exc) as info:
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", doc))
    assert info.value.message == message
    nothing_written(db_path, keystore, before)


def test_an_existing_agent_that_differs_is_a_conflict(app_ctx, keystore, db_path, tmp_path):
    from provctl.services import agents

    connections.connect(app_ctx, "openai", label="Team", creds=Credentials(key_env="K"))
    agents.add(app_ctx, "bot", "Bot")
    before = dump(db_path)
    doc = {"agents": [{"name": "BOT", "display_name": "Bot", "access": "listed", "granted": ["openai/api_key/Team"]},
                      {"name": "bot", "access": "all"}]}
    with pytest.raises(UsageError) as info:  # a name twice in the file
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", doc))
    assert info.value.message == "agents[1]: agent 'bot' is already defined by agents[0]"
    with pytest.raises(Conflict) as info:
        importexport.import_file(app_ctx, write(tmp_path, "inv.json", {"agents": doc["agents"][:1]}))
    assert info.value.message == "agents[0]: agent 'bot' already exists with a different access, granted"
    assert dump(db_path) == before
    same = {"agents": [{"name": "bot", "display_name": "Bot", "access": "all", "granted": []}]}
    importexport.import_file(app_ctx, write(tmp_path, "inv.json", same))  # identical: nothing to do
    assert dump(db_path) == before
