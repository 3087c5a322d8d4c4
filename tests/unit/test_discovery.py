"""services.discovery (SPEC §6 connect --verify / providers refresh / providers models /
resolve --probe, §7) on a tmp SQLite, a memory key store and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from provctl.domain import labels
from provctl.errors import NotFound, SecretStoreError, Unavailable, UsageError
from provctl.keystore import MemoryKeyStore
from provctl.services import connections, discovery
from provctl.services.connections import Credentials
from tests.support.fakeprovider import (
    closed_port_url,
    json_reply,
    models_reply,
    slow_reply,
    status_reply,
    text_reply,
    unanswered_port,
)
from tests.support.checks import sql

KEY = "sk-test-SECRET-0123456789abcdef"
KEY2 = "sk-test-OTHER-0123456789abcdef"
STAMP = "2026-11-21T12:00:00.000000Z"  # the app_ctx clock (tests/conftest.py)
FAST = 0.01  # backoff before the one retry




def refresh(ctx, refs=(), all_=False, **kw):
    kw.setdefault("backoff", FAST)
    return discovery.refresh(ctx, refs, all_, kw.pop("timeout", 5.0), **kw)


def lines(results):
    return [(r.label, r.result, r.models, r.detail) for r in results]


def stored(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT c.label, d.model_id, d.discovered_at FROM discovered_models d "
            "JOIN connections c ON c.id = d.connection_id ORDER BY c.label, d.model_id").fetchall()
    finally:
        conn.close()


def assert_no_key(*texts):
    for text in texts:
        assert KEY not in str(text) and KEY2 not in str(text)


# ---------------------------------------------------------------- connect --verify


def test_verify_accepts_a_working_key_and_sends_it_in_the_family_header(fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    verify = discovery.verifier_for(5.0)
    assert verify("openai", f"{fake.url}/v1", "api_key", KEY) == ("gpt-4o",)  # the ids it listed
    (req,) = fake.requests
    assert req.path == "/v1/models" and req.header("authorization") == f"Bearer {KEY}"


def test_verify_uses_the_anthropic_headers(fake):
    fake.set("/v1/models", models_reply("anthropic", "claude-3-5-sonnet"))
    discovery.verifier_for(5.0)("anthropic", fake.url, "api_key", KEY)
    (req,) = fake.requests
    assert req.header("x-api-key") == KEY and req.header("anthropic-version") == "2023-06-01"
    assert req.header("authorization") is None


@pytest.mark.parametrize("status", [401, 403])
def test_verify_refuses_a_rejected_key_with_exit_5(fake, status):
    fake.set("/v1/models", status_reply(status))
    with pytest.raises(Unavailable) as info:
        discovery.verifier_for(5.0)("openai", f"{fake.url}/v1", "api_key", KEY)
    assert info.value.exit_code == 5
    assert f"openai rejected the credential (HTTP {status} from {fake.url}/v1/models)" in info.value.message
    assert "nothing was saved" in info.value.message and info.value.hint
    assert len(fake.requests) == 1  # a rejection is not retried
    assert_no_key(info.value.message, info.value.hint)


def test_verify_refuses_when_nothing_answers(fake):
    url = closed_port_url()
    with pytest.raises(Unavailable) as info:
        discovery.verifier_for(5.0)("openai", url, "api_key", KEY)
    assert info.value.message == f"no answer from {url}/models (connection refused); nothing was saved"
    assert "--timeout" in info.value.hint
    assert_no_key(info.value.message, info.value.hint)


def test_verify_refuses_a_slow_endpoint_after_the_read_timeout(fake):
    fake.set("/v1/models", slow_reply(3.0))
    with pytest.raises(Unavailable) as info:
        discovery.verifier_for(0.2)("openai", f"{fake.url}/v1", "api_key", KEY)
    assert info.value.message == (
        f"{fake.url}/v1/models accepted the connection but did not answer in time (timed out "
        "after 0.2s waiting for the response); nothing was saved")
    assert "--timeout" in info.value.hint and "slow" in info.value.hint


def test_verify_of_a_host_that_never_takes_the_connection_says_no_answer():
    with unanswered_port() as url:
        with pytest.raises(Unavailable) as info:
            discovery.verifier_for(0.2)("openai", url, "api_key", KEY)
    assert info.value.message == (
        f"no answer from {url}/models (connection timed out after 0.2s); nothing was saved")


def test_verify_refuses_a_server_error_and_a_non_json_body(fake):
    fake.set("/err/models", status_reply(500))
    fake.set("/html/models", text_reply("<html>login</html>"))
    verify = discovery.verifier_for(5.0)
    with pytest.raises(Unavailable) as info:
        verify("openai", f"{fake.url}/err", "api_key", KEY)
    assert "answered with an error (HTTP 500)" in info.value.message
    with pytest.raises(Unavailable) as info:
        verify("openai", f"{fake.url}/html", "api_key", KEY)
    assert "did not answer with a openai models list (response is not JSON)" in info.value.message
    assert "API root" in info.value.hint


def test_verify_asks_a_local_connection_without_a_key(fake):
    fake.set("/api/tags", models_reply("ollama", "llama3:latest"))
    discovery.verifier_for(5.0)("ollama", fake.url, "local", None)
    (req,) = fake.requests
    assert req.path == "/api/tags" and req.header("authorization") is None


def test_verify_cannot_check_a_key_named_only_by_key_env(fake):
    with pytest.raises(UsageError) as info:
        discovery.verifier_for(5.0)("openai", f"{fake.url}/v1", "api_key", None)
    assert "--key-env" in info.value.message and "--key-stdin" in info.value.hint
    assert fake.requests == []


def test_connect_with_a_rejected_verify_writes_nothing(app_ctx, keystore, db_path, fake):
    fake.set("/v1/models", status_reply(401))
    with pytest.raises(Unavailable):
        connections.connect(app_ctx, "openai", label="Work", base_url=f"{fake.url}/v1",
                            creds=Credentials(key=KEY), verify=discovery.verifier_for(5.0))
    assert keystore.secrets == {}
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM connections").fetchone() == (0,)
    finally:
        conn.close()


def test_connect_with_a_passing_verify_saves_the_connection(app_ctx, keystore, fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    result = connections.connect(app_ctx, "openai", label="Work", base_url=f"{fake.url}/v1",
                                 creds=Credentials(key=KEY), verify=discovery.verifier_for(5.0))
    assert result.action == "created" and keystore.secrets == {result.connection.id: KEY}
    # the ids the verification listed are stored with the row (issue 11)
    assert (result.discovered, result.connection.models) == (1, 1)
    assert [m.id for m in discovery.models(app_ctx, "openai/Work")] == ["gpt-4o"]


# ---------------------------------------------------------------- providers refresh


def test_refresh_stores_the_discovered_ids_with_the_time(app_ctx, db_path, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o-mini", "gpt-4o", "gpt-4o"))
    cid = connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY).connection.id
    results = refresh(app_ctx, ["openai/Work"])
    assert [r.to_dict() for r in results] == [
        {"id": cid, "label": "Work", "result": "ok", "models": 2, "detail": None}]
    assert stored(db_path) == [("Work", "gpt-4o", STAMP), ("Work", "gpt-4o-mini", STAMP)]
    assert [v.models for v in connections.list_connections(app_ctx)] == [2]


def test_refresh_replaces_the_previous_set(app_ctx, db_path, fake, connected):
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    fake.set("/v1/models", models_reply("openai", "a", "b"))
    refresh(app_ctx, ["Work"])
    fake.set("/v1/models", models_reply("openai", "b", "c"))
    refresh(app_ctx, ["Work"])
    assert [m for _, m, _ in stored(db_path)] == ["b", "c"]


def test_refresh_keeps_the_previous_set_when_the_endpoint_fails(app_ctx, db_path, fake, connected):
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    refresh(app_ctx, ["Work"])
    fake.set("/v1/models", status_reply(500))
    assert lines(refresh(app_ctx, ["Work"])) == [("Work", "error", None, "HTTP 500")]
    assert [m for _, m, _ in stored(db_path)] == ["gpt-4o"]


def test_refresh_reports_every_kind_of_result_and_stores_the_ok_ones(app_ctx, db_path, fake, connected):
    fake.set("/ok/models", models_reply("openai", "gpt-4o"))
    fake.set("/401/models", status_reply(401))
    fake.set("/403/models", status_reply(403))
    fake.set("/500/models", status_reply(500))
    fake.set("/html/models", text_reply("<html/>"))
    fake.set("/shape/models", json_reply({"models": []}))
    for name in ("ok", "401", "403", "500", "html", "shape"):
        connected("openai", name, base_url=f"{fake.url}/{name}", key=f"{KEY}-{name}")
    connected("openai", "dead", base_url=closed_port_url(), key=f"{KEY}-dead")
    results = refresh(app_ctx, all_=True)
    assert lines(results) == [
        ("401", "unauthorized", None, "HTTP 401"),
        ("403", "unauthorized", None, "HTTP 403"),
        ("500", "error", None, "HTTP 500"),
        ("dead", "unreachable", None, "connection refused"),
        ("html", "bad_response", None, "response is not JSON"),
        ("ok", "ok", 1, None),
        ("shape", "bad_response", None, "unexpected JSON: expected an object with a 'data' list"),
    ]
    assert stored(db_path) == [("ok", "gpt-4o", STAMP)]
    assert_no_key(results, [r.to_dict() for r in results])


def test_refresh_retries_once_after_429(app_ctx, fake, connected):
    fake.set("/v1/models", status_reply(429), models_reply("openai", "gpt-4o"))
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    assert lines(refresh(app_ctx, ["Work"])) == [("Work", "ok", 1, None)]
    assert len(fake.requests) == 2


def test_refresh_times_out_a_slow_endpoint_with_the_given_read_timeout(app_ctx, fake, connected):
    """A server that takes the request and does not answer in time is there: `error`, with a
    detail that says it timed out; `unreachable` is for one that never takes the connection."""
    fake.set("/v1/models", slow_reply(3.0))
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    with unanswered_port() as silent:
        connected("openai", "Silent", base_url=f"{silent}/v1", key=f"{KEY}-silent")
        assert lines(refresh(app_ctx, ["Work", "Silent"], timeout=0.2)) == [
            ("Work", "error", None, "timed out after 0.2s waiting for the response"),
            ("Silent", "unreachable", None, "connection timed out after 0.2s")]


def test_refresh_without_a_usable_key_sends_no_request(app_ctx, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "Env", base_url=f"{fake.url}/v1", key_env="UNSET_VAR_FOR_TEST")
    assert lines(refresh(app_ctx, ["Env"])) == [("Env", "error", None, "no_key")]
    assert fake.requests == []


def test_refresh_reads_the_key_from_the_named_variable(app_ctx, environ, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    environ["MY_KEY"] = f"  {KEY2}\n"
    connected("openai", "Env", base_url=f"{fake.url}/v1", key_env="MY_KEY")
    assert lines(refresh(app_ctx, ["Env"])) == [("Env", "ok", 1, None)]
    assert fake.requests[0].header("authorization") == f"Bearer {KEY2}"


def test_refresh_follows_the_key_source_order(app_ctx, environ, fake, connected):
    # one path per connection: the two requests run concurrently, in no fixed order
    fake.set("/stored/v1/models", models_reply("openai", "gpt-4o"))
    fake.set("/envfirst/v1/models", models_reply("openai", "gpt-4o"))
    environ["MY_KEY"] = KEY2
    connected("openai", "Stored", base_url=f"{fake.url}/stored/v1", key=KEY, key_env="MY_KEY", key_source="keyring,env")
    connected("openai", "EnvFirst", base_url=f"{fake.url}/envfirst/v1", key=KEY + "x", key_env="MY_KEY",
            key_source="env,keyring")
    refresh(app_ctx, ["Stored", "EnvFirst"])
    sent = {r.path.split("/")[1]: r.header("authorization") for r in fake.requests}
    assert sent == {"stored": f"Bearer {KEY}", "envfirst": f"Bearer {KEY2}"}


def test_refresh_reports_a_key_gone_from_the_keyring(app_ctx, keystore, fake, connected):
    cid = connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY).connection.id
    del keystore.secrets[cid]
    assert lines(refresh(app_ctx, ["Work"])) == [("Work", "error", None, "key_missing")]
    assert fake.requests == []


class OneBrokenKeyStore(MemoryKeyStore):
    """The keyring refuses to read one connection's secret."""

    broken: str | None = None

    def get(self, connection_id):
        if connection_id == self.broken:
            raise SecretStoreError(f"the keyring refused to read a secret ({KEY})")
        return super().get(connection_id)


