"""`provctl connect` through the CLI: exit codes, whole JSON documents, stderr, DB and keyring state."""

from __future__ import annotations

import sqlite3

import pytest

from provctl.keystore import MemoryKeyStore
from tests.support.checks import assert_error

KEY_A = "sk-proj-AAAAAAAAAAAAAAAAAAAAaaaa"
KEY_B = "sk-proj-BBBBBBBBBBBBBBBBBBBBbbbb"
STAMP = "2026-11-21T12:00:00.000000Z"
KNOWN = "openai, anthropic, openrouter, gemini, mistral, groq, deepseek, xai, ollama, openai-compatible"


def rows(db_path):
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM connections ORDER BY rowid")]
    finally:
        conn.close()


def counts(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("users", "agents", "connections"))
    finally:
        conn.close()


def view(cid, **changes):
    base = {
        "id": cid, "provider": "openai", "auth_type": "api_key", "label": "Work", "status": "active",
        "key_hint": "sk-p…aaaa", "base_url": None, "models": 0, "attached_models": 0, "agent": None,
        "created_at": STAMP,
    }
    base.update(changes)
    return base


# ---------------------------------------------------------------- success


def test_connect_with_key_stdin_stores_the_key_and_says_so_on_stderr(cli, keystore, db_path):
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", input=KEY_A + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    [row] = rows(db_path)
    assert result.stderr == f"Connected openai/api_key/Work ({row['id'][:8]}).\n"
    assert keystore.secrets == {row["id"]: KEY_A}
    assert KEY_A not in result.stdout + result.stderr


def test_connect_json_prints_the_whole_connection(cli):
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY_A)
    assert doc == {"action": "created", **view(doc["id"])}
    assert list(doc) == ["action", "id", "provider", "auth_type", "label", "status", "key_hint", "base_url",
                         "models", "attached_models", "agent", "created_at"]


def test_connect_same_key_again_is_idempotent(cli, keystore, db_path):
    first = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY_A)
    before = rows(db_path)
    result = cli("connect", "openai", "--label", "WORK", "--key-stdin", input=KEY_A)
    assert result.exit_code == 0
    assert result.stderr == "openai/api_key/Work is already connected with this key; nothing changed.\n"
    again = cli.json("connect", "openai", "--label", "work", "--key-stdin", "--json", input=KEY_A)
    assert again == {"action": "unchanged", **view(first["id"])}
    assert rows(db_path) == before
    assert keystore.secrets == {first["id"]: KEY_A}


def test_connect_same_key_reenables_a_disabled_connection(cli):
    cid = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY_A)["id"]
    cli.json("providers", "disable", cid, "--json")
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", input=KEY_A)
    assert (result.exit_code, result.stderr) == (0, "openai/api_key/Work was disabled and is enabled again.\n")
    assert cli.json("providers", "show", cid, "--json")["status"] == "active"


def test_connect_different_key_is_exit_4_unless_replace(cli, keystore, db_path):
    cid = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY_A)["id"]
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", input=KEY_B)
    assert_error(result, 4, "openai/api_key/Work already exists with a different key",
                 "add --replace to store the new values in it, or choose another --label")
    assert keystore.secrets == {cid: KEY_A}

    cli.json("providers", "disable", "Work", "--json")
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--replace", "--json", input=KEY_B)
    assert doc == {"action": "replaced", **view(cid, key_hint="sk-p…bbbb")}
    assert keystore.secrets == {cid: KEY_B}
    assert len(rows(db_path)) == 1
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--replace", input=KEY_A)
    assert (result.exit_code, result.stderr) == (0, f"Replaced the credential of openai/api_key/Work ({cid[:8]}).\n")


@pytest.mark.parametrize(
    "extra, what",
    [
        (["--key-env", "OPENAI_API_KEY"], "--key-env"),
        (["--base-url", "https://proxy.example.com/v1"], "base URL"),
    ],
)
def test_connect_different_key_env_or_base_url_is_exit_4(cli, db_path, extra, what):
    cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY_A)
    before = rows(db_path)
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", *extra, input=KEY_A)
    assert_error(result, 4, f"openai/api_key/Work already exists with a different {what}")
    assert rows(db_path) == before


