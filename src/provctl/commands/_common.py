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
TIMEOUT_MIN, TIMEOUT_MAX = 0.1, 600.0


def _check_timeout(value: float) -> float:
    """`--timeout S`: a finite number of seconds within 0.1–600 (nan and inf are refused)."""
    if not (TIMEOUT_MIN <= value <= TIMEOUT_MAX):  # False for nan too
        raise typer.BadParameter(f"{value:g} is not within {TIMEOUT_MIN:g}–{TIMEOUT_MAX:g} seconds")
    return value


TimeoutOpt = Annotated[float, typer.Option("--timeout", metavar="S", callback=_check_timeout, help="Deadline for each request to a provider endpoint, 0.1–600 seconds (one retry).")]


KEY_MAX_BYTES = 64 * 1024  # far above any real key or token; a pipe from /dev/zero stops here


def key_from_input(key_stdin: bool, *, prompt: bool) -> str | None:
    """The secret from stdin (--key-stdin) or a hidden prompt on a terminal; never from argv.
    Stdin is read as bytes and decoded as strict UTF-8 (exit 2 otherwise, whatever the
    locale), at most 64 KiB."""
    if key_stdin:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("--key-stdin expects the key on a pipe", hint='echo "$KEY" | provctl ... --key-stdin')
        raw = getattr(sys.stdin, "buffer", None)
        data = raw.read(KEY_MAX_BYTES + 1) if raw is not None else sys.stdin.read(KEY_MAX_BYTES + 1)
        if len(data) > KEY_MAX_BYTES:
            raise UsageError("the key on stdin is longer than 64 KiB",
                             hint="pipe the key alone: echo \"$KEY\" | provctl ... --key-stdin")
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8-sig")  # a file saved with a BOM: the BOM is not the key
            except UnicodeDecodeError:  # never echoed: it is the secret
                raise UsageError("the key on stdin is not valid UTF-8",
                                 hint="give the key as UTF-8 text") from None
        return _not_blank(data, "stdin held no key",
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
