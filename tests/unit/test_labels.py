"""Label rules (SPEC §1) and the partial unique indexes that enforce folded uniqueness."""

from __future__ import annotations

import sqlite3

import pytest

from provctl.domain import labels
from provctl.errors import Conflict, UsageError
from provctl.services import connections

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


# ---------------------------------------------------------------- clean()


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Work", "Work"),
        ("  Work  ", "Work"),
        ("\tWork\n", "Work"),
        ("a", "a"),
        ("x" * 64, "x" * 64),
        ("  " + "x" * 64 + "  ", "x" * 64),  # the limit applies after trimming
        ("Straße / Büro", "Straße / Büro"),
        ("Ｗｏｒｋ", "Ｗｏｒｋ"),  # stored as given; only the comparison key is folded
        ("日本語のラベル", "日本語のラベル"),
    ],
)
def test_clean_trims_and_keeps_valid_labels(raw, expected):
    assert labels.clean(raw) == expected


@pytest.mark.parametrize("raw", ["", " ", "\t\n ", "\u3000"])
def test_clean_rejects_empty_labels(raw):
    with pytest.raises(UsageError) as info:
        labels.clean(raw)
    assert info.value.exit_code == 2
    assert info.value.message == "label must not be empty"


def test_clean_rejects_labels_longer_than_64_code_points():
    with pytest.raises(UsageError) as info:
        labels.clean("x" * 65)
    assert info.value.exit_code == 2
    assert info.value.message == "label is 65 characters long; the limit is 64"


def test_length_counts_code_points_not_bytes():
    assert labels.clean("é" * 64) == "é" * 64
    with pytest.raises(UsageError):
        labels.clean("é" * 65)


@pytest.mark.parametrize("ch", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"])
def test_clean_rejects_control_characters_inside_a_label(ch):
    with pytest.raises(UsageError) as info:
        labels.clean(f"Wo{ch}rk")
    assert info.value.exit_code == 2
    assert info.value.message == f"label contains a control character (U+{ord(ch):04X})"


@pytest.mark.parametrize("ch", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_clean_rejects_bidirectional_controls(ch):
    with pytest.raises(UsageError) as info:
        labels.clean(f"Work{ch}evil")
    assert info.value.exit_code == 2
    assert f"U+{ord(ch):04X}" in info.value.message


def test_bidi_neighbours_are_allowed():
    # U+202F (narrow no-break space) and U+2065 sit right after the two bidi ranges and are
    # neither Cc nor bidi controls.
    assert labels.clean("a\u202fb") == "a\u202fb"
    assert labels.clean("a\u2065b") == "a\u2065b"


def test_clean_names_what_it_checks():
    with pytest.raises(UsageError) as info:
        labels.clean("", "agent name")
    assert info.value.message == "agent name must not be empty"


# ---------------------------------------------------------------- fold()


@pytest.mark.parametrize(
    "a, b",
    [
        ("Work", "WORK"),
        ("Straße", "STRASSE"),
        ("Ärger", "ärger"),
        ("Ｗｏｒｋ", "work"),
        ("ﬁle", "FILE"),  # a ligature folds under NFKC
        ("Ω", "ω"),
    ],
)
def test_fold_makes_equivalent_labels_equal(a, b):
    assert labels.fold(a) == labels.fold(b)


@pytest.mark.parametrize("a, b", [("Work", "Work2"), ("Straße", "Strase"), ("Ärger", "Arger")])
def test_fold_keeps_different_labels_apart(a, b):
    assert labels.fold(a) != labels.fold(b)


# ---------------------------------------------------------------- the unique indexes, in SQL


@pytest.fixture
def raw(db_path):
    """A raw sqlite3 connection to the migrated test database, with a user and two agents."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u1', 'alice', 'alice', 'T')")
    conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u2', 'bob', 'bob', 'T')")
    for aid in ("a1", "a2"):
        conn.execute(
            "INSERT INTO agents (id, user_id, name, name_key, created_at) VALUES (?, 'u1', ?, ?, 'T')",
            (aid, f"bot-{aid}", f"bot-{aid}"),
        )
    yield conn
    conn.close()


def insert(conn, cid, label, *, agent=None, user="u1", provider="openai", auth="api_key"):
    conn.execute(
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
        "enabled, key_stored, key_source, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, 'keyring', 'T', 'T')",
        (cid, user, agent, provider, auth, label, labels.fold(label)),
    )


def test_index_refuses_two_user_level_rows_with_the_same_folded_label(raw):
    insert(raw, "c1", "Straße")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert(raw, "c2", "STRASSE")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert(raw, "c3", "straße")


def test_index_allows_the_same_label_for_another_provider_auth_type_or_user(raw):
    insert(raw, "c1", "Work")
    insert(raw, "c2", "Work", provider="anthropic")
    insert(raw, "c3", "Work", auth="subscription")
    insert(raw, "c4", "Work", user="u2")
    assert raw.execute("SELECT count(*) FROM connections").fetchone() == (4,)


def test_index_allows_legacy_rows_of_different_agents_to_share_a_label(raw):
    insert(raw, "c1", "Default", agent="a1")
    insert(raw, "c2", "DEFAULT", agent="a2")
    assert raw.execute("SELECT count(*) FROM connections").fetchone() == (2,)


def test_index_refuses_two_legacy_rows_of_one_agent_with_the_same_label(raw):
    insert(raw, "c1", "Default", agent="a1")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert(raw, "c2", "default", agent="a1")


def test_index_allows_a_legacy_row_and_a_user_level_row_with_the_same_label(raw):
    insert(raw, "c1", "Work")
    insert(raw, "c2", "Work", agent="a1")
    assert raw.execute("SELECT count(*) FROM connections").fetchone() == (2,)


def test_uniqueness_is_not_sqlite_lower(raw):
    # SQLite's lower() folds ASCII only; the stored key is what the index compares.
    insert(raw, "c1", "ÄRGER")
    with pytest.raises(sqlite3.IntegrityError):
        insert(raw, "c2", "ärger")


# ---------------------------------------------------------------- through the service


@pytest.mark.parametrize(
    "first, second",
    [("Straße", "STRASSE"), ("Ｗｏｒｋ", "work"), ("Ärger", "ärger"), ("Work", "  WORK ")],
)
def test_connect_treats_folded_labels_as_the_same_connection(app_ctx, keystore, first, second):
    connections.connect(app_ctx, "openai", label=first, creds=connections.Credentials(key="sk-first-key-000000000000"))
    with pytest.raises(Conflict) as info:
        connections.connect(app_ctx, "openai", label=second,
                            creds=connections.Credentials(key="sk-other-key-11111111111"))
    assert info.value.exit_code == 4
    assert len(keystore.secrets) == 1
