"""`provctl model …`: models and their ordered priority lists of connections."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from .. import output
from ._common import JsonOpt

model_app = typer.Typer(help="Manage models and their priority lists of connections.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Model name (case-insensitive).")]
RefArg = Annotated[str, typer.Argument(metavar="REF", help="Connection: id (≥ 8 hex digits), LABEL, PROVIDER/LABEL or PROVIDER/AUTH_TYPE/LABEL.")]
AgentOpt = Annotated[Optional[str], typer.Option("--agent", metavar="NAME", help="Statuses as this agent sees them (a listed agent: agent_denied where not granted).")]


def _show_table(detail) -> None:
    output.table(["FIELD", "VALUE"], [
        ("name", detail.name), ("provider", detail.provider), ("upstream model", detail.upstream_model),
        ("enabled", "yes" if detail.enabled else "no"), ("default", "yes" if detail.default else "no"),
    ])
    output.table(
        ["PRIORITY", "ID", "CONNECTION", "STATUS", "KEY"],
        [[c.priority, c.id[:8], c.ref + (f" (agent {c.agent})" if c.agent else ""), output.status(c.status),
          c.key_hint or "—"] for c in detail.connections],
        empty=f"No connections attached. Attach one with `provctl model attach {detail.name} REF`.",
    )


def _render_change(change, json_: bool, message: str) -> None:
    for line in change.warnings:
        output.warn(line)
    if json_:
        output.emit_json(change)
    else:
        output.note(message)


@model_app.command("add")
def model_add(
    ctx: typer.Context,
    name: NameArg,
    provider: Annotated[str, typer.Option("--provider", metavar="P", help="Provider family of the model (openai, anthropic, ...).")],
    upstream: Annotated[Optional[str], typer.Option("--upstream", metavar="ID", help="Model id sent to the provider (default: NAME).")] = None,
    attach: Annotated[Optional[List[str]], typer.Option("--attach", metavar="REF", help="Attach this connection; repeat for a priority list, first = priority 1.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default model (resolve with no MODEL).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a model. Without --attach, the oldest usable connection of the family is attached.

    A disabled, keyless or expired connection is never attached automatically; the command
    says which connection it attached, or that it attached none.

    \b
    Examples:
      provctl model add gpt-4o --provider openai
      provctl model add fast --provider openai --upstream gpt-4o-mini --attach openai/Work --attach openai/Backup
      provctl model add claude --provider anthropic --default
    """
    from ..services import models

    change = models.add(ctx.obj, name, provider=provider, upstream=upstream, attach=attach or (), default=default)
    detail = change.model
    for line in change.warnings:
        output.warn(line)
    if change.auto_attach:
        if change.auto_attached is not None:
            output.note(f"Attached {change.auto_attached.ref} automatically (the oldest usable "
                        f"{detail.provider} connection).")
        else:
            output.note(f"No usable {detail.provider} connection to attach; attach one with "
                        f"`provctl model attach {detail.name} REF`.")
    if json_:
        output.emit_json(change)
    else:
        output.note(f"Added model {detail.name} ({detail.provider}) with {len(detail.connections)} "
                    f"connection(s)" + (", as the default model." if detail.default else "."))


@model_app.command("list")
def model_list(ctx: typer.Context, agent: AgentOpt = None, json_: JsonOpt = False) -> None:
    """List models with what resolve would select now (without keyring reads or probes).

    \b
    Examples:
      provctl model list --json
      provctl model list --agent support-bot
    """
    from ..services import models

    output.listing(
        models.list_models(ctx.obj, agent), json_,
        ["NAME", "PROVIDER", "UPSTREAM", "ENABLED", "DEFAULT", "CONNECTIONS", "WOULD SELECT"],
        lambda s: [s.name, s.provider, s.upstream_model, "yes" if s.enabled else "no",
                   "yes" if s.default else "", s.connections, s.would_select or "—"],
        empty="No models. Add one with `provctl model add NAME --provider P`.",
    )


