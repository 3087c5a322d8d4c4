"""The lift rules of SPEC §8 as a pure planning function.

`plan_lift` decides, for every legacy (agent-scoped) connection, whether the lift
keeps its label, relabels it or merges it into another connection, and which
label it ends up with. It touches no database and no keyring and uses only the
standard library: the lift service loads the rows (``db.lift``), calls `plan_lift`,
and applies the plan with set-based SQL. The checks that refuse an ``--undo`` are
here too (`undo_row_problems`, `moved_list_problems`, `label_clash_problem`).

Rules, in the order they are applied:

* **Merges first** (only with ``merge_identical``). A legacy row with a stored key
  (``fingerprint`` not None) whose provider, auth type, effective base URL and
  fingerprint equal those of a user-level connection of the same user, or of an
  older legacy row of the same user, is merged. Its target is the matching
  user-level connection (enabled or not; the oldest if several), else the oldest
  matching legacy row — which is itself never merged, so chains collapse to the
  oldest row.
* **Collisions** among the rows that remain (user-level + non-merged legacy): per
  user, rows are grouped by (provider, auth type, folded label); a group with
  more than one row collides. User-level rows never change. A legacy row alone
  in its group keeps its label; every legacy row of a colliding group is
  relabelled.
* **New labels**: ``Default`` (any case) becomes the agent's name, any other label
  ``L`` becomes ``L - AGENT``; the result is cut to 64 code points and trailing
  whitespace removed. Relabelled rows are taken oldest first within their (user,
  provider, auth type) scope; a row takes its candidate unless a keeper (a
  user-level row or a legacy row that keeps its label, anywhere in that scope)
  or an earlier relabelled row already holds it (folded), else the first free of
  `` (2)``, `` (3)``, …, the part before the suffix cut to 64 − len(suffix) code
  points and trailing whitespace removed.
* A merged row's ``new_label`` is its target's label after the lift.

The final labels of user-level rows plus non-merged legacy rows are therefore
unique per (user, provider, auth type) under `labels.fold`, which is what
the user-level unique index requires once the rows lose their agent. (When the
service applies the plan, setting ``agent_id = NULL``, ``label`` and
``label_key`` in the same UPDATE keeps every intermediate state valid for both
partial unique indexes.)

"Oldest" is the smallest ``LiftInput.order`` (the caller numbers rows by
``created_at``, then insertion); ties, which the caller should not produce, are
broken by id so the plan never depends on input order.

Performance: rows are bucketed by scope in one pass (dict), each scope is sorted
on its own, and everything else is dict/set look-ups; a per-candidate suffix
counter makes many rows wanting the same label cost O(rows), not O(rows²).
100,000 legacy rows (1,000 users, 10,000 agents) plan in about half a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from operator import attrgetter
from typing import NamedTuple

from .labels import MAX_LEN, fold, folder
from .priorities import after_merges
from .rows import full_ref, legacy_suffix

KEEP = "keep"
RELABEL = "relabel"
MERGE = "merge"

_DEFAULT_KEY = fold("Default")


class LiftInput(NamedTuple):
    """One connection of the database, as the planner needs it.

    A NamedTuple (immutable, cheap): the service can build it positionally straight
    from an SQL row, ``LiftInput._make(row)``, selecting the columns in this order.
    """

    id: str
    user_id: str
    agent_id: str | None  # None = user-level row: never changes, never in the plan
    agent_name: str | None  # see agent_display_name(); blank/None falls back to agent_id
    provider: str
    auth_type: str
    label: str
    base_url: str  # the EFFECTIVE base URL (family default filled in), compared as is
    fingerprint: str | None  # HMAC of the stored key; None when no key is in the keyring
    enabled: bool  # informational only: merge targets are chosen enabled or not
    order: int  # creation order: rows sorted by (created_at, insertion) give 0, 1, 2, …


class LiftPlanRow(NamedTuple):
    """What the lift does to one legacy row (``row._asdict()`` for JSON)."""

    id: str
    user_id: str
    agent_id: str
    agent_name: str  # the name used for relabelling: agent_name trimmed, else the agent id
    provider: str
    auth_type: str
    old_label: str
    new_label: str  # keep: old_label; merge: the target's label after the lift
    action: str  # "keep" | "relabel" | "merge"
    merged_into: str | None  # the target's id for "merge", else None


def agent_display_name(display_name: str | None, name: str | None, agent_id: str) -> str:
    """The agent's name for labels (SPEC §8 rule 3): display name trimmed, else name trimmed, else id."""
    for text in (display_name, name):
        if text is not None:
            trimmed = text.strip()
            if trimmed:
                return trimmed
    return agent_id


_SCOPE = attrgetter("user_id", "provider", "auth_type")
_AGE = attrgetter("order", "id")  # "oldest first"; ties (the caller should not make any) by id
_new_plan_row = tuple.__new__  # builds a LiftPlanRow without a Python-level __new__ call


