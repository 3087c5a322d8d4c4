"""The resolve/exec fast path (``entry.py``) against the Typer app, in subprocesses (``providers
show REF --json`` is served there too, and is in the same matrix).

1. Which invocations the fast path serves (everything else goes to Typer unchanged).
2. A matrix of resolve and exec invocations run through both paths — ``provctl.entry.main`` and
   ``provctl.cli.main`` — that must give identical stdout, stderr and exit codes. Keys come
   from environment variables and from a real keyring backend (keyrings.alt's
   PlaintextKeyring named by PYTHON_KEYRING_BACKEND, its file in a temp XDG_DATA_HOME).
3. What the fast path imports: none of Typer/Click, SQLAlchemy/SQLModel, Alembic, Rich,
   httpx ever, and keyring only when the selected key is in the keyring (for exec --no-mask:
   what was imported when provctl replaced itself with CMD).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from provctl.entry import parse_fast, parse_show

HEAVY = ("typer", "click", "sqlalchemy", "sqlmodel", "alembic", "rich", "httpx")
WORK_KEY = "sk-work-" + "w" * 24 + "1111"
CLAUDE_KEY = "sk-ant-" + "c" * 30 + "3333"


# ---------------------------------------------------------------- 1. what is served


@pytest.mark.parametrize("argv", [
    ["resolve"],
    ["resolve", "gpt-4o"],
    ["resolve", "gpt-4o", "--json"],
    ["resolve", "--json", "gpt-4o"],
    ["resolve", "gpt-4o", "--format", "env"],
    ["resolve", "gpt-4o", "--format=env", "--reveal"],
    ["resolve", "gpt-4o", "--format", "yaml"],  # served: the shared code gives the usage error
    ["resolve", "gpt-4o", "--agent", "bot", "--json"],
    ["resolve", "gpt-4o", "--agent=bot"],
    ["--db", "/tmp/x.db", "resolve", "gpt-4o"],
    ["--db=/tmp/x.db", "--user", "bob", "resolve"],
    ["--user=bob", "--db", "", "resolve", "m"],
    ["resolve", ""],
    ["exec", "--", "true"],
    ["exec", "gpt-4o", "--", "python", "agent.py", "--probe", "--help", "--"],
    ["exec", "--agent", "bot", "gpt-4o", "--no-mask", "--quiet", "--", "claude"],
    ["exec", "gpt-4o", "--mask", "--agent=bot", "--"],  # served: the shared code says CMD is missing
    ["--user", "bob", "exec", "m", "--", "x"],
])
def test_fast_path_serves_plain_resolve_and_exec_invocations(argv):
    assert parse_fast(argv) is not None


@pytest.mark.parametrize("argv", [
    [], ["--version"], ["--help"], ["providers", "list", "--json"], ["model", "show", "resolve"],
    ["resolve", "--help"], ["resolve", "-h"], ["resolve", "gpt-4o", "--probe"],
    ["resolve", "gpt-4o", "--timeout", "3"], ["resolve", "gpt-4o", "--unknown"],
    ["resolve", "a", "b"], ["resolve", "--", "gpt-4o"], ["resolve", "-"],
    ["resolve", "gpt-4o", "--json", "--json"], ["resolve", "--format", "env", "--format", "json"],
    ["resolve", "--agent"], ["resolve", "--agent", "--json"], ["resolve", "--json=1"],
    ["--db"], ["--db", "x"], ["--db", "x", "--db", "y", "resolve"], ["--version", "resolve"],
    ["--verbose", "resolve"], ["resolve", "--db", "x.db"], ["--user", "--db", "resolve"],
    ["exec"], ["exec", "gpt-4o"], ["exec", "gpt-4o", "python", "agent.py"],  # no `--`
    ["exec", "--help"], ["exec", "gpt-4o", "--probe", "--", "x"], ["exec", "--timeout", "3", "--", "x"],
    ["exec", "--mask", "--no-mask", "--", "x"], ["exec", "--quiet", "--quiet", "--", "x"],
    ["exec", "a", "b", "--", "x"], ["exec", "--json", "--", "x"], ["exec", "--agent", "--", "x"],
    ["exec", "--reveal", "--", "x"], ["resolve", "--mask"], ["resolve", "--quiet"],
])
def test_everything_else_goes_to_typer(argv):
    assert parse_fast(argv) is None


def test_parse_fast_collects_the_exec_options_and_cmd_untouched():
    assert parse_fast(["exec", "--no-mask", "m", "--agent=bot", "--", "sh", "-c", "--", "--quiet"]) == {
        "command": "exec", "--mask": "--no-mask", "model": "m", "--agent": "bot",
        "cmd": ["sh", "-c", "--", "--quiet"]}


@pytest.mark.parametrize("argv, ref", [
    (["providers", "show", "Work", "--json"], "Work"),
    (["providers", "show", "--json", "openai/Work"], "openai/Work"),
    (["--db", "/x.db", "--user=bob", "providers", "show", "Work", "--json"], "Work"),
])
def test_fast_path_serves_providers_show_json(argv, ref):
    assert parse_fast(argv) is None
    assert parse_show(argv)["ref"] == ref


@pytest.mark.parametrize("argv", [
    ["providers", "show", "Work"],  # text: a Rich table, Typer's
    ["providers", "show", "Work", "--json", "--json"], ["providers", "show", "--json"],
    ["providers", "show", "a", "b", "--json"], ["providers", "show", "-x", "--json"],
    ["providers", "show", "--", "--json"], ["providers", "show", "Work", "--help"],
    ["providers", "list", "--json"], ["providers"], ["show", "Work", "--json"],
    ["--verbose", "providers", "show", "Work", "--json"], ["providers", "--db", "x", "show", "W", "--json"],
    ["providers", "show", "W\udcff", "--json"],  # not UTF-8: Typer refuses it (exit 2)
])
def test_every_other_providers_invocation_goes_to_typer(argv):
    assert parse_show(argv) is None


def test_parse_fast_collects_the_options():
    assert parse_fast(["--db=/x", "resolve", "--agent", "bot", "m", "--format=env", "--reveal"]) == {
        "--db": "/x", "command": "resolve", "--agent": "bot", "model": "m", "--format": "env",
        "--reveal": "--reveal"}


# ---------------------------------------------------------------- 2. both paths, same output

# Runs provctl as its console script does (main() reads sys.argv), recording the imported
# modules when the process ends — also through the fast path's os._exit, which skips
# `finally` blocks and atexit handlers.
WRAPPER = textwrap.dedent("""
    import os, sys
    mode = sys.argv.pop(1)
    sys.argv[0] = "provctl"

    def dump(marker=""):
        with open(os.environ["_PROVCTL_TEST_MODULES"], "w") as f:
            f.write("\\n".join(sorted(sys.modules)) + marker)

    real_exit, real_execve = os._exit, os.execve

    def exit_now(code):
        dump("\\n#os._exit")
        real_exit(code)

    def execve(*args):  # exec --no-mask: provctl becomes CMD here
        dump("\\n#execve")
        real_execve(*args)

    os._exit = exit_now
    os.execve = execve
    try:
        if mode == "fast":
            from provctl.entry import main
        else:
            from provctl.cli import main
        main()
    finally:
        dump()