def test_connect_different_expiry_is_exit_4(cli):
    args = ("connect", "openai", "--auth", "subscription", "--label", "Plus", "--key-stdin")
    cli.json(*args, "--expires-at", "2027-01-01T00:00:00Z", "--json", input=KEY_A)
    result = cli(*args, "--expires-at", "2027-06-01T00:00:00Z", input=KEY_A)
    assert_error(result, 4, "openai/subscription/Plus already exists with a different expiry")


def test_connect_replace_with_a_key_another_connection_holds_is_exit_4(cli, keystore):
    work = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--json", input=KEY_A)["id"]
    home = cli.json("connect", "openai", "--label", "Home", "--key-stdin", "--json", input=KEY_B)["id"]
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--replace", input=KEY_B)
    assert_error(result, 4, f"this key is already stored on openai/api_key/Home [{home[:8]}]")
    assert keystore.secrets == {work: KEY_A, home: KEY_B}


def test_same_key_with_a_new_label_on_a_disabled_connection_takes_the_new_label(cli, keystore, db_path):
    cid = cli.json("connect", "openai", "--label", "Old", "--key-stdin", "--json", input=KEY_A)["id"]
    cli.json("providers", "disable", "Old", "--json")
    result = cli("connect", "openai", "--label", "New", "--key-stdin", input=KEY_A)
    assert result.exit_code == 0
    assert result.stderr == (
        f"This key belonged to the disabled connection 'Old'; it is enabled again as openai/api_key/New ({cid[:8]}).\n"
    )
    assert cli.json("providers", "list", "--json") == [view(cid, label="New")]
    assert keystore.secrets == {cid: KEY_A}
    assert len(rows(db_path)) == 1


def test_same_key_with_a_new_label_on_an_enabled_connection_is_exit_4_naming_it(cli, db_path):
    cid = cli.json("connect", "openai", "--label", "Old", "--key-stdin", "--json", input=KEY_A)["id"]
    result = cli("connect", "openai", "--label", "New", "--key-stdin", input=KEY_A)
    assert_error(result, 4, f"this key is already stored on openai/api_key/Old [{cid[:8]}]")
    assert [r["label"] for r in rows(db_path)] == ["Old"]


def test_key_env_records_the_name_only(cli, environ, keystore):
    doc = cli.json("connect", "openai", "--label", "CI", "--key-env", "CI_OPENAI_KEY", "--json")
    assert doc == {"action": "created", **view(doc["id"], label="CI", status="no_key", key_hint=None)}
    assert keystore.secrets == {}
    environ["CI_OPENAI_KEY"] = KEY_A
    assert cli.json("providers", "list", "--json")[0]["status"] == "active"
    shown = cli.json("providers", "show", "CI", "--json")
    assert (shown["key_env"], shown["key_source"], shown["credential_source"]) == ("CI_OPENAI_KEY", "keyring,env", "env")


def test_connect_with_agent_records_connected_via(cli):
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--agent", "support-bot", "--json",
                   input=KEY_A)
    assert doc["agent"] is None
    assert cli.json("providers", "show", doc["id"], "--json")["connected_via"] == "support-bot"
    assert [a["name"] for a in cli.json("agent", "list", "--json")] == ["support-bot"]


def test_connect_local_provider_needs_no_key(cli, keystore):
    doc = cli.json("connect", "ollama", "--label", "Laptop", "--json")
    assert doc == {"action": "created", **view(doc["id"], provider="ollama", auth_type="local", label="Laptop",
                                               key_hint=None)}
    assert keystore.secrets == {}