def test_a_keyring_failure_fails_that_connection_only(app_ctx, db_path, fake, connected):
    store = OneBrokenKeyStore()
    app_ctx.keystore_factory = lambda: store
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "A", base_url=f"{fake.url}/v1", key=KEY)
    store.broken = connected("openai", "B", base_url=f"{fake.url}/v1", key=KEY2).connection.id
    connected("openai", "C", base_url=f"{fake.url}/v1", key=KEY + "c")
    results = refresh(app_ctx, all_=True)
    assert lines(results) == [("A", "ok", 1, None), ("B", "error", None, "keyring_unavailable"),
                              ("C", "ok", 1, None)]
    assert len(fake.requests) == 2
    assert [label for label, _, _ in stored(db_path)] == ["A", "C"]
    assert_no_key(results)


def test_a_hung_keyring_is_asked_once_per_batch(app_ctx, monkeypatch, fake, connected):
    calls = []

    class HungKeyStore(MemoryKeyStore):
        def get(self, connection_id):
            calls.append(connection_id)
            raise SecretStoreError("the keyring did not answer within 5 s (read a secret)")

    store = HungKeyStore()
    app_ctx.keystore_factory = lambda: store
    connected("openai", "A", base_url=f"{fake.url}/v1", key=KEY)
    connected("openai", "B", base_url=f"{fake.url}/v1", key=KEY2)
    monkeypatch.setattr(discovery, "KEYRING_STUCK_S", 0.0)  # every failure counts as a hang
    results = refresh(app_ctx, all_=True)
    assert lines(results) == [("A", "error", None, "keyring_unavailable"),
                              ("B", "error", None, "keyring_unavailable")]
    assert len(calls) == 1 and fake.requests == []


