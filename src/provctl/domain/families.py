"""The provider-family table (SPEC §4). Data, not code paths: a family is one entry."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import UsageError
from .text import hidden_char, kind, preview

API_KEY, SUBSCRIPTION, LOCAL = "api_key", "subscription", "local"
AUTH_TYPES = (API_KEY, SUBSCRIPTION, LOCAL)


@dataclass(frozen=True)
class Family:
    name: str
    auth_types: tuple[str, ...]
    default_base_url: str | None  # None: --base-url is required
    key_env: str | None  # conventional key variable
    models_path: str  # appended to the base URL
    auth_style: str = "bearer"  # bearer | anthropic | google
    shape: str = "openai"  # response shape of the models endpoint: openai | anthropic | gemini | ollama
    env_prefix_from: str | None = None  # family whose conventional variables `resolve --format env` uses

    @property
    def default_auth(self) -> str:
        return LOCAL if self.auth_types == (LOCAL,) else API_KEY

    @property
    def env_key_var(self) -> str | None:
        if self.env_prefix_from:
            return FAMILIES[self.env_prefix_from].key_env
        return self.key_env

    @property
    def env_base_url_var(self) -> str | None:
        return base_url_var(self.env_key_var)


def base_url_var(key_var: str | None) -> str | None:
    """A family's base-URL variable: its key variable with `_API_KEY` → `_BASE_URL` (SPEC §4)."""
    return key_var[: -len("_API_KEY")] + "_BASE_URL" if key_var else None


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("openai", (API_KEY, SUBSCRIPTION), "https://api.openai.com/v1", "OPENAI_API_KEY",
               "/models"),
        Family("anthropic", (API_KEY, SUBSCRIPTION), "https://api.anthropic.com",
               "ANTHROPIC_API_KEY", "/v1/models", auth_style="anthropic", shape="anthropic"),
        Family("openrouter", (API_KEY,), "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
               "/models"),
        Family("gemini", (API_KEY,), "https://generativelanguage.googleapis.com/v1beta",
               "GEMINI_API_KEY", "/models", auth_style="google", shape="gemini"),
        Family("mistral", (API_KEY,), "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "/models"),
        Family("groq", (API_KEY,), "https://api.groq.com/openai/v1", "GROQ_API_KEY", "/models"),
        Family("deepseek", (API_KEY,), "https://api.deepseek.com", "DEEPSEEK_API_KEY", "/models"),
        Family("xai", (API_KEY,), "https://api.x.ai/v1", "XAI_API_KEY", "/models"),
        Family("ollama", (LOCAL,), "http://localhost:11434", None, "/api/tags", shape="ollama"),
        Family("openai-compatible", (API_KEY, LOCAL), None, None, "/models",
               env_prefix_from="openai"),
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
