"""Models and their priority lists (SPEC §6 model): add, list, show, attach, detach, reorder,
update, remove.

Priorities shown to users are 1-based and dense. Every change to a list rewrites the whole
list inside the command's one ``BEGIN IMMEDIATE`` transaction (``priorities.rewrite``), so the
unique (model, connection) and (model, priority) constraints hold at every commit and
parallel ``model attach`` processes serialise instead of failing.

Status badges and ``would_select`` come from THE usable predicate (``usable.usability``)
with the model's provider, by stored state: no keyring reads, no probes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from .. import labels, queries, refs, timeutil, usable
from ..context import AppContext
from ..errors import Conflict, NotFound, UsageError
from ..providers import family
from ..records import ConnectionRow, ModelRow
from . import priorities
from .common import ensure_user, new_id, reading, user_rows

UPSTREAM_MAX = 200


# ---------------------------------------------------------------- output shapes


@dataclass(frozen=True)
class AttachedView:
    """One connection of a model's priority list, with its status badge."""

    priority: int
    id: str
    provider: str
    auth_type: str
    label: str
    status: str  # active, or the usable predicate's reason code
    key_hint: str | None
    agent: str | None  # a legacy row's agent (not in the JSON: the status says `legacy`)

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.auth_type}/{self.label}"

    def to_dict(self) -> dict:
        return {
            "priority": self.priority,
            "id": self.id,
            "provider": self.provider,
            "auth_type": self.auth_type,
            "label": self.label,
            "status": self.status,
            "key_hint": self.key_hint,
        }


@dataclass(frozen=True)
class ModelDetail:
    name: str
    provider: str
    upstream_model: str
    enabled: bool
    default: bool
    connections: tuple[AttachedView, ...]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "provider": self.provider,
            "upstream_model": self.upstream_model,
            "enabled": self.enabled,
            "default": self.default,
            "connections": [c.to_dict() for c in self.connections],
        }


@dataclass(frozen=True)
class ModelSummary:
    name: str
    provider: str
    upstream_model: str
    enabled: bool
    default: bool
    connections: int
    would_select: str | None  # label of what resolve would pick now (stored state)
    would_select_id: str | None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "provider": self.provider,
            "upstream_model": self.upstream_model,
            "enabled": self.enabled,
            "default": self.default,
            "connections": self.connections,
            "would_select": self.would_select,
            "would_select_id": self.would_select_id,
        }


@dataclass(frozen=True)
class ModelChange:
    """The model after a change, and what people should be told about it (stderr)."""

    model: ModelDetail
    warnings: tuple[str, ...] = ()
    auto_attach: bool = False  # `model add` without --attach
    auto_attached: AttachedView | None = None  # what the automatic choice attached, if anything
    detached: tuple[str, ...] = ()  # refs detached by `update --provider --detach-all`
    target: str | None = None  # PROVIDER/AUTH_TYPE/LABEL of the connection attached or detached

    @property
    def target_view(self) -> AttachedView | None:
        return next((c for c in self.model.connections if c.ref == self.target), None)

    def to_dict(self) -> dict:
        return self.model.to_dict()


# ---------------------------------------------------------------- helpers


def _status(row: ConnectionRow, model_provider: str, ctx: AppContext) -> str | None:
    return usable.usability(row, now=ctx.now(), environ=ctx.environ, model_provider=model_provider)


def _attached_view(priority: int, row: ConnectionRow, model: ModelRow, ctx: AppContext) -> AttachedView:
    return AttachedView(
        priority=priority, id=row.id, provider=row.provider, auth_type=row.auth_type,
        label=row.label, status=_status(row, model.provider, ctx) or usable.ACTIVE,
        key_hint=row.key_hint, agent=row.agent_name,
    )


def _detail(ctx: AppContext, execute, model: ModelRow) -> ModelDetail:
    return ModelDetail(
        name=model.name, provider=model.provider, upstream_model=model.upstream,
        enabled=model.enabled, default=model.is_default,
        connections=tuple(_attached_view(p, r, model, ctx) for p, r in queries.attached(execute, model.id)),
    )


def _not_found(name: str) -> NotFound:
    return NotFound(f"no model named {name.strip()!r}",
                    hint="see `provctl model list`; add one with `provctl model add NAME --provider P`")


def _model(ctx: AppContext, execute, name: str) -> tuple[str, ModelRow]:
    """(user id, model) for NAME, or NotFound."""
    key = labels.fold(labels.clean(name, "model name"))
    uid = queries.user_id(execute, ctx.user_key)
    found = queries.model(execute, uid, key) if uid else None
    if found is None:
        raise _not_found(name)
    return uid, found


