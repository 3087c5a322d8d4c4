"""The import planner's index of user-level connections (``services.import_export._UserLevel``)
gives `connect`'s decision table exactly the answer it gives on the full list that the
planner used to scan for every entry: random rows (shared labels and keys across families,
disabled rows, duplicate fingerprints), random adds and relabel-moves, every lookup checked
against the scan."""

from __future__ import annotations

import random

import pytest

from provctl.domain.credentials import Validated, decide
from provctl.domain.rows import ConnectionRow
from provctl.errors import Conflict
from provctl.services.import_export import _UserLevel

GROUPS = [("openai", "api_key"), ("openai", "subscription"), ("anthropic", "api_key")]
LABELS = ["default", "work", "prod", "ci"]
KEYS = ["fp-a", "fp-b", "fp-c", None]


def row(rng: random.Random, n: int) -> ConnectionRow:
    provider, auth = rng.choice(GROUPS)
    label = rng.choice(LABELS) + (str(rng.randrange(3)) if rng.random() < 0.5 else "")
    fp = rng.choice(KEYS)
    return ConnectionRow(f"id-{n}", "u", None, None, None, provider, auth, label, label, None,
                         rng.random() < 0.7, fp is not None, None, fp, None, "keyring", None,
                         f"2026-01-01T00:00:{n:02d}.000000Z", 0, 0)


def outcome(peers, label_key, fp, v):
    try:
        d = decide(peers, label_key, fp, v, key_optional=True)
        return d.action, d.target.id if d.target else None
    except Conflict as exc:
        return "conflict", exc.message


def free(rows, candidate: ConnectionRow) -> bool:
    """A label is unique per (provider, auth type) among user-level rows: the database's unique
    index, and the planner creates or relabels only to a label nobody has."""
    return not any((r.provider, r.auth_type, r.label_key) == (candidate.provider, candidate.auth_type,
                                                              candidate.label_key) for r in rows)


@pytest.mark.parametrize("seed", range(60))
def test_indexed_peers_decide_as_the_full_scan_does(seed):
    rng = random.Random(seed)
    rows: list[ConnectionRow] = []
    for n in range(rng.randrange(0, 30)):
        candidate = row(rng, n)
        if free(rows, candidate):
            rows.append(candidate)
    index = _UserLevel(rows)
    scan = list(rows)  # what the planner kept before: a list, a relabelled row moved to the end
    pending: set[str] = set()
    n = 100  # ids of rows the file creates: id-101, id-102, …
    for _ in range(60):
        provider, auth = rng.choice(GROUPS)
        label_key = rng.choice(LABELS) + (str(rng.randrange(3)) if rng.random() < 0.5 else "")
        fp = rng.choice(KEYS)
        v = Validated(provider, auth, None, key="k" if fp else None)
        peers = [r for r in scan if r.provider == provider and r.auth_type == auth]
        assert outcome(index.peers(provider, auth, label_key, fp), label_key, fp, v) == \
            outcome(peers, label_key, fp, v)
        twin = next((r for r in peers if r.id in pending and fp is not None and r.key_fingerprint == fp), None)
        assert next((r for r in index.same_key(provider, auth, fp) if r.id in pending), None) is twin

        step = rng.random()
        if step < 0.4:  # the file creates a row
            n += 1
            new = row(rng, n)
            if not free(scan, new):
                continue
            index.add(new)
            scan.append(new)
            pending.add(new.id)
        elif step < 0.6 and scan:  # a relabel: the row leaves and comes back, last, changed
            old = rng.choice(scan)
            moved = row(rng, 0)._replace(id=old.id, provider=old.provider, auth_type=old.auth_type)
            if not free([r for r in scan if r.id != old.id], moved):
                continue
            index.drop(old)
            index.add(moved)
            scan = [r for r in scan if r.id != old.id] + [moved]
    assert [r.id for r in index.rows()] == [r.id for r in scan]
