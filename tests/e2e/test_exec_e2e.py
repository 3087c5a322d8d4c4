"""The credential reaches the providers' own SDKs (SPEC §4 "What a program is handed", §9 exec).

The official ``openai`` and ``anthropic`` Python packages run as CMD — through `provctl exec`
and through the README's ``out=$(provctl resolve M --format env) && eval "$out"`` — against a
loopback server that records every path and header. The SDK code passes no key and no URL:
the environment provctl hands over is the whole configuration. Keys live in the real Secret
Service; inherited key variables in the caller's environment must never win.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.support.fakeprovider import json_reply

pytestmark = pytest.mark.e2e

CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
           "content": [{"type": "text", "text": "pong"}], "stop_reason": "end_turn",
           "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}

OPENAI_SDK = """
    import os
    from openai import OpenAI

    client = OpenAI(max_retries=0)  # no key, no URL: the environment says it all
    reply = client.chat.completions.create(
        model=os.environ["PROVCTL_MODEL"], messages=[{"role": "user", "content": "ping"}])
    print("openai says", reply.choices[0].message.content)
"""
ANTHROPIC_SDK = """
    import os
    import anthropic

    client = anthropic.Anthropic(max_retries=0)  # no key, no URL: the environment says it all
    reply = client.messages.create(model=os.environ["PROVCTL_MODEL"], max_tokens=8,
                                   messages=[{"role": "user", "content": "ping"}])
    print("anthropic says", reply.content[0].text)
