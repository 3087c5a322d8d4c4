"""Legacy intake (`provctl import`) and the inventory (`provctl export`), SPEC §6.

Import is all or nothing. It runs in three steps:

1. **parse and validate** the file without the database: every problem is collected and
   reported together as ``connections[i]: <problem>`` (``line N (VAR): <problem>`` for a
   ``.env`` file), exit 2, nothing written;
2. **plan** against the database (inside the write transaction, so nothing can change
   underneath): user-level entries go through `credentials.decide` — the very rules of
   `connect` — legacy entries through the re-import rule (same key: skipped; different:
   exit 4); model references are resolved;
3. **write**: the keys to the keyring first, then every row in one transaction; if the
   transaction fails, the keyring entries written are removed again.

``--dry-run`` stops after step 2 and reports what would be created. Export writes the same
inventory format, never a key, with connections in creation order so that an import
recreates them in the same order (and a later lift sees the same "oldest"), and every agent
with its display name, access mode and grants (SPEC §10) as ``PROVIDER/AUTH_TYPE/LABEL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..context import AppContext
from ..db import read
from ..domain import Progress, labels
from ..domain.credentials import decide, fingerprint, key_hint
from ..domain.families import base_url_warning
from ..domain.refs import full_ref_key
from ..domain.rows import ConnectionRow, full_ref, legacy_suffix, new_id
from ..errors import Conflict, UsageError
from ..inventory import AgentEntry, Entry, ModelEntry, problems_error, read_text
from ..inventory.document import parse_inventory
from ..inventory.envfile import parse_env
from . import keys
from .keys import keys_written
from .views import JsonFields


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ImportedConnection(JsonFields):
    source: str  # "connections[3]" or "OPENAI_API_KEY (line 2)"
    action: str  # create | skip | relabel
    id: str | None  # null for a connection a dry run would create
    agent: str | None
    provider: str
    auth_type: str
    label: str
    previous_label: str | None = None  # relabel: the label the connection had

    JSON = ("source", "action", "id", "agent", "provider", "auth_type", "label", "previous_label")


@dataclass(frozen=True)
class KeylessConnection(JsonFields):
    """A connection the import created (or, on a dry run, would create) that has no usable key
    by its stored state and this environment (THE usable predicate's credential checks, no
    keyring read): resolve skips it until it gets one. ``fix``: what gives it one, in the
    order of its key sources — ``set $VAR`` for a ``key_env`` variable, the `providers
    set-key` command for the keyring."""

    source: str
    id: str | None  # null on a dry run
    agent: str | None
    provider: str
    auth_type: str
    label: str
    reason: str  # no_key | expired
    detail: str  # as resolve's skip line words it: "$OPENAI_API_KEY is unset or empty; …"
    key_env: str | None
    fix: list[str]

    JSON = ("source", "id", "agent", "provider", "auth_type", "label", "reason", "detail",
            "key_env", "fix")

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label) + legacy_suffix(self.agent)


@dataclass(frozen=True)
class ImportedModel(JsonFields):
    source: str
    action: str  # create | skip
    name: str
    provider: str
    connections: list[str]

    JSON = ("source", "action", "name", "provider", "connections")


@dataclass(frozen=True)
class ImportResult:
    dry_run: bool
    file: str
    connections: list[ImportedConnection]
    models: list[ImportedModel]
    agents_created: list[str]
    notes: list[str] = field(default_factory=list)
    no_usable_key: list[KeylessConnection] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        count = lambda items, action: sum(1 for i in items if i.action == action)  # noqa: E731
        return {
            "connections_created": count(self.connections, "create"),
            "connections_relabelled": count(self.connections, "relabel"),
            "connections_skipped": count(self.connections, "skip"),
            "models_created": count(self.models, "create"),
            "models_skipped": count(self.models, "skip"),
            "agents_created": len(self.agents_created),
            "connections_without_usable_key": len(self.no_usable_key),
        }

    def to_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "file": self.file,
            "connections": [c.to_dict() for c in self.connections],
            "models": [m.to_dict() for m in self.models],
            "agents_created": list(self.agents_created),
            "notes": list(self.notes),
            "no_usable_key": [k.to_dict() for k in self.no_usable_key],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Inventory:
    """What `export` writes (and `import FILE.json` reads)."""

    connections: list[dict]
    models: list[dict]
    warnings: list[str] = field(default_factory=list)
    agents: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"connections": self.connections, "models": self.models, "agents": self.agents}


# ---------------------------------------------------------------- planning against the database


@dataclass
class _Plan:
    uid: str | None
    agents_new: dict[str, str]  # folded name -> name, agents to create
    agent_ids: dict[str, str]  # folded name -> id (existing)
    creates: list[tuple[Entry, str, str | None]]  # entry, new id, fingerprint
    relabels: list[tuple[Entry, ConnectionRow, str | None]]  # entry, existing row, fingerprint
    items: list[ImportedConnection]
    models: list[tuple[ModelEntry, list[str]]]  # model to create, connection ids in order
    model_items: list[ImportedModel]
    agent_settings: dict[str, AgentEntry] = field(default_factory=dict)  # folded name -> entry (new agents)
    grants: list[tuple[str, str]] = field(default_factory=list)  # (folded agent name, connection id)
    existing: list[ConnectionRow] = field(default_factory=list)  # the user's rows before the import


def _pending_row(uid: str, cid: str, e: Entry, fp: str | None) -> ConnectionRow:
    v = e.v
    return ConnectionRow(
        cid, uid or "", None, None, None, v.provider, v.auth_type, e.label, labels.fold(e.label),
        v.base_url, e.enabled, v.key is not None, None, fp, v.key_env, v.key_source, v.expires_at,
        "", 0, 0,
    )


def _legacy_differs(row: ConnectionRow, e: Entry, fp: str | None) -> list[str]:
    v = e.v
    found = []
    if v.key is not None and (not row.key_stored or row.key_fingerprint != fp):
        found.append("key")
    for name, old, new in (("key_env", row.key_env, v.key_env), ("base URL", row.base_url, v.base_url),
                           ("expiry", row.expires_at, v.expires_at)):
        if old != new:
            found.append(name)
    return found


class _UserLevel:
    """The user-level connections while a plan is made — those in the database, then those
    the file creates or relabels — indexed, so that each entry costs O(1) instead of a scan
    of every row (10,000 entries: 10^8 comparisons). Keeps the order of a list where a
    relabelled row moves to the end: ``peers`` gives `decide` the rows a scan would find
    first (the one with the label, the first with the key), in that order, so its answer is
    the one it gives on the full list."""

    def __init__(self, rows):
        self._order: dict[str, int] = {}
        self._rows: dict[str, ConnectionRow] = {}
        self._by_label: dict[tuple, ConnectionRow] = {}
        self._by_key: dict[tuple, list[ConnectionRow]] = {}
        for row in rows:
            self.add(row)

    def add(self, row: ConnectionRow) -> None:
        self._order[row.id] = len(self._order)
        self._rows[row.id] = row
        self._by_label.setdefault((row.provider, row.auth_type, row.label_key), row)
        if row.key_fingerprint is not None:
            key = (row.provider, row.auth_type, row.key_fingerprint)
            self._by_key.setdefault(key, []).append(row)

    def drop(self, row: ConnectionRow) -> None:
        del self._rows[row.id], self._order[row.id]
        label = (row.provider, row.auth_type, row.label_key)
        if self._by_label.get(label) is row:
            del self._by_label[label]
        if row.key_fingerprint is not None:
            self._by_key[(row.provider, row.auth_type, row.key_fingerprint)].remove(row)

    def same_key(self, provider: str, auth_type: str, fp: str | None) -> list[ConnectionRow]:
        """The rows of (provider, auth type) with this key fingerprint, in order."""
        return self._by_key.get((provider, auth_type, fp), []) if fp is not None else []

    def peers(self, provider: str, auth_type: str, label_key: str,
              fp: str | None) -> list[ConnectionRow]:
        """What `decide` looks at among the rows of (provider, auth type): the row with the
        label and the first row with the key, in order."""
        found = {r.id: r for r in (self._by_label.get((provider, auth_type, label_key)),
                                   *self.same_key(provider, auth_type, fp)[:1]) if r is not None}
        return sorted(found.values(), key=lambda r: self._order[r.id])

    def rows(self) -> list[ConnectionRow]:
        return list(self._rows.values())


def _plan(ctx: AppContext, execute, entries: list[Entry], models: list[ModelEntry],
          agents: list[AgentEntry] = ()) -> _Plan:
    uid = read.user_id(execute, ctx.user_key)
    rows = read.connections(execute, uid) if uid else []
    salt = read.salt(execute) if any(e.v.key is not None for e in entries) else None
    agent_ids: dict[str, str] = {}
    agent_names: dict[str, str] = {}
    if uid:
        for aid, name, *_rest in read.agents(execute, uid):
            agent_ids[labels.fold(name)] = aid
            agent_names[aid] = name
    plan = _Plan(uid, {}, agent_ids, [], [], [], [], [], existing=rows)
    user_level = _UserLevel(r for r in rows if r.agent_id is None)
    legacy = {(r.agent_id, r.provider, r.auth_type, r.label_key): r for r in rows if r.agent_id}
    conflicts: list[str] = []
    taken_ids: set[str] = set()  # existing rows already relabelled by an earlier entry
    pending: dict[str, str] = {}  # id of a user-level row this file creates -> its entry

    for e in entries:
        v = e.v
        fp = fingerprint(salt, v.key) if v.key is not None else None
        label_key = labels.fold(e.label)
        if e.agent is not None:
            akey = labels.fold(e.agent)
            aid = agent_ids.get(akey)
            if aid is None:
                plan.agents_new.setdefault(akey, e.agent)
            existing = legacy.get((aid, v.provider, v.auth_type, label_key)) if aid else None
            if existing is not None:
                differs = _legacy_differs(existing, e, fp)
                if differs:
                    conflicts.append(
                        f"{e.source}: {existing.ref} (agent {existing.agent_name}) already exists "
                        f"with a different {', '.join(differs)}")
                    continue
                plan.items.append(ImportedConnection(e.source, "skip", existing.id, existing.agent_name,
                                                     v.provider, v.auth_type, existing.label))
                continue
            cid = new_id()
            plan.creates.append((e, cid, fp))
            plan.items.append(ImportedConnection(e.source, "create", cid,
                                                 agent_names[aid] if aid else e.agent,
                                                 v.provider, v.auth_type, e.label))
            continue
        peers = user_level.peers(v.provider, v.auth_type, label_key, fp)
        twin = next((r for r in user_level.same_key(v.provider, v.auth_type, fp) if r.id in pending), None)
        if twin is not None:
            conflicts.append(f"{e.source}: the same key as {pending[twin.id]} (one key, one connection)")
            continue
        try:
            decision = decide(peers, label_key, fp, v, key_optional=True)
        except Conflict as exc:
            conflicts.append(f"{e.source}: {exc.message}")
            continue
        target = decision.target
        if decision.action in ("unchanged", "enable"):
            plan.items.append(ImportedConnection(e.source, "skip", target.id, None, v.provider,
                                                 v.auth_type, target.label))
            continue
        if decision.action == "relabel":
            if target.id in taken_ids:
                conflicts.append(f"{e.source}: the same key as an earlier entry, which already "
                                 f"relabels {target.ref}")
                continue
            taken_ids.add(target.id)
            plan.relabels.append((e, target, fp))
            plan.items.append(ImportedConnection(e.source, "relabel", target.id, None, v.provider,
                                                 v.auth_type, e.label, previous_label=target.label))
            user_level.drop(target)
            user_level.add(_pending_row(uid, target.id, e, fp)._replace(created_at=target.created_at))
            continue
        cid = new_id()
        plan.creates.append((e, cid, fp))
        plan.items.append(ImportedConnection(e.source, "create", cid, None, v.provider, v.auth_type, e.label))
        user_level.add(_pending_row(uid, cid, e, fp))
        pending[cid] = e.source

    if conflicts:
        raise Conflict("; ".join(conflicts), hint="nothing was imported; change or remove those entries "
                       "(or the existing connections) and run the import again")
    _plan_models(ctx, execute, plan, models, user_level.rows(), rows)
    _plan_agents(execute, plan, agents, user_level.rows(), rows)
    return plan


def _connection_ids(where: str, refs: list[str], connection, problems: list[str]) -> list[str]:
    """The ids of an inventory's `PROVIDER/AUTH_TYPE/LABEL` references, each once, in order.
    ``connection(key, where, ref)`` gives one's id, or None after recording why it has none."""
    ids: list[str] = []
    for j, ref in enumerate(refs):
        place = f"{where}[{j}]"
        key = full_ref_key(ref)
        if key is None:
            problems.append(f"{place}: {ref!r} is not PROVIDER/AUTH_TYPE/LABEL")
            continue
        cid = connection(key, place, ref)
        if cid is None:
            continue
        if cid in ids:
            problems.append(f"{place}: {ref!r} is listed twice")
            continue
        ids.append(cid)
    return ids


