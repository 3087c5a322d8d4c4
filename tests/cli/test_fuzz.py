"""Property-based fuzzing of the CLI's edges (issue 10): generated argv values (markup, escape
sequences, control and invisible characters, bytes that are not UTF-8 as Python hands them
over: lone surrogates), keys on stdin, and generated `.env` and `.json` inventories.

For every generated invocation, and for the listings run after it (which print whatever it
stored):
  * no traceback, and an exit code from the documented table, never 1 ("a bug");
  * no control character but the newline, no invisible format or separator character and no
    surrogate on stdout or stderr: whatever was supplied, it is printed as data.

CI budget: the ``ci`` profile (the default) runs a fixed, derandomized set of examples —
``ARGV_EXAMPLES`` + ``FILE_EXAMPLES`` = 150 generated cases, each one invocation and one or
two listings — about 20 s on one core. Set ``HYPOTHESIS_PROFILE=deep`` to explore (random,
2,000 + 1,000 cases).
"""

from __future__ import annotations

import json
import os
import shutil
import string
import unicodedata
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from provctl.context import AppContext
from provctl.keystore import MemoryKeyStore
from tests.support.rows import NOW

ARGV_EXAMPLES = 100
FILE_EXAMPLES = 50
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.function_scoped_fixture],
               database=None)
settings.register_profile("ci", max_examples=ARGV_EXAMPLES, derandomize=True, **_COMMON)
settings.register_profile("deep", max_examples=2_000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
SCALE = 1 if PROFILE == "ci" else 2_000 / ARGV_EXAMPLES

DOCUMENTED = {0, 2, 3, 4, 5, 6}  # SPEC §2; 1 means "a bug" and hostile input must not cause it
HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs"}

# ------------------------------------------------------------------------- strategies

SNIPPETS = [
    "[/x]", "[bold red]", "[/bold red]", "[link=https://evil.example]Work[/link]", "[/]", "\\[x]",
    ":smile:", "\x1b[2J", "\x1b]0;pwned\x07", "\x1b]8;;https://evil.example\x1b\\", "\x9b31m",
    "\x07", "\x08", "\r", "\n", "\t", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\u200b",
    "\ufeff", "\u00ad", "\u2028", "\u2029", "\U000e0041", "\udcff", "\udce9", "\udc80",
    "Work", "openai", "ollama", "sk-proj-0123456789abcdef0123", "http://[::1", "http://u:p@h/v1",
    "http://127.0.0.1:9/v1", "%s", "{}", "'", '"', "$(id)", "`id`", "-", "--", "--json", "/",
    "openai/api_key/Work", "nan", "inf", "1e10", "-1", "99999999999999999999999", " ", "Ｗｏｒｋ",
]

any_char = st.one_of(st.characters(),  # every code point but surrogates, and then those of
                     st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF))  # undecodable bytes
hostile_text = st.one_of(
    st.sampled_from(SNIPPETS),
    st.lists(st.one_of(st.sampled_from(SNIPPETS), st.text(any_char, max_size=4),
                       st.text(string.printable, max_size=6)), min_size=1, max_size=5).map("".join),
    st.text(any_char, min_size=1, max_size=12),
)

X = object()  # a placeholder for a generated value
TEMPLATES = [
    ["connect", "ollama", "--label", X],
    ["connect", X],
    ["connect", "ollama", X],
    ["connect", "openai-compatible", "--auth", "local", "--base-url", X, "--label", X],
    ["connect", "openai", "--label", X, "--key-env", X],
    ["connect", "openai", "--label", "K", "--key-stdin", "--key-source", X],
    ["connect", "openai", "--auth", "subscription", "--key-stdin", "--expires-at", X],
    ["connect", "ollama", "--label", "L2", "--agent", X],
    ["providers", "show", X],
    ["providers", "rename", "Laptop", X],
    ["providers", "list", "--status", X],
    ["providers", "list", "--provider", X],
    ["providers", "models", X],
    ["providers", "refresh", X, "--timeout", X],
    ["providers", "set-key", X, "--key-env", X],
    ["model", "add", X, "--provider", "ollama"],
    ["model", "add", "m2", "--provider", "ollama", "--upstream", X, "--attach", X],
    ["model", "update", "m", "--upstream", X],
    ["model", "show", X],
    ["model", "attach", "m", X],
    ["model", "attach", "m", "Laptop", "--priority", X],
    ["model", "reorder", "m", X, X],
    ["resolve", X],
    ["resolve", "m", "--agent", X],
    ["resolve", "m", "--format", X],
    ["resolve", "m", "--probe", "--timeout", X],
    ["agent", "add", X, "--display-name", X],
    ["agent", "remove", X],
    ["--user", X, "providers", "list"],
    ["migrate-lift", "--undo", X],
    ["migrate-lift", "--format", X],
    [X],
    [X, X, X],
]
LISTINGS = [["providers", "list"], ["model", "list"], ["model", "show", "m"], ["agent", "list"],
            ["resolve", "m"], ["providers", "list", "--json"], ["migrate-lift", "--dry-run"],
            ["export"]]
listings = st.lists(st.sampled_from(LISTINGS), min_size=1, max_size=2, unique_by=tuple)


@st.composite
def invocations(draw):
    template = draw(st.sampled_from(TEMPLATES))
    args = [draw(hostile_text) if part is X else part for part in template]
    stdin = None
    if "--key-stdin" in args:
        stdin = draw(st.one_of(st.binary(max_size=40),
                               hostile_text.map(lambda t: t.encode("utf-8", "surrogateescape"))))
    return args, stdin


