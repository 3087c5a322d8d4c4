"""`provctl doctor`: health checks (exit 0 healthy, 1 otherwise)."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import output
from ._common import JsonOpt


def doctor(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Forget keys the keyring no longer has.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the schema, the database file, the keyring, missing keys, legacy rows and models.

    \b
    Examples:
      provctl doctor
      provctl doctor --json
      provctl doctor --fix
    """
    from ..services import doctor as service

    report = service.run(ctx.obj, fix=fix)
    if json_:
        output.emit_json(report)
    else:
        output.table(["CHECK", "OK", "DETAIL"], [[c.name, "ok" if c.ok else "FAIL", c.detail] for c in report.checks])
        for check in report.checks:
            for item in check.items if not check.ok else []:
                output.note(f"  {check.name}: {item}")
        for line in report.fixed:
            output.note(f"Fixed: {line}")
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
