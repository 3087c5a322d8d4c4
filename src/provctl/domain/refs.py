"""Connection references (SPEC §3): id, id prefix (≥ 8 hex digits), LABEL, PROVIDER/LABEL,
PROVIDER/AUTH_TYPE/LABEL — matched under every reading at once."""

from __future__ import annotations

import re
from typing import Sequence

from ..errors import Conflict, NotFound
from .labels import fold
from .rows import ConnectionRow, legacy_suffix

_HEX = re.compile(r"^[0-9a-f-]+$")


def describe(row: ConnectionRow) -> str:
    """`PROVIDER/AUTH_TYPE/LABEL`, ` (agent NAME)` for a legacy row, and the id's first 8."""
    return f"{row.ref}{legacy_suffix(row.agent_name if row.agent_id else None)} [{row.id[:8]}]"


def matches(rows: Sequence[ConnectionRow], ref: str) -> list[ConnectionRow]:
    text = ref.strip()
    found: dict[str, ConnectionRow] = {}
    lowered = text.lower()
    if _HEX.match(lowered):
        digits = lowered.replace("-", "")
        if len(digits) >= 8:
            for row in rows:
                if row.id.replace("-", "").startswith(digits):
                    found[row.id] = row
    key = fold(text)
    for row in rows:
        if row.label_key == key:
            found[row.id] = row
    parts = text.split("/", 2)
    if len(parts) == 2:
        provider, label = parts[0].strip().lower(), parts[1]
        for row in rows:
            if row.provider == provider and row.label_key == fold(label.strip()):
                found[row.id] = row
    if len(parts) == 3:
        provider, auth, label = (p.strip() for p in parts)
        for row in rows:
            if (
                row.provider == provider.lower()
                and row.auth_type == auth.lower()
                and row.label_key == fold(label)
            ):
                found[row.id] = row
    return sorted(found.values(), key=lambda r: (r.provider, r.auth_type, r.label_key, r.agent_name or "", r.id))


def full_ref_key(ref: str) -> tuple[str, str, str] | None:
    """(provider, auth type, folded label) of a `PROVIDER/AUTH_TYPE/LABEL` reference — how an
    inventory names a connection — or None when ``ref`` does not have three parts."""
    parts = ref.split("/", 2)
    if len(parts) != 3:
        return None
    return parts[0].strip().lower(), parts[1].strip().lower(), fold(parts[2].strip())


def pick(rows: Sequence[ConnectionRow], ref: str) -> ConnectionRow:
    found = matches(rows, ref)
    if not found:
        raise NotFound(
            f"no connection matches {ref!r}",
            hint="see `provctl providers list`; a reference is an id (≥ 8 hex digits), LABEL, "
            "PROVIDER/LABEL or PROVIDER/AUTH_TYPE/LABEL",
        )
    if len(found) > 1:
        raise Conflict(
            f"{ref!r} is ambiguous: it matches " + "; ".join(describe(r) for r in found),
            hint="use PROVIDER/AUTH_TYPE/LABEL or the id",
        )
    return found[0]
