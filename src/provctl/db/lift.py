"""The set-based SQL of `provctl migrate-lift` (SPEC §8), on plain values.

It runs on a stdlib ``sqlite3`` connection: the read-only one of a dry run, or the unit of
work's own driver connection (``uow.driver()``) inside its one ``BEGIN IMMEDIATE``
transaction, so 100,000 rows cost no per-row SQLAlchemy objects (executemany takes a
generator). The rules are ``domain.lift_rules``; the orchestration is ``services.lift``.

Apply: a temp table of the plan (one executemany), then one ``INSERT … SELECT`` for the run
record, one ``INSERT … SELECT`` of the grants it makes (SPEC §10: each lifted row, or a merged
row's target, to its former agent when that agent is ``listed`` and had no grant on it; the
record names them), one ``DELETE`` for merged rows and one ``UPDATE … FROM`` for the rest.
Undo: the run's rows with what became of them (one query), a temp table of the rows to
restore, then one ``DELETE`` of exactly the grants the run made, one ``INSERT`` of the merged
rows' snapshots and one ``UPDATE … FROM`` for the rest.
"""

from __future__ import annotations

import json
from typing import Iterable, Iterator, NamedTuple

from ..domain import Progress


class Scope(NamedTuple):
    """Whose connections a lift reads: the invoking user's id (None when the user has no row
    yet) and the WHERE clause over ``connections c``."""

    user_id: str | None
    where: str
    params: tuple


def scope(execute, user_key: str, all_users: bool) -> Scope | None:
    """The lift's scope, or None when nothing can be pending (an unknown user)."""
    uid = None
    for (found,) in execute("SELECT id FROM users WHERE name_key = ?", (user_key,)):
        uid = found
    if all_users:
        return Scope(uid, "c.user_id IN (SELECT user_id FROM connections WHERE agent_id IS NOT NULL)", ())
    if uid is None:
        return None
    return Scope(uid, "c.user_id = ?", (uid,))


def pending(execute, where: Scope) -> bool:
    """Is any legacy row waiting in the scope?"""
    if where.params:
        sql = "SELECT 1 FROM connections WHERE user_id = ? AND agent_id IS NOT NULL LIMIT 1"
    else:
        sql = "SELECT 1 FROM connections WHERE agent_id IS NOT NULL LIMIT 1"
    return any(True for _ in execute(sql, where.params))


def agents(execute, where: Scope) -> Iterable[tuple[str, str | None, str | None]]:
    """(id, display name, name) of the agents in the scope."""
    sql = "SELECT id, display_name, name FROM agents" + (" WHERE user_id = ?" if where.params else "")
    return execute(sql, where.params)


def count(execute, where: Scope) -> int:
    for (total,) in execute(f"SELECT count(*) FROM connections c WHERE {where.where}", where.params):
        return total
    return 0


def connections(execute, where: Scope) -> Iterable[tuple]:
    """Every connection of the scope, oldest first: (id, user id, agent id, provider, auth type,
    label, base URL, fingerprint of a stored key or None, enabled, rowid)."""
    return execute(
        "SELECT c.id, c.user_id, c.agent_id, c.provider, c.auth_type, c.label, c.base_url, "
        "CASE WHEN c.key_stored THEN c.key_fingerprint END, c.enabled, c.rowid "
        f"FROM connections c WHERE {where.where} ORDER BY c.created_at, c.rowid",
        where.params,
    )


def user_names(execute) -> dict[str, str]:
    return {uid: name for uid, name in execute("SELECT id, name FROM users", ())}


def tune(execute, cache_mb: int = 64) -> None:
    """A bigger page cache for this connection (the default 2 MB thrashes on the random-order
    index updates of 100,000 rows) and temp tables in memory."""
    execute(f"PRAGMA cache_size = -{cache_mb * 1024}", ())
    execute("PRAGMA temp_store = MEMORY", ())


def _id_table(db, name: str, ids: Iterable[str]) -> None:
    db.execute(f"DROP TABLE IF EXISTS temp.{name}")
    db.execute(f"CREATE TEMP TABLE {name} (id TEXT PRIMARY KEY)")
    db.executemany(f"INSERT INTO temp.{name} (id) VALUES (?)", ((i,) for i in ids))


