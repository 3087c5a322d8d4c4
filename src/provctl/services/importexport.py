"""Legacy intake (`provctl import`) and the inventory (`provctl export`), SPEC §6.

Import is all or nothing. It runs in three steps:

1. **parse and validate** the file without the database: every problem is collected and
   reported together as ``connections[i]: <problem>`` (``line N (VAR): <problem>`` for a
   ``.env`` file), exit 2, nothing written;
2. **plan** against the database (inside the write transaction, so nothing can change
   underneath): user-level entries go through `connections.decide` — the very rules of
   `connect` — legacy entries through the re-import rule (same key: skipped; different:
   exit 4); model references are resolved;
3. **write**: the keys to the keyring first, then every row in one transaction; if the
   transaction fails, the keyring entries written are removed again.

``--dry-run`` stops after step 2 and reports what would be created. Export writes the same
inventory format, never a key, with connections in creation order so that an import
recreates them in the same order (and a later lift sees the same "oldest").
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .. import labels, queries, timeutil
from ..context import AppContext
from ..errors import Conflict, SecretStoreError, UsageError
from ..providers import API_KEY, FAMILIES, family
from ..records import ConnectionRow
from ..secrets_meta import fingerprint, key_hint
from .common import ensure_user, new_id, reading
from .connections import Credentials, _validate, _Validated, decide

Progress = Callable[[str, int, int], None]

CONNECTION_FIELDS = ("agent", "provider", "auth_type", "label", "base_url", "key_env", "key",
                     "key_source", "enabled", "expires_at")
MODEL_FIELDS = ("name", "provider", "upstream_model", "enabled", "default", "connections")
TOP_FIELDS = ("connections", "models")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ImportedConnection:
    source: str  # "connections[3]" or "OPENAI_API_KEY (line 2)"
    action: str  # create | skip | relabel
    id: str | None  # null for a connection a dry run would create
    agent: str | None
    provider: str
    auth_type: str
    label: str
    previous_label: str | None = None  # relabel: the label the connection had

    def to_dict(self) -> dict:
        return {
            "source": self.source, "action": self.action, "id": self.id, "agent": self.agent,
            "provider": self.provider, "auth_type": self.auth_type, "label": self.label,
            "previous_label": self.previous_label,
        }


@dataclass(frozen=True)
class ImportedModel:
    source: str
    action: str  # create | skip
    name: str
    provider: str
    connections: list[str]

    def to_dict(self) -> dict:
        return {"source": self.source, "action": self.action, "name": self.name,
                "provider": self.provider, "connections": list(self.connections)}


@dataclass(frozen=True)
class ImportResult:
    dry_run: bool
    file: str
    connections: list[ImportedConnection]
    models: list[ImportedModel]
    agents_created: list[str]
    notes: list[str] = field(default_factory=list)

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
        }

    def to_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "file": self.file,
            "connections": [c.to_dict() for c in self.connections],
            "models": [m.to_dict() for m in self.models],
            "agents_created": list(self.agents_created),
            "notes": list(self.notes),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Inventory:
    """What `export` writes (and `import FILE.json` reads)."""

    connections: list[dict]
    models: list[dict]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"connections": self.connections, "models": self.models}


# ---------------------------------------------------------------- parsed entries


@dataclass(frozen=True)
class _Entry:
    source: str
    agent: str | None  # cleaned agent name, None = user-level
    label: str
    v: _Validated
    enabled: bool = True


@dataclass(frozen=True)
class _ModelEntry:
    source: str
    name: str
    provider: str
    upstream: str  # effective upstream id
    enabled: bool
    default: bool
    refs: list[str]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}", hint="check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {path}: {reason}", hint="check the file and its permissions") from None


def _too_many(problems: list[str], what: str) -> UsageError:
    return UsageError(
        "; ".join(problems),
        hint=f"nothing was imported; fix the {what} and run the import again",
    )


def _field_message(exc: Exception) -> str:
    """A service message that names CLI options, reworded with the inventory's field names."""
    text = getattr(exc, "message", str(exc))
    for option, name in (("--expires-at", "expires_at"), ("--base-url", "base_url"),
                         ("--key-source", "key_source"), ("--key-env", "key_env"),
                         ("--key-stdin / --key-env", "key / key_env")):
        text = text.replace(option, name)
    return text


