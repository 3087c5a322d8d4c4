"""Where the database lives, and files created with private permissions (stdlib only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_data_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_db_path() -> Path:
    return user_data_dir() / "provctl" / "provctl.db"


def resolve_db_path(option: str | None) -> Path:
    raw = option or os.environ.get("PROVCTL_DB") or ""
    return Path(raw).expanduser() if raw else default_db_path()


def default_user(option: str | None = None) -> str:
    if option:
        return option
    env = os.environ.get("PROVCTL_USER", "").strip()
    if env:
        return env
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no login name (containers without passwd entry)
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


def ensure_private_file(path: Path) -> None:
    """Create ``path`` (mode 0600) and its folder (0700) if missing."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
