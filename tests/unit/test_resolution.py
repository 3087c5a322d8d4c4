"""The pure resolution walk and its three renderings (SPEC §6 resolve), without a database."""

from __future__ import annotations

import json
import subprocess

import pytest

from provctl.errors import SecretStoreError, UsageError
from provctl.domain import resolution
from provctl.output import resolve as view
from tests.support.rows import MODEL, NOW, row
A = row(id="aaaaaaaa-0000-4000-8000-000000000001", label="A", label_key="a")
B = row(id="bbbbbbbb-0000-4000-8000-000000000002", label="B", label_key="b")
C = row(id="cccccccc-0000-4000-8000-000000000003", label="C", label_key="c")


def resolve(attached, *, model=MODEL, secrets=None, environ=None, probe=None, agent=None):
    secrets = {A.id: "sk-A", B.id: "sk-B", C.id: "sk-C"} if secrets is None else secrets

    def get(cid):
        value = secrets.get(cid)
        if isinstance(value, Exception):
            raise value
        return value

    return resolution.resolve(model, list(enumerate(attached, start=1)), now=NOW,
                              environ=environ or {}, keyring_get=get, probe=probe, agent=agent)


def outcomes(res):
    return [(c.label, c.outcome, c.reason) for c in res.candidates]


def test_first_usable_connection_is_selected_and_the_rest_not_tried():
    res = resolve([A, B, C])
    assert res.selected.id == A.id and res.selected.api_key == "sk-A"
    assert res.selected.credential_source == "keyring"
    assert outcomes(res) == [("A", "selected", None), ("B", "not_tried", None), ("C", "not_tried", None)]
    assert res.exit_code == 0 and res.reason is None


def test_walk_goes_on_after_key_missing_and_keyring_unavailable():
    res = resolve([A, B, C], secrets={A.id: None, B.id: SecretStoreError("locked"), C.id: "sk-C"})
    assert outcomes(res) == [("A", "skipped", "key_missing"), ("B", "skipped", "keyring_unavailable"),
                             ("C", "selected", None)]
    assert res.selected.api_key == "sk-C"


def test_an_unreadable_keyring_lock_file_is_keyring_unavailable_too():
    res = resolve([A, B], secrets={A.id: PermissionError(13, "Permission denied"), B.id: "sk-B"})
    assert outcomes(res)[:2] == [("A", "skipped", "keyring_unavailable"), ("B", "selected", None)]
    assert res.candidates[0].detail == "Permission denied"


def test_the_secret_never_shows_in_a_repr():
    res = resolve([A])
    assert "sk-A" not in repr(res) and "sk-A" not in repr(res.selected)
    assert res.selected.api_key == "sk-A"


def test_nothing_usable_is_no_usable_connection_exit_5():
    res = resolve([A._replace(enabled=False), B._replace(key_stored=False)])
    assert res.selected is None and res.reason == "no_usable_connection" and res.exit_code == 5
    assert outcomes(res) == [("A", "skipped", "disabled"), ("B", "skipped", "no_key")]


def test_disabled_model_tries_nothing():
    res = resolve([A, B], model=MODEL._replace(enabled=False))
    assert res.reason == "model_disabled" and res.exit_code == 5
    assert outcomes(res) == [("A", "not_tried", None), ("B", "not_tried", None)]


def test_model_without_attachments_is_no_connections():
    res = resolve([])
    assert (res.reason, res.candidates, res.exit_code) == ("no_connections", (), 5)


def test_keyring_first_then_env_fallback_when_the_stored_key_is_gone():
    both = A._replace(key_env="CI_KEY", key_source="keyring,env")
    res = resolve([both], secrets={A.id: None}, environ={"CI_KEY": "sk-env"})
    assert (res.selected.api_key, res.selected.credential_source) == ("sk-env", "env")


def test_env_first_never_reads_the_keyring_when_the_variable_is_set():
    both = A._replace(key_env="CI_KEY", key_source="env,keyring")
    res = resolve([both], secrets={A.id: AssertionError("keyring read")}, environ={"CI_KEY": "sk-env"})
    assert res.selected.credential_source == "env"


def test_keyring_is_not_read_when_no_key_was_stored():
    env_only = A._replace(key_stored=False, key_env="CI_KEY", key_source="keyring,env")
    res = resolve([env_only], secrets={A.id: AssertionError("keyring read")}, environ={"CI_KEY": "k"})
    assert res.selected.credential_source == "env"


def test_local_connection_is_selected_without_a_key():
    local = row(provider="ollama", auth_type="local", key_stored=False, label="Laptop")
    res = resolve([local], model=MODEL._replace(provider="ollama"), secrets={})
    assert (res.selected.credential_source, res.selected.api_key) == ("none", None)
    assert res.selected.base_url == "http://localhost:11434"


def test_family_mismatch_is_skipped_defensively():
    res = resolve([A._replace(provider="anthropic"), B])
    assert outcomes(res)[0] == ("A", "skipped", "family_mismatch")
    assert res.selected.id == B.id


def test_probe_failure_goes_on_to_the_next_candidate():
    probed = []

    def probe(r, key):
        probed.append((r.label, key))
        return (r.label != "A", "unauthorized (401)")

    res = resolve([A, B, C], probe=probe)
    assert probed == [("A", "sk-A"), ("B", "sk-B")]
    assert outcomes(res)[:2] == [("A", "skipped", "probe_failed"), ("B", "selected", None)]


