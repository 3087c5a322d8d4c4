"""The Typer application: global options, sub-app wiring, errors → exit codes in one place."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import click
import typer
from typer.core import TyperGroup, TyperOption

from . import __version__
from .entry import undecodable_argument
from .errors import EXIT_CODES
from .output.errors import debug as _debug
from .output.errors import handle


def _data_only(exc: click.ClickException) -> click.ClickException:
    """Click's own usage errors echo what was typed (``No such option: …``): shown escaped,
    like every supplied value (SPEC §2)."""
    from .output import shown

    if isinstance(getattr(exc, "message", None), str):
        exc.message = shown(exc.message)
    return exc


def _error_hint(self, ctx) -> str:  # noqa: ANN001
    """Click 8.2 names "(env var: 'None')" in every bad-value error of an option that shows an
    environment variable, even when it has none (Typer shows them by default): name the
    variable only when there is one."""
    hint = click.Parameter.get_error_hint(self, ctx)
    return hint + (f" (env var: '{self.envvar}')" if self.show_envvar and self.envvar else "")


TyperOption.get_error_hint = _error_hint


class ProvctlGroup(TyperGroup):
    def main(self, args=None, *rest, **kwargs):  # noqa: ANN001
        """Refuse non-UTF-8 arguments (exit 2) before anything reads them (SPEC §2)."""
        given = sys.argv[1:] if args is None else list(args)
        problem = undecodable_argument(given)
        if problem is not None:
            from .output import error

            error(problem, "provctl reads its arguments as UTF-8 text; convert the value "
                  "(e.g. with iconv -t UTF-8)")
            sys.exit(2)
        return super().main(given, *rest, **kwargs)

    def make_context(self, *args, **kwargs):  # noqa: ANN001
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:
            raise _data_only(exc) from None

    def invoke(self, ctx):  # noqa: ANN001
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except click.ClickException as exc:
            raise _data_only(exc)
        except Exception as exc:
            if _debug():
                raise
            if type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise
            code = handle(exc)
            raise typer.Exit(code) from None

    def list_commands(self, ctx):  # noqa: ANN001
        return list(self.commands)  # keep registration order in --help


app = typer.Typer(
    cls=ProvctlGroup,
    name="provctl",
    help="Administer LLM provider connections: metadata in SQLite, secrets in the OS keyring.\n\n"
    "\b\nExamples:\n"
    "  echo \"$KEY\" | provctl connect openai --label Work --key-stdin\n"
    "  provctl providers list --json\n"
    "  provctl model attach gpt-4o openai/Work --priority 1\n"
    "  provctl exec gpt-4o -- python agent.py\n"
    "  out=$(provctl resolve gpt-4o --format env) && eval \"$out\"\n\n"
    "\b\nExit codes:\n" + "\n".join(f"  {c}  {t}" for c, t in EXIT_CODES)
    + "\n  exec: otherwise CMD's own status (128+N after signal N); 127 CMD not found, 126 not runnable",
    epilog="Environment: PROVCTL_DB, PROVCTL_USER, PROVCTL_DEBUG=1 (show tracebacks), NO_COLOR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"provctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", metavar="PATH", help="Database file (env PROVCTL_DB; default <user data dir>/provctl/provctl.db).")] = None,
    user: Annotated[Optional[str], typer.Option("--user", metavar="NAME", help="Act as this user (env PROVCTL_USER; default: the login name).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Root options apply to every command and go before it."""
    if ctx.obj is None:
        from .context import from_options  # shared with the resolve fast path (entry.py)

        ctx.obj = from_options(db, user)
    else:  # a test injected a context; global options still apply
        ctx.obj.apply_options(db, user)


def _register() -> None:
    """Wire the command modules, in the order `provctl --help` lists them."""
    from .commands import agent, connect, db, doctor, import_export, migrate_lift, model, providers, resolve
    from .commands import exec as exec_command

    connect.register(app)
    app.add_typer(providers.app, name="providers")
    model.register(app)
    resolve.register(app)
    exec_command.register(app)
    migrate_lift.register(app)
    import_export.register(app)
    app.add_typer(agent.app, name="agent")
    app.add_typer(db.app, name="db")
    doctor.register(app)
    from .commands import completion

    completion.register(app)


_register()


def main() -> None:
    try:
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # errors raised outside a command (e.g. in the root callback)
        if _debug() or isinstance(exc, KeyboardInterrupt):
            raise
        sys.exit(handle(exc))