def _plan_models(ctx: AppContext, execute, plan: _Plan, models: list[ModelEntry],
                 user_level: list[ConnectionRow], rows: list[ConnectionRow]) -> None:
    if not models:
        return
    by_ref = {(r.provider, r.auth_type, r.label_key): r.id for r in user_level}
    legacy_by_ref: dict[tuple, list[str]] = {}
    for r in rows:
        if r.agent_id:
            legacy_by_ref.setdefault((r.provider, r.auth_type, r.label_key), []).append(r.id)
    for e, cid, _fp in plan.creates:
        if e.agent is not None:
            legacy_by_ref.setdefault((e.v.provider, e.v.auth_type, labels.fold(e.label)), []).append(cid)
    existing: dict[str, tuple] = {}
    current_default = None
    if plan.uid:
        lists = read.attached_by_model(execute, plan.uid)
        for m in read.models(execute, plan.uid):
            ids = [row.id for _priority, row in lists.get(m.id, ())]
            existing[m.name_key] = (m.name, m.provider, m.upstream_model or m.name, m.enabled,
                                    m.is_default, ids)
            if m.is_default:
                current_default = m.name
    problems: list[str] = []
    conflicts: list[str] = []
    for m in models:
        def connection(key: tuple, where: str, ref: str) -> str | None:
            cid = by_ref.get(key)
            if cid is None and len(legacy_by_ref.get(key, ())) == 1:
                cid = legacy_by_ref[key][0]  # a model attached to a legacy row before the lift
            if cid is None:
                problems.append(f"{where}: no connection {ref!r} among the user-level connections")
            elif key[0] != m.provider:
                problems.append(f"{where}: {ref!r} is not a {m.provider} connection (cross-family)")
                return None
            return cid

        ids = _connection_ids(f"{m.source}: connections", m.refs, connection, problems)
        name_key = labels.fold(m.name)
        found = existing.get(name_key)
        if found is not None:
            name, provider, upstream, enabled, is_default, current = found
            differs = [n for n, old, new in (("provider", provider, m.provider),
                                             ("upstream_model", upstream, m.upstream),
                                             ("enabled", enabled, m.enabled),
                                             ("default", is_default, m.default),
                                             ("connections", current, ids)) if old != new]
            if differs:
                conflicts.append(f"{m.source}: model {name!r} already exists with a different "
                                 + ", ".join(differs))
            else:
                plan.model_items.append(ImportedModel(m.source, "skip", name, provider, list(m.refs)))
            continue
        if m.default and current_default is not None:
            conflicts.append(f"{m.source}: {current_default!r} is already the default model")
            continue
        plan.models.append((m, ids))
        plan.model_items.append(ImportedModel(m.source, "create", m.name, m.provider, list(m.refs)))
    if problems:
        raise problems_error(problems, "entries")
    if conflicts:
        raise Conflict("; ".join(conflicts), hint="nothing was imported; change or remove those entries "
                       "(or the existing models) and run the import again")


