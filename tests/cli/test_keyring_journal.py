"""Every secret accounted for (SPEC §5, issue 10 findings 10 and 11): keyring writes and
deletes are journaled in the database (connection id and operation, never the secret), a
keyring delete that fails is a `Warning:` naming the connection and `provctl doctor --fix`
with exit 6 even though the row is gone, and `doctor` reports (and `--fix` completes or
undoes) whatever an interruption or a failure left behind."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3

import pytest

from provctl.db.uow import UnitOfWork
from provctl.errors import SecretStoreError
from provctl.keystore import HINT, MemoryKeyStore
from tests.support.checks import sql

KEY_A = "sk-proj-journal-aaaaaaaaaaaaaaaaaaaaaaaa"
KEY_B = "sk-proj-journal-bbbbbbbbbbbbbbbbbbbbbbbb"
FIX = "run `provctl doctor --fix` to finish it"


class FlakyKeyStore(MemoryKeyStore):
    """A memory key store whose deletes (or writes, after ``sets_before_failing``) fail."""

    def __init__(self):
        super().__init__()
        self.delete_fails: str | None = None
        self.sets_before_failing: int | None = None
        self.on_set = None

    def set(self, connection_id, secret):
        if self.sets_before_failing is not None:
            if self.sets_before_failing == 0:
                raise SecretStoreError("the keyring could not store a secret (its backend raised RuntimeError)",
                                       hint=HINT)
            self.sets_before_failing -= 1
        if self.on_set is not None:
            self.on_set(connection_id)
        super().set(connection_id, secret)

    def delete(self, connection_id):
        if self.delete_fails:
            raise SecretStoreError(self.delete_fails, hint=HINT)
        super().delete(connection_id)


@pytest.fixture
def keystore() -> FlakyKeyStore:
    return FlakyKeyStore()


def journal(db_path):
    return sql(db_path, "SELECT connection_id, operation, connection_ref FROM keyring_journal")


def doctor(cli, *args):
    result = cli("doctor", "--json", *args)
    report = json.loads(result.stdout)
    return result.exit_code, report, next(c for c in report["checks"] if c["check"] == "keyring journal")


# ---------------------------------------------------------------- a keyring delete that fails


REASONS = [
    "the keyring could not delete a secret (its backend raised RuntimeError)",
    "the keyring did not answer within 5 s (delete a secret)",
]


@pytest.mark.parametrize("reason", REASONS)
def test_remove_whose_keyring_delete_fails_warns_exits_6_and_doctor_fix_deletes_it(cli, keystore, db_path, reason):
    cid = cli.connect("openai", "--label", "Old", key=KEY_A)
    keystore.delete_fails = reason
    result = cli("providers", "remove", "Old")
    assert result.exit_code == 6
    assert result.stdout == ""
    assert result.stderr == (
        "Removed openai/api_key/Old.\n"
        f"Warning: the keyring entry of openai/api_key/Old [{cid[:8]}] was not deleted ({reason}); {FIX}\n")
    assert sql(db_path, "SELECT count(*) FROM connections") == [(0,)]  # the row is gone
    assert keystore.secrets == {cid: KEY_A}
    assert journal(db_path) == [(cid, "delete", "openai/api_key/Old")]

    code, report, check = doctor(cli)
    assert code == 1 and check["ok"] is False
    assert check["items"] == [
        f"openai/api_key/Old [{cid[:8]}]: deleting its secret from the keyring did not finish "
        f"(started {sql(db_path, 'SELECT started_at FROM keyring_journal')[0][0]}); the keyring may still hold it"]

    keystore.delete_fails = None
    code, report, check = doctor(cli, "--fix")
    assert code == 0, report
    assert report["fixed"] == [f"openai/api_key/Old [{cid[:8]}]: deleted its secret from the keyring"]
    assert keystore.secrets == {} and journal(db_path) == []


def test_remove_json_lists_the_leftover_and_exits_6(cli, keystore):
    cid = cli.connect("openai", "--label", "Old", key=KEY_A)
    keystore.delete_fails = REASONS[0]
    result = cli("providers", "remove", "Old", "--json")
    assert result.exit_code == 6
    assert json.loads(result.stdout)["keyring_leftovers"] == [
        {"id": cid, "connection": "openai/api_key/Old", "reason": REASONS[0]}]
    assert result.stderr.startswith("Warning: the keyring entry of openai/api_key/Old")


def test_remove_while_the_keyring_lock_is_held_warns_and_exits_6(cli, app_ctx, db_path, monkeypatch):
    from provctl import keystore as keystore_module

    class DictBackend:
        secrets: dict = {}

        def get_password(self, service, user):
            return self.secrets.get((service, user))

        def set_password(self, service, user, secret):
            self.secrets[(service, user)] = secret

        def delete_password(self, service, user):
            self.secrets.pop((service, user), None)

    monkeypatch.setattr(keystore_module, "select_backend", DictBackend)
    lock = db_path.with_name(db_path.name + ".keyring.lock")
    app_ctx._keystore = keystore_module.KeyringStore(lock, deadline=0.3)
    cid = cli.connect("openai", "--label", "Old", key=KEY_A)
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process is using the keyring
    try:
        result = cli("providers", "remove", "Old")
    finally:
        os.close(fd)
    assert result.exit_code == 6
    assert f"Warning: the keyring entry of openai/api_key/Old [{cid[:8]}] was not deleted (the keyring lock " \
        in result.stderr and FIX in result.stderr
    assert DictBackend.secrets == {("provctl", cid): KEY_A}
    assert doctor(cli, "--fix")[0] == 0
    assert DictBackend.secrets == {}


def test_connect_replace_with_key_env_whose_delete_fails_warns_and_exits_6(cli, keystore, db_path):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    keystore.delete_fails = REASONS[0]
    result = cli("connect", "openai", "--label", "Work", "--key-env", "WORK_KEY", "--replace")
    assert result.exit_code == 6
    assert result.stderr == (
        f"Replaced the credential of openai/api_key/Work ({cid[:8]}).\n"
        f"Warning: the keyring entry of openai/api_key/Work [{cid[:8]}] was not deleted ({REASONS[0]}); {FIX}\n")
    assert sql(db_path, "SELECT key_stored, key_env FROM connections") == [(0, "WORK_KEY")]
    assert journal(db_path) == [(cid, "delete", "openai/api_key/Work")]
    keystore.delete_fails = None
    assert doctor(cli, "--fix")[0] == 0
    assert keystore.secrets == {}


def test_connect_replace_with_key_env_deletes_the_old_secret(cli, keystore, db_path):
    cli.connect("openai", "--label", "Work", key=KEY_A)
    assert cli("connect", "openai", "--label", "Work", "--key-env", "WORK_KEY", "--replace").exit_code == 0
    assert keystore.secrets == {} and journal(db_path) == []


# ---------------------------------------------------------------- the undo after a failed database write


def test_a_failed_insert_whose_keyring_undo_fails_warns_and_doctor_fix_deletes_the_secret(cli, keystore, db_path):
    sql(db_path, "CREATE TRIGGER boom BEFORE INSERT ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    keystore.delete_fails = REASONS[0]
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", input=KEY_A)
    assert result.exit_code == 1
    [(cid, secret)] = keystore.secrets.items()
    lines = result.stderr.splitlines()
    assert lines[0] == (f"Warning: openai/api_key/Work [{cid[:8]}]: the key just stored could not be removed "
                        f"again; {FIX}")
    assert lines[1] == f"Error: database error on the database {db_path}: boom"
    assert KEY_A not in result.stderr
    assert journal(db_path) == [(cid, "set", "openai/api_key/Work")]

    sql(db_path, "DROP TRIGGER boom")
    code, report, check = doctor(cli)
    assert code == 1
    assert check["items"][0].startswith(f"openai/api_key/Work [{cid[:8]}]: storing a key was interrupted "
                                        "before the connection was saved")
    keystore.delete_fails = None
    code, report, _ = doctor(cli, "--fix")
    assert code == 0
    assert report["fixed"] == [f"openai/api_key/Work [{cid[:8]}]: deleted its secret from the keyring "
                               "(the interrupted write was undone)"]
    assert keystore.secrets == {}


def test_a_failed_insert_whose_undo_works_leaves_no_journal_entry(cli, keystore, db_path):
    sql(db_path, "CREATE TRIGGER boom BEFORE INSERT ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    assert cli("connect", "openai", "--label", "Work", "--key-stdin", input=KEY_A).exit_code == 1
    assert keystore.secrets == {} and journal(db_path) == []


def test_a_failed_set_key_whose_restore_fails_is_completed_by_doctor_fix(cli, keystore, db_path):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    sql(db_path, "CREATE TRIGGER boom BEFORE UPDATE ON connections BEGIN SELECT RAISE(ABORT, 'boom'); END")
    keystore.sets_before_failing = 1  # the new key is stored; putting the old one back fails
    result = cli("providers", "set-key", "Work", "--key-stdin", input=KEY_B)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"Warning: openai/api_key/Work [{cid[:8]}]: its previous key could not be put back; {FIX}")
    assert keystore.secrets == {cid: KEY_B}
    assert sql(db_path, "SELECT key_hint FROM connections") == [("sk-p…aaaa",)]  # still the old key's
    sql(db_path, "DROP TRIGGER boom")
    keystore.sets_before_failing = None

    code, report, check = doctor(cli)
    assert check["items"][0].startswith(f"openai/api_key/Work [{cid[:8]}]: a key change was interrupted")
    code, report, _ = doctor(cli, "--fix")
    assert code == 0, report
    assert report["fixed"] == [f"openai/api_key/Work [{cid[:8]}]: the database now describes the key in the "
                               "keyring (the interrupted key change was completed)"]
    assert sql(db_path, "SELECT key_hint FROM connections") == [("sk-p…bbbb",)]
    assert journal(db_path) == []


# ---------------------------------------------------------------- the journal itself


def test_the_journal_is_committed_before_the_keyring_write_and_holds_no_secret(cli, keystore, db_path):
    seen = []

    def on_set(cid):  # what another process sees in the database while the keyring is written
        seen.append(journal(db_path))

    keystore.on_set = on_set
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    assert seen == [[(cid, "set", "openai/api_key/Work")]]
    assert cli("providers", "set-key", "Work", "--key-stdin", input=KEY_B).exit_code == 0
    assert seen[1] == [(cid, "set", "openai/api_key/Work")]
    assert journal(db_path) == []
    inventory = db_path.with_name("inv.json")
    inventory.write_text(json.dumps({"connections": [
        {"agent": "bot", "provider": "openai", "auth_type": "api_key", "label": "Default", "key": KEY_A}]}))
    assert cli("import", str(inventory)).exit_code == 0
    assert [(op, ref) for _cid, op, ref in seen[2]] == [("set", "openai/api_key/Default (agent bot)")]
    assert journal(db_path) == []
    for blob in [repr(s) for s in seen]:
        assert KEY_A not in blob and KEY_B not in blob


def test_connect_starts_over_when_another_process_wrote_before_the_keyring_write(cli, keystore, db_path, monkeypatch):
    real = UnitOfWork.checkpoint
    calls = []

    def checkpoint(self):
        calls.append(real(self))
        return len(calls) > 1  # the first time, as if another process had committed meanwhile

    monkeypatch.setattr(UnitOfWork, "checkpoint", checkpoint)
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    assert len(calls) == 2
    assert keystore.secrets == {cid: KEY_A}
    assert sql(db_path, "SELECT id FROM connections") == [(cid,)]
    assert journal(db_path) == []


def test_checkpoint_sees_a_commit_of_another_connection(app_ctx, db_path, monkeypatch):
    with app_ctx.uow() as uow:
        assert uow.checkpoint() is True
    with app_ctx.uow() as uow:
        session = uow.session
        real_commit = session.commit

        def commit_then_another_writer():
            real_commit()
            other = sqlite3.connect(db_path, isolation_level=None)
            other.execute("INSERT INTO users (id, name, name_key, created_at) VALUES ('u2', 'bob', 'bob', 'T')")
            other.close()

        monkeypatch.setattr(session, "commit", commit_then_another_writer)
        assert uow.checkpoint() is False


def test_doctor_fix_changes_nothing_in_a_damaged_database(cli, keystore, db_path):
    cid = cli.connect("openai", "--label", "Work", key=KEY_A)
    del keystore.secrets[cid]
    sql(db_path, "PRAGMA wal_checkpoint(TRUNCATE)")
    before = db_path.read_bytes()
    page = 4096
    damaged = bytearray(before)
    damaged[page * 12 + 8:page * 12 + 12] = b"\xff" * 4  # cell pointers of an index page
    db_path.write_bytes(bytes(damaged))
    result = cli("doctor", "--fix", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["fixed"] == []
    assert report["not_fixed"] == ["nothing was changed: the database failed its checks; restore it from a "
                                   "provctl.db.bak-* copy first"]
    assert db_path.read_bytes() == bytes(damaged)


def test_an_unexpected_library_error_is_reported_by_its_type_only(cli, monkeypatch):
    from provctl.services import connections

    def broken(*args, **kwargs):
        raise ValueError(f"cannot parse {KEY_A}")

    monkeypatch.setattr(connections, "list_connections", broken)
    result = cli("providers", "list")
    assert result.exit_code == 1
    assert result.stderr == "Error: unexpected ValueError\nHint: run with PROVCTL_DEBUG=1 and report it\n"