def _validated(provider: str, auth: str | None, base_url: str | None, creds: Credentials) -> _Validated:
    v = _validate(provider, auth, base_url, creds, require_credential=False)
    if v.key is not None and v.key_source == "env":
        raise UsageError("key_source env ignores the key given; drop the key or allow keyring")
    return v


# ---------------------------------------------------------------- .env files


def _env_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        if value[0] == '"':
            inner = re.sub(r'\\(["\\$`])', r"\1", inner).replace("\\n", "\n")
        return inner
    # unquoted: an inline comment starts at whitespace + '#'
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def parse_env(text: str, agent: str) -> tuple[list[_Entry], list[str]]:
    """Entries (legacy, label `Default`, for ``agent``) and notes for a `.env` file."""
    variables: dict[str, tuple[str, int]] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export"):].strip()
        name, sep, raw = stripped.partition("=")
        name = name.strip()
        if not sep or not _ENV_NAME.match(name):
            problems.append(f"line {number}: expected NAME=value")
            continue
        variables[name] = (_env_value(raw), number)  # a later assignment wins, as in a shell
    entries: list[_Entry] = []
    notes: list[str] = []
    for fam in FAMILIES.values():
        if fam.key_env is None:
            continue
        base_var = fam.key_env[: -len("_API_KEY")] + "_BASE_URL"
        key, key_line = variables.get(fam.key_env, (None, 0))
        base, base_line = variables.get(base_var, (None, 0))
        if key is None or not key.strip():
            if key is not None:
                notes.append(f"{fam.key_env} (line {key_line}) is empty: no connection for {fam.name}")
            if base is not None:
                notes.append(f"{base_var} (line {base_line}) ignored: {fam.key_env} is not set")
            continue
        source = f"{fam.key_env} (line {key_line})"
        try:
            v = _validated(fam.name, API_KEY, base if base and base.strip() else None, Credentials(key=key))
        except UsageError as exc:
            problems.append(f"line {base_line} ({base_var}): {_field_message(exc)}")
            continue
        entries.append(_Entry(source=source, agent=agent, label="Default", v=v))
    if problems:
        raise _too_many(problems, "file")
    if not entries:
        known = ", ".join(f.key_env for f in FAMILIES.values() if f.key_env)
        raise UsageError("the file sets none of the conventional key variables",
                         hint=f"a .env file for import names keys such as {known}")
    return entries, notes


# ---------------------------------------------------------------- inventories


def _opt_str(entry: dict, name: str, problems: list[str], prefix: str) -> str | None:
    value = entry.get(name)
    if value is not None and not isinstance(value, str):
        problems.append(f"{prefix}: {name} must be a string or null")
        return None
    return value


def _opt_bool(entry: dict, name: str, default: bool, problems: list[str], prefix: str) -> bool:
    value = entry.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.append(f"{prefix}: {name} must be true or false")
        return default
    return value


def _parse_connection(i: int, entry: Any, problems: list[str]) -> _Entry | None:
    prefix = f"connections[{i}]"
    if not isinstance(entry, dict):
        problems.append(f"{prefix}: expected an object")
        return None
    before = len(problems)
    unknown = [k for k in entry if k not in CONNECTION_FIELDS]
    if unknown:
        problems.append(f"{prefix}: unknown field " + ", ".join(repr(k) for k in unknown))
    provider = entry.get("provider")
    if not isinstance(provider, str):
        problems.append(f"{prefix}: provider is required (a string)")
    texts = {n: _opt_str(entry, n, problems, prefix)
             for n in ("agent", "auth_type", "label", "base_url", "key_env", "key", "key_source",
                       "expires_at")}
    enabled = _opt_bool(entry, "enabled", True, problems, prefix)
    if len(problems) > before:
        return None
    try:
        agent = labels.clean(texts["agent"], "agent name") if texts["agent"] is not None else None
        label = labels.clean(texts["label"] if texts["label"] is not None else "Default")
        v = _validated(provider, texts["auth_type"], texts["base_url"],
                       Credentials(key=texts["key"], key_env=texts["key_env"],
                                   key_source=texts["key_source"], expires_at=texts["expires_at"]))
    except UsageError as exc:
        problems.append(f"{prefix}: {_field_message(exc)}")
        return None
    return _Entry(source=prefix, agent=agent, label=label, v=v, enabled=enabled)


