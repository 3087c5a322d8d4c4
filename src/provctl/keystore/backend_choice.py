"""Would keyring use its SecretService backend here? Decided without importing keyring.

provctl reads secrets straight from the Secret Service (``secret_service.py``) only when the
backend in effect — what ``keystore.select_backend`` would return — is keyring's
``keyring.backends.SecretService.Keyring``. Importing keyring to ask costs several times the
rest of a resolve, so this module answers from what keyring itself looks at, with the standard
library only:

1. ``PYTHON_KEYRING_BACKEND`` (stripped, as ``select_backend`` does) naming that backend, or
2. nothing named there, and keyring's config file (``keyringrc.cfg`` under
   ``$XDG_CONFIG_HOME/python_keyring``) naming it, or
3. nothing named in either, and keyring's discovery could pick no other backend: every
   ``keyring.backends`` entry point is one of keyring's or keyrings.alt's own modules, none
   of which outranks the Secret Service (priority 5) on Linux — except KWallet on a KDE
   desktop (5.1), so a KDE desktop is left to keyring.

Whenever the answer is not certain, the answer is "no" and keyring decides, as before: not
Linux, no session bus (keyring's backend would not be viable), a property
(``KEYRING_PROPERTY_*``) other than the collection or the application id, another scheme, a
``keyring-path`` in the config file, a keyring version this was not checked against,
SecretStorage, jeepney or cryptography not installed, an entry point of another plugin,
a distribution finder other than the standard one, an unreadable config file.
Whether the Secret Service actually answers is not decided here: the reader hands over to
keyring when it does not (see ``secret_service.read_secret``).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Iterable, Mapping

SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"

# The modules keyring (24, 25) and keyrings.alt (4, 5) register through the
# ``keyring.backends`` entry point, with the highest priority their backends can report on
# Linux (documentation: read from their sources). All are below the Secret Service's 5, or
# never chosen by provctl's discovery, except KWallet: 5.1 on a KDE desktop.
KNOWN_PLUGINS: dict[str, float | None] = {
    "keyring.backends.SecretService": 5,
    "keyring.backends.kwallet": 5.1,
    "keyring.backends.libsecret": 4.8,
    "keyring.backends.chainer": None,  # never chosen by provctl's discovery
    "keyring.backends.macOS": None,  # not viable on Linux
    "keyring.backends.Windows": None,
    "keyrings.alt.Gnome": 1,
    "keyrings.alt.Google": 3,
    "keyrings.alt.Windows": None,
    "keyrings.alt.file": 0.6,  # plaintext / encrypted file: never chosen by discovery
    "keyrings.alt.keyczar": None,  # crypters only, no backend
    "keyrings.alt.multi": 0,
}
# distribution (normalised name) -> versions whose behaviour this module and the reader mirror
REQUIRED = {
    "keyring": lambda v: v[:1] in ((24,), (25,)),
    "secretstorage": lambda v: v >= (3, 2),  # keyring's backend needs 3.2 or newer
    "jeepney": lambda v: v >= (0, 8),  # pyproject's floor
    "cryptography": lambda v: True,  # secretstorage imports it: without it, no backend
}
# finders that, like the standard PathFinder, find distributions on sys.path only (keyring
# uses the importlib_metadata backport before Python 3.12; importing it installs this one)
_PATH_FINDERS = {("importlib_metadata", "MetadataPathFinder")}
_OBJECT_PATH = re.compile(r"/\Z|(/[A-Za-z0-9_]+)+\Z")
_SEPARATORS = re.compile(r"[-_.]+")


class Choice:
    """``collection``: the collection to read from, or None (keyring answers); ``why``: one
    line, for tests and bug reports. (Not a NamedTuple: creating one costs ~0.3 ms at import,
    on the resolve path.)"""

    __slots__ = ("collection", "why")

    def __init__(self, collection: str | None, why: str):
        self.collection = collection
        self.why = why

    def __repr__(self) -> str:
        return f"Choice({self.collection!r}, {self.why!r})"


def _no(why: str) -> Choice:
    return Choice(None, why)


def _properties(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The collection keyring's backend would use, from ``KEYRING_PROPERTY_*`` (keyring sets
    every such variable as an attribute of the backend it creates). Returns (collection,
    None), or (None, why) when a property could change what a read returns."""
    found: dict[str, str] = {}
    for key, value in environ.items():
        _, sep, name = key.partition("KEYRING_PROPERTY_")
        if not sep:
            continue
        name = name.lower()
        if name in found and found[name] != value:
            return None, f"two KEYRING_PROPERTY_ variables set {name!r}"
        found[name] = value
    for name, value in found.items():
        if name == "scheme" and value != "default":
            return None, f"KEYRING_PROPERTY_SCHEME={value!r} (only the default scheme is read here)"
        if name not in ("scheme", "appid", "preferred_collection"):
            return None, f"KEYRING_PROPERTY_{name.upper()} is set"
    collection = found.get("preferred_collection", DEFAULT_COLLECTION)
    if not _OBJECT_PATH.match(collection):
        return None, "KEYRING_PROPERTY_PREFERRED_COLLECTION is not a D-Bus object path"
    return collection, None


