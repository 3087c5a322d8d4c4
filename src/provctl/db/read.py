"""Every read: plain SQL over the schema, run by stdlib ``sqlite3`` (the hot paths: resolve,
list, show) or inside a unit of work (``uow.execute``, same SQL). A test checks every statement
in ``db/`` against the SQLModel metadata.

Each function takes ``execute(sql, params) -> iterable of tuples`` and returns plain values or
the rows of ``domain.rows``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..domain.rows import ConnectionRow, ModelRow, connection_order, natural_key

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


def user_connections(execute: Execute, user_key: str) -> list[ConnectionRow]:
    """Every connection of the user (folded name), user-level and legacy, in list order."""
    uid = user_id(execute, user_key)
    return connections(execute, uid) if uid else []


def connections(execute: Execute, uid: str) -> list[ConnectionRow]:
    """Every connection of the user, in listing order (``domain.rows.connection_order``)."""
    sql = f"SELECT {CONNECTION_COLUMNS} {CONNECTION_FROM} WHERE c.user_id = ?{CONNECTION_ORDER}"
    return sorted((_row(t) for t in execute(sql, (uid,))), key=connection_order)


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


def find_agent(execute: Execute, uid: str, name_key: str) -> tuple[str, str, str | None, str] | None:
    """(id, name, display_name, access) of the user's agent with this folded name, or None."""
    for row in execute("SELECT id, name, display_name, access FROM agents WHERE user_id = ? AND name_key = ?",
                       (uid, name_key)):
        return tuple(row)
    return None


def agents(execute: Execute, uid: str) -> list[tuple]:
    """(id, name, display_name, created_at, legacy connection count, access), by folded name."""
    sql = (
        "SELECT a.id, a.name, a.display_name, a.created_at, "
        "(SELECT count(*) FROM connections c WHERE c.agent_id = a.id), a.access "
        "FROM agents a WHERE a.user_id = ? ORDER BY a.name_key, a.id"
    )
    return sorted(execute(sql, (uid,)), key=lambda a: (natural_key(a[1]), a[0]))


# ---------------------------------------------------------------- agents' access (SPEC §10)


def granted_connections(execute: Execute, agent_id: str) -> list[ConnectionRow]:
    """The connections granted to the agent, in listing order."""
    sql = (f"SELECT {CONNECTION_COLUMNS} FROM agent_grants g JOIN connections c ON c.id = g.connection_id "
           "LEFT JOIN agents a ON a.id = c.agent_id LEFT JOIN agents v ON v.id = c.connected_via_agent_id "
           "WHERE g.agent_id = ?")
    return sorted((_row(t) for t in execute(sql, (agent_id,))), key=connection_order)


def granted_to(execute: Execute, connection_id: str) -> list[str]:
    """The names of the ``listed`` agents the connection is granted to, in natural order."""
    sql = ("SELECT a.name FROM agent_grants g JOIN agents a ON a.id = g.agent_id "
           "WHERE g.connection_id = ? AND a.access = 'listed'")
    return sorted((name for (name,) in execute(sql, (connection_id,))), key=natural_key)


def grants(execute: Execute, uid: str) -> list[tuple[str, str]]:
    """(agent id, connection id) of every grant of the user's agents."""
    sql = ("SELECT g.agent_id, g.connection_id FROM agents a JOIN agent_grants g ON g.agent_id = a.id "
           "WHERE a.user_id = ?")
    return [(aid, cid) for aid, cid in execute(sql, (uid,))]


# ---------------------------------------------------------------- models and priority lists

MODEL_COLUMNS = (
    "m.id, m.user_id, m.name, m.name_key, m.provider, m.upstream_model, m.enabled, m.is_default, "
    "m.created_at"
)


def _model(t: tuple) -> ModelRow:
    return ModelRow(t[0], t[1], t[2], t[3], t[4], t[5], bool(t[6]), bool(t[7]), t[8])


