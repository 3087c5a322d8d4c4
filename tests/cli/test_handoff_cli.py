"""The credential handed over on the command line (CliRunner, memory key store): `resolve
--format env` with its `unset` lines, `resolve --format key`, `providers show --reveal`, the
HTTP auth of an anthropic subscription, and the base-URL shape (SPEC §4, §6, §7)."""

from __future__ import annotations

import json

import pytest

from tests.support.fakeprovider import models_reply

API = "sk-ant-api03-" + "a" * 24 + "-1111"
OAT = "sk-ant-oat01-" + "o" * 24 + "-2222"


@pytest.fixture
def claude(cli):
    """claude: 1 anthropic/subscription/Max (keyring), 2 anthropic/api_key/Team (keyring)."""
    assert cli("connect", "anthropic", "--label", "Max", "--auth", "subscription", "--key-stdin",
               input=OAT).exit_code == 0
    assert cli("connect", "anthropic", "--label", "Team", "--key-stdin", input=API).exit_code == 0
    cli("model", "add", "claude", "--provider", "anthropic", "--attach", "anthropic/subscription/Max",
        "--attach", "anthropic/api_key/Team")
    return {c["label"]: c["id"] for c in cli.json("providers", "list", "--json")}


def test_env_format_of_a_subscription_unsets_the_api_key_first(cli, claude):
    result = cli("resolve", "claude", "--format", "env")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "unset ANTHROPIC_API_KEY\n"
        "export PROVCTL_PROVIDER='anthropic'\n"
        "export PROVCTL_MODEL='claude'\n"
        "export PROVCTL_BASE_URL='https://api.anthropic.com'\n"
        "export PROVCTL_CONNECTION='anthropic/subscription/Max'\n"
        f"export PROVCTL_API_KEY='{OAT}'\n"
        f"export ANTHROPIC_AUTH_TOKEN='{OAT}'\n"
        f"export CLAUDE_CODE_OAUTH_TOKEN='{OAT}'\n"
        "export ANTHROPIC_BASE_URL='https://api.anthropic.com'\n"
    )
    cli("providers", "disable", "Max")
    api = cli("resolve", "claude", "--format", "env")
    assert api.stdout.splitlines()[:2] == ["unset ANTHROPIC_AUTH_TOKEN", "unset CLAUDE_CODE_OAUTH_TOKEN"]
    assert f"export ANTHROPIC_API_KEY='{API}'" in api.stdout.splitlines()


def test_key_format_prints_the_secret_alone(cli, claude):
    result = cli("resolve", "claude", "--format", "key")
    assert (result.exit_code, result.stdout, result.stderr) == (0, OAT + "\n", "")
    cli("providers", "disable", "Max")
    fallback = cli("resolve", "claude", "--format", "key")
    assert fallback.stdout == API + "\n"
    assert fallback.stderr.startswith("Skipped anthropic/subscription/Max (priority 1): disabled")


def test_key_format_on_exit_5_prints_nothing_on_stdout(cli, claude):
    cli("providers", "disable", "Max")
    cli("providers", "disable", "Team")
    result = cli("resolve", "claude", "--format", "key")
    assert (result.exit_code, result.stdout) == (5, "")
    assert "Error: no usable connection for model claude (2 skipped)" in result.stderr.splitlines()


def test_key_format_with_json_is_a_usage_error(cli, claude):
    result = cli("resolve", "claude", "--format", "key", "--json")
    assert result.exit_code == 2 and result.stdout == ""


def test_show_reveal_adds_the_key(cli, claude):
    doc = cli.json("providers", "show", "Max", "--json", "--reveal")
    assert doc["api_key"] == OAT and doc["credential_source"] == "keyring"
    assert "api_key" not in cli.json("providers", "show", "Max", "--json")
    text = cli("providers", "show", "Max", "--reveal")
    assert text.stdout.splitlines()[-1] == OAT  # a line of its own, the last
    assert OAT not in cli("providers", "show", "Max").stdout


def test_show_reveal_of_a_key_env_connection_and_of_a_local_one(cli, environ):
    cli("connect", "openai", "--label", "CI", "--key-env", "CI_KEY")
    cli("connect", "ollama", "--label", "Laptop")
    missing = cli("providers", "show", "CI", "--json", "--reveal")
    assert json.loads(missing.stdout)["api_key"] is None
    assert missing.stderr == "Warning: no key to reveal: no allowed source (keyring,env) yields one now\n"
    environ["CI_KEY"] = "sk-ci-from-env"
    assert cli.json("providers", "show", "CI", "--json", "--reveal")["api_key"] == "sk-ci-from-env"
    local = cli("providers", "show", "Laptop", "--reveal")
    assert (local.exit_code, local.stderr) == (0, "")