def lists_listing(db, connection_ids: Iterable[str]) -> dict[str, list[str]]:
    """The priority lists (model id → connection ids) of the models that list any of
    ``connection_ids``."""
    _id_table(db, "lift_listed", connection_ids)
    lists: dict[str, list[str]] = {}
    for model_id, cid in db.execute(
        "SELECT t.model_id, t.connection_id FROM attachments t WHERE t.model_id IN "
        "(SELECT a.model_id FROM attachments a JOIN temp.lift_listed m ON m.id = a.connection_id) "
        "ORDER BY t.model_id, t.priority", ()
    ):
        lists.setdefault(model_id, []).append(cid)
    db.execute("DROP TABLE temp.lift_listed")
    return lists


def stage_plan(db, rows: Iterable[tuple]) -> None:
    """The plan as a temp table keyed by the connections' rowids (no index to build: every
    statement below scans it once and probes connections by rowid). ``rows``: (rowid, id,
    position, action, new label, new label key, merged into, moved-attachments JSON)."""
    db.execute("DROP TABLE IF EXISTS temp.lift_plan")
    db.execute(
        "CREATE TEMP TABLE lift_plan (rid INTEGER NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, "
        "action TEXT NOT NULL, new_label TEXT NOT NULL, new_label_key TEXT NOT NULL, "
        "merged_into TEXT, moved TEXT)"
    )
    db.executemany(
        "INSERT INTO temp.lift_plan (rid, id, position, action, new_label, new_label_key, merged_into, moved) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows,
    )


def _connection_columns(db) -> list[str]:
    return [row[1] for row in db.execute("PRAGMA table_info(connections)", ())]


def record_run(db, run_id: str, uid: str | None, *, all_users: bool, merge_identical: bool,
               backup: str, now: str) -> None:
    """The run and, per staged row, its former agent and label; a merged row's snapshot and the
    priority lists its merge changed; for the others, the models they are attached to now
    (after the moves), so that --undo can tell whether they were attached or detached since;
    and the grant the lift makes for the row (``granted``: the row itself, or a merged row's
    target) when its former agent is ``listed`` and holds no grant on it yet."""
    db.execute(
        "INSERT INTO lift_runs (id, user_id, all_users, merge_identical, backup, created_at, undone_at) "
        "VALUES (?, ?, ?, ?, ?, ?, NULL)",
        (run_id, uid, all_users, merge_identical, backup, now),
    )
    snapshot = "json_object('rowid', c.rowid, " + ", ".join(
        f"'{c}', c.{c}" for c in _connection_columns(db)) + (
        ", 'discovered_models', (SELECT json_group_array(json_array(d.model_id, d.discovered_at)) "
        "FROM discovered_models d WHERE d.connection_id = c.id))"
    )
    db.execute(
        "INSERT INTO lift_run_rows (run_id, connection_id, position, action, former_agent_id, "
        "former_label, new_label, merged_into, snapshot, moved_attachments, attached_models, granted) "
        "SELECT ?, p.id, p.position, p.action, c.agent_id, c.label, p.new_label, p.merged_into, "
        f"CASE WHEN p.action = 'merge' THEN {snapshot} END, p.moved, "
        "CASE WHEN p.action != 'merge' AND EXISTS (SELECT 1 FROM attachments t WHERE t.connection_id = p.id) "
        "THEN (SELECT json_group_array(model_id) FROM (SELECT t.model_id FROM attachments t "
        "WHERE t.connection_id = p.id ORDER BY t.model_id)) END, "
        "CASE WHEN g.access = 'listed' AND NOT EXISTS (SELECT 1 FROM agent_grants x WHERE "
        "x.agent_id = c.agent_id AND x.connection_id = COALESCE(p.merged_into, p.id)) "
        "THEN COALESCE(p.merged_into, p.id) END "
        "FROM temp.lift_plan p JOIN connections c ON c.rowid = p.rid "
        "LEFT JOIN agents g ON g.id = c.agent_id "
        "ORDER BY p.id",  # the primary key's order: index pages are appended, not split at random
        (run_id,),
    )