def _reload(execute, model: ModelRow) -> ModelRow:
    fresh = queries.model(execute, model.user_id, model.name_key)
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
    for ch in text:
        if unicodedata.category(ch) == "Cc" or ch in labels._BIDI:
            raise UsageError(f"upstream model id contains a control character (U+{ord(ch):04X})")
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
        usable.DISABLED: "it is disabled; resolve will skip it until it is enabled "
        f"(`provctl providers enable {row.ref}`)",
        usable.LEGACY: f"it is a legacy connection of agent {row.agent_name}; resolve will skip it "
        "until it is lifted (`provctl migrate-lift`)",
        usable.NO_KEY: "it has no key; resolve will skip it until it has one "
        "(`provctl providers set-key`)",
        usable.EXPIRED: "its token has expired; resolve will skip it until it is renewed "
        "(`provctl providers set-key --expires-at`)",
    }.get(reason, f"resolve will skip it ({reason})")
    return f"{row.ref} is attached, but {what}."


def _set_default(uow, model_id: str, uid: str) -> None:
    """Make ``model_id`` the user's default; the previous default is cleared first, in the
    same transaction (the partial unique index allows one default per user)."""
    uow.run("UPDATE models SET is_default = 0 WHERE user_id = ? AND is_default = 1 AND id <> ?",
            (uid, model_id))
    uow.run("UPDATE models SET is_default = 1 WHERE id = ?", (model_id,))


# ---------------------------------------------------------------- reads


def list_models(ctx: AppContext) -> list[ModelSummary]:
    with reading(ctx) as execute:
        uid = queries.user_id(execute, ctx.user_key)
        if uid is None:
            return []
        models = queries.models(execute, uid)
        lists = queries.attached_by_model(execute, uid)
    out = []
    for m in models:
        attached = lists.get(m.id, [])
        pick = None
        if m.enabled:
            pick = next((r for _, r in attached if _status(r, m.provider, ctx) is None), None)
        out.append(ModelSummary(
            name=m.name, provider=m.provider, upstream_model=m.upstream, enabled=m.enabled,
            default=m.is_default, connections=len(attached),
            would_select=pick.label if pick else None, would_select_id=pick.id if pick else None,
        ))
    return out


def show(ctx: AppContext, name: str) -> ModelDetail:
    with reading(ctx) as execute:
        _uid, model = _model(ctx, execute, name)
        return _detail(ctx, execute, model)


# ---------------------------------------------------------------- writes


def add(ctx: AppContext, name: str, *, provider: str, upstream: str | None = None,
        attach: Sequence[str] = (), default: bool = False) -> ModelChange:
    """Create a model. With ``attach``: those connections in that order. Without: the oldest
    user-level connection of the family that is usable by its stored state, or none."""
    clean = labels.clean(name, "model name")
    fam = family(provider)
    upstream_id = _check_upstream(upstream)
    with ctx.uow() as uow:
        uid = ensure_user(ctx, uow)
        key = labels.fold(clean)
        existing = queries.model(uow.execute, uid, key)
        if existing is not None:
            raise Conflict(f"model {existing.name} already exists",
                           hint="model names are unique per user (case-insensitive); change it with "
                           "`provctl model update`")
        chosen: list[ConnectionRow] = []
        warnings: list[str] = []
        if attach:
            rows = user_rows(ctx, uow.execute)
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
            auto = next((r for r in queries.connections_oldest_first(uow.execute, uid, fam.name)
                         if _status(r, fam.name, ctx) is None), None)
            if auto is not None:
                chosen.append(auto)
        model_id = new_id()
        uow.run(
            "INSERT INTO models (id, user_id, name, name_key, provider, upstream_model, enabled, "
            "is_default, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?)",
            (model_id, uid, clean, key, fam.name, upstream_id, timeutil.stamp(ctx.now())),
        )
        if default:
            _set_default(uow, model_id, uid)
        priorities.rewrite(uow, model_id, [r.id for r in chosen])
        model = queries.model(uow.execute, uid, key)
        assert model is not None
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    return ModelChange(
        detail, tuple(warnings), auto_attach=not attach,
        auto_attached=detail.connections[0] if (not attach and detail.connections) else None,
    )


