"""Per-family adapters for the models endpoint (SPEC §4, §7). Pure: no I/O, no httpx.

Each (family, auth type) row of ``domain.families.FAMILIES`` names an ``http_auth`` (SPEC §4,
"What a program is handed", the HTTP auth column) and each family a response ``shape``; this
module maps each to a tiny function. Adding a family whose auth and shape already exist needs
no code here; a new shape is one ``Shape`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..domain.families import ANTHROPIC_OAUTH, BEARER, GOOGLE, NO_AUTH, X_API_KEY

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_OAUTH_BETA = "oauth-2025-04-20"

# http_auth -> headers carrying the key. The key travels in these headers only.
AUTH_HEADERS: dict[str, Callable[[str], dict[str, str]]] = {
    BEARER: lambda key: {"Authorization": f"Bearer {key}"},
    X_API_KEY: lambda key: {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION},
    ANTHROPIC_OAUTH: lambda key: {"Authorization": f"Bearer {key}",
                                  "anthropic-version": ANTHROPIC_VERSION,
                                  "anthropic-beta": ANTHROPIC_OAUTH_BETA},
    GOOGLE: lambda key: {"x-goog-api-key": key},
    NO_AUTH: lambda key: {},
}


def auth_headers(http_auth: str, key: str | None) -> dict[str, str]:
    """Headers for one request: none for ``none`` (local connections) or when there is no key."""
    if not key:
        return {}
    return AUTH_HEADERS[http_auth](key)


class ShapeError(ValueError):
    """The body is JSON but not the document the family returns."""


@dataclass(frozen=True)
class Page:
    model_ids: tuple[str, ...]
    next_params: Mapping[str, str] | None = None  # query for the next page, None when done


@dataclass(frozen=True)
class Shape:
    parse: Callable[[Any], Page]
    first_params: Mapping[str, str]  # query of the first request (page size)


def _entries(body: Any, field: str) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get(field), list):
        raise ShapeError(f"expected an object with a {field!r} list")
    return body[field]


def _str_field(entry: Any, *names: str) -> str:
    if isinstance(entry, dict):
        for name in names:
            value = entry.get(name)
            if isinstance(value, str) and value:
                return value
    raise ShapeError("an entry has no " + " or ".join(repr(n) for n in names))


def _parse_openai(body: Any) -> Page:
    # {"object": "list", "data": [{"id": "gpt-4o", ...}, ...]}
    return Page(tuple(_str_field(e, "id") for e in _entries(body, "data")))


def _parse_anthropic(body: Any) -> Page:
    # {"data": [{"id": ...}], "has_more": bool, "first_id": ..., "last_id": ...}
    ids = tuple(_str_field(e, "id") for e in _entries(body, "data"))
    last_id = body.get("last_id")
    if body.get("has_more") is True and isinstance(last_id, str) and last_id:
        return Page(ids, {"limit": "1000", "after_id": last_id})
    return Page(ids)


def _parse_gemini(body: Any) -> Page:
    # {"models": [{"name": "models/gemini-1.5-pro", ...}], "nextPageToken": "..."}
    names = (_str_field(e, "name") for e in _entries(body, "models"))
    ids = tuple(name.removeprefix("models/") for name in names)
    token = body.get("nextPageToken")
    if isinstance(token, str) and token:
        return Page(ids, {"pageSize": "1000", "pageToken": token})
    return Page(ids)


def _parse_ollama(body: Any) -> Page:
    # {"models": [{"name": "llama3:latest", "model": "llama3:latest", ...}]}
    return Page(tuple(_str_field(e, "name", "model") for e in _entries(body, "models")))


SHAPES: dict[str, Shape] = {
    "openai": Shape(_parse_openai, {}),
    "anthropic": Shape(_parse_anthropic, {"limit": "1000"}),
    "gemini": Shape(_parse_gemini, {"pageSize": "1000"}),
    "ollama": Shape(_parse_ollama, {}),
}
