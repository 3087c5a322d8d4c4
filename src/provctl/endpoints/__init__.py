"""Talk HTTP to provider models endpoints (SPEC §7).

A pure library: plain values in, frozen dataclasses out, no CLI or storage imports.
Used by ``connect --verify``, ``providers refresh`` and ``resolve --probe``.

Rules, in one place:

* URL = effective base URL + the family's ``models_path``; the key goes only into the
  header(s) its (family, auth type) row names (SPEC §4 HTTP auth, ``adapters.AUTH_HEADERS``),
  never into a URL.
* Timeouts: connect ``connect_timeout`` (3 s); ``timeout`` (10 s) is a deadline for each
  whole request, redirects and body included, so a trickling server cannot stretch it.
* Limits (``limits``): bodies at most 10 MB decompressed, at most 100,000 model ids; an id
  must be printable and at most 256 characters, and one containing the key is dropped (the
  ``detail`` of an ``ok`` result says how many were dropped, and why).
* One retry after ``backoff`` seconds on connection errors, timeouts, 429 and 5xx.
  401/403 -> ``unauthorized`` (no retry); other statuses -> ``error`` with the status.
* ``unreachable`` means no exchange took place: the connection was refused, failed, timed
  out or was closed without a response. A server that accepted the connection and took the
  request but did not answer within the deadline is ``error`` (``timed_out``, detail "timed
  out after Ns waiting for the response"): it is there, but too slow or stalled.
* Redirects are followed only to the same origin (or an http -> https upgrade of the
  same host); a redirect elsewhere is an ``error`` and the key is not sent there.
* ``detail`` is short human text and never contains the key.
* Several connections are checked concurrently by a bounded thread pool sharing one
  ``httpx.Client`` (documented as thread-safe).
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

import httpx

from .. import __version__
from ..errors import UsageError
from ..domain.families import check_auth, effective_base_url, family
from .adapters import SHAPES, ShapeError, auth_headers
from .limits import MAX_MODEL_IDS, BadEncoding, BodyTooLarge, DeadlinePassed, check_ids, fetch

__all__ = [
    "BAD_RESPONSE",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "ERROR",
    "EndpointResult",
    "OK",
    "RETRY_BACKOFF",
    "Request",
    "UNAUTHORIZED",
    "UNREACHABLE",
    "list_models",
    "list_models_many",
    "models_url",
]

OK, UNAUTHORIZED, ERROR, UNREACHABLE, BAD_RESPONSE = (
    "ok", "unauthorized", "error", "unreachable", "bad_response",
)
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.0
RETRY_BACKOFF = 0.5  # seconds before the one retry
MAX_REDIRECTS = 5
MAX_PAGES = 50
_DETAIL_MAX = 200
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a key header value may hold


@dataclass(frozen=True)
class EndpointResult:
    result: str  # ok | unauthorized | error | unreachable | bad_response
    status: int | None  # HTTP status when there was one
    detail: str | None  # short human text; never contains the key
    model_ids: tuple[str, ...] = ()  # sorted, de-duplicated; only when ok
    # an ``error`` because the server accepted the connection but did not answer in time
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.result == OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "status": self.status,
            "detail": self.detail,
            "model_ids": list(self.model_ids),
        }


@dataclass(frozen=True)
class Request:
    """One models-endpoint call for ``list_models_many``. The key is kept out of repr."""

    provider: str
    base_url: str | None
    auth_type: str
    key: str | None = field(default=None, repr=False)


def models_url(provider: str, base_url: str | None) -> str:
    """The models endpoint of a connection. Raises ``UsageError`` without a base URL."""
    fam = family(provider)
    base = effective_base_url(provider, base_url)
    if not base:
        raise UsageError(f"provider {provider} needs a base URL", hint="pass --base-url")
    return base.rstrip("/") + fam.models_path


def list_models(
    provider: str,
    base_url: str | None,
    auth_type: str,
    key: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    client: httpx.Client | None = None,
    backoff: float = RETRY_BACKOFF,
) -> EndpointResult:
    """List the model ids a connection can see.

    ``client`` is borrowed, not closed; without one a short-lived client is used.
    Raises ``UsageError`` for an unknown provider or a missing base URL; every
    network or HTTP outcome is an ``EndpointResult``.
    """
    request = Request(provider, base_url, auth_type, key)
    call = _Call.build(request, timeout, connect_timeout, backoff)
    with ExitStack() as stack:
        if client is None:
            client = stack.enter_context(_new_client(1))
        return call.run(client)


def list_models_many(
    requests: Iterable[Request],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    max_workers: int = 8,
    on_done: Callable[[int, EndpointResult], None] | None = None,
    client: httpx.Client | None = None,
    backoff: float = RETRY_BACKOFF,
) -> list[EndpointResult]:
    """``list_models`` for several connections at once, at most ``max_workers`` in flight.

    Results come back in input order. ``on_done(index, result)`` is called in the
    calling thread as each one finishes (completion order), e.g. to advance a
    progress bar. Every request is validated before any network traffic.
    """
    calls = [_Call.build(r, timeout, connect_timeout, backoff) for r in requests]
    if not calls:
        return []
    workers = max(1, min(max_workers, len(calls)))
    results: list[EndpointResult | None] = [None] * len(calls)
    with ExitStack() as stack:
        if client is None:
            client = stack.enter_context(_new_client(workers))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provctl-endpoints")
        try:
            futures = {pool.submit(call.run, client): i for i, call in enumerate(calls)}
            for future in as_completed(futures):
                index = futures[future]
                results[index] = future.result()
                if on_done is not None:
                    on_done(index, results[index])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return results  # type: ignore[return-value]  # every slot is filled


def family_auth(fam, auth_type: str) -> str:
    """The HTTP auth of a (family, auth type) row; an auth type the family does not take is a
    UsageError (exit 2), raised before any request."""
    return fam.handoff(check_auth(fam, auth_type)).http_auth


def _new_client(max_connections: int) -> httpx.Client:
    return httpx.Client(
        follow_redirects=False,
        headers={"User-Agent": f"provctl/{__version__}"},
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
    )


class _Failure(Exception):
    """Internal: carries a finished non-ok result out of the request helpers."""

    def __init__(self, result: EndpointResult, retry: bool = False):
        super().__init__(result.result)
        self.result = result
        self.retry = retry


@dataclass(frozen=True)
class _Call:
    url: str
    shape: str
    http_auth: str  # SPEC §4: how this (family, auth type) sends its key
    key: str | None = field(repr=False)
    timeout: float
    connect_timeout: float
    backoff: float

    @classmethod
    def build(cls, req: Request, timeout: float, connect_timeout: float,
              backoff: float) -> "_Call":
        fam = family(req.provider)
        http_auth = family_auth(fam, req.auth_type)
        return cls(models_url(req.provider, req.base_url), fam.shape, http_auth, req.key, timeout,
                   connect_timeout, backoff)

    # -- the whole exchange ------------------------------------------------------------

    def run(self, client: httpx.Client) -> EndpointResult:
        try:
            headers = self._headers()
            shape = SHAPES[self.shape]
            ids: list[str] = []
            params: Mapping[str, str] | None = shape.first_params
            for _ in range(MAX_PAGES):
                status, body = self._get_json_with_retry(client, headers, params)
                try:
                    page = shape.parse(body)
                except ShapeError as exc:
                    raise _Failure(self._result(
                        BAD_RESPONSE, status, f"unexpected JSON: {exc}")) from None
                ids.extend(page.model_ids)
                if len(ids) > MAX_MODEL_IDS:
                    return self._result(BAD_RESPONSE, status,
                                        f"more than {MAX_MODEL_IDS:,} model ids")
                params = page.next_params
                if params is None:
                    checked = check_ids(ids, self.key)
                    return EndpointResult(OK, status, checked.note, checked.ids)
            return self._result(BAD_RESPONSE, status, f"more than {MAX_PAGES} pages of models")
        except _Failure as failure:
            return failure.result

    def _headers(self) -> dict[str, str]:
        headers = auth_headers(self.http_auth, self.key)
        if headers and not _HEADER_TOKEN.fullmatch(self.key or ""):
            raise _Failure(self._result(
                ERROR, None, "the key contains characters that cannot be sent in an HTTP header"))
        return headers

    def _get_json_with_retry(self, client: httpx.Client, headers: dict[str, str],
                             params: Mapping[str, str] | None) -> tuple[int, Any]:
        try:
            return self._get_json(client, headers, params)
        except _Failure as failure:
            if not failure.retry:
                raise
        if self.backoff > 0:
            time.sleep(self.backoff)
        return self._get_json(client, headers, params)

    def _get_json(self, client: httpx.Client, headers: dict[str, str],
                  params: Mapping[str, str] | None) -> tuple[int, Any]:
        response = self._send(client, headers, params)
        status = response.status_code
        if 200 <= status < 300:
            try:
                return status, response.json()
            except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply
                raise _Failure(self._result(BAD_RESPONSE, status, "response is not JSON")) from None
        if status in (401, 403):
            raise _Failure(self._result(UNAUTHORIZED, status, f"HTTP {status}"))
        if status == 429:
            raise _Failure(self._result(ERROR, status, "HTTP 429 (rate limited)"), retry=True)
        if status >= 500:
            raise _Failure(self._result(ERROR, status, f"HTTP {status}"), retry=True)
        if 300 <= status < 400:
            raise _Failure(self._result(
                ERROR, status, f"HTTP {status} redirect without a usable location"))
        raise _Failure(self._result(ERROR, status, f"HTTP {status}"))

    def _send(self, client: httpx.Client, headers: dict[str, str],
              params: Mapping[str, str] | None) -> httpx.Response:
        """GET, following same-origin redirects only. Transport errors become failures."""
        try:
            url = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            raise _Failure(self._result(ERROR, None, f"invalid base URL: {exc}")) from None
        deadline = time.monotonic() + self.timeout  # the whole request, redirects included
        for hop in range(MAX_REDIRECTS + 1):
            try:
                response = fetch(client, url, params, headers, deadline=deadline,
                                 connect_timeout=self.connect_timeout)
            except BodyTooLarge:
                raise _Failure(self._result(BAD_RESPONSE, None, "response larger than 10 MB")) from None
            except BadEncoding as exc:
                raise _Failure(self._result(BAD_RESPONSE, None, str(exc))) from None
            except httpx.TimeoutException as exc:
                if hop > 0 or _reached(exc):  # the server was reached and did not answer in time
                    failure = replace(self._result(ERROR, None, self._timeout_detail(exc, True)),
                                      timed_out=True)
                else:
                    failure = self._result(UNREACHABLE, None, self._timeout_detail(exc, False))
                raise _Failure(failure, retry=True) from None
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
                raise _Failure(self._result(ERROR, None, f"request failed: {exc}")) from None
            except httpx.TransportError as exc:
                failure = self._result(UNREACHABLE, None, _transport_detail(exc))
                raise _Failure(failure, retry=True) from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise _Failure(self._result(ERROR, None, f"request failed: {exc}")) from None
            if not response.has_redirect_location:
                return response
            try:
                target = response.url.join(response.headers["location"])
            except httpx.InvalidURL:
                raise _Failure(self._result(
                    ERROR, response.status_code, "redirected to an invalid location")) from None
            if not _same_origin(response.url, target):
                raise _Failure(self._result(
                    ERROR, response.status_code,
                    f"redirected to another host ({target.host or target}); not followed"))
            url, params = target, None  # the location carries its own query
        raise _Failure(self._result(ERROR, response.status_code, "too many redirects"))

    # -- results -------------------------------------------------------------------------

    def _result(self, result: str, status: int | None, detail: str | None) -> EndpointResult:
        return EndpointResult(result, status, _scrub(detail, self.key))

    def _timeout_detail(self, exc: httpx.TimeoutException, reached: bool) -> str:
        if reached:
            return f"timed out after {self.timeout:g}s waiting for the response"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connection timed out after {min(self.connect_timeout, self.timeout):g}s"
        return f"connection timed out after {self.timeout:g}s"  # the deadline, still connecting


def _reached(exc: httpx.TimeoutException) -> bool:
    """A timeout after the request was sent on an established connection (the server is
    there, but did not answer in time), as opposed to one while connecting (SPEC §7
    ``unreachable``). A pool timeout is provctl's own wait for a free connection slot."""
    if isinstance(exc, DeadlinePassed):
        return exc.connected
    return isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout))


def _transport_detail(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if any(s in low for s in ("name or service not known", "nodename nor servname",
                              "name resolution", "getaddrinfo failed", "no address associated")):
        return "could not resolve host"
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending" in low:
        return "connection closed without a response"
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error: {text}"
    return f"connection failed: {text}"


def _same_origin(current: httpx.URL, target: httpx.URL) -> bool:
    if target.host != current.host:
        return False
    if (target.scheme, target.port) == (current.scheme, current.port):
        return True
    # An upgrade of the same host to https on the default port is safe to follow.
    return current.scheme == "http" and target.scheme == "https" and target.port is None


def _scrub(detail: str | None, key: str | None) -> str | None:
    """Shorten ``detail`` and replace the key (raw or percent-encoded) with ***."""
    if detail is None:
        return None
    detail = " ".join(detail.split())
    if key:  # case-insensitive: URL parts such as a host name come back lower-cased
        for form in {key, quote(key, safe=""), quote(key)}:
            detail = re.sub(re.escape(form), "***", detail, flags=re.IGNORECASE)
    if len(detail) > _DETAIL_MAX:
        detail = detail[: _DETAIL_MAX - 1] + "…"
    return detail
