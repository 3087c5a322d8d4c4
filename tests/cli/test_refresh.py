"""`provctl providers refresh` and `provctl providers models` (SPEC §6, §7) in-process, against
a real HTTP server on 127.0.0.1; and which commands import httpx."""

from __future__ import annotations

import json
import subprocess
import sys


from tests.support.fakeprovider import (
    closed_port_url,
    models_reply,
    status_reply,
    text_reply,
)

KEY = "sk-proj-REFRESH-SECRET-0123456789abcdef"
STAMP = "2026-11-21T12:00:00.000000Z"  # the app_ctx clock




def assert_no_key(result, key=KEY):
    assert key not in result.stdout and key not in result.stderr


def test_refresh_prints_one_json_result_per_connection_and_exits_0_when_all_are_ok(cli, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o", "gpt-4o-mini"))
    fake.set("/api/tags", models_reply("ollama", "llama3:latest"))
    work = cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    laptop = cli.connect("ollama", "--label", "Laptop", "--base-url", fake.url)
    result = cli("providers", "refresh", "--all", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert cli.json("providers", "refresh", "--all", "--json") == [
        {"id": laptop, "label": "Laptop", "result": "ok", "models": 1, "detail": None},
        {"id": work, "label": "Work", "result": "ok", "models": 2, "detail": None},
    ]
    assert [(c["label"], c["models"]) for c in cli.json("providers", "list", "--json")] == [
        ("Laptop", 1), ("Work", 2)]


def test_refresh_exits_5_when_any_fails_and_still_stores_the_ok_ones(cli, fake, environ):
    fake.set("/ok/models", models_reply("openai", "gpt-4o"))
    fake.set("/401/models", status_reply(401, f"Incorrect API key provided: {KEY}"))
    fake.set("/500/models", status_reply(500))
    fake.set("/html/models", text_reply("<html>oops</html>"))
    ids = {name: cli.connect("openai", "--label", name, "--base-url", f"{fake.url}/{name}", key=f"{KEY}-{name}")
           for name in ("ok", "401", "500", "html")}
    ids["dead"] = cli.connect("openai", "--label", "dead", "--base-url", closed_port_url(), key=f"{KEY}-dead")
    ids["env"] = cli.connect("openai", "--label", "env", "--base-url", f"{fake.url}/ok", "--key-env", "UNSET_FOR_TEST")
    result = cli("providers", "refresh", "--all", "--json", "--timeout", "2")
    assert result.exit_code == 5
    assert json.loads(result.stdout) == [
        {"id": ids["401"], "label": "401", "result": "unauthorized", "models": None, "detail": "HTTP 401"},
        {"id": ids["500"], "label": "500", "result": "error", "models": None, "detail": "HTTP 500"},
        {"id": ids["dead"], "label": "dead", "result": "unreachable", "models": None,
         "detail": "connection refused"},
        {"id": ids["env"], "label": "env", "result": "error", "models": None, "detail": "no_key"},
        {"id": ids["html"], "label": "html", "result": "bad_response", "models": None,
         "detail": "response is not JSON"},
        {"id": ids["ok"], "label": "ok", "result": "ok", "models": 1, "detail": None},
    ]
    assert result.stderr.splitlines()[0] == "Error: 5 of 6 connections could not be refreshed"
    assert result.stderr.splitlines()[1].startswith("Hint: ")
    assert_no_key(result)
    assert cli.json("providers", "models", ids["ok"][:8], "--json") == [
        {"id": "gpt-4o", "discovered_at": STAMP}]
    # no request for the connection without a key: /ok was asked once, by "ok"
    assert len(fake.requests_to("/ok/models")) == 1


def test_refresh_prints_a_table_of_results(cli, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    fake.set("/bad/models", status_reply(403))
    work = cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    bad = cli.connect("openai", "--label", "Bad", "--base-url", f"{fake.url}/bad", key=KEY + "-bad")
    result = cli("providers", "refresh", "Work", "Bad")
    assert result.exit_code == 5
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [
        ["ID", "CONNECTION", "RESULT", "MODELS", "DETAIL"],
        [work[:8], "openai/api_key/Work", "ok", "1"],
        [bad[:8], "openai/api_key/Bad", "unauthorized", "HTTP", "403"],
    ]
    assert_no_key(result)
    assert_no_key(result, KEY + "-bad")


def test_refresh_without_ref_or_all_is_a_usage_error(cli):
    result = cli("providers", "refresh")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: name the connections to refresh, or pass --all\nHint: ")


def test_refresh_of_an_unknown_ref_is_exit_3_and_asks_nothing(cli, fake):
    cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    result = cli("providers", "refresh", "Work", "nope", "--json")
    assert result.exit_code == 3 and result.stdout == ""
    assert fake.requests == []


def test_refresh_of_an_ambiguous_ref_is_exit_4(cli, fake):
    cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    cli.connect("ollama", "--label", "Work", "--base-url", fake.url)
    result = cli("providers", "refresh", "Work")
    assert result.exit_code == 4
    assert fake.requests == []


def test_refresh_all_with_no_connections_is_an_empty_success(cli):
    assert cli.json("providers", "refresh", "--all", "--json") == []
    result = cli("providers", "refresh", "--all")
    assert result.exit_code == 0 and "No enabled user-level connections" in result.stderr


def test_refresh_reports_keyring_unavailable_without_crashing(cli, keystore, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    fake.set("/api/tags", models_reply("ollama", "llama3"))
    work = cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    laptop = cli.connect("ollama", "--label", "Laptop", "--base-url", fake.url)
    keystore.fail = True
    result = cli("providers", "refresh", "--all", "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout) == [
        {"id": laptop, "label": "Laptop", "result": "ok", "models": 1, "detail": None},
        {"id": work, "label": "Work", "result": "error", "models": None,
         "detail": "keyring_unavailable"},
    ]


def test_refresh_reads_the_key_env_variable(cli, environ, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    environ["CI_OPENAI_KEY"] = KEY
    cli.connect("openai", "--label", "CI", "--base-url", f"{fake.url}/v1", "--key-env", "CI_OPENAI_KEY")
    assert [r["result"] for r in cli.json("providers", "refresh", "CI", "--json")] == ["ok"]
    assert fake.requests[0].header("authorization") == f"Bearer {KEY}"


def test_models_lists_the_discovered_ids(cli, fake):
    fake.set("/v1/models", models_reply("openai", "o1", "gpt-4o"))
    cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    assert cli.json("providers", "models", "Work", "--json") == []
    cli.json("providers", "refresh", "Work", "--json")
    assert cli.json("providers", "models", "openai/Work", "--json") == [
        {"id": "gpt-4o", "discovered_at": STAMP},
        {"id": "o1", "discovered_at": STAMP},
    ]
    table = cli("providers", "models", "Work")
    assert table.exit_code == 0
    assert [line.split()[0] for line in table.stdout.splitlines()] == ["MODEL", "gpt-4o", "o1"]


def test_models_of_a_connection_never_refreshed_says_how(cli, fake):
    cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    result = cli("providers", "models", "Work")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "No models discovered for Work. Run `provctl providers refresh Work`.\n"


def test_models_of_an_unknown_connection_is_exit_3(cli):
    assert cli("providers", "models", "nope", "--json").exit_code == 3


def test_refresh_and_models_have_help_with_examples(cli):
    for command in ("refresh", "models"):
        result = cli("providers", command, "--help")
        assert result.exit_code == 0 and "Example" in result.stdout


# ---------------------------------------------------------------- httpx stays off read paths


def _imports_httpx(db_path, *args: str) -> tuple[bool, int]:
    code = (
        "import sys\n"
        f"sys.argv = ['provctl', '--db', {str(db_path)!r}, '--user', 'alice', *{list(args)!r}]\n"
        "from provctl.entry import main\n"
        "code = 0\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "sys.stderr.write('\\nIMPORTED=%s CODE=%s' % ('httpx' in sys.modules, code))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*",
                              "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    tail = out.stderr.rsplit("IMPORTED=", 1)[1].split()
    return tail[0] == "True", int(tail[1].removeprefix("CODE="))


def test_providers_list_and_models_do_not_import_httpx(cli, db_path):
    cli.json("connect", "ollama", "--label", "Laptop", "--json")
    assert _imports_httpx(db_path, "providers", "list", "--json") == (False, 0)
    assert _imports_httpx(db_path, "providers", "models", "Laptop", "--json") == (False, 0)
    # the check itself works: refresh does talk HTTP (to a closed port here)
    cli.json("connect", "ollama", "--label", "Dead", "--base-url", closed_port_url(), "--json")
    assert _imports_httpx(db_path, "providers", "refresh", "Dead", "--json") == (True, 5)
