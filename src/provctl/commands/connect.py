"""`provctl connect`: create a user-level connection."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import output
from ._common import ExpiresOpt, JsonOpt, KeyEnvOpt, KeySourceOpt, KeyStdinOpt, TimeoutOpt, key_from_input


def connect(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(help="Provider family: openai, anthropic, openrouter, gemini, mistral, groq, deepseek, xai, ollama, openai-compatible.")],
    label: Annotated[str, typer.Option("--label", help="Name of the connection (1–64 characters).")] = "Default",
    auth: Annotated[Optional[str], typer.Option("--auth", metavar="api_key|subscription|local", help="Auth type (default: local for ollama, else api_key).")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", metavar="URL", help="Override the family's default endpoint.")] = None,
    key_stdin: KeyStdinOpt = False,
    key_env: KeyEnvOpt = None,
    key_source: KeySourceOpt = None,
    expires_at: ExpiresOpt = None,
    agent: Annotated[Optional[str], typer.Option("--agent", metavar="NAME", help="Agent this was connected through (recorded; created if missing).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Store new values in an existing connection with this label.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Ask the provider's models endpoint first; refuse to save unless it answers with a models list (exit 5); store the ids it lists.")] = False,
    timeout: TimeoutOpt = 10.0,
    json_: JsonOpt = False,
) -> None:
    """Connect a provider: the key goes to the OS keyring, metadata to the database.

    \b
    Examples:
      echo "$OPENAI_API_KEY" | provctl connect openai --label Work --key-stdin
      provctl connect openai --label CI --key-env OPENAI_API_KEY
      provctl connect ollama --label Laptop
      provctl connect openai-compatible --base-url http://127.0.0.1:8000/v1 --auth local
    """
    from ..domain.credentials import needs_key
    from ..domain.families import family
    from ..services import connections

    prompt = needs_key(auth or family(provider).default_auth) and key_env is None
    key = key_from_input(key_stdin, prompt=prompt)
    verifier = None
    if verify:
        from ..services.discovery import verifier_for

        verifier = verifier_for(timeout)
    result = connections.connect(
        ctx.obj, provider, label=label, auth=auth, base_url=base_url,
        creds=connections.Credentials(key=key, key_env=key_env, key_source=key_source, expires_at=expires_at),
        agent=agent, replace=replace, verify=verifier,
    )
    view = result.connection
    for warning in result.warnings:
        output.warn(warning)
    if json_:
        output.emit_json(result)
        if result.leftovers:
            output.leftovers(result.leftovers)
            raise typer.Exit(6)
        return
    messages = {
        "created": f"Connected {view.ref} ({view.id[:8]}).",
        "unchanged": f"{view.ref} is already connected with this key; nothing changed.",
        "enabled": f"{view.ref} was disabled and is enabled again.",
        "replaced": f"Replaced the credential of {view.ref} ({view.id[:8]}).",
        "relabelled": f"This key belonged to the disabled connection {result.previous_label!r}; "
        f"it is enabled again as {view.ref} ({view.id[:8]}).",
    }
    output.note(messages[result.action])
    if result.discovered is not None:
        output.note(f"Verified: {result.discovered} model(s) discovered and stored "
                    f"(`provctl providers models {view.ref}`).")
    if result.leftovers:
        output.leftovers(result.leftovers)
        raise typer.Exit(6)


def register(app: typer.Typer) -> None:
    app.command("connect")(connect)