# ------------------------------------------------------------------------- the harness

_serial = count()


@pytest.fixture(scope="module")
def world(tmp_path_factory, migrated_template):
    """A database template with one connection, one model and one agent to aim at."""
    from provctl.cli import app

    folder = tmp_path_factory.mktemp("fuzz")
    template = folder / "template.db"
    shutil.copyfile(migrated_template, template)
    ctx = context(template)
    runner = CliRunner()
    for args in (["connect", "ollama", "--label", "Laptop"],
                 ["model", "add", "m", "--provider", "ollama"], ["agent", "add", "bot"]):
        assert runner.invoke(app, args, obj=ctx).exit_code == 0
    return folder, template


def context(path) -> AppContext:
    store = MemoryKeyStore()
    return AppContext(db_path=path, user="alice", environ={}, keystore_factory=lambda: store,
                      clock=lambda: NOW)


def fresh_context(world) -> AppContext:
    """A copy of the template database and an empty key store, for one generated case."""
    folder, template = world
    path = folder / f"run{next(_serial)}.db"
    shutil.copyfile(template, path)
    path.chmod(0o600)
    return context(path)


def check(result, args) -> None:
    where = (args, result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        where, repr(result.exception))
    assert result.exit_code in DOCUMENTED, where
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, where
        bad = [ch for ch in stream if ch != "\n" and unicodedata.category(ch) in HIDDEN]
        assert not bad, (where, bad)


def run(ctx: AppContext, args, stdin=None):
    from provctl.cli import app

    result = CliRunner().invoke(app, args, input=stdin, obj=ctx)
    check(result, args)
    return result


def run_with_listings(ctx: AppContext, args, stdin, shows) -> None:
    run(ctx, args, stdin)
    for listing in shows:  # print whatever the invocation stored (each example draws 1–2)
        run(ctx, listing)


# ------------------------------------------------------------------------- the properties


@settings(settings.get_profile(PROFILE), max_examples=int(ARGV_EXAMPLES * SCALE))
@given(case=invocations(), shows=listings)
def test_generated_arguments_never_crash_and_never_reach_the_terminal_raw(world, case, shows):
    args, stdin = case
    run_with_listings(fresh_context(world), args, stdin, shows)


json_leaf = st.one_of(st.none(), st.booleans(), hostile_text, st.integers(), st.floats())
entry_fields = st.fixed_dictionaries(
    {"provider": st.one_of(st.sampled_from(["ollama", "openai", "openai-compatible"]), hostile_text)},
    optional={"agent": st.one_of(st.none(), hostile_text), "label": hostile_text,
              "auth_type": st.sampled_from(["local", "api_key", "subscription"]),
              "base_url": hostile_text, "key_env": hostile_text, "key": hostile_text,
              "key_source": hostile_text, "expires_at": hostile_text, "enabled": json_leaf})
model_fields = st.fixed_dictionaries(
    {"name": hostile_text, "provider": st.sampled_from(["ollama", "openai"])},
    optional={"upstream_model": hostile_text, "connections": st.lists(hostile_text, max_size=3),
              "default": json_leaf})
plausible_entry = st.fixed_dictionaries(  # valid but for its names: gets stored, then listed
    {"provider": st.just("ollama"), "label": st.one_of(st.sampled_from(SNIPPETS), hostile_text)},
    optional={"agent": st.one_of(st.none(), hostile_text)})
inventory = st.one_of(
    st.fixed_dictionaries({"connections": st.lists(plausible_entry, min_size=1, max_size=2)}),
    st.fixed_dictionaries({"connections": st.lists(st.one_of(plausible_entry, entry_fields), max_size=3)},
                          optional={"models": st.lists(model_fields, max_size=2)}),
    st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(hostile_text, inner, max_size=3)),
                 max_leaves=8),
)
env_line = st.one_of(
    st.tuples(st.sampled_from(["OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
                               "ANTHROPIC_BASE_URL", "export OPENAI_API_KEY"]),
              hostile_text).map(lambda kv: f"{kv[0]}={kv[1]}"),
    hostile_text,
)


def _inventory_bytes(doc, ascii_only: bool, bom: bool) -> bytes:
    text = json.dumps(doc, ensure_ascii=ascii_only)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogateescape")


@settings(settings.get_profile(PROFILE), max_examples=int(FILE_EXAMPLES * SCALE))
@given(kind=st.sampled_from(["json", "env"]), doc=inventory, lines=st.lists(env_line, max_size=5),
       ascii_only=st.booleans(), bom=st.booleans(), agent=hostile_text, dry_run=st.booleans(),
       tail=st.binary(max_size=8), shows=listings)
def test_generated_inventory_files_never_crash_and_never_reach_the_terminal_raw(
        world, kind, doc, lines, ascii_only, bom, agent, dry_run, tail, shows):
    ctx = fresh_context(world)
    folder = ctx.db_path.parent
    path = folder / f"in{next(_serial)}.{kind}"
    if kind == "json":
        data = _inventory_bytes(doc, ascii_only, bom)
        args = ["import", str(path)]
    else:
        data = (b"\xef\xbb\xbf" if bom else b"") + "\n".join(lines).encode("utf-8", "surrogateescape") + tail
        args = ["import", str(path), "--agent", agent]
    path.write_bytes(data)
    run_with_listings(ctx, args + (["--dry-run"] if dry_run else []), None, shows)