def _merge_targets(scope_users, scope_rows: list[LiftInput]) -> dict[str, LiftInput]:
    """Rule 5 for one scope: legacy row id -> the connection it merges into. roots[(base URL,
    fingerprint)] is the target: the oldest user-level row, else the first (oldest) legacy
    row. ``scope_rows`` oldest first."""
    target_of: dict[str, LiftInput] = {}
    roots: dict[tuple[str, str], LiftInput] = {}
    for row in sorted(scope_users, key=_AGE):
        if row.fingerprint is not None:
            roots.setdefault((row.base_url, row.fingerprint), row)
    for row in scope_rows:
        if row.fingerprint is not None:
            root = roots.setdefault((row.base_url, row.fingerprint), row)
            if root is not row:
                target_of[row.id] = root
    return target_of


def plan_lift(rows: Iterable[LiftInput], *, merge_identical: bool = False,
              mergeable: list[LiftPlanRow] | None = None) -> list[LiftPlanRow]:
    """Plan the lift of every legacy row in `rows` (see the module docstring for the rules).

    `rows` must hold ALL connections (user-level and legacy) of every user being
    lifted: user-level rows and legacy keepers hold labels. Any objects with the
    `LiftInput` attributes will do. Returns one
    `LiftPlanRow` per legacy row, none for user-level rows, ordered by user id,
    provider, auth type, then creation order (`order`, then id). Raises
    ValueError on a duplicate id.

    Without ``merge_identical``, a ``mergeable`` list receives (in plan order) a `merge` row
    for each legacy row that ``merge_identical`` would merge — the same rule 5, in the same
    pass — with its target's label as this plan leaves it: what a report names so that a
    reviewer knows the flag would matter.
    """
    # Labels and keys only ever meet within a scope: (user, provider, auth type).
    user_level: dict[tuple[str, str, str], list[LiftInput]] = {}
    legacy: dict[tuple[str, str, str], list[LiftInput]] = {}
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise ValueError(f"duplicate connection id {row.id!r}")
        seen.add(row.id)
        scope = _SCOPE(row)
        bucket = (user_level if row.agent_id is None else legacy).get(scope)
        if bucket is None:
            (user_level if row.agent_id is None else legacy)[scope] = [row]
        else:
            bucket.append(row)

    key_of = folder()  # labels repeat a lot ("Default")
    names: dict[str, str] = {}  # agent id -> the name relabelling uses (ten rows an agent)

    def name_of(row: LiftInput) -> str:
        name = names.get(row.agent_id)
        if name is None:
            name = names[row.agent_id] = agent_display_name(row.agent_name, None, row.agent_id)
        return name

    def plan_row(row: LiftInput, new_label: str, action: str, merged_into: str | None) -> LiftPlanRow:
        name = names.get(row.agent_id) or name_of(row)
        return _new_plan_row(LiftPlanRow, (row.id, row.user_id, row.agent_id, name, row.provider,
                                           row.auth_type, row.label, new_label, action, merged_into))

    plan: list[LiftPlanRow] = []
    emit = plan.append
    # Scope by scope in sorted order, oldest first within a scope: the plan's order,
    # and the order in which rules 4 and 5 take rows.
    for scope in sorted(legacy):
        scope_rows = sorted(legacy[scope], key=_AGE)
        scope_users = user_level.get(scope, ())
        user_keys = {key_of(row.label) for row in scope_users}

        # rule 5: merges, decided before collisions
        target_of = _merge_targets(scope_users, scope_rows) if merge_identical else {}
        would_merge = (_merge_targets(scope_users, scope_rows)
                       if mergeable is not None and not merge_identical else {})
        remaining = [r for r in scope_rows if r.id not in target_of] if target_of else scope_rows

        # rules 1-2: a remaining legacy row collides when its folded label is held by a
        # user-level row or by another remaining legacy row of the scope.
        keys = [key_of(row.label) for row in remaining]
        count: dict[str, int] = {}
        for key in keys:
            count[key] = count.get(key, 0) + 1
        held = set(user_keys)  # folded labels held: keepers, then rows taken so far
        outcome: dict[str, tuple[str, str]] = {}  # legacy id -> (new label, action)
        to_relabel: list[LiftInput] = []
        for row, key in zip(remaining, keys):
            if count[key] == 1 and key not in user_keys:
                held.add(key)
                outcome[row.id] = (row.label, KEEP)
            else:
                to_relabel.append(row)

        # rules 3-4, oldest first. next_n[base]: every ` (n)` below it is already held
        # for that exact base (held labels only accumulate), so the search resumes there.
        next_n: dict[str, int] = {}
        for row in to_relabel:
            name = names.get(row.agent_id) or name_of(row)
            base = name if key_of(row.label) == _DEFAULT_KEY else f"{row.label} - {name}"
            label = base[:MAX_LEN].rstrip()
            key = fold(label)
            if key in held:
                n = next_n.get(base, 2)
                while True:
                    suffix = f" ({n})"
                    label = base[: MAX_LEN - len(suffix)].rstrip() + suffix
                    key = fold(label)
                    n += 1
                    if key not in held:
                        break
                next_n[base] = n
            held.add(key)
            outcome[row.id] = (label, RELABEL)

        def merge_row(row: LiftInput, target: LiftInput) -> LiftPlanRow:
            label = target.label if target.agent_id is None else outcome[target.id][0]
            return plan_row(row, label, MERGE, target.id)

        for row in scope_rows:
            target = target_of.get(row.id)
            if target is None:
                label, action = outcome[row.id]
                emit(plan_row(row, label, action, None))
            else:
                emit(merge_row(row, target))
            if row.id in would_merge:
                mergeable.append(merge_row(row, would_merge[row.id]))
    return plan