""")

SETUP = textwrap.dedent("""
    import sys
    import keyring
    from typer.testing import CliRunner
    from provctl.cli import app

    runner = CliRunner()

    def run(*args, input=None):
        result = runner.invoke(app, list(args), input=input)
        assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        return result.stdout

    keys = dict(line.split("=", 1) for line in sys.stdin.read().splitlines())
    run("connect", "openai", "--label", "Work", "--key-stdin", input=keys["WORK"])
    run("connect", "openai", "--label", "CI", "--key-env", "CI_KEY", "--key-source", "env")
    run("connect", "openai", "--label", "Old", "--key-stdin", input="sk-old-" + "o" * 30)
    run("providers", "disable", "Old")
    run("connect", "openai", "--label", "Sub", "--auth", "subscription", "--key-stdin",
        "--expires-at", "2020-01-01T00:00:00Z", input="sk-sub-" + "s" * 30)
    run("connect", "openai", "--label", "Gone", "--key-stdin", input="sk-gone-" + "g" * 30)
    run("connect", "openai", "--label", "Both", "--key-env", "BOTH_KEY", "--key-stdin",
        "--key-source", "env,keyring", input="sk-both-" + "b" * 30)
    run("connect", "anthropic", "--label", "Claude", "--key-stdin", input=keys["CLAUDE"])
    run("connect", "openai-compatible", "--label", "Gateway", "--auth", "local",
        "--base-url", "http://127.0.0.1:9999/v1")
    run("connect", "ollama", "--label", "Laptop")
    run("model", "add", "chain", "--provider", "openai", "--upstream", "gpt-4o-2024-08-06",
        "--attach", "Old", "--attach", "Sub", "--attach", "CI", "--attach", "Work")
    run("model", "add", "kr", "--provider", "openai", "--attach", "Work")
    run("model", "add", "gone", "--provider", "openai", "--attach", "Gone", "--attach", "CI")
    run("model", "add", "both", "--provider", "openai", "--attach", "Both")
    run("model", "add", "claude", "--provider", "anthropic", "--attach", "Claude", "--default")
    run("model", "add", "gateway", "--provider", "openai-compatible", "--upstream", "meta/llama 3's",
        "--attach", "Gateway")
    run("model", "add", "laptop", "--provider", "ollama", "--attach", "Laptop")
    run("model", "add", "empty", "--provider", "mistral")
    run("model", "add", "off", "--provider", "openai", "--attach", "Work")
    run("model", "update", "off", "--disable")
    run("model", "add", "dead", "--provider", "openai", "--attach", "Old", "--attach", "Sub")
    run("--user", "bob", "model", "add", "x", "--provider", "openai")
    run("agent", "add", "bot")  # access all: no check
    run("agent", "add", "ci-only", "--access", "listed")
    run("agent", "grant", "ci-only", "openai/CI")
    run("agent", "add", "locked", "--access", "listed")  # no grants: can use nothing
    from provctl.services.connections import list_connections
    from provctl.context import AppContext
    from provctl.db.paths import resolve_db_path
    ctx = AppContext(db_path=resolve_db_path(None), user="alice")
    gone_id = next(v.id for v in list_connections(ctx) if v.label == "Gone")
    keyring.delete_password("provctl", gone_id)
