"""`provctl agent add|list|remove` through the CLI."""

from __future__ import annotations


import pytest
from tests.support.checks import sql, assert_error

STAMP = "2026-11-21T12:00:00.000000Z"


def test_add_then_list(cli):
    result = cli("agent", "add", "support-bot", "--display-name", "Support Bot")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Added agent support-bot.\n")
    added = cli.json("agent", "add", "  Crawler ", "--json")
    assert list(added) == ["id", "name", "display_name", "legacy_connections", "created_at"]
    assert (added["name"], added["display_name"], added["legacy_connections"]) == ("Crawler", None, 0)
    listed = cli.json("agent", "list", "--json")
    assert [(a["name"], a["display_name"], a["legacy_connections"]) for a in listed] == [
        ("Crawler", None, 0), ("support-bot", "Support Bot", 0)]
    assert listed[0] == added


def test_list_table_and_empty_list(cli):
    result = cli("agent", "list")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "No agents.\n")
    assert cli.json("agent", "list", "--json") == []
    cli("agent", "add", "bot", "--display-name", "The Bot")
    lines = cli("agent", "list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISPLAY", "NAME", "LEGACY", "CONNECTIONS", "CREATED"]
    assert lines[1].split()[:4] == ["bot", "The", "Bot", "0"]


@pytest.mark.parametrize("second", ["bot", "BOT", "  Bot  "])
def test_agent_names_are_unique_per_user_folded(cli, second):
    cli.json("agent", "add", "Bot", "--json")
    assert_error(cli("agent", "add", second), 4, f"agent {second.strip()!r} already exists",
                 "agent names are unique per user (case-insensitive)")


def test_another_user_may_use_the_same_agent_name(cli):
    cli.json("agent", "add", "bot", "--json")
    assert cli.json("--user", "bob", "agent", "add", "bot", "--json")["name"] == "bot"
    assert [a["name"] for a in cli.json("--user", "bob", "agent", "list", "--json")] == ["bot"]


@pytest.mark.parametrize(
    "name, error",
    [("", "agent name must not be empty"), ("x" * 65, "agent name is 65 characters long; the limit is 64"),
     ("bo\tt", "agent name contains a control character (U+0009)"),
     ("bot\u202e", "agent name contains a control character (U+202E)")],
)
def test_invalid_agent_names_are_exit_2(cli, db_path, name, error):
    result = cli("agent", "add", name)
    assert_error(result, 2, error)
    if not name:
        assert result.stderr.splitlines()[1] == "Hint: give an agent name of 1–64 characters"
    assert sql(db_path, "SELECT count(*) FROM agents") == [(0,)]


def test_remove(cli):
    cli.json("agent", "add", "bot", "--json")
    result = cli("agent", "remove", "BOT")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Removed agent bot.\n")
    assert cli.json("agent", "list", "--json") == []
    assert_error(cli("agent", "remove", "bot"), 3, "no agent named 'bot'", "see `provctl agent list`")


def test_remove_is_refused_while_the_agent_owns_legacy_connections(cli, db_path):
    agent = cli.json("agent", "add", "bot", "--json")
    uid = sql(db_path, "SELECT id FROM users")[0][0]
    sql(db_path,
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, enabled, "
        "key_stored, key_source, created_at, updated_at) VALUES ('c1', ?, ?, 'openai', 'api_key', 'Default', "
        "'default', 1, 0, 'keyring', ?, ?)", (uid, agent["id"], STAMP, STAMP))
    assert cli.json("agent", "list", "--json")[0]["legacy_connections"] == 1
    result = cli("agent", "remove", "bot")
    assert_error(result, 4, "agent 'bot' owns 1 legacy connection(s)")
    assert "migrate-lift" in result.stderr
    assert [a["name"] for a in cli.json("agent", "list", "--json")] == ["bot"]


def test_removing_an_agent_keeps_connections_made_through_it(cli):
    doc = cli.json("connect", "ollama", "--agent", "bot", "--json")
    assert cli.json("providers", "show", doc["id"], "--json")["connected_via"] == "bot"
    assert cli("agent", "remove", "bot").exit_code == 0
    assert cli.json("providers", "show", doc["id"], "--json")["connected_via"] is None
