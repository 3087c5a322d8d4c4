"""`provctl doctor`: is this installation healthy? Each check is one finding."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import dbfile, queries, schema, usable
from ..context import AppContext
from ..errors import ProvctlError, SecretStoreError
from ..keystore import is_plaintext
from .common import reading, user_rows


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    items: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "items": self.items}


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]
    fixed: list[str]

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict:
        return {"healthy": self.healthy, "checks": [c.to_dict() for c in self.checks], "fixed": self.fixed}


def _schema(ctx: AppContext) -> Check:
    current = dbfile.stamped_revision(ctx.db_path)
    return Check("schema", current == schema.HEAD, f"revision {current}, head {schema.HEAD}")


def _integrity(execute) -> Check:
    rows = [r[0] for r in execute("PRAGMA integrity_check", ())]
    return Check("integrity", rows == ["ok"], "PRAGMA integrity_check: " + ", ".join(rows[:5]))


def _keyring(ctx: AppContext) -> tuple[Check, bool]:
    try:
        name = ctx.keystore().check()
    except SecretStoreError as exc:
        return Check("keyring", False, exc.message), False
    backend = getattr(ctx.keystore(), "_backend", None)
    plain = backend is not None and is_plaintext(backend)
    return Check("keyring", True, f"{name}" + (" (plaintext: secrets are stored unencrypted)" if plain else "")), True


def run(ctx: AppContext, *, fix: bool = False) -> DoctorReport:
    checks: list[Check] = []
    fixed: list[str] = []
    ctx.ensure_schema()  # like every command: create or upgrade on first use
    checks.append(_schema(ctx))
    keyring_check, keyring_ok = _keyring(ctx)
    with reading(ctx) as execute:
        checks.append(_integrity(execute))
        checks.append(keyring_check)
        rows = user_rows(ctx, execute)
        uid = queries.user_id(execute, ctx.user_key)
        undo_keys = [cid for (cid,) in execute(
            "SELECT r.connection_id FROM lift_run_rows r JOIN lift_runs l ON l.id = r.run_id "
            "WHERE r.action = 'merge' AND l.undone_at IS NULL", ())]
        models = list(execute(
            "SELECT id, name, provider, enabled FROM models WHERE user_id = ? ORDER BY name_key", (uid,)
        )) if uid else []
        attached = {}
        for model_id, cid in execute(
            "SELECT t.model_id, t.connection_id FROM attachments t JOIN models m ON m.id = t.model_id "
            "WHERE m.user_id = ? ORDER BY t.model_id, t.priority", (uid,)
        ) if uid else []:
            attached.setdefault(model_id, []).append(cid)

    missing: list = []
    if keyring_ok:
        store = ctx.keystore()
        for row in rows:
            if row.key_stored:
                try:
                    if not (store.get(row.id) or "").strip():
                        missing.append(row)
                except ProvctlError:
                    break
    checks.append(Check("secrets", not missing,
                        f"{len(missing)} connection(s) whose key is missing from the keyring"
                        if missing else "every stored key is in the keyring",
                        [r.ref + (f" (agent {r.agent_name})" if r.agent_id else "") for r in missing]))
    checks.append(Check("lift undo keys", True,
                        f"{len(undo_keys)} keyring entr{'y' if len(undo_keys) == 1 else 'ies'} kept only "
                        "for a lift's --undo", undo_keys))
    legacy = [r for r in rows if r.agent_id]
    checks.append(Check("legacy", not legacy,
                        f"{len(legacy)} legacy connection(s) awaiting `provctl migrate-lift`" if legacy
                        else "no legacy connections", [f"{r.ref} (agent {r.agent_name})" for r in legacy]))
    by_id = {r.id: r for r in rows}
    now = ctx.now()
    unusable = [
        name for model_id, name, provider, enabled in models
        if enabled and not any(
            cid in by_id and usable.usability(by_id[cid], now=now, environ=ctx.environ, model_provider=provider) is None
            for cid in attached.get(model_id, [])
        )
    ]
    checks.append(Check("models", not unusable,
                        f"{len(unusable)} enabled model(s) with no usable connection" if unusable
                        else "every enabled model has a usable connection", unusable))
    if fix and missing:
        with ctx.uow() as uow:
            uow.executemany("UPDATE connections SET key_stored = 0, key_hint = NULL, key_fingerprint = NULL "
                            "WHERE id = ?", [(r.id,) for r in missing])
            uow.commit()
        fixed.append(f"forgot the missing keys of {len(missing)} connection(s); give them a key with "
                     "`provctl providers set-key`")
        return DoctorReport(run(ctx).checks, fixed)  # the findings after the fix
    return DoctorReport(checks, fixed)