def grant_lifted(db, run_id: str, now: str) -> None:
    """The grants the run's record names (``record_run``): the lift takes no access away from
    a ``listed`` agent."""
    db.execute(
        "INSERT OR IGNORE INTO agent_grants (agent_id, connection_id, created_at) "
        "SELECT former_agent_id, granted, ? FROM lift_run_rows WHERE run_id = ? AND granted IS NOT NULL",
        (now, run_id),
    )


def apply_plan(db) -> None:
    """Merged rows go (their keyring entries stay, for --undo); the rest lose their agent and
    take their new labels. Setting ``agent_id``, ``label`` and ``label_key`` in one UPDATE
    keeps every intermediate state valid for both partial unique indexes."""
    db.execute("DELETE FROM connections WHERE rowid IN (SELECT rid FROM temp.lift_plan WHERE action = 'merge')")
    db.execute(
        "UPDATE connections SET agent_id = NULL, label = p.new_label, label_key = p.new_label_key "
        "FROM temp.lift_plan p WHERE connections.rowid = p.rid AND p.action != 'merge'"
    )
    db.execute("DROP TABLE temp.lift_plan")


# ---------------------------------------------------------------- undo


def runs_matching(execute, text: str) -> list[tuple[str, str | None]]:
    """(id, undone at) of the runs whose id is ``text`` or starts with it, oldest first."""
    like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return [tuple(r) for r in execute(
        "SELECT id, undone_at FROM lift_runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY created_at",
        (text, like),
    )]


class UndoFacts(NamedTuple):
    """One row of a run, and what became of it since."""

    connection_id: str
    action: str
    former_agent_id: str
    former_label: str
    new_label: str
    moved: str | None  # JSON of the priority lists a merge changed
    attached: str | None  # JSON: the models it was attached to right after the lift
    current_id: str | None  # None: no connection with that id now
    current_label: str | None
    current_agent_id: str | None
    current_attached: str | None  # JSON: the models it is attached to now
    agent_found: str | None  # the former agent's id if it still exists
    agent_name: str | None
    provider: str
    auth_type: str
    user_id: str | None
    granted_since: str  # JSON: the agents a kept/relabelled row was granted to since the lift


def undo_facts(execute, run_id: str) -> Iterator[UndoFacts]:
    for row in execute(
        "SELECT r.connection_id, r.action, r.former_agent_id, r.former_label, r.new_label, "
        "r.moved_attachments, r.attached_models, c.id, c.label, c.agent_id, "
        "(SELECT json_group_array(model_id) FROM (SELECT t.model_id FROM attachments t "
        "  WHERE t.connection_id = r.connection_id ORDER BY t.model_id)), "
        "a.id, a.name, "
        "COALESCE(c.provider, json_extract(r.snapshot, '$.provider')), "
        "COALESCE(c.auth_type, json_extract(r.snapshot, '$.auth_type')), "
        "COALESCE(c.user_id, json_extract(r.snapshot, '$.user_id')), "
        "(SELECT json_group_array(name) FROM (SELECT ga.name FROM agent_grants x "
        "  JOIN agents ga ON ga.id = x.agent_id WHERE x.connection_id = c.id "
        "  AND NOT (x.agent_id = r.former_agent_id AND r.granted IS c.id) ORDER BY ga.name_key)) "
        "FROM lift_run_rows r LEFT JOIN connections c ON c.id = r.connection_id "
        "LEFT JOIN agents a ON a.id = r.former_agent_id WHERE r.run_id = ? ORDER BY r.position",
        (run_id,),
    ):
        yield UndoFacts._make(row)


