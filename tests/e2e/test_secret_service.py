"""The e2e harness itself: the real Secret Service stores, returns and deletes a secret."""

import uuid

import pytest

pytestmark = pytest.mark.e2e


def test_secret_round_trips_through_the_real_secret_service(
    keyring_set, keyring_get, keyring_delete
):
    # The keyring_* fixtures depend on secret_service, which has already proved
    # that keyring's own choice of backend stores into the Secret Service.
    service, user, secret = "provctl-e2e-selftest", uuid.uuid4().hex, "sk-e2e-" + uuid.uuid4().hex

    keyring_set(service, user, secret)
    try:
        assert keyring_get(service, user) == secret
    finally:
        assert keyring_delete(service, user) is True
    assert keyring_get(service, user) is None
    assert keyring_delete(service, user) is False


def test_run_starts_the_installed_console_script(run, provctl_bin):
    proc = run("--version", check=0)
    assert proc.stdout.strip(), f"{provctl_bin} --version printed nothing"