def test_refresh_asks_a_local_connection_without_a_key(app_ctx, db_path, fake, connected):
    fake.set("/api/tags", models_reply("ollama", "llama3:latest", "qwen2:7b"))
    connected("ollama", "Laptop", base_url=fake.url)
    assert lines(refresh(app_ctx, ["ollama/Laptop"])) == [("Laptop", "ok", 2, None)]
    (req,) = fake.requests
    assert req.path == "/api/tags" and req.header("authorization") is None
    assert [m for _, m, _ in stored(db_path)] == ["llama3:latest", "qwen2:7b"]


def test_refresh_all_covers_enabled_user_level_connections_only(app_ctx, db_path, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "On", base_url=f"{fake.url}/v1", key=KEY)
    connected("openai", "Off", base_url=f"{fake.url}/v1", key=KEY2)
    connections.set_enabled(app_ctx, "Off", False)
    uid = sqlite3.connect(db_path).execute("SELECT id FROM users").fetchone()[0]
    sql(db_path, "INSERT INTO agents (id, user_id, name, name_key, created_at) "
        "VALUES ('ag', ?, 'bot', 'bot', ?)", (uid, STAMP))
    sql(db_path, "INSERT INTO connections (id, user_id, agent_id, provider, auth_type, label, "
        "label_key, enabled, key_stored, key_source, base_url, created_at, updated_at) VALUES "
        "('legacy-1', ?, 'ag', 'ollama', 'local', 'Old', 'old', 1, 0, 'keyring', ?, ?, ?)",
        (uid, fake.url, STAMP, STAMP))
    assert lines(refresh(app_ctx, all_=True)) == [("On", "ok", 1, None)]
    # named explicitly, a disabled or legacy connection is refreshed too
    fake.set("/api/tags", models_reply("ollama", "llama3"))
    assert lines(refresh(app_ctx, ["Off", "Old"])) == [("Off", "ok", 1, None), ("Old", "ok", 1, None)]


