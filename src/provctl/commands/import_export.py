"""`provctl import` and `provctl export`: legacy intake and the inventory file."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import output
from ._common import JsonOpt
from ..output.progress import progress_bar


def import_cmd(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A .json inventory, or a .env file of one legacy agent (with --agent).")],
    agent: Annotated[Optional[str], typer.Option("--agent", metavar="NAME", help="The legacy agent a .env file belongs to (created if missing).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be created; write nothing.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Import connections: a legacy agent's .env file, or an inventory (.json).

    A .env file (OPENAI_API_KEY=…, ANTHROPIC_API_KEY=…, optional *_BASE_URL) becomes legacy
    connections labelled Default for --agent; keys go to the keyring. An inventory has the
    format `provctl export` writes. All or nothing: an invalid entry (reported as
    connections[i]: problem) imports nothing. Every connection created without a usable key
    (an unset key_env variable, no key in the file) is named on stderr with the command that
    gives it one (JSON: no_usable_key).

    \b
    Examples:
      provctl import support-bot.env --agent support-bot
      provctl import inventory.json --dry-run
      provctl export --output inventory.json && provctl --db new.db import inventory.json
    """
    from ..services import import_export

    with progress_bar("Importing") as progress:
        result = import_export.import_file(ctx.obj, file, agent=agent, dry_run=dry_run, progress=progress)
    for note in result.notes:
        output.note(note)
    if json_:
        output.emit_json(result)
        _keyless(result.no_usable_key, dry_run)  # for people, on stderr, in both forms
        return
    verbs = {"create": "create" if dry_run else "created", "skip": "skip" if dry_run else "skipped",
             "relabel": "relabel" if dry_run else "relabelled"}
    output.table(
        ["SOURCE", "ACTION", "AGENT", "PROVIDER", "AUTH", "LABEL", "ID"],
        [[i.source, verbs[i.action], i.agent or "—", i.provider, i.auth_type,
          i.label if not i.previous_label else f"{i.label} (was {i.previous_label})",
          output.short_id(i.id) if i.id else ""] for i in result.connections],
    )
    if result.models:
        output.table(["SOURCE", "ACTION", "MODEL", "PROVIDER", "CONNECTIONS"],
                     [[m.source, verbs[m.action], m.name, m.provider, ", ".join(m.connections)]
                      for m in result.models])
    s = result.summary
    head = "Dry run: would create" if dry_run else "Created"
    output.note(
        f"{head} {s['connections_created']} connection(s), {s['models_created']} model(s), "
        f"{s['agents_created']} agent(s); relabelled {s['connections_relabelled']}; "
        f"skipped {s['connections_skipped'] + s['models_skipped']} already present."
    )
    _keyless(result.no_usable_key, dry_run)


def _keyless(items, dry_run: bool) -> None:
    """Name every connection created without a usable key, with what gives it one."""
    if not items:
        return
    if dry_run:
        output.note(f"Dry run: {len(items)} connection(s) would have no usable key; resolve "
                    "would skip them until they get one:")
    else:
        output.warn(f"{len(items)} connection(s) have no usable key; resolve skips them until "
                    "they get one:")
    for k in items:
        steps = " or ".join(f"`{step}`" if step.startswith("provctl ") else step for step in k.fix)
        output.note(f"  {k.ref} ({k.source}): {k.detail} — {steps}")
    if dry_run and any(" set-key ID " in step for k in items for step in k.fix):
        output.note("  (ID: the connection's id, known once it is imported; its reference is "
                    "ambiguous)")


def export_cmd(
    ctx: typer.Context,
    output_file: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write the inventory to FILE instead of stdout.")] = None,
) -> None:
    """Export the user's connections and models as an inventory (never a key).

    Connections carry their key_env names, never keys; models list their connections in
    priority order as PROVIDER/AUTH_TYPE/LABEL. `provctl import` of the file into an empty
    database recreates the same connections, models and priorities.

    \b
    Examples:
      provctl export --output inventory.json
      provctl export | jq '.models'
    """
    import json

    from ..services import import_export

    inventory = import_export.export(ctx.obj)
    for warning in inventory.warnings:
        output.warn(warning)
    if output_file is None:
        output.emit_json(inventory)
        return
    with output.destination(output_file) as write:
        write([json.dumps(inventory.to_dict(), indent=2, ensure_ascii=False) + "\n"])
    output.note(f"Exported {len(inventory.connections)} connection(s) and {len(inventory.models)} "
                f"model(s) to {output_file}.")


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
