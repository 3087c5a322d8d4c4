"""TAB in real bash, zsh and fish, through the scripts `provctl completion SHELL` prints and
the installed console script: partial words typed, candidates checked (tests/support/shells.py
says how each shell is driven). A shell that is missing fails these tests: ./scripts/test
installs zsh and fish.

One database for the module, made with the console script: connections whose labels have
spaces, quotes, `$(…)`, `:` and `/`, models, an agent, a lift run (and one undone), and a
second user and a second database to show that `--db`/`--user` on the line are honoured.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from provctl.output.lift import FORMATS as LIFT_FORMATS
from provctl.output.resolve import FORMATS as RESOLVE_FORMATS
from tests.support.legacy import Legacy
from tests.support.shells import candidates, complete, shell_path, typed

SHELLS = ("bash", "zsh", "fish")
COMMANDS = ["connect", "resolve", "exec", "migrate-lift", "import", "export", "doctor", "completion",
            "providers", "model", "agent", "db"]


@pytest.fixture(scope="module", params=SHELLS)
def shell(request) -> str:
    shell_path(request.param)  # fails, never skips, when the shell is missing
    return request.param


@pytest.fixture(scope="module")
def world(provctl_bin: Path, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("completion-home")
    pwned = home / "pwned"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_") and k != "PYTHON_KEYRING_BACKEND"}
    env.update({
        "PATH": f"{provctl_bin.parent}{os.pathsep}{env.get('PATH', '')}",
        "PROVCTL_DB": str(home / "provctl.db"), "PROVCTL_USER": "e2e-user", "NO_COLOR": "1",
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
    })

    def run(*args: str, **extra: str) -> str:
        proc = subprocess.run([str(provctl_bin), *args], env={**env, **extra}, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=60)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def connect(provider: str, label: str, *more: str) -> None:
        run("connect", provider, "--label", label, "--key-env", "E2E_KEY", *more)

    connect("openai", "Work")
    connect("openai", "Work", "--auth", "subscription")
    connect("anthropic", "Work")
    connect("openai", "My Label")
    connect("anthropic", "a:b")
    connect("groq", "it's $(touch pwned)")  # were it run, it would leave `pwned` in the shell's folder
    connect("mistral", 'say "hi" `id` & co;')
    run("model", "add", "gpt-4o", "--provider", "openai", "--attach", "openai/api_key/Work", "--default")
    run("model", "add", "claude fast", "--provider", "anthropic", "--attach", "anthropic/Work")
    run("agent", "add", "support-bot", "--display-name", "Support Bot")
    run("model", "add", "bobs-model", "--provider", "openai", PROVCTL_USER="bob")
    legacy = Legacy(Path(env["PROVCTL_DB"]))
    legacy.row("e2e-user", "bot-a", "openai", "Legacy One")
    legacy.conn.close()
    undone = run("migrate-lift", "--json").split('"run_id": "')[1].split('"')[0]
    run("migrate-lift", "--undo", undone)
    run_id = run("migrate-lift", "--json").split('"run_id": "')[1].split('"')[0]
    other = home / "other.db"
    run("model", "add", "other-model", "--provider", "openai", PROVCTL_DB=str(other))
    files = home / "files"
    files.mkdir()
    (files / "inventory.json").write_text("{}")
    (files / "team.env").write_text("")
    return {"env": env, "run_id": run_id, "undone": undone, "other": str(other), "pwned": pwned,
            "files": str(files), "home": str(home)}


def values(shell: str, found: list[str]) -> list[str]:
    """bash gets the text readline inserts (quoted): read it as bash would."""
    return [shlex.split(c)[0] if shell == "bash" and c else c for c in found]


def test_commands_subcommands_and_options(shell, world):
    got = candidates(shell, world["env"], [
        "provctl pro",
        "provctl ",
        "provctl providers s",
        "provctl model a",
        "provctl providers list --",
        "provctl resolve --fo",
        "provctl --",
    ])
    assert got[0] == ["providers"]
    assert sorted(got[1]) == sorted(COMMANDS)
    assert sorted(got[2]) == ["set-key", "show"]
    assert sorted(got[3]) == ["add", "attach"]
    assert sorted(got[4]) == ["--help", "--json", "--provider", "--status"]
    assert got[5] == ["--format"]
    assert sorted(got[6]) == ["--db", "--help", "--user", "--version"]


def test_format_values(shell, world):
    got = candidates(shell, world["env"], [
        "provctl resolve --format ",
        "provctl migrate-lift --dry-run --format m",
        "provctl resolve gpt-4o --format=e",
    ])
    assert sorted(got[0]) == sorted(RESOLVE_FORMATS)
    assert sorted(got[1]) == [f for f in LIFT_FORMATS if f.startswith("m")]
    # readline replaces the part after `=`; zsh and fish the whole word
    assert got[2] == (["env"] if shell == "bash" else ["--format=env"])


def test_providers_and_auth_types(shell, world):
    got = candidates(shell, world["env"], [
        "provctl connect op",
        "provctl connect openai --auth ",
        "provctl connect ollama --auth ",
        "provctl providers list --provider gr",
    ])
    assert sorted(got[0]) == ["openai", "openai-compatible", "openrouter"]
    assert sorted(got[1]) == ["api_key", "subscription"]
    assert got[2] == ["local"]
    assert got[3] == ["groq"]


def test_connection_references(shell, world):
    got = candidates(shell, world["env"], cwd=world["home"], lines=[
        "provctl providers show ",
        "provctl providers show My",
        "provctl model attach claude\\ fast ",
        "provctl model detach gpt-4o ",
        "provctl providers show anthropic/",
    ])
    assert sorted(values(shell, got[0])) == sorted([
        "openai/api_key/Work", "openai/subscription/Work", "anthropic/Work", "My Label",
        "openai/My Label", "a:b", "anthropic/a:b", "it's $(touch pwned)", "groq/it's $(touch pwned)",
        'say "hi" `id` & co;', 'mistral/say "hi" `id` & co;', "Legacy One", "openai/Legacy One",
    ])
    assert values(shell, got[1]) == ["My Label"]
    assert sorted(values(shell, got[2])) == ["a:b", "anthropic/a:b"]  # anthropic, not attached yet
    assert values(shell, got[3]) == ["openai/api_key/Work"]
    assert sorted(values(shell, got[4])) == ["anthropic/Work", "anthropic/a:b"]


def test_models_agents_users_and_lift_runs(shell, world):
    got = candidates(shell, world["env"], [
        "provctl resolve ",
        "provctl model show g",
        "provctl resolve gpt-4o --agent ",
        "provctl agent remove s",
        "provctl --user ",
        "provctl migrate-lift --undo ",
    ])
    assert sorted(values(shell, got[0])) == ["claude fast", "gpt-4o"]
    assert got[1] == ["gpt-4o"]
    assert sorted(got[2]) == ["bot-a", "support-bot"]  # bot-a: the legacy row's agent
    assert got[3] == ["support-bot"]
    assert sorted(got[4]) == ["bob", "e2e-user"]
    assert got[5] == [world["run_id"]]  # the undone run is not offered


def test_db_and_user_on_the_line_and_in_the_environment(shell, world):
    got = candidates(shell, world["env"], [
        "provctl --user bob resolve ",
        f"provctl --db {world['other']} resolve ",
        f"provctl --db={world['other']} --user e2e-user model show ",
    ])
    assert got == [["bobs-model"], ["other-model"], ["other-model"]]
    assert complete(shell, {**world["env"], "PROVCTL_USER": "bob"}, "provctl resolve ") == ["bobs-model"]


def test_files_where_a_file_is_taken(shell, world):
    (found,) = candidates(shell, world["env"], ["provctl import "], cwd=world["files"])
    if shell == "zsh":
        assert found == ["<files>"]  # zsh's own _files, called by the script
    else:
        assert sorted(found) == ["inventory.json", "team.env"]


def test_a_missing_database_completes_names_silently_to_nothing(shell, world, tmp_path):
    missing = tmp_path / "nowhere" / "provctl.db"
    env = {**world["env"], "PROVCTL_DB": str(missing)}
    got = candidates(shell, env, ["provctl resolve ", "provctl providers show ", "provctl pro"])
    assert got == [[], [], ["providers"]]  # commands still complete
    assert not missing.parent.exists()


@pytest.mark.parametrize("keys, argv", [
    ("provctl providers show My\t", ["providers", "show", "My Label"]),
    ("provctl providers show 'My\t", ["providers", "show", "My Label"]),
    ('provctl providers show "My\t', ["providers", "show", "My Label"]),
    ("provctl providers show a:\t", ["providers", "show", "a:b"]),
    ("provctl providers show groq/\t", ["providers", "show", "groq/it's $(touch pwned)"]),
    ('provctl providers show "groq/\t', ["providers", "show", "groq/it's $(touch pwned)"]),
    ("provctl providers show say\t", ["providers", "show", 'say "hi" `id` & co;']),
    ("provctl resolve cl\t --json", ["resolve", "claude fast", "--json"]),
    ("provctl pro\tli\t", ["providers", "list"]),
])
def test_what_tab_inserts_is_quoted_for_the_shell(shell, world, keys, argv):
    assert typed(shell, world["env"], keys, cwd=world["home"]) == argv
    assert not world["pwned"].exists()  # a name is data: nothing it contains ran


def test_tab_with_nothing_to_offer_inserts_nothing_not_a_file_name(shell, world, tmp_path):
    # the old script fell back to file names (`complete -o default`): `resolve <TAB>` gave files
    (tmp_path / "only-file.json").write_text("{}")  # the one file a fallback would insert
    env = {**world["env"], "PROVCTL_DB": str(tmp_path / "missing.db")}
    assert typed(shell, env, "provctl resolve \t", cwd=str(tmp_path)) == ["resolve"]
    assert typed(shell, world["env"], "provctl connect openai --label \t", cwd=str(tmp_path)) == [
        "connect", "openai", "--label"]