def _plan_agents(execute, plan: _Plan, agents: list[AgentEntry], user_level: list[ConnectionRow],
                 rows: list[ConnectionRow]) -> None:
    """Agents' access modes and grants (SPEC §10). A new agent is created as given; an existing
    one must already be exactly as given (else exit 4, as for models); a grant names a
    user-level connection (existing or created by this file) as PROVIDER/AUTH_TYPE/LABEL."""
    if not agents:
        return
    by_ref = {(r.provider, r.auth_type, r.label_key): r.id for r in user_level}
    legacy_refs = {(r.provider, r.auth_type, r.label_key) for r in rows if r.agent_id}
    legacy_refs.update((e.v.provider, e.v.auth_type, labels.fold(e.label))
                       for e, _cid, _fp in plan.creates if e.agent is not None)
    existing: dict[str, tuple] = {}
    if plan.uid:
        held: dict[str, set[str]] = {}
        for aid, cid in read.grants(execute, plan.uid):
            held.setdefault(aid, set()).add(cid)
        for aid, name, display, _created, _count, access in read.agents(execute, plan.uid):
            existing[labels.fold(name)] = (name, display, access, held.get(aid, set()))
    problems: list[str] = []
    conflicts: list[str] = []
    for a in agents:
        def grantable(key: tuple, where: str, ref: str) -> str | None:
            cid = by_ref.get(key)
            if cid is None and key in legacy_refs:
                conflicts.append(f"{where}: {ref!r} is a legacy connection, which cannot be granted "
                                 "(lift it first)")
            elif cid is None:
                problems.append(f"{where}: no connection {ref!r} among the user-level connections")
            return cid

        ids = _connection_ids(f"{a.source}: granted", a.granted, grantable, problems)
        akey = labels.fold(a.name)
        found = existing.get(akey)
        if found is not None:
            name, display, access, current = found
            differs = [n for n, old, new in (("display_name", display, a.display_name),
                                             ("access", access, a.access),
                                             ("granted", current, set(ids))) if old != new]
            if differs:
                conflicts.append(f"{a.source}: agent {name!r} already exists with a different "
                                 + ", ".join(differs))
            continue
        plan.agents_new[akey] = a.name  # the agents entry's spelling wins over a connection's
        plan.agent_settings[akey] = a
        plan.grants.extend((akey, cid) for cid in ids)
    if problems:
        raise problems_error(problems, "entries")
    if conflicts:
        raise Conflict("; ".join(conflicts), hint="nothing was imported; change or remove those entries "
                       "(or the existing agents) and run the import again")


