"""`provctl migrate-lift` through the CLI: report shapes, exit codes, --check, --output, undo."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.legacy import Legacy, dump


@pytest.fixture
def world(db_path):
    w = Legacy(db_path)
    yield w
    w.close()


@pytest.fixture
def two_defaults(world):
    a = world.row("alice", "bot-a", "openai", "Default")
    b = world.row("alice", "bot-b", "openai", "Default", display="Bot B")
    keep = world.row("alice", "bot-b", "anthropic", "Solo")
    return a, b, keep


def test_dry_run_json_is_the_documented_document_and_changes_nothing(cli, db_path, two_defaults):
    a, b, keep = two_defaults
    before = dump(db_path)
    doc = cli.json("migrate-lift", "--dry-run", "--json")
    assert doc == {
        "dry_run": True, "run_id": None, "backup": None,
        "rows": [
            {"id": keep, "user": "alice", "agent": "bot-b", "provider": "anthropic", "auth_type": "api_key",
             "old_label": "Solo", "new_label": "Solo", "action": "keep", "merged_into": None},
            {"id": a, "user": "alice", "agent": "bot-a", "provider": "openai", "auth_type": "api_key",
             "old_label": "Default", "new_label": "bot-a", "action": "relabel", "merged_into": None},
            {"id": b, "user": "alice", "agent": "bot-b", "provider": "openai", "auth_type": "api_key",
             "old_label": "Default", "new_label": "Bot B", "action": "relabel", "merged_into": None},
        ],
        "summary": {"lifted": 3, "relabelled": 2, "merged": 0, "kept": 1},
        "mergeable": [],
    }
    assert cli.json("migrate-lift", "--dry-run", "--format", "json") == doc
    assert dump(db_path) == before


def test_apply_prints_the_same_report_with_run_and_backup_then_a_second_run_finds_nothing(cli, db_path, two_defaults):
    dry = cli.json("migrate-lift", "--dry-run", "--json")
    applied = cli.json("migrate-lift", "--json")
    assert applied["rows"] == dry["rows"] and applied["summary"] == dry["summary"]
    assert applied["dry_run"] is False and applied["run_id"]
    assert applied["backup"] == f"{db_path}.bak-lift-{applied['run_id']}" and os.path.exists(applied["backup"])
    listed = {c["id"]: (c["label"], c["agent"]) for c in cli.json("providers", "list", "--json")}
    assert {r["id"]: (r["new_label"], None) for r in dry["rows"]} == listed
    again = cli.json("migrate-lift", "--json")
    assert again == {"dry_run": False, "run_id": None, "backup": None, "rows": [],
                     "summary": {"lifted": 0, "relabelled": 0, "merged": 0, "kept": 0}, "mergeable": []}


def test_table_report_names_the_run_and_the_backup(cli, two_defaults):
    result = cli("migrate-lift")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Lift report (applied)"
    assert lines[1].split() == ["USER", "AGENT", "PROVIDER", "AUTH", "TYPE", "OLD", "LABEL", "NEW", "LABEL",
                                "ACTION", "MERGED", "INTO"]
    assert lines[3].split() == ["alice", "bot-a", "openai", "api_key", "Default", "bot-a", "relabel"]
    assert "Lifted 3: 2 relabelled, 0 merged, 1 kept." in lines
    assert any(line.startswith("Run: ") and "--undo" in line for line in lines)
    assert any(line.startswith("Backup: ") and ".bak-lift-" in line for line in lines)
    # no progress bar when stderr is not a terminal; the run id and backup are repeated there
    run_id = next(line for line in lines if line.startswith("Run: ")).split()[1]
    assert result.stderr.splitlines() == [
        f"Lifted 3 connection(s) in run {run_id} (backup: {cli.ctx.db_path}.bak-lift-{run_id}; "
        f"undo with `provctl migrate-lift --undo {run_id}`)."]


def test_nothing_pending_still_prints_a_report(cli):
    result = cli("migrate-lift", "--dry-run")
    assert result.exit_code == 0
    assert "Nothing to lift" in result.stdout
    assert "Would lift 0: 0 would be relabelled, 0 merged, 0 would keep their labels." in result.stdout


def test_markdown_report_has_a_heading_a_summary_and_an_escaped_table(cli, world):
    world.row("alice", "bot|a", "openai", "Default")
    world.row("alice", "bot_b", "openai", "Default")
    result = cli("migrate-lift", "--dry-run", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("## provctl migrate-lift (dry run)\n\n**2 legacy connection(s) would be lifted** "
                           "(nothing was changed): 2 would be relabelled, 0 merged, 0 would keep their labels.")
    assert "| User | Agent | Provider | Auth type | Old label | New label | Action | Merged into |" in text
    assert "| alice | bot\\|a | openai | api\\_key | Default | bot\\|a | would relabel |  |" in text


def test_check_exits_4_while_anything_is_pending_and_0_after(cli, two_defaults, db_path):
    before = dump(db_path)
    pending = cli("migrate-lift", "--check")  # --check implies --dry-run
    assert pending.exit_code == 4
    assert "Error: 3 legacy connection(s) await a lift" in pending.stderr
    assert "Would lift 3: 2 would be relabelled, 0 merged, 1 would keep their labels." in pending.stdout
    assert dump(db_path) == before
    cli.json("migrate-lift", "--json")
    assert cli("migrate-lift", "--dry-run", "--check").exit_code == 0


def test_output_writes_the_report_to_a_file(cli, two_defaults, tmp_path):
    target = tmp_path / "report.md"
    result = cli("migrate-lift", "--dry-run", "--format", "markdown", "--output", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text().startswith("## provctl migrate-lift (dry run)")
    assert f"report written to {target}" in result.stderr


def test_an_unwritable_output_is_refused_before_the_lift(cli, two_defaults, db_path, tmp_path):
    before = dump(db_path)
    result = cli("migrate-lift", "--output", str(tmp_path / "no" / "such" / "dir" / "r.txt"))
    assert result.exit_code == 2 and result.stderr.startswith("Error: cannot write")
    assert dump(db_path) == before


@pytest.mark.parametrize("args", [
    ["--json", "--format", "table"],
    ["--format", "yaml"],
    ["--undo", "12345678", "--dry-run"],
    ["--undo", "12345678", "--all-users"],
    ["--undo", "12345678", "--merge-identical"],
])
def test_contradictory_options_are_usage_errors(cli, args):
    result = cli("migrate-lift", *args)
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")


def test_all_users_lifts_every_users_rows(cli, world):
    world.row("alice", "bot-a", "openai", "Default")
    world.row("bob", "bot-b", "openai", "Default")
    assert [r["user"] for r in cli.json("migrate-lift", "--dry-run", "--json")["rows"]] == ["alice"]
    assert [r["user"] for r in cli.json("migrate-lift", "--dry-run", "--json", "--all-users")["rows"]] == ["alice", "bob"]


def test_merge_identical_report_shows_merge_and_target(cli, world):
    target = world.row("alice", None, "openai", "Work", fp="k")
    merged = world.row("alice", "bot-a", "openai", "Default", fp="k")
    row = cli.json("migrate-lift", "--dry-run", "--json", "--merge-identical")["rows"][0]
    assert (row["id"], row["action"], row["merged_into"], row["new_label"]) == (merged, "merge", target, "Work")
    table = cli("migrate-lift", "--dry-run", "--merge-identical").stdout
    assert table.splitlines()[2].split()[-2:] == ["merge", target[:8]]


def test_undo_through_the_cli(cli, world, db_path):
    a = world.row("alice", "bot-a", "openai", "Default")
    world.row("alice", "bot-b", "openai", "Default")
    before = dump(db_path, skip_lift_tables=True)
    run = cli.json("migrate-lift", "--json")["run_id"]
    undone = cli.json("migrate-lift", "--undo", run[:8], "--json")
    assert undone["run_id"] == run and undone["summary"] == {"restored": 2, "merged_restored": 0, "models_restored": 0}
    assert undone["rows"][0] == {"id": a, "user": "alice", "agent": "bot-a", "provider": "openai",
                                 "auth_type": "api_key", "label": "Default", "lifted_label": "bot-a",
                                 "action": "relabel"}
    assert dump(db_path, skip_lift_tables=True) == before
    twice = cli("migrate-lift", "--undo", run)
    assert twice.exit_code == 4 and "already undone" in twice.stderr
    unknown = cli("migrate-lift", "--undo", "ffffffff-0000")
    assert unknown.exit_code == 3 and unknown.stderr.startswith("Error: no lift run")


def test_undo_refusal_names_the_row_and_exits_4(cli, world):
    a = world.row("alice", "bot-a", "openai", "Default")
    world.row("alice", "bot-b", "openai", "Default")
    run = cli.json("migrate-lift", "--json")["run_id"]
    assert cli("providers", "rename", a[:8], "Renamed").exit_code == 0
    refused = cli("migrate-lift", "--undo", run)
    assert refused.exit_code == 4
    assert f"openai/api_key/Renamed [{a[:8]}]: it was renamed since the lift (from 'bot-a')" in refused.stderr


def test_legacy_rows_are_never_selected_by_resolve_until_lifted(cli, world, environ):
    environ["K"] = "sk-from-env-000000000000"
    world.row("alice", "bot-a", "openai", "Default", key_env="K")
    assert cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/Default").exit_code == 0
    before = cli("resolve", "gpt-4o", "--json")
    assert before.exit_code == 5 and json.loads(before.stdout)["candidates"][0]["reason"] == "legacy"
    cli.json("migrate-lift", "--json")
    after = cli("resolve", "gpt-4o", "--json")
    assert after.exit_code == 0 and json.loads(after.stdout)["selected"]["label"] == "Default"


def test_help_has_an_example(cli):
    result = cli("migrate-lift", "--help")
    assert result.exit_code == 0 and "provctl migrate-lift --dry-run" in result.stdout


def test_every_report_names_the_rows_merge_identical_would_merge(cli, world):
    kept = world.row("alice", None, "openai", "Team", fp="same-key")
    twin = world.row("alice", "bot-a", "openai", "Default", fp="same-key")
    dry = cli.json("migrate-lift", "--dry-run", "--json")
    assert [(r["id"], r["action"], r["merged_into"], r["new_label"]) for r in dry["mergeable"]] == [
        (twin, "merge", kept, "Team")]
    assert [r["action"] for r in dry["rows"]] == ["keep"]  # without the flag nothing merges
    table = cli("migrate-lift", "--dry-run").stdout
    assert ("1 legacy connection(s) hold the same key (provider, auth type and base URL) as another "
            "connection; `--merge-identical` would merge them:") in table
    assert table.splitlines()[-1].split() == ["alice", "bot-a", "openai", "api_key", "Default", "Team",
                                              f"[{kept[:8]}]"]
    markdown = cli("migrate-lift", "--dry-run", "--format", "markdown").stdout
    assert "### Would merge with `--merge-identical`" in markdown
    merged = cli.json("migrate-lift", "--dry-run", "--merge-identical", "--json")
    assert merged["mergeable"] == [] and [r["action"] for r in merged["rows"]] == ["merge"]
