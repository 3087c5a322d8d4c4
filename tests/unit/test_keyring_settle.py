"""`services.keys.settle` (`doctor --fix`): each kind of unfinished keyring journal entry is
completed or undone, as a kill -9 at that moment would have left it."""

from __future__ import annotations

import sqlite3

from provctl.db import journal as journal_db
from provctl.services import doctor, keys

KEY_A = "sk-proj-settle-aaaaaaaaaaaaaaaaaaaaaaaa"
KEY_B = "sk-proj-settle-bbbbbbbbbbbbbbbbbbbbbbbb"
GHOST = "12345678-0000-4000-8000-00000000abcd"


def journal(app_ctx, operation, cid, ref="openai/api_key/Work"):
    with app_ctx.uow() as uow:
        journal_db.journal(uow, operation, {cid: ref}, app_ctx.stamp())
        uow.commit()


def entries(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT connection_id, operation FROM keyring_journal").fetchall()
    finally:
        conn.close()


def hint(db_path, cid):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT key_hint FROM connections WHERE id = ?", (cid,)).fetchone()[0]
    finally:
        conn.close()


def test_killed_after_the_keyring_write_of_a_new_connection_the_secret_is_deleted(app_ctx, keystore, db_path):
    journal(app_ctx, "set", GHOST)
    keystore.secrets[GHOST] = KEY_A
    assert [c.ok for c in doctor.run(app_ctx).checks if c.name == "keyring journal"] == [False]
    done, failed = keys.settle(app_ctx)
    assert failed == [] and done == [
        f"openai/api_key/Work [{GHOST[:8]}]: deleted its secret from the keyring (the interrupted write was undone)"]
    assert keystore.secrets == {} and entries(db_path) == []


def test_killed_before_the_keyring_write_there_is_nothing_to_delete(app_ctx, keystore, db_path):
    journal(app_ctx, "set", GHOST)
    assert keys.settle(app_ctx)[1] == []
    assert entries(db_path) == []


def test_killed_between_the_keyring_write_and_the_commit_of_a_key_change_it_is_completed(
        app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    journal(app_ctx, "set", cid)
    keystore.secrets[cid] = KEY_B  # the new key was written; the row still describes the old one
    done, _ = keys.settle(app_ctx)
    assert done == [f"openai/api_key/Work [{cid[:8]}]: the database now describes the key in the keyring "
                    "(the interrupted key change was completed)"]
    assert hint(db_path, cid) == "sk-p…bbbb"


def test_killed_before_the_keyring_write_of_a_key_change_nothing_changes(app_ctx, keystore, db_path, connected):
    cid = connected(label="Work", key=KEY_A).connection.id
    journal(app_ctx, "set", cid)
    done, _ = keys.settle(app_ctx)
    assert done == [f"openai/api_key/Work [{cid[:8]}]: the keyring and the database agree; nothing to change"]
    assert keystore.secrets == {cid: KEY_A} and hint(db_path, cid) == "sk-p…aaaa"


def test_a_pending_delete_is_finished_unless_a_row_claims_the_key(app_ctx, keystore, db_path, connected):
    journal(app_ctx, "delete", GHOST)
    keystore.secrets[GHOST] = KEY_A
    cid = connected(label="Work", key=KEY_B).connection.id
    journal(app_ctx, "delete", cid)
    done, failed = keys.settle(app_ctx)
    assert failed == []
    assert keystore.secrets == {cid: KEY_B}
    assert f"openai/api_key/Work [{cid[:8]}]: the connection claims its keyring entry; kept it" in done
    assert entries(db_path) == []


def test_a_keyring_entry_kept_for_a_lifts_undo_is_never_deleted(app_ctx, keystore, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("INSERT INTO lift_runs (id, all_users, merge_identical, created_at) VALUES ('r1', 0, 1, 'T')")
    conn.execute("INSERT INTO lift_run_rows (run_id, connection_id, position, action, former_agent_id, "
                 "former_label, new_label) VALUES ('r1', ?, 1, 'merge', 'a1', 'Default', 'Work')", (GHOST,))
    conn.close()
    journal(app_ctx, "set", GHOST)
    keystore.secrets[GHOST] = KEY_A
    done, _ = keys.settle(app_ctx)
    assert done == [f"openai/api_key/Work [{GHOST[:8]}]: its keyring entry is kept for a lift's --undo"]
    assert keystore.secrets == {GHOST: KEY_A} and entries(db_path) == []


def test_an_unreachable_keyring_leaves_the_entries_for_next_time(app_ctx, keystore, db_path):
    other = GHOST.replace("abcd", "abce")
    journal(app_ctx, "delete", GHOST)
    journal(app_ctx, "set", other, ref="openai/api_key/New")
    keystore.fail = True
    calls = []
    real_guard = keystore._guard
    keystore._guard = lambda: (calls.append(1), real_guard())
    done, failed = keys.settle(app_ctx)
    assert done == [] and failed == [
        f"openai/api_key/Work [{GHOST[:8]}]: no usable keyring backend (test double)",
        f"openai/api_key/New [{other[:8]}]: no usable keyring backend (test double)"]
    assert len(calls) == 1  # asked once: a keyring past its deadline would cost 5 s per entry
    assert sorted(entries(db_path)) == sorted([(GHOST, "delete"), (other, "set")])


def test_a_newer_operation_replaces_an_unfinished_one(app_ctx, db_path):
    journal(app_ctx, "set", GHOST)
    journal(app_ctx, "delete", GHOST, ref="openai/api_key/Renamed")
    assert entries(db_path) == [(GHOST, "delete")]
