"""What an endpoint may cost and what it may hand back (SPEC §7).

* **A deadline for the whole request.** httpx's timeouts bound each socket operation, so a
  server that trickles one byte at a time never trips them. :func:`fetch` runs the request
  (connect, headers, body, in one thread) against one monotonic deadline: the caller waits at
  most until then, and the transfer is cut off (its socket shut down) when it passes.
* **A capped body.** At most 10 MB after decompression: provctl asks for ``gzip, deflate``
  only and inflates the raw bytes itself with a bounded output size, so a gzip bomb costs at
  most the cap, never its inflated size.
* **Checked ids.** A discovered model id is printable and at most 256 characters; an id that
  contains the request's secret (an endpoint that echoes the ``Authorization`` header) is
  dropped and reported, never stored or printed. At most 100,000 ids per connection.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import httpx

MAX_BODY_BYTES = 10 * 1000 * 1000  # 10 MB, decompressed
MAX_MODEL_IDS = 100_000
MAX_ID_CHARS = 256
CHUNK = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The (decompressed) body passed ``MAX_BODY_BYTES``."""


class BadEncoding(Exception):
    """A ``Content-Encoding`` provctl did not ask for, or a body that does not inflate."""


class DeadlinePassed(httpx.TimeoutException):
    """The request did not complete before its deadline (a trickling or stalled server).
    ``connected``: the request had been sent on an established connection (the server was
    reached and did not answer in time), rather than still connecting."""

    def __init__(self, message: str = "the deadline passed", *, connected: bool = False) -> None:
        super().__init__(message)
        self.connected = connected


# -------------------------------------------------------------------------- decoding


class _Inflater:
    """gzip / deflate with a bounded output: never more than ``room`` bytes per call."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.raw_deflate = False
        self.started = False
        self._obj = self._new()

    def _new(self):
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self.raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = self._obj.decompress(data, room + 1)
        except zlib.error:
            if self.encoding == "deflate" and not self.started and not self.raw_deflate:
                self.raw_deflate = True  # some servers send raw deflate, as httpx tolerates
                self._obj = self._new()
                return self.feed(data, room)
            raise BadEncoding(f"the {self.encoding} body does not decompress") from None
        self.started = True
        if len(out) > room:
            raise BodyTooLarge
        return out

    def more(self, room: int) -> bytes:
        """Output still held back by the size bound (``unconsumed_tail``)."""
        tail = self._obj.unconsumed_tail
        if not tail:
            return b""
        return self.feed(tail, room)


def _inflaters(headers: httpx.Headers) -> list[_Inflater]:
    """The decoders for the response's ``Content-Encoding`` (outermost last, as listed)."""
    names = [n.strip().lower() for v in headers.get_list("content-encoding")
             for n in v.split(",") if n.strip()]
    chain = []
    for name in names:
        if name == "identity":
            continue
        if name not in ("gzip", "x-gzip", "deflate"):
            raise BadEncoding(f"content encoding {name[:20]!r} was not asked for")
        chain.append(_Inflater(name))
    return chain


def _decode(chain: list[_Inflater], data: bytes, room: int) -> bytes:
    """Pass raw bytes through the decoders (the last listed encoding was applied last)."""
    for inflater in reversed(chain):
        out = inflater.feed(data, room)
        while True:  # drain what the bound held back, still within room
            extra = inflater.more(room - len(out))
            if not extra:
                break
            out += extra
        data = out
    return data


# -------------------------------------------------------------------------- the request