def test_legacy_rows_are_never_selected_even_for_their_agent():
    legacy = A._replace(agent_id="agent-1", agent_name="bot")
    res = resolve([legacy, B], agent="bot")
    assert outcomes(res)[0] == ("A", "skipped", "legacy")
    assert res.to_dict()["agent"] == "bot"


# ---------------------------------------------------------------- renderings


def render(res, fmt, reveal=False):
    out, err = [], []
    code = view.render(res, fmt, reveal=reveal, out=out.append, err=err.append)
    return code, out, err


def test_json_shape_with_and_without_reveal(capsys):
    res = resolve([A._replace(enabled=False), B])
    assert render(res, "json")[0] == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "model": "gpt-4o", "upstream_model": "gpt-4o", "provider": "openai", "agent": None,
        "selected": {"id": B.id, "label": "B", "auth_type": "api_key",
                     "base_url": "https://api.openai.com/v1", "credential_source": "keyring"},
        "reason": None,
        "candidates": [
            {"priority": 1, "id": A.id, "label": "A", "outcome": "skipped", "reason": "disabled",
             "detail": "the connection is disabled; enable it with `provctl providers enable`"},
            {"priority": 2, "id": B.id, "label": "B", "outcome": "selected", "reason": None, "detail": None},
        ],
    }
    render(res, "json", reveal=True)
    assert json.loads(capsys.readouterr().out)["selected"]["api_key"] == "sk-B"


def test_text_prints_selection_on_stdout_and_skips_on_stderr():
    res = resolve([A._replace(enabled=False), B])
    code, out, err = render(res, "text")
    assert code == 0
    assert out == ["openai/api_key/B", "https://api.openai.com/v1"]
    assert err == ["Skipped openai/api_key/A (priority 1): disabled — the connection is disabled; "
                   "enable it with `provctl providers enable`"]
    assert render(res, "text", reveal=True)[1][-1] == "sk-B"


def test_env_exports_provctl_and_the_family_variables():
    res = resolve([B])
    code, out, err = render(res, "env")
    assert (code, err) == (0, [])
    assert out == [
        "export PROVCTL_PROVIDER='openai'",
        "export PROVCTL_MODEL='gpt-4o'",
        "export PROVCTL_BASE_URL='https://api.openai.com/v1'",
        "export PROVCTL_CONNECTION='openai/api_key/B'",
        "export PROVCTL_API_KEY='sk-B'",
        "export OPENAI_API_KEY='sk-B'",
        "export OPENAI_BASE_URL='https://api.openai.com/v1'",
    ]


@pytest.mark.parametrize(("provider", "key_var", "url_var"), [
    ("anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    ("openai-compatible", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
    ("gemini", "GEMINI_API_KEY", "GEMINI_BASE_URL"),
])
def test_env_uses_the_conventional_variables_of_the_family(provider, key_var, url_var):
    conn = B._replace(provider=provider, base_url="https://gw.example/v1" if provider == "openai-compatible" else None)
    res = resolve([conn], model=MODEL._replace(provider=provider))
    names = [line.split("=", 1)[0].removeprefix("export ") for line in render(res, "env")[1]]
    assert names[-2:] == [key_var, url_var]


def test_env_of_an_ollama_connection_has_an_empty_key_and_ollama_host():
    local = row(provider="ollama", auth_type="local", key_stored=False, label="Laptop")
    res = resolve([local], model=MODEL._replace(provider="ollama", upstream_model="llama3"), secrets={})
    assert render(res, "env")[1] == [
        "export PROVCTL_PROVIDER='ollama'",
        "export PROVCTL_MODEL='llama3'",
        "export PROVCTL_BASE_URL='http://localhost:11434'",
        "export PROVCTL_CONNECTION='ollama/local/Laptop'",
        "export PROVCTL_API_KEY=''",
        "export OLLAMA_HOST='http://localhost:11434'",
    ]
    assert render(res, "key")[1] == [""]


def test_exit_5_prints_nothing_on_stdout_for_text_and_env(capsys):
    res = resolve([A._replace(enabled=False)])
    for fmt in ("text", "env"):
        code, out, err = render(res, fmt)
        assert (code, out) == (5, [])
        assert err[0].startswith("Skipped openai/api_key/A (priority 1): disabled")
    assert capsys.readouterr().err.splitlines()[0] == "Error: no usable connection for model gpt-4o (1 skipped)"


def test_exit_5_json_is_still_printed(capsys):
    code, out, err = render(resolve([]), "json")
    assert code == 5 and err == []
    captured = capsys.readouterr()
    assert json.loads(captured.out)["reason"] == "no_connections"
    assert captured.err.startswith("Error: model gpt-4o has no connections attached\nHint: ")


@pytest.mark.parametrize("value", ["plain", "it's", "'", "a'b'c", "$HOME `id` $(id) \"q\" \\n", "ünï €", "a\nb"])
def test_shell_quote_round_trips_through_sh(value):
    script = f"x={view.shell_quote(value)}; printf %s \"$x\""
    assert subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout == value


@pytest.mark.parametrize(("fmt", "json_", "expected"), [
    (None, False, "text"), (None, True, "json"), ("env", False, "env"), ("json", True, "json"),
    ("text", False, "text"),
])
def test_format_choice(fmt, json_, expected):
    assert view.resolve_format(fmt, json_) == expected


@pytest.mark.parametrize(("fmt", "json_"), [("yaml", False), ("env", True), ("text", True), ("JSON", False)])
def test_bad_format_is_a_usage_error(fmt, json_):
    with pytest.raises(UsageError):
        view.resolve_format(fmt, json_)