def test_connect_openai_compatible_with_base_url(cli):
    doc = cli.json("connect", "openai-compatible", "--base-url", "http://127.0.0.1:8000/v1/", "--auth", "local",
                   "--json")
    assert (doc["provider"], doc["auth_type"], doc["label"], doc["base_url"]) == (
        "openai-compatible", "local", "Default", "http://127.0.0.1:8000/v1")


def test_an_expiry_in_the_past_is_accepted_as_expired(cli):
    doc = cli.json("connect", "anthropic", "--auth", "subscription", "--key-stdin", "--expires-at", "2020-01-01",
                   "--json", input=KEY_A)
    assert doc["status"] == "expired"
    assert cli.json("providers", "show", doc["id"], "--json")["expires_at"] == "2020-01-01T00:00:00.000000Z"


# ---------------------------------------------------------------- usage errors (exit 2), nothing written


@pytest.mark.parametrize("key", ["", "   \n", "\n\n"])
def test_an_empty_key_is_exit_2(cli, keystore, db_path, key):
    result = cli("connect", "openai", "--key-stdin", "--agent", "bot", input=key)
    # the hint tells how to pipe a key, not to use the --key-stdin that was given
    assert_error(result, 2, "stdin held no key", 'pipe the key itself, e.g. printf %s "$KEY" | provctl ... --key-stdin')
    assert counts(db_path) == (0, 0, 0)
    assert keystore.secrets == {}


def test_no_key_and_no_key_env_is_exit_2(cli, db_path):
    result = cli("connect", "openai", "--label", "Work")
    assert_error(result, 2, "an api_key connection needs a key",
                 "pipe it with --key-stdin, type it at the prompt, or name a variable with --key-env VAR")
    assert counts(db_path) == (0, 0, 0)


def test_a_key_piped_without_key_stdin_is_not_read(cli, db_path):
    result = cli("connect", "openai", input=KEY_A)
    assert_error(result, 2, "an api_key connection needs a key")
    assert counts(db_path) == (0, 0, 0)


@pytest.mark.parametrize("args", [["--key-stdin"], ["--key-env", "OLLAMA_KEY"]])
def test_a_key_on_a_local_connection_is_exit_2(cli, db_path, args):
    result = cli("connect", "ollama", *args, input=KEY_A)
    assert_error(result, 2, "a local connection takes no key")
    assert counts(db_path) == (0, 0, 0)


def test_expires_at_on_an_api_key_connection_is_exit_2(cli, db_path):
    result = cli("connect", "openai", "--key-stdin", "--expires-at", "2030-01-01", input=KEY_A)
    assert_error(result, 2, "--expires-at applies to subscription connections only")
    assert counts(db_path) == (0, 0, 0)


def test_an_unparsable_expires_at_is_exit_2(cli, db_path):
    result = cli("connect", "openai", "--auth", "subscription", "--key-stdin", "--expires-at", "next week",
                 input=KEY_A)
    assert_error(result, 2, "cannot parse time 'next wee…' (9 characters)",
                 "use ISO-8601, e.g. 2026-12-31T23:59:00Z")
    assert counts(db_path) == (0, 0, 0)


def test_an_unknown_provider_is_exit_2_listing_the_known_ones(cli, db_path):
    result = cli("connect", "openia", "--key-stdin", input=KEY_A)
    assert_error(result, 2, "unknown provider 'openia'", f"known providers: {KNOWN}")
    assert counts(db_path) == (0, 0, 0)


def test_openai_compatible_without_base_url_is_exit_2(cli, db_path):
    result = cli("connect", "openai-compatible", "--key-stdin", input=KEY_A)
    assert_error(result, 2, "openai-compatible needs --base-url")
    assert counts(db_path) == (0, 0, 0)


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com/v1", "'ftp://ex…' (20 characters): the scheme must be http or https"),
    ("https://", "'https://': it has no host"),
    ("localhost:8000", "'localhos…' (14 characters): the scheme must be http or https"),
])
def test_a_bad_base_url_is_exit_2(cli, db_path, url, problem):
    result = cli("connect", "openai", "--key-stdin", "--base-url", url, input=KEY_A)
    assert_error(result, 2, f"invalid base URL {problem}",
                 "a base URL is http:// or https:// with a host, e.g. https://api.openai.com/v1")
    assert counts(db_path) == (0, 0, 0)


