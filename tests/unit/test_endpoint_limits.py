"""endpoints.limits against the loopback provider (SPEC §7): a deadline for the whole request,
bodies capped after decompression, ids checked."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib

import pytest

from provctl.endpoints import BAD_RESPONSE, ERROR, OK, list_models
from provctl.endpoints.limits import MAX_ID_CHARS, check_ids
from tests.support.fakeprovider import Reply, gzip_reply, json_reply, models_body, slow_reply, trickle_reply

KEY = "sk-test-LIMITS-0123456789abcdef"


def openai_at(fake, **kw):
    return list_models("openai", f"{fake.url}/v1", "api_key", KEY, **{"backoff": 0.0, **kw})


def test_a_trickling_body_is_cut_at_the_deadline(fake):
    fake.set("/v1/models", trickle_reply(0.05, json_reply(models_body("openai", ["a"] * 40))))
    started = time.monotonic()
    result = openai_at(fake, timeout=0.5)
    elapsed = time.monotonic() - started
    assert (result.result, result.detail, result.timed_out) == (
        ERROR, "timed out after 0.5s waiting for the response", True)
    assert elapsed < 1.5, elapsed  # two attempts of 0.5 s; each read alone never timed out


def test_a_late_answer_is_a_timeout_and_a_quick_one_is_not(fake):
    fake.set("/v1/models", slow_reply(2.0, json_reply(models_body("openai", ["gpt-4o"]))))
    started = time.monotonic()
    assert openai_at(fake, timeout=0.3).result == ERROR  # it took the request: not unreachable
    assert time.monotonic() - started < 1.5
    fake.set("/v1/models", slow_reply(0.1, json_reply(models_body("openai", ["gpt-4o"]))))
    assert openai_at(fake, timeout=2).model_ids == ("gpt-4o",)


def test_a_gzip_bomb_never_inflates_past_the_cap(fake):
    fake.set("/v1/models", gzip_reply(b" " * (200 * 1000 * 1000)))  # 200 MB of spaces, ~200 KB sent
    tracemalloc.start()
    try:
        result = openai_at(fake, timeout=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.result, result.detail) == (BAD_RESPONSE, "response larger than 10 MB")
    assert peak < 40 * 1000 * 1000, peak  # the cap and a chunk or two, not 200 MB


@pytest.mark.parametrize("encode, encoding", [
    (lambda b: gzip.compress(b), "gzip"),
    (lambda b: zlib.compress(b), "deflate"),
    (lambda b: zlib.compress(b)[2:-4], "deflate"),  # raw deflate, as some servers send it
    (lambda b: gzip.compress(gzip.compress(b)), "gzip, gzip"),
    (lambda b: b, "identity"),
])
def test_compressed_bodies_are_read(fake, encode, encoding):
    body = json.dumps(models_body("openai", ["gpt-4o", "o3"])).encode()
    fake.set("/v1/models", Reply(200, encode(body), {"Content-Type": "application/json",
                                                     "Content-Encoding": encoding}))
    result = openai_at(fake)
    assert (result.result, result.model_ids) == (OK, ("gpt-4o", "o3"))
    assert fake.requests[0].header("accept-encoding") == "gzip, deflate"


def test_an_encoding_not_asked_for_or_a_broken_body_is_a_bad_response(fake):
    fake.set("/v1/models", Reply(200, b"\x00\x01", {"Content-Encoding": "br"}))
    assert openai_at(fake).result == BAD_RESPONSE
    fake.set("/v1/models", Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    assert openai_at(fake).result == BAD_RESPONSE


def test_a_plain_body_over_10_mb_is_a_bad_response(fake):
    fake.set("/v1/models", Reply(200, b" " * (10 * 1000 * 1000 + 1), {"Content-Type": "application/json"}))
    assert openai_at(fake, timeout=20).detail == "response larger than 10 MB"


def test_json_nested_too_deeply_is_a_bad_response(fake):
    fake.set("/v1/models", Reply(200, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}))
    assert (openai_at(fake).result, openai_at(fake).detail) == (BAD_RESPONSE, "response is not JSON")


def test_more_than_100000_ids_over_pages_is_a_bad_response(fake):
    page = models_body("anthropic", [f"m{i}" for i in range(60_000)], has_more=True, last_id="x")
    last = models_body("anthropic", [f"n{i}" for i in range(60_000)])
    fake.set("/v1/models", json_reply(page), json_reply(last))
    result = list_models("anthropic", fake.url, "api_key", KEY, backoff=0.0, timeout=20)
    assert (result.result, result.detail) == (BAD_RESPONSE, "more than 100,000 model ids")


def test_ids_are_checked_and_the_key_is_never_kept():
    checked = check_ids(["gpt-4o", "gpt-4o", "\x1b[2J", "x" * (MAX_ID_CHARS + 1), "x" * MAX_ID_CHARS,
                         "a\u200bb", f"echo {KEY}", f"echo {KEY.upper()}", "echo sk-test-LIMITS",
                         "[/x]"], KEY)
    assert checked.ids == ("[/x]", "echo sk-test-LIMITS", "gpt-4o", "x" * MAX_ID_CHARS)
    assert (checked.unprintable, checked.secret) == (3, 2)
    assert checked.note == ("dropped 5 model ids: 2 contained the connection's key; 3 not printable "
                            "or longer than 256 characters")
    assert check_ids(["a b", "é"], None).note is None
    percent = "sk test/é"
    assert check_ids(["id-sk%20test%2F%C3%A9"], percent).secret == 1