def models(execute: Execute, uid: str) -> list[ModelRow]:
    """The user's models, by folded name."""
    sql = f"SELECT {MODEL_COLUMNS} FROM models m WHERE m.user_id = ? ORDER BY m.name_key, m.id"
    return sorted((_model(t) for t in execute(sql, (uid,))), key=lambda m: (natural_key(m.name), m.id))


def model(execute: Execute, uid: str, name_key: str) -> ModelRow | None:
    sql = f"SELECT {MODEL_COLUMNS} FROM models m WHERE m.user_id = ? AND m.name_key = ?"
    for t in execute(sql, (uid, name_key)):
        return _model(t)
    return None


def default_model(execute: Execute, uid: str) -> ModelRow | None:
    sql = f"SELECT {MODEL_COLUMNS} FROM models m WHERE m.user_id = ? AND m.is_default = 1"
    for t in execute(sql, (uid,)):
        return _model(t)
    return None


def user_model(execute: Execute, user_key: str, name_key: str | None) -> ModelRow | None:
    """The resolve hot path's first query: the user's model NAME (folded), or, with
    ``name_key`` None, the user's default model. One indexed lookup, users joined in."""
    if name_key is None:
        sql = (f"SELECT {MODEL_COLUMNS} FROM users u JOIN models m ON m.user_id = u.id "
               "WHERE u.name_key = ? AND m.is_default = 1")
        params: tuple = (user_key,)
    else:
        sql = (f"SELECT {MODEL_COLUMNS} FROM users u JOIN models m ON m.user_id = u.id "
               "WHERE u.name_key = ? AND m.name_key = ?")
        params = (user_key, name_key)
    for t in execute(sql, params):
        return _model(t)
    return None


# The resolve hot path's one read: the model (or the user's default), the agent asking (with
# its access mode) and the model's priority list, each connection with whether it is granted
# to that agent. LEFT JOINs, so a model without attachments (or an unknown agent) still gives
# its one row; with no agent asked, the agent's name key is bound to NULL and matches nothing.
RESOLUTION_SELECT = (
    f"SELECT {MODEL_COLUMNS}, g.id, g.name, g.access, t.priority, {CONNECTION_COLUMNS}, "
    "EXISTS (SELECT 1 FROM agent_grants x WHERE x.agent_id = g.id AND x.connection_id = c.id) "
    "FROM users u JOIN models m ON m.user_id = u.id "
    "LEFT JOIN agents g ON g.user_id = u.id AND g.name_key = ? "
    "LEFT JOIN attachments t ON t.model_id = m.id "
    "LEFT JOIN connections c ON c.id = t.connection_id "
    "LEFT JOIN agents a ON a.id = c.agent_id "
    "LEFT JOIN agents v ON v.id = c.connected_via_agent_id "
)


def resolution_rows(execute: Execute, user_key: str, name_key: str | None, agent_key: str | None
                    ) -> tuple[ModelRow, tuple[str, str, str] | None, list[tuple[int, ConnectionRow]],
                               frozenset[str]] | None:
    """What ``resolve`` judges, in ONE query: the user's model NAME (folded; with ``name_key``
    None, the user's default model), the agent ``agent_key`` (folded) as (id, name, access) or
    None when not asked or not found, the (priority, connection) list by priority, and the
    ids of the attached connections granted to that agent. None when there is no such model."""
    if name_key is None:
        where, params = "WHERE u.name_key = ? AND m.is_default = 1", (agent_key, user_key)
    else:
        where, params = "WHERE u.name_key = ? AND m.name_key = ?", (agent_key, user_key, name_key)
    model = agent = None
    attached: list[tuple[int, ConnectionRow]] = []
    granted: set[str] = set()
    for t in execute(RESOLUTION_SELECT + where + " ORDER BY t.priority", params):
        if model is None:
            model = _model(t[:9])
            agent = (t[9], t[10], t[11]) if t[9] is not None else None
        if t[12] is not None:
            row = _row(t[13:33])
            attached.append((t[12], row))
            if t[33]:
                granted.add(row.id)
    if model is None:
        return None
    return model, agent, attached, frozenset(granted)


