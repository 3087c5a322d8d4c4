"""THE usable predicate (SPEC §5): one test per reason, in the documented order, plus
whitespace-only keys and the 60-second expiry margin.

`usability.usability` decides the stored-state reasons; the three reasons only `resolve` can
find (`key_missing`, `keyring_unavailable`, `probe_failed`) are checked through the pure
resolution walk, which calls the same predicate first.
"""

from __future__ import annotations
from datetime import timedelta

import pytest

from provctl.domain import credentials, resolution, usability
from provctl.domain.rows import ConnectionRow
from provctl.domain.timeutil import stamp
from provctl.errors import SecretStoreError
from tests.support.rows import MODEL, NOW, row


def reason(r: ConnectionRow, environ=None, model_provider=None, granted=None):
    return usability.usability(r, now=NOW, environ=environ or {}, model_provider=model_provider,
                               granted=granted)


def walk(r: ConnectionRow, *, keyring_get=lambda cid: "sk-stored", probe=None, environ=None,
         agent=None, granted=None):
    res = resolution.resolve(MODEL, [(1, r)], now=NOW, environ=environ or {},
                             keyring_get=keyring_get, probe=probe, agent=agent, granted=granted)
    return res.candidates[0]


# ---------------------------------------------------------------- usable


def test_a_user_level_enabled_connection_with_a_stored_key_is_usable():
    assert reason(row()) is None
    assert usability.status(row(), now=NOW, environ={}) == "active"


def test_local_connection_needs_no_key():
    assert reason(row(provider="ollama", auth_type="local", key_stored=False)) is None


# ---------------------------------------------------------------- one test per reason


def test_legacy_reason_for_an_agent_scoped_row():
    assert reason(row(agent_id="a1", agent_name="bot")) == "legacy"


def test_agent_denied_reason_for_a_listed_agent_without_a_grant():
    r = row()
    assert reason(r, granted=frozenset()) == "agent_denied"
    assert reason(r, granted=frozenset({"another-id"})) == "agent_denied"
    assert reason(r, granted=frozenset({r.id})) is None
    assert reason(r, granted=None) is None  # no --agent, or an agent whose access is `all`


def test_agent_denied_skip_names_the_agent_and_the_grant_that_would_allow_it():
    calls = []
    c = walk(row(), keyring_get=lambda cid: calls.append(cid), agent="support-bot", granted=frozenset())
    assert (c.outcome, c.reason) == ("skipped", "agent_denied")
    assert c.detail == ("not granted to agent support-bot (access: listed); grant it with "
                        "`provctl agent grant support-bot openai/api_key/Work`")
    assert calls == []  # the access check reads no keyring


def test_disabled_reason():
    assert reason(row(enabled=False)) == "disabled"


def test_family_mismatch_reason_only_against_a_model_provider():
    anthropic = row(provider="anthropic")
    assert reason(anthropic, model_provider="openai") == "family_mismatch"
    assert reason(anthropic) is None  # providers list has no model to compare with


def test_no_key_reason_without_any_source():
    assert reason(row(key_stored=False)) == "no_key"


def test_no_key_reason_when_the_named_variable_is_unset():
    r = row(key_stored=False, key_env="CI_KEY", key_source="keyring,env")
    assert reason(r, {}) == "no_key"
    assert reason(r, {"CI_KEY": "sk-from-env"}) is None


def test_no_key_when_the_only_allowed_source_is_not_the_one_that_has_it():
    assert reason(row(key_stored=True, key_env="CI_KEY", key_source="env"), {}) == "no_key"
    assert reason(row(key_stored=False, key_env="CI_KEY", key_source="keyring"),
                  {"CI_KEY": "sk-x"}) == "no_key"


def test_expired_reason_for_a_subscription_past_its_expiry():
    r = row(auth_type="subscription", expires_at=stamp(NOW - timedelta(days=1)))
    assert reason(r) == "expired"


def test_key_missing_reason_when_the_keyring_lost_a_stored_key():
    c = walk(row(), keyring_get=lambda cid: None)
    assert (c.outcome, c.reason) == ("skipped", "key_missing")


def test_keyring_unavailable_reason_when_the_keyring_cannot_be_read():
    def broken(cid):
        raise SecretStoreError("the keyring did not answer within 5 s (read a secret)")

    c = walk(row(), keyring_get=broken)
    assert (c.outcome, c.reason) == ("skipped", "keyring_unavailable")
    assert c.detail == "the keyring did not answer within 5 s (read a secret)"


def test_probe_failed_reason_when_the_endpoint_rejects():
    c = walk(row(), probe=lambda r, key: (False, "unauthorized (401)"))
    assert (c.outcome, c.reason, c.detail) == ("skipped", "probe_failed", "unauthorized (401)")