"""
# what a user's shell may already hold: none of it may reach the server
INHERITED = {"OPENAI_API_KEY": "sk-inherited-openai", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
             "ANTHROPIC_API_KEY": "sk-ant-inherited-api", "ANTHROPIC_AUTH_TOKEN": "sk-ant-inherited-token",
             "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}


def only_provctl_s(req) -> None:
    """No inherited key or URL reached the server in this request."""
    sent = json.dumps(dict(req.headers)) + req.target
    assert not [v for v in INHERITED.values() if v in sent]


def anthropic_major() -> int:
    import anthropic

    return int(anthropic.__version__.split(".")[0])


def new_key(prefix: str) -> str:
    return f"{prefix}-e2e-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sdk(tmp_path):
    """Paths of the two SDK programs."""
    paths = {}
    for name, code in (("openai", OPENAI_SDK), ("anthropic", ANTHROPIC_SDK)):
        path = tmp_path / f"{name}_sdk.py"
        path.write_text(textwrap.dedent(code))
        paths[name] = str(path)
    return paths


@pytest.fixture
def world(run, fake, keyring_delete, tmp_path):
    """gpt: openai Work, Backup; claude-api: anthropic api_key Team; claude-max: anthropic
    subscription Max; llama: a local openai-compatible gateway. Each connection has its own
    path prefix on the fake server, so a request tells which connection it used."""
    fake.set("/", json_reply({"error": "unexpected path"}, 404))
    for prefix in ("/work", "/backup", "/gw"):
        fake.set(f"{prefix}/v1/chat/completions", json_reply(CHAT))
    for prefix in ("/team", "/max"):
        fake.set(f"{prefix}/v1/messages", json_reply(MESSAGE))
    keys = {"Work": new_key("sk-proj"), "Backup": new_key("sk-proj"),
            "Team": new_key("sk-ant-api03"), "Max": new_key("sk-ant-oat01")}

    def entry(provider, auth_type, label, path, key=None):
        return {"agent": None, "provider": provider, "auth_type": auth_type, "label": label,
                "base_url": fake.url + path, "key": key}

    def model(name, provider, upstream, *refs):
        return {"name": name, "provider": provider, "upstream_model": upstream, "enabled": True,
                "default": False, "connections": list(refs)}

    # one `import` instead of ten commands (the keys go to the keyring; the file is removed)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"connections": [
        entry("openai", "api_key", "Work", "/work/v1", keys["Work"]),
        entry("openai", "api_key", "Backup", "/backup/v1", keys["Backup"]),
        entry("anthropic", "api_key", "Team", "/team", keys["Team"]),
        entry("anthropic", "subscription", "Max", "/max", keys["Max"]),
        entry("openai-compatible", "local", "Gateway", "/gw/v1"),
    ], "models": [
        model("gpt", "openai", "gpt-4o-mini", "openai/api_key/Work", "openai/api_key/Backup"),
        model("claude-api", "anthropic", "claude-x", "anthropic/api_key/Team"),
        model("claude-max", "anthropic", "claude-x", "anthropic/subscription/Max"),
        model("llama", "openai-compatible", "llama", "openai-compatible/local/Gateway"),
    ]}))
    try:
        run("import", str(inventory), check=0)
    finally:
        inventory.unlink()
    ids = {c["label"]: c["id"] for c in json.loads(run("providers", "list", "--json", check=0).stdout)}
    yield keys
    for cid in ids.values():  # the real keyring outlives the test's database
        keyring_delete("provctl", cid)


def env_for_sdk(tmp_path: Path) -> dict:
    return {**INHERITED, "NO_PROXY": "127.0.0.1,localhost", "TMPDIR": str(tmp_path / "tmp"),
            "HOME": str(tmp_path / "home")}


@pytest.fixture
def via(run, provctl_bin, e2e_env, tmp_path):
    """via(mode, model, program) -> stdout: the SDK program run through `exec` or through the
    README's eval idiom in bash, with inherited key variables in the environment."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    stderrs: list[str] = []

    def _via(mode: str, model: str, program: str) -> str:
        env = env_for_sdk(tmp_path)
        if mode == "exec":
            proc = run("exec", model, "--", sys.executable, program, env=env, check=0)
        else:
            script = 'out=$("$PROVCTL" resolve "$1" --format env) && eval "$out" && exec "$2" "$3"'
            proc = subprocess.run(["bash", "-c", script, "bash", model, sys.executable, program],
                                  env={**e2e_env, **env, "PROVCTL": str(provctl_bin)},
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, proc.stderr
        stderrs.append(proc.stderr)
        return proc.stdout

    _via.stderrs = stderrs
    return _via


MODES = ["exec", "eval"]


@pytest.mark.parametrize("mode", MODES)
def test_the_openai_sdk_uses_the_selected_key_and_base_url(world, fake, sdk, via, mode, run):
    assert via(mode, "gpt", sdk["openai"]) == "openai says pong\n"
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/work/v1/chat/completions")
    assert req.header("authorization") == f"Bearer {world['Work']}"
    assert json.loads(req.body)["model"] == "gpt-4o-mini"  # PROVCTL_MODEL: the upstream id
    only_provctl_s(req)

    run("providers", "disable", "Work", check=0)  # the walk falls back to the next connection
    assert via(mode, "gpt", sdk["openai"]) == "openai says pong\n"
    second = fake.requests[1]
    assert second.path == "/backup/v1/chat/completions"
    assert second.header("authorization") == f"Bearer {world['Backup']}"
    only_provctl_s(second)
    assert any("Skipped openai/api_key/Work (priority 1): disabled" in e for e in via.stderrs)


@pytest.mark.parametrize("mode", MODES)
def test_the_anthropic_sdk_with_an_api_key(world, fake, sdk, via, mode):
    assert via(mode, "claude-api", sdk["anthropic"]) == "anthropic says pong\n"
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/team/v1/messages")  # no /v1/v1: the SDK adds /v1
    if anthropic_major() < 2:  # anthropic 0.x/1.x send an API key as x-api-key
        assert (req.header("x-api-key"), req.header("authorization")) == (world["Team"], None)
    else:  # anthropic 2.x sends ANTHROPIC_API_KEY as a Bearer token
        assert (req.header("authorization"), req.header("x-api-key")) == (f"Bearer {world['Team']}", None)
    only_provctl_s(req)


@pytest.mark.parametrize("mode", MODES)
def test_the_anthropic_sdk_with_a_subscription_token(world, fake, sdk, via, mode):
    # the inherited ANTHROPIC_API_KEY would win over the token: provctl unsets it
    assert via(mode, "claude-max", sdk["anthropic"]) == "anthropic says pong\n"
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/max/v1/messages")
    assert (req.header("authorization"), req.header("x-api-key")) == (f"Bearer {world['Max']}", None)
    only_provctl_s(req)


@pytest.mark.parametrize("mode", MODES)
def test_a_local_openai_compatible_gateway_works_and_gets_no_real_key(world, fake, sdk, via, mode):
    assert via(mode, "llama", sdk["openai"]) == "openai says pong\n"
    (req,) = fake.requests
    assert req.path == "/gw/v1/chat/completions"
    assert req.header("authorization") == "Bearer local"  # not the inherited real key
    only_provctl_s(req)


def test_the_key_never_appears_in_provctl_s_argv_stderr_or_any_file(world, run, fake, sdk, via, tmp_path,
                                                                   db_bytes):
    spy = tmp_path / "spy.py"
    spy.write_text(textwrap.dedent("""
        import json, os, sys
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:  # provctl (it runs CMD: --mask)
            parent = f.read().decode()
        print(json.dumps({"parent": parent, "own": sys.argv, "key": os.environ["PROVCTL_API_KEY"]}))
    """))
    seen = json.loads(run("exec", "gpt", "--mask", "--", sys.executable, str(spy), "arg",
                          env=env_for_sdk(tmp_path), check=0).stdout)
    assert seen["key"] == "<masked>"  # --mask: even CMD's printout of it is masked
    assert "\0exec\0gpt\0--mask\0--\0" in seen["parent"]
    outputs = [seen["parent"], json.dumps(seen["own"])]
    run("providers", "disable", "Work", check=0)  # a skip line on stderr too
    for mode in MODES:
        via(mode, "gpt", sdk["openai"])
    outputs += via.stderrs
    outputs.append(run("exec", "gpt", "--", "sh", "-c", "exit 3", check=3).stderr)
    outputs.append(run("exec", "gpt", "--", "no-such-command-xyz", check=127).stderr)
    for key in world.values():
        for text in outputs:
            assert key not in text and key[12:] not in text
    # nothing provctl wrote holds a key: the database (and its WAL), keyring config, temp files
    raw = db_bytes()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    for key in world.values():
        assert key.encode() not in raw
        for path in files:
            assert key.encode() not in path.read_bytes(), path


def test_key_format_and_show_reveal_read_the_real_keyring(world, run):
    assert run("resolve", "claude-max", "--format", "key", check=0).stdout == world["Max"] + "\n"
    assert run("resolve", "llama", "--format", "key", check=0).stdout == "\n"
    doc = json.loads(run("providers", "show", "Team", "--json", "--reveal", check=0).stdout)
    assert (doc["api_key"], doc["credential_source"]) == (world["Team"], "keyring")
    text = run("providers", "show", "anthropic/subscription/Max", "--reveal", check=0).stdout
    assert text.splitlines()[-1] == world["Max"]
