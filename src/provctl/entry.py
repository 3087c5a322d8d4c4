"""Console-script entry point. Serves what it can without Typer (``--version`` and, later,
the ``resolve`` hot path) and hands everything else to the Typer app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__

        print(f"provctl {__version__}")
        return
    from .cli import main as typer_main

    typer_main()
