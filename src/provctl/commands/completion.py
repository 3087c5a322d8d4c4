"""`provctl completion SHELL`: print the shell's completion script; and the command tree that
completion walks, taken from this very Typer app (``table``).

The console script serves ``completion SHELL`` and every TAB (``__complete``) without Typer
(``entry.py`` → ``completion.engine``). What a TAB offers for each parameter is decided here,
by parameter name (``KINDS``), by command (``COMMAND_KINDS``) or from the values the command
itself accepts (``choices``). ``scripts/gen_docs.py`` writes ``table(app)`` to
``src/provctl/completion/tree.py``, and a test fails when that file no longer matches the app —
or when a parameter takes a value that nothing here classifies.
"""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer

from ..completion import engine as k
from ..completion.shells import SHELLS, script
from ..errors import UsageError

# What TAB offers for a parameter that takes a value, by its name (an option's long name without
# dashes, `--key-source` → `key_source`; an argument's name).
KINDS: dict[str, Any] = {
    "db": k.FILE, "output": k.FILE, "file": k.FILE,
    "user": k.USER,
    "provider": k.PROVIDER,
    "auth": k.AUTH,
    "agent": k.AGENT,
    "model": k.MODEL,
    "ref": k.REF, "refs": k.REF,
    "undo": k.LIFT_RUN,
    # free text: a new name, a URL, a variable name, a time, a number
    "label": k.TEXT, "new_label": k.TEXT, "display_name": k.TEXT, "base_url": k.TEXT,
    "key_env": k.TEXT, "expires_at": k.TEXT, "timeout": k.TEXT, "upstream": k.TEXT,
    "priority": k.TEXT,
}

# By command, where the name alone does not say it.
COMMAND_KINDS: dict[tuple[str, ...], Any] = {
    ("model", "add", "name"): k.TEXT,  # a new model
    ("model", "add", "attach"): k.REF_OF_PROVIDER,
    ("model", "show", "name"): k.MODEL,
    ("model", "attach", "name"): k.MODEL,
    ("model", "attach", "ref"): k.REF_TO_ATTACH,
    ("model", "detach", "name"): k.MODEL,
    ("model", "detach", "ref"): k.REF_ATTACHED,
    ("model", "reorder", "name"): k.MODEL,
    ("model", "reorder", "refs"): k.REF_ATTACHED,
    ("model", "update", "name"): k.MODEL,
    ("model", "remove", "name"): k.MODEL,
    ("agent", "add", "name"): k.TEXT,  # a new agent
    ("agent", "show", "name"): k.AGENT,
    ("agent", "update", "name"): k.AGENT,
    ("agent", "grant", "name"): k.AGENT,
    ("agent", "grant", "refs"): k.REF_OF_PROVIDER,  # user-level only: a legacy row cannot be granted
    ("agent", "revoke", "name"): k.AGENT,
    ("agent", "remove", "name"): k.AGENT,
}


def choices() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Values the commands themselves accept (checked by the same constants)."""
    from ..domain.credentials import KEY_SOURCES
    from ..domain.usability import ACCESS_MODES
    from ..output.lift import FORMATS as LIFT_FORMATS
    from ..output.resolve import FORMATS as RESOLVE_FORMATS
    from ..services.connections import LIST_STATUSES

    return {
        ("resolve", "format"): RESOLVE_FORMATS,
        ("migrate-lift", "format"): LIFT_FORMATS,
        ("connect", "key_source"): KEY_SOURCES,
        ("providers", "set-key", "key_source"): KEY_SOURCES,
        ("providers", "list", "status"): LIST_STATUSES,
        ("completion", "shell"): SHELLS,
        ("agent", "add", "access"): ACCESS_MODES,
        ("agent", "update", "access"): ACCESS_MODES,
    }


def _summary(text: str | None, limit: int = 80) -> str:
    """The first paragraph of a help text, on one line, at most ``limit`` characters."""
    first = " ".join((text or "").split("\n\n")[0].split())
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _name(param: click.Parameter) -> str:
    """An option's long name without dashes (`--key-source` → `key_source`), else the
    argument's name."""
    if isinstance(param, click.Option):
        long = [o for o in param.opts if o.startswith("--")]
        if long:
            return long[0][2:].replace("-", "_")
    return param.name or ""


def _kind(path: tuple[str, ...], param: click.Parameter, known: dict,
          unclassified: list[str]) -> Any:
    name = _name(param)
    key = (*path, name)
    if key in known:
        return ("choice", *known[key])
    if key in COMMAND_KINDS:
        return COMMAND_KINDS[key]
    if name in KINDS:
        return KINDS[name]
    shown = param.opts[0] if isinstance(param, click.Option) else name.upper()
    unclassified.append(" ".join(("provctl", *path, shown)))
    return k.TEXT


def _node(command: click.Command, ctx: click.Context, path: tuple[str, ...], known: dict,
          unclassified: list[str]) -> dict:
    options, args = [], []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if isinstance(param, click.Option):
            kind = None if param.is_flag or param.count else _kind(path, param, known, unclassified)
            # long names first (Click keeps the help option's names in a set: sort them)
            names = tuple(sorted(param.opts + param.secondary_opts,
                                 key=lambda n: (not n.startswith("--"), n)))
            options.append((names, kind, bool(param.multiple), _summary(param.help)))
        else:
            args.append((param.name, param.nargs, _kind(path, param, known, unclassified)))
    node: dict[str, Any] = {
        "help": command.get_short_help_str(limit=80), "options": options, "args": args}
    if isinstance(command, click.Group):
        node["commands"] = {
            name: _node(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name), known,
                        unclassified)
            for name, sub in command.commands.items()
            if not sub.hidden
        }
    return node


def render(node: dict, indent: str = "") -> str:
    """``node`` as Python source, one option or argument a line (for tree.py)."""
    inner = indent + "    "
    lines = ["{", f"{inner}'help': {node['help']!r},"]
    for key in ("options", "args"):
        items = "".join(f"\n{inner}    {item!r}," for item in node[key])
        lines.append(f"{inner}{key!r}: [{items}\n{inner}]," if items else f"{inner}{key!r}: [],")
    if "commands" in node:
        subs = "".join(f"\n{inner}    {name!r}: {render(sub, inner + '    ')},"
                       for name, sub in node["commands"].items())
        lines.append(f"{inner}'commands': {{{subs}\n{inner}}},")
    return "\n".join(lines) + f"\n{indent}}}"


def table(app: typer.Typer) -> dict:
    """The completion tree of ``app``: for each command its summary, options
    ``(names, kind or None for a flag, multiple, help)``, arguments ``(name, nargs, kind)``
    and subcommands."""
    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="provctl", **root.context_settings)
    unclassified: list[str] = []
    tree = _node(root, ctx, (), choices(), unclassified)
    if unclassified:
        raise LookupError(
            "shell completion does not know what these take: " + ", ".join(unclassified)
            + " — add them to KINDS or COMMAND_KINDS in src/provctl/commands/completion.py"
        )
    return tree


def completion(
    shell: Annotated[str, typer.Argument(metavar="bash|zsh|fish", show_default=False,
                                         help="The shell to print the script for.")],
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    TAB then completes commands, options, --format values, providers, auth types, connection
    references, model and agent names and lift run ids, read from the database read-only.

    \b
    Examples:
      eval "$(provctl completion bash)"    # in ~/.bashrc
      eval "$(provctl completion zsh)"     # in ~/.zshrc
      provctl completion fish | source     # in ~/.config/fish/config.fish
    """
    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}", hint="use one of: " + ", ".join(SHELLS))
    typer.echo(script(shell), nl=False)


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)
