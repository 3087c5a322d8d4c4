"""A real HTTP server on 127.0.0.1 that plays an LLM provider's models endpoint.

Usage::

    with FakeProvider() as fake:                       # or the ``fake`` fixture
        fake.set("/v1/models", status_reply(429), models_reply("openai", "gpt-4o"))
        ...call f"{fake.url}/v1" ...
        assert len(fake.requests_to("/v1/models")) == 2
        assert fake.requests[0].header("authorization") == "Bearer sk-test"

``set(prefix, *replies)`` programs the path prefix (longest prefix wins, the query
string is ignored for matching): the n-th request to it gets the n-th reply and the
last reply repeats. A reply is a ``Reply`` or a callable ``(RecordedRequest) -> Reply``.
Unprogrammed paths answer 404. Every request is recorded with its headers.

Its fixtures (``fake``, ``no_proxy_env``) are registered for every test by tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Iterator, Mapping, Union
from urllib.parse import parse_qs, urlsplit

import pytest

# -- replies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server)
    drop: bool = False  # close the connection without any response
    trickle: float = 0.0  # seconds between bytes: headers, then the body one byte at a time


Behaviour = Union[Reply, Callable[["RecordedRequest"], Reply]]

DROP = Reply(drop=True)


def json_reply(obj: Any, status: int = 200, *, delay: float = 0.0,
               headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(obj).encode(),
                 {"Content-Type": "application/json", **(headers or {})}, delay)


def text_reply(text: str, status: int = 200, *, content_type: str = "text/html; charset=utf-8",
               delay: float = 0.0) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": content_type}, delay)


def status_reply(status: int, message: str | None = None, *, delay: float = 0.0) -> Reply:
    """An error status with a provider-like JSON error body."""
    body = {"error": {"message": message or f"fake error {status}"}}
    return json_reply(body, status, delay=delay)


def redirect_reply(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", {"Location": location})


def slow_reply(seconds: float, then: Reply | None = None) -> Reply:
    """``then`` (default: an empty 200 JSON list) sent after ``seconds``."""
    base = then or json_reply({"data": []})
    return Reply(base.status, base.body, base.headers, seconds, base.drop)


def trickle_reply(interval: float, then: Reply | None = None) -> Reply:
    """``then`` (default: an empty 200 JSON list) sent one byte every ``interval`` seconds after
    its headers: each read succeeds well within any read timeout, yet the whole never ends."""
    base = then or json_reply({"data": []})
    return Reply(base.status, base.body, base.headers, base.delay, base.drop, interval)


def gzip_reply(raw: bytes, status: int = 200) -> Reply:
    """``raw`` gzip-compressed, with ``Content-Encoding: gzip`` (a gzip bomb when ``raw`` is
    large and repetitive: 50 MB of spaces compress to some 50 KB)."""
    import gzip

    return Reply(status, gzip.compress(raw, compresslevel=9),
                 {"Content-Type": "application/json", "Content-Encoding": "gzip"})


def models_body(shape: str, ids: Iterable[str], **extra: Any) -> dict[str, Any]:
    """The success document of a models endpoint in a family ``shape``.

    ``extra`` is merged in (``has_more``/``last_id`` for anthropic pages,
    ``nextPageToken`` for gemini pages).
    """
    ids = list(ids)
    if shape == "openai":
        doc: dict[str, Any] = {"object": "list", "data": [
            {"id": i, "object": "model", "created": 1700000000, "owned_by": "fake"} for i in ids]}
    elif shape == "anthropic":
        doc = {"data": [{"type": "model", "id": i, "display_name": i,
                         "created_at": "2025-01-01T00:00:00Z"} for i in ids],
               "has_more": False, "first_id": ids[0] if ids else None,
               "last_id": ids[-1] if ids else None}
    elif shape == "gemini":
        doc = {"models": [{"name": f"models/{i}", "displayName": i, "version": "001",
                           "supportedGenerationMethods": ["generateContent"]} for i in ids]}
    elif shape == "ollama":
        doc = {"models": [{"name": i, "model": i, "modified_at": "2025-01-01T00:00:00Z",
                           "size": 1, "digest": "0" * 64, "details": {}} for i in ids]}
    else:
        raise ValueError(f"unknown shape {shape!r}")
    doc.update(extra)
    return doc


def models_reply(shape_or_provider: str, *ids: str, **extra: Any) -> Reply:
    """200 with ``models_body``; accepts a shape name or a provider name from FAMILIES."""
    from provctl.domain.families import FAMILIES

    fam = FAMILIES.get(shape_or_provider)
    shape = fam.shape if fam else shape_or_provider
    return json_reply(models_body(shape, ids, **extra))


# -- recorded requests -----------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query
    query: str  # raw query string ("" when none)
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""

    @property
    def target(self) -> str:
        """The request target as sent: path plus query."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


