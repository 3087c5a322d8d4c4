"""The direct Secret Service reader against keyring's own SecretService backend, on the real
gnome-keyring of ./scripts/test (SPEC §5: "tests prove that both readers return the same thing").

Each case is read twice, each time in a fresh process of provctl's interpreter through
``KeyringStore.get``: once with ``direct=True`` (what provctl builds) and once with
``direct=False`` (keyring alone). Same value, same None, same error class and exit code —
and the direct process must have answered without importing keyring when the Secret Service
gave an answer (a locked collection included), and through keyring when it did not.

Locking: the default collection is locked with ``org.freedesktop.Secret.Service.Lock`` and
unlocked again with gnome-keyring's ``UnlockWithMasterPassword`` (no prompt), with the
password ./scripts/test gives it (``PROVCTL_TEST_KEYRING_PASSWORD``); the password is checked
before anything is locked, and the collection is unlocked whatever the test did.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e
TIMEOUT = 60

SERVICE = "provctl"
HEAVY = ("keyring", "secretstorage", "cryptography")

# Reads each username on stdin through KeyringStore.get (a fresh store per case: a store that
# fell back to keyring keeps using it) and prints the outcomes and who answered.
_READER = r"""
import json, sys, tempfile
from pathlib import Path
from provctl.errors import SecretStoreError
from provctl.keystore import KeyringStore

mode, users = sys.argv[1], json.loads(sys.stdin.read())
lock = Path(tempfile.mkdtemp()) / "provctl.db.keyring.lock"
results = []
for user in users:
    store = KeyringStore(lock, deadline=5, direct=(mode == "direct"))
    try:
        value = store.get(user)
        outcome = ["none"] if value is None else ["value", value]
    except SecretStoreError as exc:
        outcome = ["error", exc.exit_code, exc.message]
    results.append({"outcome": outcome, "direct": store.direct_collection() is not None})
modules = sorted({m.split(".")[0] for m in sys.modules} & {"keyring", "secretstorage", "cryptography", "jeepney"})
print(json.dumps({"results": results, "modules": modules}))
"""

# Secret Service administration for the tests, over D-Bus (jeepney), without prompts.
_ADMIN = r"""
import json, sys
from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.io.blocking import open_dbus_connection

op, args, password = sys.argv[1], sys.argv[2:], sys.stdin.read()
conn = open_dbus_connection()
SVC = ("/org/freedesktop/secrets", "org.freedesktop.Secret.Service")
GNOME = ("/org/freedesktop/secrets", "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")

def call(path, iface, method, sig, *body):
    msg = new_method_call(DBusAddress(path, "org.freedesktop.secrets", iface), method, sig, body)
    reply = conn.send_and_get_reply(msg, timeout=10)
    if reply.header.message_type is MessageType.error:
        sys.exit(f"{method} failed: {reply.body}")
    return reply.body

def secret():
    _, session = call(*SVC, "OpenSession", "sv", "plain", ("s", ""))
    return (session, b"", password.encode(), "text/plain")

if op == "default":
    out = call(*SVC, "ReadAlias", "s", "default")[0]
elif op == "create":
    out = call(*GNOME, "CreateWithMasterPassword", "a{sv}(oayays)",
               {"org.freedesktop.Secret.Collection.Label": ("s", args[0])}, secret())[0]
elif op == "check-password":  # fails unless the password is the collection's
    call(*GNOME, "ChangeWithMasterPassword", "o(oayays)(oayays)", args[0], secret(), secret())
    out = True
elif op == "lock":
    call(*SVC, "Lock", "ao", [args[0]])
    out = True
elif op == "unlock":
    call(*GNOME, "UnlockWithMasterPassword", "o(oayays)", args[0], secret())
    out = True
elif op == "locked":
    out = call(args[0], "org.freedesktop.DBus.Properties", "Get", "ss",
               "org.freedesktop.Secret.Collection", "Locked")[0][1]
elif op == "delete":
    out = call(args[0], "org.freedesktop.Secret.Collection", "Delete", "")[0]
