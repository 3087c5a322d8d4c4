"""`provctl agent …`: the user's agents, and what each may use (SPEC §10)."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from .. import output
from ._common import JsonOpt

app = typer.Typer(help="Manage agents: consumers of connections, what each may use, origin of legacy rows.",
                  no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Agent name (case-insensitive).")]
RefsArg = Annotated[List[str], typer.Argument(metavar="REF...", help="Connections: id (≥ 8 hex digits), LABEL, PROVIDER/LABEL or PROVIDER/AUTH_TYPE/LABEL.")]
DisplayOpt = Annotated[Optional[str], typer.Option("--display-name", metavar="TEXT", help="Name shown to people (used by migrate-lift's relabelling).")]
AccessOpt = Annotated[Optional[str], typer.Option("--access", metavar="all|listed", help="all: every user-level connection of the user (default); listed: only those granted to it.", show_default=False)]


def _render_change(change, json_: bool, message: str) -> None:
    for line in change.warnings:
        output.warn(line)
    for line in change.notes:
        output.note(line)
    output.done(change, json_, message)


def _show_table(detail) -> None:
    a = detail.agent
    output.table(["FIELD", "VALUE"], [
        ("name", a.name), ("display name", a.display_name or "—"), ("access", a.access),
        ("legacy connections", a.legacy_connections), ("created", output.when(a.created_at)),
    ])
    output.table(
        ["ID", "GRANTED CONNECTION"], [[g.id[:8], g.ref] for g in detail.granted],
        empty=(f"No connections granted. Grant one with `provctl agent grant {a.name} REF`."
               if a.access == "listed" else
               "No connections granted (access all: it may use every user-level connection)."),
    )


@app.command("add")
def agent_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Agent name, unique per user (case-insensitive).")],
    display_name: DisplayOpt = None,
    access: AccessOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add an agent.

    \b
    Examples:
      provctl agent add support-bot --display-name "Support Bot"
      provctl agent add ci-bot --access listed
    """
    from ..services import agents

    change = agents.add(ctx.obj, name, display_name, access)
    a = change.detail.agent
    _render_change(change, json_, f"Added agent {a.name}" + (" (access listed)." if a.access == "listed" else "."))


@app.command("list")
def agent_list(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """List the user's agents.

    \b
    Example:
      provctl agent list --json
    """
    from ..services import agents

    output.listing(agents.list_agents(ctx.obj), json_,
                   ["NAME", "DISPLAY NAME", "ACCESS", "LEGACY CONNECTIONS", "CREATED"],
                   lambda v: [v.name, v.display_name or "", v.access, v.legacy_connections,
                              output.when(v.created_at)],
                   empty="No agents.")


@app.command("show")
def agent_show(ctx: typer.Context, name: NameArg, json_: JsonOpt = False) -> None:
    """Show an agent, its access mode and the connections granted to it.

    \b
    Example:
      provctl agent show support-bot --json
    """
    from ..services import agents

    detail = agents.show(ctx.obj, name)
    if json_:
        output.emit_json(detail)
    else:
        _show_table(detail)


@app.command("update")
def agent_update(
    ctx: typer.Context,
    name: NameArg,
    display_name: Annotated[Optional[str], typer.Option("--display-name", metavar="TEXT", help="New display name (empty: none).")] = None,
    access: AccessOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change an agent's display name or access mode.

    With --access listed the agent may use only the connections granted to it (`agent
    grant`); resolve and exec skip the others with agent_denied.

    \b
    Examples:
      provctl agent update support-bot --access listed
      provctl agent update support-bot --display-name "Support Bot"
    """
    from ..services import agents

    change = agents.update(ctx.obj, name, display_name=display_name, access=access)
    _render_change(change, json_, f"Updated agent {change.detail.agent.name} (access {change.detail.agent.access}).")


@app.command("grant")
def agent_grant(ctx: typer.Context, name: NameArg, refs: RefsArg, json_: JsonOpt = False) -> None:
    """Grant user-level connections to an agent (what a listed agent may use).

    Granting what is already granted changes nothing; a legacy connection cannot be granted
    (lift it first with `provctl migrate-lift`).

    \b
    Examples:
      provctl agent grant support-bot openai/Team
      provctl agent grant support-bot openai/Team anthropic/api_key/Team
    """
    from ..services import agents

    change = agents.grant(ctx.obj, name, refs)
    who = change.detail.agent.name
    parts = []
    if change.granted:
        parts.append(f"Granted {', '.join(change.granted)} to agent {who}.")
    if change.already:
        parts.append(f"Already granted to agent {who}: {', '.join(change.already)}.")
    _render_change(change, json_, " ".join(parts))


@app.command("revoke")
def agent_revoke(ctx: typer.Context, name: NameArg, refs: RefsArg, json_: JsonOpt = False) -> None:
    """Take grants back from an agent (each REF must be granted to it).

    \b
    Example:
      provctl agent revoke support-bot openai/Personal
    """
    from ..services import agents

    change = agents.revoke(ctx.obj, name, refs)
    _render_change(change, json_, f"Revoked {', '.join(change.revoked)} from agent {change.detail.agent.name}.")


@app.command("remove")
def agent_remove(ctx: typer.Context, name: NameArg, json_: JsonOpt = False) -> None:
    """Remove an agent and its grants (refused while it owns legacy connections).

    \b
    Example:
      provctl agent remove support-bot
    """
    from ..services import agents

    view = agents.remove(ctx.obj, name)
    output.done(view, json_, f"Removed agent {view.name}.")
