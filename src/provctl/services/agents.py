"""Agents: named consumers of connections, and the origin of legacy rows."""

from __future__ import annotations

from dataclasses import dataclass

from ..context import AppContext
from ..db import read
from ..domain import labels
from ..errors import Conflict
from .common import agent_by_name
from .views import JsonFields


@dataclass(frozen=True)
class AgentView(JsonFields):
    id: str
    name: str
    display_name: str | None
    created_at: str
    legacy_connections: int

    JSON = ("id", "name", "display_name", "legacy_connections", "created_at")


def _view(execute, uid: str, agent_id: str) -> AgentView:
    return next(AgentView(*row) for row in read.agents(execute, uid) if row[0] == agent_id)


def add(ctx: AppContext, name: str, display_name: str | None = None) -> AgentView:
    from ..db import write

    clean = labels.clean(name, "agent name")
    shown = labels.clean(display_name, "display name") if display_name is not None else None
    now = ctx.stamp()
    with ctx.uow() as uow:
        uid = write.ensure_user(uow, ctx.user, ctx.user_key, now)
        name_key = labels.fold(clean)
        if read.find_agent(uow.execute, uid, name_key):
            raise Conflict(f"agent {clean!r} already exists", hint="agent names are unique per user (case-insensitive)")
        aid = write.ensure_agent(uow, uid, clean, name_key, now, display_name=shown)
        uow.commit()
        return _view(uow.execute, uid, aid)


def list_agents(ctx: AppContext) -> list[AgentView]:
    with ctx.reading() as execute:
        uid = read.user_id(execute, ctx.user_key)
        return [AgentView(*row) for row in read.agents(execute, uid)] if uid else []


def remove(ctx: AppContext, name: str) -> AgentView:
    from ..db import write

    with ctx.uow() as uow:
        uid = read.user_id(uow.execute, ctx.user_key)
        found = agent_by_name(uow.execute, uid, name)
        view = _view(uow.execute, uid, found[0])
        if view.legacy_connections:
            raise Conflict(
                f"agent {view.name!r} owns {view.legacy_connections} legacy connection(s)",
                hint="lift them first with `provctl migrate-lift`, or remove them with `provctl providers remove`",
            )
        write.delete_agent(uow, found[0])
        uow.commit()
        return view
