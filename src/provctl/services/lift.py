"""`provctl migrate-lift`: lift legacy (agent-scoped) connections to user level (SPEC §6, §8).

The rules live in ``domain.lift_rules`` (a pure planner, and the undo checks); the SQL in
``db.lift`` (set-based, on the unit of work's own sqlite3 connection: no per-row ORM
objects). This module loads the rows (one query for the connections, one for the agents'
names), asks the planner, and applies the plan:

* dry run: a read-only connection, nothing written (the database's ``.dump`` is unchanged);
* apply: a cheap "anything pending?" query; the backup (SQLite backup API, separate
  connection, before the transaction); then ONE ``BEGIN IMMEDIATE`` transaction that loads,
  plans, records the run (per row: former agent and label, a merged row's snapshot, the
  priority lists a merge changed) and applies it — a temp table of the plan (executemany),
  then one ``INSERT … SELECT`` for the record, one for the grants a ``listed`` former agent
  gets (SPEC §10: the lift takes no access away), one ``DELETE`` for merged rows and one
  ``UPDATE … FROM`` for the rest. A crash at any moment leaves the database as it was
  before, or fully lifted (SQLite's atomic commit; tests/e2e/test_lift_crash.py);
* undo: one transaction that checks every row of the run first (refusing, exit 4, with the
  rows named) and then puts everything back, merged rows (with their rowid, discovered
  models and attachments) included, and revokes exactly the grants the run made. Keys never move: a merged row's keyring entry stays
  where it is for the undo.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

from ..context import AppContext
from ..db import lift as lift_db
from ..domain import Progress, labels
from ..domain.families import FAMILIES, effective_base_url
from ..domain.lift_rules import (
    MERGE, LiftInput, LiftPlanRow, agent_display_name, label_clash_problem, merge_moves,
    moved_list_problems, plan_lift, summarize, undo_row_problems,
)
from ..domain.rows import new_id
from ..errors import Conflict, NotFound, UsageError

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
    # without --merge-identical: the legacy rows it would merge (same provider, auth type, base
    # URL and key as another connection), as that plan has them; empty with it
    mergeable: list[LiftPlanRow] = field(default_factory=list)

    ROW_FIELDS = ReportRow._fields  # the JSON keys of a row

    @property
    def pending(self) -> bool:
        return bool(self.plan)

    def iter_rows(self, plan: list[LiftPlanRow] | None = None) -> Iterator[ReportRow]:
        users, agents = self.users, self.agents
        for p in self.plan if plan is None else plan:
            yield ReportRow(p.id, users[p.user_id], agents[p.agent_id], p.provider, p.auth_type,
                            p.old_label, p.new_label, p.action, p.merged_into)

    def mergeable_rows(self) -> list[ReportRow]:
        return list(self.iter_rows(self.mergeable))

    @property
    def rows(self) -> list[ReportRow]:
        return list(self.iter_rows())

    def head(self) -> dict:
        """Every field of the JSON document but ``rows``, in the document's order."""
        return {"dry_run": self.dry_run, "run_id": self.run_id, "backup": self.backup,
                "summary": dict(self.summary),
                "mergeable": [row._asdict() for row in self.mergeable_rows()]}

    def to_dict(self) -> dict:
        head = self.head()
        return {"dry_run": head["dry_run"], "run_id": head["run_id"], "backup": head["backup"],
                "rows": [row._asdict() for row in self.iter_rows()], "summary": head["summary"],
                "mergeable": head["mergeable"]}


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

    ROW_FIELDS = UndoRow._fields  # the JSON keys of a row

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


class _Planned(NamedTuple):
    plan: list[LiftPlanRow]  # sorted for the report
    users: dict[str, str]
    agents: dict[str, str]
    mergeable: list[LiftPlanRow]  # without --merge-identical: the merges it would make


