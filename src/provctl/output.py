"""Everything that reaches stdout/stderr: the JSON emitter (the only serializer), Rich tables,
stderr notes, and the Error:/Hint: lines. Rich is imported only when a table is drawn."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence


def _plain(data: Any) -> Any:
    if hasattr(data, "to_dict"):
        return data.to_dict()
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A message for people: stderr, so stdout stays data."""
    print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


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
    from rich.table import Table

    out = Table(box=None, header_style="bold", pad_edge=False)
    for col in columns:
        out.add_column(col, no_wrap=True)
    for row in rows:
        out.add_row(*row)
    console = Console()
    if not console.is_terminal:  # a pipe or file: full lines, never folded at 80 columns
        console = Console(width=4096)
    console.print(out)


def short_id(value: str) -> str:
    return value[:8]
