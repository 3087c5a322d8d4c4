"""Output shapes shared by several services (JSON is a contract: one shape, its keys listed
once). The connection shapes are NamedTuples: `providers show --json` is served on the fast
path, where importing ``dataclasses`` (and with it ``inspect``) would cost more than the rest."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Mapping, NamedTuple

from ..domain import usability
from ..domain.families import effective_base_url
from ..domain.rows import ConnectionRow, full_ref


class JsonFields:
    """``to_dict()`` as the fields named by ``JSON``, in that order (JSON is a contract: one
    shape, its keys listed once). A dataclass inherits it; a NamedTuple (which takes no base
    class) says ``to_dict = JsonFields.to_dict``."""

    JSON: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.JSON}


class ConnectionView(NamedTuple):
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
    key_env: str | None = None  # not in the JSON (show has it): a table shows `$VAR` as the key

    @classmethod
    def of(cls, row: ConnectionRow, *, now: datetime, environ: Mapping[str, str]) -> "ConnectionView":
        return cls(
            id=row.id,
            provider=row.provider,
            auth_type=row.auth_type,
            label=row.label,
            status=usability.status(row, now=now, environ=environ),
            key_hint=row.key_hint,
            base_url=row.base_url,
            models=row.models,
            attached_models=row.attached_models,
            agent=row.agent_name,
            created_at=row.created_at,
            key_env=row.key_env,
        )

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label)

    @property
    def key_shown(self) -> str:
        """The KEY column: the stored key's hint, else the variable it comes from, else —."""
        return self.key_hint or (f"${self.key_env}" if self.key_env else "—")

    @property
    def base_url_shown(self) -> str:
        """The base URL in a table: the effective one, marked when it is the family default."""
        return self.base_url or f"{effective_base_url(self.provider, None)} (family default)"

    JSON = ("id", "provider", "auth_type", "label", "status", "key_hint", "base_url", "models",
            "attached_models", "agent", "created_at")
    to_dict = JsonFields.to_dict


class ConnectionDetail(NamedTuple):
    connection: ConnectionView
    key_env: str | None
    key_source: str
    credential_source: str
    expires_at: str | None
    connected_via: str | None
    attachments: list[tuple[str, int]] = ()
    status_detail: str | None = None  # why the status is not `active`, in words
    api_key: str | None = None  # only with --reveal (never in repr)
    revealed: bool = False
    granted_to: list[str] = ()  # names of the listed agents granted it

    def __repr__(self) -> str:  # never show the secret in a log or a failing assertion
        return (f"ConnectionDetail(connection={self.connection!r}, "
                f"api_key={'***' if self.api_key is not None else None})")

    def to_dict(self) -> dict:
        data = {
            **self.connection.to_dict(),
            "status_detail": self.status_detail,
            "key_env": self.key_env,
            "key_source": self.key_source,
            "credential_source": self.credential_source,
            "expires_at": self.expires_at,
            "connected_via": self.connected_via,
            "attachments": [{"model": m, "priority": p} for m, p in self.attachments],
            "granted_to": list(self.granted_to),
        }
        if self.revealed:
            data["api_key"] = self.api_key
        return data
