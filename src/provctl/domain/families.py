"""The provider-family table (SPEC §4). Data, not code paths: a family is one entry."""

from __future__ import annotations

from typing import Mapping, NamedTuple

from ..errors import UsageError
from .text import hidden_char, kind, preview

API_KEY, SUBSCRIPTION, LOCAL = "api_key", "subscription", "local"
AUTH_TYPES = (API_KEY, SUBSCRIPTION, LOCAL)

# How `--verify`, `refresh` and `--probe` send a credential (SPEC §4, the HTTP auth column);
# endpoints/adapters.py turns each into headers.
BEARER = "bearer"  # Authorization: Bearer KEY
X_API_KEY = "x-api-key"  # x-api-key: KEY + anthropic-version
ANTHROPIC_OAUTH = "anthropic-oauth"  # Authorization: Bearer + anthropic-version + anthropic-beta
GOOGLE = "google"  # x-goog-api-key: KEY
NO_AUTH = "none"  # local servers: nothing
HTTP_AUTHS = (BEARER, X_API_KEY, ANTHROPIC_OAUTH, GOOGLE, NO_AUTH)


class Handoff(NamedTuple):  # a NamedTuple: this module is on the resolve/exec hot path
    """One row of SPEC §4 "What a program is handed": the variables a program gets for one
    (family, auth type) from `resolve --format env` and `exec`, and the HTTP auth of that row."""

    key_vars: tuple[str, ...] = ()  # set to the secret
    base_url_var: str | None = None  # set to the effective base URL
    unset: tuple[str, ...] = ()  # removed: they would shadow the selection
    http_auth: str = BEARER
    fixed_key: str | None = None  # set in key_vars instead of a secret (a `local` connection)


def base_url_var(key_var: str | None) -> str | None:
    """A family's base-URL variable: its key variable with `_API_KEY` → `_BASE_URL` (SPEC §4)."""
    return key_var[: -len("_API_KEY")] + "_BASE_URL" if key_var else None


def conventional(key_var: str, *, unset: tuple[str, ...] = (), http_auth: str = BEARER) -> Handoff:
    """The common row: the key in the family's key variable, the base URL in its twin."""
    return Handoff((key_var,), base_url_var(key_var), unset, http_auth)


class Family(NamedTuple):
    name: str
    default_base_url: str | None  # None: --base-url is required
    key_env: str | None  # conventional key variable (the .env importer reads it)
    models_path: str  # appended to the base URL
    handoffs: Mapping[str, Handoff]  # by auth type: the auth types it takes
    shape: str = "openai"  # response shape of the models endpoint: openai | anthropic | gemini | ollama
    sdk_prefix: str = ""  # path the SDKs add to the base URL themselves (anthropic: /v1)

    @property
    def auth_types(self) -> tuple[str, ...]:
        return tuple(self.handoffs)

    @property
    def default_auth(self) -> str:
        return LOCAL if self.auth_types == (LOCAL,) else API_KEY

    def handoff(self, auth_type: str) -> Handoff:
        return self.handoffs[auth_type]


_OPENAI = conventional("OPENAI_API_KEY")
_OPENAI_LOCAL = Handoff(("OPENAI_API_KEY",), "OPENAI_BASE_URL", http_auth=NO_AUTH,
                        fixed_key="local")
_ANTHROPIC_TOKENS = ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")


def _keyed(key_var: str) -> dict[str, Handoff]:
    return {API_KEY: conventional(key_var)}


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "/models",
               {API_KEY: _OPENAI, SUBSCRIPTION: _OPENAI}),
        Family("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "/v1/models", {
            API_KEY: Handoff(("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL", _ANTHROPIC_TOKENS,
                             X_API_KEY),
            # an OAuth token (sk-ant-oat…): Anthropic's tools prefer an API key over a token
            SUBSCRIPTION: Handoff(_ANTHROPIC_TOKENS, "ANTHROPIC_BASE_URL", ("ANTHROPIC_API_KEY",),
                                  ANTHROPIC_OAUTH),
        }, shape="anthropic", sdk_prefix="/v1"),
        Family("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "/models",
               _keyed("OPENROUTER_API_KEY")),
        # Google's SDK prefers GOOGLE_API_KEY over GEMINI_API_KEY
        Family("gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY",
               "/models", {API_KEY: conventional("GEMINI_API_KEY", unset=("GOOGLE_API_KEY",),
                                                 http_auth=GOOGLE)}, shape="gemini"),
        Family("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "/models",
               _keyed("MISTRAL_API_KEY")),
        Family("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "/models",
               _keyed("GROQ_API_KEY")),
        Family("deepseek", "https://api.deepseek.com", "DEEPSEEK_API_KEY", "/models",
               _keyed("DEEPSEEK_API_KEY")),
        Family("xai", "https://api.x.ai/v1", "XAI_API_KEY", "/models", _keyed("XAI_API_KEY")),
        Family("ollama", "http://localhost:11434", None, "/api/tags",
               {LOCAL: Handoff((), "OLLAMA_HOST", http_auth=NO_AUTH)}, shape="ollama"),
        # the OpenAI SDKs read the OPENAI_* pair when they talk to a compatible gateway
        Family("openai-compatible", None, None, "/models",
               {API_KEY: _OPENAI, LOCAL: _OPENAI_LOCAL}),
    )
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UsageError(
            f"unknown provider {preview(name)}",
            hint="known providers: " + ", ".join(FAMILIES),
        ) from None


