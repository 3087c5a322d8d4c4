"""`doctor` never contradicts `resolve`, and `providers show` tells the full status (SPEC §6,
issue 11): over the same states, doctor reports an enabled model as fine exactly when
`resolve MODEL` selects a connection, and `show` gives each connection the status `resolve`
would skip it with."""

from __future__ import annotations

import json

import pytest

KEY_A = "sk-proj-agree-aaaaaaaaaaaaaaaaaaaaaaaa"
KEY_B = "sk-proj-agree-bbbbbbbbbbbbbbbbbbbbbbbb"


def _key_deleted(cli, keystore, environ):
    cid = cli.connect("openai", "--label", "A", key=KEY_A)
    del keystore.secrets[cid]
    return [cid]


def _keyring_unreachable(cli, keystore, environ):
    cid = cli.connect("openai", "--label", "A", key=KEY_A)
    keystore.fail = True
    return [cid]


def _env_unset(cli, keystore, environ):
    return [cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY")]


def _env_set(cli, keystore, environ):
    environ["CI_KEY"] = KEY_B
    return [cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY")]


def _expired(cli, keystore, environ):
    return [cli.connect("openai", "--label", "Plan", "--auth", "subscription",
                        "--expires-at", "2026-01-01T00:00:00Z", key=KEY_A)]


def _disabled(cli, keystore, environ):
    cid = cli.connect("openai", "--label", "A", key=KEY_A)
    assert cli("providers", "disable", cid).exit_code == 0
    return [cid]


def _healthy(cli, keystore, environ):
    return [cli.connect("openai", "--label", "A", key=KEY_A)]


def _key_deleted_then_a_usable_one(cli, keystore, environ):
    first = _key_deleted(cli, keystore, environ)
    return first + [cli.connect("openai", "--label", "B", key=KEY_B)]


def _keyring_unreachable_with_the_variable_as_fallback(cli, keystore, environ):
    environ["CI_KEY"] = KEY_B
    cid = cli.connect("openai", "--label", "A", "--key-env", "CI_KEY", key=KEY_A)  # keyring,env
    keystore.fail = True
    return [cid]


def _keyring_unreachable_then_an_env_connection(cli, keystore, environ):
    first = _keyring_unreachable(cli, keystore, environ)
    environ["CI_KEY"] = KEY_B
    return first + [cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY")]


STATES = {
    "healthy": (_healthy, True, ["active"]),
    "key deleted from the keyring": (_key_deleted, False, ["key_missing"]),
    "keyring unreachable": (_keyring_unreachable, False, ["keyring_unavailable"]),
    "env variable unset": (_env_unset, False, ["no_key"]),
    "env variable set": (_env_set, True, ["active"]),
    "expired": (_expired, False, ["expired"]),
    "disabled": (_disabled, False, ["disabled"]),
    "key deleted, then a usable one": (_key_deleted_then_a_usable_one, True, ["key_missing", "active"]),
    "keyring unreachable, the variable as fallback": (
        _keyring_unreachable_with_the_variable_as_fallback, True, ["active"]),
    "keyring unreachable, then an env connection": (
        _keyring_unreachable_then_an_env_connection, True, ["keyring_unavailable", "active"]),
}


def _models_check(cli) -> dict:
    result = cli("doctor", "--json")
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return next(c for c in report["checks"] if c["check"] == "models")


@pytest.mark.parametrize("state", list(STATES))
def test_doctor_resolve_and_show_agree(cli, keystore, environ, state):
    build, usable, statuses = STATES[state]
    ids = build(cli, keystore, environ)
    attach = [a for cid in ids for a in ("--attach", cid)]
    assert cli("model", "add", "m", "--provider", "openai", *attach).exit_code == 0  # no keyring read

    resolved = cli("resolve", "m", "--json")
    assert resolved.exit_code == (0 if usable else 5), resolved.stderr
    walk = json.loads(resolved.stdout)
    models = _models_check(cli)
    assert models["ok"] is usable
    assert [i.split(":")[0] for i in models["items"]] == ([] if usable else ["m"])

    # show: the status resolve skipped each candidate with (or active for the selected one)
    shown = [cli.json("providers", "show", cid, "--json")["status"] for cid in ids]
    assert shown == statuses
    from_resolve = [c["reason"] or "active" for c in walk["candidates"] if c["outcome"] != "not_tried"]
    assert shown[:len(from_resolve)] == from_resolve


def test_a_model_with_no_connection_is_a_finding_as_resolve_exits_5(cli):
    assert cli("model", "add", "empty", "--provider", "openai").exit_code == 0
    assert cli("resolve", "empty").exit_code == 5
    assert _models_check(cli)["items"] == ["empty: no connection attached"]


def test_a_disabled_model_is_not_judged(cli):
    cid = cli.connect("openai", "--label", "A", key=KEY_A)
    assert cli("model", "add", "m", "--provider", "openai", "--attach", cid).exit_code == 0
    assert cli("model", "update", "m", "--disable").exit_code == 0
    assert _models_check(cli)["ok"] is True


def test_the_models_finding_names_each_skipped_connection_and_an_unset_variable(cli, keystore):
    a = cli.connect("openai", "--label", "A", key=KEY_A)
    ci = cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY")
    del keystore.secrets[a]
    assert cli("model", "add", "m", "--provider", "openai", "--attach", a, "--attach", ci).exit_code == 0
    assert _models_check(cli)["items"] == [
        "m: openai/api_key/A key_missing; "
        "openai/api_key/CI no_key (no key stored in the keyring; $CI_KEY is unset or empty)"]


def test_an_unreadable_keyring_makes_the_secrets_check_a_finding_not_ok(cli, keystore):
    cli.connect("openai", "--label", "A", key=KEY_A)
    keystore.fail = True
    report = json.loads(cli("doctor", "--json").stdout)
    secrets = next(c for c in report["checks"] if c["check"] == "secrets")
    assert secrets["ok"] is False
    assert secrets["detail"] == "the keyring could not be read: 1 stored key(s) not checked"
    assert secrets["items"] == ["openai/api_key/A"]


def test_show_reads_the_keyring_once_and_says_why(cli, keystore):
    cid = cli.connect("openai", "--label", "A", key=KEY_A)
    del keystore.secrets[cid]
    doc = cli.json("providers", "show", cid, "--json")
    assert (doc["status"], doc["credential_source"]) == ("key_missing", "none")
    assert doc["status_detail"].startswith("the database says a key was stored, but the keyring has no entry")
    keystore.fail = True
    doc = cli.json("providers", "show", cid, "--json")
    assert (doc["status"], doc["status_detail"]) == ("keyring_unavailable", "no usable keyring backend (test double)")
    # the list does not read the keyring: it keeps the stored-state answer
    assert cli.json("providers", "list", "--json")[0]["status"] == "active"


def test_show_of_a_key_env_connection_names_the_variable_and_says_it_is_unset(cli):
    cid = cli.connect("openai", "--label", "CI", "--key-env", "CI_KEY")
    doc = cli.json("providers", "show", cid, "--json")
    unset = "no key stored in the keyring; $CI_KEY is unset or empty"
    assert (doc["status"], doc["status_detail"], doc["key_hint"]) == ("no_key", unset, None)
    text = cli("providers", "show", cid)
    assert text.exit_code == 0
    lines = {line.split("  ", 1)[0]: line.split("  ", 1)[1].strip() for line in text.stdout.splitlines()[1:]}
    assert lines["status"] == f"no_key ({unset})"
    assert lines["key"] == "$CI_KEY"