def _keyless(ctx: AppContext, plan: _Plan, *, dry_run: bool) -> list[KeylessConnection]:
    """The connections ``plan`` creates that have no usable key (stored state and this
    environment, as `providers list` judges them: no keyring read), each with what gives it
    one. The `set-key` command names it as PROVIDER/AUTH_TYPE/LABEL when that reference is
    unique among the user's connections after the import, else by its id (``ID`` on a dry
    run, where the id is not known yet)."""
    import shlex
    from collections import Counter

    from ..domain.credentials import ENV, KEYRING, key_sources
    from ..domain.resolution import skip_detail
    from ..domain.usability import EXPIRED, key_reason

    now, environ = ctx.now(), ctx.environ
    found = []
    for e, cid, fp in plan.creates:
        row = _pending_row(plan.uid or "", cid, e, fp)
        reason = key_reason(row, now=now, environ=environ)
        if reason is not None:
            found.append((e, cid, row, reason))
    if not found:
        return []
    relabelled = {row.id: labels.fold(e.label) for e, row, _fp in plan.relabels}
    refs = Counter((r.provider, r.auth_type, relabelled.get(r.id, r.label_key)) for r in plan.existing)
    refs.update((e.v.provider, e.v.auth_type, labels.fold(e.label)) for e, _cid, _fp in plan.creates)
    prefixes = Counter(r.id[:8] for r in plan.existing)
    prefixes.update(cid[:8] for _e, cid, _fp in plan.creates)
    agent_of = {i.id: i.agent for i in plan.items if i.action == "create"}  # the agent's spelling
    out = []
    for e, cid, row, reason in found:
        if refs[(row.provider, row.auth_type, row.label_key)] == 1:
            name = shlex.quote(row.ref)
        elif dry_run:
            name = "ID"
        else:
            name = cid[:8] if prefixes[cid[:8]] == 1 else cid
        set_key = f"provctl providers set-key {name} --key-stdin"
        if reason == EXPIRED:  # a new token and its expiry
            fix = [f"{set_key} --expires-at TIME" if KEYRING in key_sources(row) else
                   f"set ${row.key_env} to a new token, then provctl providers set-key {name} "
                   "--expires-at TIME"]
        else:
            fix = [f"set ${row.key_env}" if source == ENV else set_key
                   for source in key_sources(row) if source == KEYRING or row.key_env]
        out.append(KeylessConnection(e.source, None if dry_run else cid, agent_of.get(cid), row.provider,
                                     row.auth_type, row.label, reason, skip_detail(reason, row),
                                     row.key_env, fix))
    return out


