"""Look-ups that several use cases share (stdlib only: the resolve hot path imports it)."""

from __future__ import annotations

from ..db import read
from ..domain import labels
from ..domain.rows import ModelRow
from ..domain.usability import ACCESS_LISTED
from ..errors import NotFound


def model_by_name(execute: read.Execute, user_key: str, name: str | None) -> ModelRow:
    """The user's model NAME (folded), or with ``name`` None the user's default model;
    NotFound (exit 3) with a hint otherwise."""
    name_key = labels.fold(labels.clean(name, "model name")) if name is not None else None
    model = read.user_model(execute, user_key, name_key)
    if model is None:
        raise missing_model(name)
    return model


def missing_model(name: str | None) -> NotFound:
    """No model NAME (or, with ``name`` None, no default model): exit 3 with a hint."""
    if name is None:
        return NotFound(
            "no MODEL given and no default model is set",
            hint="name a model (`provctl resolve gpt-4o`), or make one the default with "
            "`provctl model update NAME --default`",
        )
    return NotFound(
        f"no model named {name.strip()!r}",
        hint="see `provctl model list`; add one with `provctl model add NAME --provider P`",
    )


def missing_agent(name: str, *, offer_add: bool = False) -> NotFound:
    """No agent NAME: exit 3. ``offer_add``: where the agent is named as the one asking
    (`--agent`), the hint says how to add it (SPEC §10)."""
    shown = name.strip()
    hint = (f"see `provctl agent list`, or add it with `provctl agent add {shown}`" if offer_add
            else "see `provctl agent list`")
    return NotFound(f"no agent named {shown!r}", hint=hint)


def agent_by_name(execute: read.Execute, uid: str | None, name: str) -> tuple[str, str, str | None, str]:
    """(id, name, display_name, access) of the user's agent NAME (folded); NotFound (exit 3)
    otherwise."""
    found = read.find_agent(execute, uid, labels.fold(name.strip())) if uid else None
    if found is None:
        raise missing_agent(name)
    return found


def agent_asking(execute: read.Execute, uid: str | None, name: str) -> tuple[str, frozenset[str] | None]:
    """The agent named by ``--agent`` where statuses are shown for it (`model show/list`): its
    stored name and the ids of the connections it may use (None: access `all`, no check).
    Unknown: exit 3 with a hint."""
    clean = labels.clean(name, "agent name")
    found = read.find_agent(execute, uid, labels.fold(clean)) if uid else None
    if found is None:
        raise missing_agent(clean, offer_add=True)
    aid, agent_name, _display, access = found
    if access != ACCESS_LISTED:
        return agent_name, None
    return agent_name, frozenset(r.id for r in read.granted_connections(execute, aid))
