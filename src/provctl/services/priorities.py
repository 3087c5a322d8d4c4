"""Priority lists are rewritten as a whole inside one transaction (delete, then insert), so
the unique (model, priority) and (model, connection) constraints hold at every commit."""

from __future__ import annotations


def ordered(uow, model_id: str) -> list[str]:
    """Connection ids attached to the model, by priority."""
    return [cid for (cid,) in uow.execute(
        "SELECT connection_id FROM attachments WHERE model_id = ? ORDER BY priority", (model_id,)
    )]


def rewrite(uow, model_id: str, connection_ids: list[str]) -> None:
    """Make ``connection_ids`` the model's complete list, priorities 1..n."""
    uow.run("DELETE FROM attachments WHERE model_id = ?", (model_id,))
    uow.executemany(
        "INSERT INTO attachments (model_id, connection_id, priority) VALUES (?, ?, ?)",
        [(model_id, cid, i) for i, cid in enumerate(connection_ids, start=1)],
    )


def detach_everywhere(uow, connection_id: str) -> list[str]:
    """Detach a connection from every model, closing the gaps. Returns the names of the
    models left with no connection."""
    empty = []
    models = list(uow.execute(
        "SELECT m.id, m.name FROM attachments t JOIN models m ON m.id = t.model_id "
        "WHERE t.connection_id = ? ORDER BY m.name_key", (connection_id,)
    ))
    for model_id, name in models:
        rest = [cid for cid in ordered(uow, model_id) if cid != connection_id]
        rewrite(uow, model_id, rest)
        if not rest:
            empty.append(name)
    return empty
