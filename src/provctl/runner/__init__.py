"""`provctl exec` (SPEC §9): resolve MODEL as `resolve` does, then run CMD with the variables of
SPEC §4 "What a program is handed" in its environment and the shadowing ones removed.

:func:`run_exec` is the whole command, shared by the console script's fast path (``entry.py``)
and the Typer command (``commands/exec.py``), so both behave identically. The hot path: this
package imports only the standard library and provctl's stdlib-only modules (``subprocess``
only in ``--mask`` mode, httpx only through a ``probe`` the caller passes).

Order: a missing CMD is exit 2 before anything is read; then the walk (exit 3 unknown model,
exit 5 nothing usable, CMD never started); then the program lookup (127 / 126); then CMD.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

from ..errors import UsageError

USAGE_HINT = "provctl exec [MODEL] [OPTIONS] -- CMD [ARG ...]"


def default_mask() -> bool:
    """``--mask`` unless both stdout and stderr are terminals (CI logs are masked; an
    interactive tool such as a coding agent keeps its terminal)."""
    return not (os.isatty(1) and os.isatty(2))


def run_exec(ctx, model: str | None, cmd: Sequence[str] | None, *, agent: str | None = None,
             probe: Callable[..., Any] | None = None, timeout: float = 10.0,
             mask: bool | None = None, quiet: bool = False) -> int:
    """Run ``cmd`` with the credential of ``model``; returns the exit code (CMD's own status,
    128+N after signal N, or provctl's 5 / 126 / 127). With ``mask`` False it does not
    return: CMD replaces provctl. ``cmd`` None means there was no ``--``.
    Errors a user can cause are raised as ProvctlError for the caller's one error handler."""
    if cmd is None:
        raise UsageError("exec needs `--` before the command to run", hint=USAGE_HINT)
    if not cmd:
        raise UsageError("no command after `--`", hint=USAGE_HINT)
    from ..domain.handoff import variables
    from ..output import resolve as view
    from ..services import resolution
    from . import process

    res = resolution.resolve(ctx, model, agent=agent, probe=probe, timeout=timeout)
    code = view.render_exec(res, quiet=quiet)
    if code:
        return code
    handed = variables(res)
    env = handed.environ(ctx.environ)
    argv = list(cmd)
    path = process.find_command(argv[0], env.get("PATH"))
    if mask is None:
        mask = default_mask()
    if not mask:
        process.replace_process(path, argv, env)
    secret = os.fsencode(handed.secret) if handed.secret else None
    return process.run_masked(path, argv, env, secret)