@model_app.command("show")
def model_show(ctx: typer.Context, name: NameArg, agent: AgentOpt = None, json_: JsonOpt = False) -> None:
    """Show a model's priority list with each connection's status.

    \b
    Examples:
      provctl model show gpt-4o --json
      provctl model show gpt-4o --agent support-bot
    """
    from ..services import models

    detail = models.show(ctx.obj, name, agent)
    if json_:
        output.emit_json(detail)
    else:
        _show_table(detail)


@model_app.command("attach")
def model_attach(
    ctx: typer.Context,
    name: NameArg,
    ref: RefArg,
    priority: Annotated[Optional[int], typer.Option("--priority", metavar="N", help="Insert at N (1 = first choice), shifting the rest down; default: last.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Attach a connection to a model's priority list.

    \b
    Examples:
      provctl model attach gpt-4o openai/Work --priority 1
      provctl model attach gpt-4o openai/Backup
    """
    from ..services import models

    change = models.attach(ctx.obj, name, ref, priority=priority)
    placed = change.target_view
    _render_change(change, json_, f"Attached {placed.ref} to {change.model.name} at priority {placed.priority}.")


@model_app.command("detach")
def model_detach(ctx: typer.Context, name: NameArg, ref: RefArg, json_: JsonOpt = False) -> None:
    """Detach a connection from a model (the priorities after it move up).

    \b
    Example:
      provctl model detach gpt-4o openai/Old
    """
    from ..services import models

    change = models.detach(ctx.obj, name, ref)
    _render_change(change, json_, f"Detached {change.target} from {change.model.name}.")


@model_app.command("reorder")
def model_reorder(
    ctx: typer.Context,
    name: NameArg,
    refs: Annotated[List[str], typer.Argument(metavar="REF...", help="Every attached connection, exactly once, in the new order.")],
    json_: JsonOpt = False,
) -> None:
    """Set the complete new order of a model's connections.

    \b
    Example:
      provctl model reorder gpt-4o openai/Backup openai/Work
    """
    from ..services import models

    change = models.reorder(ctx.obj, name, refs)
    _render_change(change, json_, f"New order of {change.model.name}: "
                   + ", ".join(f"{c.priority}. {c.ref}" for c in change.model.connections) + ".")


@model_app.command("update")
def model_update(
    ctx: typer.Context,
    name: NameArg,
    upstream: Annotated[Optional[str], typer.Option("--upstream", metavar="ID", help="New upstream model id (empty: the model's name).")] = None,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the model.")] = False,
    disable: Annotated[bool, typer.Option("--disable", help="Disable the model (resolve exits 5 with model_disabled).")] = False,
    default: Annotated[bool, typer.Option("--default", help="Make it the default model (the previous default stops being one).")] = False,
    provider: Annotated[Optional[str], typer.Option("--provider", metavar="P", help="New provider family (refused while connections are attached, unless --detach-all).")] = None,
    detach_all: Annotated[bool, typer.Option("--detach-all", help="With --provider: detach every connection of the old family.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Change a model's upstream id, enabled flag, default flag or provider.

    \b
    Examples:
      provctl model update gpt-4o --upstream gpt-4o-2024-08-06
      provctl model update gpt-4o --default
      provctl model update fast --provider anthropic --detach-all
    """
    from ..errors import UsageError
    from ..services import models

    if enable and disable:
        raise UsageError("--enable and --disable contradict each other", hint="give one of them")
    enabled = True if enable else (False if disable else None)
    change = models.update(ctx.obj, name, upstream=upstream, enabled=enabled, default=default,
                           provider=provider, detach_all=detach_all)
    if change.detached:
        output.note("Detached: " + ", ".join(change.detached) + ".")
    if change.previous_default:
        output.note(f"{change.model.name} is now the default model, instead of {change.previous_default}.")
    _render_change(change, json_, f"Updated model {change.model.name}.")


@model_app.command("remove")
def model_remove(ctx: typer.Context, name: NameArg, json_: JsonOpt = False) -> None:
    """Remove a model and its priority list (the connections stay).

    \b
    Example:
      provctl model remove gpt-4o
    """
    from ..services import models

    detail = models.remove(ctx.obj, name)
    if json_:
        output.emit_json(detail)
    else:
        output.note(f"Removed model {detail.name}.")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
