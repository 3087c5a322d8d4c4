"""Shell completion without a shell or a database: the command tree against the Typer app,
how the tree is walked, and how bash's words are split and candidates quoted.

The shells themselves are driven in tests/e2e/test_completion_shells.py; the names read from
the database in tests/cli/test_completion_names.py."""

from __future__ import annotations

import shlex

import pytest
import typer

from provctl.completion import engine, shells
from provctl.completion.tree import TREE

ENV = {"PROVCTL_DB": "/nonexistent/provctl-completion-test.db", "PROVCTL_USER": "alice"}


def offered(*words: str) -> list[str]:
    """Values offered for the last word (zsh/fish get them unfiltered)."""
    mode, found = engine.candidates(list(words[:-1]), words[-1], environ=ENV)
    return [v for v, _ in found] if mode == "values" else ["<files>"]


def bash(line: str) -> list[str]:
    """What bash would insert for the line (``$2`` as readline passes it)."""
    word = _readline_word(line)
    return engine.answer("bash", [line, word], environ=ENV)[1:]


def _readline_word(line: str) -> str:
    _, raw, _, quote = shells.split_line(line)
    if quote:
        return raw[raw.index(quote) + 1:]
    cut = max(raw.rfind(c) for c in "=:")
    return raw[cut + 1:]


# ---------------------------------------------------------------- the tree is the app's


def test_the_tree_is_generated_from_the_live_typer_app():
    from provctl.cli import app
    from provctl.commands.completion import table

    assert TREE == table(app), "regenerate with `.venv/bin/python scripts/gen_docs.py`"


def test_every_command_of_the_app_is_in_the_tree():
    import click
    import typer.main

    from provctl.cli import app

    def paths(command, prefix=()):
        yield prefix
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from paths(sub, (*prefix, name))

    def tree_paths(node, prefix=()):
        yield prefix
        for name, sub in node.get("commands", {}).items():
            yield from tree_paths(sub, (*prefix, name))

    assert set(paths(typer.main.get_command(app))) == set(tree_paths(TREE))


def test_a_parameter_nobody_classified_fails_the_generator():
    from provctl.commands.completion import table

    demo = typer.Typer()

    @demo.command()
    def frobnicate(widget: str, colour: str = typer.Option("red", "--colour")) -> None:
        """Frobnicate."""

    @demo.command()
    def other() -> None:
        """Other."""

    with pytest.raises(LookupError, match=r"provctl frobnicate WIDGET, provctl frobnicate --colour"):
        table(demo)


def test_format_values_are_those_the_commands_accept():
    from provctl.output.lift import FORMATS as LIFT
    from provctl.output.resolve import FORMATS as RESOLVE

    assert offered("resolve", "--format", "") == list(RESOLVE)
    assert offered("migrate-lift", "--format", "") == list(LIFT)


# ---------------------------------------------------------------- walking the tree


def test_commands_subcommands_and_options():
    assert offered("") == list(TREE["commands"])
    assert offered("providers", "") == list(TREE["commands"]["providers"]["commands"])
    assert offered("-") == ["--db", "--user", "--version", "--help"]
    assert offered("providers", "list", "--") == ["--provider", "--status", "--json", "--help"]


def test_options_already_given_are_not_offered_again_unless_repeatable():
    assert "--json" not in offered("providers", "list", "--json", "--")
    assert "--attach" in offered("model", "add", "m", "--attach", "x", "--")


def test_a_command_with_its_arguments_given_offers_its_options():
    assert offered("providers", "list", "") == ["--provider", "--status", "--json", "--help"]


def test_option_values_after_the_option_and_after_equals():
    assert offered("connect", "--key-source", "") == ["keyring", "env", "keyring,env", "env,keyring"]
    assert offered("resolve", "--format=") == ["--format=text", "--format=json", "--format=env", "--format=key"]
    assert offered("providers", "list", "--status", "") == ["active", "legacy", "disabled", "no_key", "expired"]
    assert offered("completion", "") == ["bash", "zsh", "fish"]


