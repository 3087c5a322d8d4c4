"""Help is a feature: every command of the tree — including ones added later — has a one-line
summary and an example block that invokes that very command."""

from __future__ import annotations

import re

import click
import pytest
import typer.main

from provctl.cli import app


def _walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name))


TREE = list(_walk(typer.main.get_command(app)))
LEAVES = [(path, cmd) for path, cmd in TREE if not isinstance(cmd, click.Group)]
GROUPS = [(path, cmd) for path, cmd in TREE if isinstance(cmd, click.Group)]


def _id(item):
    return " ".join(item[0]) or "provctl"


def test_the_tree_has_the_foundation_commands():
    names = {" ".join(path) for path, _ in TREE}
    assert {"connect", "providers list", "providers show", "providers rename", "providers enable",
            "providers disable", "providers set-key", "providers remove", "agent add", "agent list",
            "agent remove", "db status", "db upgrade"} <= names


@pytest.mark.parametrize("item", TREE, ids=[_id(i) for i in TREE])
def test_every_command_and_group_has_a_summary(item):
    path, command = item
    summary = command.get_short_help_str(limit=200).strip()
    assert summary, f"`provctl {' '.join(path)}` has no help summary"
    assert not summary.lower().startswith(("todo", "xxx"))


@pytest.mark.parametrize("item", [("", TREE[0][1]), *LEAVES], ids=["provctl", *[_id(i) for i in LEAVES]])
def test_every_command_has_an_example_that_runs_it(cli, item):
    path, _ = item
    path = tuple(path)
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert re.search(r"^\s+Examples?:\s*$", text, re.M), f"`provctl {' '.join(path)} --help` has no example block"
    invocation = " ".join(("provctl", *path))
    # an example line invokes this very command (maybe piped into it or inside $(...))
    pattern = rf"^\s+(?:.*[^\w-])?{re.escape(invocation)}(\s|$)" if path else r"^\s+(?:.*\W)?provctl \w"
    assert re.search(pattern, text, re.M), f"no example line runs `{invocation}`:\n{text}"


@pytest.mark.parametrize("item", GROUPS, ids=[_id(i) for i in GROUPS])
def test_every_group_lists_its_commands_with_summaries(cli, item):
    path, group = item
    result = cli(*path, "--help")
    assert result.exit_code == 0
    for name in group.commands:
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", result.stdout, re.M), (name, result.stdout)


def test_help_examples_keep_their_line_breaks(cli):
    # `\b` keeps Click from re-wrapping the example block into one paragraph
    text = cli("connect", "--help").stdout
    assert "\n    echo \"$OPENAI_API_KEY\" | provctl connect openai --label Work --key-stdin\n" in text
    assert "\n    provctl connect ollama --label Laptop\n" in text


def test_no_args_shows_help(cli):
    result = cli()
    assert "Usage: provctl" in result.stdout + result.stderr
