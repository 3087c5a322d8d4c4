"""The JSON inventory (SPEC §6 import/export, §10): ``{"connections": [...], "models": [...],
"agents": [...]}`` as `provctl export` writes it. Problems are reported as
``connections[i]: <problem>`` (0-based), all at once."""

from __future__ import annotations

import json
from typing import Any

from ..domain import labels
from ..domain.credentials import Credentials
from ..domain.families import family
from ..domain.usability import ACCESS_ALL, ACCESS_MODES
from ..errors import UsageError
from . import AgentEntry, Entry, ModelEntry, field_message, problems_error, validated

CONNECTION_FIELDS = ("agent", "provider", "auth_type", "label", "base_url", "key_env", "key",
                     "key_source", "enabled", "expires_at")
MODEL_FIELDS = ("name", "provider", "upstream_model", "enabled", "default", "connections")
AGENT_FIELDS = ("name", "display_name", "access", "granted")
TOP_FIELDS = ("connections", "models", "agents")
MAX_DEPTH = 32  # an inventory nests 4 levels deep; hostile input nests 100,000
MAX_NUMBER_CHARS = 20  # an inventory holds no numbers at all; a 5,000-digit one is refused early
_HINT = '{"connections": [...], "models": [...], "agents": [...]} (see `provctl export`)'


class _Limit(ValueError):
    """A number too long to be an inventory's (raised from the parser's hooks)."""


def _number(text: str) -> float | int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Limit(f"a number of {len(text)} characters (the limit is {MAX_NUMBER_CHARS})")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _constant(name: str) -> float:
    raise _Limit(f"{name}, which is not a JSON value")


