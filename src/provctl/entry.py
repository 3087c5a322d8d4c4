"""Console-script entry point. Serves what it can without Typer — ``--version`` and the
``resolve`` and ``exec`` hot paths — and hands everything else to the Typer app, unchanged.

The fast path takes ``[--db PATH] [--user NAME] resolve [MODEL] [--agent NAME] [--json]
[--format F] [--reveal]`` and ``[--db PATH] [--user NAME] exec [MODEL] [--agent NAME]
[--mask | --no-mask] [--quiet] -- CMD [ARG ...]`` (``--opt=value`` forms too, each option at
most once; for exec everything after the first ``--`` is CMD, untouched). Anything else —
``--probe``, ``--timeout``, ``--help``, an unknown or repeated option, a ``--`` for resolve,
an exec without ``--``, a second positional, an option value that looks like an option — goes
to Typer, which then gives its own answer or usage error. Both paths build the context the same
way and call the same code (``services.resolution.resolve`` + ``output.resolve.render`` for
resolve, ``runner.run_exec`` for exec); errors go through ``output.errors.handle``. So for
every invocation served here, stdout, stderr and the exit code are those of the Typer app (a
test runs a matrix of invocations through both). Imports here: the standard library and
provctl's stdlib-only modules; for a key in the keyring, jeepney (the Secret Service
read straight over D-Bus) or ``keyring`` itself (``keystore``).

``[--db PATH] [--user NAME] providers show REF --json`` is served the same way
(``connections.show`` and ``output.emit_json``, as the Typer command calls them).
"""

from __future__ import annotations

import sys

_GLOBAL_VALUE = ("--db", "--user")
_COMMANDS = {
    # command: (options that take a value, flags); flags in one tuple are one option
    "resolve": (("--agent", "--format"), (("--json",), ("--reveal",))),
    "exec": (("--agent",), (("--mask", "--no-mask"), ("--quiet",))),
}


def _take(args: list[str], i: int, names: tuple[str, ...], into: dict) -> int | None:
    """Parse ``args[i]`` as ``--name value`` or ``--name=value`` for one of ``names``.
    Returns the next index, or None when it is not such an option (or is malformed)."""
    token = args[i]
    name, eq, value = token.partition("=")
    if name not in names or name in into:
        return None
    if eq:
        into[name] = value
        return i + 1
    if i + 1 >= len(args) or args[i + 1].startswith("-"):
        return None  # missing value, or one Click might read differently: let Typer decide
    into[name] = args[i + 1]
    return i + 2


def undecodable_argument(args: list[str]) -> str | None:
    """The message for the first argument (before ``--``) that is not valid UTF-8, or None.
    Python hands such bytes over as lone surrogates (``surrogateescape``); provctl refuses
    them with exit 2 before any command reads them. What follows ``--`` belongs to the
    command that ``exec`` runs, and passes untouched."""
    from .domain.text import is_utf8, preview

    for i, arg in enumerate(args):
        if arg == "--":
            return None
        if not is_utf8(arg):
            before = args[i - 1] if i else ""
            name, eq, value = arg.partition("=")
            if arg.startswith("--") and eq and is_utf8(name):  # --label=VALUE
                return f"the value of {name} is not valid UTF-8: {preview(value)}"
            if before.startswith("--") and "=" not in before:  # --label VALUE (most likely)
                return f"the argument after {before} is not valid UTF-8: {preview(arg)}"
            return f"argument {i + 1} is not valid UTF-8: {preview(arg)}"
    return None


