"""Rendering a resolution (SPEC §6 resolve, §9 exec): text, JSON, ``unset``/``export`` lines
for ``eval``, the key alone, and what ``exec`` says before it starts CMD.

Stdlib only: the fast path (``entry.py``) and the Typer commands both call :func:`render` /
:func:`render_exec`, so they print exactly the same thing.
"""

from __future__ import annotations

import sys
from typing import Callable

from ..domain.handoff import variables
from ..domain.resolution import MODEL_DISABLED, NO_CONNECTIONS, SKIPPED, Resolution
from . import choose_format, emit_json, error, shown

FORMATS = ("text", "json", "env", "key")


def resolve_format(fmt: str | None, json_: bool) -> str:
    return choose_format(fmt, json_, FORMATS, default="text")


def shell_quote(value: str) -> str:
    """POSIX single-quote quoting: safe for ``eval`` whatever the value holds."""
    return "'" + value.replace("'", "'\\''") + "'"


def env_lines(res: Resolution) -> list[str]:
    """For ``eval``: an ``unset NAME`` line for each variable that would shadow the selection,
    then ``export NAME='value'`` lines (SPEC §4 "What a program is handed")."""
    handed = variables(res)
    return ([f"unset {name}" for name in handed.unset]
            + [f"export {name}={shell_quote(value)}" for name, value in handed.exports])


def skip_lines(res: Resolution) -> list[str]:
    lines = []
    for c in res.candidates:
        if c.outcome == SKIPPED:
            lines.append(shown(f"Skipped {c.ref} (priority {c.priority}): {c.reason}"
                               + (f" — {c.detail}" if c.detail and c.detail != c.reason else "")))
    return lines


def failure(res: Resolution) -> tuple[str, str]:
    """The Error:/Hint: pair of an exit-5 resolution."""
    name = res.model
    if res.reason == MODEL_DISABLED:
        return (f"model {name} is disabled",
                f"enable it with `provctl model update {name} --enable`")
    if res.reason == NO_CONNECTIONS:
        return (f"model {name} has no connections attached",
                f"attach one with `provctl model attach {name} REF`")
    skipped = sum(1 for c in res.candidates if c.outcome == SKIPPED)
    as_agent = f" --agent {res.agent}" if res.agent is not None else ""
    return (f"no usable connection for model {name} ({skipped} skipped)",
            f"each skip has its reason; `provctl model show {name}{as_agent}` shows the status of "
            "every attached connection")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def render(res: Resolution, fmt: str, *, reveal: bool, out: Callable[[str], None] = print,
           err: Callable[[str], None] = _stderr) -> int:
    """Write ``res`` in ``fmt``; returns the exit code (0 selected, 5 nothing usable)."""
    if fmt == "json":
        emit_json(res.to_dict(reveal=reveal))
    else:
        for line in skip_lines(res):
            err(line)
        if res.selected is not None:
            if fmt == "env":
                for line in env_lines(res):
                    out(line)
            elif fmt == "key":  # the secret alone (an empty line for a local connection)
                out(res.selected.api_key or "")
            else:
                out(shown(res.selected.ref))  # data: escaped like every line for people
                out(shown(res.selected.base_url))
                if reveal and res.selected.api_key is not None:
                    out(res.selected.api_key)
    if res.selected is None:
        error(*failure(res))
    return res.exit_code


def render_exec(res: Resolution, *, quiet: bool, err: Callable[[str], None] = _stderr) -> int:
    """What ``exec`` prints before CMD starts (stderr only: stdout is CMD's): the skip lines
    unless ``quiet``; when nothing is usable, every reason and the Error:/Hint: pair, quiet or
    not. Returns the exit code (0: go on and start CMD, 5: do not)."""
    if res.selected is None or not quiet:
        for line in skip_lines(res):
            err(line)
    if res.selected is None:
        error(*failure(res))
    return res.exit_code


def printable(text: str) -> str:
    """``text`` with control and escape characters shown escaped (``\\x1b``), never sent to the
    terminal (SPEC §2)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)
