"""Output shapes shared by several services (JSON is a contract: one dataclass, one to_dict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from .. import usable
from ..records import ConnectionRow


@dataclass(frozen=True)
class ConnectionView:
    id: str
    provider: str
    auth_type: str
    label: str
    status: str
    key_hint: str | None
    base_url: str | None
    models: int
    attached_models: int
    agent: str | None
    created_at: str

    @classmethod
    def of(cls, row: ConnectionRow, *, now: datetime, environ: Mapping[str, str]) -> "ConnectionView":
        return cls(
            id=row.id,
            provider=row.provider,
            auth_type=row.auth_type,
            label=row.label,
            status=usable.status(row, now=now, environ=environ),
            key_hint=row.key_hint,
            base_url=row.base_url,
            models=row.models,
            attached_models=row.attached_models,
            agent=row.agent_name,
            created_at=row.created_at,
        )

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.auth_type}/{self.label}"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "provider": self.provider,
            "auth_type": self.auth_type,
            "label": self.label,
            "status": self.status,
            "key_hint": self.key_hint,
            "base_url": self.base_url,
            "models": self.models,
            "attached_models": self.attached_models,
            "agent": self.agent,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ConnectionDetail:
    connection: ConnectionView
    key_env: str | None
    key_source: str
    credential_source: str
    expires_at: str | None
    connected_via: str | None
    attachments: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            **self.connection.to_dict(),
            "key_env": self.key_env,
            "key_source": self.key_source,
            "credential_source": self.credential_source,
            "expires_at": self.expires_at,
            "connected_via": self.connected_via,
            "attachments": [{"model": m, "priority": p} for m, p in self.attachments],
        }
