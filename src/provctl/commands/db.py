"""`provctl db …`: schema status and upgrade."""

from __future__ import annotations

import typer

from .. import output
from ._common import JsonOpt

app = typer.Typer(help="Database schema status and upgrade.", no_args_is_help=True)


def _render(status, json_: bool) -> None:
    if json_:
        output.emit_json(status)
        return
    output.table(["FIELD", "VALUE"], [("database", status.path), ("current revision", status.current or "(empty)"),
                                      ("head revision", status.head), ("up to date", "yes" if status.up_to_date else "no")]
                 + ([("backup", status.backup)] if status.backup else []))


@app.command("status")
def db_status(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Show the database's schema revision and this provctl's head revision.

    \b
    Example:
      provctl db status --json
    """
    from ..services import dbadmin

    _render(dbadmin.status(ctx.obj), json_)


@app.command("upgrade")
def db_upgrade(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Upgrade the schema to head (a backup copy is written first for an existing database).

    \b
    Example:
      provctl db upgrade
    """
    from ..services import dbadmin

    _render(dbadmin.upgrade(ctx.obj), json_)
