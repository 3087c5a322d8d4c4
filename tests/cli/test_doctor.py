"""`provctl doctor`: findings, exit 0 healthy / 1 otherwise, --fix."""

import sqlite3

KEY = "sk-proj-doctor-0000000000001234"




def _check(report, name):
    return next(c for c in report["checks"] if c["check"] == name)


def test_doctor_is_healthy_on_a_fresh_database(cli):
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.stderr
    report = __import__("json").loads(result.stdout)
    assert report["healthy"] is True
    assert [c["check"] for c in report["checks"]] == [
        "schema", "integrity", "keyring", "secrets", "keyring journal", "lift undo keys", "legacy", "models"]


def test_doctor_reports_a_key_deleted_behind_its_back_and_fix_forgets_it(cli, keystore):
    cid = cli.connect("openai", "--label", "Work", key=KEY)
    del keystore.secrets[cid]
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    report = __import__("json").loads(result.stdout)
    assert _check(report, "secrets") == {
        "check": "secrets", "ok": False,
        "detail": "1 connection(s) whose key is missing from the keyring",
        "items": ["openai/api_key/Work"],
        "hint": "`provctl doctor --fix` forgets them; then give each a key with `provctl providers set-key`"}
    fixed = cli("doctor", "--fix", "--json")
    assert fixed.exit_code == 0, fixed.stdout
    assert cli.json("providers", "list", "--json")[0]["status"] == "no_key"


def test_doctor_fails_on_legacy_rows_and_names_them(cli, db_path):
    cli.connect("openai", "--label", "Work", key=KEY)
    with sqlite3.connect(db_path) as conn:
        uid = conn.execute("SELECT id FROM users").fetchone()[0]
        conn.execute("INSERT INTO agents (id, user_id, name, name_key, created_at) VALUES "
                     "('a1', ?, 'bot', 'bot', '2026-01-01T00:00:00.000000Z')", (uid,))
        conn.execute(
            "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
            "enabled, key_stored, key_source, created_at, updated_at) VALUES ('c-legacy', ?, 'a1', "
            "'openai', 'api_key', 'Default', 'default', 1, 0, 'keyring', "
            "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')", (uid,))
    result = cli("doctor")
    assert result.exit_code == 1
    assert "legacy: openai/api_key/Default (agent bot)" in result.stderr


def test_doctor_without_a_keyring_backend_reports_it(cli, keystore):
    keystore.fail = True
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    report = __import__("json").loads(result.stdout)
    assert _check(report, "keyring")["ok"] is False