def _plan(execute, where: lift_db.Scope, *, merge_identical: bool, progress: Progress | None,
          rowids: dict[str, int] | None = None) -> _Planned:
    """Load every connection of the users concerned and plan. Returns the plan sorted for the
    report (by user name, then the planner's order: provider, auth type, oldest first), the
    user and agent names, and — without ``merge_identical`` — the merges it would make.
    ``rowids``, when given, receives each legacy row's rowid."""
    intern = sys.intern
    agent_label: dict[str, str] = {}  # the name relabelling uses (§8 rule 3)
    agent_name: dict[str, str] = {}  # the name the report shows
    for aid, display, name in lift_db.agents(execute, where):
        aid = intern(aid)
        agent_label[aid] = agent_display_name(display, name, aid)
        agent_name[aid] = name if name is not None else aid
    shown = agent_label.get
    default_url = {name: effective_base_url(name, None) or "" for name in FAMILIES}.get
    inputs: list[LiftInput] = []
    add = inputs.append
    total = lift_db.count(execute, where) if progress else 0
    for order, (cid, uid, aid, provider, auth, label, base, fp, enabled, rowid) in enumerate(
            lift_db.connections(execute, where)):
        if aid is not None:
            aid = intern(aid)
            if rowids is not None:
                rowids[cid] = rowid
        if progress and order % 10000 == 0:
            progress("load", order, total)
        add(LiftInput(cid, intern(uid), aid, shown(aid), intern(provider), intern(auth), intern(label),
                      intern(base) if base else default_url(provider, ""), fp,
                      enabled == 1, order))
    if progress:
        progress("load", total, total)
    mergeable: list[LiftPlanRow] = []
    plan = plan_lift(inputs, merge_identical=merge_identical, mergeable=mergeable)
    del inputs
    users = lift_db.user_names(execute)
    sort_key = {uid: labels.fold(name) for uid, name in users.items()}
    plan.sort(key=lambda p: sort_key[p.user_id])  # stable: the planner's order within a user
    mergeable.sort(key=lambda p: sort_key[p.user_id])
    if progress:
        progress("plan", 1, 1)
    return _Planned(plan, users, agent_name, mergeable)


def _empty(dry_run: bool, all_users: bool, merge_identical: bool) -> LiftReport:
    return LiftReport(dry_run, None, None, [], {}, {}, summarize([]), all_users, merge_identical)


# ---------------------------------------------------------------- lift


def lift(ctx: AppContext, *, dry_run: bool = False, all_users: bool = False,
         merge_identical: bool = False, progress: Progress | None = None) -> LiftReport:
    """Report (``dry_run``) or apply the lift for the user, or for every user."""
    with ctx.reading() as execute:
        where = lift_db.scope(execute, ctx.user_key, all_users)
        if where is None or not lift_db.pending(execute, where):
            return _empty(dry_run, all_users, merge_identical)
        if dry_run:
            lift_db.tune(execute)
            planned = _plan(execute, where, merge_identical=merge_identical, progress=progress)
            return LiftReport(True, None, None, planned.plan, planned.users, planned.agents,
                              summarize(planned.plan), all_users, merge_identical, planned.mergeable)

    from ..db import file as dbfile

    run_id = new_id()
    backup = ctx.db_path.with_name(f"{ctx.db_path.name}.bak-lift-{run_id}")
    dbfile.backup_copy(ctx.db_path, backup)  # a separate connection, before the transaction
    try:
        with ctx.uow() as uow:
            db = uow.driver()
            lift_db.tune(db.execute)
            where = lift_db.scope(db.execute, ctx.user_key, all_users)
            rowids: dict[str, int] = {}
            planned = _plan(db.execute, where, merge_identical=merge_identical,
                            progress=progress, rowids=rowids)
            plan = planned.plan
            if plan:
                _apply(ctx, uow, run_id, where.user_id, str(backup), plan, rowids,
                       all_users=all_users, merge_identical=merge_identical, progress=progress)
                uow.commit()
    except BaseException:
        backup.unlink(missing_ok=True)  # the database is unchanged: the copy is not needed
        raise
    if not plan:  # another process lifted them between the check and the write lock
        backup.unlink(missing_ok=True)
        return _empty(False, all_users, merge_identical)
    return LiftReport(False, run_id, str(backup), plan, planned.users, planned.agents, summarize(plan),
                      all_users, merge_identical, planned.mergeable)


