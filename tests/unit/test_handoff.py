"""SPEC §4 "What a program is handed": the variable table row by row, the `unset` lines of
`resolve --format env`, and the environment `exec` builds from it (pure, no process)."""

from __future__ import annotations

import subprocess

import pytest

from provctl.domain.families import FAMILIES, base_url_warning, shape_hint
from provctl.domain.handoff import Handed, variables
from provctl.domain.resolution import Resolution, Selection
from provctl.output.resolve import env_lines

KEY = "sk-key-0123456789abcdef"

# (provider, auth type) -> (key variables, base-URL variable, unset), as the SPEC's table says
TABLE = {
    ("openai", "api_key"): (("OPENAI_API_KEY",), "OPENAI_BASE_URL", ()),
    ("openai", "subscription"): (("OPENAI_API_KEY",), "OPENAI_BASE_URL", ()),
    ("anthropic", "api_key"): (("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL",
                               ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")),
    ("anthropic", "subscription"): (("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"),
                                    "ANTHROPIC_BASE_URL", ("ANTHROPIC_API_KEY",)),
    ("gemini", "api_key"): (("GEMINI_API_KEY",), "GEMINI_BASE_URL", ("GOOGLE_API_KEY",)),
    ("openrouter", "api_key"): (("OPENROUTER_API_KEY",), "OPENROUTER_BASE_URL", ()),
    ("mistral", "api_key"): (("MISTRAL_API_KEY",), "MISTRAL_BASE_URL", ()),
    ("groq", "api_key"): (("GROQ_API_KEY",), "GROQ_BASE_URL", ()),
    ("deepseek", "api_key"): (("DEEPSEEK_API_KEY",), "DEEPSEEK_BASE_URL", ()),
    ("xai", "api_key"): (("XAI_API_KEY",), "XAI_BASE_URL", ()),
    ("ollama", "local"): ((), "OLLAMA_HOST", ()),
    ("openai-compatible", "api_key"): (("OPENAI_API_KEY",), "OPENAI_BASE_URL", ()),
    ("openai-compatible", "local"): (("OPENAI_API_KEY",), "OPENAI_BASE_URL", ()),
}


def selection(provider: str, auth_type: str, key: str | None = KEY,
              base_url: str = "http://127.0.0.1:8000/base") -> Resolution:
    sel = Selection("id-1", provider, "Work", auth_type, base_url,
                    "none" if key is None else "keyring", key)
    return Resolution("m", "up-id", provider, None, sel, None, ())


def test_the_table_covers_every_family_and_auth_type():
    assert set(TABLE) == {(name, a) for name, fam in FAMILIES.items() for a in fam.auth_types}


@pytest.mark.parametrize("provider,auth_type", sorted(TABLE))
def test_each_row_sets_and_unsets_what_the_spec_table_says(provider, auth_type):
    key_vars, base_var, unset = TABLE[(provider, auth_type)]
    local = auth_type == "local"
    handed = variables(selection(provider, auth_type, None if local else KEY))
    family_key = "local" if (provider, auth_type) == ("openai-compatible", "local") else ("" if local else KEY)
    assert handed.exports == (
        ("PROVCTL_PROVIDER", provider),
        ("PROVCTL_MODEL", "up-id"),
        ("PROVCTL_BASE_URL", "http://127.0.0.1:8000/base"),
        ("PROVCTL_CONNECTION", f"{provider}/{auth_type}/Work"),
        ("PROVCTL_API_KEY", "" if local else KEY),
        *((name, family_key) for name in key_vars),
        (base_var, "http://127.0.0.1:8000/base"),
    )
    assert handed.unset == unset
    assert handed.secret == (None if local else KEY)


def test_env_lines_put_the_unset_lines_first():
    lines = env_lines(selection("anthropic", "subscription", "sk-ant-oat01-it's"))
    assert lines == [
        "unset ANTHROPIC_API_KEY",
        "export PROVCTL_PROVIDER='anthropic'",
        "export PROVCTL_MODEL='up-id'",
        "export PROVCTL_BASE_URL='http://127.0.0.1:8000/base'",
        "export PROVCTL_CONNECTION='anthropic/subscription/Work'",
        "export PROVCTL_API_KEY='sk-ant-oat01-it'\\''s'",
        "export ANTHROPIC_AUTH_TOKEN='sk-ant-oat01-it'\\''s'",
        "export CLAUDE_CODE_OAUTH_TOKEN='sk-ant-oat01-it'\\''s'",
        "export ANTHROPIC_BASE_URL='http://127.0.0.1:8000/base'",
    ]


def test_env_lines_evaluate_in_sh_over_inherited_variables():
    script = "\n".join(env_lines(selection("anthropic", "api_key"))) + (
        '\nprintf "%s|%s|%s|%s" "$ANTHROPIC_API_KEY" "${ANTHROPIC_AUTH_TOKEN-unset}" '
        '"${CLAUDE_CODE_OAUTH_TOKEN-unset}" "$OTHER"')
    env = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "inherited", "ANTHROPIC_AUTH_TOKEN": "tok",
           "CLAUDE_CODE_OAUTH_TOKEN": "cc", "OTHER": "kept"}
    out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True).stdout
    assert out == f"{KEY}|unset|unset|kept"


