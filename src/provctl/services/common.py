"""Look-ups that several use cases share (stdlib only: the resolve hot path imports it)."""

from __future__ import annotations

from ..db import read
from ..domain import labels
from ..domain.rows import ModelRow
from ..errors import NotFound


def model_by_name(execute: read.Execute, user_key: str, name: str | None) -> ModelRow:
    """The user's model NAME (folded), or with ``name`` None the user's default model;
    NotFound (exit 3) with a hint otherwise."""
    name_key = labels.fold(labels.clean(name, "model name")) if name is not None else None
    model = read.user_model(execute, user_key, name_key)
    if model is not None:
        return model
    if name is None:
        raise NotFound(
            "no MODEL given and no default model is set",
            hint="name a model (`provctl resolve gpt-4o`), or make one the default with "
            "`provctl model update NAME --default`",
        )
    raise NotFound(
        f"no model named {name.strip()!r}",
        hint="see `provctl model list`; add one with `provctl model add NAME --provider P`",
    )


def agent_by_name(execute: read.Execute, uid: str | None, name: str) -> tuple[str, str, str | None]:
    """(id, name, display_name) of the user's agent NAME (folded); NotFound (exit 3) otherwise."""
    found = read.find_agent(execute, uid, labels.fold(name.strip())) if uid else None
    if found is None:
        raise NotFound(f"no agent named {name.strip()!r}", hint="see `provctl agent list`")
    return found
