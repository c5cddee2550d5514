"""Deployment configuration, read from WOES_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
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
    max_json_body_bytes: int = Field(1024 * 1024, description="Request body limit for JSON (413 above it).")
    max_upload_body_bytes: int = Field(50 * 1024 * 1024, description="Request body limit for source uploads.")
    idempotency_ttl_hours: int = Field(24, description="How long Idempotency-Key responses are replayed.")
    auth_cache_seconds: float = Field(
        2.0, description="How long a resolved API key/session is cached per process (changes clear it at once).")
    session_ttl_hours: int = Field(24 * 14, description="Operator web session lifetime.")
    cookie_secure: bool = Field(False, description="Mark session cookies Secure (set true behind HTTPS).")
    outbound_allowlist: str = Field(
        "", description="Comma-separated hosts, host:port or CIDRs that outbound fetches may reach even when private "
        "(e.g. an internal docs server, or 127.0.0.1:8080 in tests). Everything private is refused otherwise.")
    log_level: str = Field("INFO", description="Python log level.")
    log_json: bool = Field(True, description="Structured JSON logs (redacted).")

    @field_validator("outbound_allowlist")
    @classmethod
    def _valid_allowlist(cls, v: str) -> str:
        from woes.core.safefetch import parse_allowlist

        parse_allowlist(v)
        return v

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