def _parse_model(i: int, entry: Any, problems: list[str]) -> _ModelEntry | None:
    prefix = f"models[{i}]"
    if not isinstance(entry, dict):
        problems.append(f"{prefix}: expected an object")
        return None
    before = len(problems)
    unknown = [k for k in entry if k not in MODEL_FIELDS]
    if unknown:
        problems.append(f"{prefix}: unknown field " + ", ".join(repr(k) for k in unknown))
    name, provider = entry.get("name"), entry.get("provider")
    if not isinstance(name, str):
        problems.append(f"{prefix}: name is required (a string)")
    if not isinstance(provider, str):
        problems.append(f"{prefix}: provider is required (a string)")
    upstream = _opt_str(entry, "upstream_model", problems, prefix)
    enabled = _opt_bool(entry, "enabled", True, problems, prefix)
    default = _opt_bool(entry, "default", False, problems, prefix)
    refs = entry.get("connections", [])
    if refs is None:
        refs = []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        problems.append(f"{prefix}: connections must be a list of \"PROVIDER/AUTH_TYPE/LABEL\" strings")
    if len(problems) > before:
        return None
    try:
        clean = labels.clean(name, "model name")
        family(provider)
    except UsageError as exc:
        problems.append(f"{prefix}: {_field_message(exc)}")
        return None
    if upstream is not None and not upstream.strip():
        problems.append(f"{prefix}: upstream_model must not be empty")
        return None
    return _ModelEntry(prefix, clean, provider, (upstream or clean).strip(), enabled, default, list(refs))


def parse_inventory(text: str) -> tuple[list[_Entry], list[_ModelEntry]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                         hint='an inventory is {"connections": [...], "models": [...]} (see `provctl export`)') from None
    if not isinstance(data, dict):
        raise UsageError("an inventory is a JSON object",
                         hint='{"connections": [...], "models": [...]} (see `provctl export`)')
    problems: list[str] = []
    unknown = [k for k in data if k not in TOP_FIELDS]
    if unknown:
        problems.append("unknown field " + ", ".join(repr(k) for k in unknown))
    raw_connections = data.get("connections", [])
    raw_models = data.get("models", [])
    if not isinstance(raw_connections, list):
        problems.append("connections must be a list")
        raw_connections = []
    if not isinstance(raw_models, list):
        problems.append("models must be a list")
        raw_models = []
    entries = [e for i, raw in enumerate(raw_connections) if (e := _parse_connection(i, raw, problems))]
    models = [m for i, raw in enumerate(raw_models) if (m := _parse_model(i, raw, problems))]

    seen: dict[tuple, str] = {}
    for e in entries:
        key = (labels.fold(e.agent) if e.agent else None, e.v.provider, e.v.auth_type, labels.fold(e.label))
        if key in seen:
            problems.append(f"{e.source}: same agent, provider, auth type and label as {seen[key]}")
        else:
            seen[key] = e.source
    names: dict[str, str] = {}
    defaults = [m.source for m in models if m.default]
    for m in models:
        k = labels.fold(m.name)
        if k in names:
            problems.append(f"{m.source}: model {m.name!r} is already defined by {names[k]}")
        else:
            names[k] = m.source
    if len(defaults) > 1:
        problems.append(f"{defaults[1]}: only one model can be the default ({defaults[0]} is)")
    if problems:
        raise _too_many(problems, "entries")
    return entries, models


# ---------------------------------------------------------------- planning against the database


@dataclass
class _Plan:
    uid: str | None
    agents_new: dict[str, str]  # folded name -> name, agents to create
    agent_ids: dict[str, str]  # folded name -> id (existing)
    creates: list[tuple[_Entry, str, str | None]]  # entry, new id, fingerprint
    relabels: list[tuple[_Entry, ConnectionRow, str | None]]  # entry, existing row, fingerprint
    items: list[ImportedConnection]
    models: list[tuple[_ModelEntry, list[str]]]  # model to create, connection ids in order
    model_items: list[ImportedModel]


def _pending_row(uid: str, cid: str, e: _Entry, fp: str | None) -> ConnectionRow:
    v = e.v
    return ConnectionRow(
        cid, uid or "", None, None, None, v.provider, v.auth_type, e.label, labels.fold(e.label),
        v.base_url, e.enabled, v.key is not None, None, fp, v.key_env, v.key_source, v.expires_at,
        "", 0, 0,
    )


