"""The keyring adapter: backend selection (no silent plaintext), deadlines, the lock file."""

from __future__ import annotations

import os
import stat
import threading
import time

import keyring.backend
import pytest
from keyring.backends import fail as fail_backend
from keyrings.alt.file import PlaintextKeyring

from provctl import keystore
from provctl.errors import SecretStoreError
from provctl.keystore import KeyringStore, MemoryKeyStore, select_backend
from provctl.db.lockfile import locked


@pytest.fixture(autouse=True)
def isolated_keyring_env(tmp_path, monkeypatch):
    """No PYTHON_KEYRING_BACKEND, no keyring config file, file backends under tmp_path."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


class GoodBackend:
    """A non-plaintext backend, in memory (stands in for the Secret Service).

    Deliberately not a ``keyring.backend.KeyringBackend`` subclass: keyring registers every
    subclass as a candidate for discovery, which would leak into other tests of the process.
    """

    priority = 5

    def __init__(self):
        self.items = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


class SlowBackend(GoodBackend):
    def get_password(self, service, username):
        time.sleep(2)
        return "late"


class BrokenBackend(GoodBackend):
    def set_password(self, service, username, password):
        raise RuntimeError("the collection is locked")


def discovered(monkeypatch, *backends):
    """Make keyring's discovery find exactly ``backends`` — through ``get_all_keyring`` and
    through the viable-class registry it is built on (provctl may use either)."""
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: list(backends))
    monkeypatch.setattr(keyring.backend.KeyringBackend, "get_viable_backends",
                        classmethod(lambda cls: [type(b) for b in backends]))


# ---------------------------------------------------------------- select_backend


def test_a_plaintext_backend_reached_only_by_discovery_is_refused(monkeypatch):
    discovered(monkeypatch, PlaintextKeyring())
    with pytest.raises(SecretStoreError) as info:
        select_backend()
    assert info.value.exit_code == 6
    assert info.value.message == "no usable keyring backend (only plaintext or no backends were found)"
    assert "gnome-keyring" in info.value.hint
    assert "PYTHON_KEYRING_BACKEND" in info.value.hint
    assert "--key-env" in info.value.hint


def test_no_backend_at_all_is_refused(monkeypatch):
    discovered(monkeypatch)
    with pytest.raises(SecretStoreError) as info:
        select_backend()
    assert info.value.exit_code == 6


def test_discovery_skips_plaintext_and_fail_backends_for_a_real_one(monkeypatch):
    discovered(monkeypatch, PlaintextKeyring(), fail_backend.Keyring(), GoodBackend())
    assert type(select_backend()) is GoodBackend


def test_an_explicitly_named_plaintext_backend_is_used_as_is(monkeypatch):
    discovered(monkeypatch)  # discovery must not even be needed
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    assert type(select_backend()) is PlaintextKeyring


def test_a_plaintext_backend_named_in_keyrings_config_file_is_used(monkeypatch, tmp_path):
    discovered(monkeypatch)
    cfg = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
    assert type(select_backend()) is PlaintextKeyring


@pytest.mark.parametrize("name", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_the_fail_and_null_backends_are_refused(monkeypatch, name):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
    with pytest.raises(SecretStoreError) as info:
        select_backend()
    assert info.value.exit_code == 6
    assert info.value.message == f"the keyring backend {name} cannot store secrets"
    assert "--key-env" in info.value.hint


def test_an_unloadable_named_backend_is_refused(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no.such.Backend")
    with pytest.raises(SecretStoreError) as info:
        select_backend()
    assert info.value.exit_code == 6
    assert "no.such.Backend" in info.value.message


# ---------------------------------------------------------------- KeyringStore


@pytest.fixture
def lock_file(tmp_path):
    return tmp_path / "db" / "provctl.db.keyring.lock"


def store_with(monkeypatch, lock_file, backend, deadline=keystore.DEADLINE_S):
    monkeypatch.setattr(keystore, "select_backend", lambda: backend)
    return KeyringStore(lock_file, deadline=deadline)


def test_keyring_store_round_trip_under_service_provctl(monkeypatch, lock_file):
    backend = GoodBackend()
    store = store_with(monkeypatch, lock_file, backend)
    assert store.check() == f"{GoodBackend.__module__}.GoodBackend"
    store.set("conn-1", "sk-secret")
    assert backend.items == {("provctl", "conn-1"): "sk-secret"}
    assert store.get("conn-1") == "sk-secret"
    assert store.get("conn-2") is None
    store.delete("conn-1")
    store.delete("conn-1")  # deleting what is gone is not an error
    assert backend.items == {}


def test_keyring_store_with_an_explicit_plaintext_backend(monkeypatch, tmp_path, lock_file):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    store = KeyringStore(lock_file)
    store.set("conn-1", "sk-secret")
    assert store.get("conn-1") == "sk-secret"
    assert (tmp_path / "data" / "python_keyring" / "keyring_pass.cfg").is_file()


def test_a_keyring_call_past_its_deadline_is_exit_6(monkeypatch, lock_file):
    store = store_with(monkeypatch, lock_file, SlowBackend(), deadline=0.2)
    started = time.monotonic()
    with pytest.raises(SecretStoreError) as info:
        store.get("conn-1")
    assert time.monotonic() - started < 1.5
    assert info.value.exit_code == 6
    assert info.value.message == "the keyring did not answer within 0.2 s (read a secret)"
    assert "unlock" in info.value.hint


def test_opening_a_backend_that_hangs_is_exit_6(monkeypatch, lock_file):
    monkeypatch.setattr(keystore, "select_backend", lambda: time.sleep(2))
    store = KeyringStore(lock_file, deadline=0.2)
    with pytest.raises(SecretStoreError) as info:
        store.check()
    assert info.value.message == "the keyring did not answer within 0.2 s (open the keyring)"


class EchoingBackend(GoodBackend):
    """A backend that puts its arguments in its error message (issue 10, finding 12)."""

    def set_password(self, service, username, password):
        raise RuntimeError(f"cannot store {service}/{username}={password}")


def test_a_backend_error_is_exit_6_by_type_without_the_backends_text(monkeypatch, lock_file):
    for backend in (BrokenBackend(), EchoingBackend()):
        store = store_with(monkeypatch, lock_file, backend)
        with pytest.raises(SecretStoreError) as info:
            store.set("conn-1", "sk-very-secret")
        assert info.value.exit_code == 6
        assert info.value.message == "the keyring could not store a secret (its backend raised RuntimeError)"
        assert "sk-very-secret" not in info.value.message + (info.value.hint or "")
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_keyring_calls_create_the_lock_file_0600_beside_the_database(monkeypatch, lock_file):
    old = os.umask(0)
    try:
        store_with(monkeypatch, lock_file, GoodBackend()).set("conn-1", "x")
    finally:
        os.umask(old)
    assert lock_file.is_file()
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600


def test_a_write_waits_for_a_reader_and_gives_up_after_the_deadline(monkeypatch, lock_file):
    store = store_with(monkeypatch, lock_file, GoodBackend(), deadline=0.3)
    with locked(lock_file, exclusive=False, deadline=1):
        assert store.get("conn-1") is None  # shared with another reader
        with pytest.raises(SecretStoreError) as info:
            store.set("conn-1", "x")  # exclusive: blocked by the reader
    assert info.value.exit_code == 6
    assert info.value.message == f"the keyring lock {lock_file} was held for more than 0.3 s"
    store.set("conn-1", "x")
    assert store.get("conn-1") == "x"


def test_a_reader_waits_for_a_writer_that_finishes(monkeypatch, lock_file):
    store = store_with(monkeypatch, lock_file, GoodBackend(), deadline=3)
    store.set("conn-1", "x")
    held = threading.Event()

    def writer():
        with locked(lock_file, exclusive=True, deadline=1):
            held.set()
            time.sleep(0.3)

    t = threading.Thread(target=writer)
    t.start()
    held.wait(2)
    started = time.monotonic()
    assert store.get("conn-1") == "x"
    assert time.monotonic() - started >= 0.2
    t.join()


def test_no_usable_backend_surfaces_through_the_store(monkeypatch, lock_file):
    discovered(monkeypatch, PlaintextKeyring())
    store = KeyringStore(lock_file)
    for call in (store.check, lambda: store.get("c"), lambda: store.set("c", "x"), lambda: store.delete("c")):
        with pytest.raises(SecretStoreError) as info:
            call()
        assert info.value.exit_code == 6


# ---------------------------------------------------------------- the test double


def test_memory_key_store_fail_behaves_like_a_missing_backend():
    store = MemoryKeyStore(fail=True)
    for call in (store.check, lambda: store.get("c"), lambda: store.set("c", "x"), lambda: store.delete("c")):
        with pytest.raises(SecretStoreError):
            call()
