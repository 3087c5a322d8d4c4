"""Rendering migrate-lift reports (SPEC §8): table, JSON and Markdown, for a lift and for an
undo. Every renderer yields chunks of text: a report can have 100,000 rows, so there is no
Rich layout pass, and the JSON rows go through the C encoder one line each."""

from __future__ import annotations

from typing import Iterator

from ..domain import memoized
from . import json_safe, json_text, shown  # names are data: control characters escaped

FORMATS = ("table", "json", "markdown")
COLUMNS = ("USER", "AGENT", "PROVIDER", "AUTH TYPE", "OLD LABEL", "NEW LABEL", "ACTION", "MERGED INTO")
UNDO_COLUMNS = ("USER", "AGENT", "PROVIDER", "AUTH TYPE", "LIFTED LABEL", "RESTORED LABEL", "LIFT ACTION")


def lift_format(fmt: str | None, json_: bool) -> str:
    from . import choose_format

    return choose_format(fmt, json_, FORMATS, default="table")




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


MERGEABLE_COLUMNS = ("USER", "AGENT", "PROVIDER", "AUTH TYPE", "LABEL", "WOULD MERGE INTO")


def _summary_line(report) -> str:
    s = report.summary
    if report.dry_run:  # a reviewer must not read a dry run as done
        return (f"Would lift {s['lifted']}: {s['relabelled']} would be relabelled, "
                f"{s['merged']} merged, {s['kept']} would keep their labels.")
    return f"Lifted {s['lifted']}: {s['relabelled']} relabelled, {s['merged']} merged, {s['kept']} kept."


def _action(report, action: str) -> str:
    return f"would {action}" if report.dry_run and action != "keep" else action


def _shown_memo():
    """``shown`` with a memo: a report's users, agents and labels repeat (100,000 rows)."""
    return memoized(shown)


def _cells(report) -> list[tuple]:
    see = _shown_memo()
    return [(see(r.user), see(r.agent), r.provider, r.auth_type, see(r.old_label),
             see(r.new_label), _action(report, r.action), r.merged_into[:8] if r.merged_into else "")
            for r in report.iter_rows()]


def _mergeable_intro(report) -> str:
    return (f"{len(report.mergeable)} legacy connection(s) hold the same key (provider, auth type and "
            "base URL) as another connection; `--merge-identical` would merge them:")


def _mergeable_cells(report) -> list[tuple]:
    see = _shown_memo()
    return [(see(r.user), see(r.agent), r.provider, r.auth_type, see(r.old_label),
             f"{see(r.new_label)} [{r.merged_into[:8]}]") for r in report.mergeable_rows()]


def _json_lines(head: dict, fields: tuple[str, ...], lists: dict) -> Iterator[str]:
    """``head`` as indented JSON in which each key of ``lists`` holds its rows (tuples of
    strings or None, named by ``fields``), one compact object per line: the same document as
    ``json.dumps(..., indent=2)`` up to whitespace, at a fraction of the cost (the rows go
    through the C string encoder, not the indenting Python one)."""
    from json.encoder import encode_basestring as enc  # the C string encoder

    text = json_text({**head, **{key: [None] for key in lists}}, indent=2)
    names = [enc(f) + ": " for f in fields]
    for rows in lists.values():
        before, text = text.split("    null\n", 1)
        yield before
        batch: list[str] = []
        separator = "    {"
        for row in rows:
            batch.append(separator + ", ".join(
                [n + ("null" if v is None else enc(v)) for n, v in zip(names, row)]) + "}")
            separator = ",\n    {"
            if len(batch) == 5000:
                yield json_safe("".join(batch))
                batch = []
        batch.append("\n")
        yield json_safe("".join(batch))
    yield text + "\n"


def render(report, fmt: str) -> Iterator[str]:
    if fmt == "json":
        if not report.plan:
            yield json_text(report.to_dict(), indent=2) + "\n"
            return
        ordered = {"dry_run": report.dry_run, "run_id": report.run_id, "backup": report.backup,
                   "rows": None, "summary": dict(report.summary), "mergeable": None}
        mergeable = report.mergeable_rows()
        if not mergeable:
            ordered["mergeable"] = []
        yield from _json_lines(ordered, report.ROW_FIELDS, {
            "rows": report.iter_rows(), **({"mergeable": mergeable} if mergeable else {})})
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
    yield _summary_line(report) + "\n"
    if report.mergeable:
        yield _mergeable_intro(report) + "\n"
        yield from _columns(MERGEABLE_COLUMNS, _mergeable_cells(report))
    if report.run_id:
        yield f"Run: {report.run_id} (undo with `provctl migrate-lift --undo {report.run_id}`)\n"
        yield f"Backup: {shown(report.backup)}\n"


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
    if report.dry_run:
        yield (f"**{s['lifted']} legacy connection(s) would be lifted** (nothing was changed): "
               f"{s['relabelled']} would be relabelled, {s['merged']} merged, {s['kept']} would keep "
               "their labels.\n\n")
    else:
        yield (f"**{s['lifted']} legacy connection(s) lifted**: {s['relabelled']} relabelled, "
               f"{s['merged']} merged, {s['kept']} kept.\n\n")
    if report.run_id:
        yield (f"Run `{report.run_id}`; backup `{shown(report.backup)}`; undo with "
               f"`provctl migrate-lift --undo {report.run_id}`.\n\n")
    if report.plan:
        yield from _md_table(COLUMNS, _cells(report))
    else:
        yield "No legacy connections.\n"
    if report.mergeable:
        yield f"\n### Would merge with `--merge-identical`\n\n{_mergeable_intro(report)}\n\n"
        yield from _md_table(MERGEABLE_COLUMNS, _mergeable_cells(report))


def render_undo(result, fmt: str) -> Iterator[str]:
    if fmt == "json":
        head = result.to_dict()
        rows = head["rows"]
        if not rows:
            yield json_text(head, indent=2) + "\n"
            return
        ordered = {"run_id": head["run_id"], "undone_at": head["undone_at"], "rows": None,
                   "models_restored": head["models_restored"], "summary": head["summary"]}
        yield from _json_lines(ordered, result.ROW_FIELDS, {"rows": result.rows})
        return
    see = _shown_memo()
    cells = [(see(r.user), see(r.agent), r.provider, r.auth_type, see(r.lifted_label),
              see(r.label), r.action) for r in result.rows]
    s = result.summary
    line = (f"Undid lift run {result.run_id}: {s['restored']} connection(s) restored "
            f"({s['merged_restored']} merged rows recreated, {s['models_restored']} priority lists put back).")
    if fmt == "markdown":
        yield f"## provctl migrate-lift --undo {result.run_id}\n\n{line}\n\n"
        yield from _md_table(UNDO_COLUMNS, cells)
        return
    yield from _columns(UNDO_COLUMNS, cells)
    yield line + "\n"
