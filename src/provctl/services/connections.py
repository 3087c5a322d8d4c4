"""Use cases for user-level connections: connect, list, show, rename, enable/disable,
set-key, remove. Secrets go keyring first, database second (``keys.keys_written``): a failed
database write removes (or restores) the keyring entry, so nothing is half-written; every
keyring write and delete is journaled (``services.keys``), so `doctor` sees what an
interruption leaves."""

from __future__ import annotations

from typing import NamedTuple

from ..context import AppContext
from ..db import read
from ..domain import labels, priorities, refs, usability
from ..domain.credentials import (
    NO_KEY, Credentials, Validated, check_key, check_key_env, decide, fingerprint, key_hint,
    key_source_order, lookup_key, needs_key, validate,
)
from ..domain.families import SUBSCRIPTION, base_url_warning, family
from ..domain.resolution import skip_detail
from ..domain.rows import ConnectionRow, full_ref, new_id
from ..domain.timeutil import parse_user_time
from ..errors import Conflict, UsageError
from . import keys
from .keys import Leftover, keys_written
from .views import ConnectionDetail, ConnectionView

__all__ = ["Credentials", "connect", "list_connections", "show", "rename", "set_enabled",
           "set_key", "remove"]


class ConnectResult(NamedTuple):
    action: str  # created | unchanged | enabled | replaced | relabelled
    connection: ConnectionView
    previous_label: str | None = None
    warnings: tuple[str, ...] = ()  # for people (stderr), not part of the JSON
    discovered: int | None = None  # --verify: the model ids it fetched and stored (else None)
    # keyring entries that should be gone but are not (exit 6 after the result, SPEC §2)
    leftovers: list[Leftover] = ()

    def to_dict(self) -> dict:
        data = {"action": self.action, **self.connection.to_dict()}
        if self.leftovers:
            data["keyring_leftovers"] = [x.to_dict() for x in self.leftovers]
        return data


class RemoveResult(NamedTuple):
    connection: ConnectionView
    detached_from: list[str]
    left_without_connections: list[str]
    leftovers: list[Leftover] = ()

    def to_dict(self) -> dict:
        return {
            "removed": self.connection.to_dict(),
            "detached_from": self.detached_from,
            "models_without_connections": self.left_without_connections,
            "keyring_leftovers": [x.to_dict() for x in self.leftovers],
        }


# ---------------------------------------------------------------- helpers


def _view(ctx: AppContext, uow, connection_id: str) -> ConnectionView:
    row = read.connection(uow.execute, connection_id)
    assert row is not None
    return ConnectionView.of(row, now=ctx.now(), environ=ctx.environ)


def _peers(rows: list[ConnectionRow], provider: str, auth_type: str) -> list[ConnectionRow]:
    """The user-level connections of one (provider, auth type): what connect's rules compare."""
    return [r for r in rows if r.agent_id is None and r.provider == provider and r.auth_type == auth_type]


def _stored(v: Validated, fp: str | None, now: str) -> dict:
    """The credential columns of a connection holding ``v``."""
    return {
        "base_url": v.base_url, "key_env": v.key_env, "key_source": v.key_source,
        "expires_at": v.expires_at, "key_stored": v.key is not None,
        "key_hint": key_hint(v.key) if v.key is not None else None, "key_fingerprint": fp,
        "updated_at": now,
    }


