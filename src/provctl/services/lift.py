"""`provctl migrate-lift`: lift legacy (agent-scoped) connections to user level (SPEC §6, §8).

The rules live in :mod:`lift_rules` (a pure planner); this module loads the rows (one query
for the connections, one for the agents' names), asks the planner, and applies the plan with
set-based SQL on the unit of work's own sqlite3 connection (no per-row ORM objects):

* dry run: a read-only connection, nothing written (the database's ``.dump`` is unchanged);
* apply: a cheap "anything pending?" query; the backup (SQLite backup API, separate
  connection, before the transaction); then ONE ``BEGIN IMMEDIATE`` transaction that loads,
  plans, records the run (per row: former agent and label, a merged row's snapshot, the
  priority lists a merge changed) and applies it — a temp table of the plan (executemany),
  then one ``INSERT … SELECT`` for the record, one ``DELETE`` for merged rows and one
  ``UPDATE … FROM`` for the rest. A crash at any moment leaves the database as it was
  before, or fully lifted (SQLite's atomic commit; tests/e2e/test_lift_crash.py);
* undo: one transaction that checks every row of the run first (refusing, exit 4, with the
  rows named) and then puts everything back, merged rows (with their rowid, discovered
  models and attachments) included. Keys never move: a merged row's keyring entry stays
  where it is for the undo.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

from .. import labels, timeutil
from ..context import AppContext
from ..errors import Conflict, NotFound, UsageError
from ..providers import FAMILIES
from .common import new_id, reading
from .lift_rules import MERGE, LiftInput, LiftPlanRow, agent_display_name, plan_lift, summarize

Progress = Callable[[str, int, int], None]

_MAX_NAMED = 10  # rows named in a refusal before "and N more"


class ReportRow(NamedTuple):
    id: str
    user: str
    agent: str
    provider: str
    auth_type: str
    old_label: str
    new_label: str
    action: str
    merged_into: str | None


@dataclass(frozen=True)
class LiftReport:
    """The report of §8. ``plan`` is the planner's output (sorted for the report); user and
    agent names are looked up when rows are rendered, so 100,000 rows cost no extra objects."""

    dry_run: bool
    run_id: str | None
    backup: str | None
    plan: list[LiftPlanRow]
    users: dict[str, str]  # user id -> name
    agents: dict[str, str]  # agent id -> name
    summary: dict[str, int]
    all_users: bool = False
    merge_identical: bool = False

    @property
    def pending(self) -> bool:
        return bool(self.plan)

    def iter_rows(self) -> Iterator[ReportRow]:
        users, agents = self.users, self.agents
        for p in self.plan:
            yield ReportRow(p.id, users[p.user_id], agents[p.agent_id], p.provider, p.auth_type,
                            p.old_label, p.new_label, p.action, p.merged_into)

    @property
    def rows(self) -> list[ReportRow]:
        return list(self.iter_rows())

    def head(self) -> dict:
        """Every field of the JSON document but ``rows``."""
        return {"dry_run": self.dry_run, "run_id": self.run_id, "backup": self.backup,
                "summary": dict(self.summary)}

    def to_dict(self) -> dict:
        head = self.head()
        return {"dry_run": head["dry_run"], "run_id": head["run_id"], "backup": head["backup"],
                "rows": [row._asdict() for row in self.iter_rows()], "summary": head["summary"]}


class UndoRow(NamedTuple):
    id: str
    user: str
    agent: str
    provider: str
    auth_type: str
    label: str  # restored (the label before the lift)
    lifted_label: str  # what the lift had made of it
    action: str  # the lift's action for the row: keep | relabel | merge


@dataclass(frozen=True)
class UndoResult:
    run_id: str
    undone_at: str
    rows: list[UndoRow]
    models_restored: list[str]

    @property
    def summary(self) -> dict[str, int]:
        return {
            "restored": len(self.rows),
            "merged_restored": sum(1 for r in self.rows if r.action == MERGE),
            "models_restored": len(self.models_restored),
        }

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "undone_at": self.undone_at,
            "rows": [row._asdict() for row in self.rows],
            "models_restored": list(self.models_restored),
            "summary": self.summary,
        }


# ---------------------------------------------------------------- loading and planning

_LOAD = """
SELECT c.id, c.user_id, c.agent_id, c.provider, c.auth_type, c.label, c.base_url,
       CASE WHEN c.key_stored THEN c.key_fingerprint END, c.enabled, c.rowid
