"""End-to-end fixtures: the installed ``provctl`` console script in a subprocess,
talking to the real Secret Service (gnome-keyring) of the session.

Run these tests with ``./scripts/test``: it starts a private D-Bus session with
an unlocked gnome-keyring. They fail (never skip) when no Secret Service works.

Fixtures:
  provctl_bin     path of the console script under test ($PROVCTL_E2E_BIN,
                  else <repo>/.venv/bin/provctl, else ``provctl`` on PATH)
  run             run(*args, input=None, env=None, check=None) -> CompletedProcess
  secret_service  (session) proves a secret can be stored, read and deleted
  keyring_get / keyring_set / keyring_delete
                  read or change a keyring item behind provctl's back
  db_path         this test's database file (PROVCTL_DB)
  db_bytes        db_bytes(where=None) -> bytes of the database and its
                  -wal/-shm/-journal files, for secret-leak checks
  unique          a short random suffix for names that must not clash
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HINT = (
    "run the tests with ./scripts/test"
    " (it starts an unlocked gnome-keyring in a private D-Bus session)"
)
TIMEOUT = 60


@pytest.fixture(scope="session")
def provctl_bin() -> Path:
    explicit = os.environ.get("PROVCTL_E2E_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            pytest.fail(f"PROVCTL_E2E_BIN={explicit} does not exist")
        return path
    venv = REPO / ".venv" / "bin" / "provctl"
    if venv.is_file():
        return venv
    found = shutil.which("provctl")
    if found is None:
        pytest.fail("no provctl console script: run ./scripts/setup (or set PROVCTL_E2E_BIN)")
    return Path(found)


def _python_of(script: Path) -> str:
    """The interpreter a console script runs with, else ours."""
    sibling = script.parent / "python"  # a venv's bin/
    if sibling.is_file():
        return str(sibling)
    with script.open("rb") as f:
        first = f.readline()
    shebang = first[2:].decode(errors="replace").split() if first.startswith(b"#!") else []
    if shebang and "python" in Path(shebang[0]).name and os.access(shebang[0], os.X_OK):
        return shebang[0]
    return sys.executable


@pytest.fixture(scope="session")
def bin_python(provctl_bin: Path) -> str:
    """The Python of provctl's install: keyring is imported the way provctl does."""
    return _python_of(provctl_bin)


def _base_env() -> dict[str, str]:
    """The caller's environment minus anything that would steer provctl or keyring."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PROVCTL_") and k != "PYTHON_KEYRING_BACKEND"
    }
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"  # Rich tables do not wrap in a narrow default width
    return env


# A tiny keyring client run in a subprocess: our process never holds D-Bus state
# and uses exactly the backend keyring selects for provctl's interpreter.
_KEYRING_TOOL = r"""
import sys, keyring, keyring.errors
op, service, user = sys.argv[1:4]
if op == "get":
    value = keyring.get_password(service, user)
    sys.stdout.write("\0" if value is None else "=" + value)
elif op == "set":
    keyring.set_password(service, user, sys.stdin.read())
elif op == "delete":
    try:
        keyring.delete_password(service, user)
    except keyring.errors.PasswordDeleteError:
        sys.exit(3)
"""


def _keyring_tool(python: str, op: str, service: str, user: str, value: str | None = None):
    return subprocess.run(
        [python, "-c", _KEYRING_TOOL, op, service, user],
        input=value if value is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=_base_env(),
        timeout=TIMEOUT,
    )


_PROBE = r"""
import sys, uuid, keyring
from keyring.backends import SecretService
ss = SecretService.Keyring()
try:
    ss.priority  # raises when no Secret Service answers on the session bus
except Exception as exc:
    sys.exit(f"Secret Service unavailable: {exc}")
chosen = keyring.get_keyring()
service, user, secret = "provctl-e2e-probe", uuid.uuid4().hex, uuid.uuid4().hex
keyring.set_password(service, user, secret)
if ss.get_password(service, user) != secret:
    sys.exit(f"keyring chose {chosen!r}, which did not store the item in the Secret Service")
keyring.delete_password(service, user)
if ss.get_password(service, user) is not None:
    sys.exit("the probe item is still in the Secret Service after delete")