def attached_ids(execute: Execute, model_id: str) -> list[str]:
    """Connection ids attached to the model, by priority."""
    sql = "SELECT connection_id FROM attachments WHERE model_id = ? ORDER BY priority"
    return [cid for (cid,) in execute(sql, (model_id,))]


def models_of_connection(execute: Execute, connection_id: str) -> list[tuple[str, str]]:
    """(model id, model name) of every model the connection is attached to, by folded name."""
    sql = ("SELECT m.id, m.name FROM attachments t JOIN models m ON m.id = t.model_id "
           "WHERE t.connection_id = ? ORDER BY m.name_key")
    return [(mid, name) for mid, name in execute(sql, (connection_id,))]


def attached(execute: Execute, model_id: str) -> list[tuple[int, ConnectionRow]]:
    """(priority, connection) of every connection attached to the model, by priority."""
    sql = (
        f"SELECT t.priority, {CONNECTION_COLUMNS} FROM attachments t "
        "JOIN connections c ON c.id = t.connection_id "
        "LEFT JOIN agents a ON a.id = c.agent_id "
        "LEFT JOIN agents v ON v.id = c.connected_via_agent_id "
        "WHERE t.model_id = ? ORDER BY t.priority"
    )
    return [(t[0], _row(t[1:])) for t in execute(sql, (model_id,))]


def attached_by_model(execute: Execute, uid: str) -> dict[str, list[tuple[int, ConnectionRow]]]:
    """For every model of the user: its (priority, connection) list, by priority (one query)."""
    sql = (
        f"SELECT t.model_id, t.priority, {CONNECTION_COLUMNS} FROM models m "
        "JOIN attachments t ON t.model_id = m.id "
        "JOIN connections c ON c.id = t.connection_id "
        "LEFT JOIN agents a ON a.id = c.agent_id "
        "LEFT JOIN agents v ON v.id = c.connected_via_agent_id "
        "WHERE m.user_id = ? ORDER BY t.model_id, t.priority"
    )
    found: dict[str, list[tuple[int, ConnectionRow]]] = {}
    for t in execute(sql, (uid,)):
        found.setdefault(t[0], []).append((t[1], _row(t[2:])))
    return found


def connections_oldest_first(execute: Execute, uid: str, provider: str) -> list[ConnectionRow]:
    """The user's user-level connections of one family, oldest first (SPEC §6: earliest
    ``created_at``, then earliest inserted)."""
    sql = (
        f"SELECT {CONNECTION_COLUMNS} {CONNECTION_FROM} "
        "WHERE c.user_id = ? AND c.provider = ? AND c.agent_id IS NULL "
        "ORDER BY c.created_at, c.rowid"
    )
    return [_row(t) for t in execute(sql, (uid, provider))]


# ---------------------------------------------------------------- import / export


def connections_by_age(execute: Execute, uid: str) -> list[ConnectionRow]:
    """All the user's connections, user-level and legacy, oldest first (created_at, then
    insertion): the order `export` writes, so that an import recreates the same "oldest"."""
    sql = f"SELECT {CONNECTION_COLUMNS} {CONNECTION_FROM} WHERE c.user_id = ? ORDER BY c.created_at, c.rowid"
    return [_row(t) for t in execute(sql, (uid,))]


# ---------------------------------------------------------------- discovery


def connection_exists(execute: Execute, connection_id: str) -> bool:
    return any(True for _ in execute("SELECT 1 FROM connections WHERE id = ?", (connection_id,)))


def discovered_models(execute: Execute, connection_id: str) -> list[tuple[str, str]]:
    """(model id, discovered at) of a connection, sorted by model id."""
    sql = ("SELECT model_id, discovered_at FROM discovered_models WHERE connection_id = ? "
           "ORDER BY model_id")
    return [(model, at) for model, at in execute(sql, (connection_id,))]


