"""Secrets in the OS keyring (service ``provctl``, username = connection id).

Every call runs under a 5-second deadline (a locked Secret Service must not hang a headless
run) and under an advisory lock file beside the database: exclusive for writes and deletes,
shared for reads (file backends rewrite one file in place and lose concurrent updates).

``keyring`` is imported only when a secret is actually touched. When ``PYTHON_KEYRING_BACKEND``
names a backend it is loaded directly, without keyring's entry-point scan.

Reads on the hot path: when the backend in effect is keyring's SecretService one
(``backend_choice``), ``KeyringStore(direct=True).get`` reads the item straight over D-Bus
(``secret_service``: jeepney, no keyring import) and hands over to keyring whenever that
reader is not sure of keyring's answer. Writes and deletes always go through keyring.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import SecretStoreError
from ..db.lockfile import LockTimeout, locked

SERVICE = "provctl"
DEADLINE_S = 5.0
HINT = (
    "start a Secret Service such as gnome-keyring (or KWallet / macOS Keychain), name a backend "
    "explicitly with PYTHON_KEYRING_BACKEND, or keep the key in an environment variable with "
    "--key-env VAR"
)
_REFUSED = ("keyring.backends.fail", "keyring.backends.null")
_PLAINTEXT = ("PlaintextKeyring",)


class KeyStore(Protocol):
    def check(self) -> str: ...
    def get(self, connection_id: str) -> str | None: ...
    def set(self, connection_id: str, secret: str) -> None: ...
    def delete(self, connection_id: str) -> None: ...


class MemoryKeyStore:
    """In-memory key store for unit tests; ``fail=True`` behaves like a missing backend."""

    def __init__(self, fail: bool = False):
        self.secrets: dict[str, str] = {}
        self.fail = fail

    def _guard(self) -> None:
        if self.fail:
            raise SecretStoreError("no usable keyring backend (test double)", hint=HINT)

    def check(self) -> str:
        self._guard()
        return "memory"

    def get(self, connection_id: str) -> str | None:
        self._guard()
        return self.secrets.get(connection_id)

    def set(self, connection_id: str, secret: str) -> None:
        self._guard()
        self.secrets[connection_id] = secret

    def delete(self, connection_id: str) -> None:
        self._guard()
        self.secrets.pop(connection_id, None)


def _name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_plaintext(backend: Any) -> bool:
    return type(backend).__name__ in _PLAINTEXT


def _refused(backend: Any) -> bool:
    return type(backend).__module__ in _REFUSED


def _explicit_backend():
    """The backend named by PYTHON_KEYRING_BACKEND or keyring's config file, or None."""
    import keyring.core

    name = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()
    if name:
        try:
            return keyring.core.load_keyring(name)
        except Exception as exc:
            raise SecretStoreError(
                f"cannot load the keyring backend {name!r} named by PYTHON_KEYRING_BACKEND: "
                f"{type(exc).__name__}",
                hint=HINT,
            ) from None
    return keyring.core.load_config()


# keyring's own backends for another OS: never viable here, and expensive to import
# (keyring.backends.macOS runs ctypes.util.find_library: 50–100 ms on Linux). The resolve
# hot path reads a secret through discovery, so discovery skips importing them.
_FOREIGN = {
    "darwin": ("keyring.backends.Windows", "keyrings.alt.Windows"),
    "win32": ("keyring.backends.macOS",),
}.get(sys.platform, ("keyring.backends.macOS", "keyring.backends.Windows", "keyrings.alt.Windows"))


def _all_keyrings() -> list:
    """``keyring.backend.get_all_keyring()`` — every entry-point plugin loaded, every viable
    backend instantiated — except that the modules of another OS's backends are not imported."""
    import keyring.backend

    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="keyring.backends"):
            if ep.value.split(":")[0] in _FOREIGN:
                continue
            try:
                init = ep.load()
                if callable(init):
                    init()
            except Exception:  # keyring logs and skips a plugin that fails to load
                continue
        rings = []
        for cls in keyring.backend.KeyringBackend.get_viable_backends():
            try:
                rings.append(cls())
            except TypeError:
                continue
        return rings
    except AttributeError:  # keyring's internals moved: use its own discovery
        return keyring.backend.get_all_keyring()


