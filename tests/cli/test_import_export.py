"""`provctl import` and `provctl export` through the CLI: exit codes, Error: lines, JSON."""

from __future__ import annotations

import json

from tests.support.legacy import dump

KEY_A = "sk-proj-AAAAAAAAAAAAAAAAAAAAaaaa"
KEY_B = "sk-ant-BBBBBBBBBBBBBBBBBBBBBBbbbb"


def test_env_import_then_list_shows_legacy_rows(cli, keystore, tmp_path):
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY_A}\nANTHROPIC_API_KEY={KEY_B}\n")
    result = cli("import", str(env), "--agent", "support-bot")
    assert result.exit_code == 0, result.stderr
    assert "Created 2 connection(s), 0 model(s), 1 agent(s)" in result.stderr
    assert KEY_A not in result.stdout + result.stderr
    listed = cli.json("providers", "list", "--json")
    assert [(c["provider"], c["label"], c["status"], c["agent"]) for c in listed] == [
        ("anthropic", "Default", "legacy", "support-bot"), ("openai", "Default", "legacy", "support-bot")]
    assert sorted(keystore.secrets.values()) == sorted([KEY_A, KEY_B])


def test_import_json_output_is_the_documented_document(cli, tmp_path):
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"connections": [{"agent": None, "provider": "openai", "label": "CI",
                                                "key_env": "OPENAI_API_KEY"}]}))
    doc = cli.json("import", str(inv), "--dry-run", "--json")
    assert doc == {
        "dry_run": True, "file": str(inv),
        "connections": [{"source": "connections[0]", "action": "create", "id": None, "agent": None,
                         "provider": "openai", "auth_type": "api_key", "label": "CI", "previous_label": None}],
        "models": [], "agents_created": [], "notes": [],
        "no_usable_key": [{"source": "connections[0]", "id": None, "agent": None, "provider": "openai",
                           "auth_type": "api_key", "label": "CI", "reason": "no_key",
                           "detail": "no key stored in the keyring; $OPENAI_API_KEY is unset or empty",
                           "key_env": "OPENAI_API_KEY",
                           "fix": ["provctl providers set-key openai/api_key/CI --key-stdin",
                                   "set $OPENAI_API_KEY"]}],
        "summary": {"connections_created": 1, "connections_relabelled": 0, "connections_skipped": 0,
                    "models_created": 0, "models_skipped": 0, "agents_created": 0,
                    "connections_without_usable_key": 1},
    }
    assert cli.json("providers", "list", "--json") == []


ROUTING = {"connections": [  # an export, brought to a new machine: key_env names, no keys
    {"agent": None, "provider": "openai", "auth_type": "api_key", "label": "Work",
     "key_env": "OPENAI_WORK_KEY", "key_source": "keyring,env"},
    {"agent": None, "provider": "openai", "auth_type": "api_key", "label": "Team Key",
     "key_source": "keyring"},
    {"agent": None, "provider": "anthropic", "auth_type": "api_key", "label": "CI",
     "key_env": "ANTHROPIC_CI_KEY", "key_source": "env"},
    {"agent": "bot", "provider": "openai", "auth_type": "api_key", "label": "Work"},
    {"agent": None, "provider": "ollama", "auth_type": "local", "label": "Laptop"},
    {"agent": None, "provider": "openai", "auth_type": "api_key", "label": "Set",
     "key_env": "SET_HERE"},
]}


def test_import_names_every_connection_it_created_without_a_usable_key(cli, keystore, environ,
                                                                      tmp_path, monkeypatch):
    """Issue 11: `import routing.json` on a new machine said "Created 4 connection(s)" and
    nothing said that none of them could be used, nor how to give each a key."""
    environ["SET_HERE"] = "sk-from-the-environment-0123"
    inv = tmp_path / "routing.json"
    inv.write_text(json.dumps(ROUTING))

    def no_keyring_read(connection_id):
        raise AssertionError("import judged a connection by reading the keyring")

    monkeypatch.setattr(keystore, "get", no_keyring_read)

    dry = cli("import", str(inv), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stderr.splitlines()[1:] == [
        "Dry run: 4 connection(s) would have no usable key; resolve would skip them until they get one:",
        "  openai/api_key/Work (connections[0]): no key stored in the keyring; $OPENAI_WORK_KEY is "
        "unset or empty — `provctl providers set-key ID --key-stdin` or set $OPENAI_WORK_KEY",
        "  openai/api_key/Team Key (connections[1]): no key stored in the keyring — "
        "`provctl providers set-key 'openai/api_key/Team Key' --key-stdin`",
        "  anthropic/api_key/CI (connections[2]): $ANTHROPIC_CI_KEY is unset or empty — set $ANTHROPIC_CI_KEY",
        "  openai/api_key/Work (agent bot) (connections[3]): no key stored in the keyring — "
        "`provctl providers set-key ID --key-stdin`",
        "  (ID: the connection's id, known once it is imported; its reference is ambiguous)",
    ]
    assert cli.json("providers", "list", "--json") == []  # a dry run

    doc = cli.json("import", str(inv), "--json")
    ids = {(c["label"], c["agent"]): c["id"] for c in doc["connections"]}
    work, bot = ids[("Work", None)], ids[("Work", "bot")]
    assert [(k["source"], k["id"], k["reason"], k["fix"]) for k in doc["no_usable_key"]] == [
        ("connections[0]", work, "no_key",
         [f"provctl providers set-key {work[:8]} --key-stdin", "set $OPENAI_WORK_KEY"]),
        ("connections[1]", ids[("Team Key", None)], "no_key",
         ["provctl providers set-key 'openai/api_key/Team Key' --key-stdin"]),
        ("connections[2]", ids[("CI", None)], "no_key", ["set $ANTHROPIC_CI_KEY"]),
        ("connections[3]", bot, "no_key", [f"provctl providers set-key {bot[:8]} --key-stdin"]),
    ]
    assert doc["summary"]["connections_without_usable_key"] == 4
    # what `providers list` shows agrees: the four are no_key (or legacy), the rest usable
    statuses = {(c["label"], c["agent"]): c["status"] for c in cli.json("providers", "list", "--json")}
    assert statuses == {("Work", None): "no_key", ("Team Key", None): "no_key", ("CI", None): "no_key",
                        ("Work", "bot"): "legacy", ("Laptop", None): "active", ("Set", None): "active"}

    # the command it names gives the connection a key
    monkeypatch.undo()
    cli.json("providers", "set-key", "openai/api_key/Team Key", "--key-stdin", "--json",
             input="sk-team-0123456789abcdefghij\n")
    assert cli.json("providers", "show", "openai/api_key/Team Key", "--json")["status"] == "active"


def test_import_of_keys_names_nothing(cli, tmp_path):
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY_A}\n")
    result = cli("import", str(env), "--agent", "support-bot")
    assert result.exit_code == 0 and "no usable key" not in result.stderr
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"connections": [{"agent": None, "provider": "openai", "label": "Mine",
                                                "key": KEY_B}]}))
    assert cli.json("import", str(inv), "--json")["no_usable_key"] == []


