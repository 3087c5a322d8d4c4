"""`provctl resolve`: load a model's priority list and walk it (SPEC §6 resolve).

The resolve hot path: this module imports only the standard library and provctl's
stdlib-only modules. The walk itself is ``domain.resolution.resolve``; rendering is
``output.resolve``. ``--agent NAME`` is context only: it is checked against the name rules
and echoed in the JSON (``agent``); it neither filters the list nor makes an agent's legacy
rows usable.
"""

from __future__ import annotations

from typing import Any, Callable

from ..domain import labels
from ..domain.resolution import Resolution, resolve as walk
from ..domain.rows import ConnectionRow, ModelRow
from .common import model_by_name

# probe(row, key, timeout) -> object with .result ("ok" or not) and .detail
Probe = Callable[[ConnectionRow, "str | None", float], Any]


def load(ctx, model_name: str | None) -> tuple[ModelRow, list[tuple[int, ConnectionRow]]]:
    """The model (or the user's default) and its priority list, read with stdlib sqlite3."""
    from ..db import read

    with ctx.reading() as execute:
        model = model_by_name(execute, ctx.user_key, model_name)
        return model, read.attached(execute, model.id)


def resolve(ctx, model_name: str | None, *, agent: str | None = None, probe: Probe | None = None,
            timeout: float = 10.0) -> Resolution:
    """Resolve MODEL (or the default model) for the context's user.

    Errors a user can cause (unknown model: 3, bad names: 2, ...) are raised as ProvctlError
    for the caller's one error handler; "nothing usable" is a Resolution with exit code 5.
    """
    agent_name = labels.clean(agent, "agent name") if agent is not None else None
    model, attached = load(ctx, model_name)

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
                agent=agent_name, probe=check)
