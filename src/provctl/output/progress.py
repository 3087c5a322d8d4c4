"""A progress bar on stderr for long operations (lift, import), shown only when stderr is a
terminal; otherwise nothing is drawn and the callback costs one comparison.

Services take an optional ``progress(phase, done, total)`` callback; commands pass the one
this context manager yields. Rich is imported only when a bar is actually drawn.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from ..domain import Progress


@contextmanager
def progress_bar(title: str) -> Iterator[Optional[Progress]]:
    if sys.stderr is None or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

    bar = RichProgress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        task = tasks.get(phase)
        if task is None:
            task = tasks[phase] = bar.add_task(f"{title}: {phase}", total=max(total, 1))
        bar.update(task, completed=done, total=max(total, 1))

    with bar:
        yield update
