"""`provctl agent …`: the user's agents."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import output
from ._common import JsonOpt

app = typer.Typer(help="Manage agents (consumers of connections; origin of legacy rows).", no_args_is_help=True)


@app.command("add")
def agent_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Agent name, unique per user (case-insensitive).")],
    display_name: Annotated[Optional[str], typer.Option("--display-name", metavar="TEXT", help="Name shown to people (used by migrate-lift's relabelling).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Add an agent.

    \b
    Example:
      provctl agent add support-bot --display-name "Support Bot"
    """
    from ..services import agents

    view = agents.add(ctx.obj, name, display_name)
    output.done(view, json_, f"Added agent {view.name}.")


@app.command("list")
def agent_list(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """List the user's agents.

    \b
    Example:
      provctl agent list --json
    """
    from ..services import agents

    output.listing(agents.list_agents(ctx.obj), json_, ["NAME", "DISPLAY NAME", "LEGACY CONNECTIONS", "CREATED"],
                   lambda v: [v.name, v.display_name or "", v.legacy_connections, output.when(v.created_at)],
                   empty="No agents.")


@app.command("remove")
def agent_remove(ctx: typer.Context, name: str, json_: JsonOpt = False) -> None:
    """Remove an agent (refused while it owns legacy connections).

    \b
    Example:
      provctl agent remove support-bot
    """
    from ..services import agents

    view = agents.remove(ctx.obj, name)
    output.done(view, json_, f"Removed agent {view.name}.")
