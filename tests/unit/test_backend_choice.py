"""When provctl reads the Secret Service directly: only when keyring's backend in effect would be
its SecretService one — decided without importing keyring (``keystore.backend_choice``) — and,
in ``KeyringStore``, how the direct read and keyring share the deadline, the lock and the
answers (the real Secret Service parity is in tests/e2e/test_secret_service_direct.py)."""

from __future__ import annotations

import os
import sys
import time
from importlib.machinery import PathFinder
from pathlib import Path

import pytest

from provctl import keystore
from provctl.db.lockfile import locked
from provctl.errors import SecretStoreError
from provctl.keystore import KeyringStore, backend_choice, secret_service
from provctl.keystore.backend_choice import DEFAULT_COLLECTION, SECRET_SERVICE_BACKEND, decide

KEYRING_EPS = """[console_scripts]
keyring = keyring.cli:main

[keyring.backends]
KWallet = keyring.backends.kwallet
SecretService = keyring.backends.SecretService
Windows = keyring.backends.Windows
chainer = keyring.backends.chainer
libsecret = keyring.backends.libsecret
macOS = keyring.backends.macOS
"""
ALT_EPS = """[keyring.backends]
Gnome = keyrings.alt.Gnome
Google = keyrings.alt.Google
Windows (alt) = keyrings.alt.Windows
file = keyrings.alt.file
keyczar = keyrings.alt.keyczar
multi = keyrings.alt.multi
"""


def dist(site: Path, name: str, entry_points: str | None = None) -> None:
    info = site / f"{name}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path) -> Path:
    """A site-packages with what keyring's SecretService backend needs, and keyrings.alt."""
    site = tmp_path / "site-packages"
    dist(site, "keyring-25.7.0", KEYRING_EPS)
    dist(site, "keyrings.alt-5.0.2", ALT_EPS)
    dist(site, "SecretStorage-3.5.0")
    dist(site, "jeepney-0.9.0")
    dist(site, "cryptography-44.0.1", "[console_scripts]\n")
    dist(site, "rich-14.0.0")
    return site


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus",
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path / "home")}


def choose(env, site, **kw):
    kw.setdefault("platform", "linux")
    kw.setdefault("meta_path", [PathFinder])
    return decide(env, [str(site)], **kw)


