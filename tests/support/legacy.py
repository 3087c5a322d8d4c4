"""Build databases with legacy (agent-scoped) rows quickly, with direct SQL.

Lift tests need rows that `connect` cannot make (legacy rows, chosen creation times, shared
keys across agents, thousands of rows): this writes them straight into a migrated database.
Keys are not needed to lift: a "key" is only its fingerprint here (``fp``).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from provctl.domain.labels import fold


def dump(db_path: Path, *, skip_lift_tables: bool = False) -> list[str]:
    """The database's logical content (``.dump``), optionally without the lift run record."""
    conn = sqlite3.connect(db_path)
    try:
        lines = list(conn.iterdump())
    finally:
        conn.close()
    if skip_lift_tables:
        lines = [line for line in lines if "lift_run" not in line]
    return lines


class Legacy:
    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self.conn = sqlite3.connect(self.db_path, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.users: dict[str, str] = {}
        self.agents: dict[tuple[str, str], str] = {}
        self.n = 0
        for uid, name in self.conn.execute("SELECT id, name FROM users"):
            self.users[name] = uid

    def _stamp(self) -> str:
        self.n += 1
        return f"2026-01-01T00:00:{self.n // 1000000:02d}.{self.n % 1000000:06d}Z"

    def user(self, name: str) -> str:
        if name not in self.users:
            uid = str(uuid.uuid4())
            self.conn.execute("INSERT INTO users (id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
                              (uid, name, fold(name), self._stamp()))
            self.users[name] = uid
        return self.users[name]

    def agent(self, user: str, name: str, display: str | None = None) -> str:
        key = (user, name)
        if key not in self.agents:
            aid = str(uuid.uuid4())
            self.conn.execute(
                "INSERT INTO agents (id, user_id, name, name_key, display_name, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (aid, self.user(user), name, fold(name) or aid, display, self._stamp()),
            )
            self.agents[key] = aid
        return self.agents[key]

    def row(self, user: str, agent: str | None, provider: str = "openai", label: str = "Default", *,
            auth: str = "api_key", fp: str | None = None, base_url: str | None = None,
            enabled: bool = True, key_env: str | None = None, display: str | None = None) -> str:
        """A connection; ``agent`` None makes a user-level row. ``fp`` marks a stored key."""
        cid = str(uuid.uuid4())
        aid = self.agent(user, agent, display) if agent is not None else None
        stamp = self._stamp()
        self.conn.execute(
            "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
            "base_url, enabled, key_stored, key_hint, key_fingerprint, key_env, key_source, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cid, self.user(user), aid, provider, auth, label, fold(label), base_url, enabled,
             fp is not None, "…dddd" if fp else None, fp, key_env,
             "keyring,env" if key_env else "keyring", stamp, stamp),
        )
        return cid

    def many(self, rows: list[tuple]) -> None:
        """Bulk legacy rows: (user, agent, provider, auth, label, fp) tuples, oldest first."""
        values = []
        for user, agent, provider, auth, label, fp in rows:
            cid = str(uuid.uuid4())
            stamp = self._stamp()
            values.append((cid, self.user(user), self.agent(user, agent), provider, auth, label, fold(label),
                           fp is not None, fp, stamp, stamp))
        self.conn.execute("BEGIN")
        self.conn.executemany(
            "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, "
            "enabled, key_stored, key_fingerprint, key_source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'keyring', ?, ?)", values)
        self.conn.execute("COMMIT")

    def model(self, user: str, name: str, connection_ids: list[str], provider: str = "openai") -> str:
        mid = str(uuid.uuid4())
        self.conn.execute(
            "INSERT INTO models (id, user_id, name, name_key, provider, upstream_model, enabled, "
            "is_default, created_at) VALUES (?, ?, ?, ?, ?, NULL, 1, 0, ?)",
            (mid, self.user(user), name, fold(name), provider, self._stamp()),
        )
        self.conn.executemany(
            "INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)",
            [(mid, cid, n) for n, cid in enumerate(connection_ids, start=1)],
        )
        return mid

    def discovered(self, connection_id: str, *model_ids: str) -> None:
        self.conn.executemany(
            "INSERT INTO discovered_models (connection_id, model_id, discovered_at) VALUES (?, ?, ?)",
            [(connection_id, m, self._stamp()) for m in model_ids],
        )

    # ---- reads
    def labels(self) -> dict[str, tuple[str | None, str]]:
        """connection id -> (agent id, label)."""
        return {cid: (aid, label) for cid, aid, label in
                self.conn.execute("SELECT id, agent_id, label FROM connections")}

    def attachments(self, model_id: str) -> list[str]:
        return [cid for (cid,) in self.conn.execute(
            "SELECT connection_id FROM attachments WHERE model_id = ? ORDER BY priority", (model_id,))]

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        return list(self.conn.execute(statement, params))

    def close(self) -> None:
        self.conn.close()
