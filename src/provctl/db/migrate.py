"""Alembic, configured in code: script location from the installed package, our connection."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from .engine import make_engine


def script_location() -> Path:
    """``provctl/_alembic`` inside a wheel; the repository's ``alembic/`` in a source checkout."""
    packaged = Path(str(resources.files("provctl"))) / "_alembic"
    if (packaged / "env.py").exists():
        return packaged
    source = Path(__file__).resolve().parents[3] / "alembic"
    if (source / "env.py").exists():
        return source
    raise RuntimeError("provctl's migrations are missing from this installation")


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    return cfg


def script_heads() -> list[str]:
    return list(ScriptDirectory.from_config(config()).get_heads())


def script_revisions() -> list[str]:
    """Revisions from base to head."""
    script = ScriptDirectory.from_config(config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def run_upgrade(path: Path, target: str = "head") -> None:
    engine = make_engine(path)
    try:
        with engine.connect() as conn:
            cfg = config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)
            conn.commit()
    finally:
        engine.dispose()