def test_invalid_entries_exit_2_name_each_entry_and_write_nothing(cli, db_path, keystore, tmp_path):
    before = dump(db_path)
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"connections": [
        {"agent": "a", "provider": "openai", "key": KEY_A},
        {"agent": "b", "provider": "openai", "base_url": "ftp://nope"},
        {"agent": "c", "provider": "openai", "key": "   "},
    ]}))
    result = cli("import", str(inv))
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("Error: connections[1]: invalid base URL 'ftp://no…' (10 characters): the "
                            "scheme must be http or https; connections[2]: the key is empty")
    assert "Hint: nothing was imported" in result.stderr
    assert dump(db_path) == before and keystore.secrets == {}


def test_file_problems_exit_2(cli, tmp_path):
    missing = cli("import", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and missing.stderr.startswith("Error: no such file")
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY_A}\n")
    no_agent = cli("import", str(env))
    assert no_agent.exit_code == 2 and "needs --agent NAME" in no_agent.stderr


def test_reimport_conflict_exits_4(cli, tmp_path):
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY_A}\n")
    assert cli("import", str(env), "--agent", "bot").exit_code == 0
    same = cli("import", str(env), "--agent", "bot", "--json")
    assert same.exit_code == 0 and json.loads(same.stdout)["connections"][0]["action"] == "skip"
    env.write_text("OPENAI_API_KEY=sk-proj-a-different-key-000000\n")
    different = cli("import", str(env), "--agent", "bot")
    assert different.exit_code == 4 and "already exists with a different key" in different.stderr


def test_export_to_stdout_and_to_a_file(cli, tmp_path):
    assert cli("connect", "openai", "--label", "CI", "--key-env", "OPENAI_API_KEY").exit_code == 0
    assert cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/CI").exit_code == 0
    doc = cli.json("export")
    assert doc == {
        "connections": [{"agent": None, "provider": "openai", "auth_type": "api_key", "label": "CI",
                         "base_url": None, "key_env": "OPENAI_API_KEY", "key_source": "keyring,env",
                         "enabled": True, "expires_at": None}],
        "models": [{"name": "gpt-4o", "provider": "openai", "upstream_model": "gpt-4o", "enabled": True,
                    "default": False, "connections": ["openai/api_key/CI"]}],
        "agents": [],
    }
    target = tmp_path / "inventory.json"
    result = cli("export", "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text()) == doc
    assert "Exported 1 connection(s) and 1 model(s)" in result.stderr


def test_export_warns_about_models_attached_to_legacy_rows(cli, tmp_path):
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY_A}\n")
    cli("import", str(env), "--agent", "bot")
    assert cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/Default").exit_code == 0
    result = cli("export")
    assert result.exit_code == 0
    assert "Warning: model 'gpt-4o' is attached to the legacy connection openai/api_key/Default" in result.stderr


def test_help_has_examples(cli):
    for command in ("import", "export"):
        result = cli(command, "--help")
        assert result.exit_code == 0 and f"provctl {command}" in result.stdout


def test_an_import_of_env_keys_imports_no_sqlalchemy(tmp_path):
    """Import's writes are set-based SQL on a stdlib connection (``db.bulk``): SQLAlchemy and
    SQLModel (~0.4 s of a big import) are not even imported."""
    import os
    import subprocess
    import sys

    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({
        "connections": [{"agent": None, "provider": "openai", "label": "CI", "key_env": "CI_KEY"},
                        {"agent": "bot", "provider": "openai", "label": "Default", "key_env": "BOT_KEY"}],
        "models": [{"name": "gpt", "provider": "openai", "connections": ["openai/api_key/CI"], "default": True}],
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_")}
    env.update(PROVCTL_DB=str(tmp_path / "p.db"), PROVCTL_USER="alice")
    code = ("import sys\nfrom provctl.cli import main\nsys.argv = ['provctl', 'import', sys.argv[1], '--json']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel'}), file=sys.stderr)")
    subprocess.run([sys.executable, "-m", "provctl", "db", "upgrade"], env=env, capture_output=True, check=True)
    proc = subprocess.run([sys.executable, "-c", code, str(inv)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stderr.splitlines()[-1] == "[]", proc.stderr  # after the no-usable-key lines
    summary = json.loads(proc.stdout)["summary"]
    assert (summary["connections_created"], summary["models_created"], summary["agents_created"]) == (2, 1, 1)
