"""`provctl doctor`: health checks (exit 0 healthy, 1 otherwise)."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import output
from ._common import JsonOpt


def doctor(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option(
        "--fix", help="Finish or undo interrupted keyring writes and deletes, and forget keys the keyring no longer has.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the schema, the database file, the keyring, missing keys, unfinished keyring
    writes, legacy rows and models (a model is fine exactly when `resolve` would select a
    connection for it now).

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
        output.table(["CHECK", "OK", "DETAIL"],
                     [[c.name, output.status("ok" if c.ok else "FAIL"), c.detail] for c in report.checks])
        for check in report.checks:
            for item in check.items if not check.ok else []:
                output.note(f"  {check.name}: {item}")
        hints = dict.fromkeys(c.hint for c in report.checks if not c.ok and c.hint)
        for hint in hints:  # once each: a damaged file gives every check the same one
            output.note(f"Hint: {hint}")
        for line in report.fixed:
            output.note(f"Fixed: {line}")
        for line in report.not_fixed:
            output.warn(f"not fixed: {line}")
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
