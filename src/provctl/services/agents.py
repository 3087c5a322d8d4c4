"""Agents: named consumers of connections, and the origin of legacy rows."""

from __future__ import annotations

from dataclasses import dataclass

from .. import labels, queries
from ..context import AppContext
from ..errors import Conflict, NotFound
from .common import ensure_user, find_agent, reading


@dataclass(frozen=True)
class AgentView:
    id: str
    name: str
    display_name: str | None
    created_at: str
    legacy_connections: int

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "display_name": self.display_name,
            "legacy_connections": self.legacy_connections,
            "created_at": self.created_at,
        }


def _view(execute, uid: str, agent_id: str) -> AgentView:
    return next(AgentView(*row) for row in queries.agents(execute, uid) if row[0] == agent_id)


def add(ctx: AppContext, name: str, display_name: str | None = None) -> AgentView:
    clean = labels.clean(name, "agent name")
    shown = labels.clean(display_name, "display name") if display_name is not None else None
    with ctx.uow() as uow:
        uid = ensure_user(ctx, uow)
        if find_agent(uow, uid, clean):
            raise Conflict(f"agent {clean!r} already exists", hint="agent names are unique per user (case-insensitive)")
        from .common import ensure_agent

        aid = ensure_agent(uow, uid, clean, shown)
        uow.commit()
        return _view(uow.execute, uid, aid)


def list_agents(ctx: AppContext) -> list[AgentView]:
    with reading(ctx) as execute:
        uid = queries.user_id(execute, ctx.user_key)
        return [AgentView(*row) for row in queries.agents(execute, uid)] if uid else []


def remove(ctx: AppContext, name: str) -> AgentView:
    with ctx.uow() as uow:
        uid = queries.user_id(uow.execute, ctx.user_key)
        found = find_agent(uow, uid, name) if uid else None
        if not found:
            raise NotFound(f"no agent named {name.strip()!r}", hint="see `provctl agent list`")
        view = _view(uow.execute, uid, found[0])
        if view.legacy_connections:
            raise Conflict(
                f"agent {view.name!r} owns {view.legacy_connections} legacy connection(s)",
                hint="lift them first with `provctl migrate-lift`, or remove them with `provctl providers remove`",
            )
        uow.run("DELETE FROM agents WHERE id = ?", (found[0],))
        uow.commit()
        return view
