"""The lift service (SPEC §6 migrate-lift, §8) on a tmp SQLite: the plan applied with SQL.

The planner's own rule table is in test_lift_rules.py. Here each case goes through the whole
service: the dry-run report, then the apply, whose labels must be exactly what the dry run
reported; then undo, merges with attachments, refusals and the run record.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from provctl.errors import Conflict, NotFound, UsageError
from provctl.services import lift
from tests.support.legacy import Legacy, dump

L62 = "L" * 62


@pytest.fixture
def world(db_path):
    w = Legacy(db_path)
    yield w
    w.close()


def _report(app_ctx, **kw):
    return {r.id: (r.new_label, r.action) for r in lift.lift(app_ctx, dry_run=True, **kw).rows}


# Each case: rows as (name, user, agent, provider, auth, label, display); the expected new
# label and action per legacy row name. User-level rows (agent None) must never change.
CASES = {
    "two Defaults from two agents": (
        [("a", "alice", "bot-a", "openai", "api_key", "Default", None),
         ("b", "alice", "bot-b", "openai", "api_key", "Default", None)],
        {"a": ("bot-a", "relabel"), "b": ("bot-b", "relabel")},
    ),
    "custom labels": (
        [("a", "alice", "bot-a", "openai", "api_key", "Work", None),
         ("b", "alice", "bot-b", "openai", "api_key", "Work", None)],
        {"a": ("Work - bot-a", "relabel"), "b": ("Work - bot-b", "relabel")},
    ),
    "case variants prod/Prod": (
        [("a", "alice", "bot-a", "openai", "api_key", "prod", None),
         ("b", "alice", "bot-b", "openai", "api_key", "Prod", None)],
        {"a": ("prod - bot-a", "relabel"), "b": ("Prod - bot-b", "relabel")},
    ),
    "a user-level row keeps its label; a lone legacy row keeps its own": (
        [("u", "alice", None, "openai", "api_key", "Default", None),
         ("a", "alice", "bot-a", "openai", "api_key", "DEFAULT", None),
         ("s", "alice", "bot-a", "anthropic", "api_key", "Solo", None)],
        {"a": ("bot-a", "relabel"), "s": ("Solo", "keep")},
    ),
    "suffix chain when Work and Work (2) are taken": (
        [("u1", "alice", None, "openai", "api_key", "Default", None),
         ("u2", "alice", None, "openai", "api_key", "Work", None),
         ("u3", "alice", None, "openai", "api_key", "work (2)", None),
         ("a", "alice", "w", "openai", "api_key", "Default", " Work ")],
        {"a": ("Work (3)", "relabel")},
    ),
    "same display name on two agents": (
        [("a", "alice", "support-1", "openai", "api_key", "Default", "Support Bot"),
         ("b", "alice", "support-2", "openai", "api_key", "Default", "Support Bot")],
        {"a": ("Support Bot", "relabel"), "b": ("Support Bot (2)", "relabel")},
    ),
    "an agent with only an id": (
        [("a", "alice", "   ", "openai", "api_key", "Default", "  "),
         ("b", "alice", "bot-b", "openai", "api_key", "Default", None)],
        {"a": ("<agent id>", "relabel"), "b": ("bot-b", "relabel")},
    ),
    "over-long labels are cut to 64, then suffixed": (
        [("a", "alice", "a", "openai", "api_key", L62, None),
         ("b", "alice", "b", "openai", "api_key", L62, None)],
        {"a": (L62 + " -", "relabel"), "b": ("L" * 60 + " (2)", "relabel")},
    ),
    "other auth types and other users are untouched": (
        [("a", "alice", "bot-a", "openai", "api_key", "Default", None),
         ("s", "alice", "bot-b", "openai", "subscription", "Default", None),
         ("x", "bob", "bot-x", "openai", "api_key", "Default", None),
         ("y", "bob", "bot-y", "openai", "api_key", "Default", None)],
        {"a": ("Default", "keep"), "s": ("Default", "keep")},
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_relabel_rules_dry_run_then_apply_gives_exactly_the_reported_labels(app_ctx, world, db_path, case):
    rows, expected = CASES[case]
    ids = {}
    for name, user, agent, provider, auth, label, display in rows:
        ids[name] = world.row(user, agent, provider, label, auth=auth, display=display)
    if "<agent id>" in str(expected):
        aid = world.labels()[ids["a"]][0]
        expected = {**expected, "a": (aid, "relabel")}
    before = world.labels()

    dry = lift.lift(app_ctx, dry_run=True)
    reported = {r.id: (r.new_label, r.action) for r in dry.rows}
    assert reported == {ids[n]: want for n, want in expected.items()}
    assert dump(db_path) == dump(db_path)  # (sanity) and the dry run wrote nothing:
    assert world.labels() == before

    applied = lift.lift(app_ctx)
    assert [r._asdict() for r in applied.rows] == [r._asdict() for r in dry.rows]
    after = world.labels()
    for cid, (new_label, action) in reported.items():
        assert after[cid] == (None, new_label)
    for name, user, agent, *_ in rows:  # user-level rows and other users' rows never change
        if agent is None or user != "alice":
            assert after[ids[name]] == before[ids[name]]


def test_dry_run_leaves_the_dump_identical(app_ctx, world, db_path):
    world.row("alice", "bot-a", "openai", "Default", fp="f1")
    world.row("alice", "bot-b", "openai", "Default", fp="f1")
    before = dump(db_path)
    report = lift.lift(app_ctx, dry_run=True, merge_identical=True, all_users=True)
    assert report.summary == {"lifted": 2, "relabelled": 0, "merged": 1, "kept": 1}
    assert dump(db_path) == before
    assert not [p for p in os.listdir(db_path.parent) if ".bak-lift-" in p]


def test_apply_writes_a_private_backup_first_and_records_the_run(app_ctx, world, db_path):
    a = world.row("alice", "bot-a", "openai", "Default")
    world.row("alice", "bot-b", "openai", "Default")
    before = dump(db_path)
    report = lift.lift(app_ctx)
    assert report.run_id and report.backup == f"{db_path}.bak-lift-{report.run_id}"
    assert stat.S_IMODE(os.stat(report.backup).st_mode) == 0o600
    assert dump(report.backup) == before  # the state before the lift
    runs = world.sql("SELECT id, all_users, merge_identical, backup, undone_at FROM lift_runs")
    assert runs == [(report.run_id, 0, 0, report.backup, None)]
    recorded = world.sql("SELECT connection_id, action, former_agent_id, former_label, new_label "
                         "FROM lift_run_rows ORDER BY position")
    assert recorded[0] == (a, "relabel", world.agents[("alice", "bot-a")], "Default", "bot-a")
    assert len(recorded) == 2


def test_a_second_run_lifts_nothing_writes_no_backup_and_records_no_run(app_ctx, world, db_path):
    world.row("alice", "bot-a", "openai", "Default")
    lift.lift(app_ctx)
    again = lift.lift(app_ctx)
    assert (again.run_id, again.backup, again.rows) == (None, None, [])
    assert again.summary == {"lifted": 0, "relabelled": 0, "merged": 0, "kept": 0}
    assert world.sql("SELECT count(*) FROM lift_runs") == [(1,)]
    assert len([p for p in os.listdir(db_path.parent) if ".bak-lift-" in p]) == 1


def test_without_all_users_only_the_current_users_rows_are_lifted(app_ctx, world):
    mine = world.row("alice", "bot-a", "openai", "Default")
    theirs = world.row("bob", "bot-b", "openai", "Default")
    assert set(_report(app_ctx)) == {mine}
    assert set(_report(app_ctx, all_users=True)) == {mine, theirs}
    report = lift.lift(app_ctx, all_users=True)
    assert {r.user for r in report.rows} == {"alice", "bob"}
    assert world.sql("SELECT count(*) FROM connections WHERE agent_id IS NOT NULL") == [(0,)]


def test_report_rows_name_user_and_agent_and_are_sorted_by_user(app_ctx, world):
    world.row("zed", "z-bot", "openai", "Default")
    world.row("alice", "a-bot", "openai", "Default", display="Shown Name")
    rows = lift.lift(app_ctx, dry_run=True, all_users=True).rows
    assert [(r.user, r.agent, r.new_label) for r in rows] == [
        ("alice", "a-bot", "Default"), ("zed", "z-bot", "Default")]


# ---------------------------------------------------------------- merges


def test_merge_moves_attachments_drops_duplicates_and_undo_restores_exactly(app_ctx, world, db_path):
    user_level = world.row("alice", None, "openai", "Work", fp="shared")
    a = world.row("alice", "bot-a", "openai", "Default", fp="shared")  # merges into Work
    b = world.row("alice", "bot-b", "openai", "Default", fp="other")  # oldest of "other"
    c = world.row("alice", "bot-c", "openai", "Default", fp="other")  # merges into b
    d = world.row("alice", "bot-d", "openai", "Keyless")  # no key: never merges
    world.discovered(a, "gpt-4o", "gpt-4o-mini")
    moved = world.model("alice", "fast", [d, a])  # a's place goes to Work
    dropped = world.model("alice", "smart", [user_level, c, b])  # lists b already: c is dropped
    before = dump(db_path)

    report = lift.lift(app_ctx, merge_identical=True)
    by_id = {r.id: r for r in report.rows}
    assert (by_id[a].action, by_id[a].merged_into, by_id[a].new_label) == ("merge", user_level, "Work")
    assert (by_id[c].action, by_id[c].merged_into, by_id[c].new_label) == ("merge", b, by_id[b].new_label)
    assert by_id[b].action == "keep" and by_id[d].action == "keep"  # no collision left after merges
    assert report.summary == {"lifted": 4, "relabelled": 0, "merged": 2, "kept": 2}
    present = world.labels()
    assert a not in present and c not in present  # merged rows are gone ...
    assert world.attachments(moved) == [d, user_level]
    assert world.attachments(dropped) == [user_level, b]  # gap closed
    snapshot = json.loads(world.sql("SELECT snapshot FROM lift_run_rows WHERE connection_id = ?", (a,))[0][0])
    assert snapshot["label"] == "Default" and snapshot["discovered_models"]

    undone = lift.undo(app_ctx, report.run_id)
    assert undone.summary == {"restored": 4, "merged_restored": 2, "models_restored": 2}
    assert dump(db_path, skip_lift_tables=True) == [
        line for line in before if "lift_run" not in line]  # rows, rowids, lists: all back


def test_merge_target_is_the_user_level_row_even_when_disabled(app_ctx, world):
    target = world.row("alice", None, "openai", "Off", fp="k", enabled=False)
    older_legacy = world.row("alice", "bot-a", "openai", "Default", fp="k")
    newer = world.row("alice", "bot-b", "openai", "Other", fp="k")
    report = _report(app_ctx, merge_identical=True)
    assert report[older_legacy] == ("Off", "merge") and report[newer] == ("Off", "merge")
    assert lift.lift(app_ctx, dry_run=True, merge_identical=True).rows[0].merged_into == target


def test_merge_compares_effective_base_urls(app_ctx, world):
    world.row("alice", None, "openai", "Work", fp="k", base_url=None)
    same = world.row("alice", "bot-a", "openai", "Default", fp="k", base_url=None)
    elsewhere = world.row("alice", "bot-b", "openai", "Proxy", fp="k", base_url="https://proxy.example/v1")
    report = _report(app_ctx, merge_identical=True)
    assert report[same][1] == "merge" and report[elsewhere] == ("Proxy", "keep")


def test_without_merge_identical_rows_sharing_a_key_are_relabelled_not_merged(app_ctx, world):
    a = world.row("alice", "bot-a", "openai", "Default", fp="k")
    b = world.row("alice", "bot-b", "openai", "Default", fp="k")
    assert _report(app_ctx) == {a: ("bot-a", "relabel"), b: ("bot-b", "relabel")}


# ---------------------------------------------------------------- undo


def _lifted(app_ctx, world):
    a = world.row("alice", "bot-a", "openai", "Default")
    b = world.row("alice", "bot-b", "openai", "Default")
    report = lift.lift(app_ctx)
    return a, b, report.run_id


def test_undo_restores_agents_and_labels_and_marks_the_run(app_ctx, world, db_path):
    a = world.row("alice", "bot-a", "openai", "Default")
    world.row("alice", "bot-b", "openai", "Default")
    before = dump(db_path)
    run = lift.lift(app_ctx).run_id
    result = lift.undo(app_ctx, run[:8])
    assert result.run_id == run
    assert [(r.label, r.lifted_label, r.action) for r in result.rows if r.id == a] == [("Default", "bot-a", "relabel")]
    assert dump(db_path, skip_lift_tables=True) == [line for line in before if "lift_run" not in line]
    assert world.sql("SELECT undone_at IS NOT NULL FROM lift_runs") == [(1,)]
    assert lift.lift(app_ctx, dry_run=True).summary["lifted"] == 2  # pending again


def test_undo_twice_is_a_conflict_and_an_unknown_run_is_not_found(app_ctx, world):
    *_, run = _lifted(app_ctx, world)
    lift.undo(app_ctx, run)
    with pytest.raises(Conflict, match="already undone"):
        lift.undo(app_ctx, run)
    with pytest.raises(NotFound):
        lift.undo(app_ctx, "0123456789abcdef")
    with pytest.raises(UsageError):
        lift.undo(app_ctx, "abc")


@pytest.mark.parametrize("change, message", [
    ("UPDATE connections SET label = 'Renamed', label_key = 'renamed' WHERE id = :a", "renamed"),
    ("DELETE FROM connections WHERE id = :a", "removed"),
    ("ATTACH", "attached to or detached"),
])
def test_undo_refuses_naming_the_row_when_a_lifted_row_changed(app_ctx, world, db_path, change, message):
    a, b, run = _lifted(app_ctx, world)
    if change == "ATTACH":
        world.model("alice", "gpt-4o", [a])
    else:
        world.sql(change.replace(":a", "?"), (a,))
    before = dump(db_path)
    with pytest.raises(Conflict) as refused:
        lift.undo(app_ctx, run)
    assert message in refused.value.message and a[:8] in refused.value.message
    assert b[:8] not in refused.value.message
    assert dump(db_path) == before  # nothing changed


def test_undo_refuses_when_a_lifted_row_was_detached(app_ctx, world, db_path):
    a = world.row("alice", "bot-a", "openai", "Default")
    world.model("alice", "gpt-4o", [a])
    run = lift.lift(app_ctx).run_id
    world.sql("DELETE FROM attachments WHERE connection_id = ?", (a,))
    with pytest.raises(Conflict, match="attached to or detached"):
        lift.undo(app_ctx, run)


def test_undo_refuses_when_the_former_agent_was_removed(app_ctx, world):
    a, _b, run = _lifted(app_ctx, world)
    world.sql("DELETE FROM agents WHERE id = ?", (world.agents[("alice", "bot-a")],))
    with pytest.raises(Conflict, match="former agent was removed") as refused:
        lift.undo(app_ctx, run)
    assert a[:8] in refused.value.message


def test_undo_refuses_when_a_merge_changed_list_was_reordered_since(app_ctx, world):
    target = world.row("alice", None, "openai", "Work", fp="k")
    other = world.row("alice", None, "openai", "Other")
    merged = world.row("alice", "bot-a", "openai", "Default", fp="k")
    model = world.model("alice", "gpt-4o", [merged, other])
    run = lift.lift(app_ctx, merge_identical=True).run_id
    assert world.attachments(model) == [target, other]
    world.sql("UPDATE attachments SET priority = priority + 10 WHERE model_id = ?", (model,))
    world.sql("UPDATE attachments SET priority = CASE connection_id WHEN ? THEN 1 ELSE 2 END "
              "WHERE model_id = ?", (other, model))
    with pytest.raises(Conflict, match="priority list changed"):
        lift.undo(app_ctx, run)


def test_undo_refuses_when_an_import_took_the_former_label_since(app_ctx, world):
    a, _b, run = _lifted(app_ctx, world)
    world.row("alice", "bot-a", "openai", "default")  # a new legacy row of bot-a, same label
    with pytest.raises(Conflict, match="former label is now held") as refused:
        lift.undo(app_ctx, run)
    assert a[:8] in refused.value.message


def test_undo_reverts_the_whole_run_for_every_user(app_ctx, world, db_path):
    world.row("alice", "bot-a", "openai", "Default")
    world.row("bob", "bot-b", "openai", "Default")
    world.row("bob", "bot-c", "openai", "Default")
    before = dump(db_path)
    run = lift.lift(app_ctx, all_users=True).run_id
    result = lift.undo(app_ctx, run)
    assert {r.user for r in result.rows} == {"alice", "bob"}
    assert dump(db_path, skip_lift_tables=True) == [line for line in before if "lift_run" not in line]


def test_a_failed_apply_changes_nothing_and_removes_its_backup(app_ctx, world, db_path, monkeypatch):
    world.row("alice", "bot-a", "openai", "Default")
    world.row("alice", "bot-b", "openai", "Default")
    before = dump(db_path)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lift, "_apply", boom)
    with pytest.raises(RuntimeError):
        lift.lift(app_ctx)
    assert dump(db_path) == before
    assert not [p for p in os.listdir(db_path.parent) if ".bak-lift-" in p]


def test_progress_is_reported_by_phase(app_ctx, world):
    world.row("alice", "bot-a", "openai", "Default")
    seen = []
    lift.lift(app_ctx, progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert seen[:3] == [("load", 0, 1), ("load", 1, 1), ("plan", 1, 1)] and seen[-1] == ("write", 1, 1)


# ---------------------------------------------------------------- agents and access (SPEC §10)


def _listed(world, user, agent):
    world.sql("UPDATE agents SET access = 'listed' WHERE id = ?", (world.agents[(user, agent)],))
    return world.agents[(user, agent)]


def _grants(world):
    return sorted(world.sql("SELECT agent_id, connection_id FROM agent_grants"))


def test_the_lift_grants_each_lifted_row_to_its_former_agent_when_that_agent_is_listed(app_ctx, world):
    a = world.row("alice", "bot-a", "openai", "Default")
    b = world.row("alice", "bot-b", "openai", "Default")  # bot-b keeps `all`: no grant needed
    s = world.row("alice", "bot-a", "anthropic", "Solo")  # kept: granted too
    listed = _listed(world, "alice", "bot-a")
    before = dump_of(world)

    report = lift.lift(app_ctx)
    assert _grants(world) == sorted([(listed, a), (listed, s)])
    assert sorted(world.sql("SELECT connection_id, granted FROM lift_run_rows")) == sorted(
        [(a, a), (b, None), (s, s)])

    lift.undo(app_ctx, report.run_id)
    assert _grants(world) == []  # exactly those grants, revoked
    assert dump_of(world) == before


def test_a_merged_rows_agent_is_granted_the_target_unless_it_already_holds_it(app_ctx, world):
    team = world.row("alice", None, "openai", "Team", fp="shared")
    mine = world.row("alice", "bot-a", "openai", "Default", fp="shared")  # merges into Team
    theirs = world.row("alice", "bot-b", "openai", "Default", fp="shared")  # merges into Team
    a, b = _listed(world, "alice", "bot-a"), _listed(world, "alice", "bot-b")
    world.sql("INSERT INTO agent_grants (agent_id, connection_id, created_at) VALUES (?, ?, 'T')", (b, team))

    report = lift.lift(app_ctx, merge_identical=True)
    assert {r.id: r.action for r in report.rows} == {mine: "merge", theirs: "merge"}
    assert _grants(world) == sorted([(a, team), (b, team)])
    assert dict(world.sql("SELECT connection_id, granted FROM lift_run_rows")) == {mine: team, theirs: None}

    lift.undo(app_ctx, report.run_id)
    assert _grants(world) == [(b, team)]  # the grant bot-b held before the lift stays


def test_undo_is_refused_when_a_lifted_row_was_granted_since(app_ctx, world, db_path):
    a = world.row("alice", "bot-a", "openai", "Default")
    report = lift.lift(app_ctx)
    other = world.agent("alice", "helper")
    world.sql("INSERT INTO agent_grants (agent_id, connection_id, created_at) VALUES (?, ?, 'T')", (other, a))
    before = dump(db_path)
    with pytest.raises(Conflict) as info:
        lift.undo(app_ctx, report.run_id)
    assert f"openai/api_key/Default [{a[:8]}]: it was granted to agent helper since the lift" in info.value.message
    assert "revoke the grants made since" in info.value.hint
    assert dump(db_path) == before  # nothing changed
    world.sql("DELETE FROM agent_grants")
    assert lift.undo(app_ctx, report.run_id).summary["restored"] == 1


def test_undo_goes_ahead_when_the_lifts_own_grant_was_revoked_since(app_ctx, world):
    a = world.row("alice", "bot-a", "openai", "Default")
    _listed(world, "alice", "bot-a")
    report = lift.lift(app_ctx)
    world.sql("DELETE FROM agent_grants WHERE connection_id = ?", (a,))
    lift.undo(app_ctx, report.run_id)
    assert world.labels()[a] == (world.agents[("alice", "bot-a")], "Default")


def dump_of(world):
    return dump(world.db_path, skip_lift_tables=True)
