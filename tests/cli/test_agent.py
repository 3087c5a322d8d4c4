"""`provctl agent add|list|show|update|grant|revoke|remove` through the CLI (SPEC §6, §10)."""

from __future__ import annotations

import json

import pytest
from tests.support.checks import sql, assert_error

STAMP = "2026-11-21T12:00:00.000000Z"


def test_add_then_list(cli):
    result = cli("agent", "add", "support-bot", "--display-name", "Support Bot")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Added agent support-bot.\n")
    added = cli.json("agent", "add", "  Crawler ", "--json")  # the `agent show` document
    assert list(added) == ["id", "name", "display_name", "access", "granted", "legacy_connections",
                           "created_at"]
    assert (added["name"], added["display_name"], added["access"], added["granted"],
            added["legacy_connections"]) == ("Crawler", None, "all", [], 0)
    listed = cli.json("agent", "list", "--json")
    assert [list(a) for a in listed] == [
        ["id", "name", "display_name", "access", "legacy_connections", "created_at"]] * 2
    assert [(a["name"], a["display_name"], a["access"], a["legacy_connections"]) for a in listed] == [
        ("Crawler", None, "all", 0), ("support-bot", "Support Bot", "all", 0)]
    assert listed[0] == {k: v for k, v in added.items() if k != "granted"}


def test_list_table_and_empty_list(cli):
    result = cli("agent", "list")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "No agents.\n")
    assert cli.json("agent", "list", "--json") == []
    cli("agent", "add", "bot", "--display-name", "The Bot")
    lines = cli("agent", "list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISPLAY", "NAME", "ACCESS", "LEGACY", "CONNECTIONS", "CREATED"]
    assert lines[1].split()[:5] == ["bot", "The", "Bot", "all", "0"]


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


# ---------------------------------------------------------------- access (SPEC §10)

KEY = "sk-proj-" + "k" * 24 + "1234"


@pytest.fixture
def team(cli):
    """openai/Team and openai/Personal (user-level), and agent bot (access all)."""
    ids = {"Team": cli.connect("openai", "--label", "Team", "--key-env", "TEAM_KEY"),
           "Personal": cli.connect("openai", "--label", "Personal", key=KEY)}
    cli.json("agent", "add", "bot", "--json")
    return ids


def granted(doc):
    return [(g["provider"], g["auth_type"], g["label"]) for g in doc["granted"]]


def test_add_listed_says_on_stderr_that_the_agent_can_use_nothing(cli):
    result = cli("agent", "add", "ci-bot", "--access", "Listed")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (
        "Warning: agent ci-bot is listed and has no grants: it can now use nothing (grant connections "
        "with `provctl agent grant ci-bot REF`).\nAdded agent ci-bot (access listed).\n")
    assert cli.json("agent", "show", "ci-bot", "--json")["access"] == "listed"


def test_show_json_is_the_whole_document(cli, team):
    cli("agent", "update", "bot", "--access", "listed", "--display-name", "The Bot")
    cli("agent", "grant", "bot", "openai/Team")
    doc = cli.json("agent", "show", "BOT", "--json")
    assert doc == {
        "id": doc["id"], "name": "bot", "display_name": "The Bot", "access": "listed",
        "granted": [{"id": team["Team"], "provider": "openai", "auth_type": "api_key", "label": "Team"}],
        "legacy_connections": 0, "created_at": doc["created_at"],
    }
    assert cli.json("agent", "list", "--json")[0]["access"] == "listed"


def test_show_table(cli, team):
    cli("agent", "grant", "bot", "Team")
    lines = cli("agent", "show", "bot").stdout.splitlines()
    assert ["access", "all"] in [line.split() for line in lines]
    assert lines[-1].split() == [team["Team"][:8], "openai/api_key/Team"]


def test_grant_then_grant_again_is_a_no_op(cli, team, db_path):
    cli("agent", "update", "bot", "--access", "listed")
    result = cli("agent", "grant", "bot", "openai/Team")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Granted openai/api_key/Team to agent bot.\n")
    before = sql(db_path, "SELECT * FROM agent_grants")
    again = cli("agent", "grant", "bot", "Team", "openai/api_key/team", "Personal", "--json")
    assert again.exit_code == 0
    assert again.stderr == ""
    assert granted(json.loads(again.stdout)) == [("openai", "api_key", "Personal"), ("openai", "api_key", "Team")]
    assert sql(db_path, "SELECT * FROM agent_grants WHERE connection_id = ?", (team["Team"],)) == before
    twice = cli("agent", "grant", "bot", "Team")
    assert (twice.exit_code, twice.stderr) == (0, "Already granted to agent bot: openai/api_key/Team.\n")


def test_granting_to_an_agent_with_access_all_is_kept_for_later_and_says_so(cli, team):
    result = cli("agent", "grant", "bot", "Team")
    assert result.exit_code == 0
    assert result.stderr == (
        "agent bot has access all: it may use every connection; the grants take effect with "
        "`provctl agent update bot --access listed`.\nGranted openai/api_key/Team to agent bot.\n")


def test_granting_a_legacy_row_is_exit_4_and_grants_nothing(cli, team, db_path):
    uid = sql(db_path, "SELECT id FROM users")[0][0]
    aid = cli.json("agent", "show", "bot", "--json")["id"]
    sql(db_path,
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, enabled, "
        "key_stored, key_source, created_at, updated_at) VALUES ('99999999-0000-4000-8000-000000000001', ?, ?, "
        "'openai', 'api_key', 'Old', 'old', 1, 0, 'keyring', ?, ?)", (uid, aid, STAMP, STAMP))
    assert_error(cli("agent", "grant", "bot", "Team", "Old"), 4,
                 "only user-level connections can be granted: openai/api_key/Old (agent bot) is a legacy "
                 "connection", "lift it first with `provctl migrate-lift`, then grant it")
    assert sql(db_path, "SELECT count(*) FROM agent_grants") == [(0,)]


