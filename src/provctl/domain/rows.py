"""Plain rows read from the database (stdlib only): what services and the usable predicate see,
and the one spelling of a connection reference, ``PROVIDER/AUTH_TYPE/LABEL`` (SPEC §3)."""

from __future__ import annotations

import unicodedata
from typing import NamedTuple


def new_id() -> str:
    """A fresh row id (UUID4): connections, models, agents, users, lift runs."""
    import uuid  # not on the resolve path

    return str(uuid.uuid4())


def full_ref(provider: str, auth_type: str, label: str) -> str:
    """`PROVIDER/AUTH_TYPE/LABEL`: the full, unambiguous reference form (SPEC §3)."""
    return f"{provider}/{auth_type}/{label}"


def legacy_suffix(agent_name: str | None) -> str:
    """`` (agent NAME)`` after the reference of a legacy row, else nothing."""
    return f" (agent {agent_name})" if agent_name is not None else ""


def natural_key(text: str) -> tuple:
    """Sort key that orders digits by value, case-insensitively: `Slow2` before `Slow10`."""
    import re  # listings only

    parts = re.split(r"(\d+)", unicodedata.normalize("NFKC", text).casefold())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts if p)


def connection_order(row: "ConnectionRow") -> tuple:
    """The order of every connection listing (SPEC §6 providers list): provider, auth type,
    label, then agent name (user-level first), then id — labels and names in natural order."""
    return (row.provider, row.auth_type, natural_key(row.label), row.agent_id is not None,
            natural_key(row.agent_name or ""), row.id)


class ConnectionRow(NamedTuple):
    """One connection as read. A NamedTuple, like ``ModelRow``: the hot paths build these, and
    a NamedTuple class costs far less to create at import than a dataclass (whose module alone
    pulls in ``inspect``)."""

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
