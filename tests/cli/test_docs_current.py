"""docs/cli.md and completions/ are generated; this fails when they are stale."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_and_completions_are_current():
    stale = [
        str(path.relative_to(ROOT))
        for path, text in _generator().outputs().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"regenerate with `.venv/bin/python scripts/gen_docs.py`: {stale}"

