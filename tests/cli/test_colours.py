"""Statuses in colour on a terminal (SPEC §2, issue 11: only the headers had colour): active
green; disabled, no_key, expired, key_missing yellow; FAIL red — unless NO_COLOR is set, and
never in a pipe, a file or --json. CliRunner's stdout is not a terminal: FORCE_COLOR makes
Rich treat it as one (tests/e2e/test_colours_e2e.py uses a real pseudo-terminal)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.fakeprovider import models_reply, status_reply

KEY = "sk-proj-COLOURS-0123456789abcdef"
COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|9[0-7]|38;[0-9;]+)m")  # a foreground colour
GREEN, YELLOW, RED, RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"


@pytest.fixture
def pipe(monkeypatch):
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


@pytest.fixture
def statuses(cli, environ):
    """One connection of each status `providers list` can show."""
    cli.connect("openai", "--label", "Work", key=KEY)  # active
    cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY_UNSET")  # no_key
    cli.connect("ollama", "--label", "Laptop")
    cli.json("providers", "disable", "Laptop", "--json")  # disabled
    cli.connect("anthropic", "--auth", "subscription", "--label", "Max", "--expires-at",
                "2020-01-01T00:00:00Z", key=KEY + "-max")  # expired


def painted(out: str, colour: str, word: str) -> bool:
    return f"{colour}{word}{RESET}" in out


def test_providers_list_colours_each_status_on_a_terminal(cli, statuses, terminal):
    out = cli("providers", "list").stdout
    assert painted(out, GREEN, "active")
    assert painted(out, YELLOW, "no_key") and painted(out, YELLOW, "disabled")
    assert painted(out, YELLOW, "expired")


def test_providers_show_colours_key_missing_and_model_show_its_statuses(cli, keystore, terminal):
    cid = cli.connect("openai", "--label", "Work", key=KEY)
    cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY_UNSET")
    cli.json("model", "add", "gpt-4o", "--provider", "openai", "--attach", "Work", "--attach", "CI",
             "--json")
    del keystore.secrets[cid]
    shown = cli("providers", "show", "openai/Work").stdout
    assert f"{YELLOW}key_missing{RESET} (the database says a key was stored" in shown
    out = cli("model", "show", "gpt-4o").stdout
    assert painted(out, GREEN, "active") and painted(out, YELLOW, "no_key")


def test_doctor_shows_fail_in_red_and_ok_in_green(cli, keystore, terminal):
    keystore.fail = True
    result = cli("doctor")
    assert result.exit_code == 1
    assert painted(result.stdout, RED, "FAIL") and painted(result.stdout, GREEN, "ok")


def test_refresh_colours_its_results(cli, fake, terminal):
    fake.set("/ok/models", models_reply("openai", "gpt-4o"))
    fake.set("/no/models", status_reply(401))
    cli.connect("openai", "--label", "Good", "--base-url", f"{fake.url}/ok", key=KEY)
    cli.connect("openai", "--label", "Bad", "--base-url", f"{fake.url}/no", key=KEY + "-bad")
    out = cli("providers", "refresh", "--all").stdout
    assert painted(out, GREEN, "ok") and painted(out, RED, "unauthorized")


def test_no_color_turns_the_colours_off_even_on_a_terminal(cli, statuses, terminal, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = cli("providers", "list").stdout
    assert not COLOUR.search(out), repr(out)
    assert "no_key" in out and "active" in out


def test_a_pipe_gets_no_escape_codes(cli, keystore, statuses, pipe):
    assert "\x1b" not in cli("providers", "list").stdout
    keystore.fail = True
    assert "\x1b" not in cli("doctor").stdout


def test_json_never_carries_colour_even_when_colour_is_forced(cli, keystore, statuses, terminal):
    out = cli("providers", "list", "--json").stdout
    assert "\x1b" not in out
    assert {c["status"] for c in json.loads(out)} == {"active", "no_key", "disabled", "expired"}
    keystore.fail = True
    assert "\x1b" not in cli("doctor", "--json").stdout