def _depth(data: Any) -> int:
    """The nesting depth of a parsed document, without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def load(text: str) -> Any:
    """The JSON document of an inventory, or a usage error (exit 2): not JSON, nested deeper
    than 32 levels, a number longer than 20 characters, NaN or Infinity."""
    try:
        data = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise UsageError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                         hint=f"an inventory is {_HINT}") from None
    except RecursionError:
        raise UsageError(f"the JSON is nested more than {MAX_DEPTH} levels deep",
                         hint=f"an inventory is {_HINT}") from None
    except _Limit as exc:
        raise UsageError(f"the JSON holds {exc}", hint=f"an inventory is {_HINT}") from None
    if _depth(data) > MAX_DEPTH:
        raise UsageError(f"the JSON is nested more than {MAX_DEPTH} levels deep",
                         hint=f"an inventory is {_HINT}")
    return data


def _opt_str(entry: dict, name: str, problems: list[str], prefix: str) -> str | None:
    value = entry.get(name)
    if value is not None and not isinstance(value, str):
        problems.append(f"{prefix}: {name} must be a string or null")
        return None
    return value


def _opt_bool(entry: dict, name: str, default: bool, problems: list[str], prefix: str) -> bool:
    value = entry.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.append(f"{prefix}: {name} must be true or false")
        return default
    return value


def _required_str(entry: dict, name: str, problems: list[str], prefix: str) -> str | None:
    value = entry.get(name)
    if not isinstance(value, str):
        problems.append(f"{prefix}: {name} is required (a string)")
        return None
    return value


def _ref_list(entry: dict, name: str, problems: list[str], prefix: str) -> list[str]:
    """A list of `PROVIDER/AUTH_TYPE/LABEL` strings (absent or null: empty)."""
    refs = entry.get(name)
    if refs is None:
        return []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        problems.append(f"{prefix}: {name} must be a list of \"PROVIDER/AUTH_TYPE/LABEL\" strings")
        return []
    return refs


def _known_object(entry: Any, fields: tuple[str, ...], problems: list[str], prefix: str) -> bool:
    """Is ``entry`` an object? Its unknown fields are problems too."""
    if not isinstance(entry, dict):
        problems.append(f"{prefix}: expected an object")
        return False
    unknown = [k for k in entry if k not in fields]
    if unknown:
        problems.append(f"{prefix}: unknown field " + ", ".join(repr(k) for k in unknown))
    return True


def _valid(make, problems: list[str], prefix: str):
    """``make()``, or None with its usage error among the problems (field names, not options)."""
    try:
        return make()
    except UsageError as exc:
        problems.append(f"{prefix}: {field_message(exc)}")
        return None


def _parse_connection(i: int, entry: Any, problems: list[str]) -> Entry | None:
    prefix = f"connections[{i}]"
    before = len(problems)
    if not _known_object(entry, CONNECTION_FIELDS, problems, prefix):
        return None
    provider = _required_str(entry, "provider", problems, prefix)
    texts = {n: _opt_str(entry, n, problems, prefix)
             for n in ("agent", "auth_type", "label", "base_url", "key_env", "key", "key_source",
                       "expires_at")}
    enabled = _opt_bool(entry, "enabled", True, problems, prefix)
    if len(problems) > before:
        return None

    def entry() -> Entry:
        agent = labels.clean(texts["agent"], "agent name") if texts["agent"] is not None else None
        label = labels.clean(texts["label"] if texts["label"] is not None else "Default")
        v = validated(provider, texts["auth_type"], texts["base_url"],
                      Credentials(key=texts["key"], key_env=texts["key_env"],
                                  key_source=texts["key_source"], expires_at=texts["expires_at"]))
        return Entry(source=prefix, agent=agent, label=label, v=v, enabled=enabled)

    return _valid(entry, problems, prefix)


def _parse_model(i: int, entry: Any, problems: list[str]) -> ModelEntry | None:
    prefix = f"models[{i}]"
    before = len(problems)
    if not _known_object(entry, MODEL_FIELDS, problems, prefix):
        return None
    name = _required_str(entry, "name", problems, prefix)
    provider = _required_str(entry, "provider", problems, prefix)
    upstream = _opt_str(entry, "upstream_model", problems, prefix)
    enabled = _opt_bool(entry, "enabled", True, problems, prefix)
    default = _opt_bool(entry, "default", False, problems, prefix)
    refs = _ref_list(entry, "connections", problems, prefix)
    if len(problems) > before:
        return None
    clean = _valid(lambda: family(provider) and labels.clean(name, "model name"), problems, prefix)
    if clean is None:
        return None
    if upstream is not None and not upstream.strip():
        problems.append(f"{prefix}: upstream_model must not be empty")
        return None
    return ModelEntry(prefix, clean, provider, (upstream or clean).strip(), enabled, default, list(refs))


def _parse_agent(i: int, entry: Any, problems: list[str]) -> AgentEntry | None:
    prefix = f"agents[{i}]"
    before = len(problems)
    if not _known_object(entry, AGENT_FIELDS, problems, prefix):
        return None
    name = _required_str(entry, "name", problems, prefix)
    display = _opt_str(entry, "display_name", problems, prefix)
    access = _opt_str(entry, "access", problems, prefix)
    refs = _ref_list(entry, "granted", problems, prefix)
    if access is not None and access not in ACCESS_MODES:
        problems.append(f"{prefix}: access must be one of: " + ", ".join(ACCESS_MODES))
    if len(problems) > before:
        return None
    clean = _valid(lambda: labels.clean(name, "agent name"), problems, prefix)
    shown = _valid(lambda: labels.clean(display, "display name"), problems, prefix) if (
        display is not None and display.strip()) else None
    if clean is None or (display is not None and display.strip() and shown is None):
        return None
    return AgentEntry(prefix, clean, shown, access or ACCESS_ALL, list(refs))


def parse_inventory(text: str) -> tuple[list[Entry], list[ModelEntry], list[AgentEntry]]:
    data = load(text)
    if not isinstance(data, dict):
        raise UsageError("an inventory is a JSON object",
                         hint='{"connections": [...], "models": [...]} (see `provctl export`)')
    problems: list[str] = []
    unknown = [k for k in data if k not in TOP_FIELDS]
    if unknown:
        problems.append("unknown field " + ", ".join(repr(k) for k in unknown))
    raw_connections = data.get("connections", [])
    raw_models = data.get("models", [])
    raw_agents = data.get("agents", [])
    if not isinstance(raw_connections, list):
        problems.append("connections must be a list")
        raw_connections = []
    if not isinstance(raw_models, list):
        problems.append("models must be a list")
        raw_models = []
    if not isinstance(raw_agents, list):
        problems.append("agents must be a list")
        raw_agents = []
    entries = [e for i, raw in enumerate(raw_connections) if (e := _parse_connection(i, raw, problems))]
    models = [m for i, raw in enumerate(raw_models) if (m := _parse_model(i, raw, problems))]
    agents = [a for i, raw in enumerate(raw_agents) if (a := _parse_agent(i, raw, problems))]

    seen: dict[tuple, str] = {}
    for e in entries:
        key = (labels.fold(e.agent) if e.agent else None, e.v.provider, e.v.auth_type, labels.fold(e.label))
        if key in seen:
            problems.append(f"{e.source}: same agent, provider, auth type and label as {seen[key]}")
        else:
            seen[key] = e.source
    names: dict[str, str] = {}
    defaults = [m.source for m in models if m.default]
    for m in models:
        k = labels.fold(m.name)
        if k in names:
            problems.append(f"{m.source}: model {m.name!r} is already defined by {names[k]}")
        else:
            names[k] = m.source
    if len(defaults) > 1:
        problems.append(f"{defaults[1]}: only one model can be the default ({defaults[0]} is)")
    agent_names: dict[str, str] = {}
    for a in agents:
        k = labels.fold(a.name)
        if k in agent_names:
            problems.append(f"{a.source}: agent {a.name!r} is already defined by {agent_names[k]}")
        else:
            agent_names[k] = a.source
    if problems:
        raise problems_error(problems, "entries")
    return entries, models, agents
