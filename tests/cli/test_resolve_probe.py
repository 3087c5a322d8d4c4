"""`provctl resolve --probe` (SPEC §5 probe_failed, §6 resolve, §7) in-process, against a real
HTTP server on 127.0.0.1: failing candidates are skipped in order, with their reasons."""

from __future__ import annotations

import json

import pytest

from tests.support.fakeprovider import closed_port_url, models_reply, status_reply

KEYS = {
    "Rejected": "sk-proj-PROBE-REJECTED-0123456789abcd",
    "Dead": "sk-proj-PROBE-DEADPORT-0123456789abcd",
    "Good": "sk-proj-PROBE-GOODKEY-0123456789abcd",
}



@pytest.fixture
def chain(cli, fake):
    """gpt-4o -> 1 Rejected (401), 2 Dead (closed port), 3 Good; returns the ids by label."""
    fake.set("/rejected/models", status_reply(401, f"Incorrect API key provided: {KEYS['Rejected']}"))
    fake.set("/good/models", models_reply("openai", "gpt-4o"))
    urls = {"Rejected": f"{fake.url}/rejected", "Dead": closed_port_url(), "Good": f"{fake.url}/good"}
    ids = {}
    for label, url in urls.items():
        ids[label] = cli.json("connect", "openai", "--label", label, "--base-url", url, "--key-stdin",
                              "--json", input=KEYS[label] + "\n")["id"]
    assert cli("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Rejected",
               "--attach", "Dead", "--attach", "Good").exit_code == 0
    return ids


def assert_no_key(result, *labels):
    for label in labels or KEYS:
        assert KEYS[label] not in result.stdout and KEYS[label] not in result.stderr


def test_probe_falls_through_a_rejected_key_and_a_dead_port_to_a_working_connection(cli, fake, chain):
    result = cli("resolve", "gpt-4o", "--probe", "--json", "--timeout", "2")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "model": "gpt-4o",
        "upstream_model": "gpt-4o",
        "provider": "openai",
        "agent": None,
        "selected": {"id": chain["Good"], "label": "Good", "auth_type": "api_key",
                     "base_url": f"{fake.url}/good", "credential_source": "keyring"},
        "reason": None,
        "candidates": [
            {"priority": 1, "id": chain["Rejected"], "label": "Rejected", "outcome": "skipped",
             "reason": "probe_failed", "detail": "unauthorized: HTTP 401"},
            {"priority": 2, "id": chain["Dead"], "label": "Dead", "outcome": "skipped",
             "reason": "probe_failed", "detail": "unreachable: connection refused"},
            {"priority": 3, "id": chain["Good"], "label": "Good", "outcome": "selected",
             "reason": None, "detail": None},
        ],
    }
    assert_no_key(result)
    # asked in priority order, each with its own key in the family header
    assert [(r.path, r.header("authorization")) for r in fake.requests] == [
        ("/rejected/models", f"Bearer {KEYS['Rejected']}"),
        ("/good/models", f"Bearer {KEYS['Good']}"),
    ]


def test_probe_text_output_names_each_skip_on_stderr(cli, fake, chain):
    result = cli("resolve", "gpt-4o", "--probe")
    assert result.exit_code == 0
    assert result.stdout == f"openai/api_key/Good\n{fake.url}/good\n"
    assert result.stderr.splitlines() == [
        "Skipped openai/api_key/Rejected (priority 1): probe_failed — unauthorized: HTTP 401",
        "Skipped openai/api_key/Dead (priority 2): probe_failed — unreachable: connection refused",
    ]
    assert_no_key(result)


def test_probe_with_every_candidate_failing_is_exit_5(cli, fake, chain):
    fake.set("/good/models", status_reply(503))
    result = cli("resolve", "gpt-4o", "--probe", "--json")
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert doc["selected"] is None and doc["reason"] == "no_usable_connection"
    assert [(c["label"], c["reason"], c["detail"]) for c in doc["candidates"]] == [
        ("Rejected", "probe_failed", "unauthorized: HTTP 401"),
        ("Dead", "probe_failed", "unreachable: connection refused"),
        ("Good", "probe_failed", "error: HTTP 503"),
    ]
    assert result.stderr.startswith("Error: ")
    assert_no_key(result)


def test_probe_env_format_prints_nothing_on_exit_5(cli, fake, chain):
    fake.set("/good/models", status_reply(401))
    result = cli("resolve", "gpt-4o", "--probe", "--format", "env")
    assert result.exit_code == 5 and result.stdout == ""
    assert_no_key(result)


def test_without_probe_nothing_is_asked(cli, fake, chain):
    result = cli("resolve", "gpt-4o", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["selected"]["label"] == "Rejected"
    assert fake.requests == []


def test_probe_checks_a_local_connection_without_a_key(cli, fake):
    fake.set("/api/tags", models_reply("ollama", "llama3"))
    cli.json("connect", "ollama", "--label", "Dead", "--base-url", closed_port_url(), "--json")
    cli.json("connect", "ollama", "--label", "Laptop", "--base-url", fake.url, "--json")
    assert cli("model", "add", "llama3", "--provider", "ollama", "--attach", "Dead",
               "--attach", "Laptop").exit_code == 0
    doc = cli.json("resolve", "llama3", "--probe", "--json")
    assert doc["selected"]["label"] == "Laptop"
    assert [(c["label"], c["outcome"], c["reason"]) for c in doc["candidates"]] == [
        ("Dead", "skipped", "probe_failed"), ("Laptop", "selected", None)]
    (req,) = fake.requests
    assert req.path == "/api/tags" and req.header("authorization") is None
