"""Agents and access (SPEC §10) end to end: the installed console script, the real Secret
Service. A listed agent resolving through the real keyring; the lift granting a listed agent
its lifted rows and --undo revoking exactly those; the export/import round trip of access
modes and grants; the upgrade of a revision-0004 database with existing agents."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.e2e


def _key(prefix: str) -> str:
    return f"sk-{prefix}-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def _json(run, *args, **kw):
    return json.loads(run(*args, check=0, **kw).stdout)


def _ids(run, **kw) -> dict[str, str]:
    return {c["label"]: c["id"] for c in _json(run, "providers", "list", "--json", **kw)}


@pytest.fixture
def team(run, keyring_delete):
    """openai/Personal (priority 1) and openai/Team (priority 2), keys in the keyring; agent
    support-bot (listed, granted Team only) and agent locked (listed, nothing granted)."""
    keys = {"Personal": _key("personal"), "Team": _key("team")}
    for label, key in keys.items():
        run("connect", "openai", "--label", label, "--key-stdin", input=key + "\n", check=0)
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Personal", "--attach", "Team", check=0)
    run("agent", "add", "support-bot", "--access", "listed", check=0)
    run("agent", "grant", "support-bot", "openai/Team", check=0)
    run("agent", "add", "locked", "--access", "listed", check=0)
    ids = _ids(run)
    yield keys, ids
    for cid in ids.values():  # the real keyring outlives the test's database
        keyring_delete("provctl", cid)


def test_a_listed_agent_resolves_only_what_is_granted_through_the_real_keyring(run, team, e2e_env, provctl_bin):
    keys, ids = team
    doc = _json(run, "resolve", "gpt-4o", "--agent", "support-bot", "--json", "--reveal")
    assert (doc["agent"], doc["selected"]["id"], doc["selected"]["credential_source"],
            doc["selected"]["api_key"]) == ("support-bot", ids["Team"], "keyring", keys["Team"])
    assert [(c["label"], c["outcome"], c["reason"]) for c in doc["candidates"]] == [
        ("Personal", "skipped", "agent_denied"), ("Team", "selected", None)]
    # without --agent there is no access check: priority 1 wins
    assert _json(run, "resolve", "gpt-4o", "--json")["selected"]["id"] == ids["Personal"]

    script = ('out=$("$PROVCTL" resolve gpt-4o --agent support-bot --format env) && eval "$out" && '
              'printf "%s|%s" "$OPENAI_API_KEY" "$PROVCTL_CONNECTION"')
    shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                           env={**e2e_env, "PROVCTL": str(provctl_bin)})
    assert shell.stdout == f"{keys['Team']}|openai/api_key/Team", shell.stderr
    assert "Skipped openai/api_key/Personal (priority 1): agent_denied" in shell.stderr

    locked = run("resolve", "gpt-4o", "--agent", "locked", "--format", "env", check=5)
    assert locked.stdout == "" and locked.stderr.count(": agent_denied") == 2
    unknown = run("resolve", "gpt-4o", "--agent", "nobody", check=3)
    assert (unknown.stdout, unknown.stderr) == ("", "Error: no agent named 'nobody'\nHint: see `provctl agent "
                                                    "list`, or add it with `provctl agent add nobody`\n")
    assert _json(run, "providers", "show", "Team", "--json")["granted_to"] == ["support-bot"]
    shown = _json(run, "model", "show", "gpt-4o", "--agent", "support-bot", "--json")
    assert [c["status"] for c in shown["connections"]] == ["agent_denied", "active"]

    # exec hands a listed agent's program the granted connection's key, never the denied one's
    shown_env = ("sh", "-c", 'printf "%s|%s" "$OPENAI_API_KEY" "$PROVCTL_CONNECTION"')
    granted = run("exec", "gpt-4o", "--agent", "support-bot", "--no-mask", "--", *shown_env, check=0)
    assert granted.stdout == f"{keys['Team']}|openai/api_key/Team"
    assert "Skipped openai/api_key/Personal (priority 1): agent_denied" in granted.stderr
    marker = e2e_env["PROVCTL_DB"] + ".started"
    for agent, code in (("locked", 5), ("nobody", 3)):  # CMD never starts
        refused = run("exec", "gpt-4o", "--agent", agent, "--", "touch", marker, check=code)
        assert refused.stdout == ""
    assert not __import__("os").path.exists(marker)

    run("agent", "revoke", "support-bot", "Team", check=0)
    run("resolve", "gpt-4o", "--agent", "support-bot", check=5)
    run("agent", "update", "support-bot", "--access", "all", check=0)
    assert _json(run, "resolve", "gpt-4o", "--agent", "support-bot", "--json")["selected"]["id"] == ids["Personal"]


def test_the_lift_grants_a_listed_agent_its_rows_and_undo_revokes_exactly_those(run, tmp_path, keyring_get,
                                                                                   keyring_delete):
    own, team_key = _key("own"), _key("team")
    (tmp_path / "bot.env").write_text(f"OPENAI_API_KEY={own}\n")
    created = []
    try:
        created.append(_json(run, "connect", "openai", "--label", "Team", "--key-stdin", "--json",
                             input=team_key + "\n")["id"])
        doc = _json(run, "import", tmp_path / "bot.env", "--agent", "bot", "--json")
        created += [c["id"] for c in doc["connections"]]
        team_id, bot_row = created
        run("agent", "update", "bot", "--access", "listed", check=0)
        run("agent", "grant", "bot", "Team", check=0)  # held before the lift: the undo keeps it
        run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Team", check=0)

        report = _json(run, "migrate-lift", "--json")
        assert [(r["id"], r["action"]) for r in report["rows"]] == [(bot_row, "keep")]
        granted = _json(run, "agent", "show", "bot", "--json")["granted"]
        assert sorted(g["id"] for g in granted) == sorted([team_id, bot_row])

        run("model", "attach", "gpt-4o", bot_row, "--priority", "1", check=0)
        resolved = _json(run, "resolve", "gpt-4o", "--agent", "bot", "--json", "--reveal")
        assert (resolved["selected"]["id"], resolved["selected"]["api_key"]) == (bot_row, own)
        run("model", "detach", "gpt-4o", bot_row, check=0)

        run("migrate-lift", "--undo", report["run_id"], check=0)
        assert [g["id"] for g in _json(run, "agent", "show", "bot", "--json")["granted"]] == [team_id]
        assert {c["id"]: c["status"] for c in _json(run, "providers", "list", "--json")}[bot_row] == "legacy"
        assert keyring_get("provctl", bot_row) == own  # keys never move
        assert run("migrate-lift", "--undo", report["run_id"], check=4).stderr.startswith("Error: lift run")
    finally:
        for cid in created:
            keyring_delete("provctl", cid)


def test_export_import_round_trip_of_access_modes_and_grants_is_exact(run, tmp_path):
    run("connect", "openai", "--label", "Team", "--key-env", "TEAM_KEY", check=0)
    run("connect", "anthropic", "--label", "Team", "--key-env", "CLAUDE_KEY", check=0)
    run("connect", "openai", "--label", "Personal", "--key-env", "MY_KEY", check=0)
    run("agent", "add", "support-bot", "--display-name", "Support Bot", "--access", "listed", check=0)
    run("agent", "grant", "support-bot", "openai/Team", "anthropic/Team", check=0)
    run("agent", "add", "locked", "--access", "listed", check=0)
    run("agent", "add", "free", check=0)
    inventory = tmp_path / "inventory.json"
    run("export", "--output", inventory, check=0)
    exported = json.loads(inventory.read_text())
    assert exported["agents"] == [
        {"name": "free", "display_name": None, "access": "all", "granted": []},
        {"name": "locked", "display_name": None, "access": "listed", "granted": []},
        {"name": "support-bot", "display_name": "Support Bot", "access": "listed",
         "granted": ["anthropic/api_key/Team", "openai/api_key/Team"]},
    ]

    fresh = {"PROVCTL_DB": tmp_path / "fresh" / "provctl.db"}
    run("import", inventory, env=fresh, check=0)
    assert run("export", env=fresh, check=0).stdout == run("export", check=0).stdout
    for name in ("support-bot", "locked", "free"):
        here, there = (_json(run, "agent", "show", name, "--json", env=e) for e in ({}, fresh))
        strip = lambda d: {**d, "id": None, "created_at": None,  # noqa: E731
                           "granted": [{**g, "id": None} for g in d["granted"]]}
        assert strip(there) == strip(here)
    env = {**fresh, "TEAM_KEY": "sk-team-" + uuid.uuid4().hex, "MY_KEY": "sk-my-" + uuid.uuid4().hex}
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Personal", "--attach", "openai/Team",
        env=env, check=0)
    resolved = _json(run, "resolve", "gpt-4o", "--agent", "support-bot", "--json", env=env)
    assert resolved["selected"]["label"] == "Team"


def test_upgrading_a_0004_database_keeps_every_existing_agent_at_access_all(run, db_path, bin_python):
    make_old = (
        "import sys; from pathlib import Path; from provctl.db import migrate; "
        "migrate.run_upgrade(Path(sys.argv[1]), '0004')"
    )
    subprocess.run([bin_python, "-c", make_old, str(db_path)], check=True, timeout=60)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u1', 'e2e-user', 'e2e-user', 'T')")
    for aid, name in (("a1", "old-bot"), ("a2", "Support")):
        conn.execute("INSERT INTO agents (id, user_id, name, name_key, display_name, created_at) "
                     "VALUES (?, 'u1', ?, ?, NULL, '2026-01-01T00:00:00.000000Z')", (aid, name, name.lower()))
    conn.close()

    listed = run("agent", "list", "--json", check=0)
    assert listed.stderr == (f"provctl: upgraded the database schema from 0004 to "
                             f"{_head(bin_python)} (backup: {db_path}.bak-0004)\n")
    assert [(a["name"], a["access"]) for a in json.loads(listed.stdout)] == [("old-bot", "all"), ("Support", "all")]
    run("connect", "openai", "--label", "Team", "--key-env", "TEAM_KEY", check=0)
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Team", check=0)
    doc = _json(run, "resolve", "gpt-4o", "--agent", "old-bot", "--json", env={"TEAM_KEY": "sk-team-x"})
    assert doc["selected"]["label"] == "Team"  # `all`: no access check
    assert (db_path.parent / "provctl.db.bak-0004").exists()


def _head(bin_python: str) -> str:
    code = "from provctl.db.revisions import HEAD; print(HEAD)"
    return subprocess.run([bin_python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
