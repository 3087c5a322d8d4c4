"""Use cases that ask providers' models endpoints (SPEC §6, §7): ``connect --verify``,
``providers refresh``, ``providers models`` and ``resolve --probe``.

``provctl.endpoints`` (and so httpx) is imported inside the functions that talk HTTP, never
at module level: ``providers list``, ``providers models`` and ``resolve`` without ``--probe``
must not pay for it.

Rules, in one place:

* A key for a request is read like ``resolve`` reads it: the connection's ``key_source``
  order, the keyring only where the database says a key was stored, the ``--key-env``
  variable only when set and non-blank. ``local`` connections send no key.
* ``refresh`` never sends a request for a connection without a usable credential: its result
  is ``error`` with the reason code as detail (``no_key``, ``key_missing``,
  ``keyring_unavailable``). A keyring that fails for one connection does not stop the batch;
  one that hangs (a read that fails only after ``KEYRING_STUCK_S``) is not asked again in
  that batch, so a locked keyring costs one deadline, not one per connection.
* Discovered ids replace the connection's previous set, for ``ok`` results only, all in one
  transaction after every request has finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..context import AppContext
from ..db import read
from ..domain import refs as refmod
from ..domain.credentials import lookup_key, needs_key
from ..domain.families import shape_hint
from ..domain.rows import ConnectionRow, full_ref
from ..errors import SecretStoreError, Unavailable, UsageError
from .views import JsonFields

if TYPE_CHECKING:  # only for annotations: importing endpoints imports httpx
    from ..endpoints import EndpointResult

REFRESH_WORKERS = 8  # connections refreshed at once
KEYRING_STUCK_S = 1.0  # a failed keyring read this slow means "locked/hung", not "refused"

OK = "ok"
ERROR = "error"


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class RefreshResult(JsonFields):
    """One line of ``providers refresh`` (JSON: ``{id, label, result, models, detail}``)."""

    id: str
    provider: str
    auth_type: str
    label: str
    result: str  # ok | unauthorized | error | unreachable | bad_response
    models: int | None  # number of ids discovered; None unless ok
    detail: str | None

    JSON = ("id", "label", "result", "models", "detail")

    @property
    def ref(self) -> str:
        return full_ref(self.provider, self.auth_type, self.label)

    @property
    def ok(self) -> bool:
        return self.result == OK


@dataclass(frozen=True)
class DiscoveredModel(JsonFields):
    """One line of ``providers models`` (JSON: ``{id, discovered_at}``)."""

    id: str
    discovered_at: str

    JSON = ("id", "discovered_at")


# ---------------------------------------------------------------- credentials


@dataclass
class _KeyReader:
    """Reads keys for one batch with ``credentials.lookup_key``; once the keyring has hung past its
    deadline it is not asked again in this batch (one 5 s wait, not one per connection)."""

    ctx: AppContext
    stuck: str | None = None

    def _keyring_get(self, connection_id: str) -> str | None:
        if self.stuck is not None:
            raise SecretStoreError(self.stuck)
        started = time.monotonic()
        try:
            return self.ctx.keystore().get(connection_id)
        except SecretStoreError as exc:
            if time.monotonic() - started >= KEYRING_STUCK_S:
                self.stuck = exc.message
            raise

    def read(self, row: ConnectionRow) -> tuple[str | None, str | None]:
        """(key, None) when a source supplied one; (None, reason code) when none did.
        ``local`` connections: (None, None)."""
        found = lookup_key(row, self.ctx.environ, self._keyring_get)
        return found.key, found.reason


# ---------------------------------------------------------------- connect --verify


def verifier_for(timeout: float) -> Callable[[str, str | None, str, str | None], tuple[str, ...]]:
    """A ``verify(provider, base_url, auth_type, key)`` for ``connections.connect``.

    It asks the family's models endpoint and, when the answer is ``ok``, returns the model ids
    it listed (checked as ``refresh`` checks them; ``connect`` stores them with the row);
    otherwise it raises ``Unavailable`` (exit 5) before anything is written. A key named only
    by ``--key-env`` cannot be verified (``connect`` never reads that variable): exit 2.
    """

    def verify(provider: str, base_url: str | None, auth_type: str, key: str | None) -> tuple[str, ...]:
        if needs_key(auth_type) and not key:
            raise UsageError(
                "--verify needs the key itself; connect never reads the --key-env variable",
                hint="pipe the key with --key-stdin (or type it at the prompt), or connect "
                "without --verify and check it later with `provctl providers refresh REF`",
            )
        from .. import endpoints

        url = endpoints.models_url(provider, base_url)
        outcome = endpoints.list_models(provider, base_url, auth_type, key, timeout=timeout)
        if outcome.ok:
            return outcome.model_ids
        raise _verify_failure(provider, base_url, url, outcome)

    return verify


def failure_detail(provider: str, base_url: str | None, outcome: "EndpointResult") -> str:
    """A failed result's detail; a 404 adds the family's base-URL shape (SPEC §4: a base URL
    with or without /v1 is the usual cause, not something to "try again later")."""
    detail = outcome.detail or outcome.result
    if outcome.status == 404:
        return f"{detail}; {shape_hint(provider, base_url)}"
    return detail


def _verify_failure(provider: str, base_url: str | None, url: str,
                    outcome: "EndpointResult") -> Unavailable:
    detail = outcome.detail or outcome.result
    if outcome.status == 404:
        return Unavailable(f"{url} answered {detail}: no models endpoint there; nothing was saved",
                           hint=shape_hint(provider, base_url))
    if outcome.result == "unauthorized":
        return Unavailable(
            f"{provider} rejected the credential ({detail} from {url}); nothing was saved",
            hint="check the key and the auth type; to save it anyway, connect without --verify",
        )
    if outcome.timed_out:  # connected, but no (complete) answer before the deadline
        return Unavailable(
            f"{url} accepted the connection but did not answer in time ({detail}); "
            "nothing was saved",
            hint="the server is there but slow or stalled: raise --timeout, try again later, "
            "or connect without --verify",
        )
    if outcome.result == "unreachable":
        return Unavailable(
            f"no answer from {url} ({detail}); nothing was saved",
            hint="check --base-url and the network, raise --timeout, or connect without --verify",
        )
    if outcome.result == "bad_response":
        return Unavailable(
            f"{url} did not answer with a {provider} models list ({detail}); nothing was saved",
            hint="check that --base-url is the API root (e.g. https://api.openai.com/v1)",
        )
    return Unavailable(
        f"{url} answered with an error ({detail}); nothing was saved",
        hint="try again later, or connect without --verify",
    )


# ---------------------------------------------------------------- resolve --probe


def probe(row: ConnectionRow, key: str | None, timeout: float) -> "EndpointResult":
    """Ask ``row``'s models endpoint with ``key`` (``resolve --probe``). Read-only: nothing is
    stored. A failed result's ``detail`` starts with the result code
    (``unauthorized: HTTP 401``, ``unreachable: connection refused``)."""
    from dataclasses import replace

    from .. import endpoints

    try:
        outcome = endpoints.list_models(row.provider, row.base_url, row.auth_type, key,
                                        timeout=timeout)
    except UsageError as exc:  # e.g. no base URL: a row imported without one
        return endpoints.EndpointResult(endpoints.ERROR, None, f"error: {exc.message}")
    if outcome.ok:
        return outcome
    detail = failure_detail(row.provider, row.base_url, outcome)
    return replace(outcome, detail=f"{outcome.result}: {detail}")


# ---------------------------------------------------------------- providers refresh


def _targets(rows: Sequence[ConnectionRow], names: Sequence[str],
             all_: bool) -> list[ConnectionRow]:
    """The connections named by ``names`` (in that order, each once), then, with ``all_``,
    the enabled user-level connections not named (in ``providers list`` order)."""
    chosen: dict[str, ConnectionRow] = {}
    for ref in names:
        row = refmod.pick(rows, ref)
        chosen.setdefault(row.id, row)
    if all_:
        for row in rows:
            if row.agent_id is None and row.enabled:
                chosen.setdefault(row.id, row)
    return list(chosen.values())


def refresh(
    ctx: AppContext,
    refs: Iterable[str] = (),
    all_: bool = False,
    timeout: float = 10.0,
    on_done: Callable[[int, int, RefreshResult], None] | None = None,
    *,
    on_start: Callable[[int], None] | None = None,
    max_workers: int = REFRESH_WORKERS,
    backoff: float | None = None,
) -> list[RefreshResult]:
    """Discover the model ids of connections and store them (SPEC §6 providers refresh).

    ``refs`` and/or ``all_`` (enabled user-level connections) choose the connections;
    neither is a UsageError (exit 2); an unknown or ambiguous REF is raised before any
    request. ``on_start(total)`` is called once, then ``on_done(done, total, result)`` as
    each connection finishes (in this thread), e.g. for a progress bar. Results come back in
    target order. The caller decides the exit code (0 when every result is ``ok``).
    """
    names = list(refs)
    if not names and not all_:
        raise UsageError("name the connections to refresh, or pass --all",
                         hint="e.g. `provctl providers refresh openai/Work`, or `--all` for every "
                         "enabled user-level connection")
    with ctx.reading() as execute:
        rows = read.user_connections(execute, ctx.user_key)
    targets = _targets(rows, names, all_)
    total = len(targets)
    if on_start is not None:
        on_start(total)
    if not targets:
        return []

    from .. import endpoints  # httpx: only now that requests will be sent

    results: list[RefreshResult | None] = [None] * total
    model_ids: dict[str, tuple[str, ...]] = {}
    done = 0

    def finish(index: int, result: RefreshResult) -> None:
        nonlocal done
        results[index] = result
        done += 1
        if on_done is not None:
            on_done(done, total, result)

    def line(row: ConnectionRow, result: str, models: int | None,
             detail: str | None) -> RefreshResult:
        return RefreshResult(row.id, row.provider, row.auth_type, row.label, result, models, detail)

    keys = _KeyReader(ctx)
    requests: list[Any] = []
    positions: list[int] = []  # requests[i] is for targets[positions[i]]
    for index, row in enumerate(targets):
        key, reason = keys.read(row)
        if reason is not None:
            finish(index, line(row, ERROR, None, reason))
            continue
        try:
            endpoints.models_url(row.provider, row.base_url)
        except UsageError as exc:
            finish(index, line(row, ERROR, None, exc.message))
            continue
        requests.append(endpoints.Request(row.provider, row.base_url, row.auth_type, key))
        positions.append(index)

    def request_done(i: int, outcome: "EndpointResult") -> None:
        index = positions[i]
        row = targets[index]
        if outcome.ok:
            model_ids[row.id] = outcome.model_ids
            finish(index, line(row, OK, len(outcome.model_ids), outcome.detail))  # dropped ids
        else:
            finish(index, line(row, outcome.result, None,
                               failure_detail(row.provider, row.base_url, outcome)))

    extra = {} if backoff is None else {"backoff": backoff}
    endpoints.list_models_many(requests, timeout=timeout, max_workers=max_workers,
                               on_done=request_done, **extra)

    if model_ids:
        vanished = _store(ctx, model_ids)
        for index, result in enumerate(results):
            if result is not None and result.id in vanished:
                results[index] = line(targets[index], ERROR, None,
                                      "the connection was removed during the refresh")
    return [r for r in results if r is not None]


def _store(ctx: AppContext, model_ids: dict[str, tuple[str, ...]]) -> set[str]:
    """Replace the discovered ids of each connection in ``model_ids``, in one transaction.
    Returns the ids of connections that no longer exist (removed meanwhile; not stored)."""
    from ..db import write

    with ctx.uow() as uow:
        present = write.replace_discovered(uow, model_ids, ctx.stamp())
        uow.commit()
    return set(model_ids) - present


# ---------------------------------------------------------------- providers models


def models(ctx: AppContext, ref: str) -> list[DiscoveredModel]:
    """The discovered model ids of one connection, sorted by id (no network)."""
    with ctx.reading() as execute:
        row = refmod.pick(read.user_connections(execute, ctx.user_key), ref)
        return [DiscoveredModel(model, at) for model, at in read.discovered_models(execute, row.id)]