def _legacy_differs(row: ConnectionRow, e: _Entry, fp: str | None) -> list[str]:
    v = e.v
    found = []
    if v.key is not None and (not row.key_stored or row.key_fingerprint != fp):
        found.append("key")
    for name, old, new in (("key_env", row.key_env, v.key_env), ("base URL", row.base_url, v.base_url),
                           ("expiry", row.expires_at, v.expires_at)):
        if old != new:
            found.append(name)
    return found


def _plan(ctx: AppContext, execute, entries: list[_Entry], models: list[_ModelEntry]) -> _Plan:
    uid = queries.user_id(execute, ctx.user_key)
    rows = queries.connections(execute, uid) if uid else []
    salt = queries.salt(execute) if any(e.v.key is not None for e in entries) else None
    agent_ids: dict[str, str] = {}
    agent_names: dict[str, str] = {}
    if uid:
        for aid, name, _display, _created, _count in queries.agents(execute, uid):
            agent_ids[labels.fold(name)] = aid
            agent_names[aid] = name
    plan = _Plan(uid, {}, agent_ids, [], [], [], [], [])
    user_level = [r for r in rows if r.agent_id is None]
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
        peers = [r for r in user_level if r.provider == v.provider and r.auth_type == v.auth_type]
        twin = next((r for r in peers if r.id in pending and fp is not None and r.key_fingerprint == fp), None)
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
            user_level = [r for r in user_level if r.id != target.id]
            user_level.append(replace(_pending_row(uid, target.id, e, fp), created_at=target.created_at))
            continue
        cid = new_id()
        plan.creates.append((e, cid, fp))
        plan.items.append(ImportedConnection(e.source, "create", cid, None, v.provider, v.auth_type, e.label))
        user_level.append(_pending_row(uid, cid, e, fp))
        pending[cid] = e.source

    if conflicts:
        raise Conflict("; ".join(conflicts), hint="nothing was imported; change or remove those entries "
                       "(or the existing connections) and run the import again")
    _plan_models(ctx, execute, plan, models, user_level, rows)
    return plan


