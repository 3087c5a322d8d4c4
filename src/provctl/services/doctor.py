"""`provctl doctor`: is this installation healthy? Each check is one finding (SPEC §6).

Two rules shape it:

* **doctor never contradicts resolve.** The models check runs THE resolve walk
  (``domain.resolution.resolve``, without probes) over each enabled model, reading the keyring
  the way `resolve` does; a model is fine exactly when that walk selects a connection. A
  keyring that cannot be read makes every model that needs it a finding.
* **doctor reports on a damaged database.** Each check that reads the database runs on its
  own; one that cannot read it is a finding saying so, and the report (and its JSON) is still
  printed (exit 1). ``--fix`` changes nothing in a database that fails its integrity check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..context import AppContext
from ..db import file as dbfile
from ..db import read, revisions
from ..domain import resolution
from ..domain.rows import legacy_suffix
from ..errors import DatabaseError, ProvctlError, SecretStoreError
from ..keystore import is_plaintext
from . import keys


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    items: list[str] = field(default_factory=list)
    hint: str | None = None  # what to do about a finding

    def to_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "items": self.items,
                "hint": self.hint}


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]
    fixed: list[str]
    not_fixed: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict:
        return {"healthy": self.healthy, "checks": [c.to_dict() for c in self.checks],
                "fixed": self.fixed, "not_fixed": self.not_fixed}


DB_CHECKS = ("secrets", "keyring journal", "lift undo keys", "legacy", "models")


def _schema(ctx: AppContext) -> Check:
    try:
        ctx.ensure_schema()  # like every command: create or upgrade on first use
        current = dbfile.stamped_revision(ctx.db_path)
    except DatabaseError as exc:
        return Check("schema", False, exc.message, hint=exc.hint)
    return Check("schema", current == revisions.HEAD, f"revision {current}, head {revisions.HEAD}")


def _integrity(ctx: AppContext) -> Check:
    try:
        conn = dbfile.connect_readonly(ctx.db_path)
        try:
            rows = read.integrity_check(conn.execute)
        finally:
            conn.close()
    except Exception as exc:  # a file too damaged to check (sqlite3's error), or unreadable
        if isinstance(exc, DatabaseError):
            error = exc
        elif dbfile.sqlite_error(exc) is not None:
            error = dbfile.database_error(ctx.db_path, exc)
        else:
            raise
        return Check("integrity", False, f"PRAGMA integrity_check could not run: {error.message}",
                     hint=error.hint)
    if rows == ["ok"]:
        return Check("integrity", True, "PRAGMA integrity_check: ok")
    lines = [line for row in rows for line in row.splitlines() if not line.startswith("*** in database")]
    return Check("integrity", False, f"PRAGMA integrity_check found {len(lines)} problem(s)",
                 lines[:20], hint=dbfile.DAMAGED_HINT)


def _keyring(ctx: AppContext) -> tuple[Check, str | None]:
    """The backend check, and why the keyring cannot be read (None when it can)."""
    try:
        name = ctx.keystore().check()
    except SecretStoreError as exc:
        return Check("keyring", False, exc.message, hint=exc.hint), exc.message
    backend = getattr(ctx.keystore(), "_backend", None)
    plain = backend is not None and is_plaintext(backend)
    return Check("keyring", True, f"{name}" + (" (plaintext: secrets are stored unencrypted)" if plain else "")), None


def _reader(ctx: AppContext, unreadable: str | None) -> Callable[[str], str | None]:
    """``keyring_get`` for doctor: each secret read once; after one failure (or with no
    usable backend) every read fails the same way at once, rather than waiting out the
    deadline again per connection. `resolve` would meet the same keyring."""
    cache: dict[str, str | None] = {}
    failure: list[SecretStoreError] = [SecretStoreError(unreadable)] if unreadable else []

    def get(connection_id: str) -> str | None:
        if failure:
            raise failure[0]
        if connection_id not in cache:
            try:
                cache[connection_id] = ctx.keystore().get(connection_id)
            except SecretStoreError as exc:
                failure.append(exc)
                raise
            except OSError as exc:  # the keyring lock file beside the database
                failure.append(SecretStoreError(exc.strerror or type(exc).__name__))
                raise failure[-1] from None
        return cache[connection_id]

    return get


def name(row) -> str:
    """A connection in a finding: `PROVIDER/AUTH_TYPE/LABEL`, ` (agent NAME)` if legacy."""
    return row.ref + legacy_suffix(row.agent_name if row.agent_id else None)


def _not_checked(name: str, exc: ProvctlError) -> Check:
    return Check(name, False, f"not checked: {exc.message}", hint=exc.hint)


def _checks(ctx: AppContext, keyring_get, unreadable: str | None) -> list[Check]:
    """The checks that read the database (and the keyring), in report order."""
    with ctx.reading() as execute:
        uid = read.user_id(execute, ctx.user_key)
        rows = read.connections(execute, uid) if uid else []
        undo_keys = read.lift_undo_key_ids(execute)
        journal = keys.pending(execute)
        models = read.models(execute, uid) if uid else []
        lists = read.attached_by_model(execute, uid) if uid else {}

    checks: list[Check] = []
    stored = [r for r in rows if r.key_stored]
    missing, unread = [], []
    for row in stored:
        try:
            if not (keyring_get(row.id) or "").strip():
                missing.append(row)
        except (SecretStoreError, OSError):
            unread.append(row)
    if unread:
        checks.append(Check(
            "secrets", False,
            f"the keyring could not be read: {len(unread)} stored key(s) not checked"
            + (f", {len(missing)} missing" if missing else ""),
            [name(r) for r in missing + unread], hint="make the keyring readable (see the keyring check)"))
    else:
        checks.append(Check("secrets", not missing,
                            f"{len(missing)} connection(s) whose key is missing from the keyring"
                            if missing else "every stored key is in the keyring",
                            [name(r) for r in missing],
                            hint="`provctl doctor --fix` forgets them; then give each a key with "
                            "`provctl providers set-key`" if missing else None))
    checks.append(Check(
        "keyring journal", not journal,
        f"{len(journal)} keyring write(s) or delete(s) did not finish" if journal
        else "every keyring write and delete finished",
        [p.summary for p in journal],
        hint="`provctl doctor --fix` deletes secrets no connection claims and completes interrupted "
        "key changes" if journal else None))
    checks.append(Check("lift undo keys", True,
                        f"{len(undo_keys)} keyring entr{'y' if len(undo_keys) == 1 else 'ies'} kept only "
                        "for a lift's --undo", undo_keys))
    legacy = [r for r in rows if r.agent_id]
    checks.append(Check("legacy", not legacy,
                        f"{len(legacy)} legacy connection(s) awaiting `provctl migrate-lift`" if legacy
                        else "no legacy connections", [r.ref + legacy_suffix(r.agent_name) for r in legacy],
                        hint="`provctl migrate-lift --dry-run` shows what a lift would do" if legacy else None))

    # THE resolve walk, as `resolve MODEL` (without --probe) would run it now
    unusable: list[str] = []
    for m in models:
        if not m.enabled:
            continue
        walk = resolution.resolve(m, lists.get(m.id, []), now=ctx.now(), environ=ctx.environ,
                                  keyring_get=keyring_get)
        if walk.selected is None:
            unusable.append(_model_finding(m.name, walk))
    checks.append(Check("models", not unusable,
                        f"{len(unusable)} enabled model(s) with no usable connection" if unusable
                        else "every enabled model has a usable connection", unusable,
                        hint="`provctl resolve MODEL` shows why each connection is skipped"
                        if unusable else None))
    return checks


def _model_finding(name: str, walk: resolution.Resolution) -> str:
    if walk.reason == resolution.NO_CONNECTIONS:
        return f"{name}: no connection attached"
    skipped = [c for c in walk.candidates if c.outcome == resolution.SKIPPED]
    reasons = []
    for c in skipped:
        detail = f" ({c.detail})" if c.reason == "no_key" and c.detail else ""
        reasons.append(f"{c.ref} {c.reason}{detail}")
    return f"{name}: " + "; ".join(reasons)


def run(ctx: AppContext, *, fix: bool = False) -> DoctorReport:
    checks = [_schema(ctx), _integrity(ctx)]
    keyring_check, unreadable = _keyring(ctx)
    checks.append(keyring_check)
    keyring_get = _reader(ctx, unreadable)
    try:
        checks.extend(_checks(ctx, keyring_get, unreadable))
    except DatabaseError as exc:  # too damaged (or locked) to read
        checks.extend(_not_checked(name, exc) for name in DB_CHECKS)
    report = DoctorReport(checks, [])
    if not fix:
        return report
    by_name = {c.name: c for c in checks}
    if not by_name["integrity"].ok or not by_name["schema"].ok:
        return DoctorReport(checks, [], ["nothing was changed: the database failed its checks; "
                                         "restore it from a provctl.db.bak-* copy first"])
    fixed, not_fixed = _fix(ctx, by_name)
    if not fixed and not not_fixed:
        return report
    after = run(ctx)  # the findings after the fix
    return DoctorReport(after.checks, fixed, not_fixed)


def _fix(ctx: AppContext, by_name: dict[str, Check]) -> tuple[list[str], list[str]]:
    fixed: list[str] = []
    not_fixed: list[str] = []
    if not by_name["keyring journal"].ok:
        done, failed = keys.settle(ctx)
        fixed.extend(done)
        not_fixed.extend(failed)
    secrets = by_name["secrets"]
    if not secrets.ok and not secrets.detail.startswith("the keyring could not be read"):
        from ..db import write

        gone: list[str] = []
        try:
            with ctx.uow() as uow:
                # the keys read as missing again, inside the write transaction
                uid = read.user_id(uow.execute, ctx.user_key)
                rows = read.connections(uow.execute, uid) if uid else []
                store = ctx.keystore()
                gone = [r.id for r in rows if r.key_stored and not (store.get(r.id) or "").strip()]
                write.forget_keys(uow, gone)
                uow.commit()
        except SecretStoreError as exc:
            not_fixed.append(f"missing keys: {exc.message}")
            gone = []
        if gone:
            fixed.append(f"forgot the missing keys of {len(gone)} connection(s); give them a key with "
                         "`provctl providers set-key`")
    return fixed, not_fixed