def attach(ctx: AppContext, name: str, ref: str, *, priority: int | None = None) -> ModelChange:
    """Insert a connection at ``priority`` (1 ≤ N ≤ count+1, shifting the rest down), or append."""
    with ctx.uow() as uow:
        uid, model = _model(ctx, uow.execute, name)
        row = refs.pick(user_rows(ctx, uow.execute), ref)
        current = priorities.ordered(uow, model.id)
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
        current.insert(position - 1, row.id)
        priorities.rewrite(uow, model.id, current)
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    reason = _status(row, model.provider, ctx)
    return ModelChange(detail, (_skip_warning(row, reason),) if reason else (), target=row.ref)


def detach(ctx: AppContext, name: str, ref: str) -> ModelChange:
    """Remove a connection from the list and close the gap."""
    with ctx.uow() as uow:
        uid, model = _model(ctx, uow.execute, name)
        row = refs.pick(user_rows(ctx, uow.execute), ref)
        current = priorities.ordered(uow, model.id)
        if row.id not in current:
            raise NotFound(f"{row.ref} is not attached to {model.name}",
                           hint=f"see `provctl model show {model.name}`")
        priorities.rewrite(uow, model.id, [cid for cid in current if cid != row.id])
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    warnings = () if detail.connections else (
        f"model {model.name} has no connection left; resolve {model.name} will exit 5.",)
    return ModelChange(detail, warnings, target=row.ref)


def reorder(ctx: AppContext, name: str, new_order: Sequence[str]) -> ModelChange:
    """Replace the order with ``new_order``: every attached connection exactly once."""
    with ctx.uow() as uow:
        uid, model = _model(ctx, uow.execute, name)
        rows = user_rows(ctx, uow.execute)
        by_id = {r.id: r for r in rows}
        given = [refs.pick(rows, ref) for ref in new_order]
        current = priorities.ordered(uow, model.id)
        given_ids = [r.id for r in given]
        repeated = [cid for i, cid in enumerate(given_ids) if cid in given_ids[:i]]
        extra = [cid for cid in given_ids if cid not in current]
        missing = [cid for cid in current if cid not in given_ids]
        if repeated or extra or missing:
            def names(ids: list[str]) -> str:
                return ", ".join(dict.fromkeys(by_id[i].ref for i in ids))

            problems = []
            if missing:
                problems.append(f"missing {names(missing)}")
            if extra:
                problems.append(f"not attached {names(extra)}")
            if repeated:
                problems.append(f"repeated {names(repeated)}")
            raise Conflict(
                f"the new order of {model.name} must name every attached connection exactly once: "
                + "; ".join(problems),
                hint=f"see `provctl model show {model.name}`; use attach/detach to change the set",
            )
        priorities.rewrite(uow, model.id, given_ids)
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
    if detach_all and provider is None:
        raise UsageError("--detach-all goes with --provider", hint="e.g. --provider anthropic --detach-all")
    if upstream is None and enabled is None and not default and provider is None:
        raise UsageError("nothing to update",
                         hint="give --upstream, --enable, --disable, --default or --provider")
    new_family = family(provider).name if provider is not None else None
    upstream_id = _check_upstream(upstream) if upstream is not None else None
    with ctx.uow() as uow:
        uid, model = _model(ctx, uow.execute, name)
        detached: list[str] = []
        if new_family is not None and new_family != model.provider:
            attached = queries.attached(uow.execute, model.id)
            if attached and not detach_all:
                raise Conflict(
                    f"model {model.name} has {len(attached)} {model.provider} connection(s) "
                    f"attached, which cannot stay on a model of provider {new_family}",
                    hint="add --detach-all to detach them as the provider changes (a model never "
                    "keeps attachments of another family)",
                )
            detached = [r.ref for _, r in attached]
            priorities.rewrite(uow, model.id, [])
            uow.run("UPDATE models SET provider = ? WHERE id = ?", (new_family, model.id))
        if upstream is not None:
            uow.run("UPDATE models SET upstream_model = ? WHERE id = ?", (upstream_id, model.id))
        if enabled is not None:
            uow.run("UPDATE models SET enabled = ? WHERE id = ?", (1 if enabled else 0, model.id))
        if default:
            _set_default(uow, model.id, uid)
        model = _reload(uow.execute, model)
        detail = _detail(ctx, uow.execute, model)
        uow.commit()
    return ModelChange(detail, detached=tuple(detached))


def remove(ctx: AppContext, name: str) -> ModelDetail:
    """Delete a model and its priority list (the connections stay)."""
    with ctx.uow() as uow:
        _uid, model = _model(ctx, uow.execute, name)
        detail = _detail(ctx, uow.execute, model)
        uow.run("DELETE FROM attachments WHERE model_id = ?", (model.id,))
        uow.run("DELETE FROM models WHERE id = ?", (model.id,))
        uow.commit()
    return detail