def _plan_models(ctx: AppContext, execute, plan: _Plan, models: list[_ModelEntry],
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
        lists = queries.attached_by_model(execute, plan.uid)
        for m in queries.models(execute, plan.uid):
            ids = [row.id for _priority, row in lists.get(m.id, ())]
            existing[m.name_key] = (m.name, m.provider, m.upstream_model or m.name, m.enabled,
                                    m.is_default, ids)
            if m.is_default:
                current_default = m.name
    problems: list[str] = []
    conflicts: list[str] = []
    for m in models:
        ids: list[str] = []
        for j, ref in enumerate(m.refs):
            where = f"{m.source}: connections[{j}]"
            parts = ref.split("/", 2)
            if len(parts) != 3:
                problems.append(f"{where}: {ref!r} is not PROVIDER/AUTH_TYPE/LABEL")
                continue
            key = (parts[0].strip().lower(), parts[1].strip().lower(), labels.fold(parts[2].strip()))
            cid = by_ref.get(key)
            if cid is None and len(legacy_by_ref.get(key, ())) == 1:
                cid = legacy_by_ref[key][0]  # a model attached to a legacy row before the lift
            if cid is None:
                problems.append(f"{where}: no connection {ref!r} among the user-level connections")
                continue
            if key[0] != m.provider:
                problems.append(f"{where}: {ref!r} is not a {m.provider} connection (cross-family)")
                continue
            if cid in ids:
                problems.append(f"{where}: {ref!r} is listed twice")
                continue
            ids.append(cid)
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
        raise _too_many(problems, "entries")
    if conflicts:
        raise Conflict("; ".join(conflicts), hint="nothing was imported; change or remove those entries "
                       "(or the existing models) and run the import again")


# ---------------------------------------------------------------- writing


def _write(ctx: AppContext, uow, plan: _Plan) -> list[str]:
    """Keyring first, then every row; returns the names of the agents created."""
    now = timeutil.stamp(ctx.now())
    uid = plan.uid or ensure_user(ctx, uow)
    agent_ids = dict(plan.agent_ids)
    created_agents = []
    new_agents = []
    for akey, name in plan.agents_new.items():
        aid = new_id()
        agent_ids[akey] = aid
        new_agents.append((aid, uid, name, akey, None, now))
        created_agents.append(name)
    uow.executemany(
        "INSERT INTO agents (id, user_id, name, name_key, display_name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        new_agents,
    )
    rows = []
    for e, cid, fp in plan.creates:
        v = e.v
        rows.append((
            cid, uid, agent_ids[labels.fold(e.agent)] if e.agent else None, v.provider, v.auth_type,
            e.label, labels.fold(e.label), v.base_url, e.enabled, v.key is not None,
            key_hint(v.key) if v.key is not None else None, fp, v.key_env, v.key_source,
            v.expires_at, now, now,
        ))
    uow.executemany(
        "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, label_key, base_url, "
        "enabled, key_stored, key_hint, key_fingerprint, key_env, key_source, expires_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    uow.executemany(
        "UPDATE connections SET label = ?, label_key = ?, enabled = ?, key_env = ?, key_source = ?, "
        "base_url = ?, expires_at = ?, updated_at = ? WHERE id = ?",
        [(e.label, labels.fold(e.label), e.enabled, e.v.key_env, e.v.key_source, e.v.base_url,
          e.v.expires_at, now, row.id) for e, row, _fp in plan.relabels],
    )
    models, attachments = [], []
    for m, ids in plan.models:
        mid = new_id()
        models.append((mid, uid, m.name, labels.fold(m.name), m.provider,
                       None if m.upstream == m.name else m.upstream, m.enabled, m.default, now))
        attachments.extend((mid, cid, i) for i, cid in enumerate(ids, start=1))
    uow.executemany(
        "INSERT INTO models (id, user_id, name, name_key, provider, upstream_model, enabled, is_default, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        models,
    )
    uow.executemany("INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)", attachments)
    return created_agents


def _store_keys(ctx: AppContext, plan: _Plan, progress: Progress | None) -> list[str]:
    """Write the keys of the created connections; returns the ids written (for an undo)."""
    keyed = [(cid, e.v.key) for e, cid, _fp in plan.creates if e.v.key is not None]
    written: list[str] = []
    if not keyed:
        return written
    store = ctx.keystore()
    try:
        for done, (cid, key) in enumerate(keyed, start=1):
            store.set(cid, key)
            written.append(cid)
            if progress:
                progress("keyring", done, len(keyed))
    except BaseException:
        _forget(ctx, written)
        raise
    return written


def _forget(ctx: AppContext, ids: list[str]) -> None:
    store = ctx.keystore()
    for cid in ids:
        try:
            store.delete(cid)
        except SecretStoreError:
            pass  # the original error matters more; doctor reports orphans


def import_file(ctx: AppContext, path: str | os.PathLike, *, agent: str | None = None,
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
    text = _read_text(file)
    notes: list[str] = []
    if is_json:
        entries, models = parse_inventory(text)
    else:
        entries, notes = parse_env(text, clean_agent)
        models = []

    if dry_run:
        with reading(ctx) as execute:
            plan = _plan(ctx, execute, entries, models)
        items = [replace(i, id=None) if i.action == "create" else i for i in plan.items]
        return ImportResult(True, str(file), items, plan.model_items,
                            list(plan.agents_new.values()), notes)

    if any(e.v.key is not None for e in entries):
        ctx.keystore().check()  # no usable backend: exit 6 before anything is written
    with ctx.uow() as uow:
        plan = _plan(ctx, uow.execute, entries, models)
        written = _store_keys(ctx, plan, progress)
        try:
            agents = _write(ctx, uow, plan)
            uow.commit()
        except BaseException:
            _forget(ctx, written)
            raise
    return ImportResult(False, str(file), plan.items, plan.model_items, agents, notes)


# ---------------------------------------------------------------- export


def export(ctx: AppContext) -> Inventory:
    """The user's connections (never a key), oldest first, and models, as an inventory."""
    with reading(ctx) as execute:
        uid = queries.user_id(execute, ctx.user_key)
        if uid is None:
            return Inventory([], [])
        rows = queries.connections_by_age(execute, uid)
        lists = queries.attached_by_model(execute, uid)
        user_models = queries.models(execute, uid)
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
    return Inventory(connections, models, warnings)
