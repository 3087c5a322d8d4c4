"""The read path: plain SQL over the schema, usable from stdlib ``sqlite3`` (hot paths) and from
inside a unit of work (``uow.execute``). A test checks every query against the SQLModel metadata.

Each function takes ``execute(sql, params) -> iterable of tuples``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .records import ConnectionRow

Execute = Callable[[str, Any], Iterable[tuple]]

CONNECTION_COLUMNS = """
    c.id, c.user_id, c.agent_id, a.name, v.name, c.provider, c.auth_type, c.label, c.label_key,
    c.base_url, c.enabled, c.key_stored, c.key_hint, c.key_fingerprint, c.key_env, c.key_source,
    c.expires_at, c.created_at,
    (SELECT count(*) FROM discovered_models d WHERE d.connection_id = c.id),
    (SELECT count(*) FROM attachments t WHERE t.connection_id = c.id)
"""
CONNECTION_FROM = """
    FROM connections c
    LEFT JOIN agents a ON a.id = c.agent_id
    LEFT JOIN agents v ON v.id = c.connected_via_agent_id
"""
# SPEC §6: provider, auth type, folded label, then agent name (user-level first), then id
CONNECTION_ORDER = (
    " ORDER BY c.provider, c.auth_type, c.label_key, c.agent_id IS NOT NULL, a.name_key, c.id"
)


def _row(t: tuple) -> ConnectionRow:
    return ConnectionRow(
        t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], bool(t[10]), bool(t[11]),
        t[12], t[13], t[14], t[15], t[16], t[17], t[18], t[19],
    )


def user_id(execute: Execute, name_key: str) -> str | None:
    for (uid,) in execute("SELECT id FROM users WHERE name_key = ?", (name_key,)):
        return uid
    return None


def connections(execute: Execute, uid: str) -> list[ConnectionRow]:
    sql = f"SELECT {CONNECTION_COLUMNS} {CONNECTION_FROM} WHERE c.user_id = ?{CONNECTION_ORDER}"
    return [_row(t) for t in execute(sql, (uid,))]


def connection(execute: Execute, connection_id: str) -> ConnectionRow | None:
    sql = f"SELECT {CONNECTION_COLUMNS} {CONNECTION_FROM} WHERE c.id = ?"
    for t in execute(sql, (connection_id,)):
        return _row(t)
    return None


def attachments_of_connection(execute: Execute, connection_id: str) -> list[tuple[str, int]]:
    """(model name, priority) of every model the connection is attached to."""
    sql = (
        "SELECT m.name, t.priority FROM attachments t JOIN models m ON m.id = t.model_id "
        "WHERE t.connection_id = ? ORDER BY m.name_key"
    )
    return [(name, prio) for name, prio in execute(sql, (connection_id,))]


def salt(execute: Execute) -> str:
    for (value,) in execute("SELECT value FROM meta WHERE key = 'salt'", ()):
        return value
    raise RuntimeError("the database has no salt")


def agents(execute: Execute, uid: str) -> list[tuple]:
    """(id, name, display_name, created_at, legacy connection count), by folded name."""
    sql = (
        "SELECT a.id, a.name, a.display_name, a.created_at, "
        "(SELECT count(*) FROM connections c WHERE c.agent_id = a.id) "
        "FROM agents a WHERE a.user_id = ? ORDER BY a.name_key, a.id"
    )
    return list(execute(sql, (uid,)))
