"""`db status` / `db upgrade`."""

from __future__ import annotations

from dataclasses import dataclass

from ..context import AppContext
from ..db import file as dbfile
from ..db import revisions
from .views import JsonFields


@dataclass(frozen=True)
class DbStatus(JsonFields):
    path: str
    current: str | None
    head: str
    up_to_date: bool
    backup: str | None = None

    JSON = ("path", "current", "head", "up_to_date", "backup")


def status(ctx: AppContext) -> DbStatus:
    current = dbfile.stamped_revision(ctx.db_path)
    dbfile.check_known(ctx.db_path, current)
    return DbStatus(str(ctx.db_path), current, revisions.HEAD, current == revisions.HEAD)


def upgrade(ctx: AppContext) -> DbStatus:
    _from, to, backup = dbfile.upgrade(ctx.db_path, announce=False)
    return DbStatus(str(ctx.db_path), to, revisions.HEAD, True, str(backup) if backup else None)
