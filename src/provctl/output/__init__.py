"""Everything that reaches stdout/stderr: the JSON emitter (the only serializer), Rich tables,
stderr notes, the Error:/Hint: lines, and the choice of a report format. Rich is imported
only when a table is drawn. Submodules render one kind of result each: ``resolve`` (resolve
lines), ``lift`` (lift reports), ``errors`` (exceptions → exit codes), ``progress`` (bars)."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Sequence


def _plain(data: Any) -> Any:
    if hasattr(data, "to_dict"):
        return data.to_dict()
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def choose_format(fmt: str | None, json_: bool, formats: Sequence[str], *, default: str) -> str:
    """``--format F`` checked against ``formats``; ``--json`` means ``--format json``."""
    from ..errors import UsageError

    if fmt is not None and fmt not in formats:
        raise UsageError(f"unknown format {fmt!r}", hint="use one of: " + ", ".join(formats))
    if json_:
        if fmt not in (None, "json"):
            raise UsageError(f"--json contradicts --format {fmt}", hint="--json means --format json")
        return "json"
    return fmt or default


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def done(data: Any, json_: bool, message: str) -> None:
    """A command's result: the JSON document on stdout with --json, else a note for people."""
    if json_:
        emit_json(data)
    else:
        note(message)


def listing(items: Sequence[Any], json_: bool, columns: Sequence[str], cells, *, empty: str) -> None:
    """A list command's result: a JSON array, or a table of ``cells(item)`` rows."""
    if json_:
        emit_json(items)
    else:
        table(columns, [cells(item) for item in items], empty=empty)


def line(text: str) -> None:
    """One line of data on stdout, as is (a revealed key: never through Rich)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A message for people: stderr, so stdout stays data."""
    print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def leftovers(items: Sequence[Any]) -> None:
    """Keyring entries a command could not delete although its change is done: one
    ``Warning:`` each, naming the connection and `provctl doctor --fix` (the command then
    exits 6: the secret store refused the operation, SPEC §2)."""
    for item in items:
        warn(item.message)


def error(message: str, hint: str | None = None) -> None:
    print(f"Error: {message}", file=sys.stderr)
    if hint:
        print(f"Hint: {hint}", file=sys.stderr)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str | None = None) -> None:
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    if not rows and empty:
        note(empty)
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal and len(rows) > PLAIN_ABOVE:
        _plain_table(columns, rows)
        return
    from rich.table import Table

    out = Table(box=None, header_style="bold", pad_edge=False)
    for col in columns:
        out.add_column(col, no_wrap=True)
    for row in rows:
        out.add_row(*row)
    if not console.is_terminal:  # a pipe or file: full lines, never folded at 80 columns
        console = Console(width=4096)
    console.print(out)


# A pipe or file gets a table of more rows than this without Rich's layout pass (10,000 rows:
# ~8 s in Rich, ~0.1 s here): the same text, column by column, as Rich prints it there.
PLAIN_ABOVE = 1000


def _plain_table(columns: Sequence[str], rows: list[list[str]]) -> None:
    """What ``rich.table.Table(box=None, pad_edge=False)`` prints at width 4096 for cells of
    plain text: columns two cells apart, every line padded to the table's width (cell widths
    as Rich counts them). Cells are data: nothing is read as markup."""
    from rich.cells import cell_len

    header = list(columns)
    widths = [max(cell_len(h), max((cell_len(r[i]) for r in rows), default=0))
              for i, h in enumerate(header)]
    out = sys.stdout
    batch: list[str] = []
    for row in (header, *rows):
        batch.append("  ".join(cell + " " * (width - cell_len(cell))
                               for cell, width in zip(row, widths)))
        if len(batch) == 5000:
            out.write("\n".join(batch) + "\n")
            batch = []
    if batch:
        out.write("\n".join(batch) + "\n")
    out.flush()


def short_id(value: str) -> str:
    return value[:8]


def when(stamp: str) -> str:
    """A stored timestamp as a table shows it: `YYYY-MM-DD HH:MM:SS` (UTC)."""
    return stamp[:19].replace("T", " ")


@contextmanager
def destination(path: str | None) -> Iterator:
    """``write(chunks)`` to stdout, or to FILE (``--output``) — checked before anything happens,
    so a bad path never follows a lift; a FILE this creates is removed again if the block fails.
    Text is written chunk by chunk (a 100,000-row report stays cheap)."""
    from ..errors import UsageError

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