def test_the_program_environment_drops_shadowing_variables_and_overrides_inherited_keys():
    handed = variables(selection("gemini", "api_key"))
    env = handed.environ({"GOOGLE_API_KEY": "g-inherited", "GEMINI_API_KEY": "inherited",
                          "PATH": "/bin", "HOME": "/home/x"})
    assert "GOOGLE_API_KEY" not in env
    assert (env["GEMINI_API_KEY"], env["PROVCTL_API_KEY"]) == (KEY, KEY)
    assert (env["PATH"], env["HOME"]) == ("/bin", "/home/x")


def test_a_local_openai_compatible_connection_hides_an_inherited_real_key():
    env = variables(selection("openai-compatible", "local", None)).environ({"OPENAI_API_KEY": "sk-real"})
    assert (env["OPENAI_API_KEY"], env["PROVCTL_API_KEY"]) == ("local", "")


def test_the_secret_is_not_in_the_repr():
    handed = variables(selection("openai", "api_key"))
    assert KEY not in repr(handed) and "OPENAI_API_KEY" in repr(handed)
    assert isinstance(handed, Handed)


def test_nothing_selected_has_no_variables():
    with pytest.raises(ValueError):
        variables(Resolution("m", "m", "openai", None, None, "no_connections", ()))


# ---------------------------------------------------------------- base-URL shape


@pytest.mark.parametrize("url", ["http://gw.local/v1", "http://gw.local/v1/", "https://h/proxy/v1"])
def test_an_anthropic_base_url_ending_in_v1_gets_a_warning(url):
    warning = base_url_warning("anthropic", url)
    assert warning is not None and "/v1/v1/" in warning
    assert warning.endswith("the usual form is " + url.rstrip("/")[: -len("/v1")])


@pytest.mark.parametrize("provider,url", [("anthropic", "http://gw.local"), ("anthropic", None),
                                          ("anthropic", "http://gw.local/v1beta"),
                                          ("openai", "http://gw.local/v1"), ("openai-compatible", "http://h/v1")])
def test_other_base_urls_get_no_warning(provider, url):
    assert base_url_warning(provider, url) is None


@pytest.mark.parametrize("provider,url,says", [
    ("anthropic", "http://gw/v1", "its base URL does not end in /v1"),
    ("anthropic", "http://gw/api", "API root without /v1 (like https://api.anthropic.com)"),
    ("openai", "http://gw", "usually ends in /v1 (like https://api.openai.com/v1)"),
    ("openai-compatible", "http://gw:8000", "usually ends in /v1 (like http://127.0.0.1:8000/v1)"),
    ("gemini", "http://gw", "usually ends in /v1beta"),
    ("openai", "http://gw/v1", "with or without /v1"),
    ("ollama", "http://gw:11434", "the models endpoint is BASE/api/tags"),
])
def test_a_404_hint_names_the_shape_of_the_family_s_base_url(provider, url, says):
    hint = shape_hint(provider, url)
    assert hint.startswith("check the base URL's shape") and says in hint
    assert "try again" not in hint