def _apply(ctx: AppContext, uow, run_id: str, uid: str | None, backup: str, plan: list[LiftPlanRow],
           rowids: dict[str, int], *, all_users: bool, merge_identical: bool,
           progress: Progress | None) -> None:
    """Record the run and apply the plan, set-based, inside the caller's transaction."""
    from ..db import write

    db = uow.driver()
    total = len(plan)
    merged = [p.id for p in plan if p.action == MERGE]
    moved, after_of = merge_moves(plan, lift_db.lists_listing(db, merged) if merged else {})
    fold = labels.folder()
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    lift_db.stage_plan(db, (
        (rowids[p.id], p.id, n, p.action, p.new_label, fold(p.new_label), p.merged_into,
         dumps(moved[p.id]) if p.id in moved else None) for n, p in enumerate(plan)))
    if progress:
        progress("write", total // 4, total)
    write.rewrite_priorities(uow, after_of)  # merges: the lists they change, each as a whole
    now = ctx.stamp()
    lift_db.record_run(db, run_id, uid, all_users=all_users, merge_identical=merge_identical,
                       backup=backup, now=now)
    lift_db.grant_lifted(db, run_id, now)  # a listed agent keeps the use of its lifted rows
    if progress:
        progress("write", total // 2, total)
    lift_db.apply_plan(db)
    if progress:
        progress("write", total, total)


# ---------------------------------------------------------------- undo


def _find_run(execute, ref: str) -> tuple:
    text = ref.strip().lower()
    if len(text) < 8:
        raise UsageError(f"run id {ref!r} is too short", hint="give the run id (at least its first 8 characters)")
    found = lift_db.runs_matching(execute, text)
    exact = [r for r in found if r[0] == text]
    if exact:
        return exact[0]
    if not found:
        raise NotFound(f"no lift run {ref!r}", hint="the run id is printed by `provctl migrate-lift`")
    if len(found) > 1:
        raise Conflict(f"run id {ref!r} is ambiguous: " + ", ".join(r[0] for r in found),
                       hint="give more characters of the run id")
    return found[0]


def undo(ctx: AppContext, run_ref: str, *, progress: Progress | None = None) -> UndoResult:
    """Revert a lift run exactly, for every user it touched; refuse (exit 4) if it cannot."""
    from ..db import write

    with ctx.uow() as uow:
        db = uow.driver()
        lift_db.tune(db.execute, cache_mb=32)  # undo holds more rows in memory than the lift
        run_id, undone_at = _find_run(db.execute, run_ref)
        if undone_at is not None:
            raise Conflict(f"lift run {run_id} was already undone at {undone_at}",
                           hint="a run can be undone once")
        users = lift_db.user_names(db.execute)
        problems: list[str] = []
        models: dict[str, tuple[list[str], list[str]]] = {}  # model -> (before, after)
        restored: list[UndoRow] = []
        targets: list[tuple] = []  # (id, action, former agent, provider, auth type, label, label key)
        fold = labels.folder()
        for f in lift_db.undo_facts(db.execute, run_id):
            problems.extend(undo_row_problems(f))
            if f.action == MERGE:
                for move in json.loads(f.moved) if f.moved else ():
                    models[move["model"]] = (move["before"], move["after"])
            restored.append(UndoRow(f.connection_id, users.get(f.user_id, f.user_id or ""),
                                    f.agent_name or f.former_agent_id, f.provider, f.auth_type,
                                    f.former_label, f.new_label, f.action))
            targets.append((f.connection_id, f.action, f.former_agent_id, f.provider, f.auth_type,
                            f.former_label, fold(f.former_label)))
        names: dict[str, str] = {}
        if models:
            names, current = lift_db.models_now(db, models)
            problems.extend(moved_list_problems(models, names, current))
        problems.extend(label_clash_problem(c) for c in lift_db.stage_undo(db, targets))
        if problems:
            more = len(problems) - _MAX_NAMED
            raise Conflict(
                f"cannot undo lift run {run_id}: " + "; ".join(problems[:_MAX_NAMED])
                + (f"; and {more} more" if more > 0 else ""),
                hint="an undo restores rows only as the lift left them: rename them back, "
                "restore the attachments, revoke the grants made since, or keep the lift "
                "(nothing was changed)",
            )
        now = ctx.stamp()
        lift_db.revoke_lifted(db, run_id)  # exactly the grants the lift made
        lift_db.restore(db, run_id, len(targets), progress)
        write.rewrite_priorities(uow, {mid: before for mid, (before, _after) in models.items()})
        if progress:
            progress("restore", len(targets), len(targets))
        lift_db.mark_undone(db, run_id, now)
        uow.commit()
    return UndoResult(run_id, now, restored, sorted(names[m] for m in models if m in names))
