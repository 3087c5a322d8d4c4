"""Console-script entry point. Serves what it can without Typer — ``--version`` and the
``resolve`` hot path — and hands everything else to the Typer app, unchanged.

The fast path takes ``[--db PATH] [--user NAME] resolve [MODEL] [--agent NAME] [--json]
[--format F] [--reveal]`` (``--opt=value`` forms too, each option at most once). Anything
else — ``--probe``, ``--timeout``, ``--help``, an unknown or repeated option, ``--``, a
second positional, an option value that looks like an option — goes to Typer, which then
gives its own answer or usage error. Both paths build the context the same way, call
``services.resolution.resolve`` and render with ``output.resolve``; errors go through
``output.errors.handle``. So for every
invocation served here, stdout, stderr and the exit code are those of the Typer app
(a test runs a matrix of invocations through both). Imports here: the standard library
and provctl's stdlib-only modules; ``keyring`` only when the selected key is in it.
"""

from __future__ import annotations

import sys

_GLOBAL_VALUE = ("--db", "--user")
_RESOLVE_VALUE = ("--agent", "--format")
_RESOLVE_FLAGS = ("--json", "--reveal")


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
    """The options of a resolve invocation the fast path serves, else None."""
    opts: dict = {}
    if undecodable_argument(args) is not None:
        return None  # the Typer app refuses it, with the same words as for every command
    i = 0
    while i < len(args) and args[i] != "resolve":
        nxt = _take(args, i, _GLOBAL_VALUE, opts)
        if nxt is None:
            return None
        i = nxt
    if i >= len(args):
        return None
    i += 1
    positional: list[str] = []
    while i < len(args):
        token = args[i]
        if token in _RESOLVE_FLAGS:
            if token in opts:
                return None
            opts[token] = True
            i += 1
        elif token.startswith("-"):
            nxt = _take(args, i, _RESOLVE_VALUE, opts)
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


def serve_resolve(opts: dict) -> int:
    """Run ``resolve`` without Typer; returns the exit code."""
    from .output.errors import debug, handle

    try:
        from .context import from_options
        from .output import resolve as view
        from .services import resolution

        ctx = from_options(opts.get("--db"), opts.get("--user"))  # as the Typer root callback does
        form = view.resolve_format(opts.get("--format"), bool(opts.get("--json")))
        res = resolution.resolve(ctx, opts["model"], agent=opts.get("--agent"))
        return view.render(res, form, reveal=bool(opts.get("--reveal")))
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if debug():
            raise
        return handle(exc)


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
    opts = parse_fast(args)
    if opts is not None:
        code = serve_resolve(opts)
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
