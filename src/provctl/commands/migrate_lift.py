"""`provctl migrate-lift`: lift legacy connections to user level; report first, undo exactly."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import output
from ..errors import Conflict, UsageError
from ..output import lift as report_view
from ..output.progress import progress_bar


def migrate_lift(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the report; change nothing.")] = False,
    format_: Annotated[Optional[str], typer.Option("--format", metavar="table|json|markdown", help="Report format (default: table).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output_file: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of stdout.")] = None,
    all_users: Annotated[bool, typer.Option("--all-users", help="Lift the legacy connections of every user, not only the current one.")] = False,
    merge_identical: Annotated[bool, typer.Option("--merge-identical", help="Merge legacy rows with the same provider, auth type, base URL and key into one connection.")] = False,
    check: Annotated[bool, typer.Option("--check", help="CI gate: a dry run that exits 4 when anything would be lifted.")] = False,
    undo: Annotated[Optional[str], typer.Option("--undo", metavar="RUN_ID", help="Revert a lift run exactly (merged rows and moved attachments included).")] = None,
) -> None:
    """Lift legacy (agent-scoped) connections to user level.

    Colliding labels are renamed by fixed rules (Default -> the agent's name, L -> "L - AGENT",
    then " (2)", " (3)", ...); nothing is deleted (except with --merge-identical, which --undo
    reverts). Without --dry-run the report is printed, a backup copy of the database is written
    (provctl.db.bak-lift-RUN_ID) and the lift is applied in one transaction.

    \b
    Examples:
      provctl migrate-lift --dry-run
      provctl migrate-lift --dry-run --format markdown --output lift-report.md
      provctl migrate-lift --dry-run --check --all-users     # CI: exit 4 while anything is pending
      provctl migrate-lift --all-users --merge-identical
      provctl migrate-lift --undo 3f2b1506
    """
    fmt = report_view.lift_format(format_, json_)
    if undo is not None:
        given = [name for name, on in (("--dry-run", dry_run), ("--check", check), ("--all-users", all_users),
                                       ("--merge-identical", merge_identical)) if on]
        if given:
            raise UsageError(f"--undo cannot be combined with {', '.join(given)}",
                             hint="an undo reverts the whole run it names, for every user it touched")
    from ..services import lift

    with output.destination(output_file) as write:
        if undo is not None:
            with progress_bar("Undoing the lift") as progress:
                result = lift.undo(ctx.obj, undo, progress=progress)
            write(report_view.render_undo(result, fmt))
            if output_file:
                output.note(f"Undid lift run {result.run_id}: {len(result.rows)} connection(s) "
                            f"restored; report written to {output_file}.")
            return
        with progress_bar("Lifting") as progress:
            report = lift.lift(ctx.obj, dry_run=dry_run or check, all_users=all_users,
                               merge_identical=merge_identical, progress=progress)
        try:
            write(report_view.render(report, fmt))  # a closed stdout (`| head -1`) ends it quietly
        finally:
            # the run id (for --undo) and the backup also go to stderr: whatever became of
            # stdout, the lift is committed and these are what its user needs
            if report.run_id or output_file:
                done = "would lift" if report.dry_run else "lifted"
                extra = (f" in run {report.run_id} (backup: {report.backup}; undo with "
                         f"`provctl migrate-lift --undo {report.run_id}`)" if report.run_id else "")
                written = f"; report written to {output_file}" if output_file else ""
                output.note(f"{done.capitalize()} {report.summary['lifted']} connection(s){extra}"
                            f"{written}.")
    if check and report.pending:
        raise Conflict(f"{report.summary['lifted']} legacy connection(s) await a lift",
                       hint="review the report, then run `provctl migrate-lift`")


def register(app: typer.Typer) -> None:
    app.command("migrate-lift")(migrate_lift)