def check_auth(fam: Family, auth_type: str) -> str:
    if auth_type not in AUTH_TYPES:
        raise UsageError(f"unknown auth type {preview(auth_type)}", hint="use one of: " + ", ".join(AUTH_TYPES))
    if auth_type not in fam.auth_types:
        raise UsageError(
            f"provider {fam.name} does not support auth type {auth_type}",
            hint=f"{fam.name} supports: " + ", ".join(fam.auth_types),
        )
    return auth_type


def check_base_url(url: str) -> str:
    """A base URL as given (SPEC §4): ``http`` or ``https`` with a host; no whitespace, control
    or invisible characters, no credentials (``user:password@``), a valid port and IPv6
    literal. Returned trimmed, without a trailing ``/``. A refusal echoes the value only as
    its first 8 characters and its length (it may be a key given in the wrong place)."""
    from urllib.parse import urlsplit  # not on the resolve path

    url = url.strip()

    def bad(problem: str, hint: str = "a base URL is http:// or https:// with a host, "
                                      "e.g. https://api.openai.com/v1") -> UsageError:
        return UsageError(f"invalid base URL {preview(url)}: {problem}", hint=hint)

    ch = hidden_char(url)
    if ch is not None:
        raise bad(f"it contains {kind(ch)}")
    if any(c.isspace() for c in url):
        raise bad("it contains whitespace", "percent-encode a space in a path as %20")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port out of range or not a number)
    except ValueError as exc:
        if "IPv6" in str(exc):
            raise bad("invalid IPv6 address", "an IPv6 host is written in brackets: "
                      "http://[::1]:8000/v1") from None
        raise bad("bad port", "a port is 1–65535") from None
    if parts.scheme not in ("http", "https"):
        raise bad("the scheme must be http or https")
    if "@" in parts.netloc:
        raise bad("it contains credentials (user:password@)",
                  "give the key with --key-stdin or --key-env, never inside the URL")
    if not parts.hostname:
        raise bad("it has no host")
    return url.rstrip("/")


def effective_base_url(provider: str, base_url: str | None) -> str | None:
    """The URL a connection talks to: its own base URL, else its family's default."""
    fam = FAMILIES.get(provider)
    return base_url or (fam.default_base_url if fam else None)


# ---------------------------------------------------------------- base-URL shape (SPEC §4)

def _path(url: str) -> str:
    from urllib.parse import urlsplit  # not on the resolve path

    return urlsplit(url).path.rstrip("/")


def base_url_warning(provider: str, base_url: str | None) -> str | None:
    """A warning for a base URL that ends in the path the family's SDKs add themselves (an
    anthropic base URL ending in /v1: the SDKs would call /v1/v1/…), else None."""
    fam = FAMILIES.get(provider)
    if fam is None or not fam.sdk_prefix or not base_url:
        return None
    if not _path(base_url).endswith(fam.sdk_prefix):
        return None
    root = base_url.rstrip("/")[: -len(fam.sdk_prefix)]
    return (f"the {provider} base URL {base_url} ends in {fam.sdk_prefix}, which {provider}'s SDKs "
            f"add themselves (they would call {fam.sdk_prefix}{fam.sdk_prefix}/…); "
            f"the usual form is {root}")


def shape_hint(provider: str, base_url: str | None) -> str:
    """The hint for a 404 from a connection's models endpoint: what shape the family's base URL
    takes (with or without /v1), not "try again later"."""
    fam = FAMILIES.get(provider)
    url = effective_base_url(provider, base_url) or ""
    if fam is None:
        return "check the base URL"
    example = fam.default_base_url or "http://127.0.0.1:8000/v1"
    path = _path(url)
    if fam.sdk_prefix:
        if path.endswith(fam.sdk_prefix):
            return (f"check the base URL's shape: {provider} adds {fam.sdk_prefix} itself, so its "
                    f"base URL does not end in {fam.sdk_prefix} (like {example})")
        return (f"check the base URL's shape: for {provider} it is the API root without "
                f"{fam.sdk_prefix} (like {example}); the models endpoint is BASE{fam.models_path}")
    import re

    last = _path(example).rsplit("/", 1)[-1]
    version = "/" + last if re.fullmatch(r"v\d+[a-z0-9]*", last) else None
    if version and not path.endswith(version):
        return (f"check the base URL's shape: for {provider} it usually ends in {version} "
                f"(like {example}); the models endpoint is BASE{fam.models_path}")
    return (f"check the base URL's shape, with or without /v1 (like {example}): the models "
            f"endpoint is BASE{fam.models_path}")
