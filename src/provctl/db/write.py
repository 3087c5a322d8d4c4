"""Every write except the bulk statements of the lift (``db/lift.py``) and of import
(``db/bulk.py``): SQLAlchemy Core statements on the SQLModel tables, executed through the unit
of work's session, inside its one ``BEGIN IMMEDIATE`` transaction. Services pass plain values;
nothing here commits.

Statements are built from the table objects, so a renamed column fails at import, not at
run time; executemany (a list of dicts) makes bulk inserts one statement each.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import delete, insert, update

from ..domain.rows import new_id
from . import read
from .models import Agent, AgentGrant, Attachment, Connection, DiscoveredModel, ModelConfig, User

_users = User.__table__
_agents = Agent.__table__
_connections = Connection.__table__
_models = ModelConfig.__table__
_attachments = Attachment.__table__
_discovered = DiscoveredModel.__table__
_grants = AgentGrant.__table__


def _run(uow, statement, rows: Sequence[Mapping[str, Any]] | None = None) -> int:
    """Execute ``statement`` (with ``rows``: once per row, as one executemany); the row count."""
    if rows is not None and not rows:
        return 0
    result = uow.session.connection().execute(statement, list(rows) if rows is not None else None)
    return result.rowcount


# ---------------------------------------------------------------- users and agents


def ensure_user(uow, name: str, name_key: str, now: str) -> str:
    """The id of the user with this folded name, creating the row on first write."""
    uid = read.user_id(uow.execute, name_key)
    if uid is None:
        uid = new_id()
        _run(uow, insert(_users).values(id=uid, name=name, name_key=name_key, created_at=now))
    return uid


def insert_agents(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert agents: dicts with id, user_id, name, name_key, display_name, created_at (and
    access, else `all`)."""
    _run(uow, insert(_agents), [{"access": "all", **row} for row in rows])


def ensure_agent(uow, uid: str, name: str, name_key: str, now: str,
                 display_name: str | None = None, access: str = "all") -> str:
    """The id of the user's agent with this folded name, creating it if missing."""
    found = read.find_agent(uow.execute, uid, name_key)
    if found is not None:
        return found[0]
    aid = new_id()
    insert_agents(uow, [{"id": aid, "user_id": uid, "name": name, "name_key": name_key,
                         "display_name": display_name, "created_at": now, "access": access}])
    return aid


def update_agent(uow, agent_id: str, **values: Any) -> None:
    """Set ``values`` (column=value: display_name, access) on one agent."""
    _run(uow, update(_agents).where(_agents.c.id == agent_id).values(**values))


def delete_agent(uow, agent_id: str) -> None:
    """Delete an agent; its grants go with it (ON DELETE CASCADE)."""
    _run(uow, delete(_agents).where(_agents.c.id == agent_id))


def insert_grants(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Grant connections to agents: dicts with agent_id, connection_id, created_at. A grant
    that exists already stays as it is (granting twice is a no-op)."""
    _run(uow, insert(_grants).prefix_with("OR IGNORE"), rows)


def delete_grants(uow, agent_id: str, connection_ids: Iterable[str]) -> None:
    """Revoke the agent's grants on ``connection_ids``."""
    ids = list(connection_ids)
    if ids:
        _run(uow, delete(_grants).where(_grants.c.agent_id == agent_id,
                                        _grants.c.connection_id.in_(ids)))


# ---------------------------------------------------------------- connections


def insert_connections(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert connections: dicts with every column of ``connections``."""
    _run(uow, insert(_connections), rows)


def update_connection(uow, connection_id: str, **values: Any) -> None:
    """Set ``values`` (column=value) on one connection."""
    _run(uow, update(_connections).where(_connections.c.id == connection_id).values(**values))


def forget_keys(uow, connection_ids: Iterable[str]) -> None:
    """The connections no longer claim a stored key (its hint and fingerprint go too)."""
    ids = list(connection_ids)
    if ids:
        _run(uow, update(_connections).where(_connections.c.id.in_(ids))
             .values(key_stored=False, key_hint=None, key_fingerprint=None))


def delete_connection(uow, connection_id: str) -> None:
    """Delete a connection; its grants go with it (ON DELETE CASCADE)."""
    _run(uow, delete(_connections).where(_connections.c.id == connection_id))


# ---------------------------------------------------------------- models and priority lists


def insert_models(uow, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert models: dicts with every column of ``models``."""
    _run(uow, insert(_models), rows)


def update_model(uow, model_id: str, **values: Any) -> None:
    _run(uow, update(_models).where(_models.c.id == model_id).values(**values))


def set_default_model(uow, uid: str, model_id: str) -> None:
    """Make ``model_id`` the user's default; the previous default is cleared first, in the
    same transaction (the partial unique index allows one default per user)."""
    _run(uow, update(_models).where(_models.c.user_id == uid, _models.c.is_default == True,  # noqa: E712
                                    _models.c.id != model_id).values(is_default=False))
    update_model(uow, model_id, is_default=True)


def delete_model(uow, model_id: str) -> None:
    """Delete a model and its priority list (the connections stay)."""
    _run(uow, delete(_attachments).where(_attachments.c.model_id == model_id))
    _run(uow, delete(_models).where(_models.c.id == model_id))


def rewrite_priorities(uow, lists: Mapping[str, Sequence[str]]) -> None:
    """Make each ``lists[model_id]`` (connection ids, first = priority 1) that model's complete
    priority list: delete, then insert 1..n, so the unique (model, priority) and (model,
    connection) constraints hold at every commit. THE one way a list is written."""
    if not lists:
        return
    model_ids = list(lists)
    for start in range(0, len(model_ids), 500):  # SQLite's limit on bound parameters
        _run(uow, delete(_attachments).where(_attachments.c.model_id.in_(model_ids[start:start + 500])))
    _run(uow, insert(_attachments), [
        {"model_id": mid, "connection_id": cid, "priority": n}
        for mid, ids in lists.items() for n, cid in enumerate(ids, start=1)
    ])


# ---------------------------------------------------------------- discovery


def replace_discovered(uow, model_ids: Mapping[str, Sequence[str]], stamp: str) -> set[str]:
    """Replace the discovered ids of each connection in ``model_ids``. Returns the ids of the
    connections that exist (a connection removed meanwhile is skipped)."""
    present = {cid for cid in model_ids if read.connection_exists(uow.execute, cid)}
    for cid in present:
        _run(uow, delete(_discovered).where(_discovered.c.connection_id == cid))
        _run(uow, insert(_discovered), [{"connection_id": cid, "model_id": model, "discovered_at": stamp}
                                         for model in model_ids[cid]])
    return present
