"""`provctl providers …`: list, show and change connections."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import output
from ._common import ExpiresOpt, JsonOpt, KeyEnvOpt, KeySourceOpt, KeyStdinOpt, read_key

app = typer.Typer(help="List, inspect and change connections.", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(metavar="REF", help="Connection: id (≥ 8 hex digits), LABEL, PROVIDER/LABEL or PROVIDER/AUTH_TYPE/LABEL.")]


def _ref_table(views) -> None:
    output.table(
        ["ID", "PROVIDER", "AUTH", "LABEL", "STATUS", "KEY", "MODELS", "ATTACHED", "AGENT", "CREATED"],
        [[v.id[:8], v.provider, v.auth_type, v.label, v.status, v.key_hint or "—", v.models,
          v.attached_models, v.agent or "", v.created_at[:19].replace("T", " ")] for v in views],
        empty="No connections. Add one with `provctl connect PROVIDER`.",
    )


@app.command("list")
def providers_list(
    ctx: typer.Context,
    provider: Annotated[Optional[str], typer.Option("--provider", metavar="P", help="Only this provider family.")] = None,
    status: Annotated[Optional[str], typer.Option("--status", metavar="S", help="Only this status (active, disabled, no_key, expired, legacy).")] = None,
    json_: JsonOpt = False,
) -> None:
    """List the user's connections with their status.

    \b
    Examples:
      provctl providers list
      provctl providers list --provider openai --json
      provctl providers list --status legacy
    """
    from ..services import connections

    views = connections.list_connections(ctx.obj, provider=provider, status=status)
    if json_:
        output.emit_json(views)
    else:
        _ref_table(views)


@app.command("show")
def providers_show(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """Show one connection and the models it is attached to.

    \b
    Example:
      provctl providers show openai/Work --json
    """
    from ..services import connections

    detail = connections.show(ctx.obj, ref)
    if json_:
        output.emit_json(detail)
        return
    v = detail.connection
    fields = [
        ("id", v.id), ("provider", v.provider), ("auth type", v.auth_type), ("label", v.label),
        ("status", v.status), ("key", v.key_hint or "—"), ("key variable", detail.key_env or "—"),
        ("key sources", detail.key_source), ("key comes from", detail.credential_source),
        ("base URL", v.base_url or "(family default)"), ("expires", detail.expires_at or "—"),
        ("agent", v.agent or "— (user-level)"), ("connected via", detail.connected_via or "—"),
        ("discovered models", v.models), ("created", v.created_at),
    ]
    output.table(["FIELD", "VALUE"], fields)
    if detail.attachments:
        output.table(["MODEL", "PRIORITY"], detail.attachments)


@app.command("rename")
def providers_rename(ctx: typer.Context, ref: RefArg, new_label: Annotated[str, typer.Argument(metavar="NEW_LABEL")], json_: JsonOpt = False) -> None:
    """Rename a connection (the keyring entry is keyed by id and does not change).

    \b
    Example:
      provctl providers rename openai/Work Office
    """
    from ..services import connections

    view = connections.rename(ctx.obj, ref, new_label)
    output.emit_json(view) if json_ else output.note(f"Renamed to {view.ref}.")


@app.command("enable")
def providers_enable(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """Enable a connection so that resolve may select it.

    \b
    Example:
      provctl providers enable openai/Work
    """
    from ..services import connections

    view = connections.set_enabled(ctx.obj, ref, True)
    output.emit_json(view) if json_ else output.note(f"Enabled {view.ref}.")


@app.command("disable")
def providers_disable(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """Disable a connection: resolve skips it until it is enabled again.

    \b
    Example:
      provctl providers disable openai/Work
    """
    from ..services import connections

    view = connections.set_enabled(ctx.obj, ref, False)
    output.emit_json(view) if json_ else output.note(f"Disabled {view.ref}.")


@app.command("set-key")
def providers_set_key(
    ctx: typer.Context,
    ref: RefArg,
    key_stdin: KeyStdinOpt = False,
    key_env: KeyEnvOpt = None,
    key_source: KeySourceOpt = None,
    expires_at: ExpiresOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Store a new key, key variable or expiry for a connection.

    \b
    Examples:
      echo "$NEW_KEY" | provctl providers set-key openai/Work --key-stdin
      provctl providers set-key openai/CI --key-env OPENAI_API_KEY
    """
    from ..services import connections

    nothing_else = key_env is None and key_source is None and expires_at is None
    key = read_key(key_stdin, prompt=nothing_else)
    view = connections.set_key(
        ctx.obj, ref,
        connections.Credentials(key=key, key_env=key_env, key_source=key_source, expires_at=expires_at),
    )
    output.emit_json(view) if json_ else output.note(f"Updated the credential of {view.ref}.")


@app.command("remove")
def providers_remove(
    ctx: typer.Context,
    ref: RefArg,
    force: Annotated[bool, typer.Option("--force", help="Detach it from every model first.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Remove a connection and its keyring entry (refused while attached, unless --force).

    \b
    Examples:
      provctl providers remove openai/Old
      provctl providers remove openai/Old --force
    """
    from ..services import connections

    result = connections.remove(ctx.obj, ref, force=force)
    if json_:
        output.emit_json(result)
        return
    if result.detached_from:
        output.note("Detached from: " + ", ".join(result.detached_from) + ".")
    for name in result.left_without_connections:
        output.warn(f"model {name} has no connection left; resolve {name} will exit 5.")
    output.note(f"Removed {result.connection.ref}.")
