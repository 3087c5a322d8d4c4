"""Agents: named consumers of connections, the origin of legacy rows, and what each may use
(SPEC §10): an access mode (`all`, or `listed`: only the connections granted to it) and the
grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..context import AppContext
from ..db import read
from ..domain import labels, refs
from ..domain.rows import ConnectionRow, full_ref, legacy_suffix
from ..domain.usability import ACCESS_ALL, ACCESS_LISTED, ACCESS_MODES
from ..errors import Conflict, NotFound, UsageError
from .common import agent_by_name
from .views import JsonFields


@dataclass(frozen=True)
class AgentView(JsonFields):
    id: str
    name: str
    display_name: str | None
    created_at: str
    legacy_connections: int
    access: str  # all | listed

    JSON = ("id", "name", "display_name", "access", "legacy_connections", "created_at")


@dataclass(frozen=True)
class GrantedView(JsonFields):
    """A connection granted to an agent."""

    id: str
    provider: str
    auth_type: str
    label: str

    JSON = ("id", "provider", "auth_type", "label")

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label)


@dataclass(frozen=True)
class AgentDetail:
    """`agent show`: the agent, its access mode and the connections granted to it."""

    agent: AgentView
    granted: tuple[GrantedView, ...] = ()

    def to_dict(self) -> dict:
        a = self.agent
        return {"id": a.id, "name": a.name, "display_name": a.display_name, "access": a.access,
                "granted": [g.to_dict() for g in self.granted],
                "legacy_connections": a.legacy_connections, "created_at": a.created_at}


@dataclass(frozen=True)
class AgentChange:
    """An agent after add/update/grant/revoke, and what people should be told (stderr)."""

    detail: AgentDetail
    granted: tuple[str, ...] = ()  # PROVIDER/AUTH_TYPE/LABEL newly granted
    already: tuple[str, ...] = ()  # named again: already granted, nothing changed
    revoked: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return self.detail.to_dict()


def check_access(value: str) -> str:
    """An access mode (`all` or `listed`, any case); exit 2 otherwise."""
    mode = value.strip().lower()
    if mode not in ACCESS_MODES:
        text = value.strip()  # echoed at most as its first 8 characters (SPEC §2)
        shown = repr(text) if len(text) <= 8 else f"{text[:8]!r}… ({len(text)} characters)"
        raise UsageError(f"unknown access mode {shown}", hint="use one of: " + ", ".join(ACCESS_MODES))
    return mode


def _clean_display(display_name: str | None) -> str | None:
    return labels.clean(display_name, "display name") if display_name is not None else None


def _view(execute, uid: str, agent_id: str) -> AgentView:
    return next(AgentView(*row) for row in read.agents(execute, uid) if row[0] == agent_id)


def _detail(execute, uid: str, agent_id: str) -> AgentDetail:
    granted = tuple(GrantedView(r.id, r.provider, r.auth_type, r.label)
                    for r in read.granted_connections(execute, agent_id))
    return AgentDetail(_view(execute, uid, agent_id), granted)


def _can_use_nothing(detail: AgentDetail) -> tuple[str, ...]:
    """SPEC §10: a `listed` agent without grants can use nothing, and is told so."""
    a = detail.agent
    if a.access == ACCESS_LISTED and not detail.granted:
        return (f"agent {a.name} is listed and has no grants: it can now use nothing "
                f"(grant connections with `provctl agent grant {a.name} REF`).",)
    return ()


def add(ctx: AppContext, name: str, display_name: str | None = None,
        access: str | None = None) -> AgentChange:
    from ..db import write

    clean = labels.clean(name, "agent name")
    shown = _clean_display(display_name)
    mode = check_access(access) if access is not None else ACCESS_ALL
    now = ctx.stamp()
    with ctx.uow() as uow:
        uid = write.ensure_user(uow, ctx.user, ctx.user_key, now)
        name_key = labels.fold(clean)
        if read.find_agent(uow.execute, uid, name_key):
            raise Conflict(f"agent {clean!r} already exists", hint="agent names are unique per user (case-insensitive)")
        aid = write.ensure_agent(uow, uid, clean, name_key, now, display_name=shown, access=mode)
        detail = _detail(uow.execute, uid, aid)
        uow.commit()
    return AgentChange(detail, warnings=_can_use_nothing(detail))


def list_agents(ctx: AppContext) -> list[AgentView]:
    with ctx.reading() as execute:
        uid = read.user_id(execute, ctx.user_key)
        return [AgentView(*row) for row in read.agents(execute, uid)] if uid else []


def show(ctx: AppContext, name: str) -> AgentDetail:
    with ctx.reading() as execute:
        uid = read.user_id(execute, ctx.user_key)
        return _detail(execute, uid, agent_by_name(execute, uid, name)[0])


def update(ctx: AppContext, name: str, *, display_name: str | None = None,
           access: str | None = None) -> AgentChange:
    """Change an agent's display name (``""`` clears it) or access mode."""
    from ..db import write

    if display_name is None and access is None:
        raise UsageError("nothing to update", hint="give --display-name or --access")
    values: dict = {}
    if display_name is not None:
        values["display_name"] = _clean_display(display_name) if display_name.strip() else None
    if access is not None:
        values["access"] = check_access(access)
    with ctx.uow() as uow:
        uid = read.user_id(uow.execute, ctx.user_key)
        aid, _name, _display, before = agent_by_name(uow.execute, uid, name)
        write.update_agent(uow, aid, **values)
        detail = _detail(uow.execute, uid, aid)
        uow.commit()
    switched = before != detail.agent.access
    return AgentChange(detail, warnings=_can_use_nothing(detail) if switched else ())


