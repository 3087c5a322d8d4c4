"""A legacy agent's ``.env`` file (SPEC §6 import): ``OPENAI_API_KEY=…``, ``ANTHROPIC_API_KEY=…``
and optional ``*_BASE_URL`` lines become legacy connections labelled ``Default``. ``export``,
quotes and comments are accepted; a later assignment wins, as in a shell."""

from __future__ import annotations

import re

from ..domain.credentials import Credentials, is_env_name
from ..domain.families import API_KEY, FAMILIES, base_url_var
from ..errors import UsageError
from . import Entry, field_message, problems_error, validated


def _env_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        if value[0] == '"':
            inner = re.sub(r'\\(["\\$`])', r"\1", inner).replace("\\n", "\n")
        return inner
    # unquoted: an inline comment starts at whitespace + '#'
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def parse_env(text: str, agent: str) -> tuple[list[Entry], list[str]]:
    """Entries (legacy, label `Default`, for ``agent``) and notes for a `.env` file."""
    variables: dict[str, tuple[str, int]] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export"):].strip()
        name, sep, raw = stripped.partition("=")
        name = name.strip()
        if not sep or not is_env_name(name):
            problems.append(f"line {number}: expected NAME=value")
            continue
        variables[name] = (_env_value(raw), number)  # a later assignment wins, as in a shell
    entries: list[Entry] = []
    notes: list[str] = []
    for fam in FAMILIES.values():
        if fam.key_env is None:
            continue
        base_var = base_url_var(fam.key_env)
        key, key_line = variables.get(fam.key_env, (None, 0))
        base, base_line = variables.get(base_var, (None, 0))
        if key is None or not key.strip():
            if key is not None:
                notes.append(f"{fam.key_env} (line {key_line}) is empty: no connection for {fam.name}")
            if base is not None:
                notes.append(f"{base_var} (line {base_line}) ignored: {fam.key_env} is not set")
            continue
        source = f"{fam.key_env} (line {key_line})"
        try:
            v = validated(fam.name, API_KEY, base if base and base.strip() else None, Credentials(key=key))
        except UsageError as exc:
            problems.append(f"line {base_line} ({base_var}): {field_message(exc)}")
            continue
        entries.append(Entry(source=source, agent=agent, label="Default", v=v))
    if problems:
        raise problems_error(problems, "file")
    if not entries:
        known = ", ".join(f.key_env for f in FAMILIES.values() if f.key_env)
        raise UsageError("the file sets none of the conventional key variables",
                         hint=f"a .env file for import names keys such as {known}")
    return entries, notes