@pytest.mark.parametrize(
    "label, error",
    [
        ("", "label must not be empty"),
        ("   ", "label must not be empty"),
        ("x" * 65, "label is 65 characters long; the limit is 64"),
        ("Wo\x07rk", "label contains a control character (U+0007)"),
        ("Work\u202e", "label contains a control character (U+202E)"),
        ("\u2066Work", "label contains a control character (U+2066)"),
    ],
)
def test_an_invalid_label_is_exit_2(cli, keystore, db_path, label, error):
    result = cli("connect", "openai", "--label", label, "--key-stdin", input=KEY_A)
    assert_error(result, 2, error)
    assert counts(db_path) == (0, 0, 0)
    assert keystore.secrets == {}


def test_a_folded_duplicate_label_is_the_same_connection(cli):
    cli.json("connect", "openai", "--label", "Straße", "--key-stdin", "--json", input=KEY_A)
    result = cli("connect", "openai", "--label", "STRASSE", "--key-stdin", input=KEY_B)
    assert_error(result, 4, "openai/api_key/Straße already exists with a different key")
    cli.json("connect", "openai", "--label", "Ｗｏｒｋ", "--key-stdin", "--json", input=KEY_B)
    result = cli("connect", "openai", "--label", "work", "--key-stdin", input=KEY_A)
    assert result.exit_code == 4


def test_an_unknown_option_is_exit_2(cli):
    result = cli("connect", "openai", "--key", KEY_A)
    assert result.exit_code == 2
    assert "No such option" in result.stderr


# ---------------------------------------------------------------- no keyring (exit 6), nothing written


def test_no_keyring_backend_is_exit_6_and_nothing_is_written(cli, app_ctx, db_path):
    app_ctx.keystore_factory = lambda: MemoryKeyStore(fail=True)
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--agent", "bot", input=KEY_A)
    assert_error(
        result, 6, "no usable keyring backend (test double)",
        "start a Secret Service such as gnome-keyring (or KWallet / macOS Keychain), name a backend "
        "explicitly with PYTHON_KEYRING_BACKEND, or keep the key in an environment variable with "
        "--key-env VAR",
    )
    assert counts(db_path) == (0, 0, 0)


def test_key_env_works_without_a_keyring(cli, app_ctx):
    app_ctx.keystore_factory = lambda: MemoryKeyStore(fail=True)
    doc = cli.json("connect", "openai", "--label", "CI", "--key-env", "OPENAI_API_KEY", "--json")
    assert doc["status"] == "no_key"


def test_a_database_failure_after_the_keyring_write_removes_the_entry(cli, keystore, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("CREATE TRIGGER boom BEFORE INSERT ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    conn.close()
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", input=KEY_A)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: database error on the database {db_path}: boom"
    assert lines[1].startswith("Hint: ")
    assert len(lines) == 2
    assert KEY_A not in result.stderr
    assert keystore.secrets == {}
    assert counts(db_path) == (0, 0, 0)


@pytest.mark.parametrize("agent", ["", "   "])
def test_an_empty_agent_name_is_exit_2(cli, keystore, db_path, agent):
    result = cli("connect", "openai", "--key-stdin", "--agent", agent, input=KEY_A)
    assert_error(result, 2, "agent name must not be empty", "give an agent name of 1–64 characters")
    assert counts(db_path) == (0, 0, 0)
    assert keystore.secrets == {}


def test_an_expiry_out_of_range_is_exit_2(cli, db_path):
    result = cli("connect", "openai", "--auth", "subscription", "--key-stdin", "--expires-at",
                 "0001-01-01T00:00:00+01:00", input=KEY_A)
    assert_error(result, 2, "cannot parse time '0001-01-…' (25 characters)")
    assert counts(db_path) == (0, 0, 0)
