"""`provctl providers …`: list, show and change connections."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import output
from ._common import ExpiresOpt, JsonOpt, KeyEnvOpt, KeySourceOpt, KeyStdinOpt, key_from_input

app = typer.Typer(help="List, inspect and change connections.", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(metavar="REF", help="Connection: id (≥ 8 hex digits), LABEL, PROVIDER/LABEL or PROVIDER/AUTH_TYPE/LABEL.")]


def _ref_table(views) -> None:
    output.table(
        ["ID", "PROVIDER", "AUTH", "LABEL", "STATUS", "KEY", "MODELS", "ATTACHED", "AGENT", "CREATED"],
        [[v.id[:8], v.provider, v.auth_type, v.label, output.status(v.status), v.key_shown, v.models,
          v.attached_models, v.agent or "", output.when(v.created_at)] for v in views],
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
def providers_show(
    ctx: typer.Context,
    ref: RefArg,
    json_: JsonOpt = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="Also print the key (text: the last line, alone; json: api_key).")] = False,
) -> None:
    """Show one connection, the models it is attached to and the listed agents granted it.

    \b
    Examples:
      provctl providers show openai/Work --json
      provctl providers show openai/Work --reveal | tail -n 1
    """
    from ..services import connections

    detail = connections.show(ctx.obj, ref, reveal=reveal)
    if reveal and detail.api_key is None and detail.connection.auth_type != "local":
        output.warn(f"no key to reveal: no allowed source ({detail.key_source}) yields one now")
    if json_:
        output.emit_json(detail)
        return
    v = detail.connection
    fields = [
        ("id", v.id), ("provider", v.provider), ("auth type", v.auth_type), ("label", v.label),
        ("status", output.status(v.status, detail.status_detail)),
        ("key", v.key_shown), ("key variable", detail.key_env or "—"),
        ("key sources", detail.key_source), ("key comes from", detail.credential_source),
        ("base URL", v.base_url_shown), ("expires", detail.expires_at or "—"),
        ("agent", v.agent or "— (user-level)"), ("connected via", detail.connected_via or "—"),
        ("granted to", ", ".join(detail.granted_to) or "—"),
        ("discovered models", v.models), ("created", v.created_at),
    ]
    output.table(["FIELD", "VALUE"], fields)
    if detail.attachments:
        output.table(["MODEL", "PRIORITY"], detail.attachments)
    if detail.api_key is not None:  # a line of its own, as `resolve --reveal` prints it
        output.line(detail.api_key)


@app.command("rename")
def providers_rename(ctx: typer.Context, ref: RefArg, new_label: Annotated[str, typer.Argument(metavar="NEW_LABEL")], json_: JsonOpt = False) -> None:
    """Rename a connection (the keyring entry is keyed by id and does not change).

    \b
    Example:
      provctl providers rename openai/Work Office
    """
    from ..services import connections

    view = connections.rename(ctx.obj, ref, new_label)
    output.done(view, json_, f"Renamed to {view.ref}.")


def _switch(enabled: bool, summary: str, verb: str):
    """`providers enable` / `providers disable`: the same command, one flag apart."""
    name = "enable" if enabled else "disable"

    def command(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
        from ..services import connections

        view = connections.set_enabled(ctx.obj, ref, enabled)
        output.done(view, json_, f"{verb} {view.ref}.")

    command.__name__ = f"providers_{name}"
    command.__doc__ = f"{summary}\n\n    \b\n    Example:\n      provctl providers {name} openai/Work\n    "
    app.command(name)(command)


_switch(True, "Enable a connection so that resolve may select it.", "Enabled")
_switch(False, "Disable a connection: resolve skips it until it is enabled again.", "Disabled")


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
    key = key_from_input(key_stdin, prompt=nothing_else)
    view = connections.set_key(
        ctx.obj, ref,
        connections.Credentials(key=key, key_env=key_env, key_source=key_source, expires_at=expires_at),
    )
    output.done(view, json_, f"Updated the credential of {view.ref}.")


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
    else:
        if result.detached_from:
            output.note("Detached from: " + ", ".join(result.detached_from) + ".")
        for name in result.left_without_connections:
            output.warn(f"model {name} has no connection left; resolve {name} will exit 5.")
        output.note(f"Removed {result.connection.ref}.")
    if result.leftovers:
        output.leftovers(result.leftovers)
        raise typer.Exit(6)


# ---------------------------------------------------------------- model discovery (SPEC §7)

from ._common import TimeoutOpt  # noqa: E402  (kept with the commands that use it)
from ..output.progress import progress_bar  # noqa: E402


@app.command("refresh")
def providers_refresh(
    ctx: typer.Context,
    refs: Annotated[Optional[list[str]], typer.Argument(metavar="[REF ...]", help="Connections to refresh (see `providers list`).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Refresh every enabled user-level connection.")] = False,
    timeout: TimeoutOpt = 10.0,
    json_: JsonOpt = False,
) -> None:
    """Discover the models each connection offers (its models endpoint) and store them.

    Several connections are asked at once. Exit 0 when every result is ok, 5 otherwise
    (the successful ones are still stored). Results: ok, unauthorized, error, unreachable,
    bad_response; a connection without a usable key is `error` with no request sent.
    A connection named by REF is refreshed even when disabled or legacy.

    \b
    Examples:
      provctl providers refresh openai/Work
      provctl providers refresh --all --json
      provctl providers refresh anthropic/Team ollama/Laptop --timeout 5
    """
    from ..services import discovery

    with progress_bar("Refreshing") as progress:  # None unless stderr is a terminal
        def step(done: int, total: int, _result: object = None) -> None:
            if progress is not None:
                progress("connections", done, total)

        results = discovery.refresh(ctx.obj, refs or (), all_, timeout, on_done=step,
                                    on_start=lambda total: step(0, total))
    if json_:
        output.emit_json(results)
    else:
        output.table(
            ["ID", "CONNECTION", "RESULT", "MODELS", "DETAIL"],
            [[r.id[:8], r.ref, output.status(r.result), r.models, r.detail] for r in results],
            empty="No enabled user-level connections to refresh.",
        )
    failed = [r for r in results if not r.ok]
    if failed:
        output.error(
            f"{len(failed)} of {len(results)} connections could not be refreshed",
            "the ok ones were stored; fix what each detail names (a key: `provctl providers "
            "set-key REF`) and refresh again",
        )
        raise typer.Exit(5)


@app.command("models")
def providers_models(ctx: typer.Context, ref: RefArg, json_: JsonOpt = False) -> None:
    """List the model ids discovered for a connection by `providers refresh`.

    \b
    Examples:
      provctl providers models openai/Work
      provctl providers models openai/Work --json
    """
    from ..services import discovery

    found = discovery.models(ctx.obj, ref)
    if json_:
        output.emit_json(found)
        return
    output.table(
        ["MODEL", "DISCOVERED"],
        [[m.id, output.when(m.discovered_at)] for m in found],
        empty=f"No models discovered for {ref}. Run `provctl providers refresh {ref}`.",
    )