def test_refresh_keeps_the_order_of_the_refs_and_names_each_connection_once(app_ctx, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    ids = {name: connected("openai", name, base_url=f"{fake.url}/v1", key=f"{KEY}-{name}").connection.id
           for name in ("a", "b", "c")}
    results = refresh(app_ctx, ["c", ids["a"][:8], "openai/c"], all_=True)
    assert [r.label for r in results] == ["c", "a", "b"]
    assert len(fake.requests) == 3


def test_refresh_needs_refs_or_all(app_ctx):
    with pytest.raises(UsageError) as info:
        discovery.refresh(app_ctx, [], False, 5.0)
    assert info.value.exit_code == 2 and "--all" in info.value.message


def test_refresh_with_an_unknown_ref_sends_no_request(app_ctx, fake, connected):
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    with pytest.raises(NotFound):
        refresh(app_ctx, ["Work", "nope"])
    assert fake.requests == []


def test_refresh_with_nothing_enabled_is_an_empty_success(app_ctx):
    assert refresh(app_ctx, all_=True) == []


def test_refresh_reports_progress_for_every_connection(app_ctx, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "Env", base_url=f"{fake.url}/v1", key_env="UNSET_VAR_FOR_TEST")
    for name in ("a", "b", "c"):
        connected("openai", name, base_url=f"{fake.url}/v1", key=f"{KEY}-{name}")
    events = []
    main = threading.get_ident()
    results = refresh(app_ctx, all_=True, on_start=lambda total: events.append(("start", total)),
                      on_done=lambda done, total, r: events.append(
                          (done, total, r.label, threading.get_ident() == main)))
    assert events[0] == ("start", 4)
    assert [e[:2] for e in events[1:]] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert sorted(e[2] for e in events[1:]) == sorted(r.label for r in results)
    assert all(e[3] for e in events[1:])  # called in the caller's thread


def test_refresh_asks_several_connections_at_once_within_the_bound(app_ctx, fake, connected):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def reply(_request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            threading.Event().wait(0.15)
            return models_reply("openai", "gpt-4o")
        finally:
            with lock:
                state["now"] -= 1

    fake.set("/v1/models", reply)
    for i in range(6):
        connected("openai", f"c{i}", base_url=f"{fake.url}/v1", key=f"{KEY}-{i}")
    results = refresh(app_ctx, all_=True, max_workers=3)
    assert [r.result for r in results] == ["ok"] * 6
    assert state["max"] == 3


def test_a_connection_removed_during_the_refresh_is_not_stored(app_ctx, db_path, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "Gone", base_url=f"{fake.url}/v1", key=KEY)
    connected("openai", "Kept", base_url=f"{fake.url}/v1", key=KEY2)

    def remove_gone(done, total, result):
        if done == total:
            connections.remove(app_ctx, "Gone")

    results = refresh(app_ctx, all_=True, on_done=remove_gone)
    assert lines(results) == [("Gone", "error", None, "the connection was removed during the refresh"),
                              ("Kept", "ok", 1, None)]
    assert [label for label, _, _ in stored(db_path)] == ["Kept"]


def test_removing_a_connection_drops_its_discovered_models(app_ctx, db_path, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    refresh(app_ctx, ["Work"])
    connections.remove(app_ctx, "Work")
    assert stored(db_path) == []


# ---------------------------------------------------------------- providers models


def test_models_lists_the_discovered_ids_sorted(app_ctx, fake, connected):
    fake.set("/v1/models", models_reply("openai", "o1", "gpt-4o", "gpt-4o-mini"))
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    connected("openai", "Other", base_url=f"{fake.url}/v1", key=KEY2)
    refresh(app_ctx, ["Work"])
    found = discovery.models(app_ctx, "openai/Work")
    assert [m.to_dict() for m in found] == [
        {"id": "gpt-4o", "discovered_at": STAMP},
        {"id": "gpt-4o-mini", "discovered_at": STAMP},
        {"id": "o1", "discovered_at": STAMP},
    ]
    assert discovery.models(app_ctx, "Other") == []


def test_models_of_an_unknown_connection_is_not_found(app_ctx):
    with pytest.raises(NotFound):
        discovery.models(app_ctx, "nope")


# ---------------------------------------------------------------- resolve --probe


def _row(app_ctx, label):
    from provctl.db import read

    with app_ctx.reading() as execute:
        return next(r for r in read.user_connections(execute, app_ctx.user_key)
                    if r.label_key == labels.fold(label))


def test_probe_answers_ok_with_the_model_ids(app_ctx, fake, connected):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    outcome = discovery.probe(_row(app_ctx, "Work"), KEY, 5.0)
    assert (outcome.result, outcome.detail, outcome.model_ids) == ("ok", None, ("gpt-4o",))
    assert fake.requests[0].header("authorization") == f"Bearer {KEY}"


def test_probe_failures_name_the_result_in_the_detail(app_ctx, fake, connected):
    fake.set("/v1/models", status_reply(401))
    connected("openai", "Work", base_url=f"{fake.url}/v1", key=KEY)
    connected("openai", "Dead", base_url=closed_port_url(), key=KEY2)
    rejected = discovery.probe(_row(app_ctx, "Work"), KEY, 5.0)
    assert (rejected.result, rejected.detail) == ("unauthorized", "unauthorized: HTTP 401")
    dead = discovery.probe(_row(app_ctx, "Dead"), KEY2, 5.0)
    assert (dead.result, dead.detail) == ("unreachable", "unreachable: connection refused")
    assert_no_key(rejected, dead)


def test_probe_of_a_local_connection_sends_no_key(app_ctx, fake, connected):
    fake.set("/api/tags", models_reply("ollama", "llama3"))
    connected("ollama", "Laptop", base_url=fake.url)
    assert discovery.probe(_row(app_ctx, "Laptop"), None, 5.0).result == "ok"
    assert fake.requests[0].header("authorization") is None


def test_probe_of_a_row_without_a_base_url_is_an_error_not_a_crash(app_ctx):

    from tests.support.rows import row

    broken = row()._replace(provider="openai-compatible", base_url=None)
    outcome = discovery.probe(broken, KEY, 5.0)
    assert outcome.result == "error" and outcome.detail.startswith("error: ")


# ---------------------------------------------------------------- imports


def test_importing_the_service_does_not_import_httpx():
    import subprocess
    import sys

    code = ("import sys; import provctl.services.discovery, provctl.commands.providers; "
            "print('httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