# ---------------------------------------------------------------- doctor


def integrity_check(execute: Execute) -> list[str]:
    """The lines of ``PRAGMA integrity_check`` (``["ok"]`` when healthy)."""
    return [r[0] for r in execute("PRAGMA integrity_check", ())]


def lift_undo_key_ids(execute: Execute) -> list[str]:
    """Connection ids whose keyring entry is kept only for a lift's --undo (merged rows of runs
    not undone)."""
    sql = ("SELECT r.connection_id FROM lift_run_rows r JOIN lift_runs l ON l.id = r.run_id "
           "WHERE r.action = 'merge' AND l.undone_at IS NULL")
    return [cid for (cid,) in execute(sql, ())]


# ---------------------------------------------------------------- shell completion (names only)


def completion_connections(execute: Execute, user_key: str) -> list[tuple]:
    """(id, provider, auth type, label, folded label, agent name or None, enabled) of every
    connection of the user (folded name), user-level and legacy, in list order."""
    sql = (
        "SELECT c.id, c.provider, c.auth_type, c.label, c.label_key, a.name, c.enabled "
        "FROM users u JOIN connections c ON c.user_id = u.id "
        "LEFT JOIN agents a ON a.id = c.agent_id WHERE u.name_key = ?" + CONNECTION_ORDER
    )
    return list(execute(sql, (user_key,)))


def completion_model(execute: Execute, user_key: str,
                     name_key: str) -> tuple[str, list[str]] | None:
    """(provider, attached connection ids by priority) of the user's model, or None."""
    sql = (
        "SELECT m.provider, t.connection_id FROM users u JOIN models m ON m.user_id = u.id "
        "LEFT JOIN attachments t ON t.model_id = m.id "
        "WHERE u.name_key = ? AND m.name_key = ? ORDER BY t.priority"
    )
    rows = list(execute(sql, (user_key, name_key)))
    if not rows:
        return None
    return rows[0][0], [cid for _, cid in rows if cid is not None]


def completion_models(execute: Execute, user_key: str) -> list[tuple]:
    """(name, provider, upstream model or None, enabled, is default) of the user's models."""
    sql = (
        "SELECT m.name, m.provider, m.upstream_model, m.enabled, m.is_default "
        "FROM users u JOIN models m ON m.user_id = u.id WHERE u.name_key = ? ORDER BY m.name_key"
    )
    return list(execute(sql, (user_key,)))


def completion_agents(execute: Execute, user_key: str) -> list[tuple]:
    """(name, display name or None) of the user's agents."""
    sql = ("SELECT a.name, a.display_name FROM users u JOIN agents a ON a.user_id = u.id "
           "WHERE u.name_key = ? ORDER BY a.name_key")
    return list(execute(sql, (user_key,)))


def user_names(execute: Execute) -> list[str]:
    return [name for (name,) in execute("SELECT name FROM users ORDER BY name_key", ())]


def completion_lift_runs(execute: Execute) -> list[tuple]:
    """(id, created at, all users, rows) of the lift runs not undone, newest first (any user's:
    `migrate-lift --undo` takes any run)."""
    sql = (
        "SELECT l.id, l.created_at, l.all_users, "
        "(SELECT count(*) FROM lift_run_rows r WHERE r.run_id = l.id) "
        "FROM lift_runs l WHERE l.undone_at IS NULL ORDER BY l.created_at DESC, l.id"
    )
    return list(execute(sql, ()))


def keyring_journal(execute: Execute) -> list[tuple[str, str, str, str]]:
    """(connection id, operation, connection reference, started at) of every keyring write or
    delete still under way (interrupted or failed), oldest first."""
    sql = ("SELECT connection_id, operation, connection_ref, started_at FROM keyring_journal "
           "ORDER BY started_at, connection_id")
    return [tuple(t) for t in execute(sql, ())]
