"""Keyring writes around a database transaction (SPEC §5, §6 connect): keys go to the keyring
first, then the rows; if the database write fails, the keyring writes are undone (a previous
secret put back, a new one removed), so nothing is half-written. THE one home of that rule,
for connect, set-key and import."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Mapping

from ..domain import Progress
from ..errors import SecretStoreError


@contextmanager
def keys_written(ctx, keys: Mapping[str, str], *, previous: Mapping[str, str | None] | None = None,
                 progress: Progress | None = None) -> Iterator[None]:
    """Write ``keys`` (connection id → secret) to the keyring, then run the block (the
    database write). If writing or the block fails, undo what was written: put ``previous``
    secrets back, delete the rest."""
    if not keys:
        yield
        return
    store = ctx.keystore()
    written: list[str] = []
    try:
        for done, (cid, key) in enumerate(keys.items(), start=1):
            store.set(cid, key)
            written.append(cid)
            if progress is not None:
                progress("keyring", done, len(keys))
        yield
    except BaseException:
        _undo(store, written, previous or {})
        raise


def _undo(store, written: list[str], previous: Mapping[str, str | None]) -> None:
    for cid in written:
        try:
            if previous.get(cid) is not None:
                store.set(cid, previous[cid])
            else:
                store.delete(cid)
        except SecretStoreError:
            pass  # the original error matters more; doctor reports orphans


def forget(ctx, connection_ids: Iterable[str]) -> None:
    """Delete keyring entries whose rows no longer claim them (best effort)."""
    store = ctx.keystore()
    for cid in connection_ids:
        try:
            store.delete(cid)
        except SecretStoreError:
            pass  # the row no longer claims a key; doctor reports the orphan
