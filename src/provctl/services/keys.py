"""Keyring writes and deletes around a database transaction (SPEC §5, §6 connect, remove):
THE one home of those rules and of the keyring journal, for connect, set-key, import, remove
and doctor.

Every secret is accounted for. Before the keyring is written, a journal entry (connection id
and operation, never the secret) is committed; the transaction that saves the rows deletes it,
so it commits with them. A keyring delete is journaled in the transaction that stops a row
claiming the key (the row deleted, or its key forgotten), and the entry goes once the keyring
entry is gone. So whatever is interrupted (kill -9, a keyring that fails or times out, a
database write that fails and whose keyring undo fails too) leaves an entry that `doctor`
reports and `doctor --fix` completes or undoes (:func:`settle`).

Keys go to the keyring first, then the rows; if the database write fails, the keyring writes
are undone (a previous secret put back, a new one removed), so nothing is half-written.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, NamedTuple, TypeVar

from ..domain import Progress
from ..domain.credentials import fingerprint, key_hint, key_sources, KEYRING
from ..domain.rows import ConnectionRow, legacy_suffix
from ..errors import Conflict, ProvctlError, SecretStoreError, add_warning

SET, DELETE = "set", "delete"
FIX_HINT = "run `provctl doctor --fix` to finish it"
T = TypeVar("T")


class Contended(Exception):
    """Another provctl process committed between the journal's commit and the keyring write:
    what the service decided may no longer hold, so it starts over (:func:`retrying`)."""


def retrying(service: Callable[..., T]) -> Callable[..., T]:
    """Run ``service`` again (a few times) when it meets :class:`Contended`."""

    @functools.wraps(service)
    def run(*args, **kwargs) -> T:
        for _attempt in range(5):
            try:
                return service(*args, **kwargs)
            except Contended:
                continue
        raise Conflict("other provctl processes kept changing the database meanwhile",
                       hint="try again")

    return run


def describe(row: ConnectionRow) -> str:
    """How a journal entry names its connection: `PROVIDER/AUTH_TYPE/LABEL` (agent NAME)."""
    return row.ref + legacy_suffix(row.agent_name if row.agent_id else None)


def _named(ref: str, connection_id: str) -> str:
    return f"{ref} [{connection_id[:8]}]"


# ---------------------------------------------------------------- writes


@contextmanager
def keys_written(ctx, uow, keys: Mapping[str, str], refs: Mapping[str, str], *,
                 previous: Mapping[str, str | None] | None = None,
                 progress: Progress | None = None) -> Iterator[None]:
    """Write ``keys`` (connection id → secret) to the keyring, then run the block (the
    database write, ending in ``uow.commit()``). ``refs``: connection id → :func:`describe`.

    The transaction so far must hold reads only: it commits the journal entries (and nothing
    else) before the first keyring write; if another process committed meanwhile,
    :class:`Contended` is raised (the caller decides again). The entries are deleted in the
    block's transaction. If writing or the block fails, the keyring writes are undone:
    ``previous`` secrets put back, the rest deleted; an undo that fails leaves its entry for
    `doctor` and adds a warning to the error."""
    if not keys:
        yield
        return
    from ..db import journal as journal_db

    store = ctx.keystore()
    ids = list(keys)
    journal_db.journal(uow, SET, {cid: refs[cid] for cid in ids}, ctx.stamp())
    if not uow.checkpoint():
        journal_db.unjournal(uow, ids)
        uow.commit()
        raise Contended()
    written: list[str] = []
    try:
        for done, (cid, key) in enumerate(keys.items(), start=1):
            store.set(cid, key)
            written.append(cid)
            if progress is not None:
                progress("keyring", done, len(keys))
        journal_db.unjournal(uow, ids)  # committed by the block, with the rows
        yield
    except BaseException as exc:
        _undo(ctx, uow, store, ids, written, previous or {}, refs, exc)
        raise


def _undo(ctx, uow, store, ids: list[str], written: list[str],
          previous: Mapping[str, str | None], refs: Mapping[str, str], exc: BaseException) -> None:
    """Put the keyring back as it was; clear the journal entries of what was undone."""
    from ..db import journal as journal_db

    try:
        uow.rollback()  # the block's writes and its journal clear
    except Exception:
        pass
    failed: list[str] = []
    for cid in written:
        try:
            if previous.get(cid) is not None:
                store.set(cid, previous[cid])
            else:
                store.delete(cid)
        except (SecretStoreError, OSError):
            failed.append(cid)
    try:
        journal_db.unjournal(uow, [cid for cid in ids if cid not in failed])
        uow.commit()
    except Exception:
        pass  # the database may be what failed: the entries stay, doctor reports them
    for cid in failed:
        what = "its previous key could not be put back" if previous.get(cid) is not None else \
            "the key just stored could not be removed again"
        add_warning(exc, f"{_named(refs[cid], cid)}: {what}; {FIX_HINT}")


# ---------------------------------------------------------------- deletes


def journal_deletes(ctx, uow, refs: Mapping[str, str]) -> None:
    """Record, in the caller's transaction, that the keyring entries of these connections
    (id → :func:`describe`) are to be deleted. After the commit, call :func:`forget`."""
    from ..db import journal as journal_db

    if refs:
        journal_db.journal(uow, DELETE, refs, ctx.stamp())


class Leftover(NamedTuple):
    """A keyring entry that should be gone but is not (its journal entry stays)."""

    connection_id: str
    ref: str
    reason: str

    @property
    def message(self) -> str:
        return (f"the keyring entry of {_named(self.ref, self.connection_id)} was not deleted "
                f"({self.reason}); {FIX_HINT}")

    def to_dict(self) -> dict:
        return {"id": self.connection_id, "connection": self.ref, "reason": self.reason}


def forget(ctx, refs: Mapping[str, str]) -> list[Leftover]:
    """Delete the keyring entries journaled by :func:`journal_deletes` (after that commit)
    and clear the entries of those that went. Returns the ones that could not be deleted."""
    if not refs:
        return []
    from ..db import journal as journal_db

    left: list[Leftover] = []
    gone: list[str] = []
    try:
        store = ctx.keystore()
        for cid in refs:
            try:
                store.delete(cid)
                gone.append(cid)
            except SecretStoreError as exc:
                left.append(Leftover(cid, refs[cid], exc.message))
            except OSError as exc:  # the keyring lock file beside the database
                left.append(Leftover(cid, refs[cid], exc.strerror or type(exc).__name__))
    except SecretStoreError as exc:  # no usable backend at all
        left.extend(Leftover(cid, refs[cid], exc.message) for cid in refs if cid not in gone)
    if gone:
        try:
            with ctx.uow() as uow:
                journal_db.unjournal(uow, gone)
                uow.commit()
        except (ProvctlError, OSError):
            pass  # the keyring entries are gone; doctor --fix clears what is left of the journal
    return left


# ---------------------------------------------------------------- doctor


class Pending(NamedTuple):
    """One journal entry: a keyring write or delete that did not finish."""

    connection_id: str
    operation: str
    ref: str
    started_at: str
    row: ConnectionRow | None  # the connection now, if it exists

    @property
    def summary(self) -> str:
        name = _named(self.ref, self.connection_id)
        if self.operation == DELETE:
            return (f"{name}: deleting its secret from the keyring did not finish "
                    f"(started {self.started_at}); the keyring may still hold it")
        if self.row is None:
            return (f"{name}: storing a key was interrupted before the connection was saved "
                    f"(started {self.started_at}); the keyring may hold a secret no connection claims")
        return (f"{name}: a key change was interrupted (started {self.started_at}); the keyring "
                "may hold another key than the one the database describes")


def pending(execute) -> list[Pending]:
    """Every unfinished journal entry, with its connection as it is now."""
    from ..db import read

    return [Pending(cid, op, ref, started, read.connection(execute, cid))
            for cid, op, ref, started in read.keyring_journal(execute)]


def settle(ctx) -> tuple[list[str], list[str]]:
    """`doctor --fix`: complete or undo every unfinished journal entry. Returns (what was
    done, what could not be done). Runs in one write transaction, so no provctl process is
    between its journal commit and its keyring write meanwhile.

    * ``set`` for a connection that was never saved: delete the secret (undo).
    * ``set`` for a connection that exists: the keyring holds the newer key (the old one is
      gone), so the database is made to describe it (complete): hint and fingerprint; a
      connection that no longer reads the keyring gets it deleted instead.
    * ``delete``: delete the secret (complete), unless a connection claims it again.
    A keyring entry kept for a lift's ``--undo`` is never deleted.
    """
    from ..db import journal as journal_db
    from ..db import read, write

    done: list[str] = []
    failed: list[str] = []
    with ctx.uow() as uow:
        entries = pending(uow.execute)
        if not entries:
            return done, failed
        kept_for_undo = set(read.lift_undo_key_ids(uow.execute))
        salt = read.salt(uow.execute)
        settled: list[str] = []
        unavailable: str | None = None  # after one keyring failure, the rest wait for next time
        for entry in entries:
            cid, row, name = entry.connection_id, entry.row, _named(entry.ref, entry.connection_id)
            if unavailable is not None:
                failed.append(f"{name}: {unavailable}")
                continue
            try:
                store = ctx.keystore()
                if row is not None and entry.operation == SET and KEYRING in key_sources(row):
                    secret = (store.get(cid) or "").strip()
                    fp = fingerprint(salt, secret) if secret else None
                    if fp is None:
                        done.append(f"{name}: the keyring holds no key for it; nothing to complete")
                    elif fp != row.key_fingerprint or not row.key_stored:
                        write.update_connection(uow, cid, key_stored=True, key_hint=key_hint(secret),
                                                key_fingerprint=fp, updated_at=ctx.stamp())
                        done.append(f"{name}: the database now describes the key in the keyring "
                                    "(the interrupted key change was completed)")
                    else:
                        done.append(f"{name}: the keyring and the database agree; nothing to change")
                elif row is not None and row.key_stored:
                    done.append(f"{name}: the connection claims its keyring entry; kept it")
                elif cid in kept_for_undo:
                    done.append(f"{name}: its keyring entry is kept for a lift's --undo")
                else:
                    store.delete(cid)
                    done.append(f"{name}: deleted its secret from the keyring"
                                + (" (the interrupted write was undone)" if entry.operation == SET else ""))
                settled.append(cid)
            except SecretStoreError as exc:
                unavailable = exc.message
                failed.append(f"{name}: {unavailable}")
            except OSError as exc:  # the keyring lock file beside the database
                unavailable = exc.strerror or type(exc).__name__
                failed.append(f"{name}: {unavailable}")
        journal_db.unjournal(uow, settled)
        uow.commit()
    return done, failed
