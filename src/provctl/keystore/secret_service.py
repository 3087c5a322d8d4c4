"""Read one secret straight from the Secret Service over D-Bus — the item keyring's
SecretService backend writes — with jeepney alone (no keyring, secretstorage or cryptography:
those imports cost several times the rest of a resolve).

What keyring's ``SecretService.Keyring.get_password(service, username)`` does, and what this
does instead:

- keyring opens the collection (its ``preferred_collection``, else the ``default`` alias);
  when it is locked, it asks for an unlock prompt and fails with ``KeyringLocked`` if the
  collection stays locked. Here a locked collection is a ``SecretStoreError`` at once: never a
  prompt (SPEC §5). A collection that does not exist is a ``SecretStoreError`` too (keyring
  fails, or for the default alias first prompts to create one).
- keyring searches the collection for ``{"service": service, "username": username}`` and
  returns the first item's secret decoded as UTF-8, or None. The same here: the same search
  in the same collection, the first item of the same answer.
- keyring moves the secret over a Diffie-Hellman session (that is what needs cryptography);
  here a ``plain`` session, as ``secret-tool`` and ``gh`` use: the secret travels once over
  the private session-bus socket, which the encryption does not protect against anyone who
  can read it anyway.

Anything else — no session bus, no Secret Service on it, an error reply, a malformed answer —
raises :class:`Unsure`: the caller then asks keyring itself, so those cases give exactly
keyring's answer (e.g. "no usable backend" when no Secret Service runs).

Three round trips: authentication; then ``Hello``, the collection's ``Locked`` property,
``SearchItems`` and ``OpenSession`` sent at once (D-Bus lets a client send before the
replies come back); then ``GetSecret`` of the first item found. jeepney's own blocking
connection waits for each reply in turn (six round trips).
"""

from __future__ import annotations

import socket

from jeepney import DBusAddress, HeaderFields, MessageType, Parser, new_method_call
from jeepney.auth import BEGIN, Authenticator
from jeepney.bus import get_bus
from jeepney.bus_messages import message_bus

from ..errors import SecretStoreError

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
_PREFIX = "org.freedesktop.Secret."
_NO_OBJECT = (
    "org.freedesktop.DBus.Error.UnknownMethod",  # gnome-keyring: "Object does not exist at path"
    "org.freedesktop.DBus.Error.UnknownObject",
    "org.freedesktop.Secret.Error.NoSuchObject",
)
_IS_LOCKED = "org.freedesktop.Secret.Error.IsLocked"
LOCKED_HINT = (
    "unlock the keyring (log in to the desktop session, or `gnome-keyring-daemon --unlock` in "
    "a headless one): provctl never opens an unlock prompt; or keep the key in an environment "
    "variable with --key-env VAR"
)


class Unsure(Exception):
    """The Secret Service gave no answer keyring would give for sure: ask keyring."""


class _Reply:
    __slots__ = ("error", "body")

    def __init__(self, message):
        header = message.header
        self.error = (
            header.fields.get(HeaderFields.error_name, "?")
            if header.message_type is MessageType.error
            else None
        )
        self.body = message.body


class _Bus:
    """A minimal blocking client of the session bus that sends several calls at once."""

    def __init__(self, timeout: float):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(get_bus("SESSION"))
            auth = Authenticator()  # EXTERNAL, with our uid: one round trip
            for line in auth:
                self.sock.sendall(line)
                auth.feed(self._recv())
        except BaseException:
            self.sock.close()
            raise
        self.parser = Parser()
        self.serial = 0
        self.pending = BEGIN  # sent with the first calls

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the session bus closed the connection")
        return data

    def calls(self, *messages) -> list[_Reply]:
        serials = []
        out = [self.pending]
        self.pending = b""
        for message in messages:
            self.serial += 1
            serials.append(self.serial)
            out.append(message.serialise(serial=self.serial))
        self.sock.sendall(b"".join(out))
        replies: dict[int, _Reply] = {}
        while len(replies) < len(serials):
            message = self.parser.get_next_message()
            if message is None:
                self.parser.add_data(self._recv())
                continue
            serial = message.header.fields.get(HeaderFields.reply_serial)
            if serial in serials:  # anything else (the NameAcquired signal) is not ours
                replies[serial] = _Reply(message)
        return [replies[serial] for serial in serials]

    def close(self) -> None:
        self.sock.close()


def _call(path: str, interface: str, method: str, signature: str, *body):
    return new_method_call(DBusAddress(path, BUS_NAME, interface), method, signature, body)


def locked_error(collection: str) -> SecretStoreError:
    return SecretStoreError(f"the keyring collection {collection} is locked", hint=LOCKED_HINT)


def read_secret(collection: str, attributes: dict[str, str], *, timeout: float) -> str | None:
    """The secret of the first item of ``collection`` with ``attributes``, or None.

    Raises ``SecretStoreError`` for a locked or missing collection (or a locked item), and
    :class:`Unsure` for anything keyring should answer itself. ``timeout`` bounds each wait
    for the bus; the caller's deadline bounds the whole read.
    """
    try:
        bus = _Bus(timeout)
    except Exception as exc:  # no bus, refused, bad address, auth: keyring's backend decides
        raise Unsure(f"cannot connect to the session bus: {type(exc).__name__}") from None
    try:
        try:
            hello, locked, found, session = bus.calls(
                message_bus.Hello(),
                _call(collection, "org.freedesktop.DBus.Properties", "Get", "ss",
                      _PREFIX + "Collection", "Locked"),
                _call(collection, _PREFIX + "Collection", "SearchItems", "a{ss}", attributes),
                _call(SERVICE_PATH, _PREFIX + "Service", "OpenSession", "sv", "plain", ("s", "")),
            )
            if hello.error is not None:
                raise Unsure(f"Hello: {hello.error}")
            if locked.error in _NO_OBJECT:
                raise SecretStoreError(
                    f"the Secret Service has no collection {collection}",
                    hint="create a default keyring (e.g. log in to the desktop session once), "
                    "or keep the key in an environment variable with --key-env VAR",
                )
            if locked.error is not None:  # ServiceUnknown: no Secret Service on this bus
                raise Unsure(f"Locked: {locked.error}")
            ((signature, is_locked),) = locked.body
            if signature != "b":
                raise Unsure(f"Locked has the signature {signature!r}")
            if is_locked:  # keyring would ask for an unlock prompt here
                raise locked_error(collection)
            if found.error is not None:
                raise Unsure(f"SearchItems: {found.error}")
            (items,) = found.body
            if not items:
                return None
            if session.error is not None:
                raise Unsure(f"OpenSession: {session.error}")
            _output, session_path = session.body

            (secret,) = bus.calls(_call(items[0], _PREFIX + "Item", "GetSecret", "o", session_path))
            if secret.error == _IS_LOCKED:
                raise locked_error(collection)
            if secret.error is not None:
                raise Unsure(f"GetSecret: {secret.error}")
            ((_session, _params, value, _content_type),) = secret.body
        except (SecretStoreError, Unsure):
            raise
        except (ValueError, TypeError) as exc:  # an answer of an unexpected shape
            raise Unsure(f"unexpected answer: {type(exc).__name__}") from None
        except (OSError, EOFError) as exc:  # the bus went away mid-read (TimeoutError too)
            raise Unsure(f"the session bus failed: {type(exc).__name__}") from None
        return bytes(value).decode("utf-8")  # as keyring: a secret that is not UTF-8 is an error
    finally:
        bus.close()