print(f"{type(chosen).__module__}.{type(chosen).__name__}")
"""


@pytest.fixture(scope="session")
def secret_service(bin_python: str) -> str:
    """Fail the e2e tests early, and clearly, unless the real Secret Service works.

    Returns the name of the backend keyring selected (normally the chainer,
    whose first backend is SecretService).
    """
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail(f"no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset): {HINT}")
    try:
        proc = subprocess.run(
            [bin_python, "-c", _PROBE],
            capture_output=True,
            text=True,
            env=_base_env(),
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the Secret Service did not answer within 30 s (locked, prompting?): {HINT}")
    if proc.returncode != 0:
        pytest.fail(f"the Secret Service does not work:\n{proc.stdout}{proc.stderr}\n{HINT}")
    return proc.stdout.strip()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "provctl.db"


@pytest.fixture
def e2e_env(tmp_path: Path, db_path: Path) -> dict[str, str]:
    """The environment every ``run`` starts from (tests may change it)."""
    env = _base_env()
    env["PROVCTL_DB"] = str(db_path)
    env["PROVCTL_USER"] = "e2e-user"
    # keyring's config file and any file backend live per test, not in $HOME.
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    return env


@pytest.fixture
def run(provctl_bin: Path, e2e_env: dict[str, str], secret_service: str):
    """run(*args, input=None, env=None, check=None) -> CompletedProcess[str].

    ``env`` updates this test's environment (a value of None removes the
    variable). ``check``: None = no check, True = expect exit 0, an int =
    expect that exit code; a mismatch fails with stdout and stderr shown.
    """

    def _run(*args, input: str | None = None, env: dict | None = None, check=None):
        full_env = dict(e2e_env)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        cmd = [str(provctl_bin), *map(str, args)]
        try:
            proc = subprocess.run(
                cmd,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                encoding="utf-8",
                env=full_env,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            # (partial output comes back as bytes here, even in text mode)
            partial = b"".join(
                x if isinstance(x, bytes) else x.encode() for x in (exc.stdout, exc.stderr) if x
            )
            output = partial.decode(errors="replace")
            pytest.fail(f"{' '.join(cmd)} did not finish within {TIMEOUT} s\n{output}")
        expected = 0 if check is True else check
        if expected is not None and expected is not False and proc.returncode != expected:
            pytest.fail(
                f"{' '.join(cmd)} exited {proc.returncode}, expected {expected}\n"
                f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
            )
        return proc

    return _run


@pytest.fixture
def keyring_get(bin_python: str, secret_service: str):
    """keyring_get(service, username) -> str | None, read straight from the keyring."""

    def _get(service: str, username: str) -> str | None:
        proc = _keyring_tool(bin_python, "get", service, username)
        assert proc.returncode == 0, proc.stderr
        return None if proc.stdout == "\0" else proc.stdout[1:]

    return _get


@pytest.fixture
def keyring_set(bin_python: str, secret_service: str):
    """keyring_set(service, username, secret): plant an item (sent on stdin, not argv)."""

    def _set(service: str, username: str, secret: str) -> None:
        proc = _keyring_tool(bin_python, "set", service, username, secret)
        assert proc.returncode == 0, proc.stderr

    return _set


@pytest.fixture
def keyring_delete(bin_python: str, secret_service: str):
    """keyring_delete(service, username) -> True if deleted, False if it was absent."""

    def _delete(service: str, username: str) -> bool:
        proc = _keyring_tool(bin_python, "delete", service, username)
        assert proc.returncode in (0, 3), proc.stderr
        return proc.returncode == 0

    return _delete


@pytest.fixture
def db_bytes(db_path: Path):
    """db_bytes(where=None) -> bytes of the database plus its -wal/-shm/-journal.

    ``where`` is a database file or a directory holding provctl.db (such as
    tmp_path); by default this test's PROVCTL_DB.
    """

    def _bytes(where: Path | str | None = None) -> bytes:
        db = Path(where) if where is not None else db_path
        if db.is_dir():
            db = db / "provctl.db"
        parts = [db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))]
        return b"".join(p.read_bytes() for p in parts if p.is_file())

    return _bytes


@pytest.fixture
def unique() -> str:
    """A short random suffix for names that must not clash between runs."""
    return uuid.uuid4().hex[:8]
