"""Plain rows for tests of the pure functions (usable predicate, resolution walk)."""

from __future__ import annotations
from datetime import datetime, timezone

from provctl.domain.rows import ConnectionRow, ModelRow

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)

_CONNECTION = ConnectionRow(
    id="11111111-1111-4111-8111-111111111111", user_id="u", agent_id=None, agent_name=None,
    connected_via=None, provider="openai", auth_type="api_key", label="Work",
    label_key="work", base_url=None, enabled=True, key_stored=True, key_hint="…dddd",
    key_fingerprint="f", key_env=None, key_source="keyring", expires_at=None,
    created_at="2026-01-01T00:00:00.000000Z", models=0, attached_models=0,
)
MODEL = ModelRow("m", "u", "gpt-4o", "gpt-4o", "openai", None, True, False,
                 "2026-01-01T00:00:00.000000Z")


def row(**changes) -> ConnectionRow:
    """A usable user-level openai api_key connection with a stored key, changed by ``changes``."""
    return _CONNECTION._replace(**changes)
