"""Deployment configuration, read from WOES_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WOES_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".woes"), description="Folder for the embedded SQLite database and stored files.")
    database_url: str | None = Field(
        None, description="SQLAlchemy/libpq URL; unset means SQLite in data_dir. postgresql://... switches to PostgreSQL."
    )
    redis_url: str | None = Field(None, description="Redis URL for shared rate limits and live-event fan-out.")
    secret_key: str | None = Field(
        None, description="Key for encrypting stored credentials; unset: generated once into data_dir/secret.key. "
        "Replicas must share it.")
    job_backend: str = Field(
        "auto", description="auto | embedded | procrastinate. auto = procrastinate on PostgreSQL, embedded on SQLite."
    )
    embedded_workers: int = Field(2, description="Job worker threads inside `woes serve` (0 disables).")
    job_lease_seconds: float = Field(30.0, description="Embedded queue: a claimed job is re-run if its lease expires.")
    rate_limit_per_minute: int = Field(600, description="Default requests/minute per API key or operator session.")
    widget_ip_rate_limit_per_minute: int = Field(120, gt=0, description="Widget API requests/minute per client IP.")
    widget_key_rate_limit_per_minute: int = Field(
        6000, gt=0, description="Widget API requests/minute per widget public key (all its visitors together).")
    widget_starts_per_hour: int = Field(30, gt=0, description="New widget conversations/hour per client IP.")
    widget_streams_per_ip: int = Field(
        50, gt=0, description="Widget live streams one client IP may hold open at once on one server process.")
    max_json_body_bytes: int = Field(1024 * 1024, description="Request body limit for JSON (413 above it).")
    max_upload_body_bytes: int = Field(50 * 1024 * 1024, description="Request body limit for source uploads.")
    max_source_file_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="Largest file of an uploaded source, counted as unpacked from its archive "
        "(.zip, .tar, .tar.gz, .gz) whatever the archive's headers declare (413 above it).")
    max_source_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="All files of an uploaded source together, counted as unpacked (413 above it).")
    write_wait_seconds: float = Field(
        20.0, gt=0, description="How long a request waits for its turn to write (SQLite has one writer) before it is "
        "answered 503 with Retry-After.")
    max_waiting_writes: int = Field(
        5000, gt=0, description="Requests that may wait for a write turn at once per process; more are answered 503 at once.")
    idempotency_ttl_hours: int = Field(24, description="How long Idempotency-Key responses are replayed.")
    auth_cache_seconds: float = Field(
        2.0, description="How long a resolved API key/session is cached per process (changes clear it at once).")
    session_ttl_hours: int = Field(24 * 14, description="Operator web session lifetime.")
    cookie_secure: bool = Field(False, description="Mark session cookies Secure (set true behind HTTPS).")
    trusted_proxies: str = Field(
        "", description="Comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For (and -Proto) is "
        "believed; empty: none, the client address is the socket peer.")
    outbound_allowlist: str = Field(
        "", description="Comma-separated hosts, host:port or CIDRs that outbound fetches may reach even when private "
        "(e.g. an internal docs server, or 127.0.0.1:8080 in tests). Everything private is refused otherwise.")
    agent_provider: Literal["offline", "openai", "anthropic"] = Field(
        "offline", description="Model provider for agent answers: offline (built in, no network; the default), openai "
        "(any OpenAI-compatible Chat Completions API: OpenAI, vLLM, Ollama, llama.cpp server) or anthropic.")
    agent_base_url: str = Field(
        "", description="Provider API base URL; empty: https://api.openai.com/v1 (openai) or https://api.anthropic.com "
        "(anthropic). Its host:port is added to the outbound allowlist (e.g. http://127.0.0.1:11434/v1 for Ollama).")
    agent_api_key: SecretStr | None = Field(
        None, repr=False, description="Provider API key (sent as Bearer token or x-api-key); never logged.")
    agent_timeout_seconds: float = Field(30.0, gt=0, description="Time limit for one provider request.")
    agent_max_tokens: int = Field(700, gt=0, description="Maximum answer length in tokens.")
    agent_model: str = Field(
        "", validate_default=True, description="Model name; required for openai and anthropic (e.g. gpt-4o-mini).")
    log_level: str = Field("INFO", description="Python log level.")
    log_json: bool = Field(True, description="Structured JSON logs (redacted).")

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_trusted_proxies(cls, v: str) -> str:
        from woes.core.clientaddr import parse_trusted_proxies

        parse_trusted_proxies(v)
        return v

    @field_validator("outbound_allowlist")
    @classmethod
    def _valid_allowlist(cls, v: str) -> str:
        from woes.core.safefetch import parse_allowlist

        parse_allowlist(v)
        return v

    @field_validator("agent_provider", mode="before")
    @classmethod
    def _provider_name(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("agent_base_url")
    @classmethod
    def _valid_agent_base_url(cls, v: str) -> str:
        return normalize_base_url(v) if v.strip() else ""

    @field_validator("agent_api_key")
    @classmethod
    def _strip_agent_api_key(cls, v: SecretStr | None) -> SecretStr | None:
        # Never raise here: a validation error would print the input value, i.e. the key.
        if v is None:
            return None
        raw = v.get_secret_value().strip()
        return SecretStr(raw) if raw else None

    @field_validator("agent_model")
    @classmethod
    def _model_required(cls, v: str, info: ValidationInfo) -> str:
        # Declared after the other agent_* fields so that they are validated (and in info.data) already.
        v = v.strip()
        provider = info.data.get("agent_provider")
        if provider in ("openai", "anthropic") and not v:
            raise ValueError(f"WOES_AGENT_MODEL is required when WOES_AGENT_PROVIDER={provider}")
        return v

    @property
    def resolved_agent_base_url(self) -> str:
        """The provider base URL in use ("" for the offline provider)."""
        if self.agent_base_url:
            return self.agent_base_url
        return {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}.get(self.agent_provider, "")

    def safe_fetcher(self):  # noqa: ANN201
        from woes.core.safefetch import SafeFetcher, parse_allowlist

        return SafeFetcher(allowlist=parse_allowlist(self.outbound_allowlist))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://") :]
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{(self.data_dir / 'woes.db').resolve()}"

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    @property
    def effective_job_backend(self) -> str:
        if self.job_backend != "auto":
            return self.job_backend
        return "procrastinate" if self.is_postgres else "embedded"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def normalize_base_url(url: str) -> str:
    """`url` without trailing slashes, after checking it is a plain http(s) URL; raises ValueError."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError("the agent base URL is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the agent base URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise ValueError("the agent base URL must not contain credentials; set WOES_AGENT_API_KEY instead")
    if not parts.hostname:
        raise ValueError("the agent base URL has no host")
    if parts.query or parts.fragment:
        raise ValueError("the agent base URL must not have a query string or fragment")
    return url.rstrip("/")
