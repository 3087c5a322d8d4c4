"""The provider-family table (SPEC §4). Data, not code paths: a family is one entry."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

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
            f"unknown provider {name!r}",
            hint="known providers: " + ", ".join(FAMILIES),
        ) from None


def check_auth(fam: Family, auth_type: str) -> str:
    if auth_type not in AUTH_TYPES:
        raise UsageError(f"unknown auth type {auth_type!r}", hint="use one of: " + ", ".join(AUTH_TYPES))
    if auth_type not in fam.auth_types:
        raise UsageError(
            f"provider {fam.name} does not support auth type {auth_type}",
            hint=f"{fam.name} supports: " + ", ".join(fam.auth_types),
        )
    return auth_type


def check_base_url(url: str) -> str:
    from urllib.parse import urlsplit  # not on the resolve path

    url = url.strip()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError:
        raise UsageError(f"invalid base URL {url!r}: bad port", hint="a port is 1–65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid base URL {url!r}", hint="a base URL is http:// or https:// with a host")
    return url.rstrip("/")


def effective_base_url(provider: str, base_url: str | None) -> str | None:
    """The URL a connection talks to: its own base URL, else its family's default."""
    fam = FAMILIES.get(provider)
    return base_url or (fam.default_base_url if fam else None)
