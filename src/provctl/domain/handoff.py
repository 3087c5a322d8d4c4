"""What a program is handed (SPEC §4): the variables `resolve --format env` prints and `exec`
sets for a selected connection, and the ones both remove because they would shadow it.

Stdlib only, no I/O (the resolve/exec hot path imports it). The per-family rows are data in
``families.FAMILIES`` (``Family.handoffs``); this module only applies them.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

from .families import FAMILIES
from .resolution import Resolution


class Handed(NamedTuple):
    """The variables for one selection: ``exports`` in order (PROVCTL_* first, then the
    family's), ``unset`` removed from the program's environment before they are set."""

    exports: tuple[tuple[str, str], ...]
    unset: tuple[str, ...]

    def __repr__(self) -> str:  # the values hold the secret: names only
        return f"Handed(exports={[n for n, _ in self.exports]!r}, unset={list(self.unset)!r})"

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` without the shadowing variables, with the exports set (``exec``)."""
        env = {name: value for name, value in base.items() if name not in self.unset}
        env.update(self.exports)
        return env

    @property
    def secret(self) -> str | None:
        """The secret handed over (PROVCTL_API_KEY), None for a local connection."""
        return dict(self.exports).get("PROVCTL_API_KEY") or None


def variables(res: Resolution) -> Handed:
    """The variables a program gets for ``res.selected`` (which must be set)."""
    sel = res.selected
    if sel is None:
        raise ValueError("nothing was selected")
    row = FAMILIES[sel.provider].handoff(sel.auth_type)
    key = sel.api_key or ""  # empty for a local connection
    exports = [
        ("PROVCTL_PROVIDER", sel.provider),
        ("PROVCTL_MODEL", res.upstream_model),
        ("PROVCTL_BASE_URL", sel.base_url),
        ("PROVCTL_CONNECTION", sel.ref),
        ("PROVCTL_API_KEY", key),
    ]
    family_key = row.fixed_key if row.fixed_key is not None else key
    exports += [(name, family_key) for name in row.key_vars]
    if row.base_url_var:
        exports.append((row.base_url_var, sel.base_url))
    return Handed(tuple(exports), tuple(n for n in row.unset if n not in dict(exports)))
