"""Models and their priority lists (SPEC §6 model): add, list, show, attach, detach, reorder,
update, remove.

Priorities shown to users are 1-based and dense. Every change to a list rewrites the whole
list inside the command's one ``BEGIN IMMEDIATE`` transaction (``db.write.rewrite_priorities``), so the
unique (model, connection) and (model, priority) constraints hold at every commit and
parallel ``model attach`` processes serialise instead of failing.

Status badges and ``would_select`` come from THE usable predicate (``usable.usability``)
with the model's provider, by stored state: no keyring reads, no probes. With ``agent``
(`model show/list --agent A`), they are that agent's view: for a ``listed`` agent, a
connection not granted to it is ``agent_denied`` (SPEC §10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..context import AppContext
from ..db import read
from ..domain import labels, priorities, refs, usability
from ..domain.credentials import NO_KEY
from ..domain.families import family
from ..domain.rows import ConnectionRow, ModelRow, full_ref, new_id
from ..errors import Conflict, NotFound, UsageError
from .common import agent_asking, model_by_name
from .views import JsonFields

UPSTREAM_MAX = 200


# ---------------------------------------------------------------- output shapes


@dataclass(frozen=True)
class AttachedView(JsonFields):
    """One connection of a model's priority list, with its status badge."""

    priority: int
    id: str
    provider: str
    auth_type: str
    label: str
    status: str  # active, or the usable predicate's reason code
    key_hint: str | None
    agent: str | None  # a legacy row's agent (not in the JSON: the status says `legacy`)

    JSON = ("priority", "id", "provider", "auth_type", "label", "status", "key_hint")

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label)


@dataclass(frozen=True)
class ModelInfo(JsonFields):
    """What every model shape starts with."""

    name: str
    provider: str
    upstream_model: str
    enabled: bool
    default: bool

    JSON = ("name", "provider", "upstream_model", "enabled", "default")


@dataclass(frozen=True)
class ModelDetail(ModelInfo):
    connections: tuple[AttachedView, ...] = ()

    def to_dict(self) -> dict:
        return {**super().to_dict(), "connections": [c.to_dict() for c in self.connections]}


@dataclass(frozen=True)
class ModelSummary(ModelInfo):
    connections: int = 0
    would_select: str | None = None  # label of what resolve would pick now (stored state)
    would_select_id: str | None = None

    JSON = ModelInfo.JSON + ("connections", "would_select", "would_select_id")


@dataclass(frozen=True)
class ModelChange:
    """The model after a change, and what people should be told about it (stderr)."""

    model: ModelDetail
    warnings: tuple[str, ...] = ()
    auto_attach: bool = False  # `model add` without --attach
    auto_attached: AttachedView | None = None  # what the automatic choice attached, if anything
    detached: tuple[str, ...] = ()  # refs detached by `update --provider --detach-all`
    previous_default: str | None = None  # `--default` took the default from this other model
    target: str | None = None  # PROVIDER/AUTH_TYPE/LABEL of the connection attached or detached

    @property
    def target_view(self) -> AttachedView | None:
        return next((c for c in self.model.connections if c.ref == self.target), None)

    def to_dict(self) -> dict:
        return self.model.to_dict()


# ---------------------------------------------------------------- helpers


def _status(row: ConnectionRow, model_provider: str, ctx: AppContext,
            granted: frozenset[str] | None = None) -> str | None:
    return usability.usability(row, now=ctx.now(), environ=ctx.environ, model_provider=model_provider,
                               granted=granted)


def _attached_view(priority: int, row: ConnectionRow, model: ModelRow, ctx: AppContext,
                   granted: frozenset[str] | None = None) -> AttachedView:
    return AttachedView(
        priority=priority, id=row.id, provider=row.provider, auth_type=row.auth_type,
        label=row.label, status=_status(row, model.provider, ctx, granted) or usability.ACTIVE,
        key_hint=row.key_hint, agent=row.agent_name,
    )


def _detail(ctx: AppContext, execute, model: ModelRow, granted: frozenset[str] | None = None) -> ModelDetail:
    return ModelDetail(
        name=model.name, provider=model.provider, upstream_model=model.upstream,
        enabled=model.enabled, default=model.is_default,
        connections=tuple(_attached_view(p, r, model, ctx, granted)
                          for p, r in read.attached(execute, model.id)),
    )


def _reload(execute, model: ModelRow) -> ModelRow:
    fresh = read.model(execute, model.user_id, model.name_key)
    assert fresh is not None
    return fresh