def parse_fast(args: list[str]) -> dict | None:
    """The options of a resolve or exec invocation the fast path serves, else None."""
    opts: dict = {}
    if undecodable_argument(args) is not None:
        return None  # the Typer app refuses it, with the same words as for every command
    i = 0
    while i < len(args) and args[i] not in _COMMANDS:
        nxt = _take(args, i, _GLOBAL_VALUE, opts)
        if nxt is None:
            return None
        i = nxt
    if i >= len(args):
        return None
    command = args[i]
    values, flags = _COMMANDS[command]
    opts["command"] = command
    i += 1
    end = len(args)
    if command == "exec":
        if "--" not in args[i:]:
            return None  # Typer says what is missing
        end = args.index("--", i)
        opts["cmd"] = args[end + 1:]
    positional: list[str] = []
    while i < end:
        token = args[i]
        flag = next((group for group in flags if token in group), None)
        if flag is not None:
            if flag[0] in opts:
                return None
            opts[flag[0]] = token
            i += 1
        elif token.startswith("-"):
            nxt = _take(args[:end], i, values, opts)
            if nxt is None:
                return None
            i = nxt
        else:
            positional.append(token)
            i += 1
    if len(positional) > 1:
        return None
    opts["model"] = positional[0] if positional else None
    return opts


def _served(run):
    """``serve(opts)``: ``run(ctx, opts)`` with the context the Typer root callback would
    build, errors turned into Error:/Hint: and an exit code as the Typer app turns them."""

    def serve(opts: dict) -> int:
        from .output.errors import debug, handle

        try:
            from .context import from_options

            return run(from_options(opts.get("--db"), opts.get("--user")), opts)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if debug():
                raise
            return handle(exc)

    return serve


@_served
def serve_fast(ctx, opts: dict) -> int:
    """Run ``resolve`` or ``exec`` without Typer; returns the exit code."""
    if opts["command"] == "exec":
        from .runner import run_exec

        mask = opts.get("--mask")
        return run_exec(ctx, opts["model"], opts["cmd"], agent=opts.get("--agent"),
                        mask=None if mask is None else mask == "--mask", quiet="--quiet" in opts)
    from .output import resolve as view
    from .services import resolution

    form = view.resolve_format(opts.get("--format"), "--json" in opts)
    res = resolution.resolve(ctx, opts["model"], agent=opts.get("--agent"))
    return view.render(res, form, reveal="--reveal" in opts)


def parse_show(args: list[str]) -> dict | None:
    """``[--db PATH] [--user NAME] providers show REF --json`` (REF and ``--json`` in either
    order): the options of a ``providers show`` the fast path serves, else None. The text
    form renders a Rich table, so it stays with Typer."""
    opts: dict = {}
    if undecodable_argument(args) is not None:
        return None  # the Typer app refuses it, with the same words as for every command
    i = 0
    while i < len(args) and args[i] != "providers":
        nxt = _take(args, i, _GLOBAL_VALUE, opts)
        if nxt is None:
            return None
        i = nxt
    rest = args[i + 2:]
    if args[i:i + 2] != ["providers", "show"] or len(rest) != 2 or "--json" not in rest:
        return None
    ref = rest[1] if rest[0] == "--json" else rest[0]
    if ref.startswith("-"):
        return None
    opts["ref"] = ref
    return opts


@_served
def serve_show(ctx, opts: dict) -> int:
    """Run ``providers show REF --json`` without Typer; returns the exit code."""
    from .output import emit_json
    from .services import connections

    emit_json(connections.show(ctx, opts["ref"]))
    return 0


def _exit_now(code: int) -> None:
    """Flush and end the process without the interpreter's teardown.

    Finalizing what a keyring read imports (keyring, jeepney, cryptography: some 300
    modules) takes ~50 ms, a quarter of a keyring resolve, and there is nothing left to do:
    the output is written, the database connection is closed, no file is open for writing.
    """
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from . import __version__

        print(f"provctl {__version__}")
        return
    if args[:1] in (["__complete"], ["completion"]):  # shell completion: every TAB lands here
        from .completion import engine

        if engine.serves(args):
            engine.main(args)
            sys.stdout.flush()
            return
    opts = parse_fast(args)
    show = parse_show(args) if opts is None else None
    if opts is not None or show is not None:
        code = serve_fast(opts) if opts is not None else serve_show(show)
        if argv is None:  # the process itself (console script, python -m provctl)
            _exit_now(code)
        sys.stdout.flush()
        if code:
            raise SystemExit(code)
        return
    from .cli import main as typer_main

    if argv is not None:
        sys.argv[1:] = args
    typer_main()
