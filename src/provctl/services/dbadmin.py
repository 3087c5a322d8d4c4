"""`db status` / `db upgrade`."""

from __future__ import annotations

from dataclasses import dataclass

from .. import dbfile, schema
from ..context import AppContext


@dataclass(frozen=True)
class DbStatus:
    path: str
    current: str | None
    head: str
    up_to_date: bool
    backup: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "current": self.current, "head": self.head,
                "up_to_date": self.up_to_date, "backup": self.backup}


def status(ctx: AppContext) -> DbStatus:
    current = dbfile.stamped_revision(ctx.db_path)
    dbfile.check_known(ctx.db_path, current)
    return DbStatus(str(ctx.db_path), current, schema.HEAD, current == schema.HEAD)


def upgrade(ctx: AppContext) -> DbStatus:
    _from, to, backup = dbfile.upgrade(ctx.db_path, announce=False)
    return DbStatus(str(ctx.db_path), to, schema.HEAD, True, str(backup) if backup else None)