# -- the server ------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: "FakeProvider"):
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.sockets_lock:
            self.server.open_sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeProvider:
    """A programmable provider on a loopback port. Start with ``with`` or ``start()``."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._lock = threading.Lock()
        self._routes: dict[str, list[Behaviour]] = {}
        self._counts: dict[str, int] = {}
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> "FakeProvider":
        self._server = _Server((self.host, 0), self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.01},
                                        name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes slow replies
        self._server.shutdown()
        self._server.server_close()
        with self._server.sockets_lock:
            for sock in list(self._server.open_sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "FakeProvider":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # addresses

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeProvider is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + path

    # programming

    def set(self, prefix: str, *replies: Behaviour) -> "FakeProvider":
        """Answer requests whose path starts with ``prefix`` with ``replies`` in order.

        The last reply repeats. Re-setting a prefix restarts its count.
        """
        if not replies:
            raise ValueError("set() needs at least one reply")
        with self._lock:
            self._routes[prefix] = list(replies)
            self._counts[prefix] = 0
        return self

    def reset(self) -> None:
        """Forget routes and recorded requests."""
        with self._lock:
            self._routes.clear()
            self._counts.clear()
            self._requests.clear()

    # inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    # serving

    def _next(self, path: str) -> Behaviour | None:
        with self._lock:
            matches = [p for p in self._routes if path.startswith(p)]
            if not matches:
                return None
            prefix = max(matches, key=len)
            replies = self._routes[prefix]
            n = self._counts[prefix]
            self._counts[prefix] = n + 1
            return replies[min(n, len(replies) - 1)]

    def _handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urlsplit(h.path)
        rec = RecordedRequest(h.command, split.path, split.query,
                              {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self._requests.append(rec)
        behaviour = self._next(split.path)
        if behaviour is None:
            reply = status_reply(404, f"no route for {split.path}")
        elif callable(behaviour):
            reply = behaviour(rec)
        else:
            reply = behaviour
        if reply.delay and self._stopping.wait(reply.delay):
            reply = DROP
        if reply.drop:
            h.close_connection = True
            return
        try:
            h.send_response(reply.status)
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(reply.body)))
            h.end_headers()
            if reply.trickle:
                h.wfile.flush()
                for i in range(len(reply.body)):
                    if self._stopping.wait(reply.trickle):
                        break
                    h.wfile.write(reply.body[i:i + 1])
                    h.wfile.flush()
                h.close_connection = True
                return
            h.wfile.write(reply.body)
            h.wfile.flush()
        except OSError:  # the client gave up (timeout) and closed the socket
            h.close_connection = True


# -- helpers ---------------------------------------------------------------------------


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def closed_port_url(host: str = "127.0.0.1") -> str:
    return f"http://{host}:{closed_port(host)}"


@contextlib.contextmanager
def unanswered_port(host: str = "127.0.0.1") -> Iterator[str]:
    """The URL of a port where a TCP connection is never established: a listener whose
    accept queue is full (``listen(0)``, filled and never accepted), so the kernel drops
    further SYNs and a client's connect times out — a host that does not answer, on
    loopback."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        server.bind((host, 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            try:
                filler.connect((host, port))
            except BlockingIOError:
                pass
        time.sleep(0.1)
        yield f"http://{host}:{port}"
    finally:
        for sock in (*fillers, server):
            sock.close()


@pytest.fixture
def fake() -> Iterable[FakeProvider]:
    """A fresh loopback provider server for one test."""
    with FakeProvider() as server:
        yield server


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch) -> None:
    """Requests to 127.0.0.1 must not go through a proxy from the environment."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