# ---------------------------------------------------------------- writing


def _write(ctx: AppContext, uow, plan: _Plan) -> list[str]:
    """Every row, set-based: one executemany per table on the driver connection
    (``db.bulk``); returns the names of the agents created."""
    from ..db import bulk

    now = ctx.stamp()
    uid = plan.uid or bulk.ensure_user(uow, ctx.user, ctx.user_key, now)
    agent_ids = dict(plan.agent_ids)
    new_agents = []
    for akey, name in plan.agents_new.items():
        agent_ids[akey] = new_id()
        settings = plan.agent_settings.get(akey)
        new_agents.append({"id": agent_ids[akey], "user_id": uid, "name": name, "name_key": akey,
                           "display_name": settings.display_name if settings else None,
                           "access": settings.access if settings else "all", "created_at": now})
    bulk.insert_agents(uow, new_agents)
    bulk.insert_connections(uow, [
        {"id": cid, "user_id": uid, "agent_id": agent_ids[labels.fold(e.agent)] if e.agent else None,
         "connected_via_agent_id": None, "provider": e.v.provider, "auth_type": e.v.auth_type,
         "label": e.label, "label_key": labels.fold(e.label), "base_url": e.v.base_url,
         "enabled": e.enabled, "key_stored": e.v.key is not None,
         "key_hint": key_hint(e.v.key) if e.v.key is not None else None, "key_fingerprint": fp,
         "key_env": e.v.key_env, "key_source": e.v.key_source, "expires_at": e.v.expires_at,
         "created_at": now, "updated_at": now}
        for e, cid, fp in plan.creates
    ])
    bulk.update_connections(uow, [
        {"row_id": row.id, "label": e.label, "label_key": labels.fold(e.label), "enabled": e.enabled,
         "key_env": e.v.key_env, "key_source": e.v.key_source, "base_url": e.v.base_url,
         "expires_at": e.v.expires_at, "updated_at": now}
        for e, row, _fp in plan.relabels
    ])
    models, lists = [], {}
    for m, ids in plan.models:
        mid = new_id()
        models.append({"id": mid, "user_id": uid, "name": m.name, "name_key": labels.fold(m.name),
                       "provider": m.provider, "upstream_model": None if m.upstream == m.name else m.upstream,
                       "enabled": m.enabled, "is_default": m.default, "created_at": now})
        lists[mid] = ids
    bulk.insert_models(uow, models)
    bulk.insert_priority_lists(uow, lists)
    bulk.insert_grants(uow, [{"agent_id": agent_ids[akey], "connection_id": cid, "created_at": now}
                             for akey, cid in plan.grants])
    return list(plan.agents_new.values())