def _discover_backend():
    """keyring's discovery, without plaintext backends, the chainer, fail or null."""
    candidates = [
        b
        for b in _all_keyrings()
        if not _refused(b)
        and not is_plaintext(b)
        and type(b).__name__ not in ("ChainerBackend", "EncryptedKeyring")
        and b.priority > 0
    ]
    return max(candidates, key=lambda b: b.priority, default=None)


def select_backend():
    backend = _explicit_backend()
    if backend is None:
        backend = _discover_backend()
        if backend is None:
            raise SecretStoreError(
                "no usable keyring backend (only plaintext or no backends were found)", hint=HINT
            )
    if _refused(backend):
        raise SecretStoreError(f"the keyring backend {_name(backend)} cannot store secrets", hint=HINT)
    return backend


def _with_deadline(fn: Callable[[], Any], what: str, deadline: float) -> Any:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="provctl-keyring", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise SecretStoreError(
            f"the keyring did not answer within {deadline:g} s ({what})",
            hint="unlock the keyring (it may be waiting for a password prompt); " + HINT,
        )
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, SecretStoreError):
            raise exc
        # the exception's type only: a backend's message may carry what it was given (the key)
        raise SecretStoreError(
            f"the keyring could not {what} (its backend raised {type(exc).__name__})", hint=HINT
        ) from None
    return box.get("value")


_UNSURE = object()  # the direct reader's "ask keyring"


def _read_direct(collection: str, connection_id: str, timeout: float) -> Any:
    """The secret read straight from the Secret Service, None, or ``_UNSURE``."""
    try:
        from . import secret_service
    except ImportError:  # jeepney missing: keyring answers
        return _UNSURE
    try:
        return secret_service.read_secret(
            collection, {"service": SERVICE, "username": connection_id}, timeout=timeout
        )
    except secret_service.Unsure:
        return _UNSURE


class KeyringStore:
    """The keyring, under the deadline and the lock file.

    With ``direct=True`` (what the composition root builds), ``get`` reads the Secret Service
    straight over D-Bus when keyring's backend in effect is its SecretService one
    (``backend_choice.decide``), and hands over to keyring whenever that reader is not sure
    of keyring's answer. Writes and deletes always go through keyring.
    """

    def __init__(self, lock_file: Path, deadline: float = DEADLINE_S, *, direct: bool = False):
        self.lock_file = lock_file
        self.deadline = deadline
        self.direct = direct
        self._backend = None
        self._direct_collection: str | None = None
        self._decided = not direct

    def _backend_now(self):
        if self._backend is None:
            self._backend = _with_deadline(select_backend, "open the keyring", self.deadline)
        return self._backend

    def _locked(self, what: str, exclusive: bool, fn: Callable[[], Any]) -> Any:
        try:
            with locked(self.lock_file, exclusive=exclusive, deadline=self.deadline):
                return _with_deadline(fn, what, self.deadline)
        except LockTimeout:
            raise SecretStoreError(
                f"the keyring lock {self.lock_file} was held for more than {self.deadline:g} s",
                hint="another provctl process is using the keyring; try again",
            ) from None

    def _call(self, what: str, exclusive: bool, op: Callable[[Any], Any]) -> Any:
        backend = self._backend_now()
        return self._locked(what, exclusive, lambda: op(backend))

    def direct_collection(self) -> str | None:
        """The Secret Service collection ``get`` reads directly, or None (keyring reads)."""
        if not self._decided:
            from .backend_choice import decide

            self._direct_collection = decide().collection
            self._decided = True
        return self._direct_collection

    def check(self) -> str:
        return _name(self._backend_now())

    def get(self, connection_id: str) -> str | None:
        collection = self.direct_collection()
        if collection is not None:
            # the reader's own waits outlast the deadline: the deadline is what a caller sees
            value = self._locked("read a secret", False,
                                 lambda: _read_direct(collection, connection_id, self.deadline + 1))
            if value is not _UNSURE:
                return value
            self._direct_collection = None  # keyring answers, for the rest of this process
        return self._call("read a secret", False, lambda b: b.get_password(SERVICE, connection_id))

    def set(self, connection_id: str, secret: str) -> None:
        self._call("store a secret", True, lambda b: b.set_password(SERVICE, connection_id, secret))

    def delete(self, connection_id: str) -> None:
        def op(backend: Any) -> None:
            from keyring.errors import PasswordDeleteError

            try:
                backend.delete_password(SERVICE, connection_id)
            except PasswordDeleteError:
                pass  # already gone: deleting is idempotent

        self._call("delete a secret", True, op)