def config(env, text: str) -> None:
    path = Path(env["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ---------------------------------------------------------------- what keyring would pick


def test_discovery_with_only_keyrings_own_plugins_reads_the_default_collection(env, site):
    choice = choose(env, site)
    assert choice.collection == DEFAULT_COLLECTION, choice.why


def test_python_keyring_backend_naming_the_secret_service_reads_directly(env, site):
    env["PYTHON_KEYRING_BACKEND"] = f"  {SECRET_SERVICE_BACKEND} "  # stripped, as select_backend does
    (site / "some_plugin-1.0.dist-info").mkdir()
    (site / "some_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[keyring.backends]\nx = some_plugin.backend\n")
    # named explicitly: keyring loads that backend without looking at plugins
    assert choose(env, site).collection == DEFAULT_COLLECTION


@pytest.mark.parametrize("named", ["keyrings.alt.file.PlaintextKeyring", "keyring.backends.chainer.ChainerBackend",
                                   "keyring.backends.SecretService.Keyringx", "keyring.backends.fail.Keyring"])
def test_any_other_backend_named_goes_through_keyring(env, site, named):
    env["PYTHON_KEYRING_BACKEND"] = named
    choice = choose(env, site)
    assert choice.collection is None and named in choice.why


def test_a_blank_python_keyring_backend_falls_back_to_the_config_file_as_select_backend_does(env, site):
    env["PYTHON_KEYRING_BACKEND"] = "   "
    config(env, "[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
    assert choose(env, site).collection is None


def test_the_config_file_naming_the_secret_service_reads_directly(env, site):
    config(env, f"[backend]\ndefault-keyring = {SECRET_SERVICE_BACKEND}\n")
    assert choose(env, site).collection == DEFAULT_COLLECTION


@pytest.mark.parametrize("text", [
    "[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n",
    f"[backend]\ndefault-keyring = {SECRET_SERVICE_BACKEND}\nkeyring-path = /opt/plugins\n",
    "default-keyring = no section header\n",
])
def test_a_config_file_naming_another_backend_adding_a_path_or_unparsable_goes_through_keyring(env, site, text):
    config(env, text)
    assert choose(env, site).collection is None


def test_a_config_file_without_a_backend_is_ignored_as_keyring_ignores_it(env, site):
    config(env, "[other]\nx = 1\n")
    assert choose(env, site).collection == DEFAULT_COLLECTION
    config(env, "[backend]\n")
    assert choose(env, site).collection == DEFAULT_COLLECTION


def test_the_config_file_is_found_under_home_without_xdg_config_home(env, site, tmp_path):
    del env["XDG_CONFIG_HOME"]
    path = tmp_path / "home" / ".config" / "python_keyring" / "keyringrc.cfg"
    path.parent.mkdir(parents=True)
    path.write_text("[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
    assert choose(env, site).collection is None


def test_a_plugin_that_could_outrank_the_secret_service_goes_through_keyring(env, site):
    dist(site, "keyrings.cryptfile-1.3.9", "[keyring.backends]\ncryptfile = keyrings.cryptfile.cryptfile\n")
    choice = choose(env, site)
    assert choice.collection is None and "keyrings.cryptfile.cryptfile" in choice.why


def test_kwallet_on_a_kde_desktop_goes_through_keyring(env, site):
    env["XDG_CURRENT_DESKTOP"] = "KDE"
    assert choose(env, site).collection is None
    env["XDG_CURRENT_DESKTOP"] = "GNOME:GNOME-Classic"
    assert choose(env, site).collection == DEFAULT_COLLECTION


@pytest.mark.parametrize("name", ["keyring-26.0.0", "keyring-23.13.1", "SecretStorage-3.1.2", "jeepney-0.7.1"])
def test_versions_not_checked_go_through_keyring(env, tmp_path, name):
    site = tmp_path / "sp"
    wanted = {"keyring": "keyring-25.7.0", "secretstorage": "SecretStorage-3.5.0",
              "jeepney": "jeepney-0.9.0", "cryptography": "cryptography-44.0.1"}
    for key in wanted:
        if name.lower().startswith(key):
            wanted[key] = name
    for key, full in wanted.items():
        dist(site, full, KEYRING_EPS if key == "keyring" else None)
    assert choose(env, site).collection is None


@pytest.mark.parametrize("missing", ["SecretStorage-3.5.0", "jeepney-0.9.0", "cryptography-44.0.1", "keyring-25.7.0"])
def test_without_what_keyrings_backend_needs_keyring_decides(env, site, missing):
    info = site / f"{missing}.dist-info"
    for f in info.iterdir():
        f.unlink()
    info.rmdir()
    assert choose(env, site).collection is None


def test_not_linux_or_no_session_bus_goes_through_keyring(env, site):
    assert choose(env, site, platform="darwin").collection is None
    assert choose(env, site, platform="win32").collection is None
    env["DBUS_SESSION_BUS_ADDRESS"] = ""
    assert choose(env, site).collection is None
    del env["DBUS_SESSION_BUS_ADDRESS"]
    assert choose(env, site).collection is None


def test_a_preferred_collection_property_is_the_collection_read(env, site):
    env["KEYRING_PROPERTY_PREFERRED_COLLECTION"] = "/org/freedesktop/secrets/collection/ci"
    env["KEYRING_PROPERTY_APPID"] = "whatever"  # only used when writing
    env["KEYRING_PROPERTY_SCHEME"] = "default"
    assert choose(env, site).collection == "/org/freedesktop/secrets/collection/ci"


@pytest.mark.parametrize("key, value", [
    ("KEYRING_PROPERTY_SCHEME", "KeePassXC"),
    ("KEYRING_PROPERTY_PREFERRED_COLLECTION", "not a path"),
    ("KEYRING_PROPERTY_PREFERRED_COLLECTION", "/trailing/"),
    ("KEYRING_PROPERTY_GET_PASSWORD", "x"),
    ("MY_KEYRING_PROPERTY_SCHEME", "KeePassXC"),  # keyring matches the prefix anywhere in the name
])
def test_other_keyring_properties_go_through_keyring(env, site, key, value):
    env[key] = value
    assert choose(env, site).collection is None


def test_a_zip_on_the_path_or_another_distribution_finder_leaves_discovery_to_keyring(env, site, tmp_path):
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    assert decide(env, [str(site), str(archive)], platform="linux", meta_path=[PathFinder]).collection is None

    class Finder:
        def find_distributions(self, context=None):
            return iter(())

    assert choose(env, site, meta_path=[PathFinder, Finder()]).collection is None
    env["PYTHON_KEYRING_BACKEND"] = SECRET_SERVICE_BACKEND  # named: no discovery, no doubt
    assert choose(env, site, meta_path=[PathFinder, Finder()]).collection == DEFAULT_COLLECTION


def test_the_scan_sees_what_importlib_metadata_sees():
    from importlib.metadata import entry_points, version

    versions, plugins, doubt = backend_choice.scan(sys.path)
    assert doubt is None
    theirs = {ep.value.split(":")[0].strip() for ep in entry_points(group="keyring.backends")}
    assert set(plugins) == theirs
    for name in ("keyring", "secretstorage", "jeepney", "cryptography"):
        assert ".".join(map(str, versions[name])) == version(name).split("+")[0]


def test_this_environment_reads_directly_with_a_session_bus(monkeypatch, tmp_path):
    """The dev/CI venv is one the direct reader covers (as the e2e tier relies on)."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    for key in [k for k in os.environ if "KEYRING_PROPERTY_" in k]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("XDG_CURRENT_DESKTOP", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("the direct reader is Linux only")
    choice = decide()
    assert choice.collection == DEFAULT_COLLECTION, choice.why


# ---------------------------------------------------------------- KeyringStore with direct reads


class Backend:
    """keyring's backend in effect, in memory (not a KeyringBackend subclass: see test_keystore)."""

    priority = 5

    def __init__(self):
        self.items = {}
        self.reads = 0

    def get_password(self, service, username):
        self.reads += 1
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def lock_file(tmp_path):
    return tmp_path / "db" / "provctl.db.keyring.lock"


@pytest.fixture
def backend(monkeypatch):
    backend = Backend()
    monkeypatch.setattr(keystore, "select_backend", lambda: backend)
    return backend


@pytest.fixture
def direct(monkeypatch):
    """Direct reads on, from a fake Secret Service: {connection id: secret or an exception}."""
    items: dict = {}
    calls: list = []

    def read_secret(collection, attributes, *, timeout):
        calls.append((collection, attributes))
        value = items.get(attributes["username"])
        if isinstance(value, BaseException):
            raise value
        if callable(value):
            return value()
        return value

    monkeypatch.setattr(backend_choice, "decide",
                        lambda: backend_choice.Choice("/org/freedesktop/secrets/collection/x", "test"))
    monkeypatch.setattr(secret_service, "read_secret", read_secret)
    return items, calls


def test_a_direct_read_answers_without_opening_keyring(monkeypatch, lock_file, direct):
    items, calls = direct
    monkeypatch.setattr(keystore, "select_backend", lambda: pytest.fail("keyring was opened"))
    items["c1"] = "sk-direct"
    store = KeyringStore(lock_file, direct=True)
    assert store.get("c1") == "sk-direct"
    assert store.get("c2") is None
    assert calls == [("/org/freedesktop/secrets/collection/x", {"service": "provctl", "username": "c1"}),
                     ("/org/freedesktop/secrets/collection/x", {"service": "provctl", "username": "c2"})]


def test_without_direct_the_store_never_decides(monkeypatch, lock_file, backend):
    monkeypatch.setattr(backend_choice, "decide", lambda: pytest.fail("decided"))
    backend.items[("provctl", "c1")] = "sk-keyring"
    assert KeyringStore(lock_file).get("c1") == "sk-keyring"


def test_when_the_direct_reader_is_unsure_keyring_answers_from_then_on(lock_file, backend, direct):
    items, calls = direct
    items["c1"] = secret_service.Unsure("no Secret Service on this bus")
    backend.items[("provctl", "c1")] = "sk-keyring"
    backend.items[("provctl", "c2")] = "sk-two"
    store = KeyringStore(lock_file, direct=True)
    assert store.get("c1") == "sk-keyring"
    assert store.get("c2") == "sk-two"
    assert len(calls) == 1 and backend.reads == 2


def test_a_locked_collection_is_exit_6_without_asking_keyring(lock_file, backend, direct):
    items, _ = direct
    items["c1"] = secret_service.locked_error("/org/freedesktop/secrets/collection/x")
    with pytest.raises(SecretStoreError) as info:
        KeyringStore(lock_file, direct=True).get("c1")
    assert info.value.exit_code == 6
    assert info.value.message == "the keyring collection /org/freedesktop/secrets/collection/x is locked"
    assert "never opens an unlock prompt" in info.value.hint
    assert backend.reads == 0


def test_a_direct_read_past_the_deadline_is_exit_6(lock_file, backend, direct):
    items, _ = direct
    items["c1"] = lambda: time.sleep(2)
    started = time.monotonic()
    with pytest.raises(SecretStoreError) as info:
        KeyringStore(lock_file, deadline=0.2, direct=True).get("c1")
    assert time.monotonic() - started < 1.5
    assert info.value.message == "the keyring did not answer within 0.2 s (read a secret)"


def test_a_direct_read_takes_the_shared_lock(lock_file, backend, direct):
    items, _ = direct
    items["c1"] = "sk-direct"
    store = KeyringStore(lock_file, deadline=0.3, direct=True)
    with locked(lock_file, exclusive=False, deadline=1):
        assert store.get("c1") == "sk-direct"  # shared with another reader
    with locked(lock_file, exclusive=True, deadline=1):
        with pytest.raises(SecretStoreError) as info:
            store.get("c1")  # a writer holds it
    assert info.value.message == f"the keyring lock {lock_file} was held for more than 0.3 s"


def test_writes_and_deletes_always_go_through_keyring(lock_file, backend, direct):
    _, calls = direct
    store = KeyringStore(lock_file, direct=True)
    store.set("c1", "sk-new")
    assert backend.items == {("provctl", "c1"): "sk-new"}
    store.delete("c1")
    assert backend.items == {} and calls == []


def test_a_secret_that_is_not_utf8_is_the_same_error_as_keyrings(lock_file, backend, direct):
    items, _ = direct
    items["c1"] = lambda: b"\xff".decode("utf-8")
    with pytest.raises(SecretStoreError) as info:
        KeyringStore(lock_file, direct=True).get("c1")
    assert info.value.message == "the keyring could not read a secret (its backend raised UnicodeDecodeError)"


def test_the_composition_root_builds_a_store_with_direct_reads(tmp_path):
    from provctl.context import AppContext

    store = AppContext(db_path=tmp_path / "p.db", user="u").keystore()
    assert isinstance(store, KeyringStore) and store.direct
