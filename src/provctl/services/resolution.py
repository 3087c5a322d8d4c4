"""`provctl resolve`: walk a model's priority list and select the first usable connection
(SPEC §5, §6 resolve), then render it as text, JSON or ``export`` lines.

This is the hot path of CI scripts, so this module imports only the standard library and
provctl's stdlib-only modules. The Typer command (``commands/resolve.py``) and the fast
path in ``entry.py`` both call :func:`run`, so they print exactly the same thing.

Rules:

* Every candidate is first judged by THE usable predicate (``usable.usability``, with the
  model's provider). The keyring is read only for the connection about to be selected,
  in the order of its ``key_source``; a stored key that is gone is ``key_missing``, a
  keyring that cannot be read (no backend, locked, past its deadline) is
  ``keyring_unavailable``, and the walk goes on to the next candidate either way.
* There is no fallback outside the list: a model with no attachments is ``no_connections``.
* ``--agent NAME`` is context only: it is checked against the name rules and echoed in the
  JSON (``agent``). It neither filters the list nor makes an agent's legacy rows usable.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Sequence

from .. import labels, queries, usable
from ..errors import NotFound, UsageError
from ..output import emit_json, error
from ..providers import FAMILIES, effective_base_url
from ..records import ConnectionRow, ModelRow

FORMATS = ("text", "json", "env")

SELECTED, SKIPPED, NOT_TRIED = "selected", "skipped", "not_tried"
# top-level reasons when nothing is selected (exit 5)
MODEL_DISABLED, NO_CONNECTIONS, NO_USABLE = "model_disabled", "no_connections", "no_usable_connection"

# probe(row, key, timeout) -> object with .result ("ok" or not) and .detail
Probe = Callable[[ConnectionRow, "str | None", float], Any]


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
        return f"{self.provider}/{self.auth_type}/{self.label}"

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


# ---------------------------------------------------------------- resolving


def _skip_detail(reason: str, row: ConnectionRow, model: ModelRow) -> str:
    if reason == usable.LEGACY:
        return f"agent-scoped (agent {row.agent_name}); lift it with `provctl migrate-lift`"
    if reason == usable.DISABLED:
        return "the connection is disabled; enable it with `provctl providers enable`"
    if reason == usable.FAMILY_MISMATCH:
        return f"provider {row.provider} is not the model's provider {model.provider}"
    if reason == usable.NO_KEY:
        missing = []
        for source in usable.key_sources(row):
            if source == "keyring":
                missing.append("no key stored in the keyring")
            elif row.key_env:
                missing.append(f"${row.key_env} is unset or empty")
        return "; ".join(missing) or "no key source allowed"
    if reason == usable.EXPIRED:
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
    probe: Callable[[ConnectionRow, "str | None"], tuple[bool, str | None]] | None = None,
) -> Resolution:
    """Walk ``attached`` (by priority) and select the first usable connection.

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
        reason = usable.usability(row, now=now, environ=environ, model_provider=model.provider)
        detail = _skip_detail(reason, row, model) if reason else None
        key: str | None = None
        source = "none"
        if reason is None:
            key, source, reason, detail = usable.read_key(row, environ, keyring_get)
        if reason is None and probe is not None:
            ok, probe_detail = probe(row, key)
            if not ok:
                reason, detail = usable.PROBE_FAILED, probe_detail
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


# ---------------------------------------------------------------- rendering


def shell_quote(value: str) -> str:
    """POSIX single-quote quoting: safe for ``eval`` whatever the value holds."""
    return "'" + value.replace("'", "'\\''") + "'"


def env_lines(res: Resolution) -> list[str]:
    """``export NAME='value'`` lines: PROVCTL_* and the family's conventional variables."""
    sel = res.selected
    assert sel is not None
    key = sel.api_key or ""  # empty for a local connection
    pairs = [
        ("PROVCTL_PROVIDER", res.provider),
        ("PROVCTL_MODEL", res.upstream_model),
        ("PROVCTL_BASE_URL", sel.base_url),
        ("PROVCTL_CONNECTION", sel.ref),
        ("PROVCTL_API_KEY", key),
    ]
    fam = FAMILIES[res.provider]
    if fam.env_key_var:
        pairs.append((fam.env_key_var, key))
    if fam.env_base_url_var:
        pairs.append((fam.env_base_url_var, sel.base_url))
    return [f"export {name}={shell_quote(value)}" for name, value in pairs]