def import_file(ctx: AppContext, path: str | Path, *, agent: str | None = None,
                dry_run: bool = False, progress: Progress | None = None) -> ImportResult:
    """`provctl import FILE`: a `.json` inventory, or a `.env` file of one legacy agent."""
    file = Path(path)
    is_json = file.name.lower().endswith(".json")
    if is_json and agent is not None:
        raise UsageError("--agent applies to .env files only",
                         hint="an inventory names the agent of each entry in its \"agent\" field")
    if not is_json and agent is None:
        raise UsageError(f"{file} is not a .json inventory, so it is read as a .env file, which needs --agent NAME",
                         hint=f"provctl import {file} --agent NAME")
    clean_agent = labels.clean(agent, "agent name") if agent is not None else None
    text = read_text(file)
    notes: list[str] = []
    agents: list[AgentEntry] = []
    if is_json:
        entries, models, agents = parse_inventory(text)
    else:
        entries, notes = parse_env(text, clean_agent)
        models = []
    notes += [f"{e.source}: {warning}" for e in entries
              if (warning := base_url_warning(e.v.provider, e.v.base_url))]

    if dry_run:
        with ctx.reading() as execute:
            plan = _plan(ctx, execute, entries, models, agents)
        items = [replace(i, id=None) if i.action == "create" else i for i in plan.items]
        return ImportResult(True, str(file), items, plan.model_items,
                            list(plan.agents_new.values()), notes, _keyless(ctx, plan, dry_run=True))

    if any(e.v.key is not None for e in entries):
        ctx.keystore().check()  # no usable backend: exit 6 before anything is written
    return _apply(ctx, str(file), entries, models, agents, notes, progress)