@pytest.mark.parametrize("args, code, error, hint", [
    (["agent", "grant", "nobody", "Team"], 3, "no agent named 'nobody'", "see `provctl agent list`"),
    (["agent", "revoke", "nobody", "Team"], 3, "no agent named 'nobody'", "see `provctl agent list`"),
    (["agent", "show", "nobody"], 3, "no agent named 'nobody'", "see `provctl agent list`"),
    (["agent", "update", "nobody", "--access", "all"], 3, "no agent named 'nobody'", "see `provctl agent list`"),
    (["agent", "grant", "bot", "Team", "Nope"], 3, "no connection matches 'Nope'", None),
    (["agent", "revoke", "bot", "Team"], 3, "openai/api_key/Team is not granted to agent bot",
     "see `provctl agent show bot`"),
    (["agent", "update", "bot"], 2, "nothing to update", "give --display-name or --access"),
    (["agent", "update", "bot", "--access", "some"], 2, "unknown access mode 'some'", "use one of: all, listed"),
    (["agent", "add", "other", "--access", "sk-proj-1234567890"], 2,
     "unknown access mode 'sk-proj-'… (18 characters)", "use one of: all, listed"),
])
def test_agent_errors_and_their_exit_codes(cli, team, args, code, error, hint):
    assert_error(cli(*args), code, error, hint)


def test_an_ambiguous_reference_is_exit_4(cli, team):
    cli.connect("anthropic", "--label", "Team", "--key-env", "CLAUDE_KEY")
    result = cli("agent", "grant", "bot", "Team")
    assert_error(result, 4, result.stderr.splitlines()[0].removeprefix("Error: "))
    assert "'Team' is ambiguous" in result.stderr


def test_revoke_is_all_or_nothing_and_says_when_nothing_is_left(cli, team, db_path):
    cli("agent", "update", "bot", "--access", "listed")
    cli("agent", "grant", "bot", "Team")
    assert_error(cli("agent", "revoke", "bot", "Team", "Personal"), 3,
                 "openai/api_key/Personal is not granted to agent bot", "see `provctl agent show bot`")
    assert sql(db_path, "SELECT count(*) FROM agent_grants") == [(1,)]
    result = cli("agent", "revoke", "bot", "openai/Team")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (
        "Warning: agent bot is listed and has no grants: it can now use nothing (grant connections "
        "with `provctl agent grant bot REF`).\nRevoked openai/api_key/Team from agent bot.\n")
    assert granted(cli.json("agent", "show", "bot", "--json")) == []


def test_switching_to_listed_with_no_grants_says_so_and_back_to_all_does_not(cli, team):
    result = cli("agent", "update", "bot", "--access", "listed")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.splitlines() == [
        "Warning: agent bot is listed and has no grants: it can now use nothing (grant connections "
        "with `provctl agent grant bot REF`).", "Updated agent bot (access listed)."]
    assert cli("agent", "update", "bot", "--access", "all").stderr == "Updated agent bot (access all).\n"
    cli("agent", "grant", "bot", "Team")
    assert cli("agent", "update", "bot", "--access", "listed").stderr == "Updated agent bot (access listed).\n"


def test_update_display_name_and_clear_it(cli, team):
    assert cli.json("agent", "update", "bot", "--display-name", " Bot ", "--json")["display_name"] == "Bot"
    assert cli.json("agent", "update", "bot", "--display-name", "", "--json")["display_name"] is None
    assert_error(cli("agent", "update", "bot", "--display-name", "a\x1bb"), 2,
                 "display name contains a control character (U+001B)")


def test_providers_show_lists_the_listed_agents_granted_it(cli, team):
    cli.json("agent", "add", "ci", "--access", "listed", "--json")
    cli("agent", "grant", "ci", "Team")
    cli("agent", "grant", "bot", "Team")  # bot has access all: not listed among granted_to
    assert cli.json("providers", "show", "Team", "--json")["granted_to"] == ["ci"]
    cli("agent", "update", "bot", "--access", "listed")
    assert cli.json("providers", "show", "Team", "--json")["granted_to"] == ["bot", "ci"]
    assert cli.json("providers", "show", "Personal", "--json")["granted_to"] == []
    lines = [line.split(None, 2) for line in cli("providers", "show", "Team").stdout.splitlines()]
    assert ["granted", "to", "bot, ci"] in [[w.strip() for w in line] for line in lines]


def test_removing_a_connection_or_an_agent_removes_its_grants(cli, team, db_path):
    cli.json("agent", "add", "ci", "--access", "listed", "--json")
    cli("agent", "grant", "ci", "Team", "Personal")
    cli("agent", "grant", "bot", "Team")
    assert sql(db_path, "SELECT count(*) FROM agent_grants") == [(3,)]
    assert cli("providers", "remove", "Personal").exit_code == 0
    assert granted(cli.json("agent", "show", "ci", "--json")) == [("openai", "api_key", "Team")]
    assert cli("agent", "remove", "ci").exit_code == 0
    assert sql(db_path, "SELECT connection_id FROM agent_grants") == [(team["Team"],)]
