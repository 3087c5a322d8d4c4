"""The layer contracts (STYLE.md, issue 8), read from the source: who may import whom.

  domain/    the standard library only (and provctl.errors): rules without I/O
  services/  no Typer, no Rich, no provctl.output: use cases return results, never print
  commands/  no SQLModel, SQLAlchemy, sqlite3, keyring or httpx, and no provctl.db,
             provctl.keystore or provctl.endpoints: they parse, call one service, render
Every import statement counts, including those inside functions (lazy imports). The fourth
contract, what the resolve/exec fast path imports at run time, is checked on the real process
by tests/cli/test_fast_path.py.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "provctl"


def imports(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = ["provctl", *path.relative_to(SRC).parent.parts]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)  # x may be a module
    return names


def modules(folder: str) -> list[Path]:
    return sorted((SRC / folder).rglob("*.py"))


def _violations(folder: str, allowed) -> list[str]:
    return [f"{p.relative_to(SRC)} imports {name}" for p in modules(folder) for name in imports(p)
            if not allowed(name)]


def test_domain_imports_only_the_standard_library():
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return (top in sys.stdlib_module_names or name.startswith("provctl.domain")
                or name == "provctl.errors" or name.startswith("provctl.errors."))

    assert modules("domain")
    assert _violations("domain", allowed) == []


@pytest.mark.parametrize("folder, forbidden", [
    ("services", ("typer", "click", "rich", "provctl.output", "provctl.commands", "provctl.cli")),
    ("commands", ("sqlmodel", "sqlalchemy", "sqlite3", "keyring", "httpx", "jeepney",
                  "provctl.db", "provctl.keystore", "provctl.endpoints")),
])
def test_a_layer_does_not_import_what_it_must_not(folder, forbidden):
    def allowed(name: str) -> bool:
        return not any(name == f or name.startswith(f + ".") for f in forbidden)

    assert modules(folder)
    assert _violations(folder, allowed) == []


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """A contract test that cannot fail is no test: the parser must see what a module hides."""
    sample = SRC / "services" / "connections.py"
    names = imports(sample)
    assert "provctl.db.write" in names  # `from ..db import write` inside a function
    assert "provctl.domain.credentials" in names


def test_at_most_nine_modules_live_directly_in_the_package():
    loose = sorted(p.name for p in SRC.glob("*.py"))
    assert len(loose) <= 9, loose