@keys.retrying  # the plan is made again if another process wrote before the keyring writes
def _apply(ctx: AppContext, file: str, entries: list[Entry], models: list[ModelEntry],
           agents: list[AgentEntry], notes: list[str], progress: Progress | None) -> ImportResult:
    with ctx.driver_uow() as uow:  # every write is set-based SQL: no SQLAlchemy to import
        plan = _plan(ctx, uow.execute, entries, models, agents)
        keyed = {cid: e.v.key for e, cid, _fp in plan.creates if e.v.key is not None}
        refs = {cid: full_ref(e.v.provider, e.v.auth_type, e.label) + legacy_suffix(e.agent)
                for e, cid, _fp in plan.creates if e.v.key is not None}
        with keys_written(ctx, uow, keyed, refs, progress=progress):
            agents = _write(ctx, uow, plan)
            uow.commit()
    return ImportResult(False, file, plan.items, plan.model_items, agents, notes,
                        _keyless(ctx, plan, dry_run=False))


# ---------------------------------------------------------------- export


def export(ctx: AppContext) -> Inventory:
    """The user's connections (never a key), oldest first, models, and agents with their
    access modes and grants, as an inventory."""
    with ctx.reading() as execute:
        uid = read.user_id(execute, ctx.user_key)
        if uid is None:
            return Inventory([], [])
        rows = read.connections_by_age(execute, uid)
        lists = read.attached_by_model(execute, uid)
        user_models = read.models(execute, uid)
        agents = [{"name": name, "display_name": display, "access": access,
                   "granted": [r.ref for r in read.granted_connections(execute, aid)]}
                  for aid, name, display, _created, _count, access in read.agents(execute, uid)]
    connections = [
        {
            "agent": r.agent_name,
            "provider": r.provider,
            "auth_type": r.auth_type,
            "label": r.label,
            "base_url": r.base_url,
            "key_env": r.key_env,
            "key_source": r.key_source,
            "enabled": r.enabled,
            "expires_at": r.expires_at,
        }
        for r in rows
    ]
    models = []
    warnings = []
    for m in user_models:
        attached = [row for _priority, row in lists.get(m.id, ())]
        for row in attached:
            if row.agent_id:
                warnings.append(f"model {m.name!r} is attached to the legacy connection {row.ref} "
                                f"(agent {row.agent_name}); lift it with `provctl migrate-lift` "
                                "before relying on this export")
        models.append({
            "name": m.name,
            "provider": m.provider,
            "upstream_model": m.upstream_model or m.name,
            "enabled": m.enabled,
            "default": m.is_default,
            "connections": [row.ref for row in attached],
        })
    return Inventory(connections, models, warnings, agents)