def models_now(db, model_ids: Iterable[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(model id → name, model id → its priority list now) of the models that still exist."""
    _id_table(db, "undo_models", model_ids)
    names = {mid: name for mid, name in db.execute(
        "SELECT m.id, m.name FROM models m JOIN temp.undo_models u ON u.id = m.id", ())}
    current: dict[str, list[str]] = {}
    for mid, cid in db.execute(
        "SELECT t.model_id, t.connection_id FROM attachments t JOIN temp.undo_models u "
        "ON u.id = t.model_id ORDER BY t.model_id, t.priority", ()):
        current.setdefault(mid, []).append(cid)
    db.execute("DROP TABLE temp.undo_models")
    return names, current


def stage_undo(db, targets: Iterable[tuple]) -> list[tuple]:
    """The rows to restore as a temp table ((id, action, former agent, provider, auth type,
    former label, its key)); returns the label clashes: rows whose former label a legacy row
    of the same agent, provider and auth type took since (an import after the lift), as
    (id, provider, auth type, label, agent name, other id, other label)."""
    db.execute("DROP TABLE IF EXISTS temp.undo_rows")
    db.execute(
        "CREATE TEMP TABLE undo_rows (id TEXT PRIMARY KEY, action TEXT NOT NULL, agent_id TEXT, "
        "provider TEXT, auth_type TEXT, label TEXT NOT NULL, label_key TEXT NOT NULL)"
    )
    db.executemany("INSERT INTO temp.undo_rows VALUES (?, ?, ?, ?, ?, ?, ?)", targets)
    return [tuple(r) for r in db.execute(
        "SELECT u.id, u.provider, u.auth_type, u.label, a.name, x.id, x.label FROM temp.undo_rows u "
        "JOIN connections x ON x.agent_id = u.agent_id AND x.provider = u.provider "
        "AND x.auth_type = u.auth_type AND x.label_key = u.label_key "
        "LEFT JOIN agents a ON a.id = u.agent_id "
        "WHERE x.id NOT IN (SELECT id FROM temp.undo_rows)", ()
    )]


def restore(db, run_id: str, total: int, progress: Progress | None) -> None:
    """Put the staged rows back: merged rows from their snapshots (with their rowid, their place
    in "oldest first", unless it is taken; and their discovered models), the rest to their
    former agent and label."""
    columns = _connection_columns(db)
    agent_ids = {aid for (aid,) in db.execute("SELECT id FROM agents", ())}
    taken = {rid for (rid,) in db.execute(
        "SELECT c.rowid FROM lift_run_rows r JOIN connections c ON c.rowid = json_extract(r.snapshot, '$.rowid') "
        "WHERE r.run_id = ? AND r.action = 'merge'", (run_id,))}
    inserts, discovered = [], []
    for (text,) in db.execute("SELECT snapshot FROM lift_run_rows WHERE run_id = ? AND action = 'merge' "
                              "ORDER BY position", (run_id,)):
        snap = json.loads(text)
        if snap.get("connected_via_agent_id") not in agent_ids:
            snap["connected_via_agent_id"] = None  # that agent was removed since (SET NULL)
        rowid = snap["rowid"] if snap["rowid"] not in taken else None
        inserts.append((rowid, *(snap.get(c) for c in columns)))
        discovered.extend((snap["id"], model_id, at) for model_id, at in snap.get("discovered_models") or ())
    db.executemany(
        f"INSERT INTO connections (rowid, {', '.join(columns)}) VALUES ({', '.join('?' * (len(columns) + 1))})",
        inserts,
    )
    db.executemany(
        "INSERT OR IGNORE INTO discovered_models (connection_id, model_id, discovered_at) VALUES (?, ?, ?)",
        discovered,
    )
    if progress:
        progress("restore", total // 2, total)
    db.execute(
        "UPDATE connections SET agent_id = u.agent_id, label = u.label, label_key = u.label_key "
        "FROM temp.undo_rows u WHERE u.id = connections.id AND u.action != 'merge'"
    )
    db.execute("DROP TABLE temp.undo_rows")


def revoke_lifted(db, run_id: str) -> None:
    """Revoke exactly the grants the run made (its record names them)."""
    db.execute(
        "DELETE FROM agent_grants WHERE (agent_id, connection_id) IN (SELECT former_agent_id, granted "
        "FROM lift_run_rows WHERE run_id = ? AND granted IS NOT NULL)",
        (run_id,),
    )


def mark_undone(db, run_id: str, now: str) -> None:
    db.execute("UPDATE lift_runs SET undone_at = ? WHERE id = ?", (now, run_id))