def _config_file(environ: Mapping[str, str]) -> str:
    """keyring's ``core._config_path()`` on Linux."""
    home = environ.get("HOME") or os.path.expanduser("~")  # Path.home(), for this environ
    root = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return os.path.join(root, "python_keyring", "keyringrc.cfg")


def _named_in_config(path: str) -> tuple[str | None, str | None]:
    """(backend named by keyring's config file or "" when none, None) or (None, why)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return "", None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"keyring's config file {path} is unreadable ({type(exc).__name__})"
    import configparser

    config = configparser.RawConfigParser()
    try:
        config.read_string(text, source=path)
    except configparser.Error:
        return None, f"keyring's config file {path} does not parse"
    if config.has_option("backend", "keyring-path"):
        return None, f"keyring's config file {path} adds a keyring-path"
    if not config.has_option("backend", "default-keyring"):
        return "", None  # keyring ignores the file (it may log a warning) and discovers
    return config.get("backend", "default-keyring").strip(), None


def _version(text: str) -> tuple[int, ...] | None:
    parts = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(piece):
            break
    return tuple(parts) or None


def scan(path: Iterable[str]) -> tuple[dict[str, tuple[int, ...] | None], list[str], str | None]:
    """What ``importlib.metadata`` would see on ``path`` (importing it costs ~30 ms; this
    ~1 ms): the versions of the REQUIRED distributions (the first found, as import finds
    them), the modules named by ``keyring.backends`` entry points (of every distribution),
    and a reason the scan may have missed something, or None."""
    versions: dict[str, tuple[int, ...] | None] = {}
    plugins: list[str] = []
    doubt = None
    for entry in path:
        entry = entry or "."
        try:
            names = os.listdir(entry)
        except NotADirectoryError:
            doubt = doubt or f"{entry} on sys.path is a file (a zip may hold distributions)"
            continue
        except OSError:
            continue
        for name in names:
            lower = name.lower()
            if not lower.endswith((".dist-info", ".egg-info")):
                continue
            stem = name.rsplit(".", 1)[0]
            dist, _, rest = stem.partition("-")
            dist = _SEPARATORS.sub("_", dist).lower()
            if dist in REQUIRED and dist not in versions:
                versions[dist] = _version(rest.split("-")[0]) if rest else None
            try:
                with open(os.path.join(entry, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except (NotADirectoryError, FileNotFoundError):
                continue
            except (OSError, UnicodeDecodeError):
                doubt = doubt or f"cannot read the entry points of {name}"
                continue
            if "keyring.backends" not in text:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                elif section == "keyring.backends" and "=" in line and line[0] not in "#;":
                    value = line.split("=", 1)[1]
                    plugins.append(value.split(":")[0].split("[")[0].strip())
    return versions, plugins, doubt


def decide(
    environ: Mapping[str, str] | None = None,
    path: Iterable[str] | None = None,
    platform: str | None = None,
    meta_path: Iterable[object] | None = None,
) -> Choice:
    """Whether ``select_backend()`` would return keyring's SecretService backend here, and
    if so which collection it reads (its ``preferred_collection``, else the default alias)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return _no(f"not Linux ({platform})")
    if not environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return _no("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)")
    collection, why = _properties(environ)
    if collection is None:
        return _no(why or "")

    named = environ.get("PYTHON_KEYRING_BACKEND", "").strip()
    source = "PYTHON_KEYRING_BACKEND"
    if not named:
        config = _config_file(environ)
        named, why = _named_in_config(config)
        if named is None:
            return _no(why or "")
        source = config
    if named and named != SECRET_SERVICE_BACKEND:
        return _no(f"{source} names {named}")

    versions, plugins, doubt = scan(sys.path if path is None else path)
    for dist, accepts in REQUIRED.items():
        version = versions.get(dist)
        if version is None:
            return _no(f"{dist} is not installed (or its version is unknown)")
        if not accepts(version):
            shown = ".".join(map(str, version))
            return _no(f"{dist} {shown} is not a version provctl reads like keyring")
    if named:
        return Choice(collection, f"{source} names {SECRET_SERVICE_BACKEND}")

    # discovery: could anything outrank the Secret Service?
    if doubt:
        return _no(doubt)
    from importlib.machinery import PathFinder

    for finder in sys.meta_path if meta_path is None else meta_path:
        kind = type(finder)
        if (finder is not PathFinder and hasattr(finder, "find_distributions")
                and (kind.__module__, kind.__qualname__) not in _PATH_FINDERS):
            return _no(f"another distribution finder is installed ({finder!r})")
    for module in plugins:
        if module not in KNOWN_PLUGINS:
            return _no(f"the keyring plugin {module} could outrank the Secret Service")
    if "keyring.backends.kwallet" in plugins and "KDE" in environ.get(
        "XDG_CURRENT_DESKTOP", ""
    ).split(":"):
        return _no("a KDE desktop: KWallet would outrank the Secret Service")
    return Choice(collection, "keyring's discovery picks the Secret Service (nothing outranks it)")
