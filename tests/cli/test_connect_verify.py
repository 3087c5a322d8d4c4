"""`provctl connect --verify` (SPEC §6 connect, §7) in-process, against a real HTTP server on
127.0.0.1: a rejection or no answer is exit 5 with Error:/Hint: and nothing is saved."""

from __future__ import annotations

import pytest

from tests.support.fakeprovider import (
    closed_port_url,
    models_reply,
    slow_reply,
    status_reply,
    text_reply,
)

KEY = "sk-proj-VERIFY-SECRET-0123456789abcdef"
NEW_KEY = "sk-proj-VERIFY-NEWKEY-0123456789abc999"
CREATED = "2026-11-21T12:00:00.000000Z"



def assert_no_key(result, *keys):
    for key in keys or (KEY,):
        assert key not in result.stdout and key not in result.stderr


def assert_nothing_saved(cli, keystore):
    assert cli.json("providers", "list", "--json") == []
    assert keystore.secrets == {}


def test_verify_saves_a_key_the_provider_accepts(cli, keystore, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--verify",
                   "--base-url", f"{fake.url}/v1", "--json", input=KEY + "\n")
    assert doc == {
        "action": "created", "id": doc["id"], "provider": "openai", "auth_type": "api_key",
        "label": "Work", "status": "active", "key_hint": "sk-p…cdef",
        "base_url": f"{fake.url}/v1", "models": 1, "attached_models": 0, "agent": None,
        "created_at": CREATED,
    }
    assert keystore.secrets == {doc["id"]: KEY}
    (req,) = fake.requests
    assert (req.path, req.header("authorization")) == ("/v1/models", f"Bearer {KEY}")


def test_verify_stores_the_model_list_it_fetched(cli, fake):
    """Issue 11: `connect --verify` threw the list away, so `providers list` said 0 models."""
    fake.set("/v1/models", models_reply("openai", "gpt-4o-mini", "gpt-4o", "o3"))
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--verify",
                 "--base-url", f"{fake.url}/v1", input=KEY + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "Verified: 3 model(s) discovered and stored (`provctl providers models openai/api_key/Work`).")
    (row,) = cli.json("providers", "list", "--json")
    assert row["models"] == 3
    assert [m["id"] for m in cli.json("providers", "models", "openai/Work", "--json")] == [
        "gpt-4o", "gpt-4o-mini", "o3"]
    assert len(fake.requests) == 1  # the list came from the verification, not a second request


def test_a_verified_replacement_replaces_the_stored_model_list(cli, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o", "o3"))
    cli.connect("openai", "--label", "Work", "--verify", "--base-url", f"{fake.url}/v1", key=KEY)
    fake.set("/v1/models", models_reply("openai", "gpt-4.1"))
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--replace", "--verify",
                   "--base-url", f"{fake.url}/v1", "--json", input=NEW_KEY + "\n")
    assert (doc["action"], doc["models"]) == ("replaced", 1)
    assert [m["id"] for m in cli.json("providers", "models", "openai/Work", "--json")] == ["gpt-4.1"]
    # an idempotent verified connect refreshes the list too
    fake.set("/v1/models", models_reply("openai", "gpt-4.1", "gpt-5"))
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--replace", "--verify",
                   "--base-url", f"{fake.url}/v1", "--json", input=NEW_KEY + "\n")
    assert (doc["action"], doc["models"]) == ("unchanged", 2)


def test_without_verify_no_model_list_is_stored(cli, fake):
    cli.connect("openai", "--label", "Work", "--base-url", f"{fake.url}/v1", key=KEY)
    assert cli.json("providers", "list", "--json")[0]["models"] == 0


@pytest.mark.parametrize("status", [401, 403])
def test_verify_refuses_a_rejected_key_and_saves_nothing(cli, keystore, fake, status):
    fake.set("/v1/models", status_reply(status, f"Incorrect API key provided: {KEY}"))
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--verify",
                 "--base-url", f"{fake.url}/v1", input=KEY + "\n")
    assert result.exit_code == 5
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: openai rejected the credential (HTTP {status} from {fake.url}/v1/models); "
        "nothing was saved\n"
        "Hint: check the key and the auth type; to save it anyway, connect without --verify\n"
    )
    assert_no_key(result)
    assert_nothing_saved(cli, keystore)


