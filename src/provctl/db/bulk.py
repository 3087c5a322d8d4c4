"""Set-based writes of many rows at once (`provctl import`), as the lift writes
(``db/lift.py``): one ``executemany`` of plain tuples per table on the unit of work's own
sqlite3 connection (``uow.driver()``), inside its one ``BEGIN IMMEDIATE`` transaction — no
per-row SQLAlchemy parameter processing (10,000 connections: ~40 ms instead of ~300 ms).
Standard library only, so import runs in a ``DriverUnitOfWork`` without SQLAlchemy.

Each row is a dict naming exactly the table's columns, as the database has them (``PRAGMA
table_info``: a renamed column fails here at the first call, not silently).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..domain.rows import new_id


def _columns(uow, table: str) -> tuple[str, ...]:
    return tuple(row[1] for row in uow.driver().execute(f"PRAGMA table_info({table})"))


def _insert(uow, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    columns = _columns(uow, table)
    if set(rows[0]) != set(columns):
        missing, unknown = sorted(set(columns) - set(rows[0])), sorted(set(rows[0]) - set(columns))
        raise ValueError(f"{table} rows must name every column: missing {missing}, unknown {unknown}")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    uow.driver().executemany(sql, ([row[c] for c in columns] for row in rows))


def ensure_user(uow, name: str, name_key: str, now: str) -> str:
    """The id of the user with this folded name, creating the row on first write (as
    ``db.write.ensure_user``)."""
    for (uid,) in uow.driver().execute("SELECT id FROM users WHERE name_key = ?", (name_key,)):
        return uid
    uid = new_id()
    _insert(uow, "users", [{"id": uid, "name": name, "name_key": name_key, "created_at": now}])
    return uid


def insert_agents(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert agents: dicts with every column of ``agents``."""
    _insert(uow, "agents", rows)


def insert_connections(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert connections: dicts with every column of ``connections``."""
    _insert(uow, "connections", rows)


def update_connections(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """One UPDATE per dict, as one executemany: each dict has ``row_id`` and the columns to
    set (every dict the same columns)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "row_id"]
    unknown = sorted(set(columns) - set(_columns(uow, "connections")))
    if unknown:
        raise ValueError(f"connections has no column {unknown}")
    sql = f"UPDATE connections SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
    uow.driver().executemany(sql, ([*(row[c] for c in columns), row["row_id"]] for row in rows))


def insert_models(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert models: dicts with every column of ``models``."""
    _insert(uow, "models", rows)


def insert_priority_lists(uow, lists: Mapping[str, Sequence[str]]) -> None:
    """The priority lists of models created in this transaction: ``lists[model_id]`` is its
    connection ids, first = priority 1 (dense, as ``db.write.rewrite_priorities`` writes
    them; a new model has no list to delete first)."""
    _insert(uow, "attachments", [
        {"model_id": mid, "connection_id": cid, "priority": n}
        for mid, ids in lists.items() for n, cid in enumerate(ids, start=1)
    ])


def insert_grants(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Grant connections to agents: dicts with every column of ``agent_grants`` (agent_id,
    connection_id, created_at)."""
    _insert(uow, "agent_grants", rows)
