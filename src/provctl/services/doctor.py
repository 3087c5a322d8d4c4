"""`provctl doctor`: is this installation healthy? Each check is one finding."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..context import AppContext
from ..db import file as dbfile
from ..db import read, revisions
from ..domain import usability
from ..domain.rows import legacy_suffix
from ..errors import ProvctlError, SecretStoreError
from ..keystore import is_plaintext


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
    return Check("schema", current == revisions.HEAD, f"revision {current}, head {revisions.HEAD}")


def _integrity(execute) -> Check:
    rows = read.integrity_check(execute)
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
    with ctx.reading() as execute:
        checks.append(_integrity(execute))
        checks.append(keyring_check)
        uid = read.user_id(execute, ctx.user_key)
        rows = read.connections(execute, uid) if uid else []
        undo_keys = read.lift_undo_key_ids(execute)
        models = read.models(execute, uid) if uid else []
        lists = read.attached_by_model(execute, uid) if uid else {}

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
                        [r.ref + legacy_suffix(r.agent_name if r.agent_id else None) for r in missing]))
    checks.append(Check("lift undo keys", True,
                        f"{len(undo_keys)} keyring entr{'y' if len(undo_keys) == 1 else 'ies'} kept only "
                        "for a lift's --undo", undo_keys))
    legacy = [r for r in rows if r.agent_id]
    checks.append(Check("legacy", not legacy,
                        f"{len(legacy)} legacy connection(s) awaiting `provctl migrate-lift`" if legacy
                        else "no legacy connections", [r.ref + legacy_suffix(r.agent_name) for r in legacy]))
    unusable = [
        m.name for m in models
        if m.enabled and usability.first_usable((r for _, r in lists.get(m.id, ())), m.provider,
                                                now=ctx.now(), environ=ctx.environ) is None
    ]
    checks.append(Check("models", not unusable,
                        f"{len(unusable)} enabled model(s) with no usable connection" if unusable
                        else "every enabled model has a usable connection", unusable))
    if fix and missing:
        from ..db import write

        with ctx.uow() as uow:
            write.forget_keys(uow, [r.id for r in missing])
            uow.commit()
        fixed.append(f"forgot the missing keys of {len(missing)} connection(s); give them a key with "
                     "`provctl providers set-key`")
        return DoctorReport(run(ctx).checks, fixed)  # the findings after the fix
    return DoctorReport(checks, fixed)