@keys.retrying
def connect(ctx: AppContext, provider: str, *, label: str = "Default", auth: str | None = None,
            base_url: str | None = None, creds: Credentials = Credentials(), agent: str | None = None,
            replace: bool = False, verify=None) -> ConnectResult:
    """Create (or idempotently confirm) a user-level connection (SPEC §6 connect).

    ``verify(provider, base_url, auth_type, key)`` is called before anything is written when
    given; it raises to refuse, else returns the model ids it fetched, which are stored as the
    connection's discovered models in the transaction that writes the row (so `providers
    list` counts them at once, as after a `providers refresh`). A base URL of a suspicious shape (anthropic ending in /v1) is
    accepted with a warning in the result.
    """
    clean_label = labels.clean(label)
    agent = labels.clean(agent, "agent name") if agent is not None else None  # `--agent ""` is an error
    v = validate(provider, auth, base_url, creds, require_credential=True)
    if v.key is not None:
        ctx.keystore().check()  # no usable backend: exit 6 before anything is written
    discovered = None
    if verify is not None:
        discovered = tuple(verify(v.provider, v.base_url, v.auth_type, v.key))
    shape = base_url_warning(v.provider, v.base_url)
    result = _connect(ctx, v, clean_label, agent, replace, discovered)
    if discovered is not None:
        result = result._replace(discovered=len(discovered))
    return result._replace(warnings=(shape,)) if shape else result


def _connect(ctx: AppContext, v: Validated, clean_label: str, agent: str | None,
             replace: bool, discovered: tuple[str, ...] | None = None) -> ConnectResult:
    from ..db import write

    now = ctx.stamp()

    def store_discovered(connection_id: str) -> None:
        """--verify's model ids replace the connection's discovered set, before the commit."""
        if discovered is not None:
            write.replace_discovered(uow, {connection_id: discovered}, now)

    with ctx.uow() as uow:
        # reads first: a keyring write commits the journal (and only it) before it starts
        existing_uid = read.user_id(uow.execute, ctx.user_key)
        fp = fingerprint(read.salt(uow.execute), v.key) if v.key is not None else None
        rows = read.connections(uow.execute, existing_uid) if existing_uid else []
        peers = _peers(rows, v.provider, v.auth_type)
        label_key = labels.fold(clean_label)
        decision = decide(peers, label_key, fp, v, replace=replace)
        target = decision.target

        def owner() -> tuple[str, str | None]:
            """The user and the --agent (recorded; created if missing)."""
            uid = write.ensure_user(uow, ctx.user, ctx.user_key, now)
            via = write.ensure_agent(uow, uid, agent, labels.fold(agent), now) if agent is not None else None
            return uid, via

        if decision.action in ("unchanged", "enable"):
            owner()
            if not target.enabled or target.key_source != v.key_source:
                write.update_connection(uow, target.id, enabled=True, key_source=v.key_source,
                                        updated_at=now)
            store_discovered(target.id)
            uow.commit()
            return ConnectResult("unchanged" if target.enabled else "enabled", _view(ctx, uow, target.id))
        if decision.action == "replace":
            ref = {target.id: keys.describe(target)}
            previous = ctx.keystore().get(target.id) if (v.key is not None and target.key_stored) else None
            forgotten = v.key is None and target.key_stored  # --key-env in place of a stored key
            with keys_written(ctx, uow, {target.id: v.key} if v.key is not None else {}, ref,
                              previous={target.id: previous}):
                owner()
                write.update_connection(uow, target.id, **_stored(v, fp, now), enabled=True)
                if forgotten:
                    keys.journal_deletes(ctx, uow, ref)
                store_discovered(target.id)
                uow.commit()
            left = keys.forget(ctx, ref) if forgotten else []
            return ConnectResult("replaced", _view(ctx, uow, target.id), leftovers=left)
        if decision.action == "relabel":
            owner()
            write.update_connection(uow, target.id, **_stored(v, fp, now), label=clean_label,
                                    label_key=label_key, enabled=True)
            store_discovered(target.id)
            uow.commit()
            return ConnectResult("relabelled", _view(ctx, uow, target.id), previous_label=target.label)

        cid = new_id()
        ref = {cid: full_ref(v.provider, v.auth_type, clean_label)}
        with keys_written(ctx, uow, {cid: v.key} if v.key is not None else {}, ref):
            uid, via = owner()
            write.insert_connections(uow, [{
                "id": cid, "user_id": uid, "agent_id": None, "connected_via_agent_id": via,
                "provider": v.provider, "auth_type": v.auth_type, "label": clean_label,
                "label_key": label_key, "enabled": True, "created_at": now, **_stored(v, fp, now),
            }])
            store_discovered(cid)
            uow.commit()
        return ConnectResult("created", _view(ctx, uow, cid))


