"""Helpers shared by services: users and agents inside a unit of work, reads, key writes."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from .. import labels, queries, timeutil
from ..context import AppContext
from ..errors import NotFound
from ..records import ConnectionRow


def new_id() -> str:
    return str(uuid.uuid4())


def read_user_id(ctx: AppContext, execute: queries.Execute) -> str | None:
    return queries.user_id(execute, ctx.user_key)


def ensure_user(ctx: AppContext, uow) -> str:
    """The current user's id, creating the user row on first write."""
    uid = queries.user_id(uow.execute, ctx.user_key)
    if uid is None:
        from ..db.models import User

        uid = new_id()
        uow.session.add(User(id=uid, name=ctx.user, name_key=ctx.user_key, created_at=timeutil.stamp()))
        uow.session.flush()
    return uid


def find_agent(uow_or_execute, uid: str, name: str):
    """(id, name, display_name) of the user's agent NAME (folded), or None."""
    execute = getattr(uow_or_execute, "execute", uow_or_execute)
    for row in execute(
        "SELECT id, name, display_name FROM agents WHERE user_id = ? AND name_key = ?",
        (uid, labels.fold(name.strip())),
    ):
        return row
    return None


def ensure_agent(uow, uid: str, name: str, display_name: str | None = None) -> str:
    clean = labels.clean(name, "agent name")
    found = find_agent(uow, uid, clean)
    if found:
        return found[0]
    from ..db.models import Agent

    aid = new_id()
    uow.session.add(
        Agent(
            id=aid, user_id=uid, name=clean, name_key=labels.fold(clean),
            display_name=display_name, created_at=timeutil.stamp(),
        )
    )
    uow.session.flush()
    return aid


def user_rows(ctx: AppContext, execute: queries.Execute) -> list[ConnectionRow]:
    uid = queries.user_id(execute, ctx.user_key)
    return queries.connections(execute, uid) if uid else []


@contextmanager
def reading(ctx: AppContext) -> Iterator[queries.Execute]:
    conn = ctx.reader()
    try:
        yield conn.execute
    finally:
        conn.close()


def no_user_connections(ref: str) -> NotFound:
    return NotFound(f"no connection matches {ref!r}", hint="see `provctl providers list`")
