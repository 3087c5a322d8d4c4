"""Connection references (SPEC §3): every reading at once; none → 3, several → 4."""

from __future__ import annotations

import sqlite3

import pytest

from provctl.domain import labels
from provctl.errors import Conflict, NotFound
from provctl.services import connections

OPENAI_WORK = "0a1b2c3d-0000-4000-8000-000000000001"
OPENAI_SUB_WORK = "0a1b2c3d-1111-4000-8000-000000000002"
ANTHROPIC_WORK = "5e6f7a8b-0000-4000-8000-000000000003"
LEGACY_WORK = "9c9c9c9c-0000-4000-8000-000000000004"
SLASHED = "deadbeef-0000-4000-8000-000000000005"
HEXLABEL = "77777777-0000-4000-8000-000000000006"
BOBS = "abcdef01-0000-4000-8000-000000000007"


@pytest.fixture
def rows(db_path):
    """alice's connections, user-level and legacy, with fixed ids; bob has one too."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u1', 'alice', 'alice', 'T')")
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u2', 'bob', 'bob', 'T')")
    conn.execute(
        "INSERT INTO agents (id, user_id, name, name_key, created_at) VALUES ('a1', 'u1', 'Bot', 'bot', 'T')"
    )
    for cid, user, agent, provider, auth, label in [
        (OPENAI_WORK, "u1", None, "openai", "api_key", "Work"),
        (OPENAI_SUB_WORK, "u1", None, "openai", "subscription", "WORK"),
        (ANTHROPIC_WORK, "u1", None, "anthropic", "api_key", "work"),
        (LEGACY_WORK, "u1", "a1", "openai", "api_key", "Work"),
        (SLASHED, "u1", None, "openai", "api_key", "team/prod"),
        (HEXLABEL, "u1", None, "mistral", "api_key", "cafebabe"),
        (BOBS, "u2", None, "groq", "api_key", "Bobs"),
    ]:
        conn.execute(
            "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
            "enabled, key_stored, key_source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, 'keyring', 'T', 'T')",
            (cid, user, agent, provider, auth, label, labels.fold(label)),
        )
    conn.close()


def pick(ctx, ref: str) -> str:
    return connections.show(ctx, ref).connection.id


@pytest.mark.parametrize(
    "ref, expected",
    [
        (OPENAI_WORK, OPENAI_WORK),  # full id
        (OPENAI_WORK.upper(), OPENAI_WORK),
        ("5e6f7a8b", ANTHROPIC_WORK),  # 8 hex digits
        ("5e6f7a8b-00", ANTHROPIC_WORK),  # a prefix with its dash
        ("5e6f7a8b00", ANTHROPIC_WORK),  # a prefix without dashes, across the dash
        ("0a1b2c3d-0000", OPENAI_WORK),
        ("0a1b2c3d1111", OPENAI_SUB_WORK),
        ("anthropic/Work", ANTHROPIC_WORK),  # PROVIDER/LABEL, folded
        ("anthropic/WORK", ANTHROPIC_WORK),
        ("anthropic/api_key/work", ANTHROPIC_WORK),
        ("openai/subscription/Work", OPENAI_SUB_WORK),  # PROVIDER/AUTH_TYPE/LABEL
        ("openai/api_key/team/prod", SLASHED),  # a label with a slash: the three-part form
        ("team/prod", SLASHED),  # also read as a whole LABEL
        ("  anthropic/Work  ", ANTHROPIC_WORK),
        ("cafebabe", HEXLABEL),  # a label that looks like a (non-matching) id prefix
        ("Ｃａｆｅｂａｂｅ", HEXLABEL),  # NFKC folding of the label
    ],
)
def test_a_reference_that_matches_one_connection_selects_it(app_ctx, rows, ref, expected):
    assert pick(app_ctx, ref) == expected


@pytest.mark.parametrize(
    "ref",
    [
        "Nope",
        "openai/Nope",
        "openai/api_key/Nope",
        "openai/team/prod",  # a slashed label needs the three-part form
        "0a1b2c3",  # 7 hex digits: too short for an id prefix
        "ffffffff",
        BOBS,  # another user's connection is not visible
        "groq/Bobs",
        "ollama/local/Work",
    ],
)
def test_a_reference_that_matches_nothing_is_not_found(app_ctx, rows, ref):
    with pytest.raises(NotFound) as info:
        pick(app_ctx, ref)
    assert info.value.exit_code == 3
    assert info.value.message == f"no connection matches {ref!r}"
    assert "PROVIDER/AUTH_TYPE/LABEL" in info.value.hint


def test_an_ambiguous_label_lists_every_candidate_with_its_id(app_ctx, rows):
    with pytest.raises(Conflict) as info:
        pick(app_ctx, "Work")
    assert info.value.exit_code == 4
    assert info.value.message == (
        "'Work' is ambiguous: it matches "
        "anthropic/api_key/work [5e6f7a8b]; "
        "openai/api_key/Work [0a1b2c3d]; "
        "openai/api_key/Work (agent Bot) [9c9c9c9c]; "
        "openai/subscription/WORK [0a1b2c3d]"
    )
    assert info.value.hint == "use PROVIDER/AUTH_TYPE/LABEL or the id"


def test_the_three_part_form_is_ambiguous_between_a_user_level_and_a_legacy_row(app_ctx, rows):
    with pytest.raises(Conflict) as info:
        pick(app_ctx, "openai/api_key/Work")
    assert info.value.message == (
        "'openai/api_key/Work' is ambiguous: it matches "
        "openai/api_key/Work [0a1b2c3d]; openai/api_key/Work (agent Bot) [9c9c9c9c]"
    )


def test_provider_and_label_spans_auth_types(app_ctx, rows):
    with pytest.raises(Conflict) as info:
        pick(app_ctx, "openai/Work")
    assert "openai/api_key/Work [0a1b2c3d]" in info.value.message
    assert "openai/subscription/WORK [0a1b2c3d]" in info.value.message
    assert "(agent Bot) [9c9c9c9c]" in info.value.message
    assert "anthropic" not in info.value.message


def test_an_id_prefix_shared_by_two_connections_is_ambiguous(app_ctx, rows):
    with pytest.raises(Conflict) as info:
        pick(app_ctx, "0a1b2c3d")
    assert info.value.message == (
        "'0a1b2c3d' is ambiguous: it matches "
        "openai/api_key/Work [0a1b2c3d]; openai/subscription/WORK [0a1b2c3d]"
    )


def test_a_label_equal_to_another_connections_id_prefix_is_ambiguous(app_ctx, rows, db_path):
    # Every reading counts: a label that happens to be another row's id prefix matches both.
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
        "enabled, key_stored, key_source, created_at, updated_at) "
        "VALUES ('e0e0e0e0-0000-4000-8000-000000000009', 'u1', NULL, 'xai', 'api_key', '5e6f7a8b', "
        "'5e6f7a8b', 1, 0, 'keyring', 'T', 'T')"
    )
    conn.close()
    with pytest.raises(Conflict) as info:
        pick(app_ctx, "5e6f7a8b")
    assert info.value.message == (
        "'5e6f7a8b' is ambiguous: it matches "
        "anthropic/api_key/work [5e6f7a8b]; xai/api_key/5e6f7a8b [e0e0e0e0]"
    )


def test_references_work_for_every_command_that_takes_one(app_ctx, rows):
    view = connections.rename(app_ctx, "anthropic/api_key/work", "Office")
    assert (view.id, view.label) == (ANTHROPIC_WORK, "Office")
    assert connections.set_enabled(app_ctx, "5e6f7a8b", False).status == "disabled"
    assert connections.remove(app_ctx, "anthropic/Office").connection.id == ANTHROPIC_WORK
    with pytest.raises(NotFound):
        pick(app_ctx, ANTHROPIC_WORK)
