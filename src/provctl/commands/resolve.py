"""`provctl resolve`: the first usable connection of a model's priority list.

The console script usually serves this command without Typer (``entry.py``'s fast path);
both paths call ``services.resolution.resolve`` and ``output.resolve.render``, so they print
the same thing.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import TimeoutOpt


def resolve(
    ctx: typer.Context,
    model: Annotated[Optional[str], typer.Argument(metavar="[MODEL]", help="Model name (default: the user's default model).", show_default=False)] = None,
    agent: Annotated[Optional[str], typer.Option("--agent", metavar="NAME", help="The agent asking: unknown is exit 3; a listed agent skips what is not granted to it (agent_denied).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    format_: Annotated[Optional[str], typer.Option("--format", metavar="text|json|env|key", help="text (default): the connection and its base URL; json: the whole decision; env: unset/export lines for eval; key: the key alone (an empty line for a local connection).", show_default=False)] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Also print the key (text: its own line; json: selected.api_key).")] = False,
    probe: Annotated[bool, typer.Option("--probe", help="Also ask each candidate's endpoint; skip it with probe_failed if it fails.")] = False,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """Select the first usable connection of MODEL's priority list (exit 5 if none).

    Skipped candidates are reported with their reason (legacy, agent_denied, disabled,
    family_mismatch, no_key, key_missing, keyring_unavailable, expired, probe_failed).

    With --format env, exit 5 prints nothing on stdout, but `eval "$(…)"` cannot see that exit
    code: assign first (out=$(…) && eval "$out"), or run the program with `provctl exec`.

    \b
    Examples:
      provctl resolve gpt-4o
      provctl resolve gpt-4o --json
      provctl resolve gpt-4o --agent support-bot
      out=$(provctl resolve gpt-4o --format env) && eval "$out"
      provctl resolve claude --format key
      provctl resolve --probe --timeout 5
    """
    from ..output import resolve as view
    from ..services import resolution

    form = view.resolve_format(format_, json_)
    probe_fn = None
    if probe:
        try:
            from ..services.discovery import probe as probe_fn
        except ImportError:
            from ..errors import UsageError

            raise UsageError("--probe is not available in this build (no provider discovery)") from None
    res = resolution.resolve(ctx.obj, model, agent=agent, probe=probe_fn, timeout=timeout)
    code = view.render(res, form, reveal=reveal)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("resolve")(resolve)
