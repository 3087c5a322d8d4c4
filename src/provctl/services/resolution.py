"""`provctl resolve` (and `exec`): load a model's priority list and walk it (SPEC §6 resolve,
§10 agents and access).

The resolve hot path: this module imports only the standard library and provctl's
stdlib-only modules. The walk itself is ``domain.resolution.resolve``; rendering is
``output.resolve``. ``--agent NAME`` names the agent asking: an unknown agent is exit 3; for an
agent whose access is ``listed``, a candidate not granted to it is skipped with
``agent_denied``. The agent, its access mode and the grants come with the model and its
priority list in the one read query (``db.read.resolution_rows``): no extra round trip, no
keyring call. Without ``--agent`` there is no access check.
"""

from __future__ import annotations

from typing import Any, Callable

from ..domain import labels
from ..domain.resolution import Resolution, resolve as walk
from ..domain.rows import ConnectionRow, ModelRow
from ..domain.usability import ACCESS_LISTED
from .common import missing_agent, missing_model

# probe(row, key, timeout) -> object with .result ("ok" or not) and .detail
Probe = Callable[[ConnectionRow, "str | None", float], Any]


def load(ctx, model_name: str | None, agent: str | None = None
         ) -> tuple[ModelRow, list[tuple[int, ConnectionRow]], str | None, frozenset[str] | None]:
    """The model (or the user's default), its priority list, the agent's stored name (None
    without ``agent``) and the ids it may use among the list (None: no access check), read
    with stdlib sqlite3 in one query. NotFound (exit 3) for an unknown model or agent."""
    from ..db import read

    name_key = labels.fold(labels.clean(model_name, "model name")) if model_name is not None else None
    agent_key = labels.fold(agent) if agent is not None else None
    with ctx.reading() as execute:
        found = read.resolution_rows(execute, ctx.user_key, name_key, agent_key)
    if found is None:
        raise missing_model(model_name)
    model, asking, attached, granted = found
    if agent is None:
        return model, attached, None, None
    if asking is None:
        raise missing_agent(agent, offer_add=True)
    _aid, name, access = asking
    return model, attached, name, granted if access == ACCESS_LISTED else None


def resolve(ctx, model_name: str | None, *, agent: str | None = None, probe: Probe | None = None,
            timeout: float = 10.0) -> Resolution:
    """Resolve MODEL (or the default model) for the context's user, as ``agent`` when given.

    Errors a user can cause (unknown model or agent: 3, bad names: 2, ...) are raised as
    ProvctlError for the caller's one error handler; "nothing usable" is a Resolution with
    exit code 5.
    """
    agent_name = labels.clean(agent, "agent name") if agent is not None else None
    model, attached, agent_name, granted = load(ctx, model_name, agent_name)

    def keyring_get(connection_id: str) -> str | None:
        return ctx.keystore().get(connection_id)

    check = None
    if probe is not None:
        def check(row: ConnectionRow, key: str | None) -> tuple[bool, str | None]:
            try:
                outcome = probe(row, key, timeout)
            except Exception as exc:  # one broken candidate must not end the walk
                return False, f"probe error: {type(exc).__name__}"
            return outcome.result == "ok", getattr(outcome, "detail", None) or outcome.result

    return walk(model, attached, now=ctx.now(), environ=ctx.environ, keyring_get=keyring_get,
                agent=agent_name, granted=granted, probe=check)