def test_verify_refuses_when_the_port_is_closed(cli, keystore):
    url = closed_port_url()
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--verify",
                 "--base-url", url, input=KEY + "\n")
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        f"Error: no answer from {url}/models (connection refused); nothing was saved",
        "Hint: check --base-url and the network, raise --timeout, or connect without --verify",
    ]
    assert_no_key(result)
    assert_nothing_saved(cli, keystore)


def test_verify_gives_up_after_the_timeout(cli, keystore, fake):
    fake.set("/v1/models", slow_reply(5.0))
    result = cli("connect", "openai", "--key-stdin", "--verify", "--timeout", "0.3",
                 "--base-url", f"{fake.url}/v1", input=KEY + "\n")
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        f"Error: {fake.url}/v1/models accepted the connection but did not answer in time "
        "(timed out after 0.3s waiting for the response); nothing was saved",
        "Hint: the server is there but slow or stalled: raise --timeout, try again later, or "
        "connect without --verify",
    ]
    assert_no_key(result)
    assert_nothing_saved(cli, keystore)


@pytest.mark.parametrize("reply, message", [
    (status_reply(500), "answered with an error (HTTP 500)"),
    (text_reply("<html>sign in</html>"), "did not answer with a openai models list (response is not JSON)"),
])
def test_verify_refuses_an_error_or_a_body_that_is_not_a_models_list(cli, keystore, fake, reply, message):
    fake.set("/v1/models", reply)
    result = cli("connect", "openai", "--key-stdin", "--verify", "--base-url", f"{fake.url}/v1",
                 input=KEY + "\n")
    assert result.exit_code == 5
    assert message in result.stderr and result.stderr.startswith("Error: ")
    assert_no_key(result)
    assert_nothing_saved(cli, keystore)


def test_verify_checks_a_local_ollama_without_a_key(cli, fake):
    fake.set("/api/tags", models_reply("ollama", "llama3:latest"))
    doc = cli.json("connect", "ollama", "--label", "Laptop", "--verify", "--base-url", fake.url, "--json")
    assert (doc["action"], doc["auth_type"], doc["key_hint"]) == ("created", "local", None)
    (req,) = fake.requests
    assert req.path == "/api/tags" and req.header("authorization") is None


def test_verify_of_an_unreachable_ollama_is_exit_5(cli):
    url = closed_port_url()
    result = cli("connect", "ollama", "--verify", "--base-url", url)
    assert result.exit_code == 5
    assert f"no answer from {url}/api/tags" in result.stderr
    assert cli.json("providers", "list", "--json") == []


def test_verify_sends_the_anthropic_headers(cli, fake):
    fake.set("/v1/models", models_reply("anthropic", "claude-3-5-sonnet-latest"))
    cli.json("connect", "anthropic", "--key-stdin", "--verify", "--base-url", fake.url, "--json",
             input=KEY + "\n")
    (req,) = fake.requests
    assert (req.header("x-api-key"), req.header("anthropic-version")) == (KEY, "2023-06-01")


def test_verify_with_only_key_env_is_a_usage_error(cli, fake):
    result = cli("connect", "openai", "--key-env", "OPENAI_API_KEY", "--verify",
                 "--base-url", f"{fake.url}/v1")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: --verify needs the key itself; connect never reads the --key-env variable\n")
    assert fake.requests == []
    assert cli.json("providers", "list", "--json") == []


def test_a_rejected_replacement_key_keeps_the_old_one(cli, keystore, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    doc = cli.json("connect", "openai", "--label", "Work", "--key-stdin", "--base-url",
                   f"{fake.url}/v1", "--json", input=KEY + "\n")
    fake.set("/v1/models", status_reply(401))
    result = cli("connect", "openai", "--label", "Work", "--key-stdin", "--replace", "--verify",
                 "--base-url", f"{fake.url}/v1", input=NEW_KEY + "\n")
    assert result.exit_code == 5
    assert_no_key(result, KEY, NEW_KEY)
    assert keystore.secrets == {doc["id"]: KEY}
    assert [c["key_hint"] for c in cli.json("providers", "list", "--json")] == ["sk-p…cdef"]


def test_without_verify_nothing_is_asked(cli, fake):
    fake.set("/v1/models", status_reply(401))
    cli.json("connect", "openai", "--key-stdin", "--base-url", f"{fake.url}/v1", "--json",
             input=KEY + "\n")
    assert fake.requests == []


def test_timeout_must_be_positive(cli):
    result = cli("connect", "ollama", "--verify", "--timeout", "0")
    assert result.exit_code == 2