@dataclass
class _Transfer:
    """The state one request shares with the thread that performs it."""

    stream: Any = None  # httpcore's network stream, once connected
    abandoned: bool = False
    sent: bool = False  # the request started on an established (new or reused) connection

    def trace(self, name: str, info: Mapping[str, Any]) -> None:
        if name.endswith("send_request_headers.started"):
            self.sent = True
        if name.endswith("connect_tcp.complete") or name.endswith("start_tls.complete"):
            self.stream = info.get("return_value") or self.stream
            if self.abandoned:
                self.cut()

    def cut(self) -> None:
        """Shut the socket down: a read blocked on it returns at once."""
        self.abandoned = True
        sock = self.stream.get_extra_info("socket") if self.stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def fetch(client: httpx.Client, url: httpx.URL, params: Mapping[str, str] | None,
          headers: Mapping[str, str], *, deadline: float,
          connect_timeout: float) -> httpx.Response:
    """GET ``url`` with the body read and decoded, all before ``deadline`` (a
    ``time.monotonic()`` value). The returned response holds the decoded body (2xx only; other
    statuses keep their headers and an empty body). Raises :class:`DeadlinePassed`,
    :class:`BodyTooLarge`, :class:`BadEncoding` or httpx's own errors."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:  # only after a redirect: the server did answer the first request
        raise DeadlinePassed(connected=True)
    transfer = _Transfer()
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["response"] = _transfer(client, url, params, headers, transfer, remaining,
                                            connect_timeout)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=work, name="provctl-request", daemon=True).start()
    if not finished.wait(max(0.0, deadline - time.monotonic())):
        transfer.cut()  # the thread ends with a read error, its result unused
        raise DeadlinePassed(connected=transfer.sent)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["response"]


def _transfer(client: httpx.Client, url: httpx.URL, params: Mapping[str, str] | None,
              headers: Mapping[str, str], transfer: _Transfer, remaining: float,
              connect_timeout: float) -> httpx.Response:
    timeout = httpx.Timeout(remaining, connect=min(connect_timeout, remaining))
    request = client.build_request(
        "GET", url, params=params, timeout=timeout, extensions={"trace": transfer.trace},
        headers={**headers, "Accept-Encoding": ACCEPT_ENCODING})
    response = client.send(request, stream=True, follow_redirects=False)
    transfer.stream = response.extensions.get("network_stream") or transfer.stream  # reused too
    try:
        body = b""
        if 200 <= response.status_code < 300:
            body = _read(response, transfer)
    finally:
        response.close()
    kept = [(k, v) for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=kept, content=body, request=request)


def _read(response: httpx.Response, transfer: _Transfer) -> bytes:
    chain = _inflaters(response.headers)
    parts: list[bytes] = []
    size = 0
    for raw in response.iter_raw(CHUNK):
        if transfer.abandoned:
            raise DeadlinePassed(connected=True)
        data = _decode(chain, raw, MAX_BODY_BYTES - size) if chain else raw
        size += len(data)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        parts.append(data)
    return b"".join(parts)


# -------------------------------------------------------------------------- model ids


@dataclass(frozen=True)
class CheckedIds:
    ids: tuple[str, ...]  # sorted, de-duplicated, each printable and at most 256 characters
    unprintable: int = 0  # dropped: not printable, or too long
    secret: int = 0  # dropped: contained the request's key

    @property
    def note(self) -> str | None:
        """The report of what was dropped (``detail`` of an ok result), or None."""
        parts = []
        if self.secret:
            parts.append(f"{self.secret} contained the connection's key")
        if self.unprintable:
            parts.append(f"{self.unprintable} not printable or longer than {MAX_ID_CHARS} "
                         "characters")
        if not parts:
            return None
        dropped = self.secret + self.unprintable
        return f"dropped {dropped} model id{'s' if dropped != 1 else ''}: " + "; ".join(parts)


def key_forms(key: str | None) -> list[str]:
    """The key as text may carry it: raw and percent-encoded (compared case-insensitively)."""
    if not key:
        return []
    return sorted({key, quote(key, safe=""), quote(key)}, key=len, reverse=True)


def check_ids(ids: Iterable[str], key: str | None) -> CheckedIds:
    """Keep the printable ids of at most ``MAX_ID_CHARS`` characters that do not contain
    ``key``; count the rest."""
    secret_pattern = (re.compile("|".join(re.escape(f) for f in key_forms(key)), re.IGNORECASE)
                      if key else None)
    kept: set[str] = set()
    unprintable = secret = 0
    for model_id in set(ids):
        if secret_pattern is not None and secret_pattern.search(model_id):
            secret += 1
        elif len(model_id) > MAX_ID_CHARS or not model_id.isprintable():
            unprintable += 1
        else:
            kept.add(model_id)
    return CheckedIds(tuple(sorted(kept)), unprintable, secret)
