"""Option types and input helpers shared by the command modules."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import UsageError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
KeyStdinOpt = Annotated[bool, typer.Option("--key-stdin", help="Read the key from stdin (surrounding whitespace is stripped).")]
KeyEnvOpt = Annotated[Optional[str], typer.Option("--key-env", metavar="VAR", help="Take the key at run time from this environment variable (only its name is stored).")]
KeySourceOpt = Annotated[Optional[str], typer.Option("--key-source", metavar="ORDER", help="Allowed key sources in order: keyring, env, keyring,env (default with --key-env) or env,keyring.")]
ExpiresOpt = Annotated[Optional[str], typer.Option("--expires-at", metavar="TS", help="Subscription token expiry, ISO-8601 (e.g. 2026-12-31T00:00:00Z).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", metavar="S", min=0.1, help="Read timeout for provider endpoints, in seconds.")]


def key_from_input(key_stdin: bool, *, prompt: bool) -> str | None:
    """The secret from stdin (--key-stdin) or a hidden prompt on a terminal; never from argv."""
    if key_stdin:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("--key-stdin expects the key on a pipe", hint='echo "$KEY" | provctl ... --key-stdin')
        return _not_blank(sys.stdin.read(), "stdin held no key",
                          'pipe the key itself, e.g. printf %s "$KEY" | provctl ... --key-stdin')
    if prompt and sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return _not_blank(getpass.getpass("Key (input hidden): "), "no key was typed",
                          "type or paste the key at the prompt, or use --key-stdin / --key-env VAR")
    return None


def _not_blank(key: str, message: str, hint: str) -> str:
    """An empty or blank key is no key (SPEC §5): exit 2, and nothing is written."""
    if not key.strip():
        raise UsageError(message, hint=hint)
    return key
