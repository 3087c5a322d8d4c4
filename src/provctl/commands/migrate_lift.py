"""`provctl migrate-lift`: lift legacy connections to user level; report first, undo exactly."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Annotated, Iterator, Optional

import typer

from .. import output
from ..errors import Conflict, UsageError
from ._progress import progress_bar

FORMATS = ("table", "json", "markdown")
COLUMNS = ("USER", "AGENT", "PROVIDER", "AUTH TYPE", "OLD LABEL", "NEW LABEL", "ACTION", "MERGED INTO")
UNDO_COLUMNS = ("USER", "AGENT", "PROVIDER", "AUTH TYPE", "LIFTED LABEL", "RESTORED LABEL", "LIFT ACTION")


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
    fmt = _format(format_, json_)
    if undo is not None:
        given = [name for name, on in (("--dry-run", dry_run), ("--check", check), ("--all-users", all_users),
                                       ("--merge-identical", merge_identical)) if on]
        if given:
            raise UsageError(f"--undo cannot be combined with {', '.join(given)}",
                             hint="an undo reverts the whole run it names, for every user it touched")
    from ..services import lift

    with _destination(output_file) as write:
        if undo is not None:
            with progress_bar("Undoing the lift") as progress:
                result = lift.undo(ctx.obj, undo, progress=progress)
            write(_render_undo(result, fmt))
            if output_file:
                output.note(f"Undid lift run {result.run_id}: {len(result.rows)} connection(s) "
                            f"restored; report written to {output_file}.")
            return
        with progress_bar("Lifting") as progress:
            report = lift.lift(ctx.obj, dry_run=dry_run or check, all_users=all_users,
                               merge_identical=merge_identical, progress=progress)
        write(_render(report, fmt))
    if output_file:
        done = "would lift" if report.dry_run else "lifted"
        extra = f" in run {report.run_id} (backup: {report.backup})" if report.run_id else ""
        output.note(f"{done.capitalize()} {report.summary['lifted']} connection(s){extra}; "
                    f"report written to {output_file}.")
    if check and report.pending:
        raise Conflict(f"{report.summary['lifted']} legacy connection(s) await a lift",
                       hint="review the report, then run `provctl migrate-lift`")


def _format(format_: str | None, json_: bool) -> str:
    if format_ is not None and format_ not in FORMATS:
        raise UsageError(f"unknown format {format_!r}", hint="use one of: " + ", ".join(FORMATS))
    if json_:
        if format_ not in (None, "json"):
            raise UsageError(f"--json contradicts --format {format_}", hint="--json means --format json")
        return "json"
    return format_ or "table"


@contextmanager
def _destination(path: str | None) -> Iterator:
    """write(chunks) to stdout, or to FILE — checked before anything happens, so a bad path
    never follows a lift. Reports are written chunk by chunk (100,000 rows stay cheap)."""
    if path is None:
        def to_stdout(chunks) -> None:
            out = sys.stdout
            for chunk in chunks:
                out.write(chunk)
            out.flush()

        yield to_stdout
        return
    existed = os.path.exists(path)
    try:
        open(path, "a", encoding="utf-8").close()
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}",
                         hint="check the path and its permissions") from None
    ok = False

    def to_file(chunks) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for chunk in chunks:
                f.write(chunk)

    try:
        yield to_file
        ok = True
    finally:
        if not ok and not existed:
            try:
                os.unlink(path)
            except OSError:
                pass


# ---------------------------------------------------------------- rendering
# Every renderer yields chunks of text. A report can have 100,000 rows: no Rich layout pass,
# and the JSON rows go through the C encoder one line each.


def _columns(header: tuple[str, ...], rows: list[tuple]) -> Iterator[str]:
    """Aligned plain-text columns, like the Rich tables of other commands (no box)."""
    widths = [max(len(h), max(map(len, column), default=0)) for h, column in zip(header, zip(*rows))] \
        if rows else [len(h) for h in header]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    yield line.format(*header).rstrip() + "\n"
    batch: list[str] = []
    for row in rows:
        batch.append(line.format(*row).rstrip())
        if len(batch) == 5000:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


def _summary_line(summary: dict) -> str:
    return (f"Lifted {summary['lifted']}: {summary['relabelled']} relabelled, "
            f"{summary['merged']} merged, {summary['kept']} kept.")


def _cells(report) -> list[tuple]:
    return [(r.user, r.agent, r.provider, r.auth_type, r.old_label, r.new_label, r.action,
             r.merged_into[:8] if r.merged_into else "") for r in report.iter_rows()]


def _json_lines(head: dict, key: str, fields: tuple[str, ...], rows) -> Iterator[str]:
    """``head`` as indented JSON, its ``key`` holding ``rows`` (at least one tuple of strings
    or None, named by ``fields``), one compact object per line: the same document as
    ``json.dumps(..., indent=2)`` up to whitespace, at a fraction of the cost."""
    from json.encoder import encode_basestring as enc  # the C string encoder

    text = json.dumps({**head, key: [None]}, indent=2, ensure_ascii=False)
    before, after = text.split("    null\n", 1)
    names = [enc(f) + ": " for f in fields]
    yield before
    batch: list[str] = []
    separator = "    {"
    for row in rows:
        batch.append(separator + ", ".join(
            [n + ("null" if v is None else enc(v)) for n, v in zip(names, row)]) + "}")
        separator = ",\n    {"
        if len(batch) == 5000:
            yield "".join(batch)
            batch = []
    batch.append("\n")
    yield "".join(batch)
    yield after + "\n"


def _render(report, fmt: str) -> Iterator[str]:
    if fmt == "json":
        if not report.plan:
            yield json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
            return
        head = report.head()
        ordered = {"dry_run": head["dry_run"], "run_id": head["run_id"], "backup": head["backup"],
                   "rows": None, "summary": head["summary"]}
        from ..services.lift import ReportRow

        yield from _json_lines(ordered, "rows", ReportRow._fields, report.iter_rows())
        return
    if fmt == "markdown":
        yield from _markdown(report)
        return
    yield ("Lift report (dry run: nothing was changed)" if report.dry_run
           else "Lift report (applied)" if report.run_id else "Lift report") + "\n"
    if report.plan:
        yield from _columns(COLUMNS, _cells(report))
    else:
        yield "Nothing to lift: no legacy connections.\n"
    yield _summary_line(report.summary) + "\n"
    if report.run_id:
        yield f"Run: {report.run_id} (undo with `provctl migrate-lift --undo {report.run_id}`)\n"
        yield f"Backup: {report.backup}\n"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*_`<>[]#"})


def _md(text: str) -> str:
    return text.translate(_MD_SPECIAL)


def _md_table(header: tuple[str, ...], rows: list[tuple]) -> Iterator[str]:
    yield "| " + " | ".join(h.capitalize() for h in header) + " |\n"
    yield "|" + "---|" * len(header) + "\n"
    batch: list[str] = []
    for row in rows:
        batch.append("| " + " | ".join(_md(c) for c in row) + " |\n")
        if len(batch) == 5000:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


def _markdown(report) -> Iterator[str]:
    state = "dry run" if report.dry_run else "applied" if report.run_id else "nothing to lift"
    s = report.summary
    yield f"## provctl migrate-lift ({state})\n\n"
    yield (f"**{s['lifted']} legacy connection(s) lifted**: {s['relabelled']} relabelled, "
           f"{s['merged']} merged, {s['kept']} kept.\n\n")
    if report.run_id:
        yield (f"Run `{report.run_id}`; backup `{report.backup}`; undo with "
               f"`provctl migrate-lift --undo {report.run_id}`.\n\n")
    if report.plan:
        yield from _md_table(COLUMNS, _cells(report))
    else:
        yield "No legacy connections.\n"


def _render_undo(result, fmt: str) -> Iterator[str]:
    if fmt == "json":
        head = result.to_dict()
        rows = head["rows"]
        if not rows:
            yield json.dumps(head, indent=2, ensure_ascii=False) + "\n"
            return
        ordered = {"run_id": head["run_id"], "undone_at": head["undone_at"], "rows": None,
                   "models_restored": head["models_restored"], "summary": head["summary"]}
        from ..services.lift import UndoRow

        yield from _json_lines(ordered, "rows", UndoRow._fields, result.rows)
        return
    cells = [(r.user, r.agent, r.provider, r.auth_type, r.lifted_label, r.label, r.action) for r in result.rows]
    s = result.summary
    line = (f"Undid lift run {result.run_id}: {s['restored']} connection(s) restored "
            f"({s['merged_restored']} merged rows recreated, {s['models_restored']} priority lists put back).")
    if fmt == "markdown":
        yield f"## provctl migrate-lift --undo {result.run_id}\n\n{line}\n\n"
        yield from _md_table(UNDO_COLUMNS, cells)
        return
    yield from _columns(UNDO_COLUMNS, cells)
    yield line + "\n"


def register(app: typer.Typer) -> None:
    app.command("migrate-lift")(migrate_lift)
