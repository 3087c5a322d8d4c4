"""provctl.endpoints against a real HTTP server on 127.0.0.1 (SPEC §7)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from provctl.endpoints import (
    BAD_RESPONSE,
    ERROR,
    OK,
    UNAUTHORIZED,
    UNREACHABLE,
    EndpointResult,
    Request,
    list_models,
    list_models_many,
    models_url,
)
from provctl.errors import UsageError
from provctl.domain.families import FAMILIES, LOCAL
from tests.support.fakeprovider import (
    DROP,
    FakeProvider,
    closed_port_url,
    json_reply,
    models_reply,
    redirect_reply,
    slow_reply,
    status_reply,
    text_reply,
    unanswered_port,
)

KEY = "sk-test-SECRET-0123456789abcdef"
AUTH_HEADER_NAMES = ("authorization", "x-api-key", "x-goog-api-key", "anthropic-version", "anthropic-beta")
FAST = {"backoff": 0.01}  # keep the one retry, drop the real 0.5 s wait



def openai_at(fake: FakeProvider, **kw) -> EndpointResult:
    return list_models("openai", f"{fake.url}/v1", "api_key", KEY, **{**FAST, **kw})


def assert_key_never_leaked(result: EndpointResult, fake: FakeProvider | None = None) -> None:
    assert KEY not in repr(result)
    assert KEY not in str(result.to_dict())
    if fake is not None:
        for req in fake.requests:
            assert KEY not in req.target  # only ever in a header


# -- success shapes and headers, one case per family row ---------------------------------


# SPEC §4 "What a program is handed", the HTTP auth column, row by row
EXPECTED_AUTH = {
    ("openai", "api_key"): {"authorization": f"Bearer {KEY}"},
    ("openai", "subscription"): {"authorization": f"Bearer {KEY}"},
    ("anthropic", "api_key"): {"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    ("anthropic", "subscription"): {"authorization": f"Bearer {KEY}", "anthropic-version": "2023-06-01",
                                    "anthropic-beta": "oauth-2025-04-20"},
    ("gemini", "api_key"): {"x-goog-api-key": KEY},
    **{(p, "api_key"): {"authorization": f"Bearer {KEY}"}
       for p in ("openrouter", "mistral", "groq", "deepseek", "xai", "openai-compatible")},
    ("ollama", "local"): {},
    ("openai-compatible", "local"): {},
}


def test_the_auth_table_covers_every_family_and_auth_type():
    assert set(EXPECTED_AUTH) == {(name, a) for name, fam in FAMILIES.items() for a in fam.auth_types}


@pytest.mark.parametrize("provider,auth_type", sorted(EXPECTED_AUTH))
def test_every_family_lists_models_with_its_own_auth_header(fake, provider, auth_type):
    fam = FAMILIES[provider]
    base = f"{fake.url}/{provider}"
    fake.set(f"/{provider}{fam.models_path}", models_reply(provider, "m-b", "m-a", "m-b"))

    result = list_models(provider, base, auth_type, None if auth_type == LOCAL else KEY, **FAST)

    assert result == EndpointResult(OK, 200, None, ("m-a", "m-b"))
    [req] = fake.requests
    assert req.method == "GET"
    assert req.path == f"/{provider}{fam.models_path}"
    sent = {name: req.header(name) for name in AUTH_HEADER_NAMES if req.header(name) is not None}
    assert sent == EXPECTED_AUTH[(provider, auth_type)]
    assert_key_never_leaked(result, fake)


def test_gemini_model_names_lose_their_models_prefix(fake):
    fake.set("/v1beta/models", models_reply("gemini", "gemini-1.5-pro", "gemini-2.0-flash"))
    result = list_models("gemini", f"{fake.url}/v1beta", "api_key", KEY, **FAST)
    assert result.model_ids == ("gemini-1.5-pro", "gemini-2.0-flash")


def test_ollama_entry_without_name_uses_model_field(fake):
    fake.set("/api/tags", json_reply({"models": [{"model": "llama3:latest"}, {"name": "qwen:7b"}]}))
    result = list_models("ollama", fake.url, LOCAL, None, **FAST)
    assert result.model_ids == ("llama3:latest", "qwen:7b")


def test_local_openai_compatible_sends_no_auth_header_even_with_a_key(fake):
    fake.set("/models", models_reply("openai", "local-model"))
    result = list_models("openai-compatible", fake.url, LOCAL, KEY, **FAST)
    assert result.ok
    [req] = fake.requests
    assert not any(req.header(name) for name in AUTH_HEADER_NAMES)


def test_trailing_slash_in_base_url_is_not_doubled(fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    result = list_models("openai", f"{fake.url}/v1/", "api_key", KEY, **FAST)
    assert result.ok
    assert fake.requests[0].path == "/v1/models"


def test_anthropic_follows_pages_until_has_more_is_false(fake):
    fake.set("/v1/models",
             models_reply("anthropic", "claude-a", "claude-b", has_more=True),
             models_reply("anthropic", "claude-c"))
    result = list_models("anthropic", fake.url, "api_key", KEY, **FAST)
    assert result.model_ids == ("claude-a", "claude-b", "claude-c")
    first, second = fake.requests
    assert first.params == {"limit": ["1000"]}
    assert second.params == {"limit": ["1000"], "after_id": ["claude-b"]}
    assert second.header("x-api-key") == KEY


def test_gemini_follows_next_page_token(fake):
    fake.set("/v1beta/models",
             models_reply("gemini", "g-1", nextPageToken="tok2"),
             models_reply("gemini", "g-2"))
    result = list_models("gemini", f"{fake.url}/v1beta", "api_key", KEY, **FAST)
    assert result.model_ids == ("g-1", "g-2")
    assert fake.requests[1].params == {"pageSize": ["1000"], "pageToken": ["tok2"]}


def test_empty_model_list_is_ok(fake):
    fake.set("/v1/models", models_reply("openai"))
    assert openai_at(fake) == EndpointResult(OK, 200, None, ())


# -- HTTP failures ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_unauthorized_without_retry(fake, status):
    fake.set("/v1/models", status_reply(status, f"bad key {KEY}"))
    result = openai_at(fake)
    assert result == EndpointResult(UNAUTHORIZED, status, f"HTTP {status}")
    assert len(fake.requests) == 1
    assert_key_never_leaked(result, fake)


def test_rate_limit_then_success_retries_once(fake):
    fake.set("/v1/models", status_reply(429), models_reply("openai", "gpt-4o"))
    result = openai_at(fake)
    assert result == EndpointResult(OK, 200, None, ("gpt-4o",))
    assert len(fake.requests) == 2
    assert all(r.header("authorization") == f"Bearer {KEY}" for r in fake.requests)


def test_server_error_then_success_retries_once(fake):
    fake.set("/v1/models", status_reply(500), models_reply("openai", "gpt-4o"))
    assert openai_at(fake).ok
    assert len(fake.requests) == 2


def test_persistent_server_error_is_error_with_status_after_one_retry(fake):
    fake.set("/v1/models", status_reply(500))
    result = openai_at(fake)
    assert result == EndpointResult(ERROR, 500, "HTTP 500")
    assert len(fake.requests) == 2
    assert_key_never_leaked(result, fake)


def test_persistent_rate_limit_is_error_429(fake):
    fake.set("/v1/models", status_reply(429))
    result = openai_at(fake)
    assert (result.result, result.status) == (ERROR, 429)
    assert len(fake.requests) == 2


def test_retry_waits_for_the_backoff(fake):
    fake.set("/v1/models", status_reply(503))
    started = time.monotonic()
    openai_at(fake, backoff=0.2)
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_client_errors_are_error_with_status_and_no_retry(fake, status):
    fake.set("/v1/models", status_reply(status))
    result = openai_at(fake)
    assert result == EndpointResult(ERROR, status, f"HTTP {status}")
    assert len(fake.requests) == 1
    assert_key_never_leaked(result, fake)


# -- bad bodies -------------------------------------------------------------------------


def test_non_json_body_is_bad_response(fake):
    fake.set("/v1/models", text_reply("<html>captive portal</html>"))
    result = openai_at(fake)
    assert result == EndpointResult(BAD_RESPONSE, 200, "response is not JSON")
    assert_key_never_leaked(result, fake)


@pytest.mark.parametrize("body", [
    {"models": [{"name": "x"}]},  # ollama/gemini shape at an openai endpoint
    {"data": "gpt-4o"},
    {"data": [{"name": "no-id"}]},
    {"data": [{"id": 42}]},
    ["gpt-4o"],
    None,
])
def test_json_of_the_wrong_shape_is_bad_response(fake, body):
    fake.set("/v1/models", json_reply(body))
    result = openai_at(fake)
    assert (result.result, result.status, result.model_ids) == (BAD_RESPONSE, 200, ())
    assert result.detail.startswith("unexpected JSON")
    assert_key_never_leaked(result, fake)


def test_openai_shape_at_a_gemini_endpoint_is_bad_response(fake):
    fake.set("/v1beta/models", models_reply("openai", "gpt-4o"))
    result = list_models("gemini", f"{fake.url}/v1beta", "api_key", KEY, **FAST)
    assert result.result == BAD_RESPONSE


# -- network failures -------------------------------------------------------------------


def test_a_server_that_takes_the_request_but_answers_too_late_is_an_error_after_one_retry(fake):
    """Issue 11: a read timeout was reported as `unreachable`; the server is there (it accepted
    the connection and the request), so it is `error` with a detail that says it timed out."""
    fake.set("/v1/models", slow_reply(2.0, models_reply("openai", "gpt-4o")))
    started = time.monotonic()
    result = openai_at(fake, timeout=0.3)
    elapsed = time.monotonic() - started
    assert result == EndpointResult(ERROR, None, "timed out after 0.3s waiting for the response",
                                    timed_out=True)
    assert len(fake.requests) == 2
    assert elapsed < 1.5
    assert_key_never_leaked(result, fake)


@pytest.mark.parametrize("kw, detail", [
    ({"timeout": 0.3}, "connection timed out after 0.3s"),  # the deadline comes first
    ({"timeout": 5.0, "connect_timeout": 0.3}, "connection timed out after 0.3s"),
])
def test_a_host_that_never_takes_the_connection_is_unreachable(kw, detail):
    with unanswered_port() as url:
        started = time.monotonic()
        result = list_models("openai", f"{url}/v1", "api_key", KEY, **{**FAST, **kw})
    assert result == EndpointResult(UNREACHABLE, None, detail)
    assert time.monotonic() - started < 1.5  # two attempts


def test_closed_port_is_unreachable_connection_refused():
    result = list_models("openai", closed_port_url() + "/v1", "api_key", KEY, **FAST)
    assert result == EndpointResult(UNREACHABLE, None, "connection refused")
    assert_key_never_leaked(result)


def test_connection_dropped_without_response_is_unreachable_after_retry(fake):
    fake.set("/v1/models", DROP)
    result = openai_at(fake)
    assert result.result == UNREACHABLE
    assert result.detail == "connection closed without a response"
    assert len(fake.requests) == 2


def test_dropped_connection_then_success_retries_once(fake):
    fake.set("/v1/models", DROP, models_reply("openai", "gpt-4o"))
    assert openai_at(fake).model_ids == ("gpt-4o",)


# -- redirects --------------------------------------------------------------------------


def test_redirect_to_another_host_is_not_followed_with_the_key(fake):
    with FakeProvider() as other:
        other.set("/", models_reply("openai", "stolen"))
        elsewhere = f"http://localhost:{other.port}/v1/models"
        fake.set("/v1/models", redirect_reply(elsewhere))
        result = openai_at(fake)
        assert other.requests == []
    assert result.result == ERROR
    assert result.status == 302
    assert "localhost" in result.detail and "not followed" in result.detail
    assert len(fake.requests) == 1
    assert_key_never_leaked(result, fake)


def test_redirect_to_another_port_on_the_same_host_is_not_followed(fake):
    with FakeProvider() as other:
        other.set("/", models_reply("openai", "stolen"))
        fake.set("/v1/models", redirect_reply(f"{other.url}/v1/models", 307))
        result = openai_at(fake)
        assert other.requests == []
    assert (result.result, result.status) == (ERROR, 307)


def test_same_origin_redirect_is_followed_with_the_key(fake):
    fake.set("/old/models", redirect_reply("/v1/models", 301))
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    result = list_models("openai", f"{fake.url}/old", "api_key", KEY, **FAST)
    assert result.model_ids == ("gpt-4o",)
    assert [r.path for r in fake.requests] == ["/old/models", "/v1/models"]
    assert fake.requests[1].header("authorization") == f"Bearer {KEY}"


def test_redirect_loop_stops_as_error(fake):
    fake.set("/v1/models", redirect_reply("/v1/models"))
    result = openai_at(fake)
    assert (result.result, result.status, result.detail) == (ERROR, 302, "too many redirects")


# -- the key stays secret ---------------------------------------------------------------


def test_key_that_cannot_be_a_header_value_is_refused_before_sending(fake):
    bad_key = KEY + "\nX-Injected: 1"
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    result = list_models("openai", f"{fake.url}/v1", "api_key", bad_key, **FAST)
    assert result.result == ERROR
    assert KEY not in repr(result)
    assert fake.requests == []


def test_key_echoed_into_a_redirect_host_is_masked_in_detail(fake):
    fake.set("/v1/models", redirect_reply(f"http://{KEY}.example.com/v1/models"))
    result = openai_at(fake)
    assert result.result == ERROR
    assert KEY.lower() not in repr(result).lower()
    assert "***" in result.detail


def test_request_repr_hides_the_key():
    assert KEY not in repr(Request("openai", None, "api_key", KEY))


# -- input errors -----------------------------------------------------------------------


def test_unknown_provider_is_a_usage_error():
    with pytest.raises(UsageError):
        list_models("nope", "http://127.0.0.1:1", "api_key", KEY)


def test_openai_compatible_without_base_url_is_a_usage_error():
    with pytest.raises(UsageError):
        list_models("openai-compatible", None, "api_key", KEY)


def test_models_url_uses_the_family_default_base_url():
    assert models_url("anthropic", None) == "https://api.anthropic.com/v1/models"
    assert models_url("ollama", "http://gpu-box:11434/") == "http://gpu-box:11434/api/tags"


# -- many connections at once -----------------------------------------------------------


def test_many_requests_run_concurrently_and_keep_input_order(fake):
    for i in range(20):
        fake.set(f"/c{i:02d}/models", replace(models_reply("openai", f"model-{i}"), delay=0.2))
    requests = [Request("openai", f"{fake.url}/c{i:02d}", "api_key", KEY) for i in range(20)]
    done: list[int] = []
    callers: set[int] = set()

    def on_done(index: int, result: EndpointResult) -> None:
        done.append(index)
        callers.add(threading.get_ident())

    started = time.monotonic()
    results = list_models_many(requests, max_workers=8, on_done=on_done, **FAST)
    elapsed = time.monotonic() - started

    assert elapsed < 2.5  # serial would be 4 s; 8 workers need about 0.6 s
    assert [r.model_ids for r in results] == [(f"model-{i}",) for i in range(20)]
    assert sorted(done) == list(range(20))
    assert callers == {threading.get_ident()}  # on_done runs in the calling thread
    assert len(fake.requests) == 20


def test_many_requests_report_each_outcome_separately(fake):
    fake.set("/good/models", models_reply("openai", "gpt-4o"))
    fake.set("/bad/models", status_reply(401))
    results = list_models_many([
        Request("openai", f"{fake.url}/good", "api_key", KEY),
        Request("openai", f"{fake.url}/bad", "api_key", KEY),
        Request("openai", closed_port_url(), "api_key", KEY),
    ], **FAST)
    assert [r.result for r in results] == [OK, UNAUTHORIZED, UNREACHABLE]
    for result in results:
        assert_key_never_leaked(result)


def test_many_with_no_requests_returns_empty_list():
    assert list_models_many([]) == []


def test_many_validates_every_request_before_any_traffic(fake):
    fake.set("/v1/models", models_reply("openai", "gpt-4o"))
    with pytest.raises(UsageError):
        list_models_many([Request("openai", f"{fake.url}/v1", "api_key", KEY),
                          Request("openai-compatible", None, "api_key", KEY)], **FAST)
    assert fake.requests == []