def test_providers_and_the_auth_types_of_the_provider_on_the_line():
    from provctl.domain.families import AUTH_TYPES, FAMILIES

    assert offered("connect", "") == list(FAMILIES)
    assert offered("model", "add", "m", "--provider", "") == list(FAMILIES)
    assert offered("connect", "--auth", "") == list(AUTH_TYPES)
    assert offered("connect", "ollama", "--auth", "") == ["local"]
    assert offered("connect", "openai", "--auth=") == ["--auth=api_key", "--auth=subscription"]


def test_files_where_a_file_is_taken():
    assert offered("import", "") == ["<files>"]
    assert offered("--db", "") == ["<files>"]
    assert offered("migrate-lift", "-o", "") == ["<files>"]
    assert offered("export", "--output=") == ["<files>"]


def test_free_text_an_unknown_command_and_after_the_last_argument_offer_nothing():
    assert offered("connect", "openai", "--label", "") == []
    assert offered("frobnicate", "") == []
    assert offered("agent", "add", "") == []


def test_global_options_are_read_before_the_command():
    line = engine.walk(["--db", "/x.db", "--user=bob", "resolve", "--agent", "a"])
    assert line.globals == {"--db": "/x.db", "--user": "bob"}
    assert line.path == ("resolve",)
    assert engine.walk(["resolve", "--db", "/y.db"]).globals == {}  # not a resolve option


def test_after_double_dash_everything_is_an_argument():
    line = engine.walk(["model", "reorder", "--", "--json"])
    assert line.positionals == ["--json"] and "--json" not in line.given


# ---------------------------------------------------------------- bash: words and quoting


@pytest.mark.parametrize("line, words, raw, value, quote", [
    ("provctl pro", ["provctl"], "pro", "pro", None),
    ("provctl ", ["provctl"], "", "", None),
    ("provctl show My\\ L", ["provctl", "show"], "My\\ L", "My L", None),
    ('provctl show "My L', ["provctl", "show"], '"My L', "My L", '"'),
    ("provctl show 'it'\\''s", ["provctl", "show"], "'it'\\''s", "it's", "'"),
    ('provctl "a b" c"d"e \'f\'', ["provctl", "a b", 'cde'], "'f'", "f", None),
    ('provctl x "\\$y', ["provctl", "x"], '"\\$y', "$y", '"'),
])
def test_split_line(line, words, raw, value, quote):
    assert shells.split_line(line) == (words, raw, value, quote)


NASTY = ["My Label", "it's $(touch /tmp/x)", 'say "hi" `id`', "a:b", "semi;colon & pipe|", "bang!", "Straße *"]


@pytest.mark.parametrize("value", NASTY)
def test_bash_quoting_round_trips_through_a_posix_parser(value):
    assert shlex.split(shells.bash_quote(value, None)) == [value]
    assert shlex.split("'" + shells.bash_quote(value, "'") + "'") == [value]


def test_bash_inserts_only_what_follows_readlines_word():
    # readline replaces $2: after `=` or `:` (COMP_WORDBREAKS), after an opening quote
    assert bash("provctl resolve --format=e") == ["env"]
    assert bash("provctl resolve --format e") == ["env"]
    assert shells.bash_inserts(["anthropic/a:b c"], "anthropic/a:", "", None) == ["b\\ c"]
    assert shells.bash_inserts(["it's"], "'i", "i", "'") == ["it'\\''s"]
    assert shells.bash_inserts(['a"$b'], '"a', "a", '"') == ['a\\"\\$b']


def test_bash_gets_only_matching_candidates_case_insensitively_when_nothing_else_matches():
    assert bash("provctl pro") == ["providers"]
    assert bash("provctl model a") == ["add", "attach"]
    assert bash("provctl connect OPENAI") == ["openai", "openai-compatible"]


def test_zsh_and_fish_get_values_with_descriptions_unfiltered():
    lines = engine.answer("zsh", ["--", "pro"], environ=ENV)
    assert lines[0] == "values" and len(lines) == 1 + len(TREE["commands"])
    assert "providers\tList, inspect and change connections." in lines
    assert engine.answer("fish", ["--", "connect", "--auth", ""], environ=ENV) == [
        "values", "api_key", "subscription", "local"]


def test_the_protocol_never_fails_loudly(capsys):
    assert engine.main(["__complete", "tcsh", "x"]) == 0
    assert engine.main(["__complete"]) == 0
    assert engine.main(["__complete", "zsh"]) == 0
    assert capsys.readouterr() == ("", "")
