"""Use cases for user-level connections: connect, list, show, rename, enable/disable,
set-key, remove. Secrets go keyring first, database second; a failed database write removes
(or restores) the keyring entry, so nothing is half-written."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from .. import labels, queries, refs, timeutil, usable
from ..context import AppContext
from ..errors import Conflict, SecretStoreError, UsageError
from ..providers import LOCAL, SUBSCRIPTION, check_auth, check_base_url, family
from ..records import ConnectionRow
from ..secrets_meta import fingerprint, key_hint
from .common import ensure_agent, ensure_user, new_id, reading, user_rows
from .views import ConnectionDetail, ConnectionView

KEY_SOURCES = ("keyring", "env", "keyring,env", "env,keyring")


@dataclass(frozen=True)
class Credentials:
    """What a user gave for a credential. ``key`` is the secret itself (never stored in the DB)."""

    key: str | None = None
    key_env: str | None = None
    key_source: str | None = None
    expires_at: str | None = None  # raw user text


@dataclass(frozen=True)
class ConnectResult:
    action: str  # created | unchanged | enabled | replaced | relabelled
    connection: ConnectionView
    previous_label: str | None = None

    def to_dict(self) -> dict:
        return {"action": self.action, **self.connection.to_dict()}


@dataclass(frozen=True)
class RemoveResult:
    connection: ConnectionView
    detached_from: list[str]
    left_without_connections: list[str]

    def to_dict(self) -> dict:
        return {
            "removed": self.connection.to_dict(),
            "detached_from": self.detached_from,
            "models_without_connections": self.left_without_connections,
        }


# ---------------------------------------------------------------- validation


def _check_key_env(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name or not all(c.isalnum() or c == "_" for c in name) or name[0].isdigit():
        raise UsageError(f"invalid environment variable name {name!r}", hint="e.g. --key-env OPENAI_API_KEY")
    return name


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key:
        raise UsageError("the key is empty", hint="pass the key on stdin (--key-stdin) or at the prompt")
    return key


def _key_source(given: str | None, key_env: str | None) -> str:
    """The allowed key sources: as given (validated), else `keyring,env` with a key variable."""
    if given is None:
        return "keyring,env" if key_env else "keyring"
    value = given.replace(" ", "")
    if value not in KEY_SOURCES:
        raise UsageError(f"invalid --key-source {given!r}", hint="use one of: " + ", ".join(KEY_SOURCES))
    if value == "env" and not key_env:
        raise UsageError("--key-source env needs --key-env VAR")
    return value


@dataclass(frozen=True)
class _Validated:
    provider: str
    auth_type: str
    base_url: str | None
    key: str | None
    key_env: str | None
    key_source: str
    expires_at: str | None


def _validate(provider: str, auth: str | None, base_url: str | None, creds: Credentials,
              *, require_credential: bool) -> _Validated:
    fam = family(provider)
    auth_type = check_auth(fam, auth or fam.default_auth)
    url = check_base_url(base_url) if base_url is not None else None
    if fam.default_base_url is None and url is None:
        raise UsageError(f"{fam.name} needs --base-url", hint=f"e.g. provctl connect {fam.name} --base-url http://127.0.0.1:8000/v1")
    if url is not None and url == fam.default_base_url:
        url = None  # the family default is stored as null
    key, key_env = _check_key(creds.key), _check_key_env(creds.key_env)
    if auth_type == LOCAL and (key is not None or key_env is not None):
        raise UsageError("a local connection takes no key", hint="drop --key-stdin / --key-env")
    if creds.expires_at is not None and auth_type != SUBSCRIPTION:
        raise UsageError("--expires-at applies to subscription connections only")
    expires = timeutil.parse_user_time(creds.expires_at) if creds.expires_at is not None else None
    if require_credential and auth_type != LOCAL and key is None and key_env is None:
        raise UsageError(
            f"{'an' if auth_type == 'api_key' else 'a'} {auth_type} connection needs a key",
            hint="pipe it with --key-stdin, type it at the prompt, or name a variable with --key-env VAR",
        )
    source = _key_source(creds.key_source, key_env)
    return _Validated(fam.name, auth_type, url, key, key_env, source, expires)


# ---------------------------------------------------------------- keyring, then database


@contextmanager
def _key_written(ctx: AppContext, connection_id: str, key: str | None, *, previous: str | None = None) -> Iterator[None]:
    """Write ``key`` to the keyring; if the block (the database write) fails, undo it."""
    if key is None:
        yield
        return
    store = ctx.keystore()
    store.set(connection_id, key)
    try:
        yield
    except BaseException:
        try:
            if previous is not None:
                store.set(connection_id, previous)
            else:
                store.delete(connection_id)
        except SecretStoreError:
            pass  # the original error matters more; doctor reports orphans
        raise


def _view(ctx: AppContext, uow, connection_id: str) -> ConnectionView:
    row = queries.connection(uow.execute, connection_id)
    assert row is not None
    return ConnectionView.of(row, now=ctx.now(), environ=ctx.environ)


def _user_level(rows: list[ConnectionRow], provider: str, auth_type: str) -> list[ConnectionRow]:
    return [r for r in rows if r.agent_id is None and r.provider == provider and r.auth_type == auth_type]


@dataclass(frozen=True)
class Decision:
    """What `connect` (and `import` for user-level entries) does with a label and key."""

    action: str  # create | unchanged | enable | replace | relabel
    target: ConnectionRow | None = None


def decide(peers: list[ConnectionRow], label_key: str, fp: str | None, v: _Validated, *,
           replace: bool = False, key_optional: bool = False) -> Decision:
    """The same-label and same-key rules of SPEC §6 connect, over the user-level ``peers`` of
    (user, provider, auth type). Raises Conflict where connect refuses.

    ``key_optional`` (import): an entry without a key does not compare keys with the existing
    connection (an export carries no keys), so re-importing it is a no-op.
    """
    same_label = next((r for r in peers if r.label_key == label_key), None)
    same_key = next((r for r in peers if fp is not None and r.key_fingerprint == fp), None)

    if same_label is not None:
        differs = [
            name for name, old, new in (
                ("key", same_label.key_fingerprint, fp),
                ("--key-env", same_label.key_env, v.key_env),
                ("base URL", same_label.base_url, v.base_url),
                ("expiry", same_label.expires_at, v.expires_at),
            ) if old != new and not (name == "key" and key_optional and v.key is None)
        ]
        if not differs:
            return Decision("unchanged" if same_label.enabled else "enable", same_label)
        if not replace:
            raise Conflict(
                f"{same_label.ref} already exists with a different {', '.join(differs)}",
                hint="add --replace to store the new values in it, or choose another --label",
            )
        if same_key is not None and same_key.id != same_label.id:
            raise Conflict(
                f"this key is already stored on {refs.describe(same_key)}",
                hint="one key, one connection: remove or re-key that connection first",
            )
        return Decision("replace", same_label)

    if same_key is not None:
        if same_key.enabled:
            raise Conflict(
                f"this key is already stored on {refs.describe(same_key)}",
                hint="one key, one connection: use that connection, or rename it with "
                "`provctl providers rename`",
            )
        differs = [n for n, old, new in (("base URL", same_key.base_url, v.base_url),
                                         ("expiry", same_key.expires_at, v.expires_at)) if old != new]
        if differs and not replace:
            raise Conflict(
                f"this key belongs to the disabled connection {refs.describe(same_key)}, "
                f"which has a different {', '.join(differs)}",
                hint="add --replace to re-enable it with the new values",
            )
        return Decision("relabel", same_key)
    return Decision("create")


def connect(ctx: AppContext, provider: str, *, label: str = "Default", auth: str | None = None,
            base_url: str | None = None, creds: Credentials = Credentials(), agent: str | None = None,
            replace: bool = False, verify=None) -> ConnectResult:
    """Create (or idempotently confirm) a user-level connection (SPEC §6 connect).

    ``verify(provider, base_url, auth_type, key)`` is called before anything is written when
    given; it raises to refuse.
    """
    clean_label = labels.clean(label)
    agent = labels.clean(agent, "agent name") if agent is not None else None  # `--agent ""` is an error
    v = _validate(provider, auth, base_url, creds, require_credential=True)
    if v.key is not None and v.key_source == "env":
        raise UsageError("--key-source env ignores the key given; drop it or allow keyring")
    if v.key is not None:
        ctx.keystore().check()  # no usable backend: exit 6 before anything is written
    if verify is not None:
        verify(v.provider, v.base_url, v.auth_type, v.key)
    now = timeutil.stamp(ctx.now())
    with ctx.uow() as uow:
        from ..db.models import Connection

        uid = ensure_user(ctx, uow)
        via = ensure_agent(uow, uid, agent) if agent is not None else None
        fp = fingerprint(queries.salt(uow.execute), v.key) if v.key is not None else None
        peers = _user_level(queries.connections(uow.execute, uid), v.provider, v.auth_type)
        key = labels.fold(clean_label)
        decision = decide(peers, key, fp, v, replace=replace)

        if decision.action in ("unchanged", "enable"):
            row = uow.session.get(Connection, decision.target.id)
            action = "unchanged" if row.enabled else "enabled"
            if not row.enabled or row.key_source != v.key_source:
                row.enabled, row.key_source, row.updated_at = True, v.key_source, now
                uow.session.add(row)
            uow.commit()
            return ConnectResult(action, _view(ctx, uow, row.id))
        if decision.action == "replace":
            same_label = decision.target
            row = uow.session.get(Connection, same_label.id)
            previous = ctx.keystore().get(row.id) if (v.key is not None and row.key_stored) else None
            with _key_written(ctx, row.id, v.key, previous=previous):
                _apply(row, v, fp, now)
                row.enabled = True
                uow.session.add(row)
                uow.commit()
            if v.key is None and same_label.key_stored:
                _forget_key(ctx, row.id)
            return ConnectResult("replaced", _view(ctx, uow, row.id))
        if decision.action == "relabel":
            row = uow.session.get(Connection, decision.target.id)
            old_label = row.label
            _apply(row, v, fp, now)
            row.label, row.label_key, row.enabled = clean_label, key, True
            uow.session.add(row)
            uow.commit()
            return ConnectResult("relabelled", _view(ctx, uow, row.id), previous_label=old_label)

        cid = new_id()
        row = Connection(
            id=cid, user_id=uid, agent_id=None, connected_via_agent_id=via, provider=v.provider,
            auth_type=v.auth_type, label=clean_label, label_key=key, enabled=True,
            created_at=now, updated_at=now,
        )
        _apply(row, v, fp, now)
        with _key_written(ctx, cid, v.key):
            uow.session.add(row)
            uow.commit()
        return ConnectResult("created", _view(ctx, uow, cid))


def _apply(row, v: _Validated, fp: str | None, now: str) -> None:
    row.base_url = v.base_url
    row.key_env = v.key_env
    row.key_source = v.key_source
    row.expires_at = v.expires_at
    row.key_stored = v.key is not None
    row.key_hint = key_hint(v.key) if v.key is not None else None
    row.key_fingerprint = fp
    row.updated_at = now


def _forget_key(ctx: AppContext, connection_id: str) -> None:
    try:
        ctx.keystore().delete(connection_id)
    except SecretStoreError:
        pass  # the row no longer claims a key; doctor reports the orphan


# ---------------------------------------------------------------- reads


# The values the `providers list` status column can take (SPEC §5: `active` or a reason code
# decided from stored state; key_missing / keyring_unavailable / probe_failed are resolve's).
LIST_STATUSES = (usable.ACTIVE, usable.LEGACY, usable.DISABLED, usable.NO_KEY, usable.EXPIRED)


def list_connections(ctx: AppContext, *, provider: str | None = None, status: str | None = None) -> list[ConnectionView]:
    if provider is not None:
        family(provider)
    if status is not None and status not in LIST_STATUSES:
        raise UsageError(f"unknown status {status!r}", hint="use one of: " + ", ".join(LIST_STATUSES))
    with reading(ctx) as execute:
        rows = user_rows(ctx, execute)
    views = [ConnectionView.of(r, now=ctx.now(), environ=ctx.environ) for r in rows]
    return [v for v in views if (provider is None or v.provider == provider)
            and (status is None or v.status == status)]


def credential_source(ctx: AppContext, row: ConnectionRow) -> str:
    """Where a key would come from now: reads the keyring once (SPEC §6 providers show)."""
    # show still works without a keyring: an unavailable one just yields no source
    return usable.read_key(row, ctx.environ, lambda cid: ctx.keystore().get(cid)).source


def show(ctx: AppContext, ref: str) -> ConnectionDetail:
    with reading(ctx) as execute:
        row = refs.pick(user_rows(ctx, execute), ref)
        attachments = queries.attachments_of_connection(execute, row.id)
    return ConnectionDetail(
        connection=ConnectionView.of(row, now=ctx.now(), environ=ctx.environ),
        key_env=row.key_env,
        key_source=row.key_source,
        credential_source=credential_source(ctx, row),
        expires_at=row.expires_at,
        connected_via=row.connected_via,
        attachments=attachments,
    )


# ---------------------------------------------------------------- writes on one connection


def _pick_in(ctx: AppContext, uow, ref: str) -> ConnectionRow:
    return refs.pick(user_rows(ctx, uow.execute), ref)


def rename(ctx: AppContext, ref: str, new_label: str) -> ConnectionView:
    clean_label = labels.clean(new_label)
    with ctx.uow() as uow:
        from ..db.models import Connection

        target = _pick_in(ctx, uow, ref)
        key = labels.fold(clean_label)
        clash = next(
            (r for r in user_rows(ctx, uow.execute)
             if r.id != target.id and r.provider == target.provider and r.auth_type == target.auth_type
             and r.agent_id == target.agent_id and r.label_key == key),
            None,
        )
        if clash is not None:
            raise Conflict(f"the label {clean_label!r} is taken by {refs.describe(clash)}",
                           hint="choose another label")
        row = uow.session.get(Connection, target.id)
        row.label, row.label_key, row.updated_at = clean_label, key, timeutil.stamp(ctx.now())
        uow.session.add(row)
        uow.commit()
        return _view(ctx, uow, target.id)


def set_enabled(ctx: AppContext, ref: str, enabled: bool) -> ConnectionView:
    with ctx.uow() as uow:
        from ..db.models import Connection

        target = _pick_in(ctx, uow, ref)
        row = uow.session.get(Connection, target.id)
        row.enabled, row.updated_at = enabled, timeutil.stamp(ctx.now())
        uow.session.add(row)
        uow.commit()
        return _view(ctx, uow, target.id)


def set_key(ctx: AppContext, ref: str, creds: Credentials) -> ConnectionView:
    """Give a connection a new key, key variable or expiry (only what is given changes)."""
    if creds.key is None and creds.key_env is None and creds.expires_at is None and creds.key_source is None:
        raise UsageError("nothing to set", hint="give a key (--key-stdin or the prompt), --key-env, --key-source or --expires-at")
    with ctx.uow() as uow:
        from ..db.models import Connection

        target = _pick_in(ctx, uow, ref)
        key = _check_key(creds.key)
        key_env = _check_key_env(creds.key_env)
        if target.auth_type == LOCAL and (key is not None or key_env is not None):
            raise UsageError("a local connection takes no key")
        if creds.expires_at is not None and target.auth_type != SUBSCRIPTION:
            raise UsageError("--expires-at applies to subscription connections only")
        row = uow.session.get(Connection, target.id)
        new_env = key_env if key_env is not None else row.key_env
        source = _key_source(creds.key_source, new_env) if (
            creds.key_source is not None or key_env is not None) else row.key_source
        now = timeutil.stamp(ctx.now())
        fp = None
        if key is not None:
            fp = fingerprint(queries.salt(uow.execute), key)
            holder = next((r for r in user_rows(ctx, uow.execute)
                           if r.id != row.id and r.agent_id is None and r.provider == row.provider
                           and r.auth_type == row.auth_type and r.key_fingerprint == fp), None)
            if holder is not None and row.agent_id is None:
                raise Conflict(f"this key is already stored on {refs.describe(holder)}",
                               hint="one key, one connection")
        previous = ctx.keystore().get(row.id) if (key is not None and row.key_stored) else None
        with _key_written(ctx, row.id, key, previous=previous):
            if key is not None:
                row.key_stored, row.key_hint, row.key_fingerprint = True, key_hint(key), fp
            row.key_env, row.key_source = new_env, source
            if creds.expires_at is not None:
                row.expires_at = timeutil.parse_user_time(creds.expires_at)
            row.updated_at = now
            uow.session.add(row)
            uow.commit()
        return _view(ctx, uow, row.id)


def remove(ctx: AppContext, ref: str, *, force: bool = False) -> RemoveResult:
    """Delete a connection (then its keyring entry). Refused while attached unless ``force``."""
    with ctx.uow() as uow:
        from ..db.models import Connection

        target = _pick_in(ctx, uow, ref)
        view = ConnectionView.of(target, now=ctx.now(), environ=ctx.environ)
        attached = queries.attachments_of_connection(uow.execute, target.id)
        if attached and not force:
            raise Conflict(
                f"{target.ref} is attached to " + ", ".join(f"{m} (priority {p})" for m, p in attached),
                hint="detach it with `provctl model detach`, or add --force to detach it everywhere",
            )
        if target.key_stored:
            ctx.keystore().check()  # no usable backend: exit 6 before the row goes (no orphan)
        empty: list[str] = []
        if attached:
            from .priorities import detach_everywhere

            empty = detach_everywhere(uow, target.id)
        uow.session.delete(uow.session.get(Connection, target.id))
        uow.commit()
    if target.key_stored:
        _forget_key(ctx, target.id)
    return RemoveResult(view, [m for m, _ in attached], empty)