# ---------------------------------------------------------------- reads


# The values the `providers list` status column can take (SPEC §5: `active` or a reason code
# decided from stored state; key_missing / keyring_unavailable / probe_failed are resolve's).
LIST_STATUSES = (usability.ACTIVE, usability.LEGACY, usability.DISABLED, NO_KEY, usability.EXPIRED)


def list_connections(ctx: AppContext, *, provider: str | None = None, status: str | None = None) -> list[ConnectionView]:
    if provider is not None:
        family(provider)
    if status is not None and status not in LIST_STATUSES:
        from ..domain.text import preview

        raise UsageError(f"unknown status {preview(status)}", hint="use one of: " + ", ".join(LIST_STATUSES))
    with ctx.reading() as execute:
        rows = read.user_connections(execute, ctx.user_key)
    views = [ConnectionView.of(r, now=ctx.now(), environ=ctx.environ) for r in rows]
    return [v for v in views if (provider is None or v.provider == provider)
            and (status is None or v.status == status)]


def show(ctx: AppContext, ref: str, *, reveal: bool = False) -> ConnectionDetail:
    """One connection. Its status is the full answer (SPEC §6 providers show): the usable
    predicate on its stored state, then THE key walk, which reads the keyring once — so a key
    gone from the keyring is `key_missing` and an unreadable keyring `keyring_unavailable`,
    exactly as `resolve` would find them; with ``reveal``, that same read gives the key."""
    with ctx.reading() as execute:
        row = refs.pick(read.user_connections(execute, ctx.user_key), ref)
        attachments = read.attachments_of_connection(execute, row.id)
        granted_to = read.granted_to(execute, row.id)
    lookup = lookup_key(row, ctx.environ, lambda cid: ctx.keystore().get(cid))
    view = ConnectionView.of(row, now=ctx.now(), environ=ctx.environ)
    stored = usability.usability(row, now=ctx.now(), environ=ctx.environ)
    if stored is not None:
        status, detail = stored, skip_detail(stored, row)
    elif lookup.reason is not None:
        status, detail = lookup.reason, lookup.detail
    else:
        status, detail = usability.ACTIVE, None
    return ConnectionDetail(
        connection=view._replace(status=status),
        key_env=row.key_env,
        key_source=row.key_source,
        credential_source=lookup.source,
        expires_at=row.expires_at,
        connected_via=row.connected_via,
        attachments=attachments,
        status_detail=detail,
        api_key=lookup.key if reveal else None,
        revealed=reveal,
        granted_to=granted_to,
    )


# ---------------------------------------------------------------- writes on one connection


def _pick_in(ctx: AppContext, uow, ref: str) -> ConnectionRow:
    return refs.pick(read.user_connections(uow.execute, ctx.user_key), ref)


def rename(ctx: AppContext, ref: str, new_label: str) -> ConnectionView:
    from ..db import write

    clean_label = labels.clean(new_label)
    with ctx.uow() as uow:
        rows = read.user_connections(uow.execute, ctx.user_key)
        target = refs.pick(rows, ref)
        label_key = labels.fold(clean_label)
        clash = next(
            (r for r in rows
             if r.id != target.id and r.provider == target.provider and r.auth_type == target.auth_type
             and r.agent_id == target.agent_id and r.label_key == label_key),
            None,
        )
        if clash is not None:
            raise Conflict(f"the label {clean_label!r} is taken by {refs.describe(clash)}",
                           hint="choose another label")
        write.update_connection(uow, target.id, label=clean_label, label_key=label_key,
                                updated_at=ctx.stamp())
        uow.commit()
        return _view(ctx, uow, target.id)


