"""Hostile input at the boundaries (issue 10; SPEC §1, §2, §4, §7): supplied values are printed
as data, bytes that are not UTF-8 are a usage error, files are regular and bounded, and
endpoints cannot stretch a deadline, flood memory or plant a key. One test (at least) per
finding; the finding's number is in the test's docstring."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.checks import assert_error, sql
from tests.support.fakeprovider import gzip_reply, json_reply, models_reply, trickle_reply
from tests.support.legacy import Legacy

KEY = "sk-proj-HOSTILE-SECRET-0123456789abcdef"
UTF8_HINT = ("provctl reads its arguments as UTF-8 text; convert the value (e.g. with iconv -t "
             "UTF-8)")
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # any control but the newline


def no_raw_controls(result) -> None:
    for text in (result.stdout, result.stderr):
        assert not CONTROL.search(text), text


# ------------------------------------------------------------- 1, 2, 3: values are data


MARKUP = ["[/x]", "[link=https://evil.example]Work[/link]", "[bold red]loud[/bold red]"]


@pytest.mark.parametrize("label", MARKUP)
def test_labels_that_look_like_markup_are_printed_literally(cli, label):
    """1: a label `[/x]` made `providers list` exit 1; `[link=…]Work[/link]` showed `Work`."""
    cid = cli.connect("ollama", "--label", label)
    listing = cli("providers", "list")
    assert listing.exit_code == 0, listing.stderr
    assert label in listing.stdout
    show = cli("providers", "show", cid)
    assert show.exit_code == 0 and label in show.stdout
    assert f"Connected ollama/local/{label}" in cli("connect", "ollama", "--label", label + "2").stderr


def test_model_agent_and_connected_via_names_are_printed_literally(cli):
    """1: model names (model list/show), agent names (agent list) and --agent in providers show."""
    cid = cli.connect("ollama", "--label", "Laptop", "--agent", "[/agent]")
    assert cli("model", "add", "[/m]", "--provider", "ollama", "--attach", cid).exit_code == 0
    for args, text in ((("model", "list"), "[/m]"), (("model", "show", "[/m]"), "[/m]"),
                       (("agent", "list"), "[/agent]"), (("providers", "show", cid), "[/agent]")):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert text in result.stdout


def test_import_of_a_markup_name_commits_and_exits_0(cli, tmp_path):
    """1: an import with such a name committed, then exited 1 (a script believed it failed)."""
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"connections": [
        {"agent": "[/bot]", "provider": "ollama", "auth_type": "local", "label": "[/x]"}]}))
    result = cli("import", str(inv))
    assert result.exit_code == 0, result.stderr
    assert "[/bot]" in result.stdout and "[/x]" in result.stdout


def test_stored_control_characters_are_shown_escaped_everywhere(cli, db_path):
    """1, 2, 3: values stored before these rules (or by another tool) still never reach the
    terminal raw: tables, notes, resolve lines and JSON show them escaped."""
    cid = cli.connect("openai", "--label", "Work", key=KEY)
    sql(db_path, "UPDATE connections SET label = ?, base_url = ? WHERE id = ?",
        ("W\x1b[2Jork\u202e", "http://h/v1\x1b]0;pwned\x07", cid))
    sql(db_path, "INSERT INTO discovered_models (connection_id, model_id, discovered_at) "
                 "VALUES (?, ?, ?)", (cid, "\x1b[2J\x1b]0;pwned\x07\x9b", "2026-01-01T00:00:00.000000Z"))
    cli("model", "add", "m", "--provider", "openai", "--attach", cid)
    for args in (("providers", "list"), ("providers", "show", cid), ("providers", "models", cid),
                 ("model", "show", "m"), ("resolve", "m"), ("resolve", "m", "--json"),
                 ("providers", "list", "--json"), ("providers", "models", cid, "--json")):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        no_raw_controls(result)
    models = cli("providers", "models", cid)
    assert "\\x1b[2J\\x1b]0;pwned\\x07\\x9b" in models.stdout
    resolved = cli("resolve", "m").stdout.splitlines()
    assert resolved == ["openai/api_key/W\\x1b[2Jork\\u202e", "http://h/v1\\x1b]0;pwned\\x07"]
    doc = json.loads(cli("providers", "models", cid, "--json").stdout)
    assert doc[0]["id"] == "\x1b[2J\x1b]0;pwned\x07\x9b"  # JSON: the exact value, escaped as \u001b
    renamed = cli("providers", "disable", cid)  # a note naming the connection
    assert renamed.stderr == "Disabled openai/api_key/W\\x1b[2Jork\\u202e.\n"


def test_endpoint_model_ids_are_checked_and_printed_as_data(cli, fake):
    """2: ids such as `\\x1b[2J…` cleared the screen, `[bold red]…` was styled, `[/x]` made
    `providers models` exit 1. Unprintable or over-long ids are dropped and counted; markup is
    kept and printed literally."""
    fake.set("/v1/models", models_reply("openai", "\x1b[2J\x1b]0;pwned\x07", "[bold red]gpt-4o[/bold red]",
                                        "[/x]", "x" * 257, "ok-\u200b", "gpt-4o"))
    cid = cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    refreshed = cli("providers", "refresh", cid, "--json")
    assert refreshed.exit_code == 0, refreshed.stderr
    assert json.loads(refreshed.stdout) == [{
        "id": cid, "label": "Work", "result": "ok", "models": 3,
        "detail": "dropped 3 model ids: 3 not printable or longer than 256 characters"}]
    listing = cli("providers", "models", cid)
    assert listing.exit_code == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines()[1:]] == [
        "[/x]", "[bold", "gpt-4o"]
    assert "[bold red]gpt-4o[/bold red]" in listing.stdout
    no_raw_controls(listing)


# ------------------------------------------------------------- 3, 6, 22: base URLs


@pytest.mark.parametrize("url, problem", [
    ("http://h/v1\x1b[2J", "it contains a control character (U+001B)"),
    ("http://h/v1\n", None),  # trimmed: surrounding whitespace is not part of the URL
    ("http://h/\nv1", "it contains a control character (U+000A)"),
    ("http://h/v 1", "it contains whitespace"),
    ("http://h\u200b/v1", "it contains an invisible character (U+200B)"),
    ("http://[::1", "invalid IPv6 address"),
    ("http://[::1/v1", "invalid IPv6 address"),
    ("http://user:pw@host/v1", "it contains credentials (user:password@)"),
    ("http://token@host/v1", "it contains credentials (user:password@)"),
    ("http://h:99999/v1", "bad port"),
])
def test_base_urls_with_controls_whitespace_credentials_or_bad_ipv6_are_exit_2(cli, db_path, url, problem):
    """3, 6, 22: control characters and `\\n` were accepted (and printed raw later);
    `http://[::1` was exit 1; `http://user:pw@host/` stored and printed the password."""
    result = cli("connect", "openai-compatible", "--auth", "local", "--base-url", url)
    if problem is None:
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: invalid base URL '")
    assert result.stderr.splitlines()[0].endswith(f": {problem}")
    assert "pw@" not in result.stderr
    no_raw_controls(result)
    assert sql(db_path, "SELECT count(*) FROM connections") == [(0,)]


def test_bad_base_urls_in_a_dotenv_and_an_inventory_name_their_place(cli, tmp_path):
    """3, 6: from a .env import (line and variable) and from an inventory (`connections[i]:`)."""
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY}\nOPENAI_BASE_URL='http://h/v1\x1b[2J'\n")
    result = cli("import", str(env), "--agent", "bot")
    assert_error(result, 2, "line 2 (OPENAI_BASE_URL): invalid base URL 'http://h…' (15 characters): "
                 "it contains a control character (U+001B)")
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"connections": [
        {"provider": "ollama", "label": "ok"},
        {"provider": "ollama", "label": "v6", "base_url": "http://[::1"}]}))
    result = cli("import", str(inv))
    assert_error(result, 2, "connections[1]: invalid base URL 'http://[…' (11 characters): invalid IPv6 "
                 "address")


# ------------------------------------------------------------- 13: rejected values are echoed short


def test_a_key_in_the_wrong_field_is_echoed_as_8_characters_and_a_length(cli, tmp_path):
    """13: `.env` `OPENAI_BASE_URL=sk-…` and an inventory `key_env: "sk-…"` echoed the key."""
    env = tmp_path / "bot.env"
    env.write_text(f"OPENAI_API_KEY={KEY}\nOPENAI_BASE_URL={KEY}\n")
    result = cli("import", str(env), "--agent", "bot")
    assert result.exit_code == 2
    assert KEY not in result.stderr and KEY[8:] not in result.stderr
    assert f"invalid base URL 'sk-proj-…' ({len(KEY)} characters)" in result.stderr
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"connections": [{"provider": "openai", "key_env": KEY}]}))
    result = cli("import", str(inv))
    assert_error(result, 2, f"connections[0]: invalid environment variable name 'sk-proj-…' "
                 f"({len(KEY)} characters)")
    for args in (("connect", "openai", "--key-env", KEY), ("connect", KEY),
                 ("connect", "openai", "--auth", KEY, "--key-env", "X"),
                 ("connect", "openai", "--key-env", "X", "--key-source", KEY),
                 ("connect", "openai", "--auth", "subscription", "--key-env", "X", "--expires-at", KEY),
                 ("resolve", "m", "--format", KEY), ("providers", "list", "--status", KEY)):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert KEY not in result.stderr and "'sk-proj-…' (" in result.stderr, (args, result.stderr)


# ------------------------------------------------------------- 4, 5: bytes that are not UTF-8


BAD = "caf\udce9"  # b"caf\xe9" (Latin-1) as Python decodes argv: surrogateescape


@pytest.mark.parametrize("args", [
    ("connect", "ollama", "--label", BAD),
    ("connect", "ollama", f"--label={BAD}"),
    ("connect", "ollama", "--agent", BAD),
    ("--user", BAD, "providers", "list"),
    ("providers", "rename", "x", BAD),
    ("model", "add", BAD, "--provider", "openai"),
    ("model", "update", "m", "--upstream", BAD),
    ("model", "show", BAD),
    ("resolve", BAD),
    ("resolve", "m", "--agent", BAD),
    ("agent", "add", BAD),
    ("agent", "add", "bot", "--display-name", BAD),
    ("agent", "remove", BAD),
])
def test_arguments_that_are_not_utf8_are_exit_2(cli, args):
    """4: each of these was exit 1 (`unexpected UnicodeEncodeError`)."""
    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"Error: (the (value of|argument after) --[a-z-]+|argument \d+) is not valid "
                        r"UTF-8: 'caf\\xe9'",
                        lines[0]), lines
    assert lines[1:] == [f"Hint: {UTF8_HINT}"]
    assert result.stdout == ""


def test_arguments_after_a_double_dash_are_not_provctls(cli):
    """4: what follows `--` is the argv of the command `exec` runs: not checked here."""
    from provctl.entry import undecodable_argument

    assert undecodable_argument(["exec", "m", "--", "cat", BAD]) is None
    assert undecodable_argument(["exec", BAD, "--", "cat"]) == "argument 2 is not valid UTF-8: 'caf\\xe9'"


def _console(tmp_path, *args, stdin: bytes = b"", env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_")}
    env.update({"PROVCTL_DB": str(tmp_path / "provctl.db"), "PROVCTL_USER": "alice",
                "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
                "XDG_DATA_HOME": str(tmp_path / "data"), **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "provctl", *args], input=stdin,
                          capture_output=True, env=env, timeout=60)


def test_non_utf8_argv_in_a_real_process_is_exit_2_also_on_the_fast_path(tmp_path):
    """4: real bytes on a real argv, in the C locale too, for Typer and for the resolve fast path."""
    for args in ([b"connect", b"ollama", b"--label", b"\xff"], [b"resolve", b"caf\xe9"],
                 [b"resolve", b"m", b"--agent=\xff"]):
        for lang in ("C.UTF-8", "C"):
            proc = _console(tmp_path, *args, env_extra={"LC_ALL": lang, "LANG": lang})
            assert proc.returncode == 2, (args, lang, proc.stderr)
            assert b"is not valid UTF-8" in proc.stderr and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [("connect", "openai", "--label", "K"), ("providers", "set-key", "Work")])
def test_a_key_on_stdin_that_is_not_utf8_is_exit_2(cli, tmp_path, command, keystore):
    """5: `printf '\\xff\\xfe' | provctl connect … --key-stdin` (and set-key) was exit 1."""
    cli.connect("openai", "--label", "Work", key=KEY)
    before = dict(keystore.secrets)
    result = cli(*command, "--key-stdin", input=b"\xff\xfe")
    assert_error(result, 2, "the key on stdin is not valid UTF-8", "give the key as UTF-8 text")
    assert keystore.secrets == before
    if command[0] == "connect":  # a real process in the C locale, where stdin is surrogateescape
        proc = _console(tmp_path, *command, "--key-stdin", stdin=b"sk-\xff\xfe-key",
                        env_extra={"LC_ALL": "C", "LANG": "C"})
        assert proc.returncode == 2
        assert proc.stderr.splitlines()[0] == b"Error: the key on stdin is not valid UTF-8"


def test_a_key_with_control_characters_or_from_dev_zero_is_exit_2(cli):
    """5 (and 17's /dev/zero as a key): a key is one printable line of at most 64 KiB."""
    assert_error(cli("connect", "openai", "--key-stdin", input=f"{KEY}\x1b[2J"), 2,
                 "the key contains a control or invisible character",
                 "give the key alone, as printable text (one key, on one line)")
    assert_error(cli("connect", "openai", "--key-stdin", input=b"\0" * (64 * 1024 + 1)), 2,
                 "the key on stdin is longer than 64 KiB")
    ok = cli("connect", "openai", "--key-stdin", "--json", input=b"\xef\xbb\xbf" + KEY.encode() + b"\n")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["key_hint"] == "sk-p…cdef"  # BOM dropped


# ------------------------------------------------------------- 21: invisible characters in names


@pytest.mark.parametrize("text, what", [
    ("Wo\u200brk", "an invisible character (U+200B)"),
    ("\ufeffWork", "an invisible character (U+FEFF)"),
    ("Wo\u2028rk", "a line or paragraph separator (U+2028)"),
    ("Wo\u2029rk", "a line or paragraph separator (U+2029)"),
    ("Wo\u00adrk", "an invisible character (U+00AD)"),
    ("Work\U000e0041", "an invisible character (U+E0041)"),
])
def test_invisible_characters_in_labels_and_names_are_exit_2(cli, db_path, text, what):
    """21: zero-width spaces, a BOM or U+2028 let two rows both look like `Work`."""
    assert_error(cli("connect", "ollama", "--label", text), 2, f"label contains {what}")
    assert_error(cli("agent", "add", text), 2, f"agent name contains {what}")
    assert_error(cli("agent", "add", "bot", "--display-name", text), 2, f"display name contains {what}")
    assert_error(cli("model", "add", text, "--provider", "ollama"), 2, f"model name contains {what}")
    assert sql(db_path, "SELECT count(*) FROM connections") == [(0,)]


# ------------------------------------------------------------- 7, 17, 20: input files


def test_hostile_inventories_are_exit_2(cli, tmp_path):
    """7: 100,000 nested arrays (RecursionError) and a 5,000-digit integer were exit 1."""
    hint = 'an inventory is {"connections": [...], "models": [...], "agents": [...]} (see `provctl export`)'
    cases = {
        "deep.json": ("[" * 100_000 + "]" * 100_000, "the JSON is nested more than 32 levels deep"),
        "deep40.json": ('{"connections": ' + "[" * 40 + "]" * 40 + "}",
                        "the JSON is nested more than 32 levels deep"),
        "digits.json": ('{"connections": [' + "9" * 5000 + "]}",
                        "the JSON holds a number of 5000 characters (the limit is 20)"),
        "nan.json": ('{"connections": [NaN]}', "the JSON holds NaN, which is not a JSON value"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert_error(cli("import", str(path)), 2, message, hint)


def test_a_fifo_a_device_or_a_directory_is_exit_2_without_blocking(cli, tmp_path):
    """17: `import` of a FIFO with no writer blocked forever; `import /dev/zero` grew until killed."""
    fifo = tmp_path / "inventory.json"
    os.mkfifo(fifo)
    hint = "import reads a regular file; save the data to a file first"
    started = time.monotonic()
    assert_error(cli("import", str(fifo)), 2, f"{fifo} is a FIFO (named pipe), not a regular file", hint)
    assert time.monotonic() - started < 5
    assert_error(cli("import", "/dev/zero", "--agent", "x"), 2, "/dev/zero is a device, not a regular file", hint)
    assert_error(cli("import", str(tmp_path), "--agent", "x"), 2, f"{tmp_path} is a directory, not a regular file",
                 hint)


def test_a_file_over_50_mb_is_exit_2(cli, tmp_path):
    """17: the size cap (a sparse file: no 50 MB written)."""
    big = tmp_path / "big.env"
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)
    assert_error(cli("import", str(big), "--agent", "x"), 2, f"{big} is larger than 50 MB")


def test_a_file_that_is_not_utf8_is_exit_2_naming_the_line(cli, tmp_path):
    env = tmp_path / "bot.env"
    env.write_bytes(b"# ok\nOPENAI_API_KEY=sk-\xff\n")
    assert_error(cli("import", str(env), "--agent", "bot"), 2, f"{env} is not UTF-8 text (line 2, byte 24)",
                 "save the file as UTF-8")


def test_files_with_a_utf8_bom_are_accepted(cli, tmp_path):
    """20: `.env` and `.json` files with a UTF-8 BOM were refused."""
    env = tmp_path / "bot.env"
    env.write_bytes(b"\xef\xbb\xbf" + f"OPENAI_API_KEY={KEY}\n".encode())
    result = cli("import", str(env), "--agent", "bot", "--json")
    assert result.exit_code == 0, result.stderr
    inv = tmp_path / "inv.json"
    inv.write_bytes(b"\xef\xbb\xbf" + json.dumps({"connections": [
        {"provider": "ollama", "label": "Laptop"}]}).encode())
    result = cli("import", str(inv), "--json")
    assert result.exit_code == 0, result.stderr
    assert [(c["agent"], c["label"]) for c in cli.json("providers", "list", "--json")] == [
        (None, "Laptop"), ("bot", "Default")]


# ------------------------------------------------------------- 8: --timeout


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e10", "600.5", "0.05", "0"])
@pytest.mark.parametrize("command", [
    ("providers", "refresh", "--all"),
    ("connect", "openai", "--verify", "--key-stdin"),
    ("resolve", "m", "--probe"),
])
def test_a_timeout_outside_0_1_to_600_seconds_is_exit_2(cli, command, value):
    """8: `--timeout nan|inf|1e10` passed `min=0.1`; refresh and connect --verify exited 1 and
    resolve --probe blamed every endpoint."""
    result = cli(*command, "--timeout", value, input=KEY)
    assert result.exit_code == 2, result.stderr
    assert "is not within 0.1–600 seconds" in result.stderr


def test_a_timeout_within_range_is_accepted(cli):
    assert cli("providers", "refresh", "--all", "--timeout", "600").exit_code == 0
    assert cli("providers", "refresh", "--all", "--timeout", "0.1").exit_code == 0


# ------------------------------------------------------------- 14, 16: endpoints


def test_a_model_id_that_echoes_the_key_is_dropped_and_reported(cli, fake, db_path):
    """14: an endpoint echoing the Authorization header into a model id got the key stored in
    discovered_models and printed by `providers models`."""
    def echo(request):
        token = request.header("authorization").removeprefix("Bearer ")
        return models_reply("openai", "gpt-4o", f"echo-{token}", f"echo-{token.upper()}")
    fake.set("/v1/models", echo)
    cid = cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    result = cli("providers", "refresh", cid)
    assert result.exit_code == 0, result.stderr
    assert "dropped 2 model ids: 2 contained the connection's key" in result.stdout
    assert KEY not in result.stdout + result.stderr
    assert sql(db_path, "SELECT model_id FROM discovered_models") == [("gpt-4o",)]
    assert KEY not in cli("providers", "models", cid).stdout


def test_a_trickling_endpoint_cannot_stretch_the_timeout(cli, fake):
    """16: `--timeout` bounded each read, so a trickling server kept `refresh --timeout 2` busy
    41–61 s. Now each request has the whole deadline: two attempts of 1 s, a 0.5 s backoff."""
    fake.set("/v1/models", trickle_reply(0.05, json_reply({"data": [{"id": f"m{i}"} for i in range(50)]})))
    cid = cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    started = time.monotonic()
    result = cli("providers", "refresh", cid, "--timeout", "1", "--json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 5
    assert json.loads(result.stdout)[0]["detail"] == "timed out after 1s waiting for the response"
    assert elapsed < 4, elapsed
    assert len(fake.requests_to("/v1/models")) == 2  # the one retry


def test_a_gzip_bomb_and_a_flood_of_ids_are_bad_responses(cli, fake, db_path):
    """16: no size cap: 2 M ids used 705 MB and were stored; a 400 MB gzip bomb used 841 MB."""
    fake.set("/bomb/models", gzip_reply(b" " * (60 * 1000 * 1000)))
    fake.set("/many/models", models_reply("openai", *(f"m{i}" for i in range(100_001))))
    fake.set("/zipped/models", gzip_reply(json.dumps({"data": [{"id": "gpt-4o"}]}).encode()))
    bomb = cli.connect("openai", "--label", "bomb", "--base-url", f"{fake.url}/bomb", key=KEY)
    many = cli.connect("openai", "--label", "many", "--base-url", f"{fake.url}/many", key=KEY + "2")
    zipped = cli.connect("openai", "--label", "zipped", "--base-url", f"{fake.url}/zipped", key=KEY + "3")
    result = cli("providers", "refresh", bomb, many, zipped, "--json")
    assert result.exit_code == 5
    assert [(r["result"], r["models"], r["detail"]) for r in json.loads(result.stdout)] == [
        ("bad_response", None, "response larger than 10 MB"),
        ("bad_response", None, "more than 100,000 model ids"),
        ("ok", 1, None)]
    assert sql(db_path, "SELECT count(*) FROM discovered_models") == [(1,)]


# ------------------------------------------------------------- 15: --output files


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_output_files_are_created_0600_whatever_the_umask(cli, tmp_path, umask):
    """15: `export --output` and `migrate-lift --output` files followed the umask (0644, 0666)."""
    old = os.umask(umask)
    try:
        exported = tmp_path / "inventory.json"
        assert cli("export", "--output", str(exported)).exit_code == 0
        report = tmp_path / "lift.md"
        assert cli("migrate-lift", "--dry-run", "--format", "markdown", "--output", str(report)).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


def test_an_existing_output_file_is_overwritten_and_made_0600(cli, tmp_path):
    """15 (decision): an existing file is rewritten and its mode tightened to 0600."""
    target = tmp_path / "inventory.json"
    target.write_text("x" * 10_000)
    target.chmod(0o644)
    assert cli("export", "--output", str(target)).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text()) == {"connections": [], "models": [], "agents": []}


def test_an_output_target_that_is_not_a_regular_file_is_exit_2(cli, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    hint = "give a path to a regular file in a folder you can write"
    assert_error(cli("export", "--output", str(fifo)), 2, f"cannot write {fifo}: it is a FIFO (named pipe)", hint)
    assert_error(cli("export", "--output", str(tmp_path)), 2, f"cannot write {tmp_path}: it is a directory", hint)
    assert_error(cli("migrate-lift", "--output", "/dev/null"), 2, "cannot write /dev/null: it is a device", hint)


# ------------------------------------------------------------- 18: a closed stdout after a lift


def test_a_lift_piped_into_head_exits_0_and_names_the_run_on_stderr(tmp_path):
    """18: `provctl migrate-lift | head -1` applied the lift, then exited 1 with `Broken pipe`;
    the run id needed for `--undo` was never shown."""
    db = tmp_path / "provctl.db"
    assert _console(tmp_path, "db", "upgrade").returncode == 0
    legacy = Legacy(db)
    legacy.many([("alice", f"bot{i}", "openai", "api_key", "Default", None) for i in range(1200)])
    legacy.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVCTL_")}
    env.update({"PROVCTL_DB": str(db), "PROVCTL_USER": "alice"})
    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m provctl migrate-lift | head -1; '
                       'echo "status=${PIPESTATUS[0]}" >&2'],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.stdout == "Lift report (applied)\n"
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1] == "status=0"
    run_id = re.search(r"in run ([0-9a-f-]{36}) \(backup: (.+\.bak-lift-\1); undo with", proc.stderr)
    assert run_id is not None, proc.stderr
    assert Path(run_id.group(2)).exists()
    assert sql(db, "SELECT count(*) FROM connections WHERE agent_id IS NULL") == [(1200,)]