def _pick_refs(rows: list[ConnectionRow], given: Sequence[str]) -> list[ConnectionRow]:
    """The connections named by ``given``, each once, in the order given."""
    picked: dict[str, ConnectionRow] = {}
    for ref in given:
        row = refs.pick(rows, ref)
        picked.setdefault(row.id, row)
    return list(picked.values())


def grant(ctx: AppContext, name: str, given: Sequence[str]) -> AgentChange:
    """Grant user-level connections to an agent. Granting twice is a no-op; a legacy row is
    exit 4 (lift it first); all or nothing."""
    from ..db import write

    with ctx.uow() as uow:
        uid = read.user_id(uow.execute, ctx.user_key)
        aid, agent_name, _display, access = agent_by_name(uow.execute, uid, name)
        chosen = _pick_refs(read.connections(uow.execute, uid), given)
        legacy = [r for r in chosen if r.agent_id is not None]
        if legacy:
            raise Conflict(
                "only user-level connections can be granted: "
                + ", ".join(f"{r.ref}{legacy_suffix(r.agent_name)} is a legacy connection" for r in legacy),
                hint="lift it first with `provctl migrate-lift`, then grant it",
            )
        held = {r.id for r in read.granted_connections(uow.execute, aid)}
        new = [r for r in chosen if r.id not in held]
        write.insert_grants(uow, [{"agent_id": aid, "connection_id": r.id, "created_at": ctx.stamp()}
                                  for r in new])
        detail = _detail(uow.execute, uid, aid)
        uow.commit()
    notes = ()
    if access == ACCESS_ALL:
        notes = (f"agent {agent_name} has access all: it may use every connection; the grants "
                 f"take effect with `provctl agent update {agent_name} --access listed`.",)
    return AgentChange(detail, granted=tuple(r.ref for r in new),
                       already=tuple(r.ref for r in chosen if r.id in held), notes=notes)


def revoke(ctx: AppContext, name: str, given: Sequence[str]) -> AgentChange:
    """Take grants back. Revoking what is not granted is exit 3; all or nothing."""
    from ..db import write

    with ctx.uow() as uow:
        uid = read.user_id(uow.execute, ctx.user_key)
        aid, agent_name, _display, _access = agent_by_name(uow.execute, uid, name)
        chosen = _pick_refs(read.connections(uow.execute, uid), given)
        held = {r.id for r in read.granted_connections(uow.execute, aid)}
        missing = [r for r in chosen if r.id not in held]
        if missing:
            raise NotFound(
                ", ".join(r.ref + legacy_suffix(r.agent_name if r.agent_id else None) for r in missing)
                + f" {'is' if len(missing) == 1 else 'are'} not granted to agent {agent_name}",
                hint=f"see `provctl agent show {agent_name}`",
            )
        write.delete_grants(uow, aid, [r.id for r in chosen])
        detail = _detail(uow.execute, uid, aid)
        uow.commit()
    return AgentChange(detail, revoked=tuple(r.ref for r in chosen), warnings=_can_use_nothing(detail))


def remove(ctx: AppContext, name: str) -> AgentView:
    """Remove an agent (its grants go with it); refused while it owns legacy connections."""
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

