"""Plain rows read from the database (stdlib only): what services and the usable predicate see."""

from __future__ import annotations

from dataclasses import dataclass


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
        """`PROVIDER/AUTH_TYPE/LABEL`: the full, unambiguous reference form (SPEC §3)."""
        return f"{self.provider}/{self.auth_type}/{self.label}"

    @property
    def is_legacy(self) -> bool:
        return self.agent_id is not None
