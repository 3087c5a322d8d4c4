"""Rendering a resolution (SPEC §6 resolve): text, JSON or ``export`` lines for ``eval``.

Stdlib only: the resolve fast path (``entry.py``) and the Typer command both call
:func:`render`, so they print exactly the same thing.
"""

from __future__ import annotations

import sys
from typing import Callable

from ..domain.families import FAMILIES
from ..domain.resolution import MODEL_DISABLED, NO_CONNECTIONS, SKIPPED, Resolution
from . import choose_format, emit_json, error

FORMATS = ("text", "json", "env")


def resolve_format(fmt: str | None, json_: bool) -> str:
    return choose_format(fmt, json_, FORMATS, default="text")


def shell_quote(value: str) -> str:
    """POSIX single-quote quoting: safe for ``eval`` whatever the value holds."""
    return "'" + value.replace("'", "'\\''") + "'"


def env_lines(res: Resolution) -> list[str]:
    """``export NAME='value'`` lines: PROVCTL_* and the family's conventional variables."""
    sel = res.selected
    assert sel is not None
    key = sel.api_key or ""  # empty for a local connection
    pairs = [
        ("PROVCTL_PROVIDER", res.provider),
        ("PROVCTL_MODEL", res.upstream_model),
        ("PROVCTL_BASE_URL", sel.base_url),
        ("PROVCTL_CONNECTION", sel.ref),
        ("PROVCTL_API_KEY", key),
    ]
    fam = FAMILIES[res.provider]
    if fam.env_key_var:
        pairs.append((fam.env_key_var, key))
    if fam.env_base_url_var:
        pairs.append((fam.env_base_url_var, sel.base_url))
    return [f"export {name}={shell_quote(value)}" for name, value in pairs]


def skip_lines(res: Resolution) -> list[str]:
    lines = []
    for c in res.candidates:
        if c.outcome == SKIPPED:
            lines.append(f"Skipped {c.ref} (priority {c.priority}): {c.reason}"
                         + (f" — {c.detail}" if c.detail and c.detail != c.reason else ""))
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
            else:
                out(res.selected.ref)
                out(res.selected.base_url)
                if reveal and res.selected.api_key is not None:
                    out(res.selected.api_key)
    if res.selected is None:
        error(*failure(res))
    return res.exit_code