def _check_upstream(value: str | None) -> str | None:
    """An upstream model id: trimmed, no control or bidi characters. Empty means the name."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > UPSTREAM_MAX:
        raise UsageError(f"upstream model id is {len(text)} characters long; the limit is {UPSTREAM_MAX}")
    labels.check_chars(text, "upstream model id")
    return text


def _cross_family(row: ConnectionRow, model_name: str, provider: str) -> Conflict:
    return Conflict(
        f"cross-family attachment: {row.ref} is of provider {row.provider}, model {model_name} "
        f"of provider {provider}",
        hint=f"attach a connection of provider {provider}, or change the model's provider with "
        "`provctl model update NAME --provider P --detach-all`",
    )


def _skip_warning(row: ConnectionRow, reason: str) -> str:
    what = {
        usability.DISABLED: "it is disabled; resolve will skip it until it is enabled "
        f"(`provctl providers enable {row.ref}`)",
        usability.LEGACY: f"it is a legacy connection of agent {row.agent_name}; resolve will skip it "
        "until it is lifted (`provctl migrate-lift`)",
        NO_KEY: "it has no key; resolve will skip it until it has one "
        "(`provctl providers set-key`)",
        usability.EXPIRED: "its token has expired; resolve will skip it until it is renewed "
        "(`provctl providers set-key --expires-at`)",
    }.get(reason, f"resolve will skip it ({reason})")
    return f"{row.ref} is attached, but {what}."


# ---------------------------------------------------------------- reads


def list_models(ctx: AppContext, agent: str | None = None) -> list[ModelSummary]:
    """Every model with what `resolve` would select now (as ``agent`` when given)."""
    with ctx.reading() as execute:
        uid = read.user_id(execute, ctx.user_key)
        granted = agent_asking(execute, uid, agent)[1] if agent is not None else None
        if uid is None:
            return []
        models = read.models(execute, uid)
        lists = read.attached_by_model(execute, uid)
    out = []
    for m in models:
        attached = lists.get(m.id, [])
        pick = None
        if m.enabled:
            pick = usability.first_usable((r for _, r in attached), m.provider, now=ctx.now(),
                                          environ=ctx.environ, granted=granted)
        out.append(ModelSummary(
            name=m.name, provider=m.provider, upstream_model=m.upstream, enabled=m.enabled,
            default=m.is_default, connections=len(attached),
            would_select=pick.label if pick else None, would_select_id=pick.id if pick else None,
        ))
    return out


def show(ctx: AppContext, name: str, agent: str | None = None) -> ModelDetail:
    """A model's priority list with each connection's status (as ``agent`` when given)."""
    with ctx.reading() as execute:
        model = model_by_name(execute, ctx.user_key, name)
        granted = agent_asking(execute, model.user_id, agent)[1] if agent is not None else None
        return _detail(ctx, execute, model, granted)


# ---------------------------------------------------------------- writes


def add(ctx: AppContext, name: str, *, provider: str, upstream: str | None = None,
        attach: Sequence[str] = (), default: bool = False) -> ModelChange:
    """Create a model. With ``attach``: those connections in that order. Without: the oldest
    user-level connection of the family that is usable by its stored state, or none."""
    from ..db import write

    clean = labels.clean(name, "model name")
    fam = family(provider)
    upstream_id = _check_upstream(upstream)
    now = ctx.stamp()
    with ctx.uow() as uow:
        uid = write.ensure_user(uow, ctx.user, ctx.user_key, now)
        name_key = labels.fold(clean)
        existing = read.model(uow.execute, uid, name_key)
        if existing is not None:
            raise Conflict(f"model {existing.name} already exists",
                           hint="model names are unique per user (case-insensitive); change it with "
                           "`provctl model update`")
        chosen: list[ConnectionRow] = []
        warnings: list[str] = []
        if attach:
            rows = read.connections(uow.execute, uid)
            for ref in attach:
                row = refs.pick(rows, ref)
                if row.provider != fam.name:
                    raise _cross_family(row, clean, fam.name)
                if any(c.id == row.id for c in chosen):
                    raise Conflict(f"{row.ref} is given twice in --attach",
                                   hint="name each connection once, in priority order")
                chosen.append(row)
                reason = _status(row, fam.name, ctx)
                if reason is not None:
                    warnings.append(_skip_warning(row, reason))
        else:
            auto = usability.first_usable(read.connections_oldest_first(uow.execute, uid, fam.name),
                                          fam.name, now=ctx.now(), environ=ctx.environ)
            if auto is not None:
                chosen.append(auto)
        model_id = new_id()
        write.insert_models(uow, [{
            "id": model_id, "user_id": uid, "name": clean, "name_key": name_key, "provider": fam.name,
            "upstream_model": upstream_id, "enabled": True, "is_default": False, "created_at": now,
        }])
        if default:
            write.set_default_model(uow, uid, model_id)
        write.rewrite_priorities(uow, {model_id: [r.id for r in chosen]})
        model = read.model(uow.execute, uid, name_key)
        assert model is not None
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    return ModelChange(
        detail, tuple(warnings), auto_attach=not attach,
        auto_attached=detail.connections[0] if (not attach and detail.connections) else None,
    )


def attach(ctx: AppContext, name: str, ref: str, *, priority: int | None = None) -> ModelChange:
    """Insert a connection at ``priority`` (1 ≤ N ≤ count+1, shifting the rest down), or append."""
    from ..db import write

    with ctx.uow() as uow:
        model = model_by_name(uow.execute, ctx.user_key, name)
        row = refs.pick(read.user_connections(uow.execute, ctx.user_key), ref)
        current = read.attached_ids(uow.execute, model.id)
        if row.id in current:
            raise Conflict(
                f"{row.ref} is already attached to {model.name} at priority {current.index(row.id) + 1}",
                hint=f"change the order with `provctl model reorder {model.name} REF...`",
            )
        if row.provider != model.provider:
            raise _cross_family(row, model.name, model.provider)
        position = len(current) + 1 if priority is None else priority
        if not 1 <= position <= len(current) + 1:
            raise UsageError(
                f"priority {priority} is out of range for {model.name}",
                hint=f"{model.name} has {len(current)} connection(s): use 1–{len(current) + 1}",
            )
        write.rewrite_priorities(uow, {model.id: priorities.insert_at(current, row.id, position)})
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    reason = _status(row, model.provider, ctx)
    return ModelChange(detail, (_skip_warning(row, reason),) if reason else (), target=row.ref)


def detach(ctx: AppContext, name: str, ref: str) -> ModelChange:
    """Remove a connection from the list and close the gap."""
    from ..db import write

    with ctx.uow() as uow:
        model = model_by_name(uow.execute, ctx.user_key, name)
        row = refs.pick(read.user_connections(uow.execute, ctx.user_key), ref)
        current = read.attached_ids(uow.execute, model.id)
        if row.id not in current:
            raise NotFound(f"{row.ref} is not attached to {model.name}",
                           hint=f"see `provctl model show {model.name}`")
        write.rewrite_priorities(uow, {model.id: priorities.without(current, row.id)})
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    warnings = () if detail.connections else (
        f"model {model.name} has no connection left; resolve {model.name} will exit 5.",)
    return ModelChange(detail, warnings, target=row.ref)


def reorder(ctx: AppContext, name: str, new_order: Sequence[str]) -> ModelChange:
    """Replace the order with ``new_order``: every attached connection exactly once."""
    from ..db import write

    with ctx.uow() as uow:
        model = model_by_name(uow.execute, ctx.user_key, name)
        rows = read.user_connections(uow.execute, ctx.user_key)
        by_id = {r.id: r for r in rows}
        given_ids = [refs.pick(rows, ref).id for ref in new_order]
        problems = priorities.reorder_problems(read.attached_ids(uow.execute, model.id), given_ids)
        if problems:
            raise Conflict(
                f"the new order of {model.name} must name every attached connection exactly once: "
                + "; ".join(f"{what} " + ", ".join(dict.fromkeys(by_id[i].ref for i in ids))
                            for what, ids in problems.items()),
                hint=f"see `provctl model show {model.name}`; use attach/detach to change the set",
            )
        write.rewrite_priorities(uow, {model.id: given_ids})
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    return ModelChange(detail)


def update(ctx: AppContext, name: str, *, upstream: str | None = None, enabled: bool | None = None,
           default: bool = False, provider: str | None = None, detach_all: bool = False) -> ModelChange:
    """Change a model's upstream id, enabled flag, default flag or provider family.

    ``upstream=""`` resets the upstream id to the model's name. Changing the family of a model
    with attachments is refused unless ``detach_all`` (a model never keeps attachments of
    another family).
    """
    from ..db import write

    if detach_all and provider is None:
        raise UsageError("--detach-all goes with --provider", hint="e.g. --provider anthropic --detach-all")
    if upstream is None and enabled is None and not default and provider is None:
        raise UsageError("nothing to update",
                         hint="give --upstream, --enable, --disable, --default or --provider")
    new_family = family(provider).name if provider is not None else None
    upstream_id = _check_upstream(upstream) if upstream is not None else None
    with ctx.uow() as uow:
        model = model_by_name(uow.execute, ctx.user_key, name)
        detached: list[str] = []
        if new_family is not None and new_family != model.provider:
            attached = read.attached(uow.execute, model.id)
            if attached and not detach_all:
                raise Conflict(
                    f"model {model.name} has {len(attached)} {model.provider} connection(s) "
                    f"attached, which cannot stay on a model of provider {new_family}",
                    hint="add --detach-all to detach them as the provider changes (a model never "
                    "keeps attachments of another family)",
                )
            detached = [r.ref for _, r in attached]
            write.rewrite_priorities(uow, {model.id: []})
            write.update_model(uow, model.id, provider=new_family)
        if upstream is not None:
            write.update_model(uow, model.id, upstream_model=upstream_id)
        if enabled is not None:
            write.update_model(uow, model.id, enabled=enabled)
        previous = None
        if default:
            before = read.default_model(uow.execute, model.user_id)
            previous = before.name if before is not None and before.id != model.id else None
            write.set_default_model(uow, model.user_id, model.id)
        model = _reload(uow.execute, model)
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    return ModelChange(detail, detached=tuple(detached), previous_default=previous)


def remove(ctx: AppContext, name: str) -> ModelDetail:
    """Delete a model and its priority list (the connections stay)."""
    from ..db import write

    with ctx.uow() as uow:
        model = model_by_name(uow.execute, ctx.user_key, name)
        detail = _detail(ctx, uow.execute, model)
        write.delete_model(uow, model.id)
        uow.commit()
    return detail
