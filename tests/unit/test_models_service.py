"""The models service (SPEC §6 model, providers remove with attachments) on a tmp SQLite."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from provctl.domain import timeutil
from provctl.errors import Conflict, NotFound, UsageError
from provctl.services import connections, models
from provctl.services.connections import Credentials

from tests.support.rows import NOW
from tests.support.checks import sql


def key_for(label, provider="openai"):
    """A distinct key per connection."""
    return f"sk-{provider}-{label}-" + "x" * 20


def order(ctx, name):
    return [(c.priority, c.label) for c in models.show(ctx, name).connections]


def attachments(db_path):
    return sql(db_path, "SELECT m.name, c.label, t.priority FROM attachments t JOIN models m ON m.id = t.model_id "
                        "JOIN connections c ON c.id = t.connection_id ORDER BY m.name, t.priority")


# ---------------------------------------------------------------- add


def test_add_with_attach_keeps_the_given_order(app_ctx, connected):
    for label in ("A", "B", "C"):
        connected("openai", label, key=key_for(label))
    change = models.add(app_ctx, "gpt-4o", provider="openai", attach=["openai/C", "A", "openai/api_key/B"])
    assert [(c.priority, c.label) for c in change.model.connections] == [(1, "C"), (2, "A"), (3, "B")]
    assert change.auto_attach is False and change.warnings == ()


def test_add_without_attach_takes_the_oldest_usable_connection(app_ctx, db_path, connected):
    connected("openai", "Old", key=key_for("Old"))
    connected("openai", "Newer", key=key_for("Newer"))
    change = models.add(app_ctx, "gpt-4o", provider="openai")
    assert change.auto_attach and change.auto_attached.label == "Old"
    assert order(app_ctx, "gpt-4o") == [(1, "Old")]


def test_auto_attach_never_takes_a_disabled_keyless_expired_or_legacy_connection(app_ctx, db_path, connected):
    disabled = connected("openai", "Disabled", key=key_for("Disabled")).connection
    connections.set_enabled(app_ctx, disabled.id, False)
    connected("openai", "Keyless", key_env="UNSET_VARIABLE")
    past = timeutil.stamp(NOW - timedelta(days=1))
    connections.connect(app_ctx, "openai", label="Expired", auth="subscription",
                        creds=Credentials(key="sk-sub-" + "e" * 20, expires_at=past))
    legacy = connected("openai", "Legacy", key=key_for("Legacy")).connection
    sql(db_path, "INSERT INTO agents (id, user_id, name, name_key, created_at) "
                 "SELECT 'ag1', user_id, 'bot', 'bot', created_at FROM connections WHERE id = ?", (legacy.id,))
    sql(db_path, "UPDATE connections SET agent_id = 'ag1' WHERE id = ?", (legacy.id,))
    connected("openai", "Good", key=key_for("Good"))
    # all created at the same instant (fixed clock): "oldest" falls back to insertion order
    change = models.add(app_ctx, "gpt-4o", provider="openai")
    assert change.auto_attached.label == "Good"


def test_auto_attach_prefers_the_earliest_created_at(app_ctx, db_path, connected):
    connected("openai", "First", key=key_for("First"))
    connected("openai", "Second", key=key_for("Second"))
    sql(db_path, "UPDATE connections SET created_at = '2020-01-01T00:00:00.000000Z' WHERE label = 'Second'")
    assert models.add(app_ctx, "m", provider="openai").auto_attached.label == "Second"


def test_auto_attach_uses_env_keys_present_now(app_ctx, environ, connected):
    connected("openai", "CI", key_env="CI_KEY")
    assert models.add(app_ctx, "a", provider="openai").auto_attached is None
    environ["CI_KEY"] = "sk-ci"
    assert models.add(app_ctx, "b", provider="openai").auto_attached.label == "CI"


def test_add_with_no_usable_connection_attaches_none(app_ctx, connected):
    connected("anthropic", "Claude", key=key_for("Claude", "anthropic"))
    change = models.add(app_ctx, "gpt-4o", provider="openai")
    assert change.auto_attach and change.auto_attached is None and change.model.connections == ()


def test_add_rejects_a_duplicate_name_folded(app_ctx):
    models.add(app_ctx, "Straße", provider="openai")
    with pytest.raises(Conflict):
        models.add(app_ctx, "STRASSE", provider="anthropic")


def test_add_rejects_cross_family_and_repeated_attach(app_ctx, db_path, connected):
    connected("openai", "Work", key=key_for("Work"))
    connected("anthropic", "Claude", key=key_for("Claude", "anthropic"))
    with pytest.raises(Conflict, match="cross-family attachment"):
        models.add(app_ctx, "gpt-4o", provider="openai", attach=["openai/Work", "Claude"])
    with pytest.raises(Conflict, match="twice"):
        models.add(app_ctx, "gpt-4o", provider="openai", attach=["Work", "openai/api_key/Work"])
    assert sql(db_path, "SELECT count(*) FROM models") == [(0,)]


def test_add_rejects_unknown_provider_and_bad_names(app_ctx):
    with pytest.raises(UsageError, match="unknown provider"):
        models.add(app_ctx, "x", provider="nope")
    with pytest.raises(UsageError):
        models.add(app_ctx, "  ", provider="openai")
    with pytest.raises(UsageError):
        models.add(app_ctx, "bad\u202ename", provider="openai")
    with pytest.raises(UsageError):
        models.add(app_ctx, "x", provider="openai", upstream="gpt\x00")


def test_add_unknown_reference_is_not_found(app_ctx):
    with pytest.raises(NotFound):
        models.add(app_ctx, "gpt-4o", provider="openai", attach=["nope"])


def test_default_moves_in_one_transaction(app_ctx, db_path):
    models.add(app_ctx, "a", provider="openai", default=True)
    models.add(app_ctx, "b", provider="openai", default=True)
    assert sql(db_path, "SELECT name FROM models WHERE is_default = 1") == [("b",)]
    models.update(app_ctx, "a", default=True)
    assert sql(db_path, "SELECT name FROM models WHERE is_default = 1") == [("a",)]


def test_upstream_defaults_to_the_name(app_ctx):
    assert models.add(app_ctx, "fast", provider="openai").model.upstream_model == "fast"
    assert models.add(app_ctx, "cheap", provider="openai", upstream="gpt-4o-mini").model.upstream_model == "gpt-4o-mini"
    assert models.update(app_ctx, "cheap", upstream="").model.upstream_model == "cheap"


# ---------------------------------------------------------------- attach / detach / reorder


@pytest.fixture
def three(app_ctx, connected):
    for label in ("A", "B", "C", "D"):
        connected("openai", label, key=key_for(label))
    models.add(app_ctx, "m", provider="openai", attach=["A", "B", "C"])
    return app_ctx


def test_attach_appends_by_default(three):
    models.attach(three, "m", "D")
    assert order(three, "m") == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]


@pytest.mark.parametrize(("n", "expected"), [
    (1, ["D", "A", "B", "C"]), (2, ["A", "D", "B", "C"]), (4, ["A", "B", "C", "D"]),
])
def test_attach_inserts_and_shifts_the_rest_down(three, n, expected):
    models.attach(three, "m", "D", priority=n)
    assert order(three, "m") == list(enumerate(expected, start=1))


@pytest.mark.parametrize("n", [0, -1, 5, 99])
def test_attach_priority_out_of_range_is_a_usage_error(three, n, db_path):
    with pytest.raises(UsageError, match="out of range"):
        models.attach(three, "m", "D", priority=n)
    assert order(three, "m") == [(1, "A"), (2, "B"), (3, "C")]


def test_attach_twice_is_a_conflict(three):
    with pytest.raises(Conflict, match="already attached"):
        models.attach(three, "m", "B")


def test_attach_cross_family_is_a_conflict(three, connected):
    connected("anthropic", "Claude", key=key_for("Claude", "anthropic"), ctx=three)
    with pytest.raises(Conflict, match="cross-family attachment"):
        models.attach(three, "m", "Claude")


def test_attach_disabled_connection_works_with_a_warning(three):
    connections.set_enabled(three, "D", False)
    change = models.attach(three, "m", "D")
    assert change.target_view.status == "disabled"
    assert len(change.warnings) == 1 and "disabled" in change.warnings[0]


def test_attach_ambiguous_reference_is_a_conflict(three, connected):
    connected("anthropic", "A", key=key_for("A", "anthropic"), ctx=three)
    with pytest.raises(Conflict, match="ambiguous"):
        models.attach(three, "m", "A")


def test_attach_to_unknown_model_is_not_found(three):
    with pytest.raises(NotFound, match="no model named"):
        models.attach(three, "nope", "D")


def test_detach_closes_the_gap(three, db_path):
    models.detach(three, "m", "B")
    assert attachments(db_path) == [("m", "A", 1), ("m", "C", 2)]


def test_detach_of_a_connection_not_attached_is_not_found(three):
    with pytest.raises(NotFound, match="not attached"):
        models.detach(three, "m", "D")


def test_detach_of_the_last_connection_warns(app_ctx, connected):
    connected("openai", "A", key=key_for("A"))
    models.add(app_ctx, "m", provider="openai")
    change = models.detach(app_ctx, "m", "A")
    assert change.model.connections == () and "no connection left" in change.warnings[0]


def test_reorder_sets_the_complete_order(three, db_path):
    models.reorder(three, "m", ["C", "A", "B"])
    assert attachments(db_path) == [("m", "C", 1), ("m", "A", 2), ("m", "B", 3)]


@pytest.mark.parametrize(("new", "problem"), [
    (["C", "A"], "missing openai/api_key/B"),
    (["C", "A", "B", "D"], "not attached openai/api_key/D"),
    (["C", "A", "B", "A"], "repeated openai/api_key/A"),
    (["C", "A", "openai/api_key/a"], "repeated openai/api_key/A"),
])
def test_reorder_rejects_anything_but_a_permutation_and_changes_nothing(three, db_path, new, problem):
    with pytest.raises(Conflict, match=problem):
        models.reorder(three, "m", new)
    assert attachments(db_path) == [("m", "A", 1), ("m", "B", 2), ("m", "C", 3)]


# ---------------------------------------------------------------- update / remove


def test_update_family_change_refused_while_attached(three, db_path):
    with pytest.raises(Conflict, match="cannot stay on a model of provider anthropic"):
        models.update(three, "m", provider="anthropic")
    change = models.update(three, "m", provider="anthropic", detach_all=True)
    assert change.model.provider == "anthropic" and change.model.connections == ()
    assert change.detached == ("openai/api_key/A", "openai/api_key/B", "openai/api_key/C")
    assert attachments(db_path) == []


def test_update_family_change_without_attachments_needs_no_flag(app_ctx):
    models.add(app_ctx, "m", provider="openai")
    assert models.update(app_ctx, "m", provider="anthropic").model.provider == "anthropic"


def test_update_rejections(three):
    with pytest.raises(UsageError, match="nothing to update"):
        models.update(three, "m")
    with pytest.raises(UsageError, match="--detach-all goes with --provider"):
        models.update(three, "m", detach_all=True)
    with pytest.raises(UsageError, match="unknown provider"):
        models.update(three, "m", provider="nope")
    with pytest.raises(NotFound):
        models.update(three, "nope", enabled=False)


def test_update_enable_disable(three):
    assert models.update(three, "m", enabled=False).model.enabled is False
    assert models.list_models(three)[0].would_select is None
    assert models.update(three, "m", enabled=True).model.enabled is True


def test_remove_deletes_the_model_and_its_list_but_not_the_connections(three, db_path):
    removed = models.remove(three, "M")
    assert removed.name == "m" and len(removed.connections) == 3
    assert sql(db_path, "SELECT count(*) FROM models") == [(0,)]
    assert attachments(db_path) == []
    assert sql(db_path, "SELECT count(*) FROM connections") == [(4,)]


# ---------------------------------------------------------------- list / show


def test_list_reports_what_resolve_would_select_by_stored_state(three):
    connections.set_enabled(three, "A", False)
    models.add(three, "empty", provider="anthropic")
    listed = [s.to_dict() for s in models.list_models(three)]
    b = models.show(three, "m").connections[1]
    assert listed == [
        {"name": "empty", "provider": "anthropic", "upstream_model": "empty", "enabled": True,
         "default": False, "connections": 0, "would_select": None, "would_select_id": None},
        {"name": "m", "provider": "openai", "upstream_model": "m", "enabled": True, "default": False,
         "connections": 3, "would_select": "B", "would_select_id": b.id},
    ]


def test_show_badges_come_from_the_usable_predicate(three, db_path):
    connections.set_enabled(three, "A", False)
    sql(db_path, "UPDATE connections SET provider = 'anthropic' WHERE label = 'C'")  # defensive case
    assert [(c.label, c.status) for c in models.show(three, "m").connections] == [
        ("A", "disabled"), ("B", "active"), ("C", "family_mismatch")]


def test_unknown_user_has_no_models(app_ctx):
    assert models.list_models(app_ctx) == []
    with pytest.raises(NotFound):
        models.show(app_ctx, "m")


# ---------------------------------------------------------------- providers remove with attachments


def test_providers_remove_refuses_while_attached_naming_the_models(three):
    models.add(three, "other", provider="openai", attach=["B"])
    with pytest.raises(Conflict, match=r"m \(priority 2\), other \(priority 1\)"):
        connections.remove(three, "B")


def test_providers_remove_force_detaches_everywhere_and_closes_gaps(three, db_path):
    models.add(three, "only-b", provider="openai", attach=["B"])
    result = connections.remove(three, "B", force=True)
    assert result.detached_from == ["m", "only-b"]
    assert result.left_without_connections == ["only-b"]
    assert attachments(db_path) == [("m", "A", 1), ("m", "C", 2)]


def test_deleting_a_connection_row_cascades_to_attachments(three, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("DELETE FROM connections WHERE label = 'B'")
    conn.close()
    assert attachments(db_path) == [("m", "A", 1), ("m", "C", 3)]  # no dangling row