print(json.dumps(out))
"""

_KEYRING_SET = r"""
import sys, keyring
service, user = sys.argv[1:3]
keyring.set_password(service, user, sys.stdin.read())
"""


@pytest.fixture
def admin(bin_python, secret_service, e2e_env):
    def _admin(op: str, *args: str, password: str = ""):
        proc = subprocess.run([bin_python, "-c", _ADMIN, op, *args], input=password, capture_output=True,
                              text=True, env=e2e_env, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return _admin


def read_both(bin_python: str, users: list[str], env: dict) -> tuple[dict, dict]:
    """(direct, keyring): what each reader answered for ``users``."""
    out = []
    for mode in ("direct", "keyring"):
        proc = subprocess.run([bin_python, "-c", _READER, mode], input=json.dumps(users), capture_output=True,
                              text=True, encoding="utf-8", env=env, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stderr
        out.append(json.loads(proc.stdout))
    return out[0], out[1]


def outcomes(report: dict) -> list:
    """Outcomes without the error messages (keyring's wording of "locked" is its own)."""
    return [r["outcome"][:2] for r in report["results"]]


def set_item(bin_python: str, service: str, user: str, secret: str, env: dict) -> None:
    proc = subprocess.run([bin_python, "-c", _KEYRING_SET, service, user], input=secret, capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def items(keyring_delete):
    """(service, username) pairs deleted from the default collection after the test."""
    planted: list[tuple[str, str]] = []
    yield planted
    for service, user in planted:
        keyring_delete(service, user)


SECRETS = {
    "plain": "sk-proj-" + uuid.uuid4().hex,
    "unicode": "sk-ünïcødé-€-🔑-" + uuid.uuid4().hex,
    "spaces": "  inner spaces and\ta tab  ",
    "long": "sk-" + "x" * 8000,
}


def test_both_readers_return_what_keyring_wrote_and_none_for_what_is_not_there(bin_python, e2e_env, keyring_set,
                                                                               items):
    users = {name: str(uuid.uuid4()) for name in SECRETS}
    for name, secret in SECRETS.items():
        keyring_set(SERVICE, users[name], secret)
        items.append((SERVICE, users[name]))
    missing = str(uuid.uuid4())
    other_service = str(uuid.uuid4())  # an item with this username, but of another service
    keyring_set("provctl-other", other_service, "sk-not-provctls")
    items.append(("provctl-other", other_service))

    asked = [*users.values(), missing, other_service]
    direct, keyring = read_both(bin_python, asked, e2e_env)

    expected = [["value", SECRETS[name]] for name in SECRETS] + [["none"], ["none"]]
    assert [r["outcome"] for r in direct["results"]] == expected
    assert [r["outcome"] for r in keyring["results"]] == expected
    assert all(r["direct"] for r in direct["results"])
    assert "keyring" not in direct["modules"] and "cryptography" not in direct["modules"]
    assert "jeepney" in direct["modules"] and "keyring" in keyring["modules"]


def test_a_locked_default_collection_is_exit_6_for_both_without_a_prompt(bin_python, e2e_env, admin, keyring_set,
                                                                        items):
    password = os.environ.get("PROVCTL_TEST_KEYRING_PASSWORD")
    if not password:
        pytest.fail("PROVCTL_TEST_KEYRING_PASSWORD is unset: run the tests with ./scripts/test")
    collection = admin("default")
    admin("check-password", collection, password=password)  # never lock what we cannot unlock
    user, missing = str(uuid.uuid4()), str(uuid.uuid4())
    keyring_set(SERVICE, user, "sk-locked-away")
    items.append((SERVICE, user))

    admin("lock", collection)
    try:
        assert admin("locked", collection) is True
        started = time.monotonic()
        direct, keyring = read_both(bin_python, [user, missing], e2e_env)
        assert time.monotonic() - started < 20  # gnome-keyring's prompt fails at once without a display
    finally:
        admin("unlock", collection, password=password)
    assert admin("locked", collection) is False

    # a locked collection answers nothing, even for an item that is not in it
    assert outcomes(direct) == outcomes(keyring) == [["error", 6], ["error", 6]]
    alias = "/org/freedesktop/secrets/aliases/default"  # the collection keyring reads, as it names it
    assert direct["results"][0]["outcome"][2] == f"the keyring collection {alias} is locked"
    assert keyring["results"][0]["outcome"][2] == "the keyring could not read a secret (its backend raised KeyringLocked)"
    assert all(r["direct"] for r in direct["results"])
    assert "keyring" not in direct["modules"]


def test_a_preferred_collection_is_read_as_keyring_reads_it_locked_or_not(bin_python, e2e_env, admin):
    password = uuid.uuid4().hex
    collection = admin("create", f"provctl-e2e-{uuid.uuid4().hex[:8]}", password=password)
    env = dict(e2e_env, KEYRING_PROPERTY_PREFERRED_COLLECTION=collection)
    try:
        user, elsewhere = str(uuid.uuid4()), str(uuid.uuid4())
        set_item(bin_python, SERVICE, user, "sk-in-the-ci-collection", env=env)
        set_item(bin_python, SERVICE, elsewhere, "sk-in-the-default-collection", e2e_env)  # not in ours
        try:
            direct, keyring = read_both(bin_python, [user, elsewhere], env=env)
            assert [r["outcome"] for r in direct["results"]] == [["value", "sk-in-the-ci-collection"], ["none"]]
            assert [r["outcome"] for r in keyring["results"]] == [["value", "sk-in-the-ci-collection"], ["none"]]
            assert all(r["direct"] for r in direct["results"]) and "keyring" not in direct["modules"]

            admin("lock", collection)
            direct, keyring = read_both(bin_python, [user], env=env)
            assert outcomes(direct) == outcomes(keyring) == [["error", 6]]
            assert direct["results"][0]["direct"]
        finally:
            subprocess.run([bin_python, "-c", "import keyring; keyring.delete_password('provctl', %r)" % elsewhere],
                           env=e2e_env, capture_output=True, timeout=TIMEOUT)
    finally:
        admin("delete", collection)  # a locked collection is deleted without a prompt too


def test_a_missing_preferred_collection_is_exit_6_for_both(bin_python, secret_service, e2e_env):
    env = dict(e2e_env, KEYRING_PROPERTY_PREFERRED_COLLECTION="/org/freedesktop/secrets/collection/nope")
    direct, keyring = read_both(bin_python, [str(uuid.uuid4())], env=env)
    assert outcomes(direct) == outcomes(keyring) == [["error", 6]]


@pytest.mark.parametrize("named", [None, "keyring.backends.SecretService.Keyring"])
def test_no_session_bus_gives_keyrings_own_answer(bin_python, secret_service, e2e_env, tmp_path, named):
    env = dict(e2e_env, DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
    if named:
        env["PYTHON_KEYRING_BACKEND"] = named
    direct, keyring = read_both(bin_python, [str(uuid.uuid4())], env=env)
    assert direct["results"] == keyring["results"]  # the same message, word for word
    assert direct["results"][0]["outcome"][:2] == ["error", 6]
    assert not direct["results"][0]["direct"]  # keyring answered
    assert not (tmp_path / "xdg-data" / "python_keyring").exists()  # and wrote no plaintext file


BARE_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def test_a_session_bus_without_a_secret_service_gives_keyrings_own_answer(bin_python, secret_service, e2e_env,
                                                                           tmp_path):
    if shutil.which("dbus-run-session") is None:
        pytest.fail("dbus-run-session is missing: run the tests with ./scripts/test")
    # a fresh session bus that can activate nothing (no service directories): no gnome-keyring
    config = tmp_path / "bus.conf"
    config.write_text(BARE_BUS)
    env = dict(e2e_env)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    user = str(uuid.uuid4())
    reports = []
    for mode in ("direct", "keyring"):
        proc = subprocess.run(["dbus-run-session", f"--config-file={config}", "--", bin_python, "-c", _READER, mode],
                              input=json.dumps([user]), capture_output=True, text=True, env=env, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stderr
        reports.append(json.loads(proc.stdout.splitlines()[-1]))
    direct, keyring = reports
    assert direct["results"] == keyring["results"]
    assert direct["results"][0]["outcome"][:2] == ["error", 6]
    assert not direct["results"][0]["direct"]


# ---------------------------------------------------------------- the console script


@pytest.fixture
def keyed(run, keyring_delete):
    """Model `kr`: one openai connection whose key is in the Secret Service."""
    key = "sk-proj-" + uuid.uuid4().hex
    run("connect", "openai", "--label", "Vault", "--key-stdin", input=key + "\n", check=0)
    run("model", "add", "kr", "--provider", "openai", "--attach", "Vault", check=0)
    cid = json.loads(run("providers", "list", "--json", check=0).stdout)[0]["id"]
    yield key, cid
    keyring_delete(SERVICE, cid)


def imported(bin_python, provctl_bin, e2e_env, *args, env=None):
    """Run the console script under ``python -X importtime``: (proc, top-level modules)."""
    full = dict(e2e_env, **(env or {}))
    proc = subprocess.run([bin_python, "-X", "importtime", str(provctl_bin), *args], capture_output=True,
                          text=True, env=full, timeout=TIMEOUT)
    modules = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    stderr = "".join(line + "\n" for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    return proc, stderr, modules


@pytest.mark.parametrize("named", [None, "keyring.backends.SecretService.Keyring"])
def test_resolve_and_show_read_the_secret_service_without_keyring_or_cryptography(
        bin_python, provctl_bin, e2e_env, keyed, named):
    key, cid = keyed
    env = {"PYTHON_KEYRING_BACKEND": named} if named else {}
    proc, stderr, modules = imported(bin_python, provctl_bin, e2e_env, "resolve", "kr", "--json", "--reveal", env=env)
    assert proc.returncode == 0, stderr
    selected = json.loads(proc.stdout)["selected"]
    assert (selected["credential_source"], selected["api_key"]) == ("keyring", key)
    assert "jeepney" in modules
    assert not modules & {*HEAVY, "typer", "click", "sqlalchemy", "sqlmodel", "alembic", "rich", "httpx"}

    proc, stderr, modules = imported(bin_python, provctl_bin, e2e_env, "providers", "show", "Vault", "--json", env=env)
    assert proc.returncode == 0, stderr
    assert json.loads(proc.stdout)["credential_source"] == "keyring"
    assert "jeepney" in modules and not modules & {*HEAVY, "typer", "rich"}


@pytest.mark.parametrize("env", [
    {"PYTHON_KEYRING_BACKEND": "keyring.backends.chainer.ChainerBackend"},  # another backend named
    {"KEYRING_PROPERTY_APPID": "x", "KEYRING_PROPERTY_TIMEOUT": "3"},  # a property keyring would set
])
def test_when_the_backend_in_effect_may_not_be_the_secret_service_keyring_reads(
        bin_python, provctl_bin, e2e_env, keyed, env):
    key, cid = keyed
    proc, stderr, modules = imported(bin_python, provctl_bin, e2e_env, "resolve", "kr", "--json", "--reveal", env=env)
    assert proc.returncode == 0, stderr
    assert json.loads(proc.stdout)["selected"]["api_key"] == key
    assert "keyring" in modules


def test_resolve_skips_a_locked_collection_at_once_as_keyring_unavailable(run, admin, keyed):
    password = os.environ.get("PROVCTL_TEST_KEYRING_PASSWORD")
    if not password:
        pytest.fail("PROVCTL_TEST_KEYRING_PASSWORD is unset: run the tests with ./scripts/test")
    collection = admin("default")
    admin("check-password", collection, password=password)
    admin("lock", collection)
    try:
        started = time.monotonic()
        direct = run("resolve", "kr", "--json", check=5)
        elapsed = time.monotonic() - started
        through_keyring = run("resolve", "kr", "--json", check=5,
                              env={"PYTHON_KEYRING_BACKEND": "keyring.backends.chainer.ChainerBackend"})
    finally:
        admin("unlock", collection, password=password)
    assert elapsed < 4  # no prompt, no wait for the 5-second deadline
    for proc in (direct, through_keyring):
        doc = json.loads(proc.stdout)
        assert doc["selected"] is None and doc["reason"] == "no_usable_connection"
        assert [(c["outcome"], c["reason"]) for c in doc["candidates"]] == [("skipped", "keyring_unavailable")]
    run("resolve", "kr", "--json", check=0)  # unlocked again