def skip_lines(res: Resolution) -> list[str]:
    lines = []
    for c in res.candidates:
        if c.outcome == SKIPPED:
            lines.append(f"Skipped {c.ref} (priority {c.priority}): {c.reason}"
                         + (f" — {c.detail}" if c.detail and c.detail != c.reason else ""))
    return lines


def failure(res: Resolution) -> tuple[str, str]:
    """The Error:/Hint: pair of an exit-5 resolution."""
    name = res.model
    if res.reason == MODEL_DISABLED:
        return (f"model {name} is disabled",
                f"enable it with `provctl model update {name} --enable`")
    if res.reason == NO_CONNECTIONS:
        return (f"model {name} has no connections attached",
                f"attach one with `provctl model attach {name} REF`")
    skipped = sum(1 for c in res.candidates if c.outcome == SKIPPED)
    return (f"no usable connection for model {name} ({skipped} skipped)",
            f"each skip has its reason; `provctl model show {name}` shows the status of every "
            "attached connection")


def render(res: Resolution, fmt: str, *, reveal: bool, out: Callable[[str], None],
           err: Callable[[str], None]) -> int:
    """Write ``res`` in ``fmt``; returns the exit code (0 selected, 5 nothing usable)."""
    if fmt == "json":
        emit_json(res.to_dict(reveal=reveal))
    else:
        for line in skip_lines(res):
            err(line)
        if res.selected is not None:
            if fmt == "env":
                for line in env_lines(res):
                    out(line)
            else:
                out(res.selected.ref)
                out(res.selected.base_url)
                if reveal and res.selected.api_key is not None:
                    out(res.selected.api_key)
    if res.selected is None:
        error(*failure(res))
    return res.exit_code


# ---------------------------------------------------------------- the command, for both paths


def check_format(fmt: str | None, json_: bool) -> str:
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="use --format text, json or env")
    if json_ and fmt not in (None, "json"):
        raise UsageError(f"--json contradicts --format {fmt}", hint="give one of them")
    return "json" if json_ else (fmt or "text")


def load(ctx, model_name: str | None) -> tuple[ModelRow, list[tuple[int, ConnectionRow]]]:
    """The model (or the user's default) and its priority list, read with stdlib sqlite3."""
    name_key = labels.fold(labels.clean(model_name, "model name")) if model_name is not None else None
    conn = ctx.reader()
    try:
        execute = conn.execute
        model = queries.user_model(execute, ctx.user_key, name_key)
        if model is None:
            if model_name is None:
                raise NotFound(
                    "no MODEL given and no default model is set",
                    hint="name a model (`provctl resolve gpt-4o`), or make one the default with "
                    "`provctl model update NAME --default`",
                )
            raise NotFound(
                f"no model named {model_name.strip()!r}",
                hint="see `provctl model list`; add one with `provctl model add NAME --provider P`",
            )
        return model, queries.attached(execute, model.id)
    finally:
        conn.close()


def run(ctx, model_name: str | None, *, fmt: str | None = None, json_: bool = False,
        reveal: bool = False, agent: str | None = None, probe: Probe | None = None,
        timeout: float = 10.0, out: Callable[[str], None] = print,
        err: Callable[[str], None] | None = None) -> int:
    """`provctl resolve`: resolve, print, and return the exit code (0 or 5).

    Errors a user can cause (unknown model: 3, bad option values: 2, ...) are raised as
    ProvctlError for the caller's one error handler.
    """
    import sys

    if err is None:
        def err(line: str) -> None:
            print(line, file=sys.stderr)

    form = check_format(fmt, json_)
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

    res = resolve(model, attached, now=ctx.now(), environ=ctx.environ, keyring_get=keyring_get,
                  agent=agent_name, probe=check)
    return render(res, form, reveal=reveal, out=out, err=err)
