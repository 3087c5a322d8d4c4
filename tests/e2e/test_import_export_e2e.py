"""Legacy intake, export and the lift with the installed console script and the real keyring:
keys go to the Secret Service on import, never into an export, stay where they are through a
lift (merged rows' too, for --undo), and an export rebuilds the routing in a fresh database."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.e2e


def _key() -> str:
    return "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex


def test_env_import_lift_merge_resolve_and_undo_with_the_real_keyring(run, tmp_path, keyring_get, db_bytes,
                                                                         keyring_delete):
    shared, own = _key(), _key()
    (tmp_path / "a.env").write_text(f"OPENAI_API_KEY={shared}\nANTHROPIC_API_KEY={own}\n")
    (tmp_path / "b.env").write_text(f"export OPENAI_API_KEY='{shared}'\n")
    created = []
    try:
        dry = json.loads(run("import", tmp_path / "a.env", "--agent", "bot-a", "--dry-run", "--json",
                             check=True).stdout)
        assert [c["id"] for c in dry["connections"]] == [None, None]
        assert json.loads(run("providers", "list", "--json", check=True).stdout) == []

        for name in ("a", "b"):
            doc = json.loads(run("import", tmp_path / f"{name}.env", "--agent", f"bot-{name}", "--json",
                                 check=True).stdout)
            created += [c["id"] for c in doc["connections"]]
        a_openai, a_anthropic, b_openai = created
        assert keyring_get("provctl", a_openai) == shared and keyring_get("provctl", b_openai) == shared
        assert keyring_get("provctl", a_anthropic) == own
        assert shared.encode() not in db_bytes() and own.encode() not in db_bytes()

        exported = run("export", check=True).stdout
        assert shared not in exported and own not in exported

        report = json.loads(run("migrate-lift", "--merge-identical", "--json", check=True).stdout)
        actions = {r["id"]: (r["action"], r["new_label"], r["merged_into"]) for r in report["rows"]}
        assert actions[b_openai] == ("merge", "Default", a_openai)
        assert keyring_get("provctl", b_openai) == shared  # kept for --undo

        run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/Default", check=True)
        resolved = json.loads(run("resolve", "gpt-4o", "--json", "--reveal", check=True).stdout)
        assert resolved["selected"]["id"] == a_openai and resolved["selected"]["api_key"] == shared

        run("model", "remove", "gpt-4o", check=True)
        undone = json.loads(run("migrate-lift", "--undo", report["run_id"], "--json", check=True).stdout)
        assert undone["summary"]["merged_restored"] == 1
        listed = json.loads(run("providers", "list", "--json", check=True).stdout)
        assert sorted((c["agent"], c["provider"], c["status"]) for c in listed) == [
            ("bot-a", "anthropic", "legacy"), ("bot-a", "openai", "legacy"), ("bot-b", "openai", "legacy")]
        shown = json.loads(run("providers", "show", b_openai, "--json", check=True).stdout)
        assert shown["credential_source"] == "keyring"
    finally:
        for cid in created:
            keyring_delete("provctl", cid)


def test_export_rebuilds_connections_models_and_priorities_in_an_empty_database(run, tmp_path):
    run("connect", "openai", "--label", "CI", "--key-env", "OPENAI_API_KEY", check=True)
    run("connect", "openai", "--label", "EU", "--key-env", "OPENAI_EU_KEY",
        "--base-url", "https://eu.example.com/v1", check=True)
    run("connect", "ollama", "--label", "Laptop", check=True)
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/EU", "--attach", "openai/CI",
        "--default", check=True)
    run("model", "add", "llama", "--provider", "ollama", "--upstream", "llama3.1:8b", check=True)
    inventory = tmp_path / "inventory.json"
    run("export", "--output", inventory, check=True)

    fresh = {"PROVCTL_DB": tmp_path / "fresh" / "provctl.db"}
    result = json.loads(run("import", inventory, "--json", env=fresh, check=True).stdout)
    assert result["summary"]["connections_created"] == 3 and result["summary"]["models_created"] == 2
    assert json.loads(run("export", env=fresh, check=True).stdout) == json.loads(inventory.read_text())
    shown = json.loads(run("model", "show", "gpt-4o", "--json", env=fresh, check=True).stdout)
    assert [(c["priority"], c["label"]) for c in shown["connections"]] == [(1, "EU"), (2, "CI")]
    env = {**fresh, "OPENAI_EU_KEY": "sk-eu-" + uuid.uuid4().hex}
    resolved = run("resolve", "--format", "env", env=env, check=True).stdout  # the default model
    assert "export PROVCTL_BASE_URL='https://eu.example.com/v1'" in resolved


def test_an_invalid_inventory_writes_no_keyring_entry(run, tmp_path, keyring_get):
    key = _key()
    inventory = tmp_path / "inv.json"
    inventory.write_text(json.dumps({"connections": [
        {"agent": "bot", "provider": "openai", "key": key},
        {"agent": "bot", "provider": "nope"},
    ]}))
    result = run("import", inventory, check=2)
    assert result.stderr.startswith("Error: connections[1]: unknown provider 'nope'")
    assert json.loads(run("providers", "list", "--json", check=True).stdout) == []
    assert json.loads(run("agent", "list", "--json", check=True).stdout) == []
