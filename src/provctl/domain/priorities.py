"""Priority lists as values (SPEC §1 attachment, §6 model): a model's list is the ordered
connection ids, priority 1 first. Every change computes the whole new list here; ``db.write``
then rewrites it as a whole, so priorities stay 1-based and dense."""

from __future__ import annotations

from typing import Mapping, Sequence


def insert_at(current: Sequence[str], connection_id: str, position: int) -> list[str]:
    """``current`` with ``connection_id`` at 1-based ``position`` (the rest shift down)."""
    ids = list(current)
    ids.insert(position - 1, connection_id)
    return ids


def without(current: Sequence[str], connection_id: str) -> list[str]:
    """``current`` without ``connection_id``: the gap closes."""
    return [cid for cid in current if cid != connection_id]


def reorder_problems(current: Sequence[str], given: Sequence[str]) -> dict[str, list[str]]:
    """What keeps ``given`` from being a new order of ``current`` (every id exactly once):
    ``{"missing": [...], "not attached": [...], "repeated": [...]}``, only the non-empty ones."""
    repeated = [cid for i, cid in enumerate(given) if cid in given[:i]]
    extra = [cid for cid in given if cid not in current]
    missing = [cid for cid in current if cid not in given]
    return {k: v for k, v in (("missing", missing), ("not attached", extra), ("repeated", repeated)) if v}


def after_merges(before: Sequence[str], merged_into: Mapping[str, str]) -> list[str]:
    """A list after a lift's merges: a merged row's place goes to its target, unless the list
    already names the target (then it is dropped and the gap closes)."""
    listed = set(before)
    after: list[str] = []
    for cid in before:
        target = merged_into.get(cid)
        if target is None:
            after.append(cid)
        elif target not in listed and target not in after:
            after.append(target)
    return after