FROM connections c
WHERE {where}
ORDER BY c.created_at, c.rowid
"""
_ALL_PENDING_USERS = "c.user_id IN (SELECT user_id FROM connections WHERE agent_id IS NOT NULL)"


def _scope(ctx: AppContext, execute, all_users: bool) -> tuple[str | None, str, tuple] | None:
    """(invoking user id, WHERE clause, params), or None when nothing can be pending."""
    uid = None
    for (found,) in execute("SELECT id FROM users WHERE name_key = ?", (ctx.user_key,)):
        uid = found
    if all_users:
        return uid, _ALL_PENDING_USERS, ()
    if uid is None:
        return None
    return uid, "c.user_id = ?", (uid,)


def _pending(execute, scope: tuple[str | None, str, tuple]) -> bool:
    uid, _where, params = scope
    if params:
        sql = "SELECT 1 FROM connections WHERE user_id = ? AND agent_id IS NOT NULL LIMIT 1"
    else:
        sql = "SELECT 1 FROM connections WHERE agent_id IS NOT NULL LIMIT 1"
    return any(True for _ in execute(sql, params))


def _plan(execute, scope, *, merge_identical: bool, progress: Progress | None,
          rowids: dict[str, int] | None = None) -> tuple[list[LiftPlanRow], dict[str, str], dict[str, str]]:
    """Load every connection of the users concerned and plan. Returns the plan sorted for the
    report (by user name, then the planner's order: provider, auth type, oldest first), and
    the user and agent names. ``rowids``, when given, receives each legacy row's rowid."""
    _uid, where, params = scope
    defaults = {name: fam.default_base_url or "" for name, fam in FAMILIES.items()}
    intern = sys.intern
    agent_label: dict[str, str] = {}  # the name relabelling uses (§8 rule 3)
    agent_name: dict[str, str] = {}  # the name the report shows
    agents_sql = "SELECT id, display_name, name FROM agents" + (" WHERE user_id = ?" if params else "")
    for aid, display, name in execute(agents_sql, params):
        aid = intern(aid)
        agent_label[aid] = agent_display_name(display, name, aid)
        agent_name[aid] = name if name is not None else aid
    shown = agent_label.get
    inputs: list[LiftInput] = []
    add = inputs.append
    total = 0
    if progress:
        for (total,) in execute(f"SELECT count(*) FROM connections c WHERE {where}", params):
            pass
    for order, (cid, uid, aid, provider, auth, label, base, fp, enabled, rowid) in enumerate(
        execute(_LOAD.format(where=where), params)
    ):
        if aid is not None:
            aid = intern(aid)
            if rowids is not None:
                rowids[cid] = rowid
        if progress and order % 10000 == 0:
            progress("load", order, total)
        add(LiftInput(cid, intern(uid), aid, shown(aid), intern(provider), intern(auth), intern(label),
                      intern(base) if base else defaults.get(provider, ""), fp, enabled == 1, order))
    if progress:
        progress("load", total, total)
    plan = plan_lift(inputs, merge_identical=merge_identical)
    del inputs
    users = {uid: name for uid, name in execute("SELECT id, name FROM users", ())}
    sort_key = {uid: labels.fold(name) for uid, name in users.items()}
    plan.sort(key=lambda p: sort_key[p.user_id])  # stable: the planner's order within a user
    if progress:
        progress("plan", 1, 1)
    return plan, users, agent_name


def _empty(dry_run: bool, all_users: bool, merge_identical: bool) -> LiftReport:
    return LiftReport(dry_run, None, None, [], {}, {}, summarize([]), all_users, merge_identical)


def _tune(execute, cache_mb: int = 64) -> None:
    """A bigger page cache for this connection (the default 2 MB thrashes on the random-order
    index updates of 100,000 rows) and temp tables in memory."""
    execute(f"PRAGMA cache_size = -{cache_mb * 1024}", ())
    execute("PRAGMA temp_store = MEMORY", ())


def _raw(uow):
    """The stdlib sqlite3 connection inside the unit of work's transaction: bulk statements run
    on it directly (no per-row SQLAlchemy Row objects; executemany takes a generator)."""
    return uow.session.connection().connection.driver_connection


# ---------------------------------------------------------------- lift


def lift(ctx: AppContext, *, dry_run: bool = False, all_users: bool = False,
         merge_identical: bool = False, progress: Progress | None = None) -> LiftReport:
    """Report (``dry_run``) or apply the lift for the user, or for every user."""
    with reading(ctx) as execute:
        scope = _scope(ctx, execute, all_users)
        if scope is None or not _pending(execute, scope):
            return _empty(dry_run, all_users, merge_identical)
        if dry_run:
            _tune(execute)
            plan, users, agents = _plan(execute, scope, merge_identical=merge_identical, progress=progress)
            return LiftReport(True, None, None, plan, users, agents, summarize(plan), all_users,
                              merge_identical)

    from .. import dbfile

    run_id = new_id()
    backup = ctx.db_path.with_name(f"{ctx.db_path.name}.bak-lift-{run_id}")
    dbfile.backup_copy(ctx.db_path, backup)  # a separate connection, before the transaction
    try:
        with ctx.uow() as uow:
            raw = _raw(uow)
            _tune(raw.execute)
            scope = _scope(ctx, raw.execute, all_users)
            rowids: dict[str, int] = {}
            plan, users, agents = _plan(raw.execute, scope, merge_identical=merge_identical,
                                        progress=progress, rowids=rowids)
            if plan:
                _apply(ctx, raw, run_id, scope[0], str(backup), plan, rowids,
                       all_users=all_users, merge_identical=merge_identical, progress=progress)
                uow.commit()
    except BaseException:
        backup.unlink(missing_ok=True)  # the database is unchanged: the copy is not needed
        raise
    if not plan:  # another process lifted them between the check and the write lock
        backup.unlink(missing_ok=True)
        return _empty(False, all_users, merge_identical)
    return LiftReport(False, run_id, str(backup), plan, users, agents, summarize(plan), all_users,
                      merge_identical)


def _folder() -> Callable[[str], str]:
    """labels.fold with a cache: labels repeat a lot (`Default`, agent names)."""
    folded: dict[str, str] = {}

    def fold(label: str) -> str:
        key = folded.get(label)
        if key is None:
            key = folded[label] = labels.fold(label)
        return key

    return fold


def _connection_columns(db) -> list[str]:
    return [row[1] for row in db.execute("PRAGMA table_info(connections)", ())]


def _merge_moves(db, plan: list[LiftPlanRow]) -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    """For the models that list a merged row: their lists after the merge, and per merged row the
    before/after lists of its models (for the run record)."""
    merged = {p.id: p.merged_into for p in plan if p.action == MERGE}
    if not merged:
        return {}, {}
    db.execute("DROP TABLE IF EXISTS temp.lift_merged")
    db.execute("CREATE TEMP TABLE lift_merged (id TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO temp.lift_merged (id) VALUES (?)", ((cid,) for cid in merged))
    lists: dict[str, list[str]] = {}
    for model_id, cid in db.execute(
        "SELECT t.model_id, t.connection_id FROM attachments t WHERE t.model_id IN "
        "(SELECT a.model_id FROM attachments a JOIN temp.lift_merged m ON m.id = a.connection_id) "
        "ORDER BY t.model_id, t.priority", ()
    ):
        lists.setdefault(model_id, []).append(cid)
    db.execute("DROP TABLE temp.lift_merged")
    after_of: dict[str, list[str]] = {}
    moved: dict[str, list[dict]] = {}
    for model_id, before in lists.items():
        listed = set(before)
        after: list[str] = []
        for cid in before:
            target = merged.get(cid)
            if target is None:
                after.append(cid)
            elif target not in listed and target not in after:
                after.append(target)  # the merged row's place goes to its target
            # else: the model already lists the target: dropped, the gap closes
        after_of[model_id] = after
        for cid in before:
            if cid in merged:
                moved.setdefault(cid, []).append({"model": model_id, "before": before, "after": after})
    return moved, after_of


def _apply(ctx: AppContext, db, run_id: str, uid: str | None, backup: str, plan: list[LiftPlanRow],
           rowids: dict[str, int], *, all_users: bool, merge_identical: bool,
           progress: Progress | None) -> None:
    """Record the run and apply the plan, set-based, inside the caller's transaction."""
    now = timeutil.stamp(ctx.now())
    total = len(plan)
    moved, after_of = _merge_moves(db, plan)
    fold = _folder()
    # the plan as a temp table keyed by the connections' rowids (no index to build: every
    # statement below scans it once and probes connections by rowid)
    db.execute("DROP TABLE IF EXISTS temp.lift_plan")
    db.execute(
        "CREATE TEMP TABLE lift_plan (rid INTEGER NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, "
        "action TEXT NOT NULL, new_label TEXT NOT NULL, new_label_key TEXT NOT NULL, "
        "merged_into TEXT, moved TEXT)"
    )
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    db.executemany(
        "INSERT INTO temp.lift_plan (rid, id, position, action, new_label, new_label_key, merged_into, moved) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ((rowids[p.id], p.id, n, p.action, p.new_label, fold(p.new_label), p.merged_into,
          dumps(moved[p.id]) if p.id in moved else None) for n, p in enumerate(plan)),
    )
    if progress:
        progress("write", total // 4, total)
    if after_of:  # merges: rewrite the priority lists they change, each as a whole
        db.executemany("DELETE FROM attachments WHERE model_id = ?", ((mid,) for mid in after_of))
        db.executemany(
            "INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)",
            ((mid, cid, n) for mid, ids in after_of.items() for n, cid in enumerate(ids, start=1)),
        )

    db.execute(
        "INSERT INTO lift_runs (id, user_id, all_users, merge_identical, backup, created_at, undone_at) "
        "VALUES (?, ?, ?, ?, ?, ?, NULL)",
        (run_id, uid, all_users, merge_identical, backup, now),
    )
    columns = _connection_columns(db)
    snapshot = "json_object('rowid', c.rowid, " + ", ".join(f"'{c}', c.{c}" for c in columns) + (
        ", 'discovered_models', (SELECT json_group_array(json_array(d.model_id, d.discovered_at)) "
        "FROM discovered_models d WHERE d.connection_id = c.id))"
    )
    # per row: its former agent and label; a merged row's snapshot and the priority lists its
    # merge changed; for the others, the models they are attached to now (after the moves),
    # so that --undo can tell whether they were attached or detached since
    db.execute(
        "INSERT INTO lift_run_rows (run_id, connection_id, position, action, former_agent_id, "
        "former_label, new_label, merged_into, snapshot, moved_attachments, attached_models) "
        "SELECT ?, p.id, p.position, p.action, c.agent_id, c.label, p.new_label, p.merged_into, "
        f"CASE WHEN p.action = 'merge' THEN {snapshot} END, p.moved, "
        "CASE WHEN p.action != 'merge' AND EXISTS (SELECT 1 FROM attachments t WHERE t.connection_id = p.id) "
        "THEN (SELECT json_group_array(model_id) FROM (SELECT t.model_id FROM attachments t "
        "WHERE t.connection_id = p.id ORDER BY t.model_id)) END "
        "FROM temp.lift_plan p JOIN connections c ON c.rowid = p.rid "
        "ORDER BY p.id",  # the primary key's order: index pages are appended, not split at random
        (run_id,),
    )
    if progress:
        progress("write", total // 2, total)
    # merged rows go (their keyring entries stay, for --undo); the rest lose their agent
    db.execute("DELETE FROM connections WHERE rowid IN (SELECT rid FROM temp.lift_plan WHERE action = 'merge')")
    db.execute(
        "UPDATE connections SET agent_id = NULL, label = p.new_label, label_key = p.new_label_key "
        "FROM temp.lift_plan p WHERE connections.rowid = p.rid AND p.action != 'merge'"
    )
    db.execute("DROP TABLE temp.lift_plan")
    if progress:
        progress("write", total, total)


# ---------------------------------------------------------------- undo


def _find_run(execute, ref: str) -> tuple:
    text = ref.strip().lower()
    if len(text) < 8:
        raise UsageError(f"run id {ref!r} is too short", hint="give the run id (at least its first 8 characters)")
    found = list(execute(
        "SELECT id, undone_at FROM lift_runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY created_at",
        (text, text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"),
    ))
    exact = [r for r in found if r[0] == text]
    if exact:
        return tuple(exact[0])
    if not found:
        raise NotFound(f"no lift run {ref!r}", hint="the run id is printed by `provctl migrate-lift`")
    if len(found) > 1:
        raise Conflict(f"run id {ref!r} is ambiguous: " + ", ".join(r[0] for r in found),
                       hint="give more characters of the run id")
    return tuple(found[0])


def _describe(provider: str, auth: str, label: str, cid: str, agent: str | None) -> str:
    where = f" (agent {agent})" if agent else ""
    return f"{provider}/{auth}/{label}{where} [{cid[:8]}]"


_UNDO_LOAD = """
SELECT r.connection_id, r.action, r.former_agent_id, r.former_label, r.new_label,
       r.moved_attachments, r.attached_models, NULL,
       c.id, c.label, c.agent_id,
       (SELECT json_group_array(model_id) FROM (SELECT t.model_id FROM attachments t
         WHERE t.connection_id = r.connection_id ORDER BY t.model_id)),
       a.id, a.name,
       COALESCE(c.provider, json_extract(r.snapshot, '$.provider')),
       COALESCE(c.auth_type, json_extract(r.snapshot, '$.auth_type')),
       COALESCE(c.user_id, json_extract(r.snapshot, '$.user_id'))
FROM lift_run_rows r
LEFT JOIN connections c ON c.id = r.connection_id
LEFT JOIN agents a ON a.id = r.former_agent_id
WHERE r.run_id = ?
ORDER BY r.position
"""


def undo(ctx: AppContext, run_ref: str, *, progress: Progress | None = None) -> UndoResult:
    """Revert a lift run exactly, for every user it touched; refuse (exit 4) if it cannot."""
    with ctx.uow() as uow:
        db = _raw(uow)
        _tune(db.execute, cache_mb=32)  # undo holds more rows in memory than the lift
        run_id, undone_at = _find_run(db.execute, run_ref)
        if undone_at is not None:
            raise Conflict(f"lift run {run_id} was already undone at {undone_at}",
                           hint="a run can be undone once")
        users = {uid: name for uid, name in db.execute("SELECT id, name FROM users", ())}
        problems: list[str] = []
        models: dict[str, tuple[list[str], list[str]]] = {}  # model -> (before, after)
        restored: list[UndoRow] = []
        targets: list[tuple] = []  # (id, action, former agent, provider, auth type, label, label key)
        fold = _folder()
        for (cid, action, agent_id, former_label, new_label, moved, attached, _snap, cur_id,
             cur_label, cur_agent, cur_attached, agent_found, agent, provider, auth, uid) in db.execute(
                _UNDO_LOAD, (run_id,)):
            name = _describe(provider, auth, new_label, cid, None)
            if agent_found is None:
                problems.append(f"{name}: its former agent was removed")
            if action == MERGE:
                if cur_id is not None:
                    problems.append(f"{name}: a connection with its id exists again")
                for move in json.loads(moved) if moved else ():
                    models[move["model"]] = (move["before"], move["after"])
            elif cur_id is None:
                problems.append(f"{name}: it was removed since the lift")
            else:
                if cur_agent is not None:
                    problems.append(f"{name}: it is agent-scoped again")
                elif cur_label != new_label:
                    problems.append(f"{_describe(provider, auth, cur_label, cid, None)}: "
                                    f"it was renamed since the lift (from {new_label!r})")
                if (attached or "[]") != (cur_attached or "[]"):
                    problems.append(f"{name}: it was attached to or detached from a model since the lift")
            restored.append(UndoRow(cid, users.get(uid, uid or ""), agent or agent_id, provider, auth,
                                    former_label, new_label, action))
            targets.append((cid, action, agent_id, provider, auth, former_label, fold(former_label)))
        if models:
            current: dict[str, list[str]] = {}
            names: dict[str, str] = {}
            db.execute("DROP TABLE IF EXISTS temp.undo_models")
            db.execute("CREATE TEMP TABLE undo_models (id TEXT PRIMARY KEY)")
            db.executemany("INSERT INTO temp.undo_models (id) VALUES (?)", [(m,) for m in models])
            for mid, mname in db.execute(
                "SELECT m.id, m.name FROM models m JOIN temp.undo_models u ON u.id = m.id", ()):
                names[mid] = mname
            for mid, cid in db.execute(
                "SELECT t.model_id, t.connection_id FROM attachments t JOIN temp.undo_models u "
                "ON u.id = t.model_id ORDER BY t.model_id, t.priority", ()):
                current.setdefault(mid, []).append(cid)
            for mid, (_before, after) in models.items():
                if mid not in names:
                    problems.append(f"model {mid[:8]}: it was removed since the lift, so the "
                                    "attachments a merge moved cannot go back")
                elif current.get(mid, []) != after:
                    problems.append(f"model {names[mid]!r}: its priority list changed since the lift")
            db.execute("DROP TABLE temp.undo_models")
        else:
            names = {}
        problems.extend(_label_clashes(db, targets))
        if problems:
            more = len(problems) - _MAX_NAMED
            raise Conflict(
                f"cannot undo lift run {run_id}: " + "; ".join(problems[:_MAX_NAMED])
                + (f"; and {more} more" if more > 0 else ""),
                hint="an undo restores rows only as the lift left them: rename them back, "
                "restore the attachments, or keep the lift (nothing was changed)",
            )
        now = timeutil.stamp(ctx.now())
        _restore(db, run_id, len(targets), models, progress)
        db.execute("UPDATE lift_runs SET undone_at = ? WHERE id = ?", (now, run_id))
        uow.commit()
    return UndoResult(run_id, now, restored, sorted(names[m] for m in models if m in names))


def _label_clashes(db, targets: Iterable[tuple]) -> list[str]:
    """Rows that cannot get their former label back: a legacy row of the same agent, provider
    and auth type took it since (an import after the lift)."""
    db.execute("DROP TABLE IF EXISTS temp.undo_rows")
    db.execute(
        "CREATE TEMP TABLE undo_rows (id TEXT PRIMARY KEY, action TEXT NOT NULL, agent_id TEXT, "
        "provider TEXT, auth_type TEXT, label TEXT NOT NULL, label_key TEXT NOT NULL)"
    )
    db.executemany(
        "INSERT INTO temp.undo_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
        targets,
    )
    clashes = [
        f"{_describe(provider, auth, label, cid, agent)}: its former label is now held by "
        f"{_describe(provider, auth, other_label, other, agent)}"
        for cid, provider, auth, label, agent, other, other_label in db.execute(
            "SELECT u.id, u.provider, u.auth_type, u.label, a.name, x.id, x.label FROM temp.undo_rows u "
            "JOIN connections x ON x.agent_id = u.agent_id AND x.provider = u.provider "
            "AND x.auth_type = u.auth_type AND x.label_key = u.label_key "
            "LEFT JOIN agents a ON a.id = u.agent_id "
            "WHERE x.id NOT IN (SELECT id FROM temp.undo_rows)", ()
        )
    ]
    return clashes


def _restore(db, run_id: str, total: int, models: dict[str, tuple[list[str], list[str]]],
             progress: Progress | None) -> None:
    columns = _connection_columns(db)
    agents = {aid for (aid,) in db.execute("SELECT id FROM agents", ())}
    # a merged row comes back with its rowid (its place in "oldest first") unless that is taken
    taken = {rid for (rid,) in db.execute(
        "SELECT c.rowid FROM lift_run_rows r JOIN connections c ON c.rowid = json_extract(r.snapshot, '$.rowid') "
        "WHERE r.run_id = ? AND r.action = 'merge'", (run_id,))}
    inserts, discovered = [], []
    for (text,) in db.execute("SELECT snapshot FROM lift_run_rows WHERE run_id = ? AND action = 'merge' "
                              "ORDER BY position", (run_id,)):
        snap = json.loads(text)
        if snap.get("connected_via_agent_id") not in agents:
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
    if models:
        db.executemany("DELETE FROM attachments WHERE model_id = ?", [(m,) for m in models])
        db.executemany(
            "INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)",
            [(mid, cid, n) for mid, (before, _after) in models.items() for n, cid in enumerate(before, start=1)],
        )
    db.execute("DROP TABLE temp.undo_rows")
    if progress:
        progress("restore", total, total)