def summarize(plan: Iterable[LiftPlanRow]) -> dict[str, int]:
    """The report summary: `lifted` counts every row; each row counts once by its action."""
    counts = {KEEP: 0, RELABEL: 0, MERGE: 0}
    for row in plan:
        counts[row.action] += 1
    return {
        "lifted": counts[KEEP] + counts[RELABEL] + counts[MERGE],
        "relabelled": counts[RELABEL],
        "merged": counts[MERGE],
        "kept": counts[KEEP],
    }


# ---------------------------------------------------------------- merges and undo


def merge_moves(plan: Iterable[LiftPlanRow], lists: dict[str, list[str]]
                ) -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    """For the models whose priority ``lists`` name a merged row: per merged row, the whole
    before/after list of each of its models (the run records them, so --undo can put them back
    exactly), and each changed model's list after the merges."""
    merged = {p.id: p.merged_into for p in plan if p.action == MERGE}
    after_of = {model_id: after_merges(before, merged) for model_id, before in lists.items()}
    moved: dict[str, list[dict]] = {}
    for model_id, before in lists.items():
        for cid in before:
            if cid in merged:
                moved.setdefault(cid, []).append({"model": model_id, "before": before,
                                                  "after": after_of[model_id]})
    return moved, after_of


def describe(provider: str, auth_type: str, label: str, connection_id: str,
             agent: str | None = None) -> str:
    """A row named in an undo refusal: `PROVIDER/AUTH_TYPE/LABEL (agent A) [id8]`."""
    return f"{full_ref(provider, auth_type, label)}{legacy_suffix(agent)} [{connection_id[:8]}]"


def undo_row_problems(facts) -> list[str]:
    """Why one row of a run cannot be restored (SPEC §6 migrate-lift --undo): its former agent
    was removed; a merged row's id exists again; a kept or relabelled row was removed, is
    agent-scoped again, was renamed, or was attached or detached since. ``facts`` has the
    fields of ``db.lift.UndoFacts``."""
    name = describe(facts.provider, facts.auth_type, facts.new_label, facts.connection_id)
    problems = []
    if facts.agent_found is None:
        problems.append(f"{name}: its former agent was removed")
    if facts.action == MERGE:
        if facts.current_id is not None:
            problems.append(f"{name}: a connection with its id exists again")
    elif facts.current_id is None:
        problems.append(f"{name}: it was removed since the lift")
    else:
        if facts.current_agent_id is not None:
            problems.append(f"{name}: it is agent-scoped again")
        elif facts.current_label != facts.new_label:
            problems.append(f"{describe(facts.provider, facts.auth_type, facts.current_label, facts.connection_id)}: "
                            f"it was renamed since the lift (from {facts.new_label!r})")
        if (facts.attached or "[]") != (facts.current_attached or "[]"):
            problems.append(f"{name}: it was attached to or detached from a model since the lift")
        granted = json.loads(facts.granted_since or "[]")
        if granted:  # a legacy row cannot be granted: those grants would have to go first
            problems.append(f"{name}: it was granted to agent {', '.join(granted)} since the lift")
    return problems


def moved_list_problems(moved: dict[str, tuple[list[str], list[str]]], names: dict[str, str],
                        current: dict[str, list[str]]) -> list[str]:
    """Priority lists a merge changed that cannot be put back: the model was removed, or its
    list is no longer what the lift left."""
    problems = []
    for model_id, (_before, after) in moved.items():
        if model_id not in names:
            problems.append(f"model {model_id[:8]}: it was removed since the lift, so the "
                            "attachments a merge moved cannot go back")
        elif current.get(model_id, []) != after:
            problems.append(f"model {names[model_id]!r}: its priority list changed since the lift")
    return problems


def label_clash_problem(clash: tuple) -> str:
    """A row whose former label a legacy row of the same agent took since: (id, provider,
    auth type, label, agent name, other id, other label)."""
    cid, provider, auth, label, agent, other, other_label = clash
    return (f"{describe(provider, auth, label, cid, agent)}: its former label is now held by "
            f"{describe(provider, auth, other_label, other, agent)}")