# ---------------------------------------------------------------- HTTP auth and base-URL shape


def test_verify_of_an_anthropic_subscription_sends_a_bearer_token(cli, fake, keystore):
    fake.set("/v1/models", models_reply("anthropic", "claude-x"))
    result = cli("connect", "anthropic", "--auth", "subscription", "--key-stdin", "--verify",
                 "--base-url", fake.url, input=OAT)
    assert result.exit_code == 0, result.stderr
    (req,) = fake.requests
    assert (req.header("authorization"), req.header("x-api-key")) == (f"Bearer {OAT}", None)
    assert (req.header("anthropic-version"), req.header("anthropic-beta")) == ("2023-06-01", "oauth-2025-04-20")


def test_probe_and_refresh_send_the_subscription_token_as_bearer(cli, fake):
    fake.set("/v1/models", models_reply("anthropic", "claude-x"))
    cli("connect", "anthropic", "--label", "Max", "--auth", "subscription", "--key-stdin",
        "--base-url", fake.url, input=OAT)
    cli("model", "add", "claude", "--provider", "anthropic", "--attach", "Max")
    assert cli.json("resolve", "claude", "--probe", "--json")["selected"]["label"] == "Max"
    assert cli.json("providers", "refresh", "Max", "--json")[0]["result"] == "ok"
    assert [(r.header("authorization"), r.header("x-api-key"), r.header("anthropic-beta"))
            for r in fake.requests] == [(f"Bearer {OAT}", None, "oauth-2025-04-20")] * 2


def test_an_anthropic_base_url_ending_in_v1_is_accepted_with_a_warning(cli):
    result = cli("connect", "anthropic", "--label", "Proxy", "--key-env", "K",
                 "--base-url", "https://gw.example/anthropic/v1/", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["base_url"] == "https://gw.example/anthropic/v1"
    assert result.stderr == (
        "Warning: the anthropic base URL https://gw.example/anthropic/v1 ends in /v1, which "
        "anthropic's SDKs add themselves (they would call /v1/v1/…); the usual form is "
        "https://gw.example/anthropic\n")
    plain = cli("connect", "anthropic", "--label", "Root", "--key-env", "K",
                "--base-url", "https://gw.example/anthropic")
    assert "Warning" not in plain.stderr


def test_a_404_during_verify_gets_a_hint_about_the_base_url_shape(cli, fake, keystore):
    result = cli("connect", "anthropic", "--key-stdin", "--verify", "--base-url", f"{fake.url}/v1",
                 input=API)
    assert result.exit_code == 5 and result.stdout == ""
    assert result.stderr == (
        f"Error: {fake.url}/v1/v1/models answered HTTP 404: no models endpoint there; nothing was saved\n"
        "Hint: check the base URL's shape: anthropic adds /v1 itself, so its base URL does not end "
        "in /v1 (like https://api.anthropic.com)\n")
    assert keystore.secrets == {}
    openai = cli("connect", "openai", "--key-stdin", "--verify", "--base-url", fake.url, input=API)
    assert openai.stderr.splitlines()[1] == (
        "Hint: check the base URL's shape: for openai it usually ends in /v1 "
        "(like https://api.openai.com/v1); the models endpoint is BASE/models")
    assert "try again later" not in result.stderr + openai.stderr


def test_a_404_during_refresh_and_probe_names_the_base_url_shape(cli, fake):
    cli("connect", "openai", "--label", "NoV1", "--key-stdin", "--base-url", fake.url, input=API)
    cli("model", "add", "gpt", "--provider", "openai", "--attach", "NoV1")
    [line] = json.loads(cli("providers", "refresh", "NoV1", "--json").stdout)
    assert (line["result"], line["detail"]) == ("error", "HTTP 404; check the base URL's shape: for "
                                                "openai it usually ends in /v1 (like https://api.openai.com/v1); "
                                                "the models endpoint is BASE/models")
    probe = cli("resolve", "gpt", "--probe", "--json")
    assert json.loads(probe.stdout)["candidates"][0]["detail"] == "error: " + line["detail"]


def test_import_notes_an_anthropic_base_url_ending_in_v1(cli, tmp_path):
    inventory = tmp_path / "inv.json"
    inventory.write_text(json.dumps({"connections": [
        {"agent": None, "provider": "anthropic", "auth_type": "api_key", "label": "Proxy",
         "base_url": "https://gw.example/v1", "key_env": "K"}]}))
    result = cli("import", str(inventory), "--json")
    assert result.exit_code == 0, result.stderr
    note = ("connections[0]: the anthropic base URL https://gw.example/v1 ends in /v1, which "
            "anthropic's SDKs add themselves (they would call /v1/v1/…); the usual form is "
            "https://gw.example")
    assert json.loads(result.stdout)["notes"] == [note]
    assert note in result.stderr
