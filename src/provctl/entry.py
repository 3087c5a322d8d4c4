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
and provctl's stdlib-only modules; for a key in the keyring, jeepney (the Secret Service
read straight over D-Bus) or ``keyring`` itself (``keystore``).

``[--db PATH] [--user NAME] providers show REF --json`` is served the same way
(``connections.show`` and ``output.emit_json``, as the Typer command calls them).
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


def parse_fast(args: list[str]) -> dict | None:
    """The options of a resolve invocation the fast path serves, else None."""
    opts: dict = {}
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


def parse_show(args: list[str]) -> dict | None:
    """``[--db PATH] [--user NAME] providers show REF --json`` (REF and ``--json`` in either
    order): the options of a ``providers show`` the fast path serves, else None. The text
    form renders a Rich table, so it stays with Typer."""
    opts: dict = {}
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


def serve_show(opts: dict) -> int:
    """Run ``providers show REF --json`` without Typer; returns the exit code."""
    from .output.errors import debug, handle

    try:
        from .context import from_options
        from .output import emit_json
        from .services import connections

        ctx = from_options(opts.get("--db"), opts.get("--user"))  # as the Typer root callback does
        emit_json(connections.show(ctx, opts["ref"]))
        return 0
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
    show = parse_show(args) if opts is None else None
    if opts is not None or show is not None:
        code = serve_resolve(opts) if opts is not None else serve_show(show)
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
