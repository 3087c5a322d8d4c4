"""The connections service (SPEC §5, §6 connect / providers) on a tmp SQLite + memory key store."""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
from datetime import timedelta

import pytest

from provctl.db import file as dbfile
from provctl.domain import labels
from provctl.context import AppContext
from provctl.errors import Conflict, NotFound, SecretStoreError, UsageError
from provctl.keystore import MemoryKeyStore
from provctl.domain.credentials import fingerprint, key_hint
from provctl.domain.text import preview
from provctl.services import connections
from provctl.services.connections import Credentials
from tests.support.checks import sql

KEY_A = "sk-proj-AAAAAAAAAAAAAAAAAAAAaaaa"  # 28 characters
KEY_B = "sk-proj-BBBBBBBBBBBBBBBBBBBBbbbb"
KEY_C = "sk-proj-CCCCCCCCCCCCCCCCCCCCcccc"
from tests.support.rows import NOW  # noqa: E402  (the one fixed clock)
STAMP = "2026-11-21T12:00:00.000000Z"




def db_rows(db_path, table="connections"):
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]
    finally:
        conn.close()


def db_row(db_path, cid):
    return next(r for r in db_rows(db_path) if r["id"] == cid)


def salt_of(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]
    finally:
        conn.close()


def add_legacy(db_path, *, agent="bot", provider="openai", auth="api_key", label="Default",
               cid="11111111-2222-4333-8444-555555555555", key_fp=None):
    """A legacy (agent-scoped) row for alice, inserted behind the service's back."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        uid = conn.execute("SELECT id FROM users WHERE name_key = 'alice'").fetchone()
        if uid is None:
            conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u-alice', 'alice', 'alice', ?)", (STAMP,))
            uid = ("u-alice",)
        aid = conn.execute("SELECT id FROM agents WHERE name_key = ?", (labels.fold(agent),)).fetchone()
        if aid is None:
            aid = (f"agent-{agent}",)
            conn.execute(
                "INSERT INTO agents (id, user_id, name, name_key, created_at) VALUES (?, ?, ?, ?, ?)",
                (aid[0], uid[0], agent, labels.fold(agent), STAMP),
            )
        conn.execute(
            "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
            "enabled, key_stored, key_hint, key_fingerprint, key_source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, 'keyring', ?, ?)",
            (cid, uid[0], aid[0], provider, auth, label, labels.fold(label), key_fp is not None,
             "…xxxx" if key_fp else None, key_fp, STAMP, STAMP),
        )
    finally:
        conn.close()
    return cid


def add_model(db_path, name, attached: list[str], *, provider="openai"):
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        uid = conn.execute("SELECT id FROM users WHERE name_key = 'alice'").fetchone()[0]
        mid = f"model-{name}"
        conn.execute(
            "INSERT INTO models (id, user_id, name, name_key, provider, enabled, is_default, created_at) "
            "VALUES (?, ?, ?, ?, ?, 1, 0, ?)",
            (mid, uid, name, labels.fold(name), provider, STAMP),
        )
        for prio, cid in enumerate(attached, start=1):
            conn.execute("INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)",
                         (mid, cid, prio))
    finally:
        conn.close()
    return mid


def attachments(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT m.name, t.connection_id, t.priority FROM attachments t JOIN models m ON m.id = t.model_id "
            "ORDER BY m.name, t.priority"
        ).fetchall()
    finally:
        conn.close()


def counts(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("users", "agents", "connections")}
    finally:
        conn.close()


NOTHING = {"users": 0, "agents": 0, "connections": 0}


# ---------------------------------------------------------------- connect: create


def test_connect_creates_a_user_level_connection_with_key_in_the_keyring_only(app_ctx, keystore, db_path, connected):
    result = connected(label="Work", key=KEY_A)

    assert result.action == "created"
    cid = result.connection.id
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", cid)
    assert result.to_dict() == {
        "action": "created", "id": cid, "provider": "openai", "auth_type": "api_key",
        "label": "Work", "status": "active", "key_hint": "sk-p…aaaa", "base_url": None,
        "models": 0, "attached_models": 0, "agent": None, "created_at": STAMP,
    }
    assert keystore.secrets == {cid: KEY_A}
    row = db_row(db_path, cid)
    assert row["agent_id"] is None and row["connected_via_agent_id"] is None
    assert (row["label"], row["label_key"], row["enabled"], row["key_stored"]) == ("Work", "work", 1, 1)
    assert row["key_fingerprint"] == hmac.new(bytes.fromhex(salt_of(db_path)), KEY_A.encode(), hashlib.sha256).hexdigest()
    assert (row["key_env"], row["key_source"], row["expires_at"]) == (None, "keyring", None)
    assert (row["created_at"], row["updated_at"]) == (STAMP, STAMP)
    for table in ("users", "agents", "connections", "meta"):
        for r in db_rows(db_path, table):
            assert not any(isinstance(v, str) and KEY_A in v for v in r.values()), table


def test_connect_defaults_label_and_auth_type(app_ctx, connected):
    view = connected(key=KEY_A).connection
    assert (view.label, view.auth_type) == ("Default", "api_key")
    ollama = connected("ollama")
    assert (ollama.connection.auth_type, ollama.connection.status, ollama.connection.key_hint) == ("local", "active", None)


def test_connect_key_is_stripped_of_surrounding_whitespace(app_ctx, keystore, connected):
    result = connected(key="  " + KEY_A + "\n")
    assert keystore.secrets == {result.connection.id: KEY_A}


def test_connect_label_is_trimmed(app_ctx, connected):
    assert connected(label="  Work \t", key=KEY_A).connection.label == "Work"


def test_connect_stores_the_family_default_base_url_as_null(app_ctx, db_path, connected):
    cid = connected(label="A", key=KEY_A, base_url="https://api.openai.com/v1/").connection.id
    assert db_row(db_path, cid)["base_url"] is None
    other = connected(label="B", key=KEY_B, base_url="https://proxy.example.com/v1/").connection
    assert other.base_url == "https://proxy.example.com/v1"


def test_connect_with_agent_records_connected_via_and_creates_the_agent(app_ctx, db_path, connected):
    result = connected(label="Work", key=KEY_A, agent="support-bot")
    detail = connections.show(app_ctx, result.connection.id)
    assert detail.connected_via == "support-bot"
    assert detail.connection.agent is None  # still user-level
    assert [(a["name"], a["name_key"]) for a in db_rows(db_path, "agents")] == [("support-bot", "support-bot")]
    # an existing agent is reused (folded name)
    connected(label="Other", key=KEY_B, agent="SUPPORT-BOT")
    assert len(db_rows(db_path, "agents")) == 1


@pytest.mark.parametrize("agent", ["", "  ", "bot\u202e"])
def test_connect_refuses_an_invalid_agent_name_before_anything_is_written(app_ctx, keystore, db_path, agent, connected):
    with pytest.raises(UsageError) as info:
        connected(label="Work", key=KEY_A, agent=agent)
    assert info.value.exit_code == 2
    assert counts(db_path) == NOTHING
    assert keystore.secrets == {}


def test_connect_ignores_legacy_rows_with_the_same_label(app_ctx, db_path, connected):
    add_legacy(db_path, label="Work")
    result = connected(label="Work", key=KEY_A)
    assert result.action == "created"
    assert len(db_rows(db_path)) == 2


# ---------------------------------------------------------------- connect: same label


def test_connect_same_label_same_key_is_idempotent_and_changes_nothing(app_ctx, keystore, db_path, connected):
    first = connected(label="Work", key=KEY_A)
    before = db_rows(db_path)
    app_ctx.clock = lambda: NOW + timedelta(hours=1)
    again = connected(label="work", key=KEY_A)
    assert again.action == "unchanged"
    assert again.connection == first.connection
    assert db_rows(db_path) == before
    assert keystore.secrets == {first.connection.id: KEY_A}


def test_connect_same_key_reenables_a_disabled_connection(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    connections.set_enabled(app_ctx, cid, False)
    result = connected(label="Work", key=KEY_A)
    assert (result.action, result.connection.id, result.connection.status) == ("enabled", cid, "active")
    assert db_row(db_path, cid)["enabled"] == 1
    assert len(db_rows(db_path)) == 1


def test_connect_same_key_env_is_idempotent(app_ctx, db_path, connected):
    first = connected(label="CI", key_env="OPENAI_API_KEY")
    before = db_rows(db_path)
    assert connected(label="CI", key_env="OPENAI_API_KEY").action == "unchanged"
    assert db_rows(db_path) == before
    assert first.connection.status == "no_key"


@pytest.mark.parametrize(
    "first, second, what",
    [
        (dict(key=KEY_A), dict(key=KEY_B), "key"),
        (dict(key=KEY_A), dict(key=KEY_A, key_env="OPENAI_API_KEY"), "--key-env"),
        (dict(key_env="A_KEY"), dict(key_env="B_KEY"), "--key-env"),
        (dict(key_env="A_KEY"), dict(key=KEY_A, key_env="A_KEY"), "key"),
        (dict(key=KEY_A), dict(key=KEY_A, base_url="https://proxy.example.com/v1"), "base URL"),
        (dict(key=KEY_A, auth="subscription", expires_at="2027-01-01T00:00:00Z"),
         dict(key=KEY_A, auth="subscription", expires_at="2027-02-01T00:00:00Z"), "expiry"),
        (dict(key=KEY_A, auth="subscription"),
         dict(key=KEY_A, auth="subscription", expires_at="2027-02-01T00:00:00Z"), "expiry"),
    ],
)
def test_connect_same_label_with_anything_different_is_a_conflict(app_ctx, keystore, db_path, first, second, what, connected):
    created = connected(label="Work", **first)
    before, secrets = db_rows(db_path), dict(keystore.secrets)
    with pytest.raises(Conflict) as info:
        connected(label="WORK", **second)
    auth = first.get("auth", "api_key")
    assert info.value.exit_code == 4
    assert info.value.message == f"openai/{auth}/Work already exists with a different {what}"
    assert "--replace" in info.value.hint
    assert db_rows(db_path) == before
    assert keystore.secrets == secrets
    assert created.action == "created"


def test_connect_replace_stores_the_new_key_in_place_and_reenables(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    connections.set_enabled(app_ctx, cid, False)
    result = connected(label="Work", key=KEY_B, base_url="https://proxy.example.com/v1", replace=True)
    assert (result.action, result.connection.id) == ("replaced", cid)
    assert keystore.secrets == {cid: KEY_B}
    row = db_row(db_path, cid)
    assert (row["enabled"], row["key_hint"], row["base_url"]) == (1, "sk-p…bbbb", "https://proxy.example.com/v1")
    assert row["key_fingerprint"] == fingerprint(salt_of(db_path), KEY_B)
    assert len(db_rows(db_path)) == 1


def test_connect_replace_with_key_env_only_forgets_the_stored_key(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    result = connected(label="Work", key_env="OPENAI_API_KEY", replace=True)
    assert result.action == "replaced"
    assert keystore.secrets == {}
    row = db_row(db_path, cid)
    assert (row["key_stored"], row["key_hint"], row["key_fingerprint"], row["key_env"], row["key_source"]) == (
        0, None, None, "OPENAI_API_KEY", "keyring,env")


def test_connect_replace_with_a_key_another_connection_holds_is_a_conflict(app_ctx, keystore, db_path, connected):
    work = connected(label="Work", key=KEY_A).connection.id
    home = connected(label="Home", key=KEY_B).connection.id
    before = db_rows(db_path)
    with pytest.raises(Conflict) as info:
        connected(label="Work", key=KEY_B, replace=True)
    assert info.value.message == f"this key is already stored on openai/api_key/Home [{home[:8]}]"
    assert db_rows(db_path) == before
    assert keystore.secrets == {work: KEY_A, home: KEY_B}


# ---------------------------------------------------------------- connect: same key, new label


def test_same_key_on_a_disabled_connection_reenables_it_under_the_new_label(app_ctx, keystore, db_path, connected):
    cid = connected(label="Old", key=KEY_A).connection.id
    connections.set_enabled(app_ctx, cid, False)
    result = connected(label="New", key=KEY_A)
    assert (result.action, result.previous_label) == ("relabelled", "Old")
    assert result.connection.id == cid
    assert (result.connection.label, result.connection.status) == ("New", "active")
    rows = db_rows(db_path)
    assert [(r["id"], r["label"], r["label_key"], r["enabled"]) for r in rows] == [(cid, "New", "new", 1)]
    assert keystore.secrets == {cid: KEY_A}


def test_same_key_on_an_enabled_connection_is_a_conflict_naming_it(app_ctx, keystore, db_path, connected):
    cid = connected(label="Old", key=KEY_A).connection.id
    before = db_rows(db_path)
    with pytest.raises(Conflict) as info:
        connected(label="New", key=KEY_A)
    assert info.value.exit_code == 4
    assert info.value.message == f"this key is already stored on openai/api_key/Old [{cid[:8]}]"
    assert db_rows(db_path) == before
    assert keystore.secrets == {cid: KEY_A}


def test_same_key_of_another_provider_or_auth_type_is_not_the_same_connection(app_ctx, keystore, connected):
    a = connected("openai", key=KEY_A).connection.id
    b = connected("openrouter", key=KEY_A).connection.id
    c = connected("openai", auth="subscription", key=KEY_A).connection.id
    assert len({a, b, c}) == 3
    assert keystore.secrets == {a: KEY_A, b: KEY_A, c: KEY_A}


def test_same_key_on_a_disabled_connection_with_another_base_url_needs_replace(app_ctx, db_path, connected):
    cid = connected(label="Old", key=KEY_A).connection.id
    connections.set_enabled(app_ctx, cid, False)
    before = db_rows(db_path)
    with pytest.raises(Conflict) as info:
        connected(label="New", key=KEY_A, base_url="https://proxy.example.com/v1")
    assert info.value.message == (
        f"this key belongs to the disabled connection openai/api_key/Old [{cid[:8]}], "
        "which has a different base URL"
    )
    assert db_rows(db_path) == before
    result = connected(label="New", key=KEY_A, base_url="https://proxy.example.com/v1", replace=True)
    assert (result.action, result.connection.id, result.connection.label, result.connection.base_url) == (
        "relabelled", cid, "New", "https://proxy.example.com/v1")


def test_key_env_is_not_subject_to_the_same_key_rules(app_ctx, connected):
    a = connected(label="A", key_env="OPENAI_API_KEY").connection.id
    b = connected(label="B", key_env="OPENAI_API_KEY").connection.id
    assert a != b


# ---------------------------------------------------------------- connect: refusals (exit 2)


@pytest.mark.parametrize("key", ["", "   ", "\n", "\t \n"])
def test_empty_key_is_refused_and_nothing_is_written(app_ctx, keystore, db_path, key, connected):
    with pytest.raises(UsageError) as info:
        connected(key=key, agent="bot")
    assert (info.value.exit_code, info.value.message) == (2, "the key is empty")
    assert counts(db_path) == NOTHING
    assert keystore.secrets == {}


@pytest.mark.parametrize("provider, auth", [("openai", None), ("anthropic", "subscription"),
                                            ("openai-compatible", "api_key")])
def test_no_key_and_no_key_env_is_refused(app_ctx, db_path, provider, auth, connected):
    with pytest.raises(UsageError) as info:
        connected(provider, auth=auth, base_url="http://127.0.0.1:8000/v1" if "compat" in provider else None)
    assert info.value.exit_code == 2
    article = "a subscription" if auth == "subscription" else "an api_key"
    assert info.value.message == f"{article} connection needs a key"
    assert "--key-env" in info.value.hint
    assert counts(db_path) == NOTHING


@pytest.mark.parametrize("creds", [dict(key=KEY_A), dict(key_env="OLLAMA_KEY")])
def test_local_connection_refuses_a_key(app_ctx, db_path, creds, connected):
    with pytest.raises(UsageError) as info:
        connected("ollama", **creds)
    assert (info.value.exit_code, info.value.message) == (2, "a local connection takes no key")
    assert counts(db_path) == NOTHING


@pytest.mark.parametrize("provider, auth", [("openai", "api_key"), ("ollama", None)])
def test_expires_at_on_a_non_subscription_connection_is_refused(app_ctx, db_path, provider, auth, connected):
    with pytest.raises(UsageError) as info:
        connected(provider, auth=auth, key=KEY_A if provider == "openai" else None,
                expires_at="2027-01-01T00:00:00Z")
    assert (info.value.exit_code, info.value.message) == (2, "--expires-at applies to subscription connections only")
    assert counts(db_path) == NOTHING


@pytest.mark.parametrize("text", ["tomorrow", "2027-13-01", "", "2027-01-01T25:00",
                                  "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_unparsable_expires_at_is_refused(app_ctx, db_path, text, connected):
    with pytest.raises(UsageError) as info:
        connected(auth="subscription", key=KEY_A, expires_at=text)
    assert (info.value.exit_code, info.value.message) == (2, f"cannot parse time {preview(text)}")
    assert counts(db_path) == NOTHING


@pytest.mark.parametrize(
    "given, stored",
    [
        ("2027-01-01T00:00:00Z", "2027-01-01T00:00:00.000000Z"),
        ("2027-01-01T02:00:00+02:00", "2027-01-01T00:00:00.000000Z"),
        ("2027-01-01", "2027-01-01T00:00:00.000000Z"),  # naive means UTC
        ("2027-01-01T00:00:00.5z", "2027-01-01T00:00:00.500000Z"),
    ],
)
def test_expires_at_is_stored_in_utc(app_ctx, given, stored, connected):
    cid = connected(auth="subscription", key=KEY_A, expires_at=given).connection.id
    assert connections.show(app_ctx, cid).expires_at == stored


def test_expiry_in_the_past_is_accepted_and_shows_expired(app_ctx, connected):
    past = connected(label="Past", auth="subscription", key=KEY_A, expires_at="2020-01-01T00:00:00Z")
    assert past.connection.status == "expired"
    # the 60-second margin: expiring in 30 s is expired already, in 2 minutes is not
    soon = (NOW + timedelta(seconds=30)).isoformat()
    later = (NOW + timedelta(minutes=2)).isoformat()
    assert connected(label="Soon", auth="subscription", key=KEY_B, expires_at=soon).connection.status == "expired"
    assert connected(label="Later", auth="subscription", key=KEY_C, expires_at=later).connection.status == "active"


def test_unknown_provider_is_a_usage_error_listing_the_known_ones(app_ctx, db_path, connected):
    with pytest.raises(UsageError) as info:
        connected("openia", key=KEY_A)
    assert info.value.exit_code == 2
    assert info.value.message == "unknown provider 'openia'"
    assert info.value.hint == (
        "known providers: openai, anthropic, openrouter, gemini, mistral, groq, deepseek, xai, "
        "ollama, openai-compatible"
    )
    assert counts(db_path) == NOTHING


def test_auth_type_the_family_does_not_support_is_refused(app_ctx, connected):
    with pytest.raises(UsageError) as info:
        connected("openrouter", auth="subscription", key=KEY_A)
    assert info.value.message == "provider openrouter does not support auth type subscription"
    with pytest.raises(UsageError) as info:
        connected("openai", auth="oauth", key=KEY_A)
    assert info.value.message == "unknown auth type 'oauth'"


def test_openai_compatible_needs_a_base_url(app_ctx, db_path, connected):
    with pytest.raises(UsageError) as info:
        connected("openai-compatible", key=KEY_A)
    assert (info.value.exit_code, info.value.message) == (2, "openai-compatible needs --base-url")
    assert counts(db_path) == NOTHING
    ok = connected("openai-compatible", auth="local", base_url="http://127.0.0.1:8000/v1")
    assert (ok.connection.base_url, ok.connection.status) == ("http://127.0.0.1:8000/v1", "active")


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "https://", "http:///v1", "example.com", "", "file:///etc/passwd"])
def test_a_base_url_must_be_http_or_https_with_a_host(app_ctx, db_path, url, connected):
    with pytest.raises(UsageError) as info:
        connected(key=KEY_A, base_url=url)
    assert info.value.exit_code == 2
    assert info.value.message.startswith(f"invalid base URL {preview(url.strip())}: ")
    assert counts(db_path) == NOTHING


@pytest.mark.parametrize("label", ["", "  ", "x" * 65, "Wo\x00rk", "Work\u202e", "a\u2066b"])
def test_an_invalid_label_is_refused_before_anything_is_written(app_ctx, keystore, db_path, label, connected):
    with pytest.raises(UsageError) as info:
        connected(label=label, key=KEY_A)
    assert info.value.exit_code == 2
    assert counts(db_path) == NOTHING
    assert keystore.secrets == {}


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "", "$HOME"])
def test_an_invalid_key_env_name_is_refused(app_ctx, name, connected):
    with pytest.raises(UsageError) as info:
        connected(key_env=name)
    assert info.value.exit_code == 2


# ---------------------------------------------------------------- --key-env and --key-source


def test_key_env_records_only_the_name(app_ctx, keystore, db_path, environ, connected):
    environ["MY_OPENAI_KEY"] = KEY_A
    cid = connected(label="CI", key_env="MY_OPENAI_KEY").connection.id
    row = db_row(db_path, cid)
    assert (row["key_env"], row["key_source"], row["key_stored"], row["key_hint"], row["key_fingerprint"]) == (
        "MY_OPENAI_KEY", "keyring,env", 0, None, None)
    assert keystore.secrets == {}


@pytest.mark.parametrize("value, status", [(None, "no_key"), ("", "no_key"), ("   ", "no_key"), (KEY_A, "active")])
def test_key_env_status_follows_the_variable(app_ctx, environ, value, status, connected):
    if value is not None:
        environ["MY_OPENAI_KEY"] = value
    result = connected(label="CI", key_env="MY_OPENAI_KEY")
    assert result.connection.status == status
    assert [v.status for v in connections.list_connections(app_ctx)] == [status]


def test_key_and_key_env_together_are_both_recorded(app_ctx, keystore, db_path, connected):
    cid = connected(key=KEY_A, key_env="OPENAI_API_KEY", key_source="env,keyring").connection.id
    row = db_row(db_path, cid)
    assert (row["key_env"], row["key_source"], row["key_stored"]) == ("OPENAI_API_KEY", "env,keyring", 1)
    assert keystore.secrets == {cid: KEY_A}


@pytest.mark.parametrize("source", ["vault", "keyring,vault", "env,env"])
def test_an_unknown_key_source_is_refused(app_ctx, source, connected):
    with pytest.raises(UsageError) as info:
        connected(key=KEY_A, key_source=source)
    assert info.value.message == f"invalid --key-source {preview(source)}"


def test_key_source_env_needs_key_env(app_ctx, connected):
    with pytest.raises(UsageError) as info:
        connected(key=KEY_A, key_source="env")
    assert info.value.exit_code == 2


def test_key_source_keyring_ignores_the_variable_for_status(app_ctx, environ, connected):
    environ["MY_OPENAI_KEY"] = KEY_A
    view = connected(key_env="MY_OPENAI_KEY", key_source="keyring").connection
    assert view.status == "no_key"


# ---------------------------------------------------------------- key hint and fingerprint


@pytest.mark.parametrize(
    "key, hint",
    [
        ("sk-proj-" + "x" * 12 + "dddd", "sk-p…dddd"),  # 24 characters: first 4 and last 4
        ("sk-proj-" + "x" * 40 + "dddd", "sk-p…dddd"),
        ("sk-" + "x" * 16 + "dddd", "…dddd"),  # 23 characters: only the last 4
        ("abcdefghijkl", "…ijkl"),
    ],
)
def test_key_hint_shows_first_and_last_four_only_for_long_keys(app_ctx, key, hint, connected):
    assert key_hint(key) == hint
    assert connected(key=key).connection.key_hint == hint


def test_fingerprint_is_an_hmac_with_a_per_database_salt(tmp_path, connected):
    one, two = tmp_path / "one" / "provctl.db", tmp_path / "two" / "provctl.db"
    views = []
    for path in (one, two):
        dbfile.ensure_schema(path)
        ctx = AppContext(db_path=path, user="alice", environ={}, keystore_factory=MemoryKeyStore, clock=lambda: NOW)
        views.append(connected(key=KEY_A, ctx=ctx).connection)
    fps = [db_row(p, v.id)["key_fingerprint"] for p, v in zip((one, two), views)]
    assert salt_of(one) != salt_of(two)
    assert len(salt_of(one)) == 64
    assert fps[0] != fps[1]
    assert fps == [fingerprint(salt_of(one), KEY_A), fingerprint(salt_of(two), KEY_A)]
    assert KEY_A not in fps[0] and hashlib.sha256(KEY_A.encode()).hexdigest() not in fps


# ---------------------------------------------------------------- keyring → database, and failures


def test_a_failed_database_insert_removes_the_keyring_entry(app_ctx, keystore, db_path, connected):
    sql(db_path, "CREATE TRIGGER boom BEFORE INSERT ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    writes = []
    real_set = keystore.set
    keystore.set = lambda cid, secret: (writes.append(cid), real_set(cid, secret))
    with pytest.raises(Exception, match="boom"):
        connected(label="Work", key=KEY_A, agent="bot")
    assert len(writes) == 1  # the keyring was written first ...
    assert keystore.secrets == {}  # ... and cleaned up
    assert counts(db_path) == NOTHING


def test_a_failed_replace_restores_the_previous_key(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    before = db_rows(db_path)
    sql(db_path, "CREATE TRIGGER boom BEFORE UPDATE ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    with pytest.raises(Exception, match="boom"):
        connected(label="Work", key=KEY_B, replace=True)
    assert keystore.secrets == {cid: KEY_A}
    assert db_rows(db_path) == before


def test_a_failed_set_key_restores_the_previous_key(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    sql(db_path, "CREATE TRIGGER boom BEFORE UPDATE ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    with pytest.raises(Exception, match="boom"):
        connections.set_key(app_ctx, cid, Credentials(key=KEY_B))
    assert keystore.secrets == {cid: KEY_A}


def test_a_failed_commit_removes_the_keyring_entry(app_ctx, keystore, db_path, monkeypatch, connected):
    from provctl.db.uow import UnitOfWork

    def fail(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(UnitOfWork, "commit", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        connected(label="Work", key=KEY_A)
    assert keystore.secrets == {}
    assert counts(db_path) == NOTHING


def test_no_keyring_backend_is_exit_6_and_nothing_is_written(db_path, connected):
    ctx = AppContext(db_path=db_path, user="alice", environ={}, keystore_factory=lambda: MemoryKeyStore(fail=True),
                     clock=lambda: NOW)
    with pytest.raises(SecretStoreError) as info:
        connected(label="Work", key=KEY_A, agent="bot", ctx=ctx)
    assert info.value.exit_code == 6
    assert "PYTHON_KEYRING_BACKEND" in info.value.hint and "--key-env" in info.value.hint
    assert counts(db_path) == NOTHING


def test_key_env_needs_no_keyring(db_path, connected):
    ctx = AppContext(db_path=db_path, user="alice", environ={"CI_KEY": KEY_A},
                     keystore_factory=lambda: MemoryKeyStore(fail=True), clock=lambda: NOW)
    view = connected(label="CI", key_env="CI_KEY", ctx=ctx).connection
    assert view.status == "active"
    assert connections.show(ctx, "CI").credential_source == "env"


# ---------------------------------------------------------------- list


class NoKeyringCalls(MemoryKeyStore):
    def __init__(self):
        super().__init__()
        self.calls = []

    def _guard(self):
        self.calls.append("call")
        raise AssertionError("the keyring must not be called")


def test_list_makes_no_keyring_call(app_ctx, db_path, connected):
    for i, key in enumerate((KEY_A, KEY_B, KEY_C)):
        connected(label=f"L{i}", key=key)
    spy = NoKeyringCalls()
    ctx = AppContext(db_path=db_path, user="alice", environ={}, keystore_factory=lambda: spy, clock=lambda: NOW)
    assert [v.status for v in connections.list_connections(ctx)] == ["active"] * 3
    assert spy.calls == []


def test_list_orders_by_provider_auth_type_folded_label_agent_then_id(app_ctx, db_path, connected):
    ids = {}
    ids["oa-b"] = connected("openai", label="b", key=KEY_A).connection.id
    ids["oa-A"] = connected("openai", label="A", key=KEY_B).connection.id
    ids["oa-sub"] = connected("openai", label="a", auth="subscription", key=KEY_C).connection.id
    ids["an"] = connected("anthropic", label="z", key=KEY_A).connection.id
    ids["ol"] = connected("ollama", label="Laptop").connection.id
    ids["leg-zed"] = add_legacy(db_path, agent="zed", label="b", cid="00000000-0000-4000-8000-00000000000a")
    ids["leg-amy"] = add_legacy(db_path, agent="Amy", label="B", cid="ffffffff-0000-4000-8000-00000000000b")
    views = connections.list_connections(app_ctx)
    assert [v.id for v in views] == [
        ids["an"], ids["ol"], ids["oa-A"], ids["oa-b"], ids["leg-amy"], ids["leg-zed"], ids["oa-sub"]]
    assert [v.agent for v in views] == [None, None, None, None, "Amy", "zed", None]


def test_list_statuses(app_ctx, db_path, environ, connected):
    connected(label="active", key=KEY_A)
    disabled = connected(label="disabled", key=KEY_B).connection.id
    connections.set_enabled(app_ctx, disabled, False)
    connected(label="nokey", key_env="UNSET_VARIABLE")
    connected(label="expired", auth="subscription", key=KEY_C, expires_at="2020-01-01")
    add_legacy(db_path, label="legacy")
    statuses = {v.label: v.status for v in connections.list_connections(app_ctx)}
    assert statuses == {"active": "active", "disabled": "disabled", "nokey": "no_key",
                        "expired": "expired", "legacy": "legacy"}
    assert [v.label for v in connections.list_connections(app_ctx, status="disabled")] == ["disabled"]
    assert [v.label for v in connections.list_connections(app_ctx, provider="openai", status="legacy")] == ["legacy"]
    assert connections.list_connections(app_ctx, provider="anthropic") == []


def test_list_status_filter_refuses_an_unknown_status(app_ctx):
    with pytest.raises(UsageError) as info:
        connections.list_connections(app_ctx, status="activ")
    assert info.value.exit_code == 2
    assert info.value.hint == "use one of: active, legacy, disabled, no_key, expired"


def test_list_provider_filter_refuses_an_unknown_provider(app_ctx):
    with pytest.raises(UsageError) as info:
        connections.list_connections(app_ctx, provider="openia")
    assert info.value.message == "unknown provider 'openia'"


def test_list_is_per_user(app_ctx, db_path, keystore, connected):
    connected(label="Mine", key=KEY_A)
    bob = AppContext(db_path=db_path, user="bob", environ={}, keystore_factory=lambda: keystore, clock=lambda: NOW)
    assert connections.list_connections(bob) == []
    connected(label="Mine", key=KEY_A, ctx=bob)  # same label and key: another user's namespace
    assert [v.label for v in connections.list_connections(bob)] == ["Mine"]
    assert len(connections.list_connections(app_ctx)) == 1


def test_list_counts_discovered_and_attached_models(app_ctx, db_path, connected):
    cid = connected(key=KEY_A).connection.id
    add_model(db_path, "gpt-4o", [cid])
    add_model(db_path, "fast", [cid])
    sql(db_path, "INSERT INTO discovered_models (connection_id, model_id, discovered_at) VALUES (?, 'gpt-4o', ?)", (cid, STAMP))
    [view] = connections.list_connections(app_ctx)
    assert (view.models, view.attached_models) == (1, 2)


# ---------------------------------------------------------------- show


def test_show_returns_every_field_and_reads_the_keyring_once(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A, key_env="OPENAI_API_KEY", agent="bot",
                  base_url="https://proxy.example.com/v1").connection.id
    add_model(db_path, "gpt-4o", [cid])
    add_model(db_path, "Fast", [connected(label="Other", key=KEY_B).connection.id, cid])
    reads = []
    real_get = keystore.get
    keystore.get = lambda c: (reads.append(c), real_get(c))[1]
    detail = connections.show(app_ctx, "openai/Work")
    assert reads == [cid]
    assert detail.to_dict() == {
        "id": cid, "provider": "openai", "auth_type": "api_key", "label": "Work", "status": "active",
        "key_hint": "sk-p…aaaa", "base_url": "https://proxy.example.com/v1", "models": 0,
        "attached_models": 2, "agent": None, "created_at": STAMP, "status_detail": None,
        "key_env": "OPENAI_API_KEY", "key_source": "keyring,env", "credential_source": "keyring",
        "expires_at": None, "connected_via": "bot",
        "attachments": [{"model": "Fast", "priority": 2}, {"model": "gpt-4o", "priority": 1}],
        "granted_to": [],
    }


def test_show_credential_source_env_and_none(app_ctx, keystore, environ, connected):
    cid = connected(label="Work", key=KEY_A, key_env="OPENAI_API_KEY").connection.id
    keystore.secrets.clear()  # the keyring lost it
    assert connections.show(app_ctx, cid).credential_source == "none"
    environ["OPENAI_API_KEY"] = KEY_B
    assert connections.show(app_ctx, cid).credential_source == "env"
    keystore.secrets[cid] = KEY_A
    assert connections.show(app_ctx, cid).credential_source == "keyring"
    connected(label="EnvFirst", key=KEY_C, key_env="OPENAI_API_KEY", key_source="env,keyring")
    assert connections.show(app_ctx, "EnvFirst").credential_source == "env"
    assert connections.show(app_ctx, connected("ollama").connection.id).credential_source == "none"


def test_show_unknown_reference_is_not_found(app_ctx):
    with pytest.raises(NotFound) as info:
        connections.show(app_ctx, "nope")
    assert info.value.exit_code == 3


# ---------------------------------------------------------------- rename / enable / disable


def test_rename_changes_the_label_not_the_keyring(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    view = connections.rename(app_ctx, "Work", "  Office ")
    assert (view.id, view.label) == (cid, "Office")
    assert (db_row(db_path, cid)["label"], db_row(db_path, cid)["label_key"]) == ("Office", "office")
    assert keystore.secrets == {cid: KEY_A}
    # a change of case only is allowed (it is still the same connection)
    assert connections.rename(app_ctx, cid, "OFFICE").label == "OFFICE"


def test_rename_to_a_taken_label_is_a_conflict(app_ctx, db_path, connected):
    connected(label="Work", key=KEY_A)
    home = connected(label="Home", key=KEY_B).connection.id
    before = db_rows(db_path)
    with pytest.raises(Conflict) as info:
        connections.rename(app_ctx, "Work", "HOME")
    assert info.value.message == f"the label 'HOME' is taken by openai/api_key/Home [{home[:8]}]"
    assert db_rows(db_path) == before


def test_rename_may_reuse_a_label_of_another_auth_type_or_a_legacy_row(app_ctx, db_path, connected):
    connected(label="Work", key=KEY_A)
    connected(label="Sub", auth="subscription", key=KEY_B)
    add_legacy(db_path, label="Legacy")
    assert connections.rename(app_ctx, "Sub", "Work").label == "Work"
    assert connections.rename(app_ctx, "openai/api_key/Work", "Legacy").label == "Legacy"


def test_rename_refuses_an_invalid_label(app_ctx, connected):
    connected(label="Work", key=KEY_A)
    with pytest.raises(UsageError):
        connections.rename(app_ctx, "Work", "bad\u202elabel")


def test_disable_then_enable(app_ctx, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    assert connections.set_enabled(app_ctx, "Work", False).status == "disabled"
    assert db_row(db_path, cid)["enabled"] == 0
    assert connections.set_enabled(app_ctx, "Work", True).status == "active"
    assert db_row(db_path, cid)["enabled"] == 1


# ---------------------------------------------------------------- set-key


def test_set_key_stores_a_new_key_in_place(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    view = connections.set_key(app_ctx, "Work", Credentials(key=KEY_B + "\n"))
    assert (view.id, view.key_hint, view.status) == (cid, "sk-p…bbbb", "active")
    assert keystore.secrets == {cid: KEY_B}
    assert db_row(db_path, cid)["key_fingerprint"] == fingerprint(salt_of(db_path), KEY_B)


def test_set_key_gives_a_keyless_connection_a_key(app_ctx, keystore, db_path, connected):
    cid = connected(label="CI", key_env="UNSET_VARIABLE").connection.id
    assert connections.set_key(app_ctx, cid, Credentials(key=KEY_A)).status == "active"
    assert keystore.secrets == {cid: KEY_A}
    assert db_row(db_path, cid)["key_stored"] == 1


def test_set_key_env_and_expiry(app_ctx, environ, db_path, connected):
    cid = connected(label="Sub", auth="subscription", key=KEY_A).connection.id
    environ["SUB_TOKEN"] = KEY_B
    view = connections.set_key(app_ctx, cid, Credentials(key_env="SUB_TOKEN", expires_at="2020-01-01T00:00:00Z"))
    assert view.status == "expired"
    row = db_row(db_path, cid)
    assert (row["key_env"], row["key_source"], row["expires_at"], row["key_stored"]) == (
        "SUB_TOKEN", "keyring,env", "2020-01-01T00:00:00.000000Z", 1)
    assert connections.set_key(app_ctx, cid, Credentials(expires_at="2030-01-01")).status == "active"


def test_set_key_source(app_ctx, db_path, environ, connected):
    cid = connected(label="Work", key=KEY_A, key_env="WORK_KEY").connection.id
    environ["WORK_KEY"] = KEY_B
    view = connections.set_key(app_ctx, cid, Credentials(key_source="env,keyring"))
    assert db_row(db_path, cid)["key_source"] == "env,keyring"
    assert connections.show(app_ctx, cid).credential_source == "env"
    assert view.status == "active"
    with pytest.raises(UsageError):
        connections.set_key(app_ctx, cid, Credentials(key_source="vault"))
    plain = connected(label="Plain", key=KEY_C).connection.id
    with pytest.raises(UsageError) as info:
        connections.set_key(app_ctx, plain, Credentials(key_source="env"))
    assert info.value.message == "--key-source env needs --key-env VAR"


def test_set_key_with_nothing_to_set_is_a_usage_error(app_ctx, connected):
    connected(label="Work", key=KEY_A)
    with pytest.raises(UsageError) as info:
        connections.set_key(app_ctx, "Work", Credentials())
    assert (info.value.exit_code, info.value.message) == (2, "nothing to set")


@pytest.mark.parametrize("key", ["", "  \n"])
def test_set_key_refuses_an_empty_key(app_ctx, keystore, key, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    with pytest.raises(UsageError):
        connections.set_key(app_ctx, "Work", Credentials(key=key))
    assert keystore.secrets == {cid: KEY_A}


def test_set_key_with_a_key_another_connection_holds_is_a_conflict(app_ctx, keystore, connected):
    a = connected(label="A", key=KEY_A).connection.id
    b = connected(label="B", key=KEY_B).connection.id
    with pytest.raises(Conflict) as info:
        connections.set_key(app_ctx, "A", Credentials(key=KEY_B))
    assert info.value.message == f"this key is already stored on openai/api_key/B [{b[:8]}]"
    assert keystore.secrets == {a: KEY_A, b: KEY_B}


def test_set_key_refuses_a_key_on_local_and_expiry_on_api_key(app_ctx, connected):
    connected("ollama", label="Laptop")
    connected(label="Work", key=KEY_A)
    with pytest.raises(UsageError):
        connections.set_key(app_ctx, "Laptop", Credentials(key=KEY_B))
    with pytest.raises(UsageError):
        connections.set_key(app_ctx, "Work", Credentials(expires_at="2030-01-01"))


def test_set_key_without_a_keyring_is_exit_6_and_changes_nothing(app_ctx, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    before = db_rows(db_path)
    ctx = AppContext(db_path=db_path, user="alice", environ={}, keystore_factory=lambda: MemoryKeyStore(fail=True),
                     clock=lambda: NOW)
    with pytest.raises(SecretStoreError):
        connections.set_key(ctx, cid, Credentials(key=KEY_B))
    assert db_rows(db_path) == before


# ---------------------------------------------------------------- remove


def test_remove_deletes_the_row_then_the_keyring_entry(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    other = connected(label="Other", key=KEY_B).connection.id
    order = []
    real_delete = keystore.delete

    def delete(c):
        order.append(("keyring", [r["id"] for r in db_rows(db_path)]))
        real_delete(c)

    keystore.delete = delete
    result = connections.remove(app_ctx, "Work")
    assert result.to_dict() == {
        "removed": result.connection.to_dict(), "detached_from": [], "models_without_connections": [],
        "keyring_leftovers": []}
    assert result.connection.id == cid
    assert order == [("keyring", [other])]  # the row was already gone
    assert keystore.secrets == {other: KEY_B}
    assert [r["id"] for r in db_rows(db_path)] == [other]


def test_remove_is_refused_while_attached(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    add_model(db_path, "gpt-4o", [cid])
    add_model(db_path, "fast", [cid])
    with pytest.raises(Conflict) as info:
        connections.remove(app_ctx, "Work")
    assert info.value.exit_code == 4
    assert info.value.message == "openai/api_key/Work is attached to fast (priority 1), gpt-4o (priority 1)"
    assert "--force" in info.value.hint
    assert [r["id"] for r in db_rows(db_path)] == [cid]
    assert keystore.secrets == {cid: KEY_A}


def test_remove_force_detaches_everywhere_closes_gaps_and_reports_empty_models(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    a = connected(label="A", key=KEY_B).connection.id
    b = connected(label="B", key=KEY_C).connection.id
    add_model(db_path, "gpt-4o", [a, cid, b])
    add_model(db_path, "solo", [cid])
    result = connections.remove(app_ctx, "Work", force=True)
    assert result.detached_from == ["gpt-4o", "solo"]
    assert result.left_without_connections == ["solo"]
    assert attachments(db_path) == [("gpt-4o", a, 1), ("gpt-4o", b, 2)]
    assert cid not in keystore.secrets


def test_remove_of_a_keyless_connection_does_not_touch_the_keyring(db_path, connected):
    spy = NoKeyringCalls()
    ctx = AppContext(db_path=db_path, user="alice", environ={}, keystore_factory=lambda: spy, clock=lambda: NOW)
    connected("ollama", label="Laptop", ctx=ctx)
    connections.remove(ctx, "Laptop")
    assert spy.calls == []
    assert db_rows(db_path) == []


def test_remove_without_a_keyring_refuses_before_deleting(app_ctx, db_path, keystore, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    ctx = AppContext(db_path=db_path, user="alice", environ={}, keystore_factory=lambda: MemoryKeyStore(fail=True),
                     clock=lambda: NOW)
    with pytest.raises(SecretStoreError) as info:
        connections.remove(ctx, "Work")
    assert info.value.exit_code == 6
    assert [r["id"] for r in db_rows(db_path)] == [cid]  # not half-removed: the secret would be orphaned
    assert keystore.secrets == {cid: KEY_A}


def test_remove_a_legacy_row(app_ctx, db_path):
    add_legacy(db_path, label="Old")
    assert connections.remove(app_ctx, "Old").connection.agent == "bot"
    assert db_rows(db_path) == []