""")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("fastpath")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PROVCTL_") and k != "PYTHON_KEYRING_BACKEND"}
    env.update({
        "PROVCTL_DB": str(root / "provctl.db"), "PROVCTL_USER": "alice",
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(root / "data"), "XDG_CONFIG_HOME": str(root / "config"),
        "NO_COLOR": "1", "COLUMNS": "200",
    })
    proc = subprocess.run([sys.executable, "-c", SETUP], input=f"WORK={WORK_KEY}\nCLAUDE={CLAUDE_KEY}\n",
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (root / "corrupt.db").write_bytes(b"this is not a database" * 100)
    return root, env


@dataclass
class Run:
    stdout: str
    stderr: str
    code: int
    modules: set[str] = field(default_factory=set)


def run_path(mode: str, args: list[str], env: dict[str, str], root: Path) -> Run:
    modules_file = root / f"modules-{mode}.txt"
    full_env = dict(env, _PROVCTL_TEST_MODULES=str(modules_file))
    args = [a.replace("{root}", str(root)).replace("{mode}", mode) for a in args]
    proc = subprocess.run([sys.executable, "-c", WRAPPER, mode, *args], capture_output=True,
                          text=True, env=full_env, timeout=60)
    return Run(proc.stdout, proc.stderr, proc.returncode, set(modules_file.read_text().split()))


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    env: tuple[tuple[str, str | None], ...] = ()
    keyring: bool = False  # the selected key is in the keyring: keyring may be imported
    migrates: bool = False  # a new database: creating the schema needs Alembic (once)

    def __str__(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.env)
        return " ".join([extra, *self.args]).strip()


CI = (("CI_KEY", "sk-ci-it's a \"key\" $HOME"),)
CASES = [
    # formats, selection from an env key (no keyring import)
    Case(("resolve", "chain"), 0, CI),
    Case(("resolve", "chain", "--json"), 0, CI),
    Case(("resolve", "--json", "chain"), 0, CI),
    Case(("resolve", "chain", "--format", "json", "--reveal"), 0, CI),
    Case(("resolve", "chain", "--format=env"), 0, CI),
    Case(("resolve", "chain", "--reveal"), 0, CI),
    Case(("resolve", "chain", "--json", "--format", "json", "--agent", "bot"), 0, CI),
    Case(("resolve", "CHAIN", "--agent=bot"), 0, CI),
    Case(("resolve", "both", "--json"), 0, (("BOTH_KEY", "sk-both-env"),)),
    # selection from the keyring
    Case(("resolve", "chain", "--json"), 0, keyring=True),
    Case(("resolve", "chain", "--format", "env"), 0, keyring=True),
    Case(("resolve", "kr", "--reveal"), 0, keyring=True),
    Case(("resolve", "both", "--json", "--reveal"), 0, keyring=True),
    Case(("resolve",), 0, keyring=True),  # the default model
    Case(("resolve", "--format", "env"), 0, keyring=True),
    # key_missing, then the walk goes on
    Case(("resolve", "gone", "--json"), 0, CI, keyring=True),
    Case(("resolve", "gone"), 5, keyring=True),
    Case(("resolve", "gone", "--format", "env"), 5, keyring=True),
    # keyring_unavailable (keyring's fail backend), then the walk goes on
    Case(("resolve", "kr", "--json"), 5, (("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"),), keyring=True),
    Case(("resolve", "chain"), 5, (("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"),), keyring=True),
    Case(("resolve", "chain", "--format", "env"), 0,
         (("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"), *CI)),
    # local connections: no key
    Case(("resolve", "gateway", "--format", "env"), 0),
    Case(("resolve", "gateway", "--json", "--reveal"), 0),
    Case(("resolve", "laptop"), 0),
    # exit 5
    Case(("resolve", "empty", "--json"), 5),
    Case(("resolve", "empty", "--format", "env"), 5),
    Case(("resolve", "off", "--json"), 5),
    Case(("resolve", "off"), 5),
    Case(("resolve", "dead", "--json"), 5),
    Case(("resolve", "dead", "--format", "env"), 5),
    Case(("resolve", "chain", "--json"), 5, (("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"),), keyring=True),
    # --agent: unknown is exit 3; a listed agent skips what is not granted (agent_denied)
    Case(("resolve", "chain", "--agent", "ci-only", "--json"), 0, CI),
    Case(("resolve", "chain", "--agent=CI-ONLY"), 0, CI),
    Case(("resolve", "chain", "--agent", "ci-only", "--format", "env"), 0, CI),
    Case(("resolve", "kr", "--agent", "ci-only", "--json"), 5),
    Case(("resolve", "kr", "--agent", "ci-only", "--format", "env"), 5),
    Case(("resolve", "chain", "--agent", "locked"), 5, CI),
    Case(("resolve", "dead", "--agent", "locked", "--json"), 5),
    Case(("resolve", "kr", "--agent", "bot", "--json"), 0, keyring=True),
    Case(("resolve", "chain", "--agent", "nobody"), 3, CI),
    Case(("resolve", "chain", "--agent", "nobody", "--json"), 3),
    Case(("resolve", "--agent", "nobody"), 3),
    Case(("resolve", "nope", "--agent", "nobody"), 3),
    Case(("--user", "bob", "resolve", "x", "--agent", "bot"), 3),
    # exit 3
    Case(("resolve", "nope"), 3),
    Case(("resolve", "nope", "--json"), 3),
    Case(("--user", "bob", "resolve"), 3),
    Case(("--user=carol", "resolve", "kr"), 3),
    Case(("resolve",), 3, (("PROVCTL_USER", "bob"),)),
    # exit 2: bad values the shared code rejects
    Case(("resolve", "chain", "--format", "yaml"), 2),
    Case(("resolve", "chain", "--json", "--format", "env"), 2),
    Case(("resolve", ""), 2),
    Case(("resolve", "chain", "--agent", "bad\u202ename"), 2),
    Case(("--user", " ", "resolve", "chain"), 2),
    Case(("--user", "", "resolve", "chain"), 2),
    Case(("--db", "", "resolve", "chain"), 2),
    Case(("--db=", "resolve", "chain"), 2),
    # global options
    Case(("--db", "{root}/provctl.db", "resolve", "kr"), 0, (("PROVCTL_DB", None),), keyring=True),
    Case(("--db={root}/provctl.db", "--user", "alice", "resolve", "chain", "--json"), 0,
         (("PROVCTL_DB", "/nonexistent/elsewhere.db"), *CI)),
    Case(("--db", "{root}/fresh-{mode}/provctl.db", "resolve", "kr"), 3, migrates=True),
    Case(("--db", "{root}/corrupt.db", "resolve", "kr"), 1),
    # --format key
    Case(("resolve", "chain", "--format", "key"), 0, CI),
    Case(("resolve", "kr", "--format=key"), 0, keyring=True),
    Case(("resolve", "gateway", "--format", "key"), 0),
    Case(("resolve", "dead", "--format", "key"), 5),
    # providers show REF --json: served by the fast path too
    Case(("providers", "show", "Work", "--json"), 0, keyring=True),
    Case(("providers", "show", "--json", "openai/CI"), 0, CI),
    Case(("providers", "show", "Both", "--json"), 0, keyring=True),
    Case(("providers", "show", "Gone", "--json"), 0, keyring=True),
    Case(("providers", "show", "Laptop", "--json"), 0),
    Case(("providers", "show", "Work", "--json"), 0, (("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"),),
         keyring=True),
    Case(("providers", "show", "nope", "--json"), 3),
    Case(("providers", "show", "", "--json"), 3),
    Case(("--user", "bob", "providers", "show", "Work", "--json"), 3),
    Case(("--user=", "providers", "show", "Work", "--json"), 2),
    Case(("--db", "{root}/corrupt.db", "providers", "show", "Work", "--json"), 1),
]

# exec: CMD prints what it was handed (a secret shows as <masked> unless --no-mask)
SHOW = ("sh", "-c", 'printf "%s|%s|%s|%s|%s\\n" "$PROVCTL_CONNECTION" "$PROVCTL_MODEL" "$OPENAI_API_KEY" '
        '"${ANTHROPIC_API_KEY-unset}" "${ANTHROPIC_AUTH_TOKEN-unset}"; echo "to stderr $PROVCTL_API_KEY" >&2; '
        'exit "${1:-0}"', "sh")
CASES += [
    Case(("exec", "chain", "--", *SHOW), 0, CI),  # pipes: masked by default
    Case(("exec", "chain", "--no-mask", "--", *SHOW), 0, CI),
    Case(("exec", "--quiet", "chain", "--no-mask", "--", *SHOW), 0, CI),
    Case(("exec", "chain", "--mask", "--agent", "bot", "--", *SHOW, "3"), 3, CI),
    Case(("exec", "kr", "--no-mask", "--", *SHOW, "4"), 4, keyring=True),
    Case(("exec", "--mask", "--", *SHOW), 0, (("ANTHROPIC_AUTH_TOKEN", "inherited"),), keyring=True),
    Case(("exec", "claude", "--no-mask", "--", *SHOW), 0, (("ANTHROPIC_AUTH_TOKEN", "inherited"),),
         keyring=True),
    Case(("exec", "gateway", "--no-mask", "--", *SHOW), 0, (("OPENAI_API_KEY", "sk-inherited"),)),
    Case(("exec", "laptop", "--", "sh", "-c", 'echo "$OLLAMA_HOST"'), 0),
    Case(("exec", "gone", "--mask", "--", *SHOW), 0, CI, keyring=True),
    Case(("exec", "dead", "--", "touch", "{root}/started-{mode}"), 5),
    Case(("exec", "empty", "--quiet", "--", "true"), 5),
    Case(("exec", "nope", "--", "true"), 3),
    Case(("exec", "chain", "--", "no-such-command-xyz"), 127, CI),
    Case(("exec", "chain", "--no-mask", "--", "/etc/passwd"), 126, CI),
    Case(("exec", "chain", "--"), 2, CI),
    Case(("exec", "chain", "--agent", "bad\u202ename", "--", "true"), 2, CI),
    Case(("--user", "bob", "exec", "--", "true"), 3),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_path_and_typer_app_print_the_same(world, case):
    root, base_env = world
    env = dict(base_env)
    for key, value in case.env:
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    fast = run_path("fast", list(case.args), env, root)
    slow = run_path("typer", list(case.args), env, root)
    assert "typer" in slow.modules  # the reference really is the Typer app
    # served by the fast path, which skips teardown (or became CMD: exec --no-mask)
    assert "#os._exit" in fast.modules or "#execve" in fast.modules
    assert (fast.stdout, fast.stderr, fast.code) == (slow.stdout, slow.stderr, slow.code)
    assert fast.code == case.code, fast.stderr
    assert "Traceback" not in fast.stderr
    heavy = sorted({m.split(".")[0] for m in fast.modules} & set(HEAVY))
    if case.migrates:
        assert set(heavy) <= {"alembic", "sqlalchemy", "sqlmodel"}
    else:
        assert heavy == [], f"the fast path imported {heavy}"
    if not case.keyring:
        assert "keyring" not in fast.modules


def test_env_output_evaluates_in_sh(world):
    root, env = world
    fast = run_path("fast", ["resolve", "chain", "--format", "env"], dict(env, **dict(CI)), root)
    script = fast.stdout + 'printf "%s|%s|%s" "$OPENAI_API_KEY" "$PROVCTL_MODEL" "$PROVCTL_CONNECTION"'
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout
    assert out == "sk-ci-it's a \"key\" $HOME|gpt-4o-2024-08-06|openai/api_key/CI"
    gateway = run_path("fast", ["resolve", "gateway", "--format", "env"], env, root)
    out = subprocess.run(["sh", "-c", gateway.stdout + 'printf %s "$PROVCTL_MODEL"'], capture_output=True, text=True).stdout
    assert out == "meta/llama 3's"


def test_fast_path_checks_the_agents_access(world):
    root, env = world
    fast = run_path("fast", ["resolve", "chain", "--agent", "CI-only", "--json"], dict(env, **dict(CI)), root)
    doc = json.loads(fast.stdout)
    assert (fast.code, doc["agent"], doc["selected"]["label"]) == (0, "ci-only", "CI")
    assert [(c["label"], c["outcome"], c["reason"]) for c in doc["candidates"]] == [
        ("Old", "skipped", "agent_denied"), ("Sub", "skipped", "agent_denied"),
        ("CI", "selected", None), ("Work", "not_tried", None)]
    assert "keyring" not in fast.modules  # the access check reads no keyring
    unknown = run_path("fast", ["resolve", "chain", "--agent", "nobody"], env, root)
    assert (unknown.code, unknown.stdout) == (3, "")
    assert unknown.stderr == ("Error: no agent named 'nobody'\n"
                              "Hint: see `provctl agent list`, or add it with `provctl agent add nobody`\n")


def test_keyring_key_resolve_imports_keyring_but_nothing_heavy(world):
    root, env = world
    fast = run_path("fast", ["resolve", "kr", "--json", "--reveal"], env, root)
    assert fast.code == 0 and WORK_KEY in fast.stdout
    assert "keyring" in fast.modules
    assert not [m for m in fast.modules if m.split(".")[0] in HEAVY]


def test_version_is_served_without_typer(world):
    root, env = world
    fast = run_path("fast", ["--version"], env, root)
    assert fast.code == 0 and fast.stdout.startswith("provctl ")
    assert "typer" not in fast.modules


def test_help_and_probe_go_to_typer(world):
    root, env = world
    helped = run_path("fast", ["resolve", "--help"], env, root)
    assert helped.code == 0 and "Examples:" in helped.stdout and "typer" in helped.modules
    unknown = run_path("fast", ["resolve", "kr", "--bogus"], env, root)
    assert unknown.code == 2 and "No such option" in unknown.stderr


DISCOVERY = textwrap.dedent("""
    import sys
    from provctl.keystore import _all_keyrings
    ours = sorted(f"{type(b).__module__}.{type(b).__name__}" for b in _all_keyrings())
    foreign = sorted(m for m in sys.modules if m.startswith(("keyring.backends.macOS", "keyring.backends.Windows")))
    import keyring.backend
    theirs = sorted(f"{type(b).__module__}.{type(b).__name__}" for b in keyring.backend.get_all_keyring())
    print(ours == theirs, foreign if sys.platform.startswith("linux") else [], ours)
""")


def test_keyring_discovery_finds_what_keyring_finds_without_importing_other_os_backends(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", DISCOVERY], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("True [] "), proc.stdout


def test_exec_hands_the_variables_through_the_fast_path(world):
    root, env = world
    env = dict(env, **dict(CI), ANTHROPIC_API_KEY="sk-ant-inherited")
    masked = run_path("fast", ["exec", "chain", "--", *SHOW], env, root)
    assert masked.stdout == "openai/api_key/CI|gpt-4o-2024-08-06|<masked>|sk-ant-inherited|unset\n"
    assert masked.stderr.endswith("to stderr <masked>\n")
    plain = run_path("fast", ["exec", "chain", "--no-mask", "--", *SHOW], env, root)
    assert plain.stdout.split("|")[2] == CI[0][1]
    claude = run_path("fast", ["exec", "claude", "--no-mask", "--", *SHOW], dict(env, ANTHROPIC_AUTH_TOKEN="tok"), root)
    assert claude.stdout == f"anthropic/api_key/Claude|claude||{CLAUDE_KEY}|unset\n"
    dead = run_path("fast", ["exec", "dead", "--", "touch", str(root / "started")], env, root)
    assert dead.code == 5 and not (root / "started").exists()