def set_enabled(ctx: AppContext, ref: str, enabled: bool) -> ConnectionView:
    from ..db import write

    with ctx.uow() as uow:
        target = _pick_in(ctx, uow, ref)
        write.update_connection(uow, target.id, enabled=enabled, updated_at=ctx.stamp())
        uow.commit()
        return _view(ctx, uow, target.id)


@keys.retrying
def set_key(ctx: AppContext, ref: str, creds: Credentials) -> ConnectionView:
    """Give a connection a new key, key variable or expiry (only what is given changes)."""
    from ..db import write

    if creds.key is None and creds.key_env is None and creds.expires_at is None and creds.key_source is None:
        raise UsageError("nothing to set", hint="give a key (--key-stdin or the prompt), --key-env, --key-source or --expires-at")
    with ctx.uow() as uow:
        rows = read.user_connections(uow.execute, ctx.user_key)
        target = refs.pick(rows, ref)
        key = check_key(creds.key)
        key_env = check_key_env(creds.key_env)
        if not needs_key(target.auth_type) and (key is not None or key_env is not None):
            raise UsageError("a local connection takes no key")
        if creds.expires_at is not None and target.auth_type != SUBSCRIPTION:
            raise UsageError("--expires-at applies to subscription connections only")
        new_env = key_env if key_env is not None else target.key_env
        source = key_source_order(creds.key_source, new_env) if (
            creds.key_source is not None or key_env is not None) else target.key_source
        values: dict = {"key_env": new_env, "key_source": source, "updated_at": ctx.stamp()}
        if key is not None:
            fp = fingerprint(read.salt(uow.execute), key)
            holder = next((r for r in _peers(rows, target.provider, target.auth_type)
                           if r.id != target.id and r.key_fingerprint == fp), None)
            if holder is not None and target.agent_id is None:
                raise Conflict(f"this key is already stored on {refs.describe(holder)}",
                               hint="one key, one connection")
            values.update(key_stored=True, key_hint=key_hint(key), key_fingerprint=fp)
        if creds.expires_at is not None:
            values["expires_at"] = parse_user_time(creds.expires_at)
        previous = ctx.keystore().get(target.id) if (key is not None and target.key_stored) else None
        with keys_written(ctx, uow, {target.id: key} if key is not None else {},
                          {target.id: keys.describe(target)}, previous={target.id: previous}):
            write.update_connection(uow, target.id, **values)
            uow.commit()
        return _view(ctx, uow, target.id)


def remove(ctx: AppContext, ref: str, *, force: bool = False) -> RemoveResult:
    """Delete a connection (then its keyring entry). Refused while attached unless ``force``."""
    from ..db import write

    with ctx.uow() as uow:
        target = _pick_in(ctx, uow, ref)
        view = ConnectionView.of(target, now=ctx.now(), environ=ctx.environ)
        attached = read.attachments_of_connection(uow.execute, target.id)
        if attached and not force:
            raise Conflict(
                f"{target.ref} is attached to " + ", ".join(f"{m} (priority {p})" for m, p in attached),
                hint="detach it with `provctl model detach`, or add --force to detach it everywhere",
            )
        if target.key_stored:
            ctx.keystore().check()  # no usable backend: exit 6 before the row goes (no orphan)
        models = read.models_of_connection(uow.execute, target.id)
        lists = {mid: priorities.without(read.attached_ids(uow.execute, mid), target.id)
                 for mid, _name in models}
        empty = [name for mid, name in models if not lists[mid]]
        write.rewrite_priorities(uow, lists)
        write.delete_connection(uow, target.id)
        stored = {target.id: keys.describe(target)} if target.key_stored else {}
        keys.journal_deletes(ctx, uow, stored)  # commits with the row's deletion
        uow.commit()
    # the row is gone; a keyring delete that fails leaves its journal entry for doctor
    return RemoveResult(view, [m for m, _ in attached], empty, keys.forget(ctx, stored))
