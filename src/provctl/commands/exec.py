"""`provctl exec`: run a program with the credential of a model's first usable connection.

The console script usually serves this command without Typer (``entry.py``'s fast path); both
paths call ``runner.run_exec``, so they behave the same. Click would take the first word after
``--`` as MODEL when MODEL is left out, so :class:`ExecCommand` cuts the arguments at the first
``--`` before Click parses them: everything after it is CMD, untouched.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from typer.core import TyperCommand

from ._common import TimeoutOpt

_CMD = "provctl.exec.cmd"
USAGE = "provctl exec [MODEL] [OPTIONS] -- CMD [ARG ...]"


class ExecCommand(TyperCommand):
    def parse_args(self, ctx, args):  # noqa: ANN001
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_CMD] = args[cut + 1:]
            args = args[:cut]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx):  # noqa: ANN001
        return [*super().collect_usage_pieces(ctx), "-- CMD [ARG]..."]


def exec_(
    ctx: typer.Context,
    model: Annotated[Optional[str], typer.Argument(metavar="[MODEL]", help="Model name (default: the user's default model).", show_default=False)] = None,
    agent: Annotated[Optional[str], typer.Option("--agent", metavar="NAME", help="The agent asking (context only, as for resolve).")] = None,
    probe: Annotated[bool, typer.Option("--probe", help="Also ask each candidate's endpoint; skip it with probe_failed if it fails.")] = False,
    timeout: TimeoutOpt = 10.0,
    mask: Annotated[Optional[bool], typer.Option("--mask/--no-mask", help="--mask: pass CMD's stdout and stderr through provctl with the key replaced by <masked>; --no-mask: CMD replaces provctl (execve). Default: --mask unless stdout and stderr are both terminals.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No skip lines on stderr when a connection is selected.")] = False,
) -> None:
    """Run CMD with the key of MODEL's first usable connection in its environment.

    CMD gets the variables `resolve --format env` prints (OPENAI_API_KEY, ANTHROPIC_BASE_URL,
    PROVCTL_*, …) and loses the ones that would shadow them; the rest of the environment, stdin
    and CMD's arguments pass through untouched. Exit: CMD's own status (128+N after signal N);
    5 when nothing is usable (CMD is not started); 127 CMD not found; 126 not executable.
    SIGINT, SIGTERM and SIGHUP reach CMD.

    \b
    Examples:
      provctl exec gpt-4o -- python agent.py
      provctl exec claude --agent support-bot -- claude -p "summarise the log"
      provctl exec --probe fast -- pytest tests/integration
      provctl exec gpt-4o --mask -- ./deploy.sh
    """
    from ..runner import run_exec

    cmd = ctx.meta.get(_CMD)
    if ctx.args and cmd is not None:  # `exec MODEL EXTRA -- CMD`, `exec --bogus -- CMD`
        from ..errors import UsageError
        from ..output.resolve import printable

        extra = printable(ctx.args[0])
        raise UsageError(f"no such option: {extra}" if extra.startswith("-") else
                         f"unexpected argument before `--`: {extra!r}", hint=USAGE)
    probe_fn = None
    if probe:
        from ..services.discovery import probe as probe_fn
    code = run_exec(ctx.obj, model, cmd, agent=agent, probe=probe_fn,
                    timeout=timeout, mask=mask, quiet=quiet)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    # without `--`, CMD's words (`-c`, say) land in ctx.args instead of a Click usage error, so
    # run_exec can say what is missing
    app.command("exec", cls=ExecCommand,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(exec_)