# ---------------------------------------------------------------- order of the checks


def test_reasons_are_checked_in_the_documented_order():
    expired = stamp(NOW - timedelta(days=1))
    worst = row(agent_id="a", agent_name="bot", enabled=False, provider="anthropic",
                auth_type="subscription", key_stored=False, expires_at=expired)
    assert reason(worst, model_provider="openai") == "legacy"
    assert reason(worst, model_provider="openai", granted=frozenset()) == "legacy"  # legacy first
    assert reason(worst._replace(agent_id=None), model_provider="openai",
                  granted=frozenset()) == "agent_denied"  # right after legacy, before disabled
    assert reason(worst._replace(agent_id=None), model_provider="openai",
                  granted=frozenset({worst.id})) == "disabled"
    assert reason(worst._replace(agent_id=None), model_provider="openai") == "disabled"
    assert reason(worst._replace(agent_id=None, enabled=True), model_provider="openai") == "family_mismatch"
    assert reason(worst._replace(agent_id=None, enabled=True), model_provider="anthropic") == "no_key"
    assert reason(worst._replace(agent_id=None, enabled=True, key_stored=True),
                  model_provider="anthropic") == "expired"


def test_the_reason_codes_are_listed_in_the_documented_order():
    assert usability.REASONS == ("legacy", "agent_denied", "disabled", "family_mismatch", "no_key",
                                 "key_missing", "keyring_unavailable", "expired", "probe_failed")


def test_first_usable_is_what_the_agent_may_use():
    a, b = row(id="a" * 8, label="A"), row(id="b" * 8, label="B")
    first = lambda granted: usability.first_usable([a, b], "openai", now=NOW, environ={}, granted=granted)  # noqa: E731
    assert first(None) == a
    assert first(frozenset({b.id})) == b
    assert first(frozenset()) is None


def test_stored_state_reasons_win_over_keyring_reads():
    calls = []
    c = walk(row(enabled=False), keyring_get=lambda cid: calls.append(cid))
    assert c.reason == "disabled" and calls == []  # the keyring is never read for a skip


# ---------------------------------------------------------------- whitespace keys


@pytest.mark.parametrize("value", ["", " ", "   \t", "\n", " \r\n "])
def test_whitespace_only_env_key_counts_as_no_key(value):
    r = row(key_stored=False, key_env="CI_KEY", key_source="env")
    assert credentials.env_value(r, {"CI_KEY": value}) is None
    assert reason(r, {"CI_KEY": value}) == "no_key"


def test_env_key_is_stripped():
    r = row(key_stored=False, key_env="CI_KEY", key_source="env")
    assert credentials.env_value(r, {"CI_KEY": "  sk-x \n"}) == "sk-x"


def test_whitespace_only_keyring_secret_is_a_missing_key():
    c = walk(row(), keyring_get=lambda cid: "  \n")
    assert c.reason == "key_missing"


# ---------------------------------------------------------------- the 60-second margin


@pytest.mark.parametrize(
    ("seconds_left", "expected"),
    [(-3600, "expired"), (0, "expired"), (30, "expired"), (59, "expired"), (60, "expired"),
     (61, None), (3600, None)],
)
def test_expiry_has_a_60_second_margin(seconds_left, expected):
    r = row(auth_type="subscription", expires_at=stamp(NOW + timedelta(seconds=seconds_left)))
    assert reason(r) == expected


def test_expiry_applies_to_subscriptions_only():
    assert reason(row(auth_type="api_key", expires_at=stamp(NOW - timedelta(days=1)))) is None


def test_a_subscription_without_expiry_never_expires():
    assert reason(row(auth_type="subscription", expires_at=None)) is None


# ---------------------------------------------------------------- the credential part alone


@pytest.mark.parametrize("changes, expected", [
    ({}, None),
    ({"key_stored": False}, "no_key"),
    ({"key_stored": False, "agent_id": "a1", "enabled": False}, "no_key"),  # legacy, disabled too
    ({"agent_id": "a1"}, None),
    ({"auth_type": "local", "key_stored": False}, None),
    ({"auth_type": "subscription", "expires_at": stamp(NOW - timedelta(days=1))}, "expired"),
])
def test_key_reason_is_the_predicate_s_credential_checks_whatever_else_the_row_is(changes, expected):
    """`import` asks it of every connection it creates (issue 11): the same rule as the
    predicate's `no_key`/`expired`, not a second one."""
    r = row(**changes)
    assert usability.key_reason(r, now=NOW, environ={}) == expected
    plain = r._replace(agent_id=None, enabled=True)
    assert reason(plain) == expected  # the predicate itself says the same of an active row
