"""Plain rows read from the database (stdlib only): what services and the usable predicate see,
and the one spelling of a connection reference, ``PROVIDER/AUTH_TYPE/LABEL`` (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


def new_id() -> str:
    """A fresh row id (UUID4): connections, models, agents, users, lift runs."""
    import uuid  # here, not at the top: reads never make ids (uuid + platform: ~2 ms to load)

    return str(uuid.uuid4())


def full_ref(provider: str, auth_type: str, label: str) -> str:
    """`PROVIDER/AUTH_TYPE/LABEL`: the full, unambiguous reference form (SPEC §3)."""
    return f"{provider}/{auth_type}/{label}"


def legacy_suffix(agent_name: str | None) -> str:
    """`` (agent NAME)`` after the reference of a legacy row, else nothing."""
    return f" (agent {agent_name})" if agent_name is not None else ""


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    id: str
    user_id: str
    agent_id: str | None
    agent_name: str | None
    connected_via: str | None
    provider: str
    auth_type: str
    label: str
    label_key: str
    base_url: str | None
    enabled: bool
    key_stored: bool
    key_hint: str | None
    key_fingerprint: str | None
    key_env: str | None
    key_source: str
    expires_at: str | None
    created_at: str
    models: int
    attached_models: int

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label)


class ModelRow(NamedTuple):
    """A model config. A NamedTuple rather than a dataclass: the resolve hot path builds it,
    and a NamedTuple class costs a fifth as much to create at import."""

    id: str
    user_id: str
    name: str
    name_key: str
    provider: str
    upstream_model: str | None  # None: the model's name
    enabled: bool
    is_default: bool
    created_at: str

    @property
    def upstream(self) -> str:
        """The id sent to the provider: ``upstream_model``, else the name."""
        return self.upstream_model or self.name
