"""`provctl model …` through the Typer app (CliRunner): exit codes, whole JSON documents, stderr."""

from __future__ import annotations

import json

import pytest

KEYS = {label: f"sk-{label.lower()}-" + "k" * 24 + label[-1] * 4 for label in ("Work", "Backup", "Old", "Claude")}


@pytest.fixture
def setup(cli):
    """openai/Work, openai/Backup, openai/Old (disabled) and anthropic/Claude; returns ids by label."""
    for label, provider in (("Work", "openai"), ("Backup", "openai"), ("Old", "openai"), ("Claude", "anthropic")):
        result = cli("connect", provider, "--label", label, "--key-stdin", input=KEYS[label] + "\n")
        assert result.exit_code == 0, result.stderr
    assert cli("providers", "disable", "openai/Old").exit_code == 0
    return {c["label"]: c for c in cli.json("providers", "list", "--json")}


def entry(conn, priority, status="active"):
    return {"priority": priority, "id": conn["id"], "provider": conn["provider"],
            "auth_type": conn["auth_type"], "label": conn["label"], "status": status,
            "key_hint": conn["key_hint"]}


def test_add_with_attach_prints_the_model_json(cli, setup):
    doc = cli.json("model", "add", "gpt-4o", "--provider", "openai", "--upstream", "gpt-4o-2024-08-06",
                   "--attach", "openai/Backup", "--attach", "Work", "--json")
    assert doc == {
        "name": "gpt-4o", "provider": "openai", "upstream_model": "gpt-4o-2024-08-06",
        "enabled": True, "default": False,
        "connections": [entry(setup["Backup"], 1), entry(setup["Work"], 2)],
    }


def test_add_without_attach_says_which_connection_it_took(cli, setup):
    result = cli("model", "add", "gpt-4o", "--provider", "openai")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "Attached openai/api_key/Work automatically (the oldest usable openai connection).\n"
        "Added model gpt-4o (openai) with 1 connection(s).\n"
    )


def test_add_without_a_usable_connection_says_none(cli, setup):
    result = cli("model", "add", "mistral-large", "--provider", "mistral", "--default")
    assert result.exit_code == 0
    assert result.stderr == (
        "No usable mistral connection to attach; attach one with "
        "`provctl model attach mistral-large REF`.\n"
        "Added model mistral-large (mistral) with 0 connection(s), as the default model.\n"
    )


def test_add_attaching_a_disabled_connection_warns(cli, setup):
    result = cli("model", "add", "m", "--provider", "openai", "--attach", "Old")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: openai/api_key/Old is attached, but it is disabled; "
                                    "resolve will skip it until it is enabled")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--provider", "nope"], 2, "Error: unknown provider 'nope'"),
    (["--provider", "openai", "--attach", "Claude"], 4,
     "Error: cross-family attachment: anthropic/api_key/Claude is of provider anthropic, model m of provider openai"),
    (["--provider", "openai", "--attach", "Work", "--attach", "openai/Work"], 4,
     "Error: openai/api_key/Work is given twice in --attach"),
    (["--provider", "openai", "--attach", "Missing"], 3, "Error: no connection matches 'Missing'"),
])
def test_add_rejections(cli, setup, args, code, message):
    result = cli("model", "add", "m", *args)
    assert result.exit_code == code, result.stderr
    assert result.stderr.splitlines()[0] == message
    assert cli.json("model", "list", "--json") == []


def test_add_duplicate_name_is_exit_4(cli, setup):
    cli("model", "add", "GPT-4o", "--provider", "openai")
    result = cli("model", "add", "gpt-4O", "--provider", "openai")
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: model GPT-4o already exists\nHint: ")


def test_add_ambiguous_reference_is_exit_4(cli, setup):
    cli("connect", "anthropic", "--label", "Work", "--key-stdin", input="sk-ant-" + "z" * 30 + "\n")
    result = cli("model", "add", "m", "--provider", "openai", "--attach", "Work")
    assert result.exit_code == 4
    assert "is ambiguous" in result.stderr


