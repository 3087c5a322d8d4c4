"""The lift rules of SPEC §8 as a pure planning function.

`plan_lift` decides, for every legacy (agent-scoped) connection, whether the lift
keeps its label, relabels it or merges it into another connection, and which
label it ends up with. It touches no database and no keyring and uses only the
standard library: the lift service loads the rows with SQL, calls `plan_lift`,
and applies the plan with set-based SQL.

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
unique per (user, provider, auth type) under `provctl.labels.fold`, which is what
the user-level unique index requires once the rows lose their agent. (When the
service applies the plan, setting ``agent_id = NULL``, ``label`` and
``label_key`` in the same UPDATE keeps every intermediate state valid for both
partial unique indexes.)

"Oldest" is the smallest ``LiftInput.order`` (the caller numbers rows by
``created_at``, then insertion); ties, which the caller should not produce, are
broken by id so the plan never depends on input order.

Performance: one pass to sort, dict/set look-ups per row, and a per-candidate
suffix counter so that many rows wanting the same label cost O(rows), not
O(rows²).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..labels import MAX_LEN, fold

KEEP = "keep"
RELABEL = "relabel"
MERGE = "merge"
ACTIONS = (KEEP, RELABEL, MERGE)

_DEFAULT_KEY = fold("Default")


@dataclass(frozen=True, slots=True)
class LiftInput:
    """One connection of the database, as the planner needs it."""

    id: str
    user_id: str
    agent_id: str | None  # None = user-level row: never changes, never in the plan
    agent_name: str | None  # see agent_display_name(); ignored for user-level rows
    provider: str
    auth_type: str
    label: str
    base_url: str  # the EFFECTIVE base URL (family default filled in)
    fingerprint: str | None  # HMAC of the stored key; None when no key is in the keyring
    enabled: bool  # informational only: merge targets are chosen enabled or not
    order: int  # creation order: rows sorted by (created_at, insertion) give 0, 1, 2, …


@dataclass(frozen=True, slots=True)
class LiftPlanRow:
    """What the lift does to one legacy row."""

    id: str
    user_id: str
    agent_id: str
    agent_name: str  # the name used for relabelling (agent_name as given, else the agent id)
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


def cut_label(text: str, limit: int = MAX_LEN) -> str:
    """Cut to `limit` code points, then remove trailing whitespace."""
    return text[:limit].rstrip()


def relabel_candidate(label: str, agent_name: str) -> str:
    """The uncut new label of a relabelled row: `Default` → AGENT, any other L → `L - AGENT`."""
    if fold(label) == _DEFAULT_KEY:
        return agent_name
    return f"{label} - {agent_name}"


def suffixed_label(base: str, n: int) -> str:
    """`base` with the counter suffix ` (n)`, the base cut so that the whole fits in 64."""
    suffix = f" ({n})"
    return cut_label(base, MAX_LEN - len(suffix)) + suffix


def _age(row: LiftInput) -> tuple[int, str]:
    return (row.order, row.id)


def plan_lift(rows: Iterable[LiftInput], *, merge_identical: bool = False) -> list[LiftPlanRow]:
    """Plan the lift of every legacy row in `rows` (see the module docstring for the rules).

    `rows` must hold ALL connections (user-level and legacy) of every user being
    lifted: user-level rows and legacy keepers hold labels. Returns one
    `LiftPlanRow` per legacy row, none for user-level rows, ordered by user id,
    provider, auth type, then creation order (`order`, then id). Raises
    ValueError on a duplicate id.
    """
    user_level: list[LiftInput] = []
    legacy: list[LiftInput] = []
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            raise ValueError(f"duplicate connection id {row.id!r}")
        seen.add(row.id)
        (user_level if row.agent_id is None else legacy).append(row)
    legacy.sort(key=_age)

    # --- rule 5: merges, decided before collisions --------------------------------
    merge_target: dict[str, LiftInput] = {}  # legacy id -> target row (never itself merged)
    if merge_identical:
        user_targets: dict[tuple, LiftInput] = {}
        for row in user_level:
            if row.fingerprint is None:
                continue
            key = (row.user_id, row.provider, row.auth_type, row.base_url, row.fingerprint)
            held = user_targets.get(key)
            if held is None or _age(row) < _age(held):
                user_targets[key] = row
        legacy_roots: dict[tuple, LiftInput] = {}
        for row in legacy:  # oldest first: the first of a key is the root
            if row.fingerprint is None:
                continue
            key = (row.user_id, row.provider, row.auth_type, row.base_url, row.fingerprint)
            target = user_targets.get(key)
            if target is None:
                target = legacy_roots.get(key)
                if target is None:
                    legacy_roots[key] = row
                    continue
            merge_target[row.id] = target

    # --- rules 1-2: collisions among the rows that remain ---------------------------
    remaining = [row for row in legacy if row.id not in merge_target]
    group_size: dict[tuple[str, str, str, str], int] = {}
    user_keys: list[tuple[str, str, str, str]] = []
    for row in user_level:
        gkey = (row.user_id, row.provider, row.auth_type, fold(row.label))
        group_size[gkey] = group_size.get(gkey, 0) + 1
        user_keys.append(gkey)
    legacy_keys: list[tuple[str, str, str, str]] = []
    for row in remaining:
        gkey = (row.user_id, row.provider, row.auth_type, fold(row.label))
        group_size[gkey] = group_size.get(gkey, 0) + 1
        legacy_keys.append(gkey)

    # Folded labels held per (user, provider, auth type): user-level rows, legacy keepers.
    held_by_scope: dict[tuple[str, str, str], set[str]] = {}
    for user_id, provider, auth_type, key in user_keys:
        held_by_scope.setdefault((user_id, provider, auth_type), set()).add(key)
    final_label: dict[str, str] = {}
    action_of: dict[str, str] = {}
    to_relabel: list[LiftInput] = []
    for row, gkey in zip(remaining, legacy_keys):
        if group_size[gkey] > 1:
            to_relabel.append(row)  # stays oldest first: `remaining` is sorted
        else:
            held_by_scope.setdefault(gkey[:3], set()).add(gkey[3])
            final_label[row.id] = row.label
            action_of[row.id] = KEEP

    # --- rules 3-4: new labels, oldest first ------------------------------------------
    # next_n[(scope, base)]: every ` (n)` below it is already held for that exact base
    # (held labels only ever accumulate), so the search resumes there.
    next_n: dict[tuple[tuple[str, str, str], str], int] = {}
    for row in to_relabel:
        scope = (row.user_id, row.provider, row.auth_type)
        held = held_by_scope.setdefault(scope, set())
        base = relabel_candidate(row.label, agent_display_name(row.agent_name, None, row.agent_id))
        label = cut_label(base)
        key = fold(label)
        if key in held:
            n = next_n.get((scope, base), 2)
            while True:
                label = suffixed_label(base, n)
                key = fold(label)
                n += 1
                if key not in held:
                    break
            next_n[(scope, base)] = n
        held.add(key)
        final_label[row.id] = label
        action_of[row.id] = RELABEL

    # --- the plan ---------------------------------------------------------------------
    plan: list[LiftPlanRow] = []
    for row in legacy:
        target = merge_target.get(row.id)
        if target is None:
            new_label, action, merged_into = final_label[row.id], action_of[row.id], None
        else:
            new_label = target.label if target.agent_id is None else final_label[target.id]
            action, merged_into = MERGE, target.id
        plan.append(
            LiftPlanRow(
                id=row.id,
                user_id=row.user_id,
                agent_id=row.agent_id,  # type: ignore[arg-type]  # legacy: not None
                agent_name=agent_display_name(row.agent_name, None, row.agent_id),  # type: ignore[arg-type]
                provider=row.provider,
                auth_type=row.auth_type,
                old_label=row.label,
                new_label=new_label,
                action=action,
                merged_into=merged_into,
            )
        )
    # `legacy` is in creation order; a stable sort keeps it within (user, provider, auth type).
    plan.sort(key=lambda p: (p.user_id, p.provider, p.auth_type))
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
