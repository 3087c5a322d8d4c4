"""The keyring journal's statements (SPEC §5: every secret accounted for): one row per keyring
write or delete under way, never the secret itself. Standard library only, on the unit of
work's driver connection, so both units of work can use it (``UnitOfWork`` and import's
``DriverUnitOfWork``, which never imports SQLAlchemy). The rules are ``services.keys``."""

from __future__ import annotations

from typing import Iterable, Mapping


def journal(uow, operation: str, refs: Mapping[str, str], now: str) -> None:
    """Record keyring ``operation`` (``set`` or ``delete``) as under way for each connection id
    in ``refs`` (id → its reference then). One entry per connection: a newer operation
    replaces an older unfinished one (the newer intent is what a fix must complete)."""
    uow.driver().executemany(
        "INSERT INTO keyring_journal (connection_id, operation, connection_ref, started_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET "
        "operation = excluded.operation, connection_ref = excluded.connection_ref, "
        "started_at = excluded.started_at",
        [(cid, operation, ref, now) for cid, ref in refs.items()],
    )


def unjournal(uow, connection_ids: Iterable[str]) -> None:
    """The keyring and the database agree again for these connections: forget their entries."""
    uow.driver().executemany("DELETE FROM keyring_journal WHERE connection_id = ?",
                             [(cid,) for cid in connection_ids])
