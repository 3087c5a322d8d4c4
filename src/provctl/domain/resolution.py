"""THE walk of a model's priority list (SPEC §5, §6 resolve), and its result types. Stdlib
only: `resolve` and `exec` (both the fast path and the Typer commands) use it.

Rules:

* Every candidate is first judged by THE usable predicate (``usability.usability``, with the
  model's provider, and for a ``listed`` agent the ids granted to it: ``agent_denied``). The keyring is read only for the connection about to be selected,
  in the order of its ``key_source``; a stored key that is gone is ``key_missing``, a
  keyring that cannot be read (no backend, locked, past its deadline) is
  ``keyring_unavailable``, and the walk goes on to the next candidate either way.
* There is no fallback outside the list: a model with no attachments is ``no_connections``.
"""

from __future__ import annotations

from typing import Callable, Container, Mapping, NamedTuple, Sequence

from . import usability
from .credentials import KEYRING, NO_KEY, key_sources, lookup_key
from .families import effective_base_url
from .rows import ConnectionRow, ModelRow, full_ref

SELECTED, SKIPPED, NOT_TRIED = "selected", "skipped", "not_tried"
# top-level reasons when nothing is selected (exit 5)
MODEL_DISABLED, NO_CONNECTIONS, NO_USABLE = "model_disabled", "no_connections", "no_usable_connection"

# probe(row, key) -> (ok, detail): asks the candidate's endpoint (`--probe`)
Probe = Callable[[ConnectionRow, "str | None"], "tuple[bool, str | None]"]


# The output shapes are NamedTuples — immutable, typed, one to_dict() each — rather than frozen
# dataclasses: this module is on the hot path, and a NamedTuple class is far cheaper to create.


class Candidate(NamedTuple):
    priority: int
    id: str
    label: str
    ref: str  # PROVIDER/AUTH_TYPE/LABEL (for the stderr lines)
    outcome: str  # selected | skipped | not_tried
    reason: str | None
    detail: str | None

    def to_dict(self) -> dict:
        return {
            "priority": self.priority,
            "id": self.id,
            "label": self.label,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
        }


class Selection(NamedTuple):
    id: str
    provider: str
    label: str
    auth_type: str
    base_url: str  # always the effective URL
    credential_source: str  # keyring | env | none
    api_key: str | None  # the secret: printed only with --reveal or --format env

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label)

    def __repr__(self) -> str:  # never show the secret in a log or a failing assertion
        shown = "None" if self.api_key is None else "'***'"
        return (f"Selection(id={self.id!r}, ref={self.ref!r}, base_url={self.base_url!r}, "
                f"credential_source={self.credential_source!r}, api_key={shown})")

    def to_dict(self, *, reveal: bool = False) -> dict:
        data = {
            "id": self.id,
            "label": self.label,
            "auth_type": self.auth_type,
            "base_url": self.base_url,
            "credential_source": self.credential_source,
        }
        if reveal:
            data["api_key"] = self.api_key
        return data


class Resolution(NamedTuple):
    model: str
    upstream_model: str
    provider: str
    agent: str | None
    selected: Selection | None
    reason: str | None  # None, or model_disabled | no_connections | no_usable_connection
    candidates: tuple[Candidate, ...]

    @property
    def exit_code(self) -> int:
        return 0 if self.selected is not None else 5

    def to_dict(self, *, reveal: bool = False) -> dict:
        return {
            "model": self.model,
            "upstream_model": self.upstream_model,
            "provider": self.provider,
            "agent": self.agent,
            "selected": self.selected.to_dict(reveal=reveal) if self.selected else None,
            "reason": self.reason,
            "candidates": [c.to_dict() for c in self.candidates],
        }


def skip_detail(reason: str, row: ConnectionRow, model: ModelRow | None = None,
                agent: str | None = None) -> str:
    """The human detail of a stored-state skip reason (``model``: for `family_mismatch`;
    ``agent``: the agent asking, for `agent_denied`)."""
    if reason == usability.LEGACY:
        return f"agent-scoped (agent {row.agent_name}); lift it with `provctl migrate-lift`"
    if reason == usability.AGENT_DENIED:
        return (f"not granted to agent {agent} (access: listed); grant it with "
                f"`provctl agent grant {agent} {row.ref}`")
    if reason == usability.DISABLED:
        return "the connection is disabled; enable it with `provctl providers enable`"
    if reason == usability.FAMILY_MISMATCH:
        return f"provider {row.provider} is not the model's provider {model.provider}"
    if reason == NO_KEY:
        missing = []
        for source in key_sources(row):
            if source == KEYRING:
                missing.append("no key stored in the keyring")
            elif row.key_env:
                missing.append(f"${row.key_env} is unset or empty")
        return "; ".join(missing) or "no key source allowed"
    if reason == usability.EXPIRED:
        return f"the token expired at {row.expires_at} (60-second margin)"
    return reason


def resolve(
    model: ModelRow,
    attached: Sequence[tuple[int, ConnectionRow]],
    *,
    now,
    environ: Mapping[str, str],
    keyring_get: Callable[[str], "str | None"],
    agent: str | None = None,
    granted: Container[str] | None = None,
    probe: Probe | None = None,
) -> Resolution:
    """Walk ``attached`` (by priority) and select the first usable connection.

    ``agent`` is the name of the agent asking (echoed in the result); ``granted`` the ids of
    the connections granted to it when its access is ``listed``, else None (no access check).
    ``keyring_get(connection_id)`` reads a secret (raising SecretStoreError when the keyring
    cannot be read); ``probe(row, key)`` -> (ok, detail) asks the endpoint (``--probe``).
    """
    def result(selected: Selection | None, reason: str | None, candidates) -> Resolution:
        return Resolution(model.name, model.upstream, model.provider, agent, selected, reason,
                          tuple(candidates))

    def not_tried(priority: int, row: ConnectionRow) -> Candidate:
        return Candidate(priority, row.id, row.label, row.ref, NOT_TRIED, None, None)

    if not model.enabled:
        return result(None, MODEL_DISABLED, [not_tried(p, r) for p, r in attached])
    if not attached:
        return result(None, NO_CONNECTIONS, [])

    candidates: list[Candidate] = []
    selected: Selection | None = None
    for priority, row in attached:
        if selected is not None:
            candidates.append(not_tried(priority, row))
            continue
        reason = usability.usability(row, now=now, environ=environ, model_provider=model.provider,
                                     granted=granted)
        detail = skip_detail(reason, row, model, agent) if reason else None
        key: str | None = None
        source = "none"
        if reason is None:
            key, source, reason, detail = lookup_key(row, environ, keyring_get)
        if reason is None and probe is not None:
            ok, probe_detail = probe(row, key)
            if not ok:
                reason, detail = usability.PROBE_FAILED, probe_detail
        if reason is not None:
            candidates.append(Candidate(priority, row.id, row.label, row.ref, SKIPPED, reason, detail))
            continue
        selected = Selection(
            id=row.id, provider=row.provider, label=row.label, auth_type=row.auth_type,
            base_url=effective_base_url(row.provider, row.base_url) or "",
            credential_source=source, api_key=key,
        )
        candidates.append(Candidate(priority, row.id, row.label, row.ref, SELECTED, None, None))
    return result(selected, None if selected else NO_USABLE, candidates)