def test_list_json(cli, setup):
    cli("model", "add", "b-model", "--provider", "openai", "--attach", "Old", "--attach", "Backup")
    cli("model", "add", "a-model", "--provider", "anthropic", "--default")
    assert cli.json("model", "list", "--json") == [
        {"name": "a-model", "provider": "anthropic", "upstream_model": "a-model", "enabled": True,
         "default": True, "connections": 1, "would_select": "Claude", "would_select_id": setup["Claude"]["id"]},
        {"name": "b-model", "provider": "openai", "upstream_model": "b-model", "enabled": True,
         "default": False, "connections": 2, "would_select": "Backup", "would_select_id": setup["Backup"]["id"]},
    ]


def test_list_table_and_empty_list(cli, setup):
    result = cli("model", "list")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "No models" in result.stderr
    cli("model", "add", "gpt-4o", "--provider", "openai")
    table = cli("model", "list").stdout
    assert "gpt-4o" in table and "WOULD SELECT" in table and "Work" in table


def test_show_json_and_table_with_badges(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Old", "--attach", "Work")
    assert cli.json("model", "show", "GPT-4O", "--json") == {
        "name": "gpt-4o", "provider": "openai", "upstream_model": "gpt-4o", "enabled": True,
        "default": False, "connections": [entry(setup["Old"], 1, "disabled"), entry(setup["Work"], 2)],
    }
    result = cli("model", "show", "gpt-4o")
    assert result.exit_code == 0
    assert "openai/api_key/Old" in result.stdout and "disabled" in result.stdout


def test_show_unknown_model_is_exit_3(cli, setup):
    result = cli("model", "show", "nope")
    assert result.exit_code == 3
    assert result.stderr == ("Error: no model named 'nope'\nHint: see `provctl model list`; add one "
                             "with `provctl model add NAME --provider P`\n")


def test_attach_inserts_at_priority_and_shifts(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    result = cli("model", "attach", "gpt-4o", "Backup", "--priority", "1")
    assert result.exit_code == 0
    assert result.stderr == "Attached openai/api_key/Backup to gpt-4o at priority 1.\n"
    doc = cli.json("model", "attach", "gpt-4o", "Old", "--json")
    assert [(c["priority"], c["label"], c["status"]) for c in doc["connections"]] == [
        (1, "Backup", "active"), (2, "Work", "active"), (3, "Old", "disabled")]


def test_attach_disabled_connection_warns(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    result = cli("model", "attach", "gpt-4o", "Old")
    assert result.exit_code == 0
    assert result.stderr == (
        "Warning: openai/api_key/Old is attached, but it is disabled; resolve will skip it until it "
        "is enabled (`provctl providers enable openai/api_key/Old`).\n"
        "Attached openai/api_key/Old to gpt-4o at priority 2.\n"
    )


@pytest.mark.parametrize(("args", "code", "first_line"), [
    (["gpt-4o", "Work"], 4, "Error: openai/api_key/Work is already attached to gpt-4o at priority 1"),
    (["gpt-4o", "Claude"], 4, "Error: cross-family attachment: anthropic/api_key/Claude is of provider anthropic, model gpt-4o of provider openai"),
    (["gpt-4o", "Backup", "--priority", "3"], 2, "Error: priority 3 is out of range for gpt-4o"),
    (["gpt-4o", "Backup", "--priority", "0"], 2, "Error: priority 0 is out of range for gpt-4o"),
    (["gpt-4o", "Nope"], 3, "Error: no connection matches 'Nope'"),
    (["nope", "Backup"], 3, "Error: no model named 'nope'"),
    (["gpt-4o", "Backup", "--priority", "x"], 2, None),
])
def test_attach_rejections(cli, setup, args, code, first_line):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    result = cli("model", "attach", *args)
    assert result.exit_code == code, result.stderr
    if first_line:
        assert result.stderr.splitlines()[0] == first_line
    assert [c["label"] for c in cli.json("model", "show", "gpt-4o", "--json")["connections"]] == ["Work"]


def test_attach_out_of_range_hint_names_the_range(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    result = cli("model", "attach", "gpt-4o", "Backup", "--priority", "5")
    assert result.stderr.splitlines()[1] == "Hint: gpt-4o has 1 connection(s): use 1–2"


def test_detach_closes_the_gap(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work", "--attach", "Backup", "--attach", "Old")
    result = cli("model", "detach", "gpt-4o", "openai/Work")
    assert (result.exit_code, result.stderr) == (0, "Detached openai/api_key/Work from gpt-4o.\n")
    doc = cli.json("model", "show", "gpt-4o", "--json")
    assert [(c["priority"], c["label"]) for c in doc["connections"]] == [(1, "Backup"), (2, "Old")]


def test_detach_rejections(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    assert cli("model", "detach", "gpt-4o", "Backup").exit_code == 3
    assert cli("model", "detach", "nope", "Work").exit_code == 3
    assert cli("model", "detach", "gpt-4o", "Nope").exit_code == 3
    last = cli("model", "detach", "gpt-4o", "Work")
    assert last.exit_code == 0
    assert last.stderr.startswith("Warning: model gpt-4o has no connection left; resolve gpt-4o will exit 5.")


def test_reorder(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work", "--attach", "Backup", "--attach", "Old")
    doc = cli.json("model", "reorder", "gpt-4o", "Old", "Work", "Backup", "--json")
    assert doc["connections"] == [entry(setup["Old"], 1, "disabled"), entry(setup["Work"], 2), entry(setup["Backup"], 3)]
    result = cli("model", "reorder", "gpt-4o", "Work", "Backup", "Old")
    assert result.stderr == ("New order of gpt-4o: 1. openai/api_key/Work, 2. openai/api_key/Backup, "
                             "3. openai/api_key/Old.\n")


@pytest.mark.parametrize(("refs", "code", "problem"), [
    (["Work", "Backup"], 4, "missing openai/api_key/Old"),
    (["Work", "Backup", "Old", "Claude"], 4, "not attached anthropic/api_key/Claude"),
    (["Work", "Backup", "Old", "Work"], 4, "repeated openai/api_key/Work"),
    (["Work", "Work", "Old"], 4, "missing openai/api_key/Backup; repeated openai/api_key/Work"),
    (["Work", "Backup", "Nope"], 3, "no connection matches 'Nope'"),
])
def test_reorder_rejections_change_nothing(cli, setup, refs, code, problem):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work", "--attach", "Backup", "--attach", "Old")
    result = cli("model", "reorder", "gpt-4o", *refs)
    assert result.exit_code == code
    assert problem in result.stderr.splitlines()[0]
    doc = cli.json("model", "show", "gpt-4o", "--json")
    assert [c["label"] for c in doc["connections"]] == ["Work", "Backup", "Old"]


def test_reorder_needs_at_least_one_ref(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai")
    assert cli("model", "reorder", "gpt-4o").exit_code == 2


def test_update(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    cli("model", "add", "other", "--provider", "openai", "--default")
    doc = cli.json("model", "update", "gpt-4o", "--upstream", "gpt-4o-mini", "--disable", "--default", "--json")
    assert doc == {"name": "gpt-4o", "provider": "openai", "upstream_model": "gpt-4o-mini", "enabled": False,
                   "default": True, "connections": [entry(setup["Work"], 1)]}
    listed = {m["name"]: m for m in cli.json("model", "list", "--json")}
    assert (listed["other"]["default"], listed["gpt-4o"]["would_select"]) == (False, None)
    result = cli("model", "update", "gpt-4o", "--enable")
    assert (result.exit_code, result.stderr) == (0, "Updated model gpt-4o.\n")


def test_update_default_says_which_model_lost_the_default(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    cli("model", "add", "other", "--provider", "openai", "--default")
    result = cli("model", "update", "gpt-4o", "--default")
    assert (result.exit_code, result.stderr) == (
        0, "gpt-4o is now the default model, instead of other.\nUpdated model gpt-4o.\n")
    again = cli("model", "update", "gpt-4o", "--default")  # already the default: nothing to say
    assert (again.exit_code, again.stderr) == (0, "Updated model gpt-4o.\n")


def test_lists_sort_numbers_by_value(cli, setup):
    for label in ("Slow10", "Slow2", "slow1"):
        cli.connect("ollama", "--label", label)
    for name in ("m10", "M2", "m1"):
        cli("model", "add", name, "--provider", "ollama")
    for name in ("bot10", "bot2"):
        cli("agent", "add", name)
    ollama = [c["label"] for c in cli.json("providers", "list", "--provider", "ollama", "--json")]
    assert ollama == ["slow1", "Slow2", "Slow10"]
    models = [m["name"] for m in cli.json("model", "list", "--json")]
    assert models[:3] == ["m1", "M2", "m10"]
    assert [a["name"] for a in cli.json("agent", "list", "--json")] == ["bot2", "bot10"]


def test_update_provider_change_refused_while_attached_unless_detach_all(cli, setup):
    cli("model", "add", "m", "--provider", "openai", "--attach", "Work", "--attach", "Backup")
    refused = cli("model", "update", "m", "--provider", "anthropic")
    assert refused.exit_code == 4
    assert refused.stderr.startswith("Error: model m has 2 openai connection(s) attached")
    result = cli("model", "update", "m", "--provider", "anthropic", "--detach-all")
    assert result.exit_code == 0
    assert result.stderr == ("Detached: openai/api_key/Work, openai/api_key/Backup.\n"
                             "Updated model m.\n")
    doc = cli.json("model", "show", "m", "--json")
    assert (doc["provider"], doc["connections"]) == ("anthropic", [])
    assert cli("model", "attach", "m", "Claude").exit_code == 0


@pytest.mark.parametrize(("args", "code"), [
    ([], 2), (["--enable", "--disable"], 2), (["--detach-all"], 2), (["--provider", "nope"], 2),
    (["--upstream", "bad\x07id"], 2),
])
def test_update_rejections(cli, setup, args, code):
    cli("model", "add", "m", "--provider", "openai")
    result = cli("model", "update", "m", *args)
    assert result.exit_code == code
    assert result.stderr.startswith("Error: ")


def test_update_unknown_model_is_exit_3(cli, setup):
    assert cli("model", "update", "nope", "--enable").exit_code == 3


def test_remove(cli, setup):
    cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work")
    doc = cli.json("model", "remove", "gpt-4o", "--json")
    assert doc["name"] == "gpt-4o" and len(doc["connections"]) == 1
    assert cli.json("model", "list", "--json") == []
    assert cli.json("providers", "show", "Work", "--json")["attachments"] == []
    assert cli("model", "remove", "gpt-4o").exit_code == 3


def test_providers_show_lists_attachments_and_counts(cli, setup):
    cli("model", "add", "a", "--provider", "openai", "--attach", "Backup", "--attach", "Work")
    cli("model", "add", "b", "--provider", "openai", "--attach", "Work")
    shown = cli.json("providers", "show", "Work", "--json")
    assert shown["attachments"] == [{"model": "a", "priority": 2}, {"model": "b", "priority": 1}]
    assert shown["attached_models"] == 2


def test_providers_remove_refused_while_attached(cli, setup):
    cli("model", "add", "a", "--provider", "openai", "--attach", "Backup", "--attach", "Work")
    result = cli("providers", "remove", "Work")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == "Error: openai/api_key/Work is attached to a (priority 2)"


def test_providers_remove_force_detaches_and_reports_empty_models(cli, setup, keystore):
    cli("model", "add", "a", "--provider", "openai", "--attach", "Work", "--attach", "Backup")
    cli("model", "add", "b", "--provider", "openai", "--attach", "Work")
    result = cli("providers", "remove", "Work", "--force", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert (doc["detached_from"], doc["models_without_connections"]) == (["a", "b"], ["b"])
    a = cli.json("model", "show", "a", "--json")
    assert [(c["priority"], c["label"]) for c in a["connections"]] == [(1, "Backup")]
    assert setup["Work"]["id"] not in keystore.secrets


@pytest.mark.parametrize("path", [
    ["model"], ["model", "add"], ["model", "list"], ["model", "show"], ["model", "attach"],
    ["model", "detach"], ["model", "reorder"], ["model", "update"], ["model", "remove"], ["resolve"],
])
def test_every_model_command_has_help_with_an_example(cli, path):
    result = cli(*path, "--help")
    assert result.exit_code == 0
    if path != ["model"]:
        assert "Example" in result.stdout, path
